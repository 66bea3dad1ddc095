"""Tests for the embedded data sets and the load/quality knobs."""

import random

import numpy as np
import pytest
import torch

from lscape.data import load_dataset, randomize_labels, stratified_subsample
from lscape.validation import ParameterError


def test_mnist1d_shapes():
    data = load_dataset("mnist1d")
    assert data.X_train.shape == (4000, 1, 40)
    assert data.X_test.shape == (1000, 1, 40)
    assert data.X_train.dtype == torch.float32
    assert data.y_train.dtype == torch.int64
    assert data.num_classes == 10


def test_mnist1d_cached_file_reused(isolated_cache):
    first = load_dataset("mnist1d")
    files = list(isolated_cache.glob("mnist1d-*.npz"))
    assert len(files) == 1
    second = load_dataset("mnist1d")
    assert torch.equal(first.X_train, second.X_train)


def test_mnist1d_keeps_caller_random_state(isolated_cache):
    for path in isolated_cache.glob("mnist1d-*.npz"):
        path.unlink()  # force the generator to run
    random.seed(123)
    np.random.seed(123)
    expected_python = random.random()
    expected_numpy = np.random.rand()
    random.seed(123)
    np.random.seed(123)
    load_dataset("mnist1d")
    assert random.random() == expected_python
    assert np.random.rand() == expected_numpy


def test_digits_split_is_fixed_and_stratified():
    first = load_dataset("digits")
    second = load_dataset("digits")
    assert first.X_train.shape == (1437, 1, 8, 8)
    assert first.X_test.shape == (360, 1, 8, 8)
    assert torch.equal(first.y_test, second.y_test)
    counts = np.bincount(first.y_test.numpy(), minlength=10)
    assert counts.min() >= 35  # about 36 per class in a stratified 20% split
    assert float(first.X_train.max()) <= 1.0


@pytest.mark.parametrize("name", ["mnist1d", "digits"])
def test_label_noise_fraction_exact(name):
    clean = load_dataset(name)
    noisy = load_dataset(name, label_noise=0.2, seed=3)
    changed = (clean.y_train != noisy.y_train).numpy()
    expected = round(0.2 * len(changed))
    assert changed.sum() == expected
    assert noisy.label_noise == pytest.approx(expected / len(changed))
    assert np.array_equal(noisy.noisy.numpy(), changed)
    assert torch.equal(clean.y_test, noisy.y_test)
    assert torch.equal(clean.X_train, noisy.X_train)


def test_label_noise_depends_on_seed():
    first = load_dataset("digits", label_noise=0.3, seed=0).y_train
    again = load_dataset("digits", label_noise=0.3, seed=0).y_train
    other = load_dataset("digits", label_noise=0.3, seed=1).y_train
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_randomized_labels_never_keep_class():
    labels = np.repeat(np.arange(10), 50)
    new, changed = randomize_labels(labels, 1.0, 10, seed=0)
    assert changed.all()
    assert (new != labels).all()
    assert set(np.unique(new)) == set(range(10))


def test_train_size_stratified():
    data = load_dataset("mnist1d", train_size=500, seed=0)
    assert len(data.y_train) == 500
    counts = np.bincount(data.y_train.numpy(), minlength=10)
    assert counts.max() - counts.min() <= 2


def test_stratified_subsample_full_size():
    labels = np.arange(20) % 4
    assert np.array_equal(stratified_subsample(labels, 20, 0), np.arange(20))


def test_unknown_dataset_message():
    with pytest.raises(ParameterError, match=r"The 'name' parameter of load_dataset\(\) must be one of .*'mnist1d'.*Got 'cifar' instead"):
        load_dataset("cifar")


@pytest.mark.parametrize(
    "options, pattern",
    [
        ({"label_noise": 1.5}, r"'label_noise' .* in \[0, 1\]\. Got 1\.5"),
        ({"label_noise": -0.1}, r"'label_noise'"),
        ({"train_size": 5}, r"'train_size' .* in \[10, 4000\]\. Got 5"),
        ({"train_size": 4001}, r"'train_size'"),
        ({"seed": -1}, r"'seed' .* in \[0, inf\)"),
    ],
)
def test_bad_options_messages(options, pattern):
    with pytest.raises(ParameterError, match=pattern):
        load_dataset("mnist1d", **options)
