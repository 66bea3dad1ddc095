"""Slice plots and the slider widget of lscape.widgets, on a small synthetic grid."""

import json
import subprocess
import sys
import warnings
from pathlib import Path

import ipywidgets
import matplotlib.collections
import nbformat
import numpy as np
import pytest
import xarray as xr

from lscape import widgets
from lscape.validation import ParameterError

BATCH_SIZES = [16, 64, 256]
WIDTHS = [2, 4, 8, 16]
SEEDS = [0, 1, 2]
PAIRS = ["0-1", "0-2", "1-2"]
T = [0.0, 0.25, 0.5, 0.75, 1.0]
PER_RUN = ["test_accuracy", "train_loss", "hessian_eigenvalue", "hessian_trace"]
PER_PAIR = ["mc", "cka", "l2_distance"]


def synthetic_grid(seed: int = 0) -> xr.Dataset:
    """Return a grid shaped like run_grid's output, filled with random positive numbers."""
    rng = np.random.default_rng(seed)
    run_shape = (len(BATCH_SIZES), len(WIDTHS), len(SEEDS))
    pair_shape = (len(BATCH_SIZES), len(WIDTHS), len(PAIRS))
    curve_shape = pair_shape + (len(T),)
    data = {name: (("batch_size", "width", "seed"), rng.uniform(0.1, 10.0, run_shape)) for name in PER_RUN}
    data |= {name: (("batch_size", "width", "pair"), rng.uniform(0.1, 10.0, pair_shape)) for name in PER_PAIR}
    data["mc"] = (("batch_size", "width", "pair"), rng.uniform(-20.0, 20.0, pair_shape))
    data["curve_error"] = (("batch_size", "width", "pair", "t"), rng.uniform(0.0, 100.0, curve_shape))
    data["linear_error"] = (("batch_size", "width", "pair", "t"), rng.uniform(0.0, 100.0, curve_shape))
    coords = {"batch_size": BATCH_SIZES, "width": WIDTHS, "seed": SEEDS, "pair": PAIRS, "t": T}
    return xr.Dataset(data, coords=coords, attrs={"load": "width", "temperature": "batch_size"})


def synthetic_phase() -> xr.DataArray:
    labels = np.array([["I", "II", "III", "IV-A"], ["II", "III", "IV-A", "IV-B"], ["III", "IV-A", "IV-B", "NC"]])
    return xr.DataArray(labels, coords={"batch_size": BATCH_SIZES, "width": WIDTHS}, dims=("batch_size", "width"))


def metric_axes(figure) -> dict:
    """Map each plotted metric title to its axes (the legend slot has no title)."""
    return {ax.get_title(): ax for ax in figure.axes if ax.get_title()}


def mean_line(ax):
    """Return the solid line of a slice plot: the mean over seeds or pairs."""
    solid = [line for line in ax.get_lines() if line.get_linestyle() == "-"]
    assert len(solid) == 1
    return solid[0]


@pytest.fixture
def grid():
    return synthetic_grid()


def test_row_slice_means_over_seeds(grid):
    figure = widgets.plot_row_slice(grid, 64)
    axes = list(metric_axes(figure).values())
    assert len(axes) == 7
    for ax, (name, _, _) in zip(axes, widgets.SLICE_METRICS):
        repeat = "seed" if name in PER_RUN else "pair"
        expected = grid[name].sel(batch_size=64).mean(repeat).values
        line = mean_line(ax)
        np.testing.assert_allclose(line.get_xdata(), WIDTHS)
        np.testing.assert_allclose(line.get_ydata(), expected)


def test_row_slice_dots_and_band_show_spread(grid):
    figure = widgets.plot_row_slice(grid, 256, metrics=["hessian_trace", "cka"])
    for ax, name, repeat in zip(figure.axes, ["hessian_trace", "cka"], ["seed", "pair"]):
        values = grid[name].sel(batch_size=256).transpose("width", repeat).values
        dots = [line for line in ax.get_lines() if line.get_marker() == "."]
        assert len(dots) == values.shape[1]
        for column, line in enumerate(dots):
            np.testing.assert_allclose(line.get_ydata(), values[:, column])
        bands = [c for c in ax.collections if isinstance(c, matplotlib.collections.PolyCollection)]
        assert len(bands) == 1
        vertices = bands[0].get_paths()[0].vertices
        for i, width in enumerate(WIDTHS):
            at_width = vertices[np.isclose(vertices[:, 0], width), 1]
            assert np.isclose(at_width.min(), values[i].min())
            assert np.isclose(at_width.max(), values[i].max())


def test_column_slice_runs_along_temperature(grid):
    figure = widgets.plot_column_slice(grid, 8)
    axes = metric_axes(figure)
    accuracy = axes["Test accuracy (%)"]
    np.testing.assert_allclose(mean_line(accuracy).get_xdata(), BATCH_SIZES)
    np.testing.assert_allclose(mean_line(accuracy).get_ydata(), grid["test_accuracy"].sel(width=8).mean("seed"))
    assert accuracy.xaxis_inverted(), "batch size must decrease to the right: temperature grows to the right"
    assert "8" in figure.get_suptitle()


def test_column_slice_keeps_lr_axis_increasing(grid):
    renamed = grid.rename(batch_size="lr").assign_coords(lr=[0.01, 0.05, 0.1])
    renamed.attrs["temperature"] = "lr"
    figure = widgets.plot_column_slice(renamed, 4, metrics=["cka"])
    assert not figure.axes[0].xaxis_inverted()


def test_log_scale_only_for_positive_losses(grid):
    axes = metric_axes(widgets.plot_row_slice(grid, 16))
    assert axes["Training loss"].get_yscale() == "log"
    assert axes["Mode connectivity (%)"].get_yscale() == "linear"
    negative = grid.copy(deep=True)
    negative["hessian_eigenvalue"][0, 0, 0] = -1.0
    axes = metric_axes(widgets.plot_row_slice(negative, 16))
    assert axes["Hessian top eigenvalue"].get_yscale() == "linear"


def test_diverged_cell_is_gap_without_warning(grid):
    grid["train_loss"].loc[{"batch_size": 64, "width": 4}] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figure = widgets.plot_row_slice(grid, 64, metrics=["train_loss"])
    ydata = mean_line(figure.axes[0]).get_ydata()
    assert np.isnan(ydata[WIDTHS.index(4)])
    assert np.isfinite(ydata[WIDTHS.index(8)])


def test_phase_labels_above_each_plot(grid):
    figure = widgets.plot_row_slice(grid, 256, metrics=["cka"], phase=synthetic_phase())
    texts = [text.get_text() for text in figure.axes[0].texts]
    assert texts == ["III", "IV-A", "IV-B", "NC"]


def test_cell_profile_draws_every_pair(grid):
    figure = widgets.plot_cell_profile(grid, 4, 64, phase=synthetic_phase())
    ax = figure.axes[0]
    curves = [line for line in ax.get_lines() if line.get_linestyle() == "-"]
    lines = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(curves) == len(lines) == len(PAIRS)
    for line, pair in zip(curves, PAIRS):
        np.testing.assert_allclose(line.get_ydata(), grid["curve_error"].sel(batch_size=64, width=4, pair=pair))
    mc = float(grid["mc"].sel(batch_size=64, width=4).mean())
    assert f"mc = {mc:.1f}" in ax.get_title()
    assert "phase III" in ax.get_title()


def link_pairs() -> set:
    """Return (source model id, trait, target model id, trait) for every jslink alive in this kernel."""
    state = ipywidgets.Widget.get_manager_state(drop_defaults=False)["state"]
    pairs = set()
    for model in state.values():
        if model["model_name"] == "LinkModel":
            (source, source_trait), (target, target_trait) = model["state"]["source"], model["state"]["target"]
            pairs.add((source.removeprefix("IPY_MODEL_"), source_trait, target.removeprefix("IPY_MODEL_"), target_trait))
    return pairs


def by_class(box, css_class: str):
    """Return the descendants of ``box`` that carry ``css_class``."""
    found = [box] if css_class in box._dom_classes else []
    for child in getattr(box, "children", ()):
        found += by_class(child, css_class)
    return found


def test_explorer_links_sliders_to_slices(grid):
    box = widgets.slice_explorer(grid, phase=synthetic_phase(), dpi=30)
    (temperature,) = by_class(box, "lscape-temperature-slider")
    (load,) = by_class(box, "lscape-load-slider")
    (rows,) = by_class(box, "lscape-row-slice")
    (columns,) = by_class(box, "lscape-column-slice")
    (cells,) = by_class(box, "lscape-cell-profile")
    assert list(temperature.options) == ["16", "64", "256"]
    assert list(load.options) == ["2", "4", "8", "16"]
    assert len(rows.children) == 3
    assert len(columns.children) == 4
    assert [len(row.children) for row in cells.children] == [4, 4, 4]

    links = link_pairs()
    assert (temperature.model_id, "index", rows.model_id, "selected_index") in links
    assert (load.model_id, "index", columns.model_id, "selected_index") in links
    assert (temperature.model_id, "index", cells.model_id, "selected_index") in links
    for row in cells.children:
        assert (load.model_id, "index", row.model_id, "selected_index") in links


def test_explorer_draws_distinct_png_per_slice(grid):
    box = widgets.slice_explorer(grid, dpi=30)
    (rows,) = by_class(box, "lscape-row-slice")
    (columns,) = by_class(box, "lscape-column-slice")
    (cells,) = by_class(box, "lscape-cell-profile")
    images = list(rows.children) + list(columns.children) + [image for row in cells.children for image in row.children]
    assert len(images) == 3 + 4 + 12
    pngs = [bytes(image.value) for image in images]
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in pngs)
    assert len(set(pngs)) == len(pngs)


def test_explorer_without_curve_data(grid):
    box = widgets.slice_explorer(grid.drop_vars(["curve_error", "linear_error"]), dpi=30)
    assert by_class(box, "lscape-cell-profile") == []
    assert len(by_class(box, "lscape-row-slice")) == 1


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda g: widgets.slice_explorer(g.to_array()), "The 'results' parameter of slice_explorer() must be an xarray.Dataset"),
        (lambda g: widgets.plot_row_slice(g, 32), "The 'temperature_value' parameter of plot_row_slice() must be one of {16, 64, 256}. Got 32"),
        (lambda g: widgets.plot_column_slice(g, 3), "The 'load_value' parameter of plot_column_slice() must be one of {2, 4, 8, 16}. Got 3"),
        (lambda g: widgets.plot_row_slice(g, 16, metrics=["accuracy"]), "The 'metrics[0]' parameter of plot_row_slice() must be a variable of results"),
        (lambda g: widgets.plot_row_slice(g, 16, metrics=["curve_error"]), "must be a variable over (width, batch_size) and optionally seed or pair"),
        (lambda g: widgets.plot_row_slice(g, 16, metrics="cka"), "The 'metrics' parameter of plot_row_slice() must be a non-empty list"),
        (lambda g: widgets.plot_cell_profile(g, 4, 64, variable="mc"), "The 'variable' parameter of plot_cell_profile() must be one of"),
        (lambda g: widgets.slice_explorer(g, max_images=10), "must be at least the 19 images this grid needs. Got 10 instead. Raise max_images"),
        (lambda g: widgets.slice_explorer(g, dpi=0), "The 'dpi' parameter of slice_explorer() must be an int in [20, 300]"),
        (lambda g: widgets.slice_explorer(g.drop_vars("curve_error"), cell_profiles=True), "The 'cell_profiles' parameter of slice_explorer() must be False"),
        (lambda g: widgets.slice_explorer(g.drop_vars(PER_RUN + PER_PAIR)), "must be a grid with at least one of the seven metrics"),
    ],
)
def test_bad_input_is_named(grid, call, message):
    with pytest.raises(ParameterError) as raised:
        call(grid)
    assert message in str(raised.value)


def test_grid_without_axes_is_rejected(grid):
    extra = grid.expand_dims(lr=[0.1]).transpose("lr", ...)
    extra.attrs = {}
    with pytest.raises(ParameterError, match="must be a grid with a load and a temperature dimension"):
        widgets.plot_row_slice(extra, 16)


def test_numpy_coordinate_values_accepted(grid):
    figure = widgets.plot_row_slice(grid, grid["batch_size"].values[1], metrics=["cka"])
    assert "batch_size = 64" in figure.get_suptitle()


def test_papermill_saves_widget_state(tmp_path, grid):
    """Executing a notebook that shows the explorer stores the state a static page needs."""
    grid.to_netcdf(tmp_path / "grid.nc")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(
        "import xarray as xr\n"
        "from lscape import widgets\n"
        f"widgets.slice_explorer(xr.load_dataset({str(tmp_path / 'grid.nc')!r}), dpi=30)"
    )]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    source, output = tmp_path / "explorer.ipynb", tmp_path / "explorer.out.ipynb"
    nbformat.write(notebook, source)
    papermill = Path(sys.executable).parent / "papermill"
    subprocess.run([str(papermill), str(source), str(output)], check=True, capture_output=True, timeout=300)

    executed = json.loads(output.read_text())
    state = executed["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    models = [model["model_name"] for model in state.values()]
    assert models.count("SelectionSliderModel") == 2
    assert models.count("StackModel") == 3 + 3  # rows, columns, cells, and one cell row per batch size
    assert models.count("LinkModel") == 3 + 3
    images = [model for model in state.values() if model["model_name"] == "ImageModel"]
    assert len(images) == 19
    for image in images:
        (buffer,) = image["buffers"]
        assert buffer["path"] == ["value"]
        assert buffer["encoding"] == "base64"
        assert buffer["data"].startswith("iVBORw0KGgo")  # base64 of the PNG signature
    view = executed["cells"][0]["outputs"][0]["data"]["application/vnd.jupyter.widget-view+json"]
    assert state[view["model_id"]]["model_name"] == "VBoxModel"
