"""Tests for the shipped reference grid of the paper's authors and its loader."""

import fnmatch
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lscape import reference
from lscape.grid import load_netcdf, save_netcdf
from lscape.metrics import mc_score
from lscape.validation import ParameterError

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "lscape" / "reference" / "yang2021_fig3"


@pytest.fixture(scope="module")
def grid():
    return reference.load("yang2021_fig3")


def test_available_lists_the_grid():
    assert reference.available() == ("yang2021_fig3",)


def test_dims_named_after_knobs(grid):
    assert grid.attrs["load"] == "width"
    assert grid.attrs["temperature"] == "batch_size"
    assert grid["train_loss"].dims == ("batch_size", "width", "seed")
    assert grid["cka"].dims == ("batch_size", "width", "pair")
    assert grid["curve_error"].dims == ("batch_size", "width", "pair", "t")


def test_full_grid_coordinates(grid):
    assert list(grid["batch_size"].values) == [16, 19, 24, 27, 32, 44, 64, 92, 128, 180, 256, 364, 512, 724, 1024]
    assert list(grid["width"].values) == [1, 2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64, 91, 128]
    assert list(grid["seed"].values) == [0, 1, 2, 3, 4]
    assert len(grid["pair"]) == 10
    assert list(grid["t"].values) == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_run_values_copied_unchanged(grid):
    cell = grid.sel(batch_size=1024, width=1, seed=0)
    assert cell["train_loss"].item() == 1.1148604927825927
    assert cell["test_accuracy"].item() == 57.56
    assert cell["hessian_eigenvalue"].item() == 5487.64599609375
    assert cell["hessian_trace"].item() == 7323.505397251674


def test_cka_is_mean_of_both_orders(grid):
    pairs = pd.read_csv(FOLDER / "pairs.csv")
    cell = pairs[(pairs.batch_size == 128) & (pairs.width == 16)]
    forward = cell[(cell.run_a == 1) & (cell.run_b == 3)].cka_softmax.item()
    backward = cell[(cell.run_a == 3) & (cell.run_b == 1)].cka_softmax.item()
    assert forward != backward
    loaded = grid["cka"].sel(batch_size=128, width=16, pair="1-3").item()
    assert loaded == pytest.approx(0.5 * (forward + backward), rel=1e-12)


def test_cka_cell_mean_matches_ordered_pairs(grid):
    pairs = pd.read_csv(FOLDER / "pairs.csv")
    expected = pairs[(pairs.batch_size == 64) & (pairs.width == 91)].cka_softmax.mean()
    assert grid["cka"].sel(batch_size=64, width=91).mean().item() == pytest.approx(expected, rel=1e-12)


def test_missing_values_are_nan(grid):
    assert np.isnan(grid["test_accuracy"].sel(batch_size=19)).all()
    assert np.isnan(grid["test_accuracy"].sel(batch_size=27)).all()
    assert np.isfinite(grid["test_accuracy"].sel(batch_size=16)).all()
    assert np.isnan(grid["cka"].sel(batch_size=64, width=1, pair="0-1").item())
    assert np.isfinite(grid["cka"].sel(batch_size=64, width=1, pair="1-2").item())


def test_only_pair_zero_one_has_a_curve(grid):
    assert np.isfinite(grid["mc"].sel(pair="0-1")).all()
    assert np.isnan(grid["mc"].drop_sel(pair="0-1")).all()


def test_mc_scores_interior_points(grid):
    profile = grid["curve_error"].sel(batch_size=256, width=4, pair="0-1").values
    expected, best = mc_score(profile)
    assert grid["mc"].sel(batch_size=256, width=4, pair="0-1").item() == expected
    assert grid["t_star"].sel(batch_size=256, width=4, pair="0-1").item() == grid["t"].values[best]


def test_mc_endpoints_option_reproduces_authors(grid):
    authors = reference.load(include_endpoints=True)
    # One run of this cell is stuck at chance level (90% error at t=0), so
    # only the scoring that lets the endpoints compete reads it as a barrier.
    assert grid["mc"].sel(batch_size=64, width=1, pair="0-1").item() == pytest.approx(24.708)
    assert authors["mc"].sel(batch_size=64, width=1, pair="0-1").item() == pytest.approx(-24.748)
    others = grid["mc"].sel(pair="0-1").drop_sel(batch_size=64)
    np.testing.assert_array_equal(others.values, authors["mc"].sel(pair="0-1").drop_sel(batch_size=64).values)


def test_curve_loss_is_cross_entropy(grid):
    curves = pd.read_csv(FOLDER / "curves.csv")
    row = curves[(curves.batch_size == 1024) & (curves.width == 1) & (curves.t == 0.5)]
    assert grid["curve_loss"].sel(batch_size=1024, width=1, pair="0-1", t=0.5).item() == row.train_nll.item()


def test_units_recorded(grid):
    assert grid["mc"].attrs["units"] == "%"
    assert grid["mc_loss"].attrs["units"] == "nats"


def test_netcdf_round_trip(grid, tmp_path):
    path = save_netcdf(grid, tmp_path / "yang.nc")
    again = load_netcdf(path)
    np.testing.assert_array_equal(again["train_loss"].values, grid["train_loss"].values)
    assert again.attrs["load"] == "width"


def test_unknown_name_message():
    with pytest.raises(ParameterError, match=r"The 'name' parameter of load\(\) must be one of "
                                             r"\{'yang2021_fig3'\}\. Got 'fig2' instead\."):
        reference.load("fig2")


def test_endpoints_flag_must_be_bool():
    with pytest.raises(ParameterError, match=r"'include_endpoints' parameter of load\(\) must be a bool"):
        reference.load(include_endpoints="yes")


def test_license_and_readme_shipped():
    assert "MIT License" in (FOLDER / "LICENSE").read_text()
    assert "runs.csv" in (FOLDER / "README.md").read_text()


def test_package_data_patterns_cover_every_file():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["lscape"]
    for path in FOLDER.iterdir():
        relative = path.relative_to(ROOT / "lscape").as_posix()
        assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative
