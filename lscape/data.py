"""Data sets: the embedded defaults (MNIST-1D, scikit-learn digits) and load/quality knobs."""

from __future__ import annotations

import hashlib
import json
import os
import random
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from lscape.validation import ParameterError, check_choice, check_float, check_int

EMBEDDED_DATASETS = ("mnist1d", "digits")


@dataclass(frozen=True)
class Dataset:
    """A classification data set held in memory as tensors.

    Attributes
    ----------
    name : str
        Name passed to :func:`load_dataset`.
    X_train : torch.Tensor
        Training inputs, shape ``(n_train, channels, *spatial)``, float32.
    y_train : torch.Tensor
        Training labels after label noise, shape ``(n_train,)``, int64.
    X_test, y_test : torch.Tensor
        Test inputs and labels, never perturbed.
    num_classes : int
        Number of classes.
    label_noise : float
        Exact fraction of training labels that were changed to another class.
    noisy : torch.Tensor
        Boolean mask of shape ``(n_train,)``, True where the label was changed.
    info : dict
        The options that produced the data set (for provenance).
    """

    name: str
    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    label_noise: float = 0.0
    noisy: torch.Tensor | None = None
    info: dict = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input, ``(channels, *spatial)``."""
        return tuple(self.X_train.shape[1:])

    @property
    def in_channels(self) -> int:
        """Number of input channels."""
        return int(self.X_train.shape[1])

    @property
    def spatial_dims(self) -> int:
        """1 for sequences, 2 for images."""
        return self.X_train.dim() - 2


def default_cache_dir() -> Path:
    """Return the folder for generated data: ``$LSCAPE_CACHE_DIR``, else ``~/.cache/lscape``."""
    root = os.environ.get("LSCAPE_CACHE_DIR")
    if root:
        return Path(root).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
    return Path(xdg) / "lscape"


@contextmanager
def preserved_global_random_state():
    """Restore Python's and numpy's global random state on exit.

    The mnist1d generator reseeds both global generators; wrapping it keeps the
    caller's random streams unchanged.
    """
    python_state = random.getstate()
    numpy_state = np.random.get_state()
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def _atomic_save_npz(path: Path, **arrays: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temporary, "wb") as handle:
        np.savez(handle, **arrays)
    os.replace(temporary, path)


def _generate_mnist1d(cache_dir: Path) -> dict[str, np.ndarray]:
    """Generate MNIST-1D with the package's offline generator, cached as ``.npz``.

    Uses ``mnist1d.data.make_dataset(get_dataset_args())``: 5,000 samples of
    length 40, split 4,000 train / 1,000 test. ``get_dataset`` is never called
    because it downloads.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    settings = {k: v for k, v in vars(args).items() if k != "url"}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    path = cache_dir / f"mnist1d-{digest}.npz"
    if path.exists():
        with np.load(path) as stored:
            return {key: stored[key] for key in stored.files}

    with preserved_global_random_state():
        raw = make_dataset(args)
    arrays = {
        "x": raw["x"].astype(np.float32),
        "y": raw["y"].astype(np.int64),
        "x_test": raw["x_test"].astype(np.float32),
        "y_test": raw["y_test"].astype(np.int64),
    }
    _atomic_save_npz(path, **arrays)
    return arrays


def _load_digits() -> dict[str, np.ndarray]:
    """scikit-learn's bundled 8x8 digits, split 80/20 stratified with a fixed seed."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images = (bunch.images / 16.0).astype(np.float32)  # pixel values 0..16 -> [0, 1]
    labels = bunch.target.astype(np.int64)
    x, x_test, y, y_test = train_test_split(
        images, labels, test_size=0.2, stratify=labels, random_state=0
    )
    return {"x": x, "y": y, "x_test": x_test, "y_test": y_test}


def stratified_subsample(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Return sorted indices of a class-stratified subsample of ``size`` labels."""
    from sklearn.model_selection import train_test_split

    if size >= len(labels):
        return np.arange(len(labels))
    indices = np.arange(len(labels))
    chosen, _ = train_test_split(indices, train_size=size, stratify=labels, random_state=seed)
    return np.sort(chosen)


def randomize_labels(
    labels: np.ndarray, fraction: float, num_classes: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Change ``round(fraction * n)`` labels, each to a different class chosen uniformly.

    Returns
    -------
    new_labels : np.ndarray
        Shape ``(n,)``, int64.
    changed : np.ndarray
        Boolean mask of shape ``(n,)``; exactly ``round(fraction * n)`` entries are True.
    """
    rng = np.random.default_rng(seed)
    count = int(round(fraction * len(labels)))
    chosen = rng.choice(len(labels), size=count, replace=False)
    offsets = rng.integers(1, num_classes, size=count)  # 1..C-1, never 0: always a new class
    new_labels = labels.copy()
    new_labels[chosen] = (labels[chosen] + offsets) % num_classes
    changed = np.zeros(len(labels), dtype=bool)
    changed[chosen] = True
    return new_labels, changed


def load_dataset(
    name: str = "mnist1d",
    *,
    train_size: int | None = None,
    label_noise: float = 0.0,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
) -> Dataset:
    """Load an embedded data set, optionally subsampled and with randomized labels.

    Parameters
    ----------
    name : {"mnist1d", "digits"}
        ``"mnist1d"``: MNIST-1D generated offline by the ``mnist1d`` package
        (4,000 train / 1,000 test sequences of length 40, inputs of shape
        ``(1, 40)``). ``"digits"``: scikit-learn's 8x8 digits (1,437 train /
        360 test, inputs of shape ``(1, 8, 8)`` scaled to [0, 1]).
    train_size : int, optional
        Keep a class-stratified subsample of this many training examples
        (chosen by ``seed``). ``None`` keeps all of them.
    label_noise : float, default 0.0
        Fraction in [0, 1] of training labels changed, each to a different
        class chosen uniformly by ``seed``. Test labels are never changed. The
        exact applied fraction is ``round(label_noise * n) / n`` and is stored
        in :attr:`Dataset.label_noise`.
    seed : int, default 0
        Seed for the subsample and the label noise.
    cache_dir : path, optional
        Folder for the generated MNIST-1D arrays; default :func:`default_cache_dir`.

    Returns
    -------
    Dataset

    Raises
    ------
    ParameterError
        If ``name`` is unknown or an option is out of range.
    """
    func = "load_dataset()"
    check_choice(name, "name", func, EMBEDDED_DATASETS)
    label_noise = check_float(label_noise, "label_noise", func, 0.0, 1.0)
    seed = check_int(seed, "seed", func, 0)

    if name == "mnist1d":
        arrays = _generate_mnist1d(Path(cache_dir) if cache_dir else default_cache_dir())
        x, x_test = arrays["x"][:, None, :], arrays["x_test"][:, None, :]  # (n, 1, 40)
    else:
        arrays = _load_digits()
        x, x_test = arrays["x"][:, None], arrays["x_test"][:, None]  # (n, 1, 8, 8)
    y, y_test = arrays["y"], arrays["y_test"]
    num_classes = int(max(y.max(), y_test.max()) + 1)

    if train_size is not None:
        train_size = check_int(train_size, "train_size", func, num_classes, len(y))
        keep = stratified_subsample(y, train_size, seed)
        x, y = x[keep], y[keep]

    changed = np.zeros(len(y), dtype=bool)
    if label_noise > 0:
        y, changed = randomize_labels(y, label_noise, num_classes, seed)

    return Dataset(
        name=name,
        X_train=torch.from_numpy(np.ascontiguousarray(x)),
        y_train=torch.from_numpy(y),
        X_test=torch.from_numpy(np.ascontiguousarray(x_test)),
        y_test=torch.from_numpy(y_test),
        num_classes=num_classes,
        label_noise=float(changed.mean()),
        noisy=torch.from_numpy(changed),
        info={"name": name, "train_size": train_size, "label_noise": label_noise, "seed": seed},
    )


__all__ = [
    "Dataset",
    "EMBEDDED_DATASETS",
    "ParameterError",
    "default_cache_dir",
    "load_dataset",
    "preserved_global_random_state",
    "randomize_labels",
    "stratified_subsample",
]
