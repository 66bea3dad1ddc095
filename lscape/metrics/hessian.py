"""Hessian of the training loss: hvp, top eigenvalues and trace.

The Hessian is taken of the data loss alone (no weight-decay term) with the
model in eval mode, so BatchNorm uses its running statistics and dropout is
off, as PyHessian (Yao et al., 2020, "PyHessian: Neural Networks Through the
Lens of the Hessian") does.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from lscape.validation import (
    ParameterError, check_callable, check_choice, check_float, check_int, check_module, check_tensor, parameter_error,
)

Batch = tuple[torch.Tensor, torch.Tensor]


def eval_mode(model: nn.Module):
    """Put ``model`` in eval mode and restore each submodule's mode on exit (a context manager)."""
    check_module(model, "model", "eval_mode()")
    return _eval_mode(model)


@contextmanager
def _eval_mode(model: nn.Module):
    modes = {module: module.training for module in model.modules()}
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes.items():
            module.training = training


DATA_EXPECTED = "an (X, y) pair of tensors or an iterable of such batches (e.g. a DataLoader)"


def _is_tensor_pair(data) -> bool:
    return isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(d, torch.Tensor) for d in data)


def _check_data(data, func: str) -> None:
    """Check the form of ``data`` without iterating a loader, because iterating would consume a generator."""
    if _is_tensor_pair(data):
        return
    if isinstance(data, (str, bytes, dict)) or not isinstance(data, Iterable):
        raise parameter_error(func, "data", DATA_EXPECTED, data)
    if isinstance(data, (tuple, list)):
        if not data:
            raise parameter_error(func, "data", DATA_EXPECTED, data)
        for batch in data:
            if not (isinstance(batch, (tuple, list)) and len(batch) >= 2
                    and all(isinstance(part, torch.Tensor) for part in batch[:2])):
                raise parameter_error(func, "data", DATA_EXPECTED, data)


def _check_operator_arguments(func: str, model, loss_fn, data, dtype) -> None:
    check_module(model, "model", func)
    check_callable(loss_fn, "loss_fn", func, "a callable loss_fn(outputs, y)")
    _check_data(data, func)
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise parameter_error(func, "dtype", "a floating-point torch.dtype (e.g. torch.float64) or None", dtype)


def _as_batches(data) -> list[Batch]:
    """Normalise ``data`` to a list of ``(X, y)`` batches.

    Accepts one ``(X, y)`` pair of tensors or any iterable of such pairs (a
    ``torch.utils.data.DataLoader`` included).
    """
    if _is_tensor_pair(data):
        return [(data[0], data[1])]
    if isinstance(data, Iterable):
        batches = [(b[0], b[1]) for b in data]
        if batches:
            return batches
    raise parameter_error("the Hessian operator", "data", DATA_EXPECTED, data)


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
        _check_operator_arguments(f"{type(self).__name__}()", model, loss_fn, data, dtype)
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

    def matmat(self, vectors: torch.Tensor) -> torch.Tensor:
        """Return ``H @ vectors`` for a block of shape ``(dim, b)``, one product per column."""
        return torch.stack([self.matvec(column) for column in vectors.T], 1)

    def release(self) -> None:
        """Free the autograd graphs."""
        self._grads = []


class FuncHessianOperator(HessianOperator):
    """The same operator computed by ``torch.func``: forward-over-reverse, vmapped over blocks.

    ``H V`` for a block ``V`` of shape ``(dim, b)`` is one vmapped call of
    ``jvp(grad(loss), params, v)``. A single product this way was 14-70x
    slower than double backward on a 2-core CPU, but a block of vectors
    amortises the cost; ``benchmarks/hessian_benchmark.py`` measures both
    routes.
    """

    def __init__(self, model: nn.Module, loss_fn, data, dtype: torch.dtype | None = None):
        from torch.func import functional_call, grad

        _check_operator_arguments(f"{type(self).__name__}()", model, loss_fn, data, dtype)
        if dtype is not None:
            import copy

            model = copy.deepcopy(model).to(dtype)
        self.model = model
        names = [n for n, p in model.named_parameters() if p.requires_grad]
        if not names:
            raise ParameterError("The model has no trainable parameters (none with requires_grad=True).")
        self.params = [p for p in model.parameters() if p.requires_grad]
        self._names = names
        self._values = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}
        rest = {n: p.detach() for n, p in model.named_parameters() if not p.requires_grad}
        rest.update(dict(model.named_buffers()))
        self.dim = sum(p.numel() for p in self.params)
        self.dtype = self.params[0].dtype
        self.device = self.params[0].device
        self.num_matvecs = 0
        batches = _as_batches(data)
        self.num_samples = sum(len(X) for X, _ in batches)
        self._batches = []
        for X, y in batches:
            X = X.to(self.device, self.dtype if X.is_floating_point() else X.dtype)
            self._batches.append((len(X) / self.num_samples, X, y.to(self.device)))

        def loss_of(params, X, y):
            return loss_fn(functional_call(model, {**params, **rest}, (X,)), y)

        self._gradient = grad(loss_of)

    def matmat(self, vectors: torch.Tensor) -> torch.Tensor:
        """Return ``H @ vectors`` for a block of shape ``(dim, b)`` with one vmapped call per batch."""
        from torch.func import jvp, vmap

        vectors = vectors.to(self.device, self.dtype)
        count = vectors.shape[1]
        tangents, offset = {}, 0
        for name, p in zip(self._names, self.params):
            tangents[name] = vectors[offset : offset + p.numel()].T.reshape(count, *p.shape)
            offset += p.numel()
        result = torch.zeros(count, self.dim, dtype=self.dtype, device=self.device)
        for weight, X, y in self._batches:

            def product(tangent, X=X, y=y):
                return jvp(lambda params: self._gradient(params, X, y), (self._values,), (tangent,))[1]

            blocks = vmap(product)(tangents)
            result += weight * torch.cat([blocks[name].reshape(count, -1) for name in self._names], 1)
        self.num_matvecs += count
        return result.T.detach()

    def matvec(self, vector: torch.Tensor) -> torch.Tensor:
        """Return ``H @ vector`` for a flat vector of shape ``(dim,)``."""
        return self.matmat(vector.reshape(-1, 1))[:, 0]

    def release(self) -> None:
        """Drop the stored batches."""
        self._batches = []


BACKENDS = {"autograd": HessianOperator, "func": FuncHessianOperator}


def make_operator(model: nn.Module, loss_fn, data, dtype=None, backend: str = "autograd") -> HessianOperator:
    """Return the Hessian operator of ``backend`` ("autograd": double backward; "func": vmapped torch.func)."""
    check_choice(backend, "backend", "make_operator()", tuple(BACKENDS))
    _check_operator_arguments("make_operator()", model, loss_fn, data, dtype)
    return BACKENDS[backend](model, loss_fn, data, dtype)


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


class HessianConvergenceWarning(RuntimeWarning):
    """An iterative Hessian estimate stopped at ``max_iter`` before meeting ``tol``."""


# Power iteration accepts an eigenvalue only when the residual ||H v - lambda v||
# is below this fraction of |lambda|. A +/- pair of equal magnitude keeps the
# Rayleigh quotient constant while v flips between two directions; the residual
# stays of the order of |lambda| there, so the iteration does not stop on it.
RESIDUAL_GUARD = 0.1


def _power_iteration(operator, k: int, max_iter: int, tol: float, seed: int, shift: float = 0.0):
    """Deflated power iteration with PyHessian's stopping rule and a residual guard.

    For each of the ``k`` eigenpairs of ``H - shift * I``: start from a
    Gaussian vector, orthogonalise against the eigenvectors found so far, and
    stop when the Rayleigh quotient changes by less than ``tol`` relative to
    ``|previous| + 1e-6`` (PyHessian's rule, keeping the previous estimate as
    PyHessian does) and the residual is below ``RESIDUAL_GUARD * |lambda|``.
    """
    generator = torch.Generator(device="cpu").manual_seed(seed)
    eigvals, eigvecs, converged = [], [], True
    radius = 0.0
    for _ in range(k):
        v = torch.randn(operator.dim, generator=generator, dtype=torch.float64).to(operator.dtype)
        v = v / v.norm()
        value = None
        done = False
        for _ in range(max_iter):
            for u in eigvecs:
                v = v - torch.dot(u, v) * u
            v = v / v.norm()
            Hv = operator.matvec(v) - shift * v
            radius = max(radius, (Hv + shift * v).norm().item())
            candidate = torch.dot(Hv, v).item()
            residual = (Hv - candidate * v).norm().item()
            v_next = Hv / (Hv.norm() + 1e-30)
            stable = value is not None and abs(value - candidate) / (abs(value) + 1e-6) < tol
            if stable and residual <= RESIDUAL_GUARD * abs(candidate):
                done = True  # PyHessian keeps the previous estimate here; so do we
                break
            value = candidate
            v = v_next
        converged = converged and done
        eigvals.append(value + shift)
        eigvecs.append(v)
    return np.array(eigvals), torch.stack(eigvecs, 1).cpu().numpy(), converged, radius


def _lanczos_eigsh(operator, k: int, max_iter: int, tol: float, seed: int):
    """Largest algebraic eigenvalues by implicitly restarted Lanczos (ARPACK through scipy)."""
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

    dtype = np.float64 if operator.dtype == torch.float64 else np.float32

    def matvec(x):
        vector = torch.from_numpy(np.ascontiguousarray(x, dtype=dtype).reshape(-1))
        return operator.matvec(vector).cpu().numpy().astype(dtype)

    linear = LinearOperator((operator.dim, operator.dim), matvec=matvec, dtype=dtype)
    v0 = np.random.default_rng(seed).standard_normal(operator.dim).astype(dtype)
    ncv = min(operator.dim, max(2 * k + 1, 20))
    try:
        values, vectors = eigsh(linear, k=k, which="LA", tol=tol, maxiter=max_iter, v0=v0, ncv=ncv)
        converged = True
    except ArpackNoConvergence as error:
        values, vectors = error.eigenvalues, error.eigenvectors
        converged = False
    return values.astype(float), vectors, converged


def _dense_eigenvalues(operator, k: int):
    """Exact eigenvalues from the dense Hessian built column by column (small models only)."""
    columns = [operator.matvec(e) for e in torch.eye(operator.dim, dtype=operator.dtype)]
    dense = torch.stack(columns, 1).double()
    values, vectors = torch.linalg.eigh(0.5 * (dense + dense.T))
    return values.flip(0)[:k].numpy(), vectors.flip(1)[:, :k].numpy(), True


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
    backend: str = "autograd",
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
    method : {"power", "lanczos", "dense"}
        ``"power"``: PyHessian's deflated power iteration (same start, same
        stopping rule), plus a residual check so that a +/- pair of equal
        magnitude cannot stop it early. When it does not converge or finds a
        negative eigenvalue it is run again on ``H + rho I`` (``rho`` the
        estimated spectral radius), so the result is always the largest
        algebraic eigenvalues, at the cost of more products. ``"lanczos"``: implicitly restarted
        Lanczos (``scipy.sparse.linalg.eigsh``, ``which="LA"``).
        ``"dense"``: builds the full Hessian (``dim`` products), for
        models with a few thousand parameters at most.
    max_iter : int, default 100
        Maximum Hessian-vector products per eigenvalue (power) or restarts
        (lanczos).
    tol : float, default 1e-3
        Relative change of the eigenvalue estimate that stops the iteration.
    seed : int, default 0
        Seed of the starting vector.
    dtype : torch.dtype, optional
        E.g. ``torch.float64`` to compute on a float64 copy.
    backend : {"autograd", "func"}
        How Hessian-vector products are computed (see :func:`make_operator`).

    Returns
    -------
    EigenResult

    Raises
    ------
    ParameterError
        If an argument is out of range or ``k`` exceeds the number of parameters.
    """
    func = "hessian_eigenvalues()"
    _check_operator_arguments(func, model, loss_fn, data, dtype)
    max_iter, tol, seed = _check_common(func, max_iter, tol, seed)
    check_choice(method, "method", func, ("power", "lanczos", "dense"))
    check_choice(backend, "backend", func, tuple(BACKENDS))
    k = check_int(k, "k", func, 1)
    with eval_mode(model):
        operator = make_operator(model, loss_fn, data, dtype, backend)
        if k > operator.dim:
            raise ParameterError(
                f"The 'k' parameter of {func} must be an int in [1, {operator.dim}] "
                f"(the number of trainable parameters). Got {k} instead."
            )
        if method == "power":
            eigvals, eigvecs, converged, radius = _power_iteration(operator, k, max_iter, tol, seed)
            if not converged or eigvals.min() < 0:
                # Power iteration finds the eigenvalues of largest magnitude. A
                # shift by minus the spectral radius (estimated by the largest
                # ||H v|| seen) makes H + radius * I positive semidefinite, so its
                # top eigenpairs are the largest algebraic ones of H. This also
                # resolves a +/- pair of equal magnitude, on which plain power
                # iteration cannot converge.
                eigvals, eigvecs, converged, _ = _power_iteration(
                    operator, k, max_iter, tol, seed, shift=-1.01 * radius
                )
        elif method == "lanczos":
            if k >= operator.dim:
                eigvals, eigvecs, converged = _dense_eigenvalues(operator, k)
            else:
                eigvals, eigvecs, converged = _lanczos_eigsh(operator, k, max_iter, tol, seed)
        else:
            eigvals, eigvecs, converged = _dense_eigenvalues(operator, k)
        operator.release()
    if not converged:
        warnings.warn(
            f"{func}: {method} did not reach tol={tol:g} within max_iter={max_iter}; the estimate may be "
            "inaccurate. Raise max_iter, or use method='lanczos'.",
            HessianConvergenceWarning, stacklevel=2,
        )
    order = np.argsort(eigvals)[::-1]
    return EigenResult(
        eigvals=eigvals[order], eigvecs=eigvecs[:, order], num_matvecs=operator.num_matvecs,
        num_samples=operator.num_samples, method=method, seed=seed, converged=converged,
        dtype=str(operator.dtype).replace("torch.", ""),
    )


def _rademacher(dim: int, generator: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
    return (torch.randint(0, 2, (dim,), generator=generator) * 2 - 1).to(dtype)


def _hutchinson(operator, max_iter: int, tol: float, generator: torch.Generator):
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
    values = np.array(estimates)
    stderr = float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else math.nan
    return float(values.mean()), stderr, len(values), converged, list(values)


def _hutch_plus_plus(operator, max_iter: int, generator: torch.Generator):
    """Hutch++ (Meyer, Musco, Musco and Woodruff, 2021) with ``max_iter`` products in all.

    A third of the products sketch the top range ``Q`` of ``H``, a third give
    ``tr(Q^T H Q)`` exactly, and a third estimate the trace of the deflated
    remainder with Rademacher probes. The standard error is that of the
    remainder's probes.
    """
    block = max(max_iter // 3, 1)
    probes = torch.stack([_rademacher(operator.dim, generator, operator.dtype) for _ in range(2 * block)], 1)
    sketch, remainder = probes[:, :block].to(operator.device), probes[:, block:].to(operator.device)
    Q, _ = torch.linalg.qr(operator.matmat(sketch))
    top = float((Q * operator.matmat(Q)).sum())
    deflated = remainder - Q @ (Q.T @ remainder)
    samples = (deflated * operator.matmat(deflated)).sum(0).cpu().numpy()
    stderr = float(samples.std(ddof=1) / math.sqrt(len(samples))) if len(samples) > 1 else math.nan
    return top + float(samples.mean()), stderr, 2 * block, True, [top + v for v in samples]


def hessian_trace(
    model: nn.Module,
    loss_fn,
    data,
    method: str = "hutchinson",
    max_iter: int = 100,
    tol: float = 1e-3,
    seed: int = 0,
    dtype: torch.dtype | None = None,
    backend: str = "autograd",
) -> TraceResult:
    """Estimate ``tr(H)`` of the mean loss with Rademacher probes.

    Parameters
    ----------
    model, loss_fn, data, dtype, backend
        As in :func:`hessian_eigenvalues`.
    method : {"hutchinson", "hutch++"}
        ``"hutchinson"``: the mean of ``v^T H v``; it stops when the running
        mean changes by less than ``tol`` relative to the absolute value of
        the previous running mean (plus 1e-6), or after ``max_iter`` probes.
        PyHessian 0.1 divides by the signed mean, which stops at once whenever
        the running estimate is negative. ``"hutch++"``: Meyer et al.'s
        variance-reduced estimator with a fixed budget of ``max_iter``
        products (rounded down to a multiple of 3); ``tol`` is not used.
    max_iter : int, default 100
        Maximum Hessian-vector products.
    tol : float, default 1e-3
    seed : int, default 0
        Seeds the probes.

    Returns
    -------
    TraceResult
        ``trace`` and its standard error ``stderr``.

    Raises
    ------
    ParameterError
        If an argument is out of range (hutch++ needs ``max_iter >= 3``).
    """
    func = "hessian_trace()"
    _check_operator_arguments(func, model, loss_fn, data, dtype)
    max_iter, tol, seed = _check_common(func, max_iter, tol, seed)
    check_choice(method, "method", func, ("hutchinson", "hutch++"))
    check_choice(backend, "backend", func, tuple(BACKENDS))
    if method == "hutch++":
        max_iter = check_int(max_iter, "max_iter", func, 3)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    with eval_mode(model):
        operator = make_operator(model, loss_fn, data, dtype, backend)
        if method == "hutchinson":
            trace, stderr, probes, converged, estimates = _hutchinson(operator, max_iter, tol, generator)
        else:
            trace, stderr, probes, converged, estimates = _hutch_plus_plus(operator, max_iter, generator)
        operator.release()
    return TraceResult(
        trace=trace, stderr=stderr, num_matvecs=operator.num_matvecs, num_probes=probes,
        num_samples=operator.num_samples, method=method, seed=seed, converged=converged,
        dtype=str(operator.dtype).replace("torch.", ""), estimates=estimates,
    )


@dataclass
class DensityResult:
    """Spectral density of the Hessian by stochastic Lanczos quadrature.

    Attributes
    ----------
    nodes : np.ndarray
        Shape ``(num_runs, num_steps)``: Ritz values (real) of each run.
    weights : np.ndarray
        Same shape: squared first components of the tridiagonal matrix's
        eigenvectors; each row sums to 1.
    num_matvecs : int
    """

    nodes: np.ndarray
    weights: np.ndarray
    num_matvecs: int
    num_samples: int
    seed: int
    model_mode: str = "eval"

    def density(self, grid: np.ndarray, sigma: float | None = None) -> np.ndarray:
        """Return the Gaussian-smoothed density on ``grid`` (integrates to about 1)."""
        try:
            grid = np.asarray(grid, dtype=float)
        except (TypeError, ValueError):
            raise parameter_error("DensityResult.density()", "grid", "an array of eigenvalues", grid) from None
        if sigma is not None:
            sigma = check_float(sigma, "sigma", "DensityResult.density()", 0.0, None, closed="neither")
        if sigma is None:
            spread = self.nodes.max() - self.nodes.min()
            sigma = max(spread, 1e-12) * 1e-2
        gaps = (grid[None, None, :] - self.nodes[:, :, None]) / sigma
        kernel = np.exp(-0.5 * gaps**2) / (sigma * math.sqrt(2 * math.pi))
        return (self.weights[:, :, None] * kernel).sum(axis=(0, 1)) / self.nodes.shape[0]

    def plot(self, ax=None, num_points: int = 1000, sigma: float | None = None, log: bool = True):
        """Draw the smoothed density against the eigenvalue (log density axis by default)."""
        import matplotlib.pyplot as plt

        ax = ax if ax is not None else plt.subplots(figsize=(5, 3.2))[1]
        spread = self.nodes.max() - self.nodes.min()
        margin = 0.05 * max(spread, 1e-12)
        grid = np.linspace(self.nodes.min() - margin, self.nodes.max() + margin, num_points)
        density = self.density(grid, sigma)
        ax.plot(grid, density, color="C0")
        if log:
            ax.set_yscale("log")
            ax.set_ylim(max(density.max() * 1e-8, 1e-300), density.max() * 2)
        ax.set_xlabel("eigenvalue")
        ax.set_ylabel("density")
        ax.set_title(f"Hessian spectral density (SLQ, {self.nodes.shape[0]} run(s), {self.num_matvecs} hvps)", fontsize=9)
        return ax


def _lanczos_tridiagonal(operator, start: torch.Tensor, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Run ``steps`` Lanczos steps with full reorthogonalisation; return (alpha, beta)."""
    basis = [start / start.norm()]
    alphas, betas = [], []
    for j in range(steps):
        w = operator.matvec(basis[j])
        alpha = torch.dot(w, basis[j]).item()
        alphas.append(alpha)
        for u in basis:
            w = w - torch.dot(w, u) * u
        beta = w.norm().item()
        if j == steps - 1 or beta < 1e-10:
            break
        betas.append(beta)
        basis.append(w / beta)
    return np.array(alphas), np.array(betas)


def hessian_density(
    model: nn.Module,
    loss_fn,
    data,
    num_steps: int = 80,
    num_runs: int = 1,
    seed: int = 0,
    dtype: torch.dtype | None = None,
) -> DensityResult:
    """Estimate the Hessian's eigenvalue density by stochastic Lanczos quadrature (SLQ).

    Each run starts Lanczos from a Rademacher vector, builds the ``m x m``
    tridiagonal matrix ``T`` and takes its eigenvalues (real, since ``T`` is
    symmetric) as nodes and the squared first components of its eigenvectors
    as weights (Ubaru, Chen and Saad, 2017; Ghorbani, Krishnan and Xiao, 2019).

    Parameters
    ----------
    model, loss_fn, data, dtype
        As in :func:`hessian_eigenvalues`.
    num_steps : int, default 80
        Lanczos steps per run (at most the number of parameters).
    num_runs : int, default 1
        Independent starting vectors averaged.
    seed : int, default 0

    Returns
    -------
    DensityResult
    """
    func = "hessian_density()"
    _check_operator_arguments(func, model, loss_fn, data, dtype)
    num_steps = check_int(num_steps, "num_steps", func, 1)
    num_runs = check_int(num_runs, "num_runs", func, 1)
    seed = check_int(seed, "seed", func, 0)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    nodes, weights = [], []
    with eval_mode(model):
        operator = HessianOperator(model, loss_fn, data, dtype)
        steps = min(num_steps, operator.dim)
        for _ in range(num_runs):
            start = _rademacher(operator.dim, generator, operator.dtype).to(operator.device)
            alphas, betas = _lanczos_tridiagonal(operator, start, steps)
            T = np.diag(alphas) + np.diag(betas[: len(alphas) - 1], 1) + np.diag(betas[: len(alphas) - 1], -1)
            values, vectors = np.linalg.eigh(T)
            node_row = np.full(steps, np.nan)
            weight_row = np.zeros(steps)
            node_row[: len(values)] = values
            weight_row[: len(values)] = vectors[0] ** 2
            nodes.append(node_row)
            weights.append(weight_row)
        operator.release()
    nodes_array = np.array(nodes)
    nodes_array = np.where(np.isnan(nodes_array), np.nanmean(nodes_array), nodes_array)  # padded, weight 0
    return DensityResult(np.array(nodes_array), np.array(weights), operator.num_matvecs, operator.num_samples, seed)


def fixed_batch(X: torch.Tensor, y: torch.Tensor, size: int = 200, seed: int = 0) -> Batch:
    """Return a fixed, seeded random batch of ``size`` rows of ``(X, y)``.

    The paper measures the Hessian on one batch of 200 training samples.
    """
    check_tensor(X, "X", "fixed_batch()", min_ndim=1)
    check_tensor(y, "y", "fixed_batch()", min_ndim=1)
    if len(y) != len(X):
        raise parameter_error("fixed_batch()", "y", f"a tensor with as many rows as X ({len(X)})", y,
                              f"Its shape is {tuple(y.shape)}.")
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
    "DensityResult",
    "HessianConvergenceWarning",
    "hessian_density",
    "hessian_eigenvalues",
    "hessian_trace",
]
