"""Mode connectivity: a trained Bezier curve between two models and the mc barrier score.

Follows Garipov et al. (2018), "Loss Surfaces, Mode Connectivity, and Fast
Ensembling of DNNs": the curve ``gamma(t) = sum_j C(n, j) (1 - t)^(n - j) t^j theta_j``
has fixed endpoints ``theta_0`` and ``theta_n`` and trainable bends in
between, and is trained by sampling ``t ~ U(0, 1)`` per minibatch. The score of
Yang et al. (2021) is ``mc = (e(0) + e(1)) / 2 - e(t*)`` with ``t*`` the
evaluated point that maximises ``|(e(0) + e(1)) / 2 - e(t)|``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from lscape.validation import (
    ParameterError, check_bool, check_callable, check_choice, check_float, check_int, check_module, check_tensor,
    check_type, parameter_error,
)

DEFAULT_T = (0.0, 0.25, 0.5, 0.75, 1.0)
CURVE_KINDS = ("bezier", "polychain")


def _check_t(t, func: str) -> list[float]:
    """Return the evaluation points ``t`` as floats after checking they rise from 0 to 1."""
    expected = "an increasing list of at least 3 points from 0 to 1"
    if isinstance(t, (str, bytes)) or not isinstance(t, (Sequence, np.ndarray)):
        raise parameter_error(func, "t", expected, t)
    values = [check_float(v, f"t[{i}]", func, 0.0, 1.0) for i, v in enumerate(t)]
    if len(values) < 3 or values[0] != 0.0 or values[-1] != 1.0 or sorted(values) != values:
        raise parameter_error(func, "t", expected, values)
    return values


def _check_training_set(X, y, func: str) -> None:
    check_tensor(X, "X", func, min_ndim=1)
    check_tensor(y, "y", func, min_ndim=1)
    if len(y) != len(X) or len(X) == 0:
        raise parameter_error(func, "y", f"a non-empty tensor with as many rows as X ({len(X)})", y,
                              f"Its shape is {tuple(y.shape)}.")


def _trainable_names(model: nn.Module) -> list[str]:
    return [name for name, p in model.named_parameters() if p.requires_grad]


class BezierCurve(nn.Module):
    """A curve in the parameter space of one architecture: Bezier or polygonal chain.

    Parameters
    ----------
    model_a, model_b : torch.nn.Module
        Endpoints of the same architecture. They are copied; the originals are
        never modified.
    num_bends : int, default 1
        Trainable control points between the endpoints (1 gives the quadratic
        curve of the paper, "three bends" counting the endpoints; 0 is the
        straight line).
    kind : {"bezier", "polychain"}
        Bezier curve, or the polygonal chain through the control points.

    Notes
    -----
    Bends start on the straight line, at ``theta_a + j / n (theta_b - theta_a)``;
    with these control points the Bezier curve is exactly the line segment.
    Parameters with ``requires_grad=False`` stay at endpoint A's value along
    the curve. The endpoints are stored as buffers, so no optimiser sees them.
    """

    def __init__(self, model_a: nn.Module, model_b: nn.Module, num_bends: int = 1, kind: str = "bezier"):
        super().__init__()
        func = "BezierCurve()"
        check_module(model_a, "model_a", func)
        check_module(model_b, "model_b", func)
        num_bends = check_int(num_bends, "num_bends", func, 0)
        self.kind = check_choice(kind, "kind", func, CURVE_KINDS)
        names_a = [n for n, _ in model_a.named_parameters()]
        names_b = [n for n, _ in model_b.named_parameters()]
        shapes_a = [p.shape for p in model_a.parameters()]
        shapes_b = [p.shape for p in model_b.parameters()]
        if names_a != names_b or shapes_a != shapes_b:
            raise ParameterError(
                f"{func}: 'model_a' and 'model_b' must have the same architecture "
                "(same parameter names and shapes)."
            )
        self.template = copy.deepcopy(model_a)
        for p in self.template.parameters():
            p.requires_grad_(False)
        self.names = _trainable_names(model_a)
        self.frozen = {
            name: p.detach().clone() for name, p in model_a.named_parameters() if not p.requires_grad
        }
        self.order = num_bends + 1
        params_a = dict(model_a.named_parameters())
        params_b = dict(model_b.named_parameters())
        for index, name in enumerate(self.names):
            key = f"p{index}"
            self.register_buffer(f"{key}_start", params_a[name].detach().clone())
            self.register_buffer(f"{key}_end", params_b[name].detach().clone())
        self.bends = nn.ParameterList()
        for j in range(1, self.order):
            fraction = j / self.order
            for index, name in enumerate(self.names):
                start = getattr(self, f"p{index}_start")
                end = getattr(self, f"p{index}_end")
                self.bends.append(nn.Parameter(start + fraction * (end - start)))
        self.buffer_state = {
            name: b.detach().clone() for name, b in model_a.named_buffers()
        }

    def control_point(self, j: int, index: int) -> torch.Tensor:
        """Return parameter ``index`` of control point ``j`` (0 and ``order`` are endpoints)."""
        if j == 0:
            return getattr(self, f"p{index}_start")
        if j == self.order:
            return getattr(self, f"p{index}_end")
        return self.bends[(j - 1) * len(self.names) + index]

    def coefficients(self, t: float) -> list[float]:
        """Return the weights of control points 0..n at ``t``.

        Bezier: the Bernstein weights ``C(n, j) (1 - t)^(n - j) t^j``.
        Polygonal chain: control point j sits at ``t = j / n`` and the curve
        is linear between neighbouring points.
        """
        n = self.order
        if self.kind == "bezier":
            return [math.comb(n, j) * (1 - t) ** (n - j) * t**j for j in range(n + 1)]
        segment = min(int(t * n), n - 1)
        local = t * n - segment
        weights = [0.0] * (n + 1)
        weights[segment] = 1.0 - local
        weights[segment + 1] = local
        return weights

    def parameters_at(self, t: float) -> dict[str, torch.Tensor]:
        """Return ``gamma(t)`` as a name-to-tensor dict usable by ``functional_call``."""
        weights = self.coefficients(float(t))
        point = {}
        for index, name in enumerate(self.names):
            point[name] = sum(w * self.control_point(j, index) for j, w in enumerate(weights))
        device = point[self.names[0]].device if self.names else None
        point.update({name: value.to(device) for name, value in self.frozen.items()})
        return point

    def initial_buffers(self, device: torch.device | None = None) -> dict[str, torch.Tensor]:
        """Return fresh copies of endpoint A's buffers (BatchNorm statistics)."""
        return {name: b.detach().clone().to(device) for name, b in self.buffer_state.items()}

    def forward_at(self, t: float, x: torch.Tensor, buffers: dict[str, torch.Tensor]) -> torch.Tensor:
        """Return the outputs of the model at ``gamma(t)`` for inputs ``x``."""
        return functional_call(self.template, {**self.parameters_at(t), **buffers}, (x,))


def _batch_norms(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def _lr_factor(progress: float) -> float:
    """Garipov et al.'s schedule: constant for the first half, linear to 1% at 90%."""
    if progress <= 0.5:
        return 1.0
    if progress <= 0.9:
        return 1.0 - (progress - 0.5) / 0.4 * 0.99
    return 0.01


def fit_curve(
    model_a: nn.Module,
    model_b: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    num_bends: int = 1,
    kind: str = "bezier",
    epochs: int = 50,
    batch_size: int = 128,
    lr: float = 0.01,
    momentum: float = 0.9,
    weight_decay: float = 5e-4,
    seed: int = 0,
    loss_fn=None,
    progress: bool = False,
) -> BezierCurve:
    """Train a Bezier curve between two models on ``(X, y)``.

    Each minibatch samples ``t ~ U(0, 1)`` and takes an SGD step on the bends
    for ``loss(gamma(t)) + weight_decay / 2 * ||gamma(t)||^2``. The learning rate
    stays at ``lr`` for the first half of training, then falls linearly to
    ``lr / 100`` at 90% of it. BatchNorm layers use batch statistics while the
    curve trains.

    Parameters
    ----------
    model_a, model_b : torch.nn.Module
        Trained endpoints (never modified).
    X : torch.Tensor
        Training inputs, shape ``(n, *input_shape)``.
    y : torch.Tensor
        Targets, shape ``(n,)``.
    num_bends : int, default 1
    kind : {"bezier", "polychain"}
    epochs : int, default 50
    batch_size : int, default 128
    lr, momentum, weight_decay : float
        SGD settings of the curve (paper: 0.01, 0.9, 5e-4).
    seed : int
        Seeds the bend order of minibatches and the sampled t values.
    loss_fn : callable, optional
        Default cross-entropy.
    progress : bool
        Show a ``tqdm`` bar over epochs.

    Returns
    -------
    BezierCurve
    """
    from tqdm.auto import tqdm

    func = "fit_curve()"
    check_module(model_a, "model_a", func)
    check_module(model_b, "model_b", func)
    _check_training_set(X, y, func)
    check_int(num_bends, "num_bends", func, 0)
    check_choice(kind, "kind", func, CURVE_KINDS)
    epochs = check_int(epochs, "epochs", func, 0)
    batch_size = check_int(batch_size, "batch_size", func, 1)
    lr = check_float(lr, "lr", func, 0.0, None, closed="neither")
    check_float(momentum, "momentum", func, 0.0, 1.0, closed="left")
    check_float(weight_decay, "weight_decay", func, 0.0)
    check_int(seed, "seed", func, 0)
    if loss_fn is not None:
        check_callable(loss_fn, "loss_fn", func, "a callable loss_fn(outputs, y) or None")
    check_bool(progress, "progress", func)
    loss_fn = loss_fn or nn.CrossEntropyLoss()

    device = next(model_a.parameters()).device
    curve = BezierCurve(model_a, model_b, num_bends, kind).to(device)
    X, y = X.to(device), y.to(device)
    if not len(curve.bends) or epochs == 0:
        return curve

    optimizer = torch.optim.SGD(curve.bends.parameters(), lr=lr, momentum=momentum)
    generator = torch.Generator().manual_seed(seed)
    buffers = curve.initial_buffers(device)
    steps_per_epoch = math.ceil(len(X) / batch_size)
    total_steps = epochs * steps_per_epoch
    step = 0
    curve.template.train()
    for _ in tqdm(range(epochs), desc="curve epochs", disable=not progress, leave=False):
        order = torch.randperm(len(X), generator=generator).to(device)
        for begin in range(0, len(X), batch_size):
            index = order[begin : begin + batch_size]
            t = torch.rand((), generator=generator).item()
            for group in optimizer.param_groups:
                group["lr"] = lr * _lr_factor(step / total_steps)
            point = curve.parameters_at(t)
            outputs = functional_call(curve.template, {**point, **buffers}, (X[index],))
            penalty = sum((point[name] ** 2).sum() for name in curve.names)
            loss = loss_fn(outputs, y[index]) + 0.5 * weight_decay * penalty
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
    return curve


@torch.no_grad()
def _recompute_batch_norm(curve: BezierCurve, t: float, X: torch.Tensor, batch_size: int):
    """Return buffers with BatchNorm statistics averaged over all of ``X`` at ``gamma(t)``.

    Each batch's statistics are weighted by its size (momentum ``b / (seen + b)``),
    which gives the exact sample-weighted mean of the batch means and variances.
    """
    buffers = curve.initial_buffers(X.device)
    norms = _batch_norms(curve.template)
    if not norms:
        return buffers
    names = {m: name for name, m in curve.template.named_modules()}
    for module in norms:
        prefix = names[module] + "." if names[module] else ""
        if prefix + "running_mean" in buffers:
            buffers[prefix + "running_mean"].zero_()
            buffers[prefix + "running_var"].fill_(1.0)
    saved = [(m, m.momentum) for m in norms]
    curve.template.train()
    point = curve.parameters_at(t)
    seen = 0
    try:
        for begin in range(0, len(X), batch_size):
            batch = X[begin : begin + batch_size]
            for module in norms:
                module.momentum = len(batch) / (seen + len(batch))
            functional_call(curve.template, {**point, **buffers}, (batch,))
            seen += len(batch)
    finally:
        for module, momentum in saved:
            module.momentum = momentum
    return buffers


@dataclass
class CurveProfile:
    """Loss and 0-1 error along a curve.

    Attributes
    ----------
    t : np.ndarray
        Shape ``(T,)``, the evaluated points.
    error : np.ndarray
        Shape ``(T,)``, 0-1 error in percent on the evaluation set.
    loss : np.ndarray
        Shape ``(T,)``, mean loss (no weight decay).
    """

    t: np.ndarray
    error: np.ndarray
    loss: np.ndarray


@torch.no_grad()
def evaluate_curve(
    curve: BezierCurve,
    X: torch.Tensor,
    y: torch.Tensor,
    t: Sequence[float] = DEFAULT_T,
    batch_size: int = 1000,
    loss_fn=None,
    bn_data: torch.Tensor | None = None,
) -> CurveProfile:
    """Evaluate loss and 0-1 error (percent) at each ``t``.

    BatchNorm statistics are recomputed at every ``t`` over ``bn_data``
    (default ``X``), then the model is evaluated in eval mode.
    """
    func = "evaluate_curve()"
    check_type(curve, "curve", func, BezierCurve, "a lscape.metrics.BezierCurve")
    _check_training_set(X, y, func)
    if isinstance(t, (str, bytes)) or not isinstance(t, (Sequence, np.ndarray)):
        raise parameter_error(func, "t", "a list of points in [0, 1]", t)
    for index, value in enumerate(t):
        check_float(value, f"t[{index}]", func, 0.0, 1.0)
    check_int(batch_size, "batch_size", func, 1)
    if loss_fn is not None:
        check_callable(loss_fn, "loss_fn", func, "a callable loss_fn(outputs, y) summed over the batch, or None")
    if bn_data is not None:
        check_tensor(bn_data, "bn_data", func, min_ndim=1)
    loss_fn = loss_fn or nn.CrossEntropyLoss(reduction="sum")
    device = curve.bends[0].device if len(curve.bends) else X.device
    X, y = X.to(device), y.to(device)
    bn_data = X if bn_data is None else bn_data.to(device)
    errors, losses = [], []
    for value in t:
        buffers = _recompute_batch_norm(curve, value, bn_data, batch_size)
        curve.template.eval()
        point = curve.parameters_at(value)
        wrong, total = 0, 0.0
        for begin in range(0, len(X), batch_size):
            outputs = functional_call(curve.template, {**point, **buffers}, (X[begin : begin + batch_size],))
            target = y[begin : begin + batch_size]
            wrong += (outputs.argmax(1) != target).sum().item()
            total += loss_fn(outputs, target).item()
        errors.append(100.0 * wrong / len(X))
        losses.append(total / len(X))
    return CurveProfile(np.asarray(t, dtype=float), np.asarray(errors), np.asarray(losses))


def mc_score(values: Sequence[float], include_endpoints: bool = False) -> tuple[float, int]:
    """Return ``(mc, index of t*)`` for a profile ``values`` over t from 0 to 1.

    ``mc = (v[0] + v[-1]) / 2 - v[t*]`` where ``t*`` maximises
    ``|(v[0] + v[-1]) / 2 - v[t]|``. By default only interior points compete
    for ``t*``. With ``include_endpoints=True`` the endpoints compete too, as
    in the authors' code; then a mere difference between the endpoints'
    values shows up as a barrier of half that difference.
    """
    check_bool(include_endpoints, "include_endpoints", "mc_score()")
    try:
        values = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise parameter_error("mc_score()", "values", "a 1D profile of at least 3 numbers", values) from None
    if values.ndim != 1 or len(values) < 3:
        raise ParameterError(
            f"mc_score(): 'values' must be a 1D profile with at least 3 points. Got shape {values.shape}."
        )
    reference = 0.5 * (values[0] + values[-1])
    candidates = np.arange(len(values)) if include_endpoints else np.arange(1, len(values) - 1)
    deviations = np.abs(reference - values[candidates])
    best = int(candidates[int(np.argmax(deviations))])
    return float(reference - values[best]), best


@dataclass
class ConnectivityResult:
    """Mode connectivity of one pair of models.

    Attributes
    ----------
    mc : float
        On 0-1 error in percent (range [-100, 100]); negative means a barrier.
    mc_loss : float
        The same score on the loss.
    t_star : float
        The t that defines ``mc``.
    profile : CurveProfile
        The trained curve's profile.
    linear_mc : float
        ``mc`` of the straight line between the models (untrained baseline).
    linear_profile : CurveProfile
    """

    mc: float
    mc_loss: float
    t_star: float
    profile: CurveProfile
    linear_mc: float = math.nan
    linear_profile: CurveProfile | None = None
    settings: dict = field(default_factory=dict)


def mode_connectivity(
    model_a: nn.Module,
    model_b: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    t: Sequence[float] = DEFAULT_T,
    include_endpoints: bool = False,
    linear_baseline: bool = True,
    **fit_options,
) -> ConnectivityResult:
    """Train a curve between two models and score it.

    Parameters
    ----------
    model_a, model_b : torch.nn.Module
        Trained models of one architecture.
    X, y : torch.Tensor
        Training set, used to fit the curve, recompute BatchNorm statistics
        and evaluate the 0-1 error (as in the paper: mc uses training error).
    t : sequence of float
        Evaluation points, starting at 0 and ending at 1.
    include_endpoints : bool
        Let the endpoints compete for ``t*`` (the authors' code does).
    linear_baseline : bool
        Also score the untrained straight line.
    **fit_options
        Passed to :func:`fit_curve` (``epochs``, ``lr``, ``num_bends``, ...).

    Returns
    -------
    ConnectivityResult
    """
    func = "mode_connectivity()"
    check_module(model_a, "model_a", func)
    check_module(model_b, "model_b", func)
    _check_training_set(X, y, func)
    t = _check_t(t, func)
    check_bool(include_endpoints, "include_endpoints", func)
    check_bool(linear_baseline, "linear_baseline", func)
    curve = fit_curve(model_a, model_b, X, y, **fit_options)
    profile = evaluate_curve(curve, X, y, t)
    mc, best = mc_score(profile.error, include_endpoints)
    mc_loss, _ = mc_score(profile.loss, include_endpoints)
    result = ConnectivityResult(mc=mc, mc_loss=mc_loss, t_star=t[best], profile=profile, settings=fit_options)
    if linear_baseline:
        line = BezierCurve(model_a, model_b, num_bends=0).to(X.device)
        result.linear_profile = evaluate_curve(line, X, y, t)
        result.linear_mc, _ = mc_score(result.linear_profile.error, include_endpoints)
    return result


@dataclass
class PairsResult:
    """Mode connectivity averaged over several seed pairs.

    Attributes
    ----------
    mc : float
        Mean of the pairs' mc (percent of training error).
    mc_std : float
        Sample standard deviation over pairs (NaN for one pair).
    pairs : list of tuple of int
        Model indices of each pair.
    results : list of ConnectivityResult
    """

    mc: float
    mc_std: float
    pairs: list
    results: list


def mode_connectivity_pairs(
    models: Sequence[nn.Module],
    X: torch.Tensor,
    y: torch.Tensor,
    pairs: Sequence[tuple[int, int]] | None = None,
    **options,
) -> PairsResult:
    """Run :func:`mode_connectivity` on several pairs of models and average mc.

    Parameters
    ----------
    models : sequence of torch.nn.Module
        Two or more trained models of one architecture.
    X, y : torch.Tensor
        Training set.
    pairs : sequence of (int, int), optional
        Index pairs into ``models``; default every pair ``(i, j)``, ``i < j``.
    **options
        Passed to :func:`mode_connectivity` (``epochs``, ``lr``, ``seed``, ...).
    """
    import itertools

    func = "mode_connectivity_pairs()"
    if isinstance(models, (str, bytes)) or not isinstance(models, Sequence) or len(models) < 2:
        raise parameter_error(func, "models", "a list of at least 2 torch.nn.Module objects", models)
    for index, model in enumerate(models):
        check_module(model, f"models[{index}]", func)
    _check_training_set(X, y, func)
    if pairs is not None and (isinstance(pairs, (str, bytes)) or not isinstance(pairs, Sequence)):
        raise parameter_error(func, "pairs", "a list of (int, int) index pairs or None", pairs)
    pairs = list(pairs) if pairs is not None else list(itertools.combinations(range(len(models)), 2))
    for pair in pairs:
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2
                and all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in pair)):
            raise parameter_error(func, "pairs", "a list of (int, int) index pairs or None", pairs)
    for a, b in pairs:
        if not (0 <= a < len(models) and 0 <= b < len(models)) or a == b:
            raise ParameterError(
                f"The 'pairs' parameter of mode_connectivity_pairs() must hold distinct indices in "
                f"[0, {len(models) - 1}]. Got {(a, b)!r} instead."
            )
    results = [mode_connectivity(models[a], models[b], X, y, **options) for a, b in pairs]
    values = np.array([r.mc for r in results])
    spread = float(values.std(ddof=1)) if len(values) > 1 else math.nan
    return PairsResult(float(values.mean()), spread, pairs, results)
