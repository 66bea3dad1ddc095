"""Every figure notebook's axes and CI setting build a valid grid spec."""

import pytest

from lscape.notebook import FIGURE_AXES, grid_spec
from lscape.validation import ParameterError

AXIS_VALUES = {
    "widths": [2, 4], "batch_sizes": [16, 64], "lrs": [0.01, 0.05], "weight_decays": [5e-4, 5e-3],
    "label_noises": [0.0, 0.2], "input_noises": [0.0, 0.5], "embed_dims": [16, 32],
}


def _parameters(figure):
    axes = FIGURE_AXES[figure]
    parameters = {axes.load_parameter: AXIS_VALUES[axes.load_parameter],
                  axes.temperature_parameter: AXIS_VALUES[axes.temperature_parameter]}
    if figure == "fig18_translation":
        parameters.update(dataset="synthetic_translation", model="transformer", optimizer="adam")
    return parameters


@pytest.mark.parametrize("figure", sorted(FIGURE_AXES))
@pytest.mark.parametrize("preset", ["default", "ci"])
def test_every_figure_builds_a_spec(figure, preset, monkeypatch):
    monkeypatch.delenv("LSCAPE_PRESET", raising=False)
    spec = grid_spec(figure, preset=preset, **_parameters(figure))
    axes = FIGURE_AXES[figure]
    assert spec.load == axes.load
    assert spec.temperature == axes.temperature
    assert len(spec.cells()) <= 4 or preset == "default"


def test_ci_preset_of_large_batch_figure_reaches_full_batch(monkeypatch):
    monkeypatch.delenv("LSCAPE_PRESET", raising=False)
    spec = grid_spec("fig22_large_batch", preset="ci", widths=[2, 8], batch_sizes=[256, 1024, 4000])
    assert max(spec.temperature_values) == 4000


def test_ci_preset_of_translation_is_small(monkeypatch):
    monkeypatch.delenv("LSCAPE_PRESET", raising=False)
    spec = grid_spec("fig18_translation", preset="ci", **_parameters("fig18_translation"))
    assert spec.base.train_size == 100
    assert spec.base.max_epochs == 2


def test_bad_embedding_dimension_named(monkeypatch):
    monkeypatch.delenv("LSCAPE_PRESET", raising=False)
    with pytest.raises(ParameterError, match=r"'embed_dims\[0\]' .* \[1, inf\)\. Got 0"):
        grid_spec("fig18_translation", embed_dims=[0, 16], batch_sizes=[16],
                  dataset="synthetic_translation", model="transformer")


def test_ci_preset_runs_in_process(monkeypatch):
    from lscape.notebook import workers_for

    monkeypatch.setenv("LSCAPE_PRESET", "ci")
    assert workers_for("default", None) == 1
    assert workers_for("default", 2) == 2  # a value the user passes wins over the preset
    monkeypatch.delenv("LSCAPE_PRESET")
    assert workers_for("default", None) is None
    assert workers_for("default", 3) == 3
