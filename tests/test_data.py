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


# Local data sets, read from fixtures written in the exact on-disk formats.


def _write_pickle(path, record):
    import pickle

    with open(path, "wb") as stream:
        pickle.dump(record, stream)


def _cifar_rows(n, seed):
    """Rows of CIFAR's pickles: (n, 3072) uint8, 1024 red, then green, then blue values, row-major."""
    return np.random.default_rng(seed).integers(0, 256, size=(n, 3072), dtype=np.uint8)


@pytest.fixture
def cifar10_dir(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for i in range(1, 6):
        labels = [(i + j) % 10 for j in range(12)]
        _write_pickle(folder / f"data_batch_{i}", {
            "batch_label": f"training batch {i} of 5", "labels": labels,
            "data": _cifar_rows(12, i), "filenames": [f"img{i}_{j}.png" for j in range(12)],
        })
    _write_pickle(folder / "test_batch", {
        "batch_label": "testing batch 1 of 1", "labels": list(range(10)) * 2,
        "data": _cifar_rows(20, 0), "filenames": [f"test{j}.png" for j in range(20)],
    })
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    _write_pickle(folder / "batches.meta", {"label_names": names, "num_cases_per_batch": 12, "num_vis": 3072})
    return tmp_path


def test_cifar10_reads_torchvision_layout(cifar10_dir):
    data = load_dataset("cifar10", data_dir=cifar10_dir)
    assert data.X_train.shape == (60, 3, 32, 32)
    assert data.X_test.shape == (20, 3, 32, 32)
    assert data.num_classes == 10
    assert data.y_train[:3].tolist() == [1, 2, 3]  # labels of data_batch_1


def test_cifar10_pixel_order(cifar10_dir):
    rows = _cifar_rows(12, 1)  # data_batch_1, read first
    data = load_dataset("cifar10", data_dir=cifar10_dir)
    channel, row, column = 1, 2, 5
    expected = rows[0, channel * 1024 + row * 32 + column] / 255.0
    assert float(data.X_train[0, channel, row, column]) == pytest.approx(expected)
    assert float(data.X_train.min()) >= 0.0
    assert float(data.X_train.max()) <= 1.0


def test_cifar100_reads_fine_labels(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    for split, n in (("train", 200), ("test", 100)):
        _write_pickle(folder / split, {
            "filenames": [f"{split}{j}.png" for j in range(n)], "batch_label": split,
            "fine_labels": [j % 100 for j in range(n)], "coarse_labels": [j % 20 for j in range(n)],
            "data": _cifar_rows(n, 7),
        })
    _write_pickle(folder / "meta", {
        "fine_label_names": [f"class{j}" for j in range(100)], "coarse_label_names": [f"super{j}" for j in range(20)],
    })
    data = load_dataset("cifar100", data_dir=tmp_path, train_size=100, seed=0)
    assert data.num_classes == 100
    assert data.X_train.shape == (100, 3, 32, 32)
    assert sorted(data.y_train.tolist()) == list(range(100))  # stratified: one per class


def test_svhn_reads_mat_files(tmp_path):
    from scipy.io import savemat

    rng = np.random.default_rng(0)
    for split, n in (("train", 30), ("test", 10)):
        X = rng.integers(0, 256, size=(32, 32, 3, n), dtype=np.uint8)
        y = (np.arange(n) % 10 + 1).reshape(n, 1).astype(np.uint8)  # 1..10, 10 is the digit 0
        savemat(tmp_path / f"{split}_32x32.mat", {"X": X, "y": y})
        if split == "train":
            pixel = X[4, 7, 2, 3] / 255.0  # row 4, column 7, channel 2 of image 3
    data = load_dataset("svhn", data_dir=tmp_path)
    assert data.X_train.shape == (30, 3, 32, 32)
    assert data.y_train[:10].tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 9, 0]
    assert float(data.X_train[3, 2, 4, 7]) == pytest.approx(pixel)
    assert data.num_classes == 10


@pytest.mark.parametrize(
    "name, folder",
    [("cifar10", "cifar-10-batches-py"), ("cifar100", "cifar-100-python"), ("svhn", ""), ("iwslt16_de_en", "iwslt16-de-en")],
)
def test_missing_folder_names_path_and_layout(tmp_path, name, folder):
    with pytest.raises(FileNotFoundError) as raised:
        load_dataset(name, data_dir=tmp_path)
    message = str(raised.value)
    assert str(tmp_path / folder) in message
    assert "never downloads" in message


def test_partial_cifar_folder_lists_missing_files(cifar10_dir):
    (cifar10_dir / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match=r"is missing \['data_batch_3'\]"):
        load_dataset("cifar10", data_dir=cifar10_dir)


def test_data_dir_from_environment(cifar10_dir, monkeypatch):
    monkeypatch.setenv("LSCAPE_DATA_DIR", str(cifar10_dir))
    assert load_dataset("cifar10").X_train.shape[0] == 60


def test_input_noise_uniform_on_training_inputs_only():
    clean = load_dataset("digits")
    noisy = load_dataset("digits", input_noise=0.5, seed=2)
    added = (noisy.X_train - clean.X_train).numpy()
    assert added.min() >= 0.0
    assert added.max() <= 0.5
    assert added.mean() == pytest.approx(0.25, abs=0.01)  # mean of U[0, 0.5]
    assert torch.equal(noisy.X_test, clean.X_test)
    assert torch.equal(noisy.y_train, clean.y_train)


def test_input_noise_seeded():
    first = load_dataset("digits", input_noise=1.0, seed=0).X_train
    again = load_dataset("digits", input_noise=1.0, seed=0).X_train
    other = load_dataset("digits", input_noise=1.0, seed=1).X_train
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


def test_negative_input_noise_message():
    with pytest.raises(ParameterError, match=r"The 'input_noise' parameter of load_dataset\(\) must be a real number in \[0, inf\)\. Got -0\.1 instead\."):
        load_dataset("digits", input_noise=-0.1)


def test_label_noise_rejected_for_translation():
    with pytest.raises(ParameterError, match=r"'label_noise' .* must be 0 for the translation data set"):
        load_dataset("synthetic_translation", label_noise=0.1)
