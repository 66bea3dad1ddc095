"""Diagnose a researcher's own trained models: their phase and the advice of Yang et al. (2021).

:func:`diagnose` takes two or more trained models of one architecture and
their training data, measures the training loss, the Hessian, mode
connectivity, CKA and the L2 distance, and returns a :class:`Diagnosis`. The
diagnosis contains the metrics with their spread, the phase, and the paper's
operational advice (its Section 5 and Appendix D.3):

- negative mode connectivity: the data quality is low or the model is
  small, and training to zero loss may hurt test accuracy;
- large positive mode connectivity, a large Hessian or a high training
  loss: training has not converged to the bottom of a local minimum;
- low CKA with mc near zero and a small Hessian: the data lack signal, and
  more high-quality data should help.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from lscape.metrics.connectivity import DEFAULT_T, BezierCurve, CurveProfile, evaluate_curve, fit_curve, mc_score
from lscape.metrics.distance import l2_distance
from lscape.metrics.hessian import fixed_batch, hessian_eigenvalues, hessian_trace
from lscape.metrics.similarity import mixup_inputs, model_cka
from lscape.phases import PHASE_DESCRIPTIONS, phase_labels
from lscape.validation import ParameterError, check_bool, check_float, check_int, parameter_error

# Defaults for one set of models, where no grid gives a range to be relative
# to. Each is read off the authors' ResNet18 / CIFAR-10 grid
# (lscape.reference.load("yang2021_fig3")) as labelled by lscape.phases.classify.
MC_TOLERANCE = 2.0  # points of training error: phase-IV cells stay within +-1.7, barriers reach 2.5-30
LOSS_TOLERANCE = 0.05  # nats: flat phases mostly end below 0.02 and phase II starts at 0.07
CKA_THRESHOLD = 0.65  # the IV-A/IV-B threshold found on that grid (0.647)

UNITS = {
    "train_loss": "loss units", "train_error": "%", "hessian_eigenvalue": "1", "hessian_trace": "1",
    "mc": "% (points of training error)", "mc_loss": "loss units", "cka": "1", "l2_distance": "1",
}


@dataclass(frozen=True)
class Advice:
    """One piece of operational advice and the measurement that triggered it.

    Attributes
    ----------
    trigger : str
        ``"poorly_connected"``, ``"not_converged"``, ``"more_data"`` or ``"globally_nice"``.
    message : str
        What the measurement suggests doing.
    evidence : str
        The numbers behind it.
    """

    trigger: str
    message: str
    evidence: str


@dataclass
class Diagnosis:
    """The result of :func:`diagnose`.

    Attributes
    ----------
    metrics : pandas.DataFrame
        One row per metric (``train_loss``, ``train_error``,
        ``hessian_eigenvalue``, ``hessian_trace``, ``mc``, ``mc_loss``,
        ``cka``, ``l2_distance``) with columns ``mean``, ``std`` (over models
        or pairs; NaN from a single value), ``count`` and ``units``.
    phase : str
        ``"I"``, ``"II"``, ``"III"``, ``"IV-A"`` or ``"IV-B"``.
    advice : list of Advice
        ``"globally_nice"`` appears only when no other advice applies.
    profiles : dict
        Pair label ``"i-j"`` (model indices) to the trained curve's
        :class:`~lscape.metrics.CurveProfile`.
    linear_profiles : dict
        The same for the straight line between the two models.
    flags : dict
        The yes/no properties behind the phase: ``sharp``, ``poorly_connected``,
        ``similar``, ``large_hessian`` (None when not judged).
    settings : dict
        Thresholds and measurement settings used.
    """

    metrics: pd.DataFrame
    phase: str
    advice: list[Advice]
    profiles: dict = field(default_factory=dict)
    linear_profiles: dict = field(default_factory=dict)
    flags: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    @property
    def triggers(self) -> list[str]:
        """Return the triggers of the advice, in order."""
        return [item.trigger for item in self.advice]

    def table(self) -> pd.DataFrame:
        """Return the metrics table with a "mean +- std" column, rounded for display."""
        table = self.metrics.copy()
        table["value"] = [
            f"{row['mean']:.4g}" + ("" if not np.isfinite(row["std"]) else f" +- {row['std']:.2g}")
            for _, row in table.iterrows()
        ]
        return table[["value", "count", "units"]]

    def __str__(self) -> str:
        lines = [f"Phase {self.phase}: {PHASE_DESCRIPTIONS[self.phase]}", self.table().to_string(), ""]
        lines += [f"[{item.trigger}] {item.message} ({item.evidence})" for item in self.advice]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        advice = "".join(
            f"<li><b>{item.trigger}</b>: {item.message} <i>({item.evidence})</i></li>" for item in self.advice
        )
        return (
            f"<p><b>Phase {self.phase}</b>: {PHASE_DESCRIPTIONS[self.phase]}</p>"
            f"{self.table().to_html()}<ul>{advice}</ul>"
        )

    def plot_curves(self, ax=None):
        """Draw the training error along each trained curve (solid) and straight line (dashed)."""
        import matplotlib.pyplot as plt

        ax = ax if ax is not None else plt.subplots(figsize=(4.5, 3.2), layout="constrained")[1]
        for index, (pair, profile) in enumerate(self.profiles.items()):
            color = f"C{index % 10}"
            ax.plot(profile.t, profile.error, "o-", color=color, label=f"curve {pair}")
            line = self.linear_profiles.get(pair)
            if line is not None:
                ax.plot(line.t, line.error, "--", color=color, alpha=0.6, label=f"line {pair}")
        ax.set_xlabel("t along the path between the models")
        ax.set_ylabel("training error (%)")
        ax.set_title(f"mc = {self.metrics.loc['mc', 'mean']:.2f} points; phase {self.phase}", fontsize=9)
        ax.legend(fontsize=7)
        return ax

    def show(self):
        """Display the table, the advice and the curve profile in a notebook."""
        import matplotlib.pyplot as plt
        from IPython.display import HTML, display

        display(HTML(self._repr_html_()))
        self.plot_curves()
        plt.show()


def _collect(train_data, func: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Return all of ``train_data`` as one ``(X, y)`` pair of tensors."""
    if isinstance(train_data, (tuple, list)) and len(train_data) == 2 and all(
        isinstance(part, torch.Tensor) for part in train_data
    ):
        return train_data[0], train_data[1]
    expected = "an (X, y) pair of tensors or an iterable of (X, y) batches, such as a DataLoader"
    if not isinstance(train_data, Iterable) or isinstance(train_data, (str, bytes)):
        raise parameter_error(func, "train_data", expected, train_data)
    inputs, targets = [], []
    for batch in train_data:
        if not (isinstance(batch, (tuple, list)) and len(batch) >= 2 and isinstance(batch[0], torch.Tensor)):
            raise parameter_error(func, "train_data", expected, f"a batch of type {type(batch).__name__}")
        inputs.append(batch[0])
        targets.append(torch.as_tensor(batch[1]))
    if not inputs:
        raise parameter_error(func, "train_data", expected, "an empty iterable")
    return torch.cat(inputs), torch.cat(targets)


def _check_models(models, func: str) -> list[nn.Module]:
    expected = "a list of at least 2 torch.nn.Module objects of one architecture"
    if isinstance(models, (str, bytes)) or not isinstance(models, Sequence) or len(models) < 2:
        raise parameter_error(func, "models", expected, models)
    for index, model in enumerate(models):
        if not isinstance(model, nn.Module):
            raise parameter_error(func, f"models[{index}]", "a torch.nn.Module", model)
    shapes = [[(name, tuple(p.shape)) for name, p in model.named_parameters()] for model in models]
    for index, layout in enumerate(shapes[1:], start=1):
        if layout != shapes[0]:
            raise ParameterError(
                f"{func}: models[{index}] has other parameter names or shapes than models[0]; all models "
                "must share one architecture (for example the same network trained from different seeds)."
            )
    return list(models)


@torch.no_grad()
def _evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, loss_fn, batch_size: int = 1000):
    """Return ``(mean loss, 0-1 error in percent)`` of ``model`` in eval mode."""
    training = model.training
    model.eval()
    total, wrong = 0.0, 0
    try:
        for begin in range(0, len(X), batch_size):
            outputs = model(X[begin : begin + batch_size])
            target = y[begin : begin + batch_size]
            total += float(loss_fn(outputs, target)) * len(target)
            wrong += int((outputs.argmax(1) != target).sum())
    finally:
        model.train(training)
    return total / len(X), 100.0 * wrong / len(X)


def _summary(values: Sequence[float], units: str) -> dict:
    values = np.asarray([v for v in values if np.isfinite(v)], dtype=float)
    return {
        "mean": float(values.mean()) if values.size else math.nan,
        "std": float(values.std(ddof=1)) if values.size > 1 else math.nan,
        "count": int(values.size),
        "units": units,
    }


def advise(
    metrics: pd.DataFrame,
    mc_tolerance: float = MC_TOLERANCE,
    loss_tolerance: float = LOSS_TOLERANCE,
    cka_threshold: float = CKA_THRESHOLD,
    hessian_threshold: float | None = None,
) -> tuple[str, list[Advice], dict]:
    """Turn measured metrics into a phase, the paper's advice and the flags behind them.

    The models are locally sharp when the training loss exceeds
    ``loss_tolerance``, the top Hessian eigenvalue exceeds
    ``hessian_threshold`` (when given) or mc exceeds ``mc_tolerance``. They
    are poorly connected when ``mc < -mc_tolerance``, and similar when CKA
    reaches ``cka_threshold``. :func:`lscape.phases.phase_labels` turns
    these three properties into the phase.

    Parameters
    ----------
    metrics : pandas.DataFrame
        Rows ``train_loss``, ``hessian_eigenvalue``, ``mc`` and ``cka`` with a
        ``mean`` column (see :attr:`Diagnosis.metrics`); ``std`` is optional.
    mc_tolerance, loss_tolerance, cka_threshold, hessian_threshold
        See :func:`diagnose`.

    Returns
    -------
    tuple
        ``(phase, advice, flags)``.
    """
    func = "advise()"
    needed = ["train_loss", "hessian_eigenvalue", "mc", "cka"]
    if (not isinstance(metrics, pd.DataFrame) or "mean" not in metrics.columns
            or any(name not in metrics.index for name in needed)):
        raise parameter_error(func, "metrics", f"a pandas.DataFrame with a 'mean' column and the rows {needed}",
                              metrics, "Pass Diagnosis.metrics.")
    mc_tolerance = check_float(mc_tolerance, "mc_tolerance", func, 0.0)
    loss_tolerance = check_float(loss_tolerance, "loss_tolerance", func, 0.0)
    cka_threshold = check_float(cka_threshold, "cka_threshold", func, 0.0, 1.0)
    if hessian_threshold is not None:
        hessian_threshold = check_float(hessian_threshold, "hessian_threshold", func, 0.0)
    mean = metrics["mean"]
    mc, loss, cka, eigenvalue = (float(mean[name]) for name in ("mc", "train_loss", "cka", "hessian_eigenvalue"))
    large_hessian = None if hessian_threshold is None else bool(eigenvalue > hessian_threshold)
    # The paper reads clearly positive mc as endpoints that have not reached a
    # minimum, so here it counts as locally sharp (phase II) like a high loss.
    flags = {
        "sharp": bool(loss > loss_tolerance or bool(large_hessian) or mc > mc_tolerance),
        "poorly_connected": bool(mc < -mc_tolerance),
        "positive_mc": bool(mc > mc_tolerance),
        "similar": bool(cka >= cka_threshold),
        "large_hessian": large_hessian,
    }
    phase = str(phase_labels(np.array([flags["sharp"]]), np.array([flags["poorly_connected"]]),
                             np.array([flags["similar"]]))[0])

    advice = []
    if flags["poorly_connected"]:
        advice.append(Advice(
            "poorly_connected",
            "The landscape is poorly connected, which the paper links to low-quality data or a model that is "
            "too small. Training to zero loss may hurt test accuracy here. Widen the model or clean the labels, "
            "or explore first (larger learning rate or smaller batches, then decay) before fitting to zero loss.",
            f"mc = {mc:.2f} < -{mc_tolerance:g} points: a barrier along the trained curve",
        ))
    reasons = []
    if flags["positive_mc"]:
        reasons.append(f"mc = {mc:.2f} > {mc_tolerance:g} points, so the curve finds points better than its endpoints")
    if large_hessian:
        reasons.append(f"top Hessian eigenvalue {eigenvalue:.3g} > {hessian_threshold:g}")
    if loss > loss_tolerance:
        reasons.append(f"training loss {loss:.3g} > {loss_tolerance:g}")
    if reasons:
        message = ("Training has not converged to the bottom of a local minimum. Train longer or at a lower "
                   "temperature (larger batches, learning-rate decay).")
        if flags["poorly_connected"]:
            message += (" Because the landscape is also poorly connected, a lower training loss may not raise "
                        "test accuracy; improve connectivity (width, data quality) first.")
        advice.append(Advice("not_converged", message, "; ".join(reasons)))
    if not flags["similar"] and abs(mc) <= mc_tolerance and not flags["sharp"]:
        advice.append(Advice(
            "more_data",
            "The models are dissimilar although the landscape is well connected and locally flat: the data "
            "lack signal. More high-quality training data should help more than a larger model.",
            f"CKA = {cka:.3f} < {cka_threshold:g} with |mc| <= {mc_tolerance:g} and a flat landscape",
        ))
    if phase == "IV-B" and not advice:
        advice.append(Advice(
            "globally_nice",
            "Well connected, locally flat and similar models: the phase with the best test accuracy in the "
            "paper. These metrics suggest no change.",
            f"mc = {mc:.2f}, CKA = {cka:.3f}, training loss {loss:.3g}",
        ))
    return phase, advice, flags


def diagnose(
    models: Sequence[nn.Module],
    train_data,
    loss_fn: Callable | None = None,
    *,
    mc_tolerance: float = MC_TOLERANCE,
    loss_tolerance: float = LOSS_TOLERANCE,
    cka_threshold: float = CKA_THRESHOLD,
    hessian_threshold: float | None = None,
    hessian_samples: int = 200,
    hessian_max_iter: int = 100,
    cka_samples: int = 640,
    cka_alpha: float = 16.0,
    curve_pairs: int | None = None,
    curve_epochs: int = 50,
    curve_lr: float = 0.01,
    curve_batch_size: int = 128,
    t: Sequence[float] = DEFAULT_T,
    seed: int = 0,
    progress: bool = False,
) -> Diagnosis:
    """Measure two or more trained models of one architecture and diagnose their loss landscape.

    Each model gets its training loss and error, and the top Hessian
    eigenvalue and trace on a fixed batch of ``hessian_samples`` training
    examples. Each pair gets CKA on ``cka_samples`` mixup inputs and the L2
    distance. The first ``curve_pairs`` pairs get a trained quadratic Bezier
    curve, scored by mode connectivity on the training error (``mc``, in
    points) and loss (``mc_loss``). The phase and the advice follow from
    :func:`advise`.

    A single set of models has no grid range to compare with, so unlike
    :func:`lscape.phases.classify` the thresholds here are absolute. Their
    defaults come from the authors' ResNet18 / CIFAR-10 grid and are
    estimates for other models and data: set them from your own grid when
    you have one.

    Note:
        Classification only: targets must be class indices of shape ``(n,)``,
        because mode connectivity is scored on the 0-1 error. The models are
        never modified, and BatchNorm statistics along the curve are
        recomputed on the training data.

    Parameters
    ----------
    models : sequence of torch.nn.Module
        At least two trained models with the same parameter names and
        shapes, e.g. one network trained from different seeds.
    train_data : (X, y) or iterable of (X, y)
        The training data, as tensors or a ``DataLoader``: ``X`` of shape
        ``(n, *input_shape)`` and ``y`` of shape ``(n,)``. All of it is
        gathered into memory (curve training and evaluation use all of it).
        A shuffling ``DataLoader`` yields another order on every call, and
        the curve's minibatches, so mc, change with it.
    loss_fn : callable, optional
        ``loss_fn(outputs, y)``, the mean loss over a batch; default
        cross-entropy.
    mc_tolerance : float, default 2.0
        Points of training error: ``mc < -mc_tolerance`` is a barrier and
        ``mc > mc_tolerance`` is clearly positive. In the authors' grid the
        well-connected phase-IV cells stay within +-1.7 points.
    loss_tolerance : float, default 0.05
        Training loss above which the models count as not at a minimum, in
        the units of ``loss_fn``. The default is for cross-entropy in nats:
        in the authors' grid the flat phases mostly end below 0.02 and
        phase II starts at 0.07.
    cka_threshold : float, default 0.65
        CKA below which the models count as dissimilar (the IV-A/IV-B
        threshold that :func:`lscape.phases.classify` finds on the authors' grid).
    hessian_threshold : float, optional
        Top eigenvalue above which the Hessian counts as large. Without it
        the Hessian is reported but not judged, because its scale depends
        on the model and data. For SGD with learning rate ``lr`` and
        momentum ``beta`` a quadratic is stable only for eigenvalues below
        ``2 (1 + beta) / lr``; an eigenvalue near that limit is large.
    hessian_samples : int, default 200
    hessian_max_iter : int, default 100
        Hessian-vector products per estimate (tolerance 1e-3).
    cka_samples : int, default 640
    cka_alpha : float, default 16.0
        Mixup coefficient ``Beta(cka_alpha, cka_alpha)``.
    curve_pairs : int, optional
        How many pairs, in the order (0, 1), (0, 2), ..., get a curve;
        default all. At least 1.
    curve_epochs : int, default 50
    curve_lr : float, default 0.01
    curve_batch_size : int, default 128
        SGD settings of curve training (momentum 0.9, weight decay 5e-4).
    t : sequence of float, default (0, 0.25, 0.5, 0.75, 1)
        Points where curves are evaluated.
    seed : int, default 0
        Seeds the Hessian batch and probes, the mixup inputs and curve training.
    progress : bool, default False
        Show ``tqdm`` bars over curve-training epochs.

    Returns
    -------
    Diagnosis

    Raises
    ------
    ParameterError
        If fewer than two models are given, they differ in architecture,
        ``train_data`` is not tensors or batches of them, or a setting is out
        of range.
    NotImplementedError
        If the targets are not class indices.
    """
    func = "diagnose()"
    models = _check_models(models, func)
    if isinstance(train_data, (str, bytes)) or not isinstance(train_data, Iterable):
        raise parameter_error(func, "train_data", "an (X, y) pair of tensors or an iterable of (X, y) batches, "
                              "such as a DataLoader", train_data)
    if loss_fn is not None and not callable(loss_fn):
        raise parameter_error(func, "loss_fn", "a callable loss_fn(outputs, y) or None", loss_fn)
    settings = {
        "mc_tolerance": check_float(mc_tolerance, "mc_tolerance", func, 0.0),
        "loss_tolerance": check_float(loss_tolerance, "loss_tolerance", func, 0.0),
        "cka_threshold": check_float(cka_threshold, "cka_threshold", func, 0.0, 1.0),
        "hessian_threshold": None if hessian_threshold is None else check_float(
            hessian_threshold, "hessian_threshold", func, 0.0),
        "hessian_samples": check_int(hessian_samples, "hessian_samples", func, 1),
        "hessian_max_iter": check_int(hessian_max_iter, "hessian_max_iter", func, 1),
        "cka_samples": check_int(cka_samples, "cka_samples", func, 4),
        "cka_alpha": check_float(cka_alpha, "cka_alpha", func, 0.0, None, closed="neither"),
        "curve_epochs": check_int(curve_epochs, "curve_epochs", func, 0),
        "curve_lr": check_float(curve_lr, "curve_lr", func, 0.0, None, closed="neither"),
        "curve_batch_size": check_int(curve_batch_size, "curve_batch_size", func, 1),
        "seed": check_int(seed, "seed", func, 0),
    }
    check_bool(progress, "progress", func)
    if isinstance(t, (str, bytes)) or not isinstance(t, Sequence):
        raise parameter_error(func, "t", "an increasing list of at least 3 points from 0 to 1", t)
    t = [check_float(value, f"t[{i}]", func, 0.0, 1.0) for i, value in enumerate(t)]
    if len(t) < 3 or t[0] != 0.0 or t[-1] != 1.0 or sorted(t) != t:
        raise parameter_error(func, "t", "an increasing list of at least 3 points from 0 to 1", t)
    pairs = list(itertools.combinations(range(len(models)), 2))
    curve_pairs = len(pairs) if curve_pairs is None else check_int(curve_pairs, "curve_pairs", func, 1, len(pairs))
    settings["curve_pairs"] = curve_pairs

    X, y = _collect(train_data, func)
    if y.dim() != 1 or y.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise NotImplementedError(
            f"{func} supports classification only: targets of shape (n,) holding class indices (an int "
            f"dtype). Got shape {tuple(y.shape)} and dtype {y.dtype}."
        )
    loss_fn = loss_fn or nn.CrossEntropyLoss()

    device = next(models[0].parameters()).device
    X, y = X.to(device), y.to(device)
    values = _measure_models(models, X, y, loss_fn, settings)
    pair_values, profiles, linear_profiles = _measure_pairs(models, pairs, X, y, loss_fn, settings, t, progress)
    values.update(pair_values)

    metrics = pd.DataFrame({name: _summary(values[name], UNITS[name]) for name in UNITS}).T
    metrics[["mean", "std"]] = metrics[["mean", "std"]].astype(float)
    phase, advice, flags = advise(
        metrics, settings["mc_tolerance"], settings["loss_tolerance"], settings["cka_threshold"],
        settings["hessian_threshold"],
    )
    return Diagnosis(metrics, phase, advice, profiles, linear_profiles, flags, settings)


def _measure_models(models, X, y, loss_fn, settings) -> dict[str, list[float]]:
    """Measure training loss, error and the Hessian of every model."""
    values: dict[str, list[float]] = {name: [] for name in ("train_loss", "train_error", "hessian_eigenvalue",
                                                           "hessian_trace")}
    batch = fixed_batch(X, y, min(settings["hessian_samples"], len(X)), settings["seed"])
    common = {"max_iter": settings["hessian_max_iter"], "tol": 1e-3, "seed": settings["seed"]}
    for model in models:
        loss, error = _evaluate(model, X, y, loss_fn)
        values["train_loss"].append(loss)
        values["train_error"].append(error)
        values["hessian_eigenvalue"].append(float(hessian_eigenvalues(model, loss_fn, batch, k=1, **common).eigvals[0]))
        values["hessian_trace"].append(hessian_trace(model, loss_fn, batch, **common).trace)
    return values


def _measure_pairs(models, pairs, X, y, loss_fn, settings, t, progress):
    """Measure CKA and L2 distance of every pair, and mode connectivity of the first ones."""
    values: dict[str, list[float]] = {name: [] for name in ("cka", "l2_distance", "mc", "mc_loss")}
    profiles: dict[str, CurveProfile] = {}
    linear_profiles: dict[str, CurveProfile] = {}
    inputs = mixup_inputs(X.cpu(), settings["cka_samples"], settings["cka_alpha"], settings["seed"]).to(X.device)

    def summed(outputs, target):  # evaluate_curve expects a loss summed over the batch
        return loss_fn(outputs, target) * len(target)

    for index, (a, b) in enumerate(pairs):
        values["cka"].append(model_cka(models[a], models[b], inputs))
        values["l2_distance"].append(l2_distance(models[a], models[b]))
        if index >= settings["curve_pairs"]:
            continue
        curve = fit_curve(
            models[a], models[b], X, y, epochs=settings["curve_epochs"], batch_size=settings["curve_batch_size"],
            lr=settings["curve_lr"], seed=settings["seed"], loss_fn=loss_fn, progress=progress,
        )
        profile = evaluate_curve(curve, X, y, t, loss_fn=summed)
        line = BezierCurve(models[a], models[b], num_bends=0).to(X.device)
        label = f"{a}-{b}"
        profiles[label] = profile
        linear_profiles[label] = evaluate_curve(line, X, y, t, loss_fn=summed)
        values["mc"].append(mc_score(profile.error)[0])
        values["mc_loss"].append(mc_score(profile.loss)[0])
    return values, profiles, linear_profiles


__all__ = ["Advice", "Diagnosis", "advise", "diagnose"]
