"""Phase labels (I, II, III, IV-A, IV-B) for every cell of a grid, from its measurements."""

from __future__ import annotations

import numpy as np
import xarray as xr

from lscape.validation import ParameterError, check_choice, check_float

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


def _cell_means(results: xr.Dataset) -> xr.Dataset:
    dims = [d for d in ("seed", "pair") if d in results.dims]
    return results.mean(dim=dims, skipna=True) if dims else results


def classify(
    results: xr.Dataset,
    loss_threshold: float | None = None,
    mc_tolerance: float = 2.0,
    cka_threshold: float | None = None,
    sharpness: str = "train_loss",
) -> xr.DataArray:
    """Label each cell with a phase of Yang et al. (2021).

    The rule follows the paper's two transitions and its CKA crossover:

    1. Locally sharp vs flat: a cell is sharp when ``sharpness`` (mean over
       seeds) exceeds ``loss_threshold``. The paper finds the training loss
       falls more than tenfold across this transition, so the default
       threshold is the geometric mean of the grid's smallest and largest
       value: the middle of the range on a log scale.
    2. Globally poorly vs well connected: ``mc < -mc_tolerance`` (a barrier
       along the trained curve) is poorly connected; otherwise well
       connected. ``mc`` is in percentage points of training error, so the
       default of 2 treats barriers below 2 points as noise.
    3. Phase IV splits at ``cka_threshold``: IV-B (similar models) when the
       mean CKA reaches it, else IV-A. The default is the midpoint of the CKA
       range among phase-IV cells.

    Parameters
    ----------
    results : xarray.Dataset
        A grid from :func:`lscape.grid.run_grid` (or one with the same
        variables: ``mc``, ``cka`` and ``sharpness``; ``diverged`` optional).
    loss_threshold : float, optional
        Sharp/flat boundary in the units of ``sharpness``.
    mc_tolerance : float, default 2.0
        Non-negative; barriers smaller than this count as connected.
    cka_threshold : float, optional
        IV-A/IV-B boundary in [0, 1].
    sharpness : {"train_loss", "hessian_trace", "hessian_eigenvalue"}
        Which measurement decides sharp vs flat.

    Returns
    -------
    xarray.DataArray
        Strings over the grid's temperature and load coordinates: a phase,
        ``"NC"`` where any run diverged, or ``""`` where data is missing.
        ``attrs`` record the thresholds used.
    """
    func = "classify()"
    check_choice(sharpness, "sharpness", func, ("train_loss", "hessian_trace", "hessian_eigenvalue"))
    mc_tolerance = check_float(mc_tolerance, "mc_tolerance", func, 0.0)
    missing = [name for name in (sharpness, "mc", "cka") if name not in results]
    if missing:
        raise ParameterError(f"{func}: 'results' lacks the variable(s) {missing}; pass a grid from run_grid().")

    means = _cell_means(results)
    level = means[sharpness].values
    mc = means["mc"].values
    similarity = means["cka"].values
    positive = level[np.isfinite(level) & (level > 0)]
    if loss_threshold is None:
        loss_threshold = float(np.sqrt(positive.min() * positive.max())) if positive.size else np.nan
    else:
        loss_threshold = check_float(loss_threshold, "loss_threshold", func, 0.0)

    sharp = level > loss_threshold
    connected = mc >= -mc_tolerance
    flat_connected = ~sharp & connected & np.isfinite(similarity)
    if cka_threshold is None:
        values = similarity[flat_connected]
        cka_threshold = float(0.5 * (values.min() + values.max())) if values.size else np.nan
    else:
        cka_threshold = check_float(cka_threshold, "cka_threshold", func, 0.0, 1.0)

    labels = np.full(level.shape, "", dtype=object)
    labels[sharp & ~connected] = "I"
    labels[sharp & connected] = "II"
    labels[~sharp & ~connected] = "III"
    labels[~sharp & connected] = "IV-A"
    labels[~sharp & connected & (similarity >= cka_threshold)] = "IV-B"
    unknown = ~np.isfinite(level) | ~np.isfinite(mc)
    labels[unknown] = ""
    if "diverged" in results:
        diverged = results["diverged"].max("seed").values > 0 if "seed" in results["diverged"].dims else results["diverged"].values > 0
        labels[diverged] = NOT_CONVERGED

    dims = means[sharpness].dims
    phase = xr.DataArray(labels.astype(str), dims=dims, coords={d: means[d] for d in dims}, name="phase")
    phase.attrs.update({
        "sharpness": sharpness, "loss_threshold": loss_threshold,
        "mc_tolerance": mc_tolerance, "cka_threshold": cka_threshold,
    })
    return phase
