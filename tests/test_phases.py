"""Tests for the phase classifier, its confidence and the boundary plot, on the authors' grid and others."""

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from lscape import reference
from lscape.phases import PhaseWarning, classify, confidence, is_missing, phase_labels
from lscape.validation import ParameterError

# Cells whose phase the paper's Figure 2/3 layout leaves no doubt about,
# as (batch_size, width).
UNAMBIGUOUS = {
    "I": [(16, 1), (24, 2), (32, 3), (44, 4)],
    "II": [(16, 32), (16, 128), (19, 64), (24, 16)],
    "III": [(128, 8), (256, 6), (1024, 8), (512, 11)],
    "IV-A": [(1024, 23), (1024, 45), (724, 32), (512, 23)],
    "IV-B": [(64, 91), (92, 64), (128, 128), (180, 45)],
}


@pytest.fixture(scope="module")
def authors():
    return reference.load("yang2021_fig3")


@pytest.fixture(scope="module")
def authors_phase(authors):
    return classify(authors)


def _cells(phase, label):
    return [(int(b), int(w)) for b, w in zip(*np.nonzero(phase.values == label))]


@pytest.mark.parametrize("label", list(UNAMBIGUOUS))
def test_authors_grid_matches_paper(authors_phase, label):
    for batch_size, width in UNAMBIGUOUS[label]:
        assert authors_phase.sel(batch_size=batch_size, width=width).item() == label, (batch_size, width)


def test_authors_grid_every_phase_present(authors_phase):
    labels = set(authors_phase.values.ravel())
    assert labels == {"I", "II", "III", "IV-A", "IV-B"}


def test_phase_four_b_is_most_similar(authors, authors_phase):
    means = authors.mean(["seed", "pair"])
    cka_b = means["cka"].where(authors_phase == "IV-B").mean().item()
    cka_a = means["cka"].where(authors_phase == "IV-A").mean().item()
    assert cka_b > cka_a
    accuracy_b = means["test_accuracy"].where(authors_phase == "IV-B").mean().item()
    accuracy_a = means["test_accuracy"].where(authors_phase == "IV-A").mean().item()
    assert accuracy_b > accuracy_a


def test_best_test_accuracy_in_phase_four_b(authors, authors_phase):
    accuracy = authors["test_accuracy"].mean("seed")
    best = accuracy.where(accuracy == accuracy.max(), drop=True)
    assert authors_phase.sel(batch_size=best["batch_size"].item(), width=best["width"].item()).item() == "IV-B"


def test_phase_three_is_narrow_band(authors, authors_phase):
    means = authors.mean(["seed", "pair"])
    three = authors_phase == "III"
    assert int(three.sum()) > 0
    assert means["width"].where(three).max().item() <= 16
    assert means["batch_size"].where(three).min().item() >= 64
    assert means["train_loss"].where(three).max().item() < 0.05


def test_thresholds_recorded(authors_phase):
    attrs = authors_phase.attrs
    assert attrs["sharpness"] == "train_loss,hessian_trace"
    largest = 29.752  # |mc| at batch size 724, width 3
    assert attrs["mc_tolerance"] == pytest.approx(0.05 * largest)
    assert 0.6 < attrs["cka_threshold"] < 0.7
    assert attrs["train_loss_threshold"] == pytest.approx(0.0363, rel=1e-2)


def test_mc_on_loss_gives_same_layout(authors):
    phase = classify(authors, mc="mc_loss")
    assert phase.sel(batch_size=16, width=1).item() == "I"
    assert phase.sel(batch_size=16, width=128).item() == "II"
    assert phase.sel(batch_size=256, width=6).item() == "III"
    assert phase.sel(batch_size=92, width=64).item() == "IV-B"
    assert phase.sel(batch_size=1024, width=64).item() == "IV-A"


def test_labels_unchanged_by_units(authors, authors_phase):
    scaled = authors.copy()
    scaled["mc"] = authors["mc"] / 100  # a fraction instead of percent
    scaled["train_loss"] = authors["train_loss"] * 1000
    scaled["hessian_trace"] = authors["hessian_trace"] * 7
    again = classify(scaled)
    assert (again.values == authors_phase.values).all()


def test_runs_on_lscape_grid_layout():
    """A grid in lscape's own layout (dims in assemble's order, a diverged run)."""
    data = _synthetic_grid()
    data["diverged"][0, 0, 1] = 1
    phase = classify(data)
    assert phase.dims == ("batch_size", "width")
    assert phase.sel(batch_size=16, width=2).item() == "NC"
    assert phase.sel(batch_size=512, width=32).item() == "IV-B"


@pytest.mark.slow
def test_runs_on_trained_fig2_grid(tmp_path, monkeypatch):
    from lscape import grid, notebook

    monkeypatch.setenv("LSCAPE_PRESET", "ci")
    spec = notebook.grid_spec("fig2_standard", widths=[2, 8], batch_sizes=[64, 512])
    results = grid.run_grid(spec, results_dir=tmp_path, workers=1, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PhaseWarning)
        phase = classify(results)
        shares = confidence(results, num_resamples=20)
    assert phase.shape == (2, 2)
    for label in phase.values.ravel():
        assert label in {"I", "II", "III", "IV-A", "IV-B", "NC"} or is_missing([label])[0]
    assert ((shares.values >= 0) & (shares.values <= 1) | np.isnan(shares.values)).all()


def _synthetic_grid(num_seeds=2):
    """A 2 x 3 grid in lscape's layout whose phases are known by construction."""
    batch_sizes, widths = [16, 512], [2, 8, 32]
    train_loss = np.array([[1.0, 0.8, 0.5], [0.01, 0.005, 0.002]])
    mc = np.array([[-10.0, 5.0, 8.0], [-12.0, -0.3, 0.3]])
    cka = np.array([[0.3, 0.4, 0.5], [0.3, 0.6, 0.9]])
    runs = ("batch_size", "width", "seed")
    pairs = ("batch_size", "width", "pair")
    repeat = np.ones(num_seeds)
    data = xr.Dataset(
        {
            "train_loss": (runs, train_loss[..., None] * repeat),
            "hessian_trace": (runs, (100 * train_loss + 1)[..., None] * repeat),
            "hessian_eigenvalue": (runs, (10 * train_loss + 1)[..., None] * repeat),
            "diverged": (runs, np.zeros((2, 3, num_seeds))),
            "mc": (pairs, mc[..., None]),
            "cka": (pairs, cka[..., None]),
        },
        coords={"batch_size": batch_sizes, "width": widths, "seed": list(range(num_seeds)), "pair": ["0-1"]},
    )
    data.attrs.update({"load": "width", "temperature": "batch_size"})
    return data


def test_missing_label_is_nan():
    data = _synthetic_grid()
    data["mc"][1, 1, 0] = np.nan
    label = classify(data).sel(batch_size=512, width=8).item()
    assert isinstance(label, float) and np.isnan(label)


def test_missing_label_survives_netcdf(tmp_path):
    data = _synthetic_grid()
    data["mc"][1, 1, 0] = np.nan
    phase = classify(data)
    path = tmp_path / "phase.nc"
    phase.to_netcdf(path)
    with xr.open_dataarray(path) as again:
        values = again.load().values
    assert is_missing(values).tolist() == is_missing(phase.values).tolist()
    assert values[0, 0] == "I"


def test_missing_label_survives_pandas():
    data = _synthetic_grid()
    data["train_loss"][0, 2] = np.nan
    table = classify(data).to_dataframe()["phase"]
    assert table.isna().sum() == 1
    assert pd.isna(table.loc[(16, 32)])


def test_cka_needed_only_in_phase_four():
    data = _synthetic_grid()
    data["cka"][0, 0, 0] = np.nan
    data["cka"][1, 2, 0] = np.nan
    phase = classify(data, cka_threshold=0.5)
    assert phase.sel(batch_size=16, width=2).item() == "I"
    assert is_missing([phase.sel(batch_size=512, width=32).item()])[0]


def test_positive_mc_with_high_loss_is_phase_two():
    phase = classify(_synthetic_grid())
    assert phase.sel(batch_size=16, width=8).item() == "II"


def test_mc_tolerance_in_units_overrides_relative():
    data = _synthetic_grid()
    assert classify(data).sel(batch_size=512, width=8).item() == "IV-A"
    assert classify(data, mc_tolerance=0.1).sel(batch_size=512, width=8).item() == "III"


def test_loss_threshold_single_variable():
    phase = classify(_synthetic_grid(), loss_threshold=0.9, sharpness="train_loss")
    assert phase.sel(batch_size=16, width=2).item() == "I"
    assert phase.sel(batch_size=16, width=8).item() == "IV-A"
    assert phase.attrs["loss_threshold"] == 0.9


def test_loss_threshold_with_two_variables_message():
    with pytest.raises(ParameterError, match=r"The 'loss_threshold' parameter of classify\(\) must be None "
                                             r"when 'sharpness' names more than one variable\. Got 0\.1 instead"):
        classify(_synthetic_grid(), loss_threshold=0.1)


def test_bad_sharpness_message():
    with pytest.raises(ParameterError, match=r"The 'sharpness\[1\]' parameter of classify\(\) must be one of "
                                             r"\{'train_loss', 'hessian_trace', 'hessian_eigenvalue'\}\. "
                                             r"Got 'test_loss' instead"):
        classify(_synthetic_grid(), sharpness=["train_loss", "test_loss"])


def test_bad_mc_variable_message():
    with pytest.raises(ParameterError, match=r"The 'mc' parameter of classify\(\) must be one of "
                                             r"\{'mc', 'mc_loss'\}\. Got 'linear_mc' instead"):
        classify(_synthetic_grid(), mc="linear_mc")


def test_bad_level_message():
    with pytest.raises(ParameterError, match=r"The 'sharp_level' parameter of classify\(\) must be a real number "
                                             r"in \[0, 1\]\. Got 1\.5 instead"):
        classify(_synthetic_grid(), sharp_level=1.5)


def test_missing_variable_message():
    with pytest.raises(ParameterError, match=r"lacks the variable\(s\) \['hessian_trace'\]"):
        classify(_synthetic_grid().drop_vars("hessian_trace"))


def test_narrow_range_warns():
    data = _synthetic_grid()
    data["train_loss"] = data["train_loss"] * 0 + 0.5
    with pytest.warns(PhaseWarning, match=r"'train_loss' span only a factor 1 "):
        classify(data, sharpness="train_loss")


def test_phase_labels_truth_table():
    sharp = np.array([True, True, False, False, False])
    poor = np.array([True, False, True, False, False])
    similar = np.array([False, False, False, False, True])
    assert phase_labels(sharp, poor, similar).tolist() == ["I", "II", "III", "IV-A", "IV-B"]


def test_confidence_clear_cells_are_certain():
    shares = confidence(_synthetic_grid(num_seeds=3), num_resamples=50)
    assert shares.sel(batch_size=16, width=2).item() == 1.0
    assert shares.sel(batch_size=512, width=32).item() == 1.0


def test_confidence_nan_where_not_converged():
    data = _synthetic_grid()
    data["diverged"][0, 0, 0] = 1
    assert np.isnan(confidence(data, num_resamples=10).sel(batch_size=16, width=2).item())


def test_confidence_matches_bootstrap_closed_form():
    """Two seeds straddle the boundary: 3 of the 4 equally likely resamples keep the label."""
    data = _synthetic_grid()
    # Cell (512, 32): the mean of the two seeds stays flat (loss 0.051 below
    # its boundary 0.071, trace 10.6 below 12.3), and only the resample that
    # draws seed 1 twice crosses into sharp.
    data["train_loss"][1, 2] = [0.002, 0.1]
    data["hessian_trace"][1, 2] = [1.2, 20.0]
    phase = classify(data, cka_threshold=0.8)
    assert phase.sel(batch_size=512, width=32).item() == "IV-B"
    share = confidence(data, phase, num_resamples=4000, seed=1, cka_threshold=0.8)
    # Standard error sqrt(0.75 * 0.25 / 4000) = 0.007; allow 3 of them.
    assert share.sel(batch_size=512, width=32).item() == pytest.approx(0.75, abs=0.021)


def test_confidence_repeatable_with_seed(authors):
    first = confidence(authors, num_resamples=20, seed=3)
    second = confidence(authors, num_resamples=20, seed=3)
    np.testing.assert_array_equal(first.values, second.values)
    assert (first.values[np.isfinite(first.values)] >= 0).all()


def test_confidence_below_one_near_boundaries(authors):
    shares = confidence(authors, num_resamples=100)
    assert shares.min().item() < 0.8
    assert shares.sel(batch_size=16, width=1).item() == 1.0


def test_confidence_unknown_option_message():
    with pytest.raises(ParameterError, match=r"confidence\(\) got unknown classify\(\) option\(s\) \['tolerance'\]"):
        confidence(_synthetic_grid(), tolerance=1.0)


def test_confidence_bad_resamples_message():
    with pytest.raises(ParameterError, match=r"The 'num_resamples' parameter of confidence\(\) must be an int "
                                             r"in \[1, inf\)\. Got 0 instead"):
        confidence(_synthetic_grid(), num_resamples=0)


def test_boundaries_drawn_by_kind():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lscape.plots import plot_phase_boundaries

    data = _synthetic_grid()
    phase = classify(data)  # [[I, II, II], [III, IV-A, IV-B]]
    figure, ax = plt.subplots()
    drawn = plot_phase_boundaries(ax, data, phase)
    # I|II is global; I|III, II|IV-A, II|IV-B are local; III|IV-A is global; IV-A|IV-B is similarity.
    assert len(drawn["local"].get_segments()) == 3
    assert len(drawn["global"].get_segments()) == 2
    assert len(drawn["similarity"].get_segments()) == 1
    plt.close(figure)


def test_boundary_between_columns_at_cell_edge():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lscape.plots import plot_phase_boundaries

    data = _synthetic_grid()
    figure, ax = plt.subplots()
    drawn = plot_phase_boundaries(ax, data, classify(data))
    (start, end), = drawn["similarity"].get_segments()
    # Widths 8 and 32 meet at their geometric mean on the log axis.
    assert start[0] == pytest.approx(16.0)
    assert end[0] == pytest.approx(16.0)
    plt.close(figure)


def test_panels_with_boundaries_and_confidence():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lscape.plots import plot_panels

    data = _synthetic_grid()
    figure = plot_panels(data, boundaries=["b", "phase"], confidence=confidence(data, num_resamples=5),
                         panels="bd")
    loss = next(ax for ax in figure.axes if ax.get_title().startswith("(b)"))
    trace = next(ax for ax in figure.axes if ax.get_title().startswith("(d)"))
    assert len(loss.collections) > 1  # the heat map and the boundary lines
    assert loss.get_legend() is not None
    assert len(trace.collections) == 1
    plt.close(figure)


def test_panels_bad_boundaries_message():
    with pytest.raises(ParameterError, match=r"The 'boundaries' parameter of plot_panels\(\) must be panel "
                                             r"letters from 'abcdefg' or 'phase'\. Got 'xyz' instead"):
        from lscape.plots import plot_panels

        plot_panels(_synthetic_grid(), boundaries="xyz")


def test_phase_map_leaves_missing_cells_blank():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lscape.plots import plot_phase_map

    data = _synthetic_grid()
    data["mc"][1, 1, 0] = np.nan
    figure, ax = plt.subplots()
    plot_phase_map(ax, data)
    texts = [t.get_text() for t in ax.texts]
    assert "nan" not in texts
    assert texts.count("") == 1
    plt.close(figure)
