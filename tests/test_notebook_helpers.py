"""Tests for notebook parameter handling, phases and plots."""

import numpy as np
import pytest
import xarray as xr

from lscape import notebook
from lscape.phases import classify
from lscape.plots import plot_panels, plot_phase_map
from lscape.validation import ParameterError


def test_yaml_string_lists_accepted(monkeypatch):
    monkeypatch.delenv("LSCAPE_PRESET", raising=False)
    spec = notebook.grid_spec("fig2_standard", widths="[2, 4]", batch_sizes="[16, 64]", seeds="[0, 1, 2]")
    assert spec.load_values == (2, 4)
    assert spec.temperature_values == (16, 64)
    assert spec.seeds == (0, 1, 2)


def test_unparseable_list_message(monkeypatch):
    monkeypatch.delenv("LSCAPE_PRESET", raising=False)
    with pytest.raises(ParameterError, match=r"'widths' parameter of the fig2_standard notebook must be a list.*-y 'widths: \[2, 4, 8\]'"):
        notebook.grid_spec("fig2_standard", widths="2, 4", batch_sizes=[16])


def test_bad_width_named(monkeypatch):
    monkeypatch.delenv("LSCAPE_PRESET", raising=False)
    with pytest.raises(ParameterError, match=r"'widths\[1\]' parameter .* an int in \[1, inf\)\. Got 0"):
        notebook.grid_spec("fig2_standard", widths=[2, 0], batch_sizes=[16])


def test_unknown_setting_rejected(monkeypatch):
    monkeypatch.delenv("LSCAPE_PRESET", raising=False)
    with pytest.raises(ParameterError, match=r"unknown parameter\(s\) \['epochs'\]"):
        notebook.grid_spec("fig2_standard", widths=[2], batch_sizes=[16], epochs=3)


def test_bad_setting_rejected(monkeypatch):
    monkeypatch.delenv("LSCAPE_PRESET", raising=False)
    with pytest.raises(ParameterError, match=r"'lr' parameter of RunConfig\(\) must be a real number in \(0, inf\)\. Got -0\.1"):
        notebook.grid_spec("fig2_standard", widths=[2], batch_sizes=[16], lr=-0.1)


def test_environment_preset_overrides(monkeypatch):
    monkeypatch.setenv("LSCAPE_PRESET", "ci")
    spec = notebook.grid_spec("fig2_standard", widths=[2, 4, 8, 16, 32], batch_sizes=[16, 64, 256, 1024])
    assert spec.load_values == tuple(notebook.CI_AXES["widths"])
    assert spec.base.max_epochs == notebook.CI_PRESET["max_epochs"]


def test_bad_preset_message(monkeypatch):
    monkeypatch.setenv("LSCAPE_PRESET", "huge")
    with pytest.raises(ParameterError, match=r"'preset' .* one of \{'default', 'ci'\}\. Got 'huge'"):
        notebook.grid_spec("fig2_standard", widths=[2], batch_sizes=[16])


def _synthetic_grid():
    """A 2 x 3 grid whose phases are known by construction."""
    batch_sizes, widths = [16, 512], [2, 8, 32]
    train_loss = np.array([[1.0, 0.8, 0.5], [0.01, 0.005, 0.002]])
    mc = np.array([[-10.0, 5.0, 8.0], [-12.0, -0.5, 0.3]])
    cka = np.array([[0.3, 0.4, 0.5], [0.3, 0.6, 0.9]])
    coords = {"batch_size": batch_sizes, "width": widths}
    dims = ("batch_size", "width")
    data = xr.Dataset(
        {
            "train_loss": (dims, train_loss), "mc": (dims, mc), "cka": (dims, cka),
            "test_accuracy": (dims, 100 - 50 * train_loss), "hessian_eigenvalue": (dims, 10 * train_loss + 1),
            "hessian_trace": (dims, 100 * train_loss + 1), "l2_distance": (dims, np.ones((2, 3))),
            "diverged": (dims, np.zeros((2, 3))),
        },
        coords=coords,
    )
    data.attrs.update({"load": "width", "temperature": "batch_size"})
    return data


def test_classify_known_phases():
    phase = classify(_synthetic_grid())
    assert phase.dims == ("batch_size", "width")
    assert phase.sel(batch_size=16, width=2).item() == "I"
    assert phase.sel(batch_size=16, width=32).item() == "II"
    assert phase.sel(batch_size=512, width=2).item() == "III"
    assert phase.sel(batch_size=512, width=8).item() == "IV-A"
    assert phase.sel(batch_size=512, width=32).item() == "IV-B"


def test_classify_marks_not_converged():
    data = _synthetic_grid()
    data["diverged"][0, 0] = 1
    assert classify(data).sel(batch_size=16, width=2).item() == "NC"


def test_classify_missing_data_nan():
    # Missing labels are NaN (not ""), so pandas and xarray see them as missing.
    data = _synthetic_grid()
    data["mc"][1, 1] = np.nan
    label = classify(data).sel(batch_size=512, width=8).item()
    assert isinstance(label, float) and np.isnan(label)


def test_classify_missing_variable_message():
    with pytest.raises(ParameterError, match=r"lacks the variable\(s\) \['cka'\]"):
        classify(_synthetic_grid().drop_vars("cka"))


def test_plot_panels_paper_layout():
    import matplotlib

    matplotlib.use("Agg")
    figure = plot_panels(_synthetic_grid())
    titles = [ax.get_title() for ax in figure.axes]
    for letter in "abcdefg":
        assert any(title.startswith(f"({letter})") for title in titles), letter
    assert "Phase" in titles
    accuracy = next(ax for ax in figure.axes if ax.get_title().startswith("(a)"))
    assert accuracy.get_xscale() == "log"
    bottom, top = accuracy.get_ylim()
    assert bottom > top  # batch size grows downward


def test_mc_panel_centred_at_zero():
    import matplotlib

    matplotlib.use("Agg")
    figure = plot_panels(_synthetic_grid(), panels="e", phase_map=False)
    mesh = figure.axes[0].collections[0]
    assert mesh.norm.vcenter == 0.0
    assert mesh.norm.vmin == -mesh.norm.vmax


def test_phase_map_labels_written():
    import matplotlib
    import matplotlib.pyplot as plt

    matplotlib.use("Agg")
    figure, ax = plt.subplots()
    plot_phase_map(ax, _synthetic_grid())
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == sorted(["I", "II", "III", "IV-A", "IV-B", "II"])


def test_check_results_accepts_valid_grid():
    data = _synthetic_grid()
    notebook.check_results(data)


def test_check_results_rejects_missing_accuracy():
    data = _synthetic_grid()
    data["test_accuracy"][0, 0] = np.nan
    with pytest.raises(AssertionError, match="lacks its test accuracy"):
        notebook.check_results(data)


def test_check_results_rejects_cka_out_of_range():
    data = _synthetic_grid()
    data["cka"][1, 2] = 1.5
    with pytest.raises(AssertionError, match=r"CKA outside \[0, 1\]"):
        notebook.check_results(data)
