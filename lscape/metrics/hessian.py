"""Hessian of the training loss: hvp, top eigenvalues and trace.

The Hessian is taken of the data loss alone (no weight-decay term) with the
model in eval mode, so BatchNorm uses its running statistics and dropout is
off, as PyHessian (Yao et al., 2020, "PyHessian: Neural Networks Through the
Lens of the Hessian") does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from lscape.validation import ParameterError, check_choice, check_float, check_int

Batch = tuple[torch.Tensor, torch.Tensor]


@contextmanager
def eval_mode(model: nn.Module):
    """Put ``model`` in eval mode and restore each submodule's mode on exit."""
    modes = {module: module.training for module in model.modules()}
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes.items():
            module.training = training


def _as_batches(data) -> list[Batch]:
    """Normalise ``data`` to a list of ``(X, y)`` batches.

    Accepts one ``(X, y)`` pair of tensors or any iterable of such pairs (a
    ``torch.utils.data.DataLoader`` included).
    """
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(d, torch.Tensor) for d in data):
        return [(data[0], data[1])]
    if isinstance(data, Iterable):
        batches = [(b[0], b[1]) for b in data]
        if batches:
            return batches
    raise ParameterError(
        "The 'data' parameter must be an (X, y) pair of tensors or an iterable of such "
        f"batches (e.g. a DataLoader). Got {type(data).__name__} instead."
    )


class HessianOperator:
    """The Hessian of the mean loss over ``data`` as a linear operator on flat vectors.

    ``H v`` is computed by double backward: the gradient is formed once per
    batch with ``create_graph=True`` and each product is one more backward
    pass. Over several batches the product is the batch-size-weighted average,
    which equals the full-batch Hessian of the mean loss.

    Parameters
    ----------
    model : torch.nn.Module
        Only parameters with ``requires_grad`` enter; parameters that do not
        affect the loss contribute zero rows and columns.
    loss_fn : callable
        ``loss_fn(outputs, y)`` returning the mean loss over the batch.
    data : (X, y) or iterable of (X, y)
        One batch or a data loader.
    dtype : torch.dtype, optional
        Compute in this dtype (e.g. ``torch.float64``) on a copy of the model.

    Notes
    -----
    The model must be in the mode it should be differentiated in (callers use
    :func:`eval_mode`). The operator holds the autograd graphs of all batches;
    for large loaders use few, large batches.
    """

    def __init__(self, model: nn.Module, loss_fn, data, dtype: torch.dtype | None = None):
        if dtype is not None:
            import copy

            model = copy.deepcopy(model).to(dtype)
        self.model = model
        self.params = [p for p in model.parameters() if p.requires_grad]
        if not self.params:
            raise ParameterError("The model has no trainable parameters (none with requires_grad=True).")
        self.dim = sum(p.numel() for p in self.params)
        self.dtype = self.params[0].dtype
        self.device = self.params[0].device
        self.num_matvecs = 0
        self.num_samples = 0

        for p in model.parameters():
            p.grad = None  # stale .grad from training would leak into the graph
        self._grads: list[tuple[float, list[torch.Tensor]]] = []
        batches = _as_batches(data)
        total = sum(len(X) for X, _ in batches)
        for X, y in batches:
            X = X.to(self.device, self.dtype if X.is_floating_point() else X.dtype)
            y = y.to(self.device)
            loss = loss_fn(model(X), y)
            grads = torch.autograd.grad(loss, self.params, create_graph=True, allow_unused=True)
            self._grads.append((len(X) / total, list(grads)))
        self.num_samples = total

    def _unflatten(self, vector: torch.Tensor) -> list[torch.Tensor]:
        pieces, offset = [], 0
        for p in self.params:
            pieces.append(vector[offset : offset + p.numel()].view_as(p))
            offset += p.numel()
        return pieces

    def matvec(self, vector: torch.Tensor) -> torch.Tensor:
        """Return ``H @ vector`` for a flat vector of shape ``(dim,)``."""
        vector = vector.to(self.device, self.dtype)
        pieces = self._unflatten(vector)
        result = torch.zeros(self.dim, dtype=self.dtype, device=self.device)
        for weight, grads in self._grads:
            # Gradients that do not depend on the parameters (or parameters
            # that do not reach the loss) add nothing to H v.
            used = [i for i, g in enumerate(grads) if g is not None and g.requires_grad]
            if not used:
                continue
            products = torch.autograd.grad(
                [grads[i] for i in used], self.params, grad_outputs=[pieces[i] for i in used],
                retain_graph=True, allow_unused=True,
            )
            flat = [
                torch.zeros(p.numel(), dtype=self.dtype, device=self.device) if h is None else h.flatten()
                for p, h in zip(self.params, products)
            ]
            result += weight * torch.cat(flat)
        self.num_matvecs += 1
        return result.detach()

    def release(self) -> None:
        """Free the autograd graphs."""
        self._grads = []


@dataclass
class EigenResult:
    """Top Hessian eigenvalues.

    Attributes
    ----------
    eigvals : np.ndarray
        Shape ``(k,)``, descending.
    eigvecs : np.ndarray or None
        Shape ``(dim, k)``, unit columns.
    num_matvecs : int
        Hessian-vector products used.
    num_samples : int
        Data points the Hessian was taken over.
    method, seed, model_mode : provenance
    converged : bool
        Whether every eigenvalue met ``tol`` before ``max_iter``.
    """

    eigvals: np.ndarray
    eigvecs: np.ndarray | None
    num_matvecs: int
    num_samples: int
    method: str
    seed: int
    converged: bool
    model_mode: str = "eval"
    dtype: str = "float32"


@dataclass
class TraceResult:
    """Hessian trace estimate.

    Attributes
    ----------
    trace : float
        Estimate of ``tr(H)``.
    stderr : float
        Standard error of the estimate (NaN with one probe).
    num_matvecs : int
        Hessian-vector products used.
    num_probes : int
        Random probe vectors drawn.
    estimates : list of float
        Per-probe values ``v^T H v`` (Hutchinson).
    """

    trace: float
    stderr: float
    num_matvecs: int
    num_probes: int
    num_samples: int
    method: str
    seed: int
    converged: bool
    model_mode: str = "eval"
    dtype: str = "float32"
    estimates: list[float] = field(default_factory=list)


def _check_common(func: str, max_iter, tol, seed) -> tuple[int, float, int]:
    return (
        check_int(max_iter, "max_iter", func, 1),
        check_float(tol, "tol", func, 0.0, None, closed="neither"),
        check_int(seed, "seed", func, 0),
    )


def _power_iteration(operator: HessianOperator, k: int, max_iter: int, tol: float, seed: int):
    """Deflated power iteration with PyHessian's stopping rule.

    For each of the ``k`` eigenpairs: start from a Gaussian vector, orthogonalise
    against the eigenvectors found so far, and stop when the Rayleigh quotient
    changes by less than ``tol`` relative to ``|previous| + 1e-6``.
    """
    generator = torch.Generator(device="cpu").manual_seed(seed)
    eigvals, eigvecs, converged = [], [], True
    for _ in range(k):
        v = torch.randn(operator.dim, generator=generator, dtype=torch.float64).to(operator.dtype)
        v = v / v.norm()
        value = None
        done = False
        for _ in range(max_iter):
            for u in eigvecs:
                v = v - torch.dot(u, v) * u
            v = v / v.norm()
            Hv = operator.matvec(v)
            candidate = torch.dot(Hv, v).item()
            v = Hv / (Hv.norm() + 1e-12)
            if value is not None and abs(value - candidate) / (abs(value) + 1e-6) < tol:
                done = True  # PyHessian keeps the previous estimate here; so do we
                break
            value = candidate
        converged = converged and done
        eigvals.append(value)
        eigvecs.append(v)
    return np.array(eigvals), torch.stack(eigvecs, 1).cpu().numpy(), converged


def hessian_eigenvalues(
    model: nn.Module,
    loss_fn,
    data,
    k: int = 1,
    method: str = "power",
    max_iter: int = 100,
    tol: float = 1e-3,
    seed: int = 0,
    dtype: torch.dtype | None = None,
) -> EigenResult:
    """Estimate the top-``k`` eigenvalues of the Hessian of the mean loss.

    Parameters
    ----------
    model : torch.nn.Module
        Evaluated in eval mode; its modes and buffers are restored/unchanged.
    loss_fn : callable
        ``loss_fn(outputs, y)``, the mean data loss (no weight decay).
    data : (X, y) or iterable of (X, y)
        ``X`` of shape ``(n, *input_shape)``; several batches are averaged by size.
    k : int, default 1
        Number of eigenvalues.
    method : {"power"}
        ``"power"``: deflated power iteration as in PyHessian (it converges to
        the eigenvalues of largest magnitude, which for trained networks are
        the largest algebraic ones).
    max_iter : int, default 100
        Maximum Hessian-vector products per eigenvalue.
    tol : float, default 1e-3
        Relative change of the eigenvalue estimate that stops the iteration.
    seed : int, default 0
        Seed of the starting vector.
    dtype : torch.dtype, optional
        E.g. ``torch.float64`` to compute on a float64 copy.

    Returns
    -------
    EigenResult

    Raises
    ------
    ParameterError
        If an argument is out of range or ``k`` exceeds the number of parameters.
    """
    func = "hessian_eigenvalues()"
    max_iter, tol, seed = _check_common(func, max_iter, tol, seed)
    check_choice(method, "method", func, ("power",))
    k = check_int(k, "k", func, 1)
    with eval_mode(model):
        operator = HessianOperator(model, loss_fn, data, dtype)
        if k > operator.dim:
            raise ParameterError(
                f"The 'k' parameter of {func} must be an int in [1, {operator.dim}] "
                f"(the number of trainable parameters). Got {k} instead."
            )
        eigvals, eigvecs, converged = _power_iteration(operator, k, max_iter, tol, seed)
        operator.release()
    order = np.argsort(eigvals)[::-1]
    return EigenResult(
        eigvals=eigvals[order], eigvecs=eigvecs[:, order], num_matvecs=operator.num_matvecs,
        num_samples=operator.num_samples, method=method, seed=seed, converged=converged,
        dtype=str(operator.dtype).replace("torch.", ""),
    )


def _rademacher(dim: int, generator: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
    return (torch.randint(0, 2, (dim,), generator=generator) * 2 - 1).to(dtype)


def hessian_trace(
    model: nn.Module,
    loss_fn,
    data,
    method: str = "hutchinson",
    max_iter: int = 100,
    tol: float = 1e-3,
    seed: int = 0,
    dtype: torch.dtype | None = None,
) -> TraceResult:
    """Estimate ``tr(H)`` with Hutchinson's method and Rademacher probes.

    The iteration stops when the running mean changes by less than ``tol``
    relative to the absolute value of the previous running mean (plus 1e-6),
    or after ``max_iter`` probes. PyHessian 0.1 divides by the signed mean,
    which stops at once whenever the running estimate is negative.

    Parameters
    ----------
    model, loss_fn, data, dtype
        As in :func:`hessian_eigenvalues`.
    method : {"hutchinson"}
    max_iter : int, default 100
        Maximum probes (one Hessian-vector product each).
    tol : float, default 1e-3
    seed : int, default 0

    Returns
    -------
    TraceResult
        ``trace`` is the mean of ``v^T H v`` over probes and ``stderr`` its
        standard error.
    """
    func = "hessian_trace()"
    max_iter, tol, seed = _check_common(func, max_iter, tol, seed)
    check_choice(method, "method", func, ("hutchinson",))
    generator = torch.Generator(device="cpu").manual_seed(seed)
    with eval_mode(model):
        operator = HessianOperator(model, loss_fn, data, dtype)
        estimates: list[float] = []
        previous_mean = None
        converged = False
        for _ in range(max_iter):
            v = _rademacher(operator.dim, generator, operator.dtype).to(operator.device)
            estimates.append(torch.dot(operator.matvec(v), v).item())
            mean = float(np.mean(estimates))
            if previous_mean is not None and abs(mean - previous_mean) / (abs(previous_mean) + 1e-6) < tol:
                converged = True
                break
            previous_mean = mean
        operator.release()
    values = np.array(estimates)
    stderr = float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else math.nan
    return TraceResult(
        trace=float(values.mean()), stderr=stderr, num_matvecs=operator.num_matvecs,
        num_probes=len(values), num_samples=operator.num_samples, method=method, seed=seed,
        converged=converged, dtype=str(operator.dtype).replace("torch.", ""), estimates=list(values),
    )


def fixed_batch(X: torch.Tensor, y: torch.Tensor, size: int = 200, seed: int = 0) -> Batch:
    """Return a fixed, seeded random batch of ``size`` rows of ``(X, y)``.

    The paper measures the Hessian on one batch of 200 training samples.
    """
    size = min(check_int(size, "size", "fixed_batch()", 1), len(X))
    generator = torch.Generator().manual_seed(check_int(seed, "seed", "fixed_batch()", 0))
    index = torch.randperm(len(X), generator=generator)[:size]
    return X[index], y[index]


__all__: Sequence[str] = [
    "EigenResult",
    "HessianOperator",
    "TraceResult",
    "eval_mode",
    "fixed_batch",
    "hessian_eigenvalues",
    "hessian_trace",
]
