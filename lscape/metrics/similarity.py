"""Representation similarity: linear CKA on perturbed (mixup or noisy) inputs.

CKA is Kornblith et al. (2019), "Similarity of Neural Network Representations
Revisited"; the debiased estimator uses the unbiased HSIC of Song et al.
(2012), as in Nguyen et al. (2021).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from torch import nn

from lscape.validation import (
    ParameterError, check_bool, check_choice, check_float, check_int, check_module, check_tensor, parameter_error,
)


class ConstantRepresentationWarning(RuntimeWarning):
    """A representation is constant over the samples, so CKA is undefined (NaN)."""


def _unbiased_hsic_gram(gram_x: np.ndarray, gram_y: np.ndarray) -> float:
    """Unbiased HSIC (Song et al., 2012) of two uncentred Gram matrices, up to a constant."""
    m = gram_x.shape[0]
    kx = gram_x.copy()
    ky = gram_y.copy()
    np.fill_diagonal(kx, 0.0)
    np.fill_diagonal(ky, 0.0)
    ones_kx = kx.sum(axis=0)
    ones_ky = ky.sum(axis=0)
    value = np.sum(kx * ky) + ones_kx.sum() * ones_ky.sum() / ((m - 1) * (m - 2))
    value -= 2.0 * (ones_kx @ ones_ky) / (m - 2)
    return float(value / (m * (m - 3)))


def cka(X, Y, debiased: bool = False, gram: bool = False) -> float:
    """Linear CKA between two representations of the same ``m`` samples.

    ``CKA = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L))`` with ``K = X X^T`` and
    ``L = Y Y^T``; the biased HSIC is ``tr(K H L H) / (m - 1)^2`` with the
    centring matrix ``H = I - 11^T / m`` (the paper's eq. 3). Computed in float64.

    Parameters
    ----------
    X : array-like
        Shape ``(m, d1)``; or a Gram matrix ``(m, m)`` when ``gram=True``.
    Y : array-like
        Shape ``(m, d2)``; or ``(m, m)`` when ``gram=True``.
    debiased : bool, default False
        Use the unbiased HSIC estimator (needs m >= 4). Biased values lie in
        [0, 1]; debiased values can be slightly negative.
    gram : bool, default False
        Treat ``X`` and ``Y`` as Gram matrices.

    Returns
    -------
    float
        CKA, or NaN (with :class:`ConstantRepresentationWarning`) when a
        representation is constant over the samples.

    Raises
    ------
    ParameterError
        If an argument has the wrong type, the sample counts differ or ``m`` is
        too small (m < 2 biased, m < 4 debiased).
    """
    check_bool(debiased, "debiased", "cka()")
    check_bool(gram, "gram", "cka()")
    X = _as_matrix(X, "X")
    Y = _as_matrix(Y, "Y")
    if X.ndim != 2 or Y.ndim != 2:
        raise ParameterError(f"cka(): X and Y must be 2D arrays. Got shapes {X.shape} and {Y.shape}.")
    m = X.shape[0]
    if Y.shape[0] != m:
        raise ParameterError(f"cka(): X and Y must have the same number of rows m. Got {m} and {Y.shape[0]}.")
    minimum = 4 if debiased else 2
    if m < minimum:
        kind = "debiased" if debiased else "biased"
        raise ParameterError(f"cka(): the {kind} estimator needs m >= {minimum} samples. Got m={m}.")

    if not gram and not debiased and max(X.shape[1], Y.shape[1]) < m:
        # Feature space: tr(Kc Lc) = ||Xc^T Yc||_F^2 with centred columns costs
        # O(m d^2) instead of the O(m^2 d) of the Gram matrices.
        Xc = X - X.mean(axis=0, keepdims=True)
        Yc = Y - Y.mean(axis=0, keepdims=True)
        xy = float(np.sum((Xc.T @ Yc) ** 2))
        xx = float(np.sum((Xc.T @ Xc) ** 2))
        yy = float(np.sum((Yc.T @ Yc) ** 2))
        scale = max(float(np.sum(X**2)), float(np.sum(Y**2)), 1e-300)
        return _ratio(xy, xx, yy, np.finfo(np.float64).eps * m * scale**2 / m**2)

    gram_x = X if gram else X @ X.T
    gram_y = Y if gram else Y @ Y.T
    if debiased:
        xy = _unbiased_hsic_gram(gram_x, gram_y)
        xx = _unbiased_hsic_gram(gram_x, gram_x)
        yy = _unbiased_hsic_gram(gram_y, gram_y)
    else:
        centered_x = _centered_gram_from_gram(gram_x)
        centered_y = _centered_gram_from_gram(gram_y)
        xy = float(np.sum(centered_x * centered_y))
        xx = float(np.sum(centered_x * centered_x))
        yy = float(np.sum(centered_y * centered_y))

    scale = max(np.abs(gram_x).max(), np.abs(gram_y).max(), 1e-300)
    return _ratio(xy, xx, yy, np.finfo(np.float64).eps * m * scale**2)


def _as_matrix(value, name: str) -> np.ndarray:
    """Return a tensor or array-like of numbers as a float64 numpy array."""
    expected = "a 2D array of numbers (numpy.ndarray, torch.Tensor or nested lists)"
    if isinstance(value, (str, bytes)):
        raise parameter_error("cka()", name, expected, value)
    try:
        return np.asarray(value.detach().cpu() if isinstance(value, torch.Tensor) else value, dtype=np.float64)
    except (TypeError, ValueError):
        raise parameter_error("cka()", name, expected, value) from None


def _ratio(xy: float, xx: float, yy: float, tiny: float) -> float:
    """Return ``xy / sqrt(xx yy)``, or NaN with a warning when a self-similarity is numerically 0."""
    if xx <= tiny or yy <= tiny:
        warnings.warn(
            "cka(): a representation is constant over the samples; CKA is undefined and returned as NaN.",
            ConstantRepresentationWarning,
            stacklevel=3,
        )
        return float("nan")
    return float(xy / np.sqrt(xx * yy))


def _centered_gram_from_gram(gram: np.ndarray) -> np.ndarray:
    mean_rows = gram.mean(axis=0, keepdims=True)
    return gram - mean_rows - mean_rows.T + gram.mean()


def mixup_inputs(
    X: torch.Tensor, num_samples: int = 640, alpha: float = 16.0, seed: int = 0
) -> torch.Tensor:
    """Return mixup samples ``lam * x1 + (1 - lam) * x2`` with ``lam ~ Beta(alpha, alpha)``.

    Parameters
    ----------
    X : torch.Tensor
        Training inputs, shape ``(n, *input_shape)``.
    num_samples : int, default 640
        m, the number of mixed samples.
    alpha : float, default 16.0
        Beta parameter; large values concentrate ``lam`` at 1/2.
    seed : int, default 0
        Seeds the pairs and the coefficients.

    Returns
    -------
    torch.Tensor
        Shape ``(num_samples, *input_shape)``.
    """
    func = "mixup_inputs()"
    check_tensor(X, "X", func, min_ndim=1)
    if not X.is_floating_point() or len(X) == 0:
        raise parameter_error(func, "X", "a non-empty floating-point torch.Tensor", X)
    num_samples = check_int(num_samples, "num_samples", func, 1)
    alpha = check_float(alpha, "alpha", func, 0.0, None, closed="neither")
    rng = np.random.default_rng(check_int(seed, "seed", func, 0))
    first = torch.from_numpy(rng.integers(0, len(X), num_samples))
    second = torch.from_numpy(rng.integers(0, len(X), num_samples))
    lam = torch.from_numpy(rng.beta(alpha, alpha, num_samples)).to(X.dtype)
    lam = lam.view(-1, *([1] * (X.dim() - 1)))
    return lam * X[first] + (1 - lam) * X[second]


def noisy_inputs(
    X: torch.Tensor, num_samples: int = 640, magnitude: float = 0.1, seed: int = 0
) -> torch.Tensor:
    """Return training inputs plus uniform noise in ``[-magnitude, magnitude]`` per value.

    Shape ``(num_samples, *input_shape)``; ``magnitude`` is in input units.
    """
    func = "noisy_inputs()"
    check_tensor(X, "X", func, min_ndim=1)
    if not X.is_floating_point() or len(X) == 0:
        raise parameter_error(func, "X", "a non-empty floating-point torch.Tensor", X)
    num_samples = check_int(num_samples, "num_samples", func, 1)
    magnitude = check_float(magnitude, "magnitude", func, 0.0)
    generator = torch.Generator().manual_seed(check_int(seed, "seed", func, 0))
    index = torch.randint(0, len(X), (num_samples,), generator=generator)
    noise = (torch.rand((num_samples, *X.shape[1:]), generator=generator) * 2 - 1) * magnitude
    return X[index] + noise.to(X.dtype)


@torch.no_grad()
def representations(
    model: nn.Module,
    inputs: torch.Tensor,
    output: str = "softmax",
    batch_size: int = 1000,
    layer: str | None = None,
) -> torch.Tensor:
    """Return a representation of ``inputs`` computed in eval mode, in float64.

    Parameters
    ----------
    model : torch.nn.Module
    inputs : torch.Tensor
        Shape ``(m, *input_shape)``.
    output : {"softmax", "logits"}
        For the model's output: softmax probabilities (the paper's choice)
        or raw logits. Ignored when ``layer`` is given.
    batch_size : int
        Inputs per forward pass.
    layer : str, optional
        Name of a submodule (as in ``model.named_modules()``); its output is
        captured with a forward hook and flattened to ``(m, features)``.

    Returns
    -------
    torch.Tensor
        Shape ``(m, num_classes)`` or ``(m, features)``.

    Raises
    ------
    ParameterError
        If ``layer`` names no submodule.
    """
    func = "representations()"
    check_module(model, "model", func)
    check_tensor(inputs, "inputs", func, min_ndim=1)
    check_choice(output, "output", func, ("softmax", "logits"))
    batch_size = check_int(batch_size, "batch_size", func, 1)
    if layer is not None and not isinstance(layer, str):
        raise parameter_error(func, "layer", "a submodule name (str) or None", layer)
    modules = dict(model.named_modules())
    if layer is not None and layer not in modules:
        names = [name for name in modules if name][:20]
        raise ParameterError(f"The 'layer' parameter of {func} must name a submodule, e.g. one of {names}. Got {layer!r} instead.")
    captured: list[torch.Tensor] = []
    hook = None
    if layer is not None:
        hook = modules[layer].register_forward_hook(lambda module, args, result: captured.append(result.flatten(1)))
    training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        chunks = [model(inputs[i : i + batch_size].to(device)) for i in range(0, len(inputs), batch_size)]
    finally:
        model.train(training)
        if hook is not None:
            hook.remove()
    if layer is not None:
        return torch.cat(captured).double()
    outputs = torch.cat(chunks).double()
    return outputs.softmax(dim=1) if output == "softmax" else outputs


def model_cka(
    model_a: nn.Module,
    model_b: nn.Module,
    inputs: torch.Tensor,
    output: str = "softmax",
    debiased: bool = False,
    layer: str | None = None,
) -> float:
    """Return linear CKA between two models' representations of the same ``inputs``.

    ``output`` and ``layer`` are as in :func:`representations`; both models
    see exactly the same inputs.
    """
    func = "model_cka()"
    check_module(model_a, "model_a", func)
    check_module(model_b, "model_b", func)
    check_tensor(inputs, "inputs", func, min_ndim=1)
    check_choice(output, "output", func, ("softmax", "logits"))
    check_bool(debiased, "debiased", func)
    if layer is not None and not isinstance(layer, str):
        raise parameter_error(func, "layer", "a submodule name (str) or None", layer)
    return cka(
        representations(model_a, inputs, output, layer=layer).numpy(),
        representations(model_b, inputs, output, layer=layer).numpy(),
        debiased=debiased,
    )
