"""Published measurements shipped with lscape, loaded as grids in lscape's own ``xarray.Dataset`` form.

``yang2021_fig3``: the ResNet18 / CIFAR-10 grid (15 batch sizes x 14 widths,
5 runs per cell, learning-rate decay) published with the official code of
Yang et al. (2021), "Taxonomizing local versus global structure in neural
network loss landscapes" (repository nsfzyzz/loss_landscape_taxonomy, MIT
license). The CSV files and their README sit in ``lscape/reference/yang2021_fig3/``.
"""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pandas as pd
import xarray as xr

from lscape.metrics.connectivity import mc_score
from lscape.validation import check_bool, check_choice

REFERENCES = ("yang2021_fig3",)

# Source column -> lscape variable, for one row per run.
_RUN_COLUMNS = {
    "train_loss": "train_loss",
    "train_accuracy": "train_accuracy",
    "test_loss": "test_loss",
    "test_accuracy": "test_accuracy",
    "hessian_top_eigenvalue": "hessian_eigenvalue",
    "hessian_trace": "hessian_trace",
}
# Source column -> lscape variable, for one row per ordered pair of runs.
_PAIR_COLUMNS = {"cka_softmax": "cka", "cka_logits": "cka_logits", "l2_distance": "l2_distance"}
# Source column -> lscape variable, for one row per point t of the trained curve.
# The authors' "train_loss" along the curve adds the weight-decay term; "train_nll"
# is the cross-entropy alone, which is what lscape's curve_loss holds.
_CURVE_COLUMNS = {"train_error": "curve_error", "train_nll": "curve_loss", "test_error": "curve_test_error"}

_DESCRIPTIONS = {
    "test_accuracy": ("Test accuracy", "%"),
    "test_loss": ("Test cross-entropy", "nats"),
    "train_accuracy": ("Training accuracy", "%"),
    "train_loss": ("Training cross-entropy", "nats"),
    "hessian_eigenvalue": ("Top Hessian eigenvalue (PyHessian, 200 training samples)", "1"),
    "hessian_trace": ("Hessian trace (PyHessian, 200 training samples)", "1"),
    "cka": ("Linear CKA of softmax outputs on mixup inputs, mean of both orders of the pair", "1"),
    "cka_logits": ("Linear CKA of logits on mixup inputs, mean of both orders of the pair", "1"),
    "l2_distance": ("L2 distance between the two models' trainable parameters", "1"),
    "mc": ("Mode connectivity on training 0-1 error: (e(0)+e(1))/2 - e(t*)", "%"),
    "mc_loss": ("Mode connectivity on training cross-entropy", "nats"),
    "t_star": ("t of the point that defines mc", "1"),
    "curve_error": ("Training 0-1 error along the trained Bezier curve", "%"),
    "curve_loss": ("Training cross-entropy along the trained Bezier curve", "nats"),
    "curve_test_error": ("Test 0-1 error along the trained Bezier curve", "%"),
}


def available() -> tuple[str, ...]:
    """Return the names of the shipped reference grids."""
    return REFERENCES


def _read_csv(name: str, file: str) -> pd.DataFrame:
    folder = resources.files("lscape.reference").joinpath(name)
    with folder.joinpath(file).open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle)


def _cube(table: pd.DataFrame, index: list[str], columns: dict[str, str], coords: dict) -> dict:
    """Reshape ``table`` into arrays over the full product of ``coords``; absent rows become NaN."""
    full = pd.MultiIndex.from_product([coords[name] for name in index], names=index)
    table = table.set_index(index).reindex(full)
    shape = tuple(len(coords[name]) for name in index)
    return {
        target: (tuple(index), table[source].to_numpy(dtype=float).reshape(shape))
        for source, target in columns.items()
    }


def _unordered_pairs(pairs: pd.DataFrame) -> pd.DataFrame:
    """Average the two orders (a, b) and (b, a) of each pair, ignoring a missing order.

    The authors measured CKA separately for each order, on its own mixup
    sample, so the two values differ (by up to 0.18 in this grid). The mean
    over unordered pairs equals the mean over ordered pairs that the paper's
    CKA panel shows, except where only one order is present.
    """
    pairs = pairs.copy()
    first = pairs[["run_a", "run_b"]].min(axis=1)
    second = pairs[["run_a", "run_b"]].max(axis=1)
    pairs["pair"] = first.astype(str) + "-" + second.astype(str)
    values = list(_PAIR_COLUMNS)
    return pairs.groupby(["batch_size", "width", "pair"], as_index=False)[values].mean()


def _mode_connectivity(curve_error: np.ndarray, curve_loss: np.ndarray, t: np.ndarray,
                       include_endpoints: bool) -> dict:
    """Score every profile along the last axis with :func:`lscape.metrics.mc_score`."""
    shape = curve_error.shape[:-1]
    mc, mc_loss, t_star = (np.full(shape, np.nan) for _ in range(3))
    for index in np.ndindex(shape):
        if np.all(np.isfinite(curve_error[index])):
            mc[index], best = mc_score(curve_error[index], include_endpoints)
            t_star[index] = t[best]
        if np.all(np.isfinite(curve_loss[index])):
            mc_loss[index], _ = mc_score(curve_loss[index], include_endpoints)
    return {"mc": mc, "mc_loss": mc_loss, "t_star": t_star}


def load(name: str = "yang2021_fig3", include_endpoints: bool = False) -> xr.Dataset:
    """Load a shipped reference grid into the ``xarray.Dataset`` form of :func:`lscape.grid.assemble`.

    Dimensions are named after the knobs: ``(batch_size, width, seed)`` for
    per-run variables (``train_loss``, ``test_accuracy``,
    ``hessian_eigenvalue``, ...), ``(batch_size, width, pair)`` for ``cka``,
    ``cka_logits``, ``l2_distance``, ``mc``, ``mc_loss`` and ``t_star``, and
    ``(batch_size, width, pair, t)`` for ``curve_error``, ``curve_loss`` and
    ``curve_test_error``. ``seed`` is the authors' run index, and ``pair``
    labels are ``"a-b"`` with ``a < b``. Cells, runs or values absent from the
    source are NaN. Only pair ``"0-1"`` has a trained curve, so ``mc`` is
    NaN for every other pair.

    Parameters
    ----------
    name : {"yang2021_fig3"}
        Which reference grid.
    include_endpoints : bool, default False
        Let the curve's endpoints compete for ``t*`` when scoring ``mc``. The
        authors' plotting code does; lscape's default scores interior points
        only, so that a difference between the two endpoints' errors is not
        read as a barrier. The two agree except in the one cell where a run
        is stuck at chance level (batch size 64, width 1).

    Returns
    -------
    xarray.Dataset
        ``attrs["load"] == "width"`` and ``attrs["temperature"] == "batch_size"``.

    Raises
    ------
    ParameterError
        If ``name`` is not a shipped reference grid.
    """
    func = "load()"
    check_choice(name, "name", func, REFERENCES)
    check_bool(include_endpoints, "include_endpoints", func)

    runs = _read_csv(name, "runs.csv")
    pairs = _unordered_pairs(_read_csv(name, "pairs.csv"))
    curves = _read_csv(name, "curves.csv")
    curves["pair"] = curves["run_a"].astype(str) + "-" + curves["run_b"].astype(str)

    seeds = sorted(runs["run"].unique())
    coords = {
        "batch_size": sorted(runs["batch_size"].unique()),
        "width": sorted(runs["width"].unique()),
        "seed": seeds,
        "pair": [f"{a}-{b}" for i, a in enumerate(seeds) for b in seeds[i + 1 :]],
        "t": sorted(curves["t"].unique()),
    }
    variables = _cube(runs.rename(columns={"run": "seed"}), ["batch_size", "width", "seed"], _RUN_COLUMNS, coords)
    pair_columns = {column: column for column in _PAIR_COLUMNS.values()}
    renamed = pairs.rename(columns=_PAIR_COLUMNS)
    variables.update(_cube(renamed, ["batch_size", "width", "pair"], pair_columns, coords))
    variables.update(_cube(curves, ["batch_size", "width", "pair", "t"], _CURVE_COLUMNS, coords))

    scores = _mode_connectivity(
        variables["curve_error"][1], variables["curve_loss"][1], np.asarray(coords["t"]), include_endpoints
    )
    variables.update({key: (("batch_size", "width", "pair"), value) for key, value in scores.items()})

    dataset = xr.Dataset(variables, coords=coords)
    for variable, (text, units) in _DESCRIPTIONS.items():
        dataset[variable].attrs.update({"long_name": text, "units": units})
    dataset.attrs.update({
        "title": "Yang et al. (2021), ResNet18 on CIFAR-10 with learning-rate decay (authors' measurements)",
        "load": "width",
        "temperature": "batch_size",
        "source": "github.com/nsfzyzz/loss_landscape_taxonomy, workspace/checkpoint/results.tar.gz, commit c1ec1fd",
        "license": "MIT, Copyright (c) 2020 Yaoqing Yang (see LICENSE beside the CSV files)",
        "reference": name,
        "settings": json.dumps({"mc_include_endpoints": include_endpoints}),
    })
    return dataset


__all__ = ["REFERENCES", "available", "load"]
