"""Helpers for the figure notebooks: parameter checking, presets and grid specs.

Every figure notebook has one flat papermill ``parameters`` cell and passes
those values to :func:`grid_spec`, which validates them (papermill's ``-p``
passes lists as strings; YAML strings are parsed here) before any training.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from lscape.config import LOAD_KNOBS, TEMPERATURE_KNOBS, MetricSettings, RunConfig
from lscape.grid import GridSpec
from lscape.validation import (
    ParameterError, check_choice, check_dataset, check_int, check_list, check_str, parameter_error,
)

PRESETS = ("default", "ci")


@dataclass(frozen=True)
class FigureAxes:
    """Which knobs a figure's grid varies and the notebook parameters that hold their values."""

    load: str
    load_parameter: str
    temperature: str
    temperature_parameter: str


_WIDTH_BY_BATCH = FigureAxes("width", "widths", "batch_size", "batch_sizes")
_WIDTH_BY_LR = FigureAxes("width", "widths", "lr", "lrs")
FIGURE_AXES = {
    "fig2_standard": _WIDTH_BY_BATCH,
    "fig3_lr_decay": _WIDTH_BY_BATCH,
    "fig4_noisy_labels": _WIDTH_BY_BATCH,
    "fig5_weight_decay": FigureAxes("width", "widths", "weight_decay", "weight_decays"),
    "fig6_data_amount": _WIDTH_BY_BATCH,
    "fig7_data_rearranged": _WIDTH_BY_BATCH,
    "fig8_noise": FigureAxes("label_noise", "label_noises", "batch_size", "batch_sizes"),
    "fig9_cka_mixup_ablation": _WIDTH_BY_BATCH,
    "fig10_cka_pixel_noise_ablation": _WIDTH_BY_BATCH,
    "fig11_mc_ablation": _WIDTH_BY_BATCH,
    "fig12_curves": _WIDTH_BY_BATCH,
    "fig13_lr_decay_gain": _WIDTH_BY_BATCH,
    "fig14_svhn": _WIDTH_BY_BATCH,
    "fig15_cifar100": _WIDTH_BY_BATCH,
    "fig16_vgg": _WIDTH_BY_BATCH,
    "fig17_noise_lr": _WIDTH_BY_LR,
    "fig18_translation": FigureAxes("width", "embed_dims", "batch_size", "batch_sizes"),
    "fig20_lr_temperature": _WIDTH_BY_LR,
    "fig21_input_noise": FigureAxes("input_noise", "input_noises", "batch_size", "batch_sizes"),
    "fig22_large_batch": _WIDTH_BY_BATCH,
    "fig23_linear_scaling": _WIDTH_BY_BATCH,
}

# The CI preset: a 2 x 2 grid trained for a few epochs, so every notebook runs
# end to end in well under a minute on two CPU cores. Its numbers show that
# the code path works, not the paper's phenomena.
CI_PRESET = {
    "seeds": [0, 1],
    "max_epochs": 3,
    "min_steps": 0,
    "curve_epochs": 2,
    "cka_samples": 128,
    "hessian_max_iter": 20,
}
CI_AXES = {
    "widths": [2, 8], "batch_sizes": [64, 512], "lrs": [0.01, 0.1], "weight_decays": [5e-4, 5e-3],
    "label_noises": [0.0, 0.2], "input_noises": [0.0, 1.0], "embed_dims": [16],
}
# Figures whose CI setting differs from the above: the largest meaningful
# batch of fig22, batches that fit fig6's and fig7's smallest training set,
# and a 100-pair translation task small enough for a minute.
FIGURE_CI = {
    "fig22_large_batch": {"batch_sizes": [512, 4000]},
    "fig6_data_amount": {"batch_sizes": [16, 64]},
    "fig7_data_rearranged": {"batch_sizes": [16, 64]},
    "fig18_translation": {
        "batch_sizes": [64], "train_size": 100, "max_epochs": 2, "hessian_samples": 20, "hessian_max_iter": 5,
        "cka_samples": 32, "curve_epochs": 1,
    },
}


def resolve_preset(preset: str) -> str:
    """Return the preset to use: ``$LSCAPE_PRESET`` when set, else ``preset``.

    CI sets ``LSCAPE_PRESET=ci`` so that nbval runs every notebook at its
    small setting without editing the notebooks.
    """
    check_choice(preset, "preset", "grid_spec()", PRESETS)
    chosen = os.environ.get("LSCAPE_PRESET") or preset
    return check_choice(chosen, "preset", "grid_spec()", PRESETS)


def workers_for(preset: str, workers: int | None) -> int | None:
    """Return the worker processes for :func:`lscape.grid.run_grid`: ``workers`` when given, else 1 under the CI preset.

    CI grids are so small that starting worker processes (each imports torch)
    costs more than the work, and notebooks that run several grids start a
    pool for each. A ``workers`` value the user passes is kept.
    """
    if workers is not None:
        check_int(workers, "workers", "the figure notebook", 1)
        return workers
    return 1 if resolve_preset(preset) == "ci" else None


def _split_settings(figure: str, settings: dict) -> tuple[dict, dict, dict]:
    run_fields = {f.name for f in fields(RunConfig)}
    metric_fields = {f.name for f in fields(MetricSettings)}
    run, metric, unknown = {}, {}, {}
    for name, value in settings.items():
        if name in run_fields:
            run[name] = value
        elif name in metric_fields:
            metric[name] = value
        else:
            unknown[name] = value
    if unknown:
        raise ParameterError(
            f"grid_spec() for {figure!r} got unknown parameter(s) {sorted(unknown)}. Known: "
            f"{sorted(run_fields | metric_fields)}."
        )
    return run, metric, unknown


def grid_spec(figure: str, preset: str = "default", seeds=(0, 1), **parameters) -> GridSpec:
    """Build and validate the :class:`~lscape.grid.GridSpec` of a figure notebook.

    Parameters
    ----------
    figure : str
        Notebook name, e.g. ``"fig2_standard"``; it fixes which knobs are the
        load and temperature axes (see :data:`FIGURE_AXES`).
    preset : {"default", "ci"}
        ``"ci"`` replaces the axes, seeds and training budgets with a tiny
        setting for continuous integration. ``$LSCAPE_PRESET`` overrides.
    seeds : list of int
        At least two seeds.
    **parameters
        The notebook's parameters: the two axis lists (e.g. ``widths`` and
        ``batch_sizes``) plus any :class:`~lscape.config.RunConfig` or
        :class:`~lscape.config.MetricSettings` field. Lists may be YAML strings.

    Raises
    ------
    ParameterError
        Naming the parameter, the value and the accepted range.
    """
    check_choice(figure, "figure", "grid_spec()", tuple(FIGURE_AXES))
    axes = FIGURE_AXES[figure]
    preset = resolve_preset(preset)
    func = f"the {figure} notebook"
    for required in (axes.load_parameter, axes.temperature_parameter):
        if required not in parameters:
            raise ParameterError(f"{func}: the parameter {required!r} is missing.")
    load_values = parameters.pop(axes.load_parameter)
    temperature_values = parameters.pop(axes.temperature_parameter)
    if preset == "ci":
        ci = {**CI_AXES, **FIGURE_CI.get(figure, {})}
        load_values = ci.get(axes.load_parameter, list(check_list(load_values, axes.load_parameter, func, LOAD_KNOBS[axes.load]))[:2])
        temperature_values = ci.get(axes.temperature_parameter, temperature_values)
        seeds = CI_PRESET["seeds"]
        parameters.update({k: v for k, v in CI_PRESET.items() if k != "seeds"})
        parameters.update({k: v for k, v in FIGURE_CI.get(figure, {}).items() if k not in CI_AXES})

    load_values = check_list(load_values, axes.load_parameter, func, LOAD_KNOBS[axes.load])
    temperature_values = check_list(
        temperature_values, axes.temperature_parameter, func, TEMPERATURE_KNOBS[axes.temperature]
    )
    seeds = check_list(seeds, "seeds", func, lambda v, n, f: check_int(v, n, f, 0), min_length=2)
    for name in ("curve_t",):
        if name in parameters:
            parameters[name] = tuple(check_list(parameters[name], name, func, lambda v, n, f: float(v), min_length=3))
    run, metric, _ = _split_settings(figure, parameters)
    return GridSpec(
        load=axes.load, load_values=tuple(load_values),
        temperature=axes.temperature, temperature_values=tuple(temperature_values),
        seeds=tuple(seeds), base=RunConfig(**run), metrics=MetricSettings(**metric), name=figure,
    )


def check_results(results) -> None:
    """Assert what every figure grid must satisfy, whatever the setting.

    Every converged cell has a test accuracy, and every defined CKA lies in
    [0, 1] (CKA is NaN only where a model's outputs are constant).

    Raises
    ------
    AssertionError
        Naming the first property that fails.
    """
    import numpy as np

    from lscape.grid import cell_means

    check_dataset(results, "results", "check_results()", "an xarray.Dataset from lscape.grid.run_grid()")
    means = cell_means(results)
    converged = means["diverged"].values == 0
    assert np.isfinite(means["test_accuracy"].values[converged]).all(), "a converged cell lacks its test accuracy"
    if "cka" in means:
        cka = means["cka"].values[np.isfinite(means["cka"].values)]
        assert ((cka >= 0) & (cka <= 1)).all(), "CKA outside [0, 1]"


def summary(results, variables=("test_accuracy", "train_loss", "hessian_trace", "mc", "cka")):
    """Return a table (pandas.DataFrame) of the cell means of ``variables``, one row per cell.

    Variables missing from ``results`` are skipped; ``stopped_early`` and
    ``diverged`` are the fraction of runs of the cell.
    """
    from lscape.grid import cell_means

    func = "summary()"
    check_dataset(results, "results", func, "an xarray.Dataset from lscape.grid.run_grid()")
    variables = check_list(variables, "variables", func, check_str)
    means = cell_means(results)
    names = [name for name in variables if name in means]
    table = means[names].to_dataframe()[names]
    for flag in ("stopped_early", "diverged"):
        if flag in results:
            table[flag] = results[flag].mean("seed").to_dataframe()[flag]
    return table


def stack_grids(grids: dict, dim: str):
    """Stack grids of the same axes along a new dimension ``dim`` with the dict's keys as coordinates.

    Used where a figure varies a third knob in columns, e.g. the training-set
    size of Figure 6. Returns an ``xarray.Dataset`` with the attributes of
    the first grid.
    """
    import xarray as xr

    func = "stack_grids()"
    if not isinstance(grids, dict) or not grids:
        raise parameter_error(func, "grids", "a non-empty dict of xarray.Dataset grids", grids)
    for key, grid in grids.items():
        check_dataset(grid, f"grids[{key!r}]", func)
    check_str(dim, "dim", func)
    keys = list(grids)
    stacked = xr.concat([grids[k] for k in keys], dim=dim, combine_attrs="drop_conflicts")
    stacked = stacked.assign_coords({dim: keys})
    stacked.attrs.update({"load": grids[keys[0]].attrs.get("load"), "temperature": grids[keys[0]].attrs.get("temperature")})
    return stacked


def rearrange(stacked, new_load: str, **fixed):
    """Select one value of the old load (``fixed``, e.g. ``width=8``) and make ``new_load`` the x axis.

    Turns the stack of Figure 6 (columns of training-set size, each a width x
    batch-size grid) into Figure 7's layout: training-set size on the x axis,
    one plot per width.
    """
    func = "rearrange()"
    check_dataset(stacked, "stacked", func, "an xarray.Dataset from stack_grids()")
    check_str(new_load, "new_load", func)
    if new_load not in stacked.dims:
        raise parameter_error(func, "new_load", f"a dimension of 'stacked', one of {list(stacked.dims)}", new_load)
    if "temperature" not in stacked.attrs:
        raise parameter_error(func, "stacked", "a grid whose attrs name its 'temperature' dimension",
                              f"attrs {dict(stacked.attrs)}", "Pass the result of stack_grids().")
    unknown = [name for name in fixed if name not in stacked.dims]
    if unknown:
        raise parameter_error(func, "fixed", f"keywords that name dimensions of 'stacked', from {list(stacked.dims)}",
                              fixed)
    selected = stacked.sel(fixed)
    temperature = stacked.attrs["temperature"]
    order = [temperature, new_load] + [d for d in selected.dims if d not in (temperature, new_load)]
    rearranged = selected.transpose(*order)
    rearranged.attrs.update({"load": new_load, "temperature": temperature})
    return rearranged
