"""Phase-diagram plots: the seven metric panels over load and temperature, and the phase map."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from lscape.phases import LOCALLY_SHARP, NOT_CONVERGED, PHASES, POORLY_CONNECTED, classify, is_missing
from lscape.validation import (
    check_bool, check_data_array, check_dataset, check_float, check_str, parameter_error,
)

# Panel letter, variable, title, colormap, log10 of the value.
PANELS = {
    "a": ("test_accuracy", "Test accuracy (%)", "viridis", False),
    "b": ("train_loss", "Training loss (log10)", "magma_r", True),
    "c": ("hessian_eigenvalue", "Hessian top eigenvalue (log10)", "magma_r", True),
    "d": ("hessian_trace", "Hessian trace (log10)", "magma_r", True),
    "e": ("mc", "Mode connectivity (%)", "RdBu_r", False),
    "f": ("cka", "CKA similarity", "viridis", False),
    "g": ("l2_distance", "L2 distance", "cividis", False),
}
PHASE_COLORS = {
    "I": "#d95f02", "II": "#e7298a", "III": "#7570b3", "IV-A": "#66a61e", "IV-B": "#1b9e77",
    NOT_CONVERGED: "#bbbbbb", "": "#ffffff",
}
AXIS_LABELS = {
    "width": "width k (load)",
    "train_size": "training-set size (load)",
    "label_noise": "fraction of randomized labels (load)",
    "batch_size": "batch size (temperature grows upward)",
    "lr": "learning rate (temperature)",
    "weight_decay": "weight decay (temperature)",
}
# Knobs whose larger values mean lower temperature: drawn growing downward.
INVERSE_TEMPERATURE = {"batch_size"}


def _edges(values: np.ndarray) -> tuple[np.ndarray, bool]:
    """Return cell edges for sorted coordinate values and whether the axis is logarithmic."""
    values = np.asarray(values, dtype=float)
    if len(values) == 1:
        return (np.array([values[0] / 1.5, values[0] * 1.5]) if values[0] > 0 else values + [-0.5, 0.5]), values[0] > 0
    logarithmic = bool(np.all(values > 0) and values[-1] / values[0] >= 4)
    scaled = np.log(values) if logarithmic else values
    middle = 0.5 * (scaled[1:] + scaled[:-1])
    edges = np.concatenate([[2 * scaled[0] - middle[0]], middle, [2 * scaled[-1] - middle[-1]]])
    return (np.exp(edges) if logarithmic else edges), logarithmic


def _axes_for(dataset: xr.Dataset) -> tuple[str, str]:
    load = dataset.attrs.get("load")
    temperature = dataset.attrs.get("temperature")
    if load in dataset.dims and temperature in dataset.dims:
        return load, temperature
    dims = [d for d in dataset.dims if d not in ("seed", "pair", "t")]
    if len(dims) != 2:
        raise ValueError(f"Cannot tell the load and temperature axes apart from dims {list(dataset.dims)}.")
    return dims[1], dims[0]


def _check_grid(dataset, func: str, name: str = "dataset") -> tuple[str, str]:
    """Return the (load, temperature) dimension names of ``dataset`` after checking it is a grid.

    ``name`` is the caller's parameter name, used in the error message.
    """
    check_dataset(dataset, name, func, "an xarray.Dataset from lscape.grid.run_grid() or lscape.reference.load()")
    try:
        return _axes_for(dataset)
    except ValueError as error:
        raise parameter_error(
            func, name, "a grid with a load and a temperature dimension", f"dims {list(dataset.dims)}",
            f"Set {name}.attrs['load'] and {name}.attrs['temperature'] to the two dimension names.",
        ) from error


def _check_axes(ax, func: str) -> None:
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise parameter_error(func, "ax", "a matplotlib.axes.Axes", ax)


def _check_variable(dataset: xr.Dataset, name, func: str, parameter: str = "name") -> str:
    """Return ``name`` after checking it is a variable of ``dataset``."""
    if not isinstance(name, str) or name not in dataset.data_vars:
        raise parameter_error(func, parameter, f"a variable of the dataset, one of {list(dataset.data_vars)}", name)
    return name


def _check_phase_labels(phase, func: str) -> None:
    check_data_array(phase, "phase", func, "an xarray.DataArray from lscape.phases.classify()")
    if phase is None:
        raise parameter_error(func, "phase", "an xarray.DataArray from lscape.phases.classify()", phase)


def _setup_axis(ax, dataset, load, temperature):
    x_edges, x_log = _edges(dataset[load].values)
    y_edges, y_log = _edges(dataset[temperature].values)
    if x_log:
        ax.set_xscale("log")
    if y_log:
        ax.set_yscale("log")
    ax.set_xlim(x_edges[0], x_edges[-1])
    if temperature in INVERSE_TEMPERATURE:
        ax.set_ylim(y_edges[-1], y_edges[0])  # batch size grows downward: temperature grows upward
    else:
        ax.set_ylim(y_edges[0], y_edges[-1])
    ax.set_xticks(dataset[load].values)
    ax.set_xticklabels([f"{v:g}" for v in dataset[load].values], rotation=0, fontsize=7)
    ax.set_yticks(dataset[temperature].values)
    ax.set_yticklabels([f"{v:g}" for v in dataset[temperature].values], fontsize=7)
    ax.minorticks_off()
    ax.set_xlabel(AXIS_LABELS.get(load, load), fontsize=8)
    ax.set_ylabel(AXIS_LABELS.get(temperature, temperature), fontsize=8)
    return x_edges, y_edges


def _cell_mean(dataset: xr.Dataset, name: str) -> xr.DataArray:
    values = dataset[name]
    dims = [d for d in ("seed", "pair") if d in values.dims]
    return values.mean(dims, skipna=True) if dims else values


def _not_converged(dataset: xr.Dataset) -> np.ndarray | None:
    if "diverged" not in dataset:
        return None
    diverged = dataset["diverged"]
    return (diverged.max("seed") if "seed" in diverged.dims else diverged).values > 0


def plot_panel(ax, dataset: xr.Dataset, name: str, title: str | None = None, cmap: str = "viridis",
               log10: bool = False, annotate: bool = True, colorbar: bool = True):
    """Draw one metric (mean over seeds or pairs) as a heat map over load and temperature.

    Mode connectivity (``mc``) gets a diverging colormap centred at 0.
    Not-converged cells are hatched and marked "NC".
    """
    import matplotlib.colors as mcolors

    func = "plot_panel()"
    _check_axes(ax, func)
    load, temperature = _check_grid(dataset, func)
    _check_variable(dataset, name, func)
    if title is not None:
        check_str(title, "title", func)
    from matplotlib.colors import Colormap

    if not isinstance(cmap, (str, Colormap)):
        raise parameter_error(func, "cmap", "a colormap name (str) or a matplotlib.colors.Colormap", cmap)
    check_bool(log10, "log10", func)
    check_bool(annotate, "annotate", func)
    check_bool(colorbar, "colorbar", func)
    values = _cell_mean(dataset, name).transpose(temperature, load).values.astype(float)
    shown = values.copy()
    if log10:
        with np.errstate(divide="ignore", invalid="ignore"):
            shown = np.where(values > 0, np.log10(values), np.nan)
    x_edges, y_edges = _setup_axis(ax, dataset, load, temperature)
    norm = None
    if name in ("mc", "linear_mc", "mc_loss"):
        limit = np.nanmax(np.abs(shown)) if np.isfinite(shown).any() else 1.0
        norm = mcolors.TwoSlopeNorm(vmin=-max(limit, 1e-9), vcenter=0.0, vmax=max(limit, 1e-9))
    mesh = ax.pcolormesh(x_edges, y_edges, np.ma.masked_invalid(shown), cmap=cmap, norm=norm, shading="flat")
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, fraction=0.046, pad=0.03).ax.tick_params(labelsize=7)
    x_values, y_values = dataset[load].values, dataset[temperature].values
    nc = _not_converged(dataset)
    if nc is not None:
        nc = nc.T if dataset["diverged"].dims[0] == load else nc
    for i, y in enumerate(y_values):
        for j, x in enumerate(x_values):
            if nc is not None and nc[i, j]:
                ax.fill_between([x_edges[j], x_edges[j + 1]], y_edges[i], y_edges[i + 1],
                                facecolor="none", hatch="///", edgecolor="0.4", linewidth=0)
                ax.text(x, y, NOT_CONVERGED, ha="center", va="center", fontsize=7)
            elif annotate and np.isfinite(values[i, j]):
                ax.text(x, y, f"{values[i, j]:.3g}", ha="center", va="center", fontsize=6,
                        color="white" if _is_dark(mesh, shown[i, j]) else "black")
    ax.set_title(title or name, fontsize=9)
    return mesh


def _is_dark(mesh, value) -> bool:
    if not np.isfinite(value):
        return False
    red, green, blue, _ = mesh.cmap(mesh.norm(value))
    return 0.299 * red + 0.587 * green + 0.114 * blue < 0.5


def _label_grid(phase: xr.DataArray, load: str, temperature: str) -> np.ndarray:
    """Return labels as rows of temperature and columns of load, with "" where missing."""
    labels = phase.transpose(temperature, load).values.astype(object)
    labels[is_missing(labels)] = ""
    return labels


def plot_phase_map(ax, dataset: xr.Dataset, phase: xr.DataArray | None = None,
                   confidence: xr.DataArray | None = None, confidence_level: float = 0.8,
                   boundaries: bool = False, **classify_options):
    """Draw the phase of each cell as a categorical map with its label.

    Cells whose ``confidence`` (see :func:`lscape.phases.confidence`) is
    below ``confidence_level`` are hatched and show the share under the
    label; ``boundaries`` adds :func:`plot_phase_boundaries`. Missing labels
    are left white.
    """
    from matplotlib.colors import ListedColormap

    func = "plot_phase_map()"
    _check_axes(ax, func)
    load, temperature = _check_grid(dataset, func)
    check_data_array(phase, "phase", func, "an xarray.DataArray from lscape.phases.classify() or None")
    check_data_array(confidence, "confidence", func, "an xarray.DataArray from lscape.phases.confidence() or None")
    check_float(confidence_level, "confidence_level", func, 0.0, 1.0)
    check_bool(boundaries, "boundaries", func)
    phase = classify(dataset, **classify_options) if phase is None else phase
    labels = _label_grid(phase, load, temperature)
    order = list(PHASES) + [NOT_CONVERGED, ""]
    codes = np.vectorize(order.index)(labels)
    x_edges, y_edges = _setup_axis(ax, dataset, load, temperature)
    cmap = ListedColormap([PHASE_COLORS[p] for p in order])
    ax.pcolormesh(x_edges, y_edges, codes, cmap=cmap, vmin=-0.5, vmax=len(order) - 0.5, shading="flat")
    shares = None if confidence is None else confidence.transpose(temperature, load).values
    for i, y in enumerate(dataset[temperature].values):
        for j, x in enumerate(dataset[load].values):
            text = labels[i, j]
            if shares is not None and np.isfinite(shares[i, j]) and shares[i, j] < confidence_level:
                ax.fill_between([x_edges[j], x_edges[j + 1]], y_edges[i], y_edges[i + 1],
                                facecolor="none", hatch="...", edgecolor="white", linewidth=0)
                text = f"{text}\n{shares[i, j]:.0%}"
            ax.text(x, y, text, ha="center", va="center", fontsize=7, color="white", weight="bold")
    if boundaries:
        plot_phase_boundaries(ax, dataset, phase, color="black")
    ax.set_title("Phase", fontsize=9)
    return phase


def _transition(first: str, second: str) -> str | None:
    """Name the property that changes between two adjacent labels, or None."""
    if first == second or first not in PHASES or second not in PHASES:
        return None
    if (first in LOCALLY_SHARP) != (second in LOCALLY_SHARP):
        return "local"
    if (first in POORLY_CONNECTED) != (second in POORLY_CONNECTED):
        return "global"
    return "similarity"


# Line style and legend text of each kind of phase boundary.
BOUNDARY_STYLES = {
    "local": ("-", "locally sharp | flat"),
    "global": ("--", "poorly | well connected"),
    "similarity": (":", "IV-A | IV-B"),
}


def plot_phase_boundaries(ax, dataset: xr.Dataset, phase: xr.DataArray, color: str = "white",
                          linewidth: float = 1.8, legend: bool = False) -> dict:
    """Draw the boundaries between phases along cell edges over any panel.

    A solid line separates locally sharp from flat phases (I, II | III, IV),
    a dashed one poorly from well connected phases of the same local kind
    (I | II, III | IV), and a dotted one IV-A from IV-B. Cells that are
    missing or not converged get no boundary.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        An axis already drawn by :func:`plot_panel` or :func:`plot_phase_map`.
    dataset : xarray.Dataset
        The grid, for its load and temperature coordinates.
    phase : xarray.DataArray
        Labels from :func:`lscape.phases.classify`.
    color : str, default "white"
    linewidth : float, default 1.8
    legend : bool, default False
        Add a legend naming the three line styles that appear.

    Returns
    -------
    dict
        Kind of boundary (``"local"``, ``"global"``, ``"similarity"``) to
        its ``LineCollection``; kinds that do not occur are absent.
    """
    from matplotlib.collections import LineCollection

    func = "plot_phase_boundaries()"
    _check_axes(ax, func)
    load, temperature = _check_grid(dataset, func)
    _check_phase_labels(phase, func)
    from matplotlib.colors import is_color_like

    if not is_color_like(color):
        raise parameter_error(func, "color", "a matplotlib color, such as 'white' or (1, 1, 1)", color)
    check_float(linewidth, "linewidth", func, 0.0, None, closed="neither")
    check_bool(legend, "legend", func)
    labels = _label_grid(phase, load, temperature)
    x_edges, _ = _edges(dataset[load].values)
    y_edges, _ = _edges(dataset[temperature].values)
    segments: dict[str, list] = {kind: [] for kind in BOUNDARY_STYLES}
    rows, columns = labels.shape
    for i in range(rows):
        for j in range(columns):
            if j + 1 < columns:
                kind = _transition(labels[i, j], labels[i, j + 1])
                if kind:
                    segments[kind].append([(x_edges[j + 1], y_edges[i]), (x_edges[j + 1], y_edges[i + 1])])
            if i + 1 < rows:
                kind = _transition(labels[i, j], labels[i + 1, j])
                if kind:
                    segments[kind].append([(x_edges[j], y_edges[i + 1]), (x_edges[j + 1], y_edges[i + 1])])

    drawn = {}
    for kind, lines in segments.items():
        if lines:
            style, text = BOUNDARY_STYLES[kind]
            collection = LineCollection(lines, colors=color, linestyles=style, linewidths=linewidth, label=text)
            ax.add_collection(collection, autolim=False)
            drawn[kind] = collection
    if legend and drawn:
        ax.legend(handles=list(drawn.values()), fontsize=6, loc="lower left", framealpha=0.6)
    return drawn


def plot_confidence(ax, dataset: xr.Dataset, confidence: xr.DataArray, colorbar: bool = True):
    """Draw each cell's phase confidence (share of agreeing resamples) as a heat map."""
    func = "plot_confidence()"
    _check_axes(ax, func)
    load, temperature = _check_grid(dataset, func)
    check_data_array(confidence, "confidence", func, "an xarray.DataArray from lscape.phases.confidence()")
    if confidence is None:
        raise parameter_error(func, "confidence", "an xarray.DataArray from lscape.phases.confidence()", confidence)
    check_bool(colorbar, "colorbar", func)
    shares = confidence.transpose(temperature, load).values.astype(float)
    x_edges, y_edges = _setup_axis(ax, dataset, load, temperature)
    mesh = ax.pcolormesh(x_edges, y_edges, np.ma.masked_invalid(shares), cmap="Greys_r", vmin=0.5, vmax=1.0,
                         shading="flat")
    if colorbar:
        ax.figure.colorbar(mesh, ax=ax, fraction=0.046, pad=0.03).ax.tick_params(labelsize=7)
    for i, y in enumerate(dataset[temperature].values):
        for j, x in enumerate(dataset[load].values):
            if np.isfinite(shares[i, j]):
                ax.text(x, y, f"{shares[i, j]:.2f}", ha="center", va="center", fontsize=6,
                        color="white" if shares[i, j] < 0.75 else "black")
    ax.set_title("Phase confidence (share of bootstrap resamples)", fontsize=9)
    return mesh


def plot_panels(dataset: xr.Dataset, panels: str = "abcdefg", phase_map: bool = True,
                title: str | None = None, annotate: bool = True, phase: xr.DataArray | None = None,
                boundaries: str | Sequence[str] = (), confidence: xr.DataArray | None = None,
                **classify_options):
    """Draw the paper's panels (a-g) and the phase map in the paper's layout.

    Parameters
    ----------
    dataset : xarray.Dataset
        A grid from :func:`lscape.grid.run_grid` or :func:`lscape.grid.assemble`.
    panels : str, default "abcdefg"
        Which panels, by the paper's letters: a test accuracy, b training
        loss, c Hessian top eigenvalue, d Hessian trace, e mode connectivity,
        f CKA similarity, g L2 distance.
    phase_map : bool, default True
        Add the phase map (see :func:`lscape.phases.classify`).
    title : str, optional
        Figure title.
    annotate : bool, default True
        Write each cell's value.
    phase : xarray.DataArray, optional
        Precomputed phase labels.
    boundaries : str or sequence of str, default ()
        Panels that get the phase boundaries drawn over them (see
        :func:`plot_phase_boundaries`): a string of letters such as ``"a"``
        (the test accuracy, as in the paper), or a list of letters and
        ``"phase"`` for the phase map.
    confidence : xarray.DataArray, optional
        From :func:`lscape.phases.confidence`; hatches low-confidence cells
        of the phase map.
    **classify_options
        Passed to :func:`lscape.phases.classify`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    func = "plot_panels()"
    _check_grid(dataset, func)
    if not isinstance(panels, str) or not panels or set(panels) - set(PANELS):
        raise parameter_error(func, "panels", f"a non-empty string of panel letters from {''.join(PANELS)!r}", panels)
    check_bool(phase_map, "phase_map", func)
    if title is not None:
        check_str(title, "title", func)
    check_bool(annotate, "annotate", func)
    check_data_array(phase, "phase", func, "an xarray.DataArray from lscape.phases.classify() or None")
    check_data_array(confidence, "confidence", func, "an xarray.DataArray from lscape.phases.confidence() or None")
    if not isinstance(boundaries, (str, Sequence)) or set(boundaries) - set(PANELS) - {"phase"}:
        raise parameter_error(func, "boundaries", f"panel letters from {''.join(PANELS)!r} or 'phase'",
                              boundaries)

    letters = [p for p in panels if p in PANELS and PANELS[p][0] in dataset]
    if panels == "abcdefg" and len(letters) == 7:
        rows = [["a", "phase" if phase_map else "."], ["b", "c", "d"], ["e", "f", "g"]]
    else:
        cells = letters + (["phase"] if phase_map else [])
        columns = 4 if len(cells) > 4 else len(cells)
        rows = [cells[i : i + columns] for i in range(0, len(cells), columns)]
    columns = max(len(r) for r in rows)
    # Centre short rows: each panel spans 2 of 2 * columns grid slots.
    figure = plt.figure(figsize=(4.2 * columns, 3.5 * len(rows)), layout="constrained")
    spec = figure.add_gridspec(len(rows), 2 * columns)
    axes = {}
    for r, row in enumerate(rows):
        offset = columns - len(row)
        for c, key in enumerate(row):
            if key == ".":
                continue
            axes[key] = figure.add_subplot(spec[r, offset + 2 * c : offset + 2 * c + 2])
    targets = set(boundaries)
    legend_on = next((key for key in axes if key in targets and key != "phase"), None)
    if phase is None and (phase_map or targets):
        phase = classify(dataset, **classify_options)
    for key, ax in axes.items():
        if key == "phase":
            plot_phase_map(ax, dataset, phase, confidence=confidence, boundaries="phase" in targets)
        else:
            name, label, cmap, log10 = PANELS[key]
            plot_panel(ax, dataset, name, f"({key}) {label}", cmap, log10, annotate)
            if key in targets:
                plot_phase_boundaries(ax, dataset, phase, legend=key == legend_on)
    if title:
        figure.suptitle(title)
    return figure


def plot_curve_profiles(dataset: xr.Dataset, pair: str | None = None, variable: str = "curve_error",
                        baseline: bool = True):
    """Draw the training error along each cell's trained curve, one small plot per cell.

    Rows are temperatures (in the phase-diagram order), columns loads; the
    straight line between the same models is drawn dashed when ``baseline``.
    """
    import matplotlib.pyplot as plt

    func = "plot_curve_profiles()"
    load, temperature = _check_grid(dataset, func)
    _check_variable(dataset, variable, func, "variable")
    if not {"pair", "t"} <= set(dataset[variable].dims):
        raise parameter_error(func, "variable", "a curve profile over (pair, t), such as 'curve_error'", variable,
                              f"Its dims are {dataset[variable].dims}.")
    pairs = [str(label) for label in dataset["pair"].values]
    if pair is not None and pair not in pairs:
        raise parameter_error(func, "pair", f"None or one of {pairs}", pair)
    check_bool(baseline, "baseline", func)
    pair = pair if pair is not None else str(dataset["pair"].values[0])
    temps = list(dataset[temperature].values)
    if temperature not in INVERSE_TEMPERATURE:
        temps = temps[::-1]
    loads = list(dataset[load].values)
    figure, axes = plt.subplots(len(temps), len(loads), figsize=(1.6 * len(loads) + 1, 1.3 * len(temps) + 1),
                                sharex=True, sharey=True, squeeze=False, layout="constrained")
    t = dataset["t"].values
    for i, temp in enumerate(temps):
        for j, value in enumerate(loads):
            ax = axes[i, j]
            cell = dataset.sel({temperature: temp, load: value, "pair": pair})
            ax.plot(t, cell[variable].values, "o-", color="C0", markersize=3)
            linear = variable.replace("curve_", "linear_")
            if baseline and linear in dataset:
                ax.plot(t, cell[linear].values, "--", color="0.6", linewidth=1)
            mc = float(cell["mc"]) if "mc" in cell else np.nan
            if np.isfinite(mc):
                ax.set_title(f"mc={mc:.1f}", fontsize=7, color="C3" if mc > 0 else "C0")
            ax.tick_params(labelsize=6)
            if i == len(temps) - 1:
                ax.set_xlabel(f"{load}={value:g}", fontsize=7)
            if j == 0:
                ax.set_ylabel(f"{temperature}={temp:g}", fontsize=7)
    figure.suptitle(f"{dataset[variable].attrs.get('long_name', variable)} (pair {pair}); dashed: straight line",
                    fontsize=9)
    return figure
