"""Vectorised multi-seed training against the loop over seeds it replaces."""

import pytest
import torch

from lscape.data import load_dataset
from lscape.models import build
from lscape.train import TrainConfig, train
from lscape.validation import ParameterError
from lscape.vectorized import train_many, vectorizable


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", train_size=300)


def _models(name, data, seeds, width=8):
    models = []
    for seed in seeds:
        torch.manual_seed(seed)
        models.append(build(name, width, data.num_classes, data.input_shape))
    return models


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_same_runs_as_the_loop(digits, name):
    seeds = (0, 1, 2)
    configs = [TrainConfig(batch_size=64, lr=0.05, max_epochs=3, seed=s) for s in seeds]
    looped = train_many(_models(name, digits, seeds), digits.X_train, digits.y_train, configs, vectorize=False)
    models = _models(name, digits, seeds)
    together = train_many(models, digits.X_train, digits.y_train, configs)
    for a, b, model in zip(looped, together, models):
        assert (a.epochs, a.steps, a.best_epoch) == (b.epochs, b.steps, b.best_epoch)
        torch.testing.assert_close(torch.tensor(a.epoch_losses), torch.tensor(b.epoch_losses), rtol=1e-4, atol=1e-5)
        for key in a.state_dict:
            torch.testing.assert_close(a.state_dict[key], b.state_dict[key], rtol=1e-3, atol=1e-4)
            torch.testing.assert_close(model.state_dict()[key], b.state_dict[key])
    # the seeds really differ: vectorising did not tie them together
    assert looped[0].epoch_losses != looped[1].epoch_losses


def test_loop_reference_is_train(digits):
    config = TrainConfig(batch_size=100, max_epochs=2, seed=3)
    (model,) = _models("mlp", digits, (3,))
    (alone,) = _models("mlp", digits, (3,))
    result = train(alone, digits.X_train, digits.y_train, config)
    (many,) = train_many([model], digits.X_train, digits.y_train, [config])
    assert result.epoch_losses == many.epoch_losses


def test_each_seed_stops_on_its_own(digits):
    """A seed whose plateau rule fires is frozen while the others train on."""
    seeds = (0, 1, 2, 3)
    configs = [TrainConfig(batch_size=100, lr=0.03, max_epochs=30, stop_tol=3e-3, stop_patience=2, seed=s)
               for s in seeds]
    looped = train_many(_models("mlp", digits, seeds), digits.X_train, digits.y_train, configs, vectorize=False)
    together = train_many(_models("mlp", digits, seeds), digits.X_train, digits.y_train, configs)
    assert len({r.epochs for r in looped}) > 1  # the seeds stop at different epochs
    for a, b in zip(looped, together):
        assert (a.epochs, a.steps, a.stopped_early, a.best_epoch) == (b.epochs, b.steps, b.stopped_early, b.best_epoch)
        for key in a.state_dict:
            torch.testing.assert_close(a.state_dict[key], b.state_dict[key], rtol=1e-3, atol=1e-4)


def test_one_diverging_seed_leaves_the_others(digits):
    seeds = (0, 1)
    models = _models("mlp", digits, seeds)
    with torch.no_grad():  # seed 1 starts with huge weights: its loss overflows at once
        for p in models[1].parameters():
            p.mul_(1e30)
    configs = [TrainConfig(batch_size=100, max_epochs=2, seed=s) for s in seeds]
    results = train_many(models, digits.X_train, digits.y_train, configs)
    assert results[1].diverged
    assert not results[0].diverged
    assert results[0].epochs == 2
    assert results[1].epochs == 0
    assert all(torch.isfinite(p).all() for p in models[0].parameters())


def test_models_that_cannot_be_vectorised_fall_back(digits):
    config = TrainConfig(batch_size=100, max_epochs=1)
    resnet = build("resnet18_1d", 2, 10, (1, 40))
    assert "BatchNorm" in vectorizable(resnet, config)
    assert "optimizer" in vectorizable(build("mlp", 4, 10, (64,)), TrainConfig(optimizer="adam"))
    assert vectorizable(build("cnn1d", 4, 10, (1, 40)), config) is None


def test_bad_input(digits):
    models = _models("mlp", digits, (0, 1))
    with pytest.raises(ParameterError, match="'configs' parameter of train_many"):
        train_many(models, digits.X_train, digits.y_train, [TrainConfig()])
    with pytest.raises(ParameterError, match="differ in 'seed' only"):
        train_many(models, digits.X_train, digits.y_train, [TrainConfig(seed=0), TrainConfig(seed=1, lr=0.1)])
    with pytest.raises(ParameterError, match="'models' parameter of train_many"):
        train_many("mlp", digits.X_train, digits.y_train, [TrainConfig()])
