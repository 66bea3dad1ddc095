"""Sliders over load and temperature whose slices are precomputed, so they also work in static HTML.

:func:`slice_explorer` draws every slice of a grid once, as PNG images, and
stacks them in ``ipywidgets.Stack`` widgets whose ``selected_index`` is
linked to a slider with ``ipywidgets.jslink``. The link runs in the
browser, so the sliders switch slices without a kernel: in JupyterLab, and
in a rendered book page that embeds the widget state saved by papermill.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence

import numpy as np
import xarray as xr

from lscape.phases import NOT_CONVERGED
from lscape.plots import AXIS_LABELS, INVERSE_TEMPERATURE, PANELS, _check_grid
from lscape.validation import check_bool, check_choice, check_data_array, check_int, parameter_error

#: The seven panels a-g of Figure 2 in Yang et al. (2021), in that order: (variable, title, log scale).
SLICE_METRICS = tuple((name, title.replace(" (log10)", ""), log10) for name, title, _, log10 in PANELS.values())
PROFILE_LABELS = {"curve_error": "training error (%)", "curve_loss": "training loss (nats)"}
# Dimensions over which a metric is repeated within a cell: its spread.
REPEAT_DIMS = ("seed", "pair")


def _check_results(results, func: str) -> tuple[str, str]:
    """Return the (load, temperature) dimension names of ``results`` after checking its type."""
    return _check_grid(results, func, "results")


def _check_metrics(results: xr.Dataset, metrics, func: str, load: str, temperature: str) -> list[tuple[str, str, bool]]:
    """Return (variable, title, log scale) for each requested metric that can be sliced."""
    known = {name: (name, title, log10) for name, title, log10 in SLICE_METRICS}
    if metrics is None:
        return [known[name] for name in known if name in results]
    if isinstance(metrics, str) or not isinstance(metrics, Sequence) or not metrics:
        raise parameter_error(func, "metrics", "a non-empty list of variable names", metrics)
    allowed = {load, temperature, *REPEAT_DIMS}
    chosen = []
    for i, name in enumerate(metrics):
        if name not in results:
            present = [n for n in results.data_vars if set(results[n].dims) <= allowed]
            raise parameter_error(func, f"metrics[{i}]", f"a variable of results, one of {present}", name)
        if not {load, temperature} <= set(results[name].dims) <= allowed:
            raise parameter_error(
                func, f"metrics[{i}]", f"a variable over ({load}, {temperature}) and optionally seed or pair",
                f"{name!r} with dims {results[name].dims}",
            )
        chosen.append(known.get(name, (name, results[name].attrs.get("long_name", name), False)))
    return chosen


def _check_phase(phase, func: str) -> None:
    check_data_array(phase, "phase", func, "an xarray.DataArray from lscape.phases.classify() or None")


def _check_value(results: xr.Dataset, dim: str, value, name: str, func: str):
    """Return ``value`` as it is stored in the coordinate ``dim``, after checking it is one of its values."""
    values = [v.item() for v in results[dim].values]
    return check_choice(value.item() if isinstance(value, np.generic) else value, name, func, values)


def _spread(values: xr.DataArray, along: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the mean, minimum, maximum and the individual repeats of ``values`` along one axis.

    The repeats array has shape ``(len(along), repeats)``; a metric with
    neither a seed nor a pair dimension has one repeat.
    """
    repeat = [d for d in REPEAT_DIMS if d in values.dims]
    stacked = values.transpose(along, *repeat).values.astype(float).reshape(values.sizes[along], -1)
    with warnings.catch_warnings():
        # A cell whose runs all diverged is all NaN and plots as a gap.
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(stacked, axis=1)
        low = np.nanmin(stacked, axis=1)
        high = np.nanmax(stacked, axis=1)
    return mean, low, high, stacked


def _logarithmic(values: np.ndarray) -> bool:
    """Tell whether an axis of positive values spanning at least a factor of 4 reads better on a log scale."""
    values = np.asarray(values, dtype=float)
    return bool(len(values) > 1 and np.all(values > 0) and values.max() / values.min() >= 4)


def _draw_metric(ax, x: np.ndarray, values: xr.DataArray, along: str, title: str, log10: bool) -> None:
    """Draw one metric along a slice: the mean as a line, the min-max band and every repeat as a dot."""
    mean, low, high, repeats = _spread(values, along)
    ax.fill_between(x, low, high, color="C0", alpha=0.2, linewidth=0)
    for column in range(repeats.shape[1]):
        ax.plot(x, repeats[:, column], ".", color="C0", alpha=0.6, markersize=4)
    ax.plot(x, mean, "-", color="C0", linewidth=1.5)
    finite = repeats[np.isfinite(repeats)]
    if log10 and finite.size and np.all(finite > 0):
        ax.set_yscale("log")
    ax.set_title(title, fontsize=9, pad=10)
    ax.tick_params(labelsize=7)


def _setup_slice_axis(ax, dim: str, x: np.ndarray) -> None:
    """Put the knob ``dim`` on the x axis, with temperature growing to the right."""
    if _logarithmic(x):
        ax.set_xscale("log")
    ax.set_xticks(x)
    ax.set_xticklabels([f"{v:g}" for v in x], fontsize=7)
    ax.minorticks_off()
    if dim in INVERSE_TEMPERATURE:
        ax.invert_xaxis()
        ax.set_xlabel(f"{dim} (temperature grows to the right)", fontsize=8)
    else:
        ax.set_xlabel(AXIS_LABELS.get(dim, dim), fontsize=8)


def _label_phases(ax, x: np.ndarray, labels: Sequence[str]) -> None:
    """Write each point's phase just above the plot: x in data coordinates, y in axes coordinates."""
    for position, label in zip(x, labels):
        ax.text(position, 1.02, label, transform=ax.get_xaxis_transform(), ha="center", va="bottom",
                fontsize=7, color="0.3")


def _slice_figure(results: xr.Dataset, along: str, fixed: str, value, metrics, phase, title: str):
    """Draw every metric of ``results`` at ``fixed == value`` against ``along``, one small plot each."""
    from matplotlib.figure import Figure

    cut = results.sel({fixed: value})
    x = results[along].values.astype(float)
    columns = 4
    rows = -(-(len(metrics) + 1) // columns)  # one extra slot for the legend
    figure = Figure(figsize=(2.9 * columns, 2.4 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    labels = None
    if phase is not None:
        # A cell without a label (missing data) holds None or NaN: leave it blank.
        labels = [p if isinstance(p, str) else "" for p in phase.sel({fixed: value}).transpose(along).values]
    for ax, (name, metric_title, log10) in zip(axes, metrics):
        _draw_metric(ax, x, cut[name], along, metric_title, log10)
        _setup_slice_axis(ax, along, x)
        if labels is not None:
            _label_phases(ax, x, labels)
    legend = axes[len(metrics)]
    legend.axis("off")
    legend.text(
        0.0, 0.5,
        "line: mean over seeds\n(pairs for mc, CKA, L2)\nband: min to max\ndots: single seeds or pairs"
        + (f"\ntop labels: phase ({NOT_CONVERGED}: diverged)" if labels is not None else ""),
        fontsize=8, va="center", transform=legend.transAxes,
    )
    for ax in axes[len(metrics) + 1 :]:
        ax.axis("off")
    figure.suptitle(title, fontsize=10)
    return figure


def plot_row_slice(results: xr.Dataset, temperature_value, metrics: Sequence[str] | None = None,
                   phase: xr.DataArray | None = None):
    """Draw every metric against load at one temperature: a row of the phase diagram.

    Parameters
    ----------
    results : xarray.Dataset
        A grid from :func:`lscape.grid.run_grid`, with dimensions
        ``(temperature, load, seed)`` for per-run metrics and
        ``(temperature, load, pair)`` for ``mc``, ``cka`` and ``l2_distance``.
    temperature_value : int or float
        One value of the temperature coordinate, e.g. a batch size.
    metrics : list of str, optional
        Variables to draw; by default those of :data:`SLICE_METRICS` that
        ``results`` contains (test accuracy, training loss, Hessian top
        eigenvalue and trace, mc, CKA, L2 distance).
    phase : xarray.DataArray, optional
        Phase labels over (temperature, load) from
        :func:`lscape.phases.classify`, written above each plot.

    Returns
    -------
    matplotlib.figure.Figure
        One plot per metric: the mean over seeds (or pairs) as a line, the
        min-max band, and each seed as a dot. The figure is not registered
        with pyplot, so it is shown only where it is returned or saved.

    Raises
    ------
    ParameterError
        If ``results`` is not a grid, ``temperature_value`` is not on its
        temperature axis, or a metric is missing.
    """
    func = "plot_row_slice()"
    load, temperature = _check_results(results, func)
    temperature_value = _check_value(results, temperature, temperature_value, "temperature_value", func)
    chosen = _check_metrics(results, metrics, func, load, temperature)
    _check_phase(phase, func)
    return _slice_figure(results, load, temperature, temperature_value, chosen, phase,
                         f"{temperature} = {temperature_value:g}: every metric against {load}")


def plot_column_slice(results: xr.Dataset, load_value, metrics: Sequence[str] | None = None,
                      phase: xr.DataArray | None = None):
    """Draw every metric against temperature at one load: a column of the phase diagram.

    Temperature grows to the right, so a batch-size axis is drawn
    decreasing. The parameters, return value and errors are those of
    :func:`plot_row_slice`, with ``load_value`` a value of the load
    coordinate (e.g. a width).
    """
    func = "plot_column_slice()"
    load, temperature = _check_results(results, func)
    load_value = _check_value(results, load, load_value, "load_value", func)
    chosen = _check_metrics(results, metrics, func, load, temperature)
    _check_phase(phase, func)
    return _slice_figure(results, temperature, load, load_value, chosen, phase,
                         f"{load} = {load_value:g}: every metric against {temperature}")


def plot_cell_profile(results: xr.Dataset, load_value, temperature_value, variable: str = "curve_error",
                      phase: xr.DataArray | None = None):
    """Draw the training error along one cell's trained Bezier curve and along the straight line.

    Parameters
    ----------
    results : xarray.Dataset
        A grid with ``variable`` over ``(temperature, load, pair, t)``.
    load_value, temperature_value : int or float
        The cell, by its coordinate values.
    variable : {"curve_error", "curve_loss"}
        Training 0-1 error (percent) or cross-entropy along the curve; the
        matching ``linear_*`` variable, when present, is drawn dashed.
    phase : xarray.DataArray, optional
        Phase labels from :func:`lscape.phases.classify`; the cell's label
        is added to the title.

    Returns
    -------
    matplotlib.figure.Figure
        One line per seed pair against the curve parameter t in [0, 1],
        titled with the cell's mean mc.

    Raises
    ------
    ParameterError
        If the cell is not in the grid or ``variable`` is missing.
    """
    from matplotlib.figure import Figure

    func = "plot_cell_profile()"
    load, temperature = _check_results(results, func)
    check_choice(variable, "variable", func, ("curve_error", "curve_loss"))
    if variable not in results or "t" not in results[variable].dims:
        raise parameter_error(func, "results", f"a grid with the curve profile {variable!r} over t",
                              f"variables {list(results.data_vars)}", "Run the grid with curve metrics enabled.")
    load_value = _check_value(results, load, load_value, "load_value", func)
    temperature_value = _check_value(results, temperature, temperature_value, "temperature_value", func)
    _check_phase(phase, func)

    cell = results.sel({load: load_value, temperature: temperature_value})
    t = results["t"].values
    linear = variable.replace("curve_", "linear_")
    figure = Figure(figsize=(4.8, 3.0), layout="constrained")
    ax = figure.subplots()
    for i, pair in enumerate(cell["pair"].values):
        ax.plot(t, cell[variable].sel(pair=pair).values, "o-", color=f"C{i}", markersize=3, label=f"curve, pair {pair}")
        if linear in cell:
            ax.plot(t, cell[linear].sel(pair=pair).values, "--", color=f"C{i}", alpha=0.6, linewidth=1,
                    label=f"straight line, pair {pair}")
    mc = float(cell["mc"].mean(skipna=True)) if "mc" in cell else float("nan")
    title = f"{load} = {load_value:g}, {temperature} = {temperature_value:g}"
    if np.isfinite(mc):
        title += f": mc = {mc:.1f}"
    if phase is not None:
        title += f", phase {phase.sel({load: load_value, temperature: temperature_value}).item()}"
    ax.set_title(title, fontsize=9)
    ax.set_xlabel("t along the curve", fontsize=8)
    ax.set_ylabel(PROFILE_LABELS[variable], fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6)
    return figure


def _png(figure, dpi: int) -> bytes:
    """Render a matplotlib figure to PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _image(png: bytes):
    import ipywidgets as widgets

    return widgets.Image(value=png, format="png", layout=widgets.Layout(max_width="100%", height="auto"))


def _linked_stack(children: list, slider, css_class: str):
    """Return a Stack of ``children`` whose shown child follows ``slider.index``, in the browser too."""
    import ipywidgets as widgets

    stack = widgets.Stack(children=children, selected_index=slider.index)
    stack.add_class(css_class)
    widgets.jslink((slider, "index"), (stack, "selected_index"))
    return stack


def _slider(dim: str, values: np.ndarray, css_class: str):
    import ipywidgets as widgets

    slider = widgets.SelectionSlider(
        options=[f"{v:g}" for v in values], index=0, description=dim,
        continuous_update=True, style={"description_width": "initial"},
        layout=widgets.Layout(width="45%"),
    )
    slider.add_class(css_class)
    return slider


def slice_explorer(results: xr.Dataset, metrics: Sequence[str] | None = None, phase: xr.DataArray | None = None,
                   cell_profiles: bool | None = None, dpi: int = 72, max_images: int = 200):
    """Build two sliders, over temperature and over load, that show slices of a grid.

    The temperature slider selects a row of the phase diagram (every metric
    against load at that temperature), the load slider a column (every
    metric against temperature at that load), and the two together select a
    cell, whose curve profile is shown below. Every slice is drawn in
    advance and the sliders are linked to the shown image in the browser
    (``ipywidgets.jslink``), so the widget works without a kernel: in a
    static page built from a notebook whose widget state was saved, as
    papermill saves it.

    Parameters
    ----------
    results : xarray.Dataset
        A grid from :func:`lscape.grid.run_grid`.
    metrics : list of str, optional
        Variables to draw; by default those of :data:`SLICE_METRICS` that
        ``results`` contains.
    phase : xarray.DataArray, optional
        Phase labels from :func:`lscape.phases.classify`, written above each
        slice plot.
    cell_profiles : bool, optional
        Show the curve profile of the selected cell. By default it is shown
        when ``results`` has ``curve_error``.
    dpi : int, default 72
        Resolution of the images, in dots per inch (figures are about 11.6
        inches wide).
    max_images : int, default 200
        Upper bound on the number of images drawn: one per temperature, one
        per load and, with ``cell_profiles``, one per cell. Every image is
        stored in the notebook and in the book page, about 10-60 kB each at
        72 dpi.

    Returns
    -------
    ipywidgets.VBox
        The two sliders and three ``ipywidgets.Stack`` widgets of images.
        The box and its parts carry the CSS classes ``lscape-slice-explorer``,
        ``lscape-temperature-slider``,
        ``lscape-load-slider``, ``lscape-row-slice``, ``lscape-column-slice``
        and ``lscape-cell-profile``.

    Raises
    ------
    ParameterError
        If ``results`` is not a grid, a metric is missing, the curve
        profile is requested but absent, or the grid needs more than
        ``max_images`` images.
    """
    import ipywidgets as widgets

    func = "slice_explorer()"
    load, temperature = _check_results(results, func)
    chosen = _check_metrics(results, metrics, func, load, temperature)
    if not chosen:
        raise parameter_error(func, "results", "a grid with at least one of the seven metrics",
                              f"variables {list(results.data_vars)}")
    _check_phase(phase, func)
    dpi = check_int(dpi, "dpi", func, 20, 300)
    max_images = check_int(max_images, "max_images", func, 1)
    has_profiles = "curve_error" in results and "t" in results["curve_error"].dims
    if cell_profiles is None:
        cell_profiles = has_profiles
    check_bool(cell_profiles, "cell_profiles", func)
    if cell_profiles and not has_profiles:
        raise parameter_error(func, "cell_profiles", "False for a grid without 'curve_error'", cell_profiles)

    loads = results[load].values
    temperatures = results[temperature].values
    count = len(loads) + len(temperatures) + (len(loads) * len(temperatures) if cell_profiles else 0)
    if count > max_images:
        raise parameter_error(
            func, "max_images", f"at least the {count} images this grid needs", max_images,
            "Raise max_images, pass cell_profiles=False, or select fewer values with results.sel(...).",
        )
    metric_names = [name for name, _, _ in chosen]

    temperature_slider = _slider(temperature, temperatures, "lscape-temperature-slider")
    load_slider = _slider(load, loads, "lscape-load-slider")
    rows = [_image(_png(plot_row_slice(results, v, metric_names, phase), dpi)) for v in temperatures]
    columns = [_image(_png(plot_column_slice(results, v, metric_names, phase), dpi)) for v in loads]
    parts = [
        widgets.HTML(f"<b>Slices of the grid.</b> Move <i>{temperature}</i> to pick a row of the phase "
                     f"diagram and <i>{load}</i> to pick a column."),
        widgets.HBox([temperature_slider, load_slider]),
        widgets.HTML(f"Row: every metric against {load} at the selected {temperature}"),
        _linked_stack(rows, temperature_slider, "lscape-row-slice"),
        widgets.HTML(f"Column: every metric against {temperature} at the selected {load}"),
        _linked_stack(columns, load_slider, "lscape-column-slice"),
    ]
    if cell_profiles:
        # One inner Stack per temperature, each following the load slider;
        # the outer Stack follows the temperature slider.
        inner = [
            _linked_stack([_image(_png(plot_cell_profile(results, x, y, phase=phase), dpi)) for x in loads], load_slider,
                          "lscape-cell-profile-row")
            for y in temperatures
        ]
        parts += [
            widgets.HTML("Curve profile of the selected cell: training error along the trained curve "
                         "(solid) and the straight line (dashed)"),
            _linked_stack(inner, temperature_slider, "lscape-cell-profile"),
        ]
    explorer = widgets.VBox(parts)
    explorer.add_class("lscape-slice-explorer")
    return explorer


__all__ = ["SLICE_METRICS", "plot_cell_profile", "plot_column_slice", "plot_row_slice", "slice_explorer"]
