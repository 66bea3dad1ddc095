"""Phase labels (I, II, III, IV-A, IV-B) for every cell of a grid, from its measurements.

The phases are those of Yang et al. (2021), "Taxonomizing local versus global
structure in neural network loss landscapes": locally sharp or flat (training
loss and Hessian), globally poorly or well connected (mode connectivity), and
phase IV split by the similarity of trained models (CKA).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from lscape.validation import (
    ParameterError, check_choice, check_data_array, check_dataset, check_float, check_int, parameter_error,
)

PHASES = ("I", "II", "III", "IV-A", "IV-B")
NOT_CONVERGED = "NC"
PHASE_DESCRIPTIONS = {
    "I": "globally poorly connected, locally sharp",
    "II": "globally well connected, locally sharp (training has not reached a minimum)",
    "III": "globally poorly connected, locally flat",
    "IV-A": "globally well connected, locally flat, dissimilar models",
    "IV-B": "globally well connected, locally flat, similar models (globally nice)",
    "NC": "not converged (training loss became NaN or infinite)",
}
LOCALLY_SHARP = frozenset({"I", "II"})
POORLY_CONNECTED = frozenset({"I", "III"})
SHARPNESS_VARIABLES = ("train_loss", "hessian_trace", "hessian_eigenvalue")
DEFAULT_SHARPNESS = ("train_loss", "hessian_trace")
MC_VARIABLES = ("mc", "mc_loss")

# The paper reports a more than tenfold fall of the training loss across the
# sharp/flat transition. A sharpness variable whose cell means span less than
# this factor probably does not cross it, and a split relative to its range
# is then arbitrary.
MIN_SHARPNESS_RATIO = 10.0


class PhaseWarning(UserWarning):
    """A phase rule was applied to a grid that may not show the transition it relies on."""


@dataclass(frozen=True)
class Thresholds:
    """The numbers that turn cell means into phase labels.

    Attributes
    ----------
    sharpness : tuple of str
        Variables whose levels decide locally sharp vs flat.
    boundaries : dict
        Per sharpness variable, the sharp/flat boundary in that variable's units.
    log_spans : dict
        Per sharpness variable, the natural log of the ratio of the largest to
        the smallest positive cell mean. It scales each variable's distance
        from its boundary when several are combined.
    floors : dict
        Per sharpness variable, the smallest positive cell mean; smaller
        values (zero or negative Hessian estimates) are raised to it.
    mc_variable : str
        ``"mc"`` (training 0-1 error, percentage points) or ``"mc_loss"``.
    mc_tolerance : float
        Cells with ``mc < -mc_tolerance`` are poorly connected.
    cka_threshold : float
        Phase-IV cells with ``cka >= cka_threshold`` are IV-B.
    """

    sharpness: tuple[str, ...]
    boundaries: dict = field(default_factory=dict)
    log_spans: dict = field(default_factory=dict)
    floors: dict = field(default_factory=dict)
    mc_variable: str = "mc"
    mc_tolerance: float = float("nan")
    cka_threshold: float = float("nan")

    def __post_init__(self):
        func = "Thresholds()"
        object.__setattr__(self, "sharpness", _check_sharpness(self.sharpness, func))
        check_choice(self.mc_variable, "mc_variable", func, MC_VARIABLES)
        for name in ("boundaries", "log_spans", "floors"):
            if not isinstance(getattr(self, name), dict):
                raise parameter_error(func, name, "a dict from sharpness variable to number", getattr(self, name))

    def as_attrs(self) -> dict:
        """Return the thresholds as flat netCDF-friendly attributes."""
        attrs = {
            "sharpness": ",".join(self.sharpness),
            "mc_variable": self.mc_variable,
            "mc_tolerance": float(self.mc_tolerance),
            "cka_threshold": float(self.cka_threshold),
        }
        attrs.update({f"{name}_threshold": float(value) for name, value in self.boundaries.items()})
        if self.sharpness == ("train_loss",):
            attrs["loss_threshold"] = float(self.boundaries["train_loss"])
        return attrs


def phase_labels(sharp: np.ndarray, poor: np.ndarray, similar: np.ndarray) -> np.ndarray:
    """Combine the three yes/no properties of the taxonomy into labels.

    Parameters
    ----------
    sharp, poor, similar : numpy.ndarray of bool
        Locally sharp, globally poorly connected, and (for phase IV) similar
        models; all of one shape.

    Returns
    -------
    numpy.ndarray of object
        ``"I"`` sharp and poorly connected, ``"II"`` sharp and well connected,
        ``"III"`` flat and poorly connected, ``"IV-A"``/``"IV-B"`` flat, well
        connected, dissimilar/similar.
    """
    func = "phase_labels()"
    arrays = {}
    for name, value in (("sharp", sharp), ("poor", poor), ("similar", similar)):
        array = None if isinstance(value, (str, bytes)) else np.asarray(value)
        if array is None or array.dtype != bool:
            raise parameter_error(func, name, "a numpy.ndarray of bool", value)
        arrays[name] = array
    if not arrays["sharp"].shape == arrays["poor"].shape == arrays["similar"].shape:
        raise parameter_error(func, "similar", f"a bool array of the shape of 'sharp', {arrays['sharp'].shape}",
                              similar, f"'poor' has shape {arrays['poor'].shape}.")
    sharp, poor, similar = arrays["sharp"], arrays["poor"], arrays["similar"]
    labels = np.empty(sharp.shape, dtype=object)
    labels[sharp & poor] = "I"
    labels[sharp & ~poor] = "II"
    labels[~sharp & poor] = "III"
    labels[~sharp & ~poor & ~similar] = "IV-A"
    labels[~sharp & ~poor & similar] = "IV-B"
    return labels


def is_missing(labels) -> np.ndarray:
    """Return True where a label is missing (NaN or None), elementwise."""
    labels = np.asarray(labels, dtype=object)
    return np.vectorize(lambda label: not isinstance(label, str), otypes=[bool])(labels)


def _cell_means(results: xr.Dataset, names: Sequence[str]) -> dict[str, np.ndarray]:
    """Return the NaN-skipping mean over seeds or pairs of each variable, as plain arrays."""
    means = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells give NaN
        for name in names:
            values = results[name]
            dims = [d for d in ("seed", "pair") if d in values.dims]
            means[name] = (values.mean(dims, skipna=True) if dims else values).values.astype(float)
    return means


def _grid_dims(results: xr.Dataset, name: str) -> tuple[str, ...]:
    return tuple(d for d in results[name].dims if d not in ("seed", "pair"))


def _check_sharpness(sharpness, func: str) -> tuple[str, ...]:
    names = (sharpness,) if isinstance(sharpness, str) else sharpness
    if not isinstance(names, Sequence) or not names:
        raise parameter_error(func, "sharpness", f"a variable name or a list of them from {SHARPNESS_VARIABLES}",
                              sharpness)
    for index, name in enumerate(names):
        check_choice(name, f"sharpness[{index}]" if not isinstance(sharpness, str) else "sharpness", func,
                     SHARPNESS_VARIABLES)
    if len(set(names)) != len(names):
        raise parameter_error(func, "sharpness", "a list without repeated names", sharpness)
    return tuple(names)


def _sharpness_thresholds(means: dict, sharpness: tuple[str, ...], sharp_level: float,
                          loss_threshold: float | None) -> tuple[dict, dict, dict, list]:
    """Place each variable's boundary at ``sharp_level`` of its log range, unless given.

    Also return the variables whose range is too narrow for a relative
    boundary to mean much (see ``MIN_SHARPNESS_RATIO``).
    """
    boundaries, spans, floors, narrow = {}, {}, {}, []
    for name in sharpness:
        values = means[name]
        positive = values[np.isfinite(values) & (values > 0)]
        if not positive.size:
            boundaries[name], spans[name], floors[name] = np.nan, np.nan, np.nan
            continue
        low, high = float(positive.min()), float(positive.max())
        floors[name] = low
        spans[name] = float(np.log(high / low)) if high > low else 1.0
        boundaries[name] = float(np.exp(np.log(low) + sharp_level * np.log(high / low)))
        if high / low < MIN_SHARPNESS_RATIO:
            narrow.append((name, high / low))
    if loss_threshold is not None:
        boundaries[sharpness[0]] = loss_threshold
        narrow = []
    return boundaries, spans, floors, narrow


def _warn_narrow(narrow: list, func: str) -> None:
    for name, ratio in narrow:
        warnings.warn(
            f"{func}: the cell means of {name!r} span only a factor {ratio:.3g} (less than "
            f"{MIN_SHARPNESS_RATIO:g}), so the grid may not cross the sharp/flat transition and the "
            "split at the middle of its range may be arbitrary. Pass 'loss_threshold' to set the "
            "boundary in the variable's units.",
            PhaseWarning, stacklevel=3,
        )


def _sharp(means: dict, thresholds: Thresholds) -> np.ndarray:
    """Return the combined sharpness score: positive means locally sharp, NaN where unknown.

    Each variable contributes ``log(value / boundary) / log_span``, its signed
    distance from the boundary as a share of the grid's log range, and the
    score is the mean over variables. With one variable it is positive
    exactly when the value exceeds the boundary.
    """
    parts = []
    for name in thresholds.sharpness:
        values = means[name]
        with np.errstate(invalid="ignore", divide="ignore"):
            raised = np.where(np.isfinite(values), np.maximum(values, thresholds.floors[name]), np.nan)
            parts.append(np.log(raised / thresholds.boundaries[name]) / thresholds.log_spans[name])
    return np.mean(parts, axis=0)


def _labels(means: dict, thresholds: Thresholds) -> np.ndarray:
    """Apply fixed thresholds to cell means; NaN where a needed mean is missing."""
    score = _sharp(means, thresholds)
    mc = means[thresholds.mc_variable]
    cka = means["cka"]
    with np.errstate(invalid="ignore"):
        sharp = score > 0
        poor = mc < -thresholds.mc_tolerance
        similar = cka >= thresholds.cka_threshold
    labels = phase_labels(sharp, poor, similar)
    unknown = ~np.isfinite(score) | ~np.isfinite(mc) | (~sharp & ~poor & ~np.isfinite(cka))
    labels[unknown] = np.nan
    return labels


def _not_converged(results: xr.Dataset, dims: tuple[str, ...]) -> np.ndarray | None:
    if "diverged" not in results:
        return None
    diverged = results["diverged"]
    if "seed" in diverged.dims:
        diverged = diverged.max("seed")
    return diverged.transpose(*dims).values > 0


def _thresholds(results: xr.Dataset, loss_threshold, mc_tolerance, cka_threshold, sharpness,
                sharp_level, mc_relative_tolerance, cka_level, mc, func="classify()"):
    """Validate the options and derive every threshold from the grid.

    Returns the :class:`Thresholds`, the cell means, the grid's two
    dimensions and the sharpness variables with a narrow range.
    """
    check_dataset(results, "results", func, "an xarray.Dataset from lscape.grid.run_grid() or lscape.reference.load()")
    sharpness = _check_sharpness(sharpness, func)
    check_choice(mc, "mc", func, MC_VARIABLES)
    sharp_level = check_float(sharp_level, "sharp_level", func, 0.0, 1.0)
    mc_relative_tolerance = check_float(mc_relative_tolerance, "mc_relative_tolerance", func, 0.0, 1.0)
    cka_level = check_float(cka_level, "cka_level", func, 0.0, 1.0)
    if loss_threshold is not None:
        if len(sharpness) != 1:
            raise parameter_error(
                func, "loss_threshold", "None when 'sharpness' names more than one variable", loss_threshold,
                "A boundary in units applies to one variable; pass sharpness='train_loss' with it.",
            )
        loss_threshold = check_float(loss_threshold, "loss_threshold", func, 0.0, None, closed="neither")
    if mc_tolerance is not None:
        mc_tolerance = check_float(mc_tolerance, "mc_tolerance", func, 0.0)
    if cka_threshold is not None:
        cka_threshold = check_float(cka_threshold, "cka_threshold", func, 0.0, 1.0)

    needed = list(sharpness) + [mc, "cka"]
    missing = [name for name in needed if name not in results]
    if missing:
        raise ParameterError(
            f"classify(): 'results' lacks the variable(s) {missing}; pass a grid from "
            "lscape.grid.run_grid() or lscape.reference.load()."
        )
    dims = _grid_dims(results, sharpness[0])
    if len(dims) != 2 or any(_grid_dims(results, name) != dims for name in needed):
        raise ParameterError(
            f"classify(): the variables {needed} must share two grid dimensions (load and temperature) "
            f"besides 'seed' and 'pair'. Got {[list(_grid_dims(results, n)) for n in needed]}."
        )
    means = _cell_means(results, needed)
    nc = _not_converged(results, dims)
    if nc is not None:
        for name in needed:
            means[name] = np.where(nc, np.nan, means[name])

    boundaries, spans, floors, narrow = _sharpness_thresholds(means, sharpness, sharp_level, loss_threshold)
    if mc_tolerance is None:
        finite = np.abs(means[mc][np.isfinite(means[mc])])
        mc_tolerance = float(mc_relative_tolerance * finite.max()) if finite.size else np.nan
    partial = Thresholds(sharpness, boundaries, spans, floors, mc, mc_tolerance, np.nan)
    if cka_threshold is None:
        labels = _labels(means, partial)
        phase_four = np.isin(labels.astype(str), ("IV-A", "IV-B")) & np.isfinite(means["cka"])
        values = means["cka"][phase_four]
        cka_threshold = float(values.min() + cka_level * (values.max() - values.min())) if values.size else np.nan
    thresholds = Thresholds(sharpness, boundaries, spans, floors, mc, mc_tolerance, cka_threshold)
    return thresholds, means, dims, narrow


def _phase(results: xr.Dataset, thresholds: Thresholds, means: dict, dims: tuple, sharp_level: float):
    """Label the cells and wrap the labels in a DataArray with the thresholds as attrs."""
    labels = _labels(means, thresholds)
    nc = _not_converged(results, dims)
    if nc is not None:
        labels[nc] = NOT_CONVERGED
    phase = xr.DataArray(labels, dims=dims, coords={d: results[d].values for d in dims}, name="phase")
    phase.attrs.update(thresholds.as_attrs())
    phase.attrs["sharp_level"] = sharp_level
    phase.encoding["_FillValue"] = ""
    return phase


def classify(
    results: xr.Dataset,
    loss_threshold: float | None = None,
    mc_tolerance: float | None = None,
    cka_threshold: float | None = None,
    sharpness: str | Sequence[str] = DEFAULT_SHARPNESS,
    *,
    sharp_level: float = 0.5,
    mc_relative_tolerance: float = 0.05,
    cka_level: float = 0.5,
    mc: str = "mc",
) -> xr.DataArray:
    """Label each cell of a grid with a phase of Yang et al. (2021).

    The rule follows the paper's two transitions and its CKA crossover, with
    every threshold taken from the grid's own range unless given:

    1. *Locally sharp vs flat.* Each variable in ``sharpness`` gets a
       boundary at ``sharp_level`` of its cell means' range on a log scale
       (default 0.5: the geometric mean of the smallest and largest cell).
       The paper finds the training loss falls more than tenfold and the
       Hessian drops with it across this transition, so the middle of the
       log range separates the two sides when the grid spans both. With
       several variables, each one's signed distance from its boundary, as
       a share of its log range, is averaged, and a positive mean is sharp.
    2. *Globally poorly vs well connected.* ``mc < -mc_tolerance`` is a
       barrier: poorly connected. Near-zero and positive values are well
       connected. A sharp cell with positive mc is phase II: the paper
       attributes its low-loss curve to endpoints that did not reach a
       minimum. The default tolerance is ``mc_relative_tolerance`` (5%)
       of the largest ``|mc|`` in the grid. In the authors' ResNet18 grid
       that is 1.5 percentage points, the size of the scatter of mc among
       the wide, large-batch cells the paper shows as white (about +-1).
       Being relative, it applies unchanged to mc on the 0-1 error (in
       percent) and on the loss (``mc="mc_loss"``, in nats).
    3. *IV-A vs IV-B.* A phase-IV cell is IV-B when its CKA reaches
       ``cka_level`` (default 0.5: the midpoint) of the CKA range among the
       grid's phase-IV cells. The paper describes this as a smooth crossover
       with IV-B holding the most similar models.

    A cell is ``"NC"`` when any of its runs diverged, and missing (NaN) when
    a cell mean the rule needs is NaN (CKA only matters for phase IV).

    Parameters
    ----------
    results : xarray.Dataset
        A grid from :func:`lscape.grid.run_grid`, :func:`lscape.grid.assemble`
        or :func:`lscape.reference.load`: the ``sharpness`` variables over
        ``(temperature, load, seed)``, ``mc`` and ``cka`` over
        ``(temperature, load, pair)``; ``diverged`` is optional.
    loss_threshold : float, optional
        Sharp/flat boundary in the units of ``sharpness``, which must then
        name one variable (e.g. ``sharpness="train_loss"``).
    mc_tolerance : float, optional
        Barrier size below which a cell counts as connected, in the units
        of ``mc`` (non-negative). Overrides ``mc_relative_tolerance``.
    cka_threshold : float, optional
        IV-A/IV-B boundary in [0, 1]. Overrides ``cka_level``.
    sharpness : str or sequence of str, default ("train_loss", "hessian_trace")
        Variables from ``"train_loss"``, ``"hessian_trace"`` and
        ``"hessian_eigenvalue"`` that decide sharp vs flat.
    sharp_level : float, default 0.5
        Position of the sharp/flat boundary within each variable's log range, in [0, 1].
    mc_relative_tolerance : float, default 0.05
        Tolerance as a share of the grid's largest ``|mc|``, in [0, 1].
    cka_level : float, default 0.5
        Position of the IV-A/IV-B boundary within the phase-IV CKA range, in [0, 1].
    mc : {"mc", "mc_loss"}, default "mc"
        Mode connectivity on the 0-1 training error or on the training loss.

    Returns
    -------
    xarray.DataArray
        Object array named ``"phase"`` over the grid's temperature and load
        coordinates holding ``"I"``, ``"II"``, ``"III"``, ``"IV-A"``,
        ``"IV-B"``, ``"NC"``, or ``numpy.nan`` where data is missing (test
        with :func:`is_missing` or ``.isnull()``). Its netCDF encoding sets
        ``_FillValue=""``, so missing labels read back as NaN. ``attrs``
        record every threshold used.

    Raises
    ------
    ParameterError
        If an option is out of range, ``loss_threshold`` is combined with
        several sharpness variables, or ``results`` lacks a needed variable.

    Warns
    -----
    PhaseWarning
        When a sharpness variable spans less than a factor of 10 over the
        grid, so the relative boundary may not mark a real transition.
    """
    thresholds, means, dims, narrow = _thresholds(
        results, loss_threshold, mc_tolerance, cka_threshold, sharpness,
        sharp_level, mc_relative_tolerance, cka_level, mc,
    )
    _warn_narrow(narrow, "classify()")
    return _phase(results, thresholds, means, dims, sharp_level)


def _resample(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap means over the last axis, with the same draws for every variable.

    ``values`` has shape ``(num_variables, *cells, n)``. Each cell uses only
    the runs (or pairs) with finite values in every variable, and draws as
    many of them with replacement. A cell with none gives NaN. Drawing
    runs jointly keeps the training loss and Hessian of one run together.
    """
    finite = np.isfinite(values).all(axis=0)
    count = finite.sum(axis=-1)
    order = np.argsort(~finite, axis=-1, kind="stable")  # usable runs first
    ranked = np.take_along_axis(values, order[None], axis=-1)
    draws = np.floor(rng.random(finite.shape) * np.maximum(count, 1)[..., None]).astype(int)
    sample = np.take_along_axis(ranked, np.broadcast_to(draws, values.shape), axis=-1)
    used = np.arange(values.shape[-1]) < count[..., None]
    total = np.where(used, sample, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def confidence(
    results: xr.Dataset,
    phase: xr.DataArray | None = None,
    num_resamples: int = 200,
    seed: int = 0,
    **classify_options,
) -> xr.DataArray:
    """Estimate how stable each cell's phase is under seed-to-seed variation.

    Each resample draws, independently in every cell and with replacement,
    the runs (jointly for all sharpness variables) and the seed pairs (for
    ``mc`` and for ``cka`` separately) among those with finite values. It
    recomputes the cell means and labels them with the thresholds found on
    the full data. The
    confidence is the share of resamples whose label equals ``phase``.

    Note:
        A cell with one measured pair, such as mc in the authors' grid and
        in lscape grids with ``curve_pairs=1``, keeps that pair's value in
        every resample, so its mc is not varied. The confidence then only
        reflects the spread of the other variables. The thresholds are held
        fixed too, so uncertainty in the grid's range is not included.

    Parameters
    ----------
    results : xarray.Dataset
        The grid passed to :func:`classify`.
    phase : xarray.DataArray, optional
        Labels to score; default ``classify(results, **classify_options)``.
    num_resamples : int, default 200
        Bootstrap resamples. The standard error of a share p is
        ``sqrt(p (1 - p) / num_resamples)``, at most 0.035 for 200.
    seed : int, default 0
        Seeds the resampling.
    **classify_options
        Passed to :func:`classify`; they must be those that produced ``phase``.

    Returns
    -------
    xarray.DataArray
        Shares in [0, 1] named ``"phase_confidence"`` over the grid's
        temperature and load coordinates; NaN where the label is missing or
        ``"NC"`` (a recorded fact, not inferred from thresholds).

    Raises
    ------
    ParameterError
        As :func:`classify`, or if ``num_resamples`` or ``seed`` is invalid.
    """
    func = "confidence()"
    check_dataset(results, "results", func, "an xarray.Dataset from lscape.grid.run_grid() or lscape.reference.load()")
    check_data_array(phase, "phase", func, "an xarray.DataArray from lscape.phases.classify() or None")
    num_resamples = check_int(num_resamples, "num_resamples", func, 1)
    seed = check_int(seed, "seed", func, 0)
    options = {
        "loss_threshold": None, "mc_tolerance": None, "cka_threshold": None, "sharpness": DEFAULT_SHARPNESS,
        "sharp_level": 0.5, "mc_relative_tolerance": 0.05, "cka_level": 0.5, "mc": "mc",
    }
    unknown = sorted(set(classify_options) - set(options))
    if unknown:
        raise ParameterError(f"{func} got unknown classify() option(s) {unknown}. Known: {sorted(options)}.")
    options.update(classify_options)
    thresholds, means, dims, narrow = _thresholds(results, **options, func=func)
    _warn_narrow(narrow, func)
    if phase is None:
        phase = _phase(results, thresholds, means, dims, options["sharp_level"])
    expected = phase.transpose(*dims).values

    # Runs are drawn jointly for all sharpness variables; mc and cka are
    # resampled on their own because mc exists for fewer pairs than cka.
    groups = [list(thresholds.sharpness), [thresholds.mc_variable], ["cka"]]
    stacked = []
    for names in groups:
        arrays = []
        for name in names:
            values = results[name]
            extra = [d for d in values.dims if d not in dims]
            array = values.transpose(*dims, *extra).values.astype(float)
            arrays.append(array if extra else array[..., None])
        stacked.append((names, np.stack(arrays)))
    nc = _not_converged(results, dims)

    rng = np.random.default_rng(seed)
    agree = np.zeros(expected.shape)
    for _ in range(num_resamples):
        means = {}
        for names, values in stacked:
            means.update(zip(names, _resample(values, rng)))
        agree += _labels(means, thresholds) == expected
    share = agree / num_resamples
    share[is_missing(expected)] = np.nan
    if nc is not None:
        share[nc] = np.nan

    result = xr.DataArray(share, dims=dims, coords={d: results[d].values for d in dims}, name="phase_confidence")
    result.attrs.update({"num_resamples": num_resamples, "seed": seed, "long_name": "Share of bootstrap "
                         "resamples over seeds and pairs that give the same phase", "units": "1"})
    return result


__all__ = [
    "DEFAULT_SHARPNESS", "LOCALLY_SHARP", "NOT_CONVERGED", "PHASES", "PHASE_DESCRIPTIONS",
    "POORLY_CONNECTED", "PhaseWarning", "Thresholds", "classify", "confidence", "is_missing", "phase_labels",
]
