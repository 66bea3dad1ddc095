"""Translation data: a synthetic embedded task, parallel-text files, word vocabularies and token tensors.

A translation data set is held as a :class:`lscape.data.Dataset` whose inputs
are token ids, so the grid, the store and the metrics treat it like a
classifier:

- ``X`` has shape ``(n, S + T)``: the source sentence (ending in ``<eos>``,
  padded to ``S``) followed by the decoder input (``<bos>`` and the target,
  padded to ``T``);
- ``y`` has shape ``(n, T)``: the target tokens and ``<eos>``, padded with
  ``IGNORE_INDEX`` so that ``torch.nn.CrossEntropyLoss`` skips padding.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch

from lscape.validation import (
    check_choice, check_float, check_int, check_optional_path, check_path, check_tensor, check_type, parameter_error,
)

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")
IGNORE_INDEX = -100  # torch.nn.CrossEntropyLoss's default ignore_index
DEFAULT_TRAIN_PAIRS = 4000  # Yang et al. (2021) train on 4K sentence pairs of IWSLT16 De-En
MAX_TOKENS = 50  # longer IWSLT sentence pairs are dropped before subsampling
MAX_VOCABULARY = 8000  # most frequent words per language; the rest map to <unk>


@dataclass(frozen=True)
class Vocabulary:
    """A word vocabulary: ``words[i]`` is the token with id ``i``; ids 0-3 are the special tokens."""

    words: tuple[str, ...]

    @classmethod
    def build(cls, sentences: list[list[str]], max_size: int = MAX_VOCABULARY) -> "Vocabulary":
        """Keep the ``max_size`` most frequent words of ``sentences`` (ties in alphabetical order)."""
        func = "Vocabulary.build()"
        if isinstance(sentences, (str, bytes)) or not isinstance(sentences, (list, tuple)):
            raise parameter_error(func, "sentences", "a list of tokenized sentences (lists of str)", sentences)
        for index, sentence in enumerate(sentences):
            if isinstance(sentence, (str, bytes)) or not isinstance(sentence, (list, tuple)):
                raise parameter_error(func, f"sentences[{index}]", "a list of str (a tokenized sentence)", sentence)
        max_size = check_int(max_size, "max_size", func, 0)
        counts = Counter(word for sentence in sentences for word in sentence)
        ranked = sorted(counts, key=lambda word: (-counts[word], word))
        return cls(SPECIALS + tuple(ranked[:max_size]))

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, sentence: list[str]) -> list[int]:
        """Return the ids of ``sentence``; unknown words become ``<unk>``."""
        index = self._index
        return [index.get(word, UNK) for word in sentence]

    def decode(self, ids) -> list[str]:
        """Return the words of ``ids``, stopping at ``<eos>`` and skipping padding."""
        words = []
        for i in ids:
            i = int(i)
            if i == EOS:
                break
            if i not in (PAD, BOS, IGNORE_INDEX):
                words.append(self.words[i])
        return words

    @property
    def _index(self) -> dict[str, int]:
        cached = self.__dict__.get("_index_cache")
        if cached is None:
            cached = {word: i for i, word in enumerate(self.words)}
            object.__setattr__(self, "_index_cache", cached)
        return cached


def tokenize(line: str) -> list[str]:
    """Lower-case ``line`` and split it into words and punctuation marks."""
    check_type(line, "line", "tokenize()", str, "a str")
    return re.findall(r"\w+|[^\w\s]", line.lower())


def _pseudo_words(count: int, rng: np.random.Generator, syllables: tuple[str, ...]) -> list[str]:
    words: set[str] = set()
    while len(words) < count:
        words.add("".join(rng.choice(syllables, size=rng.integers(2, 4))))
    return sorted(words)


def synthetic_pairs(num_pairs: int = 5000, seed: int = 0) -> list[tuple[list[str], list[str]]]:
    """Generate sentence pairs of a small artificial language and its translation.

    Source sentences follow ``DET ADJ* NOUN VERB DET ADJ* NOUN [ADV]`` (0-2
    adjectives) over a fixed random lexicon of 40 pseudo-words. The target
    language has its own lexicon (each source word has one fixed translation,
    and a quarter of the nouns translate to two words) and its own word order:
    subject, object, verb (SOV), with adjectives after their noun in reverse
    order, and the adverb first. A model must learn the lexicon and the
    reordering, so the task has the structure of translation at a size that
    trains in seconds on a CPU.

    Returns
    -------
    list of (source words, target words)
    """
    num_pairs = check_int(num_pairs, "num_pairs", "synthetic_pairs()", 1)
    seed = check_int(seed, "seed", "synthetic_pairs()", 0)
    rng = np.random.default_rng(seed)
    source_syllables = ("ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "be", "du")
    target_syllables = ("ash", "el", "orn", "ud", "ix", "ay", "eth", "om", "ur", "in")
    sizes = {"det": 3, "adj": 9, "noun": 14, "verb": 9, "adv": 5}
    source_words = _pseudo_words(sum(sizes.values()), rng, source_syllables)
    target_words = _pseudo_words(sum(sizes.values()) + sizes["noun"] // 4, rng, target_syllables)
    rng.shuffle(source_words)
    rng.shuffle(target_words)

    lexicon, translation, position = {}, {}, 0
    for category, size in sizes.items():
        lexicon[category] = source_words[position : position + size]
        for j, word in enumerate(lexicon[category]):
            translation[word] = [target_words[position + j]]
        position += size
    extra = target_words[position:]
    for word, second in zip(lexicon["noun"], extra):  # a quarter of the nouns become two target words
        translation[word] = translation[word] + [second]

    def noun_phrase():
        adjectives = list(rng.choice(lexicon["adj"], size=rng.integers(0, 3), replace=False))
        return [str(rng.choice(lexicon["det"]))] + adjectives + [str(rng.choice(lexicon["noun"]))]

    def translate_phrase(phrase):
        det, *adjectives, noun = phrase
        words = translation[det] + translation[noun]
        for adjective in reversed(adjectives):
            words += translation[adjective]
        return words

    pairs = []
    for _ in range(num_pairs):
        subject, obj, verb = noun_phrase(), noun_phrase(), str(rng.choice(lexicon["verb"]))
        adverb = [str(rng.choice(lexicon["adv"]))] if rng.random() < 0.5 else []
        source = subject + [verb] + obj + adverb
        target = (translation[adverb[0]] if adverb else []) + translate_phrase(subject)
        target += translate_phrase(obj) + translation[verb]
        pairs.append((source, target))
    return pairs


def read_parallel_text(source_path: str | os.PathLike, target_path: str | os.PathLike) -> list[tuple[list[str], list[str]]]:
    """Read two aligned files (one sentence per line) into tokenized pairs.

    Pairs where either side is empty or longer than :data:`MAX_TOKENS` words
    are dropped.

    Raises
    ------
    ValueError
        If the files have different numbers of lines.
    """
    # An int would be taken by open() as a file descriptor, and closed after reading.
    source_path = check_path(source_path, "source_path", "read_parallel_text()")
    target_path = check_path(target_path, "target_path", "read_parallel_text()")
    with open(source_path, encoding="utf-8") as stream:
        sources = stream.read().splitlines()
    with open(target_path, encoding="utf-8") as stream:
        targets = stream.read().splitlines()
    if len(sources) != len(targets):
        raise ValueError(
            f"The parallel files {source_path} ({len(sources)} lines) and {target_path} "
            f"({len(targets)} lines) must have the same number of lines, one sentence each."
        )
    pairs = []
    for source, target in zip(sources, targets):
        source_words, target_words = tokenize(source), tokenize(target)
        if 0 < len(source_words) <= MAX_TOKENS and 0 < len(target_words) <= MAX_TOKENS:
            pairs.append((source_words, target_words))
    return pairs


def encode_pairs(
    pairs: list[tuple[list[str], list[str]]],
    source_vocabulary: Vocabulary,
    target_vocabulary: Vocabulary,
    source_length: int,
    target_length: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``X`` of shape ``(n, S + T)`` and ``y`` of shape ``(n, T)`` (see the module docstring).

    ``S = source_length`` and ``T = target_length`` count the ``<eos>``
    (and ``<bos>``) tokens; longer sentences are cut.
    """
    func = "encode_pairs()"
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, (list, tuple)):
        raise parameter_error(func, "pairs", "a list of (source words, target words) pairs", pairs)
    for index, pair in enumerate(pairs):
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise parameter_error(func, f"pairs[{index}]", "a (source words, target words) pair", pair)
    check_type(source_vocabulary, "source_vocabulary", func, Vocabulary, "a lscape.translation.Vocabulary")
    check_type(target_vocabulary, "target_vocabulary", func, Vocabulary, "a lscape.translation.Vocabulary")
    source_length = check_int(source_length, "source_length", func, 1)
    target_length = check_int(target_length, "target_length", func, 1)
    n = len(pairs)
    source = np.full((n, source_length), PAD, dtype=np.int64)
    decoder_input = np.full((n, target_length), PAD, dtype=np.int64)
    target = np.full((n, target_length), IGNORE_INDEX, dtype=np.int64)
    for i, (source_words, target_words) in enumerate(pairs):
        ids = source_vocabulary.encode(source_words)[: source_length - 1] + [EOS]
        source[i, : len(ids)] = ids
        ids = target_vocabulary.encode(target_words)[: target_length - 1]
        decoder_input[i, : len(ids) + 1] = [BOS] + ids
        target[i, : len(ids) + 1] = ids + [EOS]
    X = torch.from_numpy(np.concatenate([source, decoder_input], axis=1))
    return X, torch.from_numpy(target)


def load_translation(name: str, train_size: int | None = None, seed: int = 0, data_dir=None):
    """Load a translation data set as a :class:`lscape.data.Dataset` of token tensors.

    Parameters
    ----------
    name : {"synthetic_translation", "iwslt16_de_en"}
        ``"synthetic_translation"``: :func:`synthetic_pairs`, 5,000 pairs
        generated with seed 0, split 4,000 train / 1,000 test.
        ``"iwslt16_de_en"``: ``train.de``/``train.en`` and
        ``test.de``/``test.en`` in ``<data_dir>/iwslt16-de-en/``, German to
        English.
    train_size : int, optional
        Training pairs kept, sampled with ``seed``; default 4,000 (the paper's
        subsample of IWSLT16).
    seed : int
        Seed of the subsample.
    data_dir : path, optional
        Folder with the local data sets (see :func:`lscape.data.load_dataset`).

    Returns
    -------
    lscape.data.Dataset
        ``num_classes`` is the target vocabulary size; ``model_options``
        holds ``src_vocab`` and ``src_len`` for :func:`lscape.models.build`.
        The vocabularies are built from the training pairs kept.
    """
    from lscape.data import TRANSLATION_DATASETS, Dataset, local_folder

    func = "load_translation()"
    check_choice(name, "name", func, TRANSLATION_DATASETS)
    if train_size is not None:
        train_size = check_int(train_size, "train_size", func, 10)
    seed = check_int(seed, "seed", func, 0)
    data_dir = check_optional_path(data_dir, "data_dir", func)

    if name == "synthetic_translation":
        pairs = synthetic_pairs(5000, seed=0)
        train_pairs, test_pairs = pairs[:4000], pairs[4000:]
    else:
        folder = local_folder(name, data_dir)
        train_pairs = read_parallel_text(folder / "train.de", folder / "train.en")
        test_pairs = read_parallel_text(folder / "test.de", folder / "test.en")

    size = DEFAULT_TRAIN_PAIRS if train_size is None else train_size
    size = min(size, len(train_pairs))
    keep = np.sort(np.random.default_rng(seed).choice(len(train_pairs), size=size, replace=False))
    train_pairs = [train_pairs[i] for i in keep]

    source_vocabulary = Vocabulary.build([s for s, _ in train_pairs])
    target_vocabulary = Vocabulary.build([t for _, t in train_pairs])
    source_length = 1 + max(len(s) for s, _ in train_pairs + test_pairs)
    target_length = 1 + max(len(t) for _, t in train_pairs + test_pairs)
    X_train, y_train = encode_pairs(train_pairs, source_vocabulary, target_vocabulary, source_length, target_length)
    X_test, y_test = encode_pairs(test_pairs, source_vocabulary, target_vocabulary, source_length, target_length)
    return Dataset(
        name=name, X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test,
        num_classes=len(target_vocabulary), label_noise=0.0,
        noisy=torch.zeros(len(X_train), dtype=torch.bool),
        info={
            "name": name, "train_size": size, "seed": seed,
            "source_vocabulary": source_vocabulary, "target_vocabulary": target_vocabulary,
        },
        model_options={"src_vocab": len(source_vocabulary), "src_len": source_length},
    )


def token_mixup_inputs(
    X: torch.Tensor, src_len: int, num_samples: int = 640, alpha: float = 16.0, seed: int = 0
) -> torch.Tensor:
    """Return perturbed translation inputs for CKA: a token-level analogue of mixup.

    Each sample takes a random training input and replaces each of its
    source tokens, with probability ``1 - lam`` and ``lam ~ Beta(alpha,
    alpha)``, by the token at the same position of a second random input
    (padding stays padding). The decoder input is the first one's. Mixing
    token ids arithmetically, as image mixup does with pixels, would give
    invalid ids.

    Returns
    -------
    torch.Tensor
        Shape ``(num_samples, S + T)``, int64.
    """
    func = "token_mixup_inputs()"
    check_tensor(X, "X", func, ndim=2)
    src_len = check_int(src_len, "src_len", func, 1, X.shape[1])
    num_samples = check_int(num_samples, "num_samples", func, 1)
    alpha = check_float(alpha, "alpha", func, 0.0, None, closed="neither")
    seed = check_int(seed, "seed", func, 0)
    rng = np.random.default_rng(seed)
    first = torch.from_numpy(rng.integers(0, len(X), num_samples))
    second = torch.from_numpy(rng.integers(0, len(X), num_samples))
    lam = torch.from_numpy(rng.beta(alpha, alpha, num_samples)).float()
    draws = torch.from_numpy(rng.random((num_samples, src_len))).float()
    mixed = X[first].clone()
    source_a, source_b = mixed[:, :src_len], X[second][:, :src_len]
    swap = (draws > lam[:, None]) & (source_a != PAD) & (source_b != PAD)
    source_a[swap] = source_b[swap]
    return mixed


def token_noise_inputs(
    X: torch.Tensor, src_len: int, vocab_size: int, num_samples: int = 640, fraction: float = 0.1, seed: int = 0
) -> torch.Tensor:
    """Return training inputs with a ``fraction`` of source tokens replaced by random words.

    The translation analogue of uniform pixel noise; shape ``(num_samples, S + T)``.
    """
    func = "token_noise_inputs()"
    check_tensor(X, "X", func, ndim=2)
    src_len = check_int(src_len, "src_len", func, 1, X.shape[1])
    vocab_size = check_int(vocab_size, "vocab_size", func, len(SPECIALS) + 1)
    num_samples = check_int(num_samples, "num_samples", func, 1)
    fraction = check_float(fraction, "fraction", func, 0.0, 1.0)
    seed = check_int(seed, "seed", func, 0)
    rng = np.random.default_rng(seed)
    index = torch.from_numpy(rng.integers(0, len(X), num_samples))
    noisy = X[index].clone()
    source = noisy[:, :src_len]
    replace = torch.from_numpy(rng.random(source.shape) < fraction) & (source != PAD) & (source != EOS)
    words = torch.from_numpy(rng.integers(len(SPECIALS), vocab_size, source.shape))
    source[replace] = words[replace]
    return noisy


__all__ = [
    "IGNORE_INDEX",
    "Vocabulary",
    "encode_pairs",
    "load_translation",
    "read_parallel_text",
    "synthetic_pairs",
    "token_mixup_inputs",
    "token_noise_inputs",
    "tokenize",
]
