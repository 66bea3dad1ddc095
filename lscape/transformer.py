"""Encoder-decoder Transformer whose embedding dimension is the load (Vaswani et al., 2017).

Attention is written out with matrix products rather than
``torch.nn.functional.scaled_dot_product_attention`` so that Hessian-vector
products (double backward) work on every device and backend.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from lscape.translation import PAD
from lscape.validation import check_int, parameter_error


def _check_heads(dim, heads, func: str) -> None:
    """Check that ``dim`` splits into ``heads`` heads of equal size."""
    dim = check_int(dim, "dim", func, 1)
    heads = check_int(heads, "heads", func, 1)
    if dim % heads:
        raise parameter_error(func, "dim", f"a multiple of heads = {heads}", dim)


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention over ``heads`` heads, no dropout."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        _check_heads(dim, heads, "MultiHeadAttention()")
        self.heads = heads
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.out = nn.Linear(dim, dim)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        n, length, dim = x.shape
        return x.view(n, length, self.heads, dim // self.heads).transpose(1, 2)  # (N, heads, L, dim/heads)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, blocked: torch.Tensor) -> torch.Tensor:
        """``x`` (N, Lq, dim) attends to ``memory`` (N, Lk, dim); ``blocked`` (N or 1, 1, Lq or 1, Lk) is True where masked."""
        q, k, v = self._split(self.query(x)), self._split(self.key(memory)), self._split(self.value(memory))
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (N, heads, Lq, Lk)
        weights = scores.masked_fill(blocked, -1e9).softmax(dim=-1)
        mixed = (weights @ v).transpose(1, 2).reshape(x.shape)  # (N, Lq, dim)
        return self.out(mixed)


class _FeedForward(nn.Sequential):
    def __init__(self, dim: int, hidden: int):
        super().__init__(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, dim))


class EncoderLayer(nn.Module):
    """Pre-norm self-attention and feed-forward sublayers with residual connections."""

    def __init__(self, dim: int, heads: int, hidden: int):
        super().__init__()
        _check_heads(dim, heads, "EncoderLayer()")
        check_int(hidden, "hidden", "EncoderLayer()", 1)
        self.norm1, self.attention = nn.LayerNorm(dim), MultiHeadAttention(dim, heads)
        self.norm2, self.feed_forward = nn.LayerNorm(dim), _FeedForward(dim, hidden)

    def forward(self, x: torch.Tensor, source_blocked: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.attention(h, h, source_blocked)
        return x + self.feed_forward(self.norm2(x))


class DecoderLayer(nn.Module):
    """Pre-norm causal self-attention, attention to the encoder output, and feed-forward sublayers."""

    def __init__(self, dim: int, heads: int, hidden: int):
        super().__init__()
        _check_heads(dim, heads, "DecoderLayer()")
        check_int(hidden, "hidden", "DecoderLayer()", 1)
        self.norm1, self.self_attention = nn.LayerNorm(dim), MultiHeadAttention(dim, heads)
        self.norm2, self.cross_attention = nn.LayerNorm(dim), MultiHeadAttention(dim, heads)
        self.norm3, self.feed_forward = nn.LayerNorm(dim), _FeedForward(dim, hidden)

    def forward(self, y, memory, causal_blocked, source_blocked):
        h = self.norm1(y)
        y = y + self.self_attention(h, h, causal_blocked)
        y = y + self.cross_attention(self.norm2(y), memory, source_blocked)
        return y + self.feed_forward(self.norm3(y))


def _sinusoids(length: int, dim: int) -> torch.Tensor:
    position = torch.arange(length, dtype=torch.float32)[:, None]
    frequency = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(length, dim)
    table[:, 0::2] = torch.sin(position * frequency)
    table[:, 1::2] = torch.cos(position * frequency[: dim // 2])
    return table


class Seq2SeqTransformer(nn.Module):
    """Encoder-decoder Transformer for translation: six layers each, eight heads by default.

    The load is the embedding dimension ``dim`` (the paper's "width"); the
    feed-forward layers have ``4 * dim`` units, as in the width-scaled
    Transformers of Nakkiran et al. (2020). There is no dropout. Layer norm
    comes before each sublayer (pre-norm), which trains stably with short
    warmups; positions are sinusoidal.

    Parameters
    ----------
    dim : int
        Embedding dimension; a multiple of ``heads``.
    src_vocab, tgt_vocab : int
        Vocabulary sizes; id 0 is padding.
    src_len : int
        S, the number of source positions at the start of each input row.
    layers, heads : int
        Encoder (and decoder) layers and attention heads.

    Inputs are token ids of shape ``(N, S + T)`` (source, then decoder
    input; see :mod:`lscape.translation`), outputs logits of shape ``(N,
    tgt_vocab, T)``, the layout ``torch.nn.CrossEntropyLoss`` takes with
    targets of shape ``(N, T)``.
    """

    def __init__(self, dim: int, src_vocab: int, tgt_vocab: int, src_len: int, layers: int = 6, heads: int = 8,
                 max_len: int = 256):
        super().__init__()
        func = "Seq2SeqTransformer()"
        _check_heads(dim, heads, func)
        for name, value, low in (("src_vocab", src_vocab, 2), ("tgt_vocab", tgt_vocab, 2), ("src_len", src_len, 1),
                                 ("layers", layers, 1), ("max_len", max_len, 1)):
            check_int(value, name, func, low)
        self.dim, self.src_len = dim, src_len
        self.source_embedding = nn.Embedding(src_vocab, dim, padding_idx=PAD)
        self.target_embedding = nn.Embedding(tgt_vocab, dim, padding_idx=PAD)
        self.register_buffer("positions", _sinusoids(max_len, dim), persistent=False)
        self.encoder = nn.ModuleList(EncoderLayer(dim, heads, 4 * dim) for _ in range(layers))
        self.decoder = nn.ModuleList(DecoderLayer(dim, heads, 4 * dim) for _ in range(layers))
        self.encoder_norm, self.decoder_norm = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.output = nn.Linear(dim, tgt_vocab)

    def _embed(self, embedding: nn.Embedding, tokens: torch.Tensor) -> torch.Tensor:
        return embedding(tokens) * math.sqrt(self.dim) + self.positions[: tokens.shape[1]]

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        source, target = X[:, : self.src_len], X[:, self.src_len :]  # (N, S), (N, T)
        source_blocked = (source == PAD)[:, None, None, :]  # (N, 1, 1, S)
        length = target.shape[1]
        causal_blocked = torch.ones(length, length, dtype=torch.bool, device=X.device).triu(1)[None, None]

        memory = self._embed(self.source_embedding, source)
        for layer in self.encoder:
            memory = layer(memory, source_blocked)
        memory = self.encoder_norm(memory)

        y = self._embed(self.target_embedding, target)
        for layer in self.decoder:
            y = layer(y, memory, causal_blocked, source_blocked)
        logits = self.output(self.decoder_norm(y))  # (N, T, tgt_vocab)
        return logits.transpose(1, 2)  # (N, tgt_vocab, T)
