"""Tests for diagnose(): measurements on unseen models, the phase, and each advice trigger."""

import copy

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from lscape.diagnose import Diagnosis, advise, diagnose
from lscape.validation import ParameterError

FAST = {"curve_epochs": 1, "hessian_max_iter": 5, "hessian_samples": 50, "cka_samples": 32}


class PlainMLP(nn.Module):
    """A user's own network, unknown to lscape."""

    def __init__(self, hidden: int = 16):
        super().__init__()
        self.layers = nn.Sequential(nn.Flatten(), nn.Linear(20, hidden), nn.ReLU(), nn.Linear(hidden, 3))

    def forward(self, x):
        return self.layers(x)


def _blobs(n=150, seed=0):
    """Three Gaussian classes in 20 dimensions, shape (n, 20) and labels (n,)."""
    generator = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    centres = torch.randn(3, 20, generator=generator) * 3
    X = centres[y] + torch.randn(n, 20, generator=generator)
    return X, y


def _trained_mlp(seed, X, y, steps=150):
    torch.manual_seed(seed)
    model = PlainMLP()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(X), y).backward()
        optimizer.step()
    return model


def _metrics(train_loss=0.01, hessian_eigenvalue=5.0, mc=0.0, cka=0.9):
    return pd.DataFrame({"mean": {"train_loss": train_loss, "hessian_eigenvalue": hessian_eigenvalue,
                                  "mc": mc, "cka": cka}})


# Advice triggers, one test each.

def test_negative_mc_triggers_poorly_connected():
    phase, advice, flags = advise(_metrics(mc=-8.0))
    assert [a.trigger for a in advice] == ["poorly_connected"]
    assert "zero loss may hurt" in advice[0].message
    assert phase == "III"
    assert flags["poorly_connected"]


def test_small_negative_mc_is_connected():
    phase, advice, _ = advise(_metrics(mc=-1.5))
    assert "poorly_connected" not in [a.trigger for a in advice]
    assert phase == "IV-B"


def test_positive_mc_triggers_not_converged():
    phase, advice, _ = advise(_metrics(mc=6.0))
    assert [a.trigger for a in advice] == ["not_converged"]
    assert "mc = 6.00 > 2 points" in advice[0].evidence
    assert phase == "II"


def test_large_hessian_triggers_not_converged():
    phase, advice, flags = advise(_metrics(hessian_eigenvalue=80.0), hessian_threshold=40.0)
    assert [a.trigger for a in advice] == ["not_converged"]
    assert "top Hessian eigenvalue 80 > 40" in advice[0].evidence
    assert flags["large_hessian"] is True
    assert phase == "II"


def test_hessian_not_judged_without_threshold():
    _, advice, flags = advise(_metrics(hessian_eigenvalue=1e6))
    assert flags["large_hessian"] is None
    assert "not_converged" not in [a.trigger for a in advice]


def test_high_loss_triggers_not_converged():
    phase, advice, _ = advise(_metrics(train_loss=0.4))
    assert [a.trigger for a in advice] == ["not_converged"]
    assert phase == "II"


def test_not_converged_and_poor_warns_about_loss():
    phase, advice, _ = advise(_metrics(train_loss=0.4, mc=-10.0))
    assert phase == "I"
    assert [a.trigger for a in advice] == ["poorly_connected", "not_converged"]
    assert "may not raise test accuracy" in advice[1].message


def test_low_cka_triggers_more_data():
    phase, advice, _ = advise(_metrics(cka=0.3, mc=0.5))
    assert [a.trigger for a in advice] == ["more_data"]
    assert "more high-quality" in advice[0].message.lower()
    assert phase == "IV-A"


@pytest.mark.parametrize("changes", [{"mc": -6.0}, {"train_loss": 0.5}, {"hessian_eigenvalue": 90.0}])
def test_more_data_needs_connected_and_flat(changes):
    _, advice, _ = advise(_metrics(cka=0.3, **changes), hessian_threshold=40.0)
    assert "more_data" not in [a.trigger for a in advice]


def test_globally_nice_when_phase_four_b():
    phase, advice, _ = advise(_metrics())
    assert phase == "IV-B"
    assert [a.trigger for a in advice] == ["globally_nice"]


# diagnose() on models it has never seen.

@pytest.fixture(scope="module")
def blobs():
    return _blobs()


@pytest.fixture(scope="module")
def mlp_diagnosis(blobs):
    X, y = blobs
    models = [_trained_mlp(seed, X, y) for seed in (0, 1, 2)]
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=40)
    return diagnose(models, loader, curve_pairs=1, **FAST)


def test_mlp_report_has_every_metric(mlp_diagnosis):
    assert isinstance(mlp_diagnosis, Diagnosis)
    assert list(mlp_diagnosis.metrics.index) == [
        "train_loss", "train_error", "hessian_eigenvalue", "hessian_trace", "mc", "mc_loss", "cka", "l2_distance",
    ]
    assert np.isfinite(mlp_diagnosis.metrics["mean"].astype(float)).all()


def test_mlp_spread_over_models_and_pairs(mlp_diagnosis):
    counts = mlp_diagnosis.metrics["count"]
    assert counts["train_loss"] == 3
    assert counts["cka"] == 3  # every pair of three models
    assert counts["mc"] == 1  # curve_pairs=1
    assert np.isfinite(mlp_diagnosis.metrics.loc["train_loss", "std"])
    assert np.isnan(mlp_diagnosis.metrics.loc["mc", "std"])


def test_mlp_phase_and_profile(mlp_diagnosis):
    assert mlp_diagnosis.phase in {"I", "II", "III", "IV-A", "IV-B"}
    assert list(mlp_diagnosis.profiles) == ["0-1"]
    assert mlp_diagnosis.profiles["0-1"].error.shape == (5,)
    assert mlp_diagnosis.linear_profiles["0-1"].error.shape == (5,)


def test_mlp_loss_matches_direct_evaluation(blobs, mlp_diagnosis):
    X, y = blobs
    models = [_trained_mlp(seed, X, y) for seed in (0, 1, 2)]
    with torch.no_grad():
        losses = [nn.functional.cross_entropy(m(X), y).item() for m in models]
    assert mlp_diagnosis.metrics.loc["train_loss", "mean"] == pytest.approx(np.mean(losses), rel=1e-5)


def test_identical_models_reference_values(blobs):
    X, y = blobs
    model = _trained_mlp(0, X, y)
    diagnosis = diagnose([model, copy.deepcopy(model)], (X, y), **{**FAST, "curve_epochs": 0})
    assert diagnosis.metrics.loc["l2_distance", "mean"] == 0.0
    assert diagnosis.metrics.loc["cka", "mean"] == pytest.approx(1.0, abs=1e-12)
    assert diagnosis.metrics.loc["mc", "mean"] == 0.0  # an untrained curve between equal endpoints is constant


def test_untrained_models_not_converged(blobs):
    X, y = blobs
    torch.manual_seed(0)
    models = [PlainMLP(), PlainMLP()]
    diagnosis = diagnose(models, (X, y), **FAST)
    assert "not_converged" in diagnosis.triggers
    assert diagnosis.phase in {"I", "II"}


def test_models_left_unchanged(blobs):
    X, y = blobs
    models = [_trained_mlp(seed, X, y, steps=20) for seed in (0, 1)]
    before = [copy.deepcopy(m.state_dict()) for m in models]
    models[0].train()
    diagnose(models, (X, y), **FAST)
    for model, state in zip(models, before):
        for name, value in model.state_dict().items():
            assert torch.equal(value, state[name]), name
    assert models[0].training


@pytest.mark.slow
def test_residual_network_with_batch_norm():
    from lscape.models import build

    generator = torch.Generator().manual_seed(0)
    X = torch.randn(120, 1, 40, generator=generator)
    y = (X[:, 0, :20].sum(1) > X[:, 0, 20:].sum(1)).long()
    models = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        model = build("resnet18_1d", width=2, num_classes=2, input_shape=(1, 40))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        for _ in range(15):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(X), y).backward()
            optimizer.step()
        models.append(model)
    diagnosis = diagnose(models, (X, y), hessian_threshold=1e3, **FAST)
    assert np.isfinite(diagnosis.metrics["mean"].astype(float)).all()
    assert diagnosis.flags["large_hessian"] in (True, False)
    assert diagnosis.phase in {"I", "II", "III", "IV-A", "IV-B"}


# Rendering.

def test_report_renders(mlp_diagnosis):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    html = mlp_diagnosis._repr_html_()
    assert f"Phase {mlp_diagnosis.phase}" in html
    assert "<table" in html
    text = str(mlp_diagnosis)
    assert "train_loss" in text
    ax = mlp_diagnosis.plot_curves()
    assert len(ax.get_lines()) == 2  # the curve and the straight line
    plt.close(ax.figure)


# Bad input.

def test_one_model_message(blobs):
    with pytest.raises(ParameterError, match=r"The 'models' parameter of diagnose\(\) must be a list of at "
                                             r"least 2 torch\.nn\.Module objects of one architecture"):
        diagnose([PlainMLP()], blobs)


def test_not_a_module_message(blobs):
    with pytest.raises(ParameterError, match=r"The 'models\[1\]' parameter of diagnose\(\) must be a "
                                             r"torch\.nn\.Module\. Got 'model' instead"):
        diagnose([PlainMLP(), "model"], blobs)


def test_different_architectures_message(blobs):
    with pytest.raises(ParameterError, match=r"models\[1\] has other parameter names or shapes than models\[0\]"):
        diagnose([PlainMLP(16), PlainMLP(8)], blobs)


def test_bad_train_data_message():
    with pytest.raises(ParameterError, match=r"The 'train_data' parameter of diagnose\(\) must be an \(X, y\) "
                                             r"pair of tensors or an iterable of \(X, y\) batches"):
        diagnose([PlainMLP(), PlainMLP()], 42)


def test_regression_targets_not_supported(blobs):
    X, _ = blobs
    with pytest.raises(NotImplementedError, match=r"classification only"):
        diagnose([PlainMLP(), PlainMLP()], (X, torch.randn(len(X))))


def test_bad_curve_pairs_message(blobs):
    with pytest.raises(ParameterError, match=r"The 'curve_pairs' parameter of diagnose\(\) must be an int "
                                             r"in \[1, 1\]\. Got 2 instead"):
        diagnose([PlainMLP(), PlainMLP()], blobs, curve_pairs=2)


def test_bad_t_message(blobs):
    with pytest.raises(ParameterError, match=r"The 't' parameter of diagnose\(\) must be an increasing list"):
        diagnose([PlainMLP(), PlainMLP()], blobs, t=[0.0, 1.0])


def test_bad_threshold_message(blobs):
    with pytest.raises(ParameterError, match=r"The 'cka_threshold' parameter of diagnose\(\) must be a real "
                                             r"number in \[0, 1\]\. Got 2 instead"):
        diagnose([PlainMLP(), PlainMLP()], blobs, cka_threshold=2)
