"""Tests for training: stopping rule, best checkpoint, divergence, determinism."""

import math

import pytest
import torch
from torch import nn

from lscape.models import build
from lscape.train import TrainConfig, train
from lscape.validation import ParameterError


def _toy(n=64, seed=0):
    generator = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 1, 8, 8, generator=generator)
    y = (X.mean(dim=(1, 2, 3)) > 0).long()
    return X, y


class ConstantLoss(nn.Module):
    """A model whose loss never changes: the plateau rule must fire after `patience` calm epochs."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return torch.zeros(len(x), 2) + 0.0 * self.weight


def test_stopping_rule_fires_after_patience():
    X, y = _toy()
    result = train(ConstantLoss(), X, y, TrainConfig(batch_size=16, max_epochs=50, stop_patience=5))
    assert result.stopped_early
    assert result.epochs == 6  # one epoch to compare against, then 5 calm epochs


def test_cap_reached_without_plateau():
    X, y = _toy()
    torch.manual_seed(0)
    result = train(build("mlp", 16, 2, (1, 8, 8)), X, y, TrainConfig(batch_size=8, max_epochs=3, stop_tol=0.0))
    assert not result.stopped_early
    assert result.epochs == 3
    assert result.steps == 3 * 8


def test_min_steps_delays_stopping_rule():
    X, y = _toy()  # 64 samples, batch 16: 4 steps per epoch
    result = train(ConstantLoss(), X, y, TrainConfig(batch_size=16, max_epochs=50, stop_patience=5, min_steps=40))
    assert result.stopped_early
    assert result.epochs == 10
    assert result.steps == 40


def test_min_steps_raises_epoch_cap():
    config = TrainConfig(batch_size=1000, max_epochs=10, min_steps=100)
    assert config.epoch_cap(4000) == 25
    assert TrainConfig(batch_size=16, max_epochs=10, min_steps=100).epoch_cap(4000) == 10


def test_best_checkpoint_is_kept():
    X, y = _toy()
    torch.manual_seed(0)
    model = build("mlp", 16, 2, (1, 8, 8))
    result = train(model, X, y, TrainConfig(batch_size=8, lr=0.5, momentum=0.9, max_epochs=8, stop_tol=0.0))
    assert result.best_epoch == 1 + min(range(len(result.epoch_losses)), key=result.epoch_losses.__getitem__)
    for name, value in model.state_dict().items():
        assert torch.equal(value, result.state_dict[name])


def test_divergence_recorded_not_raised():
    X, y = _toy()
    torch.manual_seed(0)
    model = build("mlp", 16, 2, (1, 8, 8))
    result = train(model, X * 1e3, y, TrainConfig(batch_size=8, lr=1e3, momentum=0.9, max_epochs=20))
    assert result.diverged
    assert all(math.isfinite(v) for v in result.epoch_losses)


def test_same_seed_same_numbers():
    X, y = _toy()
    losses = []
    for _ in range(2):
        torch.manual_seed(1)
        model = build("cnn", 2, 2, (1, 8, 8))
        losses.append(train(model, X, y, TrainConfig(batch_size=16, max_epochs=3, seed=4)).epoch_losses)
    assert losses[0] == losses[1]


def test_other_seed_other_order():
    X, y = _toy()
    losses = []
    for seed in (0, 1):
        torch.manual_seed(1)
        model = build("cnn", 2, 2, (1, 8, 8))
        losses.append(train(model, X, y, TrainConfig(batch_size=16, max_epochs=2, seed=seed)).epoch_losses)
    assert losses[0] != losses[1]


def test_step_schedule_decays_lr():
    from lscape.train import _lr_factor

    config = TrainConfig(lr_schedule="step", max_epochs=10, lr_decay_at=0.5, lr_decay_factor=0.1)
    assert _lr_factor(config, 0, 4, 10) == 1.0
    assert _lr_factor(config, 0, 5, 10) == pytest.approx(0.1)


@pytest.mark.parametrize(
    "options, pattern",
    [
        ({"batch_size": 0}, r"'batch_size' parameter of TrainConfig\(\) must be an int in \[1, inf\)\. Got 0"),
        ({"lr": 0.0}, r"'lr' .* \(0, inf\)\. Got 0\.0"),
        ({"momentum": 1.0}, r"'momentum' .* \[0, 1\)"),
        ({"lr_schedule": "cosine"}, r"'lr_schedule' .* one of"),
    ],
)
def test_bad_config_messages(options, pattern):
    with pytest.raises(ParameterError, match=pattern):
        TrainConfig(**options)


def test_warmup_rises_linearly_for_every_schedule():
    from lscape.train import _lr_factor

    for schedule in ("constant", "step", "inverse_sqrt"):
        config = TrainConfig(lr_schedule=schedule, warmup_steps=10, max_epochs=10)
        assert _lr_factor(config, 0, 0, 10) == pytest.approx(0.1)
        assert _lr_factor(config, 4, 0, 10) == pytest.approx(0.5)
        assert _lr_factor(config, 9, 0, 10) == pytest.approx(1.0)


def test_inverse_sqrt_after_warmup():
    from lscape.train import _lr_factor

    config = TrainConfig(lr_schedule="inverse_sqrt", warmup_steps=100)
    assert _lr_factor(config, 399, 0, 10) == pytest.approx(0.5)  # sqrt(100 / 400)


def test_adam_used_and_trains():
    from lscape.train import make_optimizer

    X, y = _toy()
    torch.manual_seed(0)
    model = build("cnn", 2, 2, (1, 8, 8))
    config = TrainConfig(batch_size=16, max_epochs=5, optimizer="adam", lr=1e-2, weight_decay=0.0)
    assert isinstance(make_optimizer(model, config), torch.optim.Adam)
    result = train(model, X, y, config)
    assert result.epoch_losses[-1] < result.epoch_losses[0]


def test_label_smoothing_raises_floor_of_loss():
    class Perfect(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return torch.tensor([[30.0, -30.0]]).repeat(len(x), 1) + 0.0 * self.weight

    X, y = torch.zeros(8, 1), torch.zeros(8, dtype=torch.long)
    plain = train(Perfect(), X, y, TrainConfig(batch_size=8, max_epochs=1, lr=1e-9)).epoch_losses[0]
    smoothed = train(Perfect(), X, y, TrainConfig(batch_size=8, max_epochs=1, lr=1e-9, label_smoothing=0.1)).epoch_losses[0]
    assert plain < 1e-6
    assert smoothed == pytest.approx(0.05 * 60, rel=1e-3)  # half the smoothing mass on the wrong class, 60 nats away


def test_eval_fn_called_every_epoch():
    X, y = _toy()
    torch.manual_seed(0)
    model = build("cnn", 2, 2, (1, 8, 8))
    result = train(model, X, y, TrainConfig(batch_size=16, max_epochs=3), eval_fn=lambda m, epoch: epoch)
    assert result.evaluations == [1, 2, 3]


@pytest.mark.parametrize(
    "options, pattern",
    [
        ({"optimizer": "rmsprop"}, r"'optimizer' parameter of TrainConfig\(\) must be one of \{'sgd', 'adam'\}\. Got 'rmsprop'"),
        ({"label_smoothing": 1.0}, r"'label_smoothing' .* \[0, 1\)\. Got 1\.0"),
        ({"warmup_steps": -1}, r"'warmup_steps' .* \[0, inf\)"),
    ],
)
def test_new_option_messages(options, pattern):
    with pytest.raises(ParameterError, match=pattern):
        TrainConfig(**options)
