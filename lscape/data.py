"""Data sets: the embedded defaults, local image and translation folders, and the load/quality knobs."""

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

from lscape.validation import (
    ParameterError, check_choice, check_float, check_int, check_optional_path, check_str, check_tensor,
    parameter_error,
)

EMBEDDED_DATASETS = ("mnist1d", "digits", "synthetic_translation")
# Read from a local folder in torchvision's or IWSLT's layout; never downloaded.
LOCAL_DATASETS = ("cifar10", "cifar100", "svhn", "iwslt16_de_en")
DATASETS = EMBEDDED_DATASETS + LOCAL_DATASETS
TRANSLATION_DATASETS = ("synthetic_translation", "iwslt16_de_en")

# The folder each local data set must contain under ``data_dir``, its files, and their format.
LOCAL_LAYOUTS = {
    "cifar10": (
        "cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"],
        "the python-pickle batches of torchvision.datasets.CIFAR10",
    ),
    "cifar100": ("cifar-100-python", ["train", "test", "meta"], "the python-pickle files of torchvision.datasets.CIFAR100"),
    "svhn": ("", ["train_32x32.mat", "test_32x32.mat"], "the MATLAB files of torchvision.datasets.SVHN"),
    "iwslt16_de_en": (
        "iwslt16-de-en", ["train.de", "train.en", "test.de", "test.en"],
        "aligned plain-text files, one sentence per line, German (.de) to English (.en)",
    ),
}


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
    model_options : dict
        Extra arguments of :func:`lscape.models.build` that the data fixes
        (the Transformer's source vocabulary size and source length).
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
    model_options: dict = field(default_factory=dict)

    def __post_init__(self):
        func = "Dataset()"
        check_str(self.name, "name", func)
        for name in ("X_train", "y_train", "X_test", "y_test"):
            check_tensor(getattr(self, name), name, func, min_ndim=1)
        check_int(self.num_classes, "num_classes", func, 2)
        if self.noisy is not None:
            check_tensor(self.noisy, "noisy", func, ndim=1)

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

    @property
    def is_translation(self) -> bool:
        """True for sequence-to-sequence data: token inputs and per-token targets ``(n, T)``."""
        return self.y_train.dim() == 2


def default_data_dir() -> Path:
    """Return the folder of local data sets: ``$LSCAPE_DATA_DIR``, else ``~/data``."""
    root = os.environ.get("LSCAPE_DATA_DIR")
    return Path(root).expanduser() if root else Path.home() / "data"


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


def _check_labels(labels, name: str, func: str) -> np.ndarray:
    """Return 1D class labels (a numpy array, a tensor or a list) as a numpy array."""
    if isinstance(labels, torch.Tensor):
        labels = labels.detach().cpu().numpy()
    elif isinstance(labels, (list, tuple)):
        labels = np.asarray(labels)
    if not isinstance(labels, np.ndarray) or labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise parameter_error(func, name, "a 1D array of int class labels (numpy.ndarray, torch.Tensor or list)",
                              labels)
    return labels


def stratified_subsample(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Return sorted indices of a class-stratified subsample of ``size`` labels."""
    from sklearn.model_selection import train_test_split

    func = "stratified_subsample()"
    labels = _check_labels(labels, "labels", func)
    size = check_int(size, "size", func, 1)
    seed = check_int(seed, "seed", func, 0)
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
    func = "randomize_labels()"
    if not isinstance(labels, np.ndarray) or labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise parameter_error(func, "labels", "a 1D numpy.ndarray of int class labels", labels)
    check_float(fraction, "fraction", func, 0.0, 1.0)  # the value as given enters round(fraction * n)
    num_classes = check_int(num_classes, "num_classes", func, 2)
    seed = check_int(seed, "seed", func, 0)
    rng = np.random.default_rng(seed)
    count = int(round(fraction * len(labels)))
    chosen = rng.choice(len(labels), size=count, replace=False)
    offsets = rng.integers(1, num_classes, size=count)  # 1..C-1, never 0: always a new class
    new_labels = labels.copy()
    new_labels[chosen] = (labels[chosen] + offsets) % num_classes
    changed = np.zeros(len(labels), dtype=bool)
    changed[chosen] = True
    return new_labels, changed


def local_folder(name: str, data_dir: str | os.PathLike | None = None) -> Path:
    """Return the folder of a local data set after checking that its files exist.

    Raises
    ------
    FileNotFoundError
        Naming the expected folder and files. Nothing is ever downloaded:
        copy the data there (e.g. with ``torchvision.datasets.CIFAR10(root,
        download=True)`` on a machine with internet access) or pass
        ``data_dir``.
    """
    func = "local_folder()"
    check_choice(name, "name", func, tuple(LOCAL_LAYOUTS))
    data_dir = check_optional_path(data_dir, "data_dir", func)
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    subfolder, files, described = LOCAL_LAYOUTS[name]
    folder = root / subfolder if subfolder else root
    missing = [f for f in files if not (folder / f).is_file()]
    if missing:
        raise FileNotFoundError(
            f"The {name!r} data set was not found: {folder} is missing {missing}. Expected the files "
            f"{files} ({described}) in {folder}. lscape never downloads data: copy the files there, "
            "or pass data_dir (or set LSCAPE_DATA_DIR) to the folder that contains them."
        )
    return folder


def _images_to_float(images: np.ndarray) -> np.ndarray:
    """uint8 images ``(n, H, W, C)`` -> float32 ``(n, C, H, W)`` in [0, 1]."""
    return np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0


def _load_cifar(name: str, root: Path) -> dict[str, np.ndarray]:
    """Read CIFAR-10 or CIFAR-100 with torchvision's reader (``download=False``).

    Note: file existence is checked, not torchvision's MD5 sums, so a copy
    rewritten in the same pickle format (or a test fixture) loads too.
    """
    from torchvision.datasets import CIFAR10, CIFAR100

    base = CIFAR10 if name == "cifar10" else CIFAR100

    class Reader(base):
        def _check_integrity(self) -> bool:
            return True  # local_folder() checked that every file exists

        def _load_meta(self) -> None:
            import pickle

            with open(Path(self.root) / self.base_folder / self.meta["filename"], "rb") as stream:
                self.classes = pickle.load(stream, encoding="latin1")[self.meta["key"]]

    arrays = {}
    for split, train in (("", True), ("_test", False)):
        reader = Reader(str(root.parent), train=train, download=False)
        arrays["x" + split] = _images_to_float(reader.data)  # reader.data: (n, 32, 32, 3) uint8
        arrays["y" + split] = np.asarray(reader.targets, dtype=np.int64)
    return arrays


def _load_svhn(root: Path) -> dict[str, np.ndarray]:
    """Read SVHN's ``train_32x32.mat`` and ``test_32x32.mat`` with torchvision's reader.

    The files store X as ``(32, 32, 3, n)`` and labels 1..10, where 10 means
    the digit 0; torchvision maps 10 to 0.
    """
    from torchvision.datasets import SVHN

    class Reader(SVHN):
        def _check_integrity(self) -> bool:
            return True  # local_folder() checked that the file exists

    arrays = {}
    for split, key in (("train", ""), ("test", "_test")):
        reader = Reader(str(root), split=split, download=False)
        arrays["x" + key] = np.ascontiguousarray(reader.data, dtype=np.float32) / 255.0  # (n, 3, 32, 32)
        arrays["y" + key] = reader.labels.astype(np.int64)
    return arrays


def add_input_noise(X: np.ndarray, magnitude: float, seed: int) -> np.ndarray:
    """Return ``X`` plus noise drawn uniformly from ``[0, magnitude]`` for every input value.

    This is the additive input noise of Yang et al. (2021), appendix D.6. It
    is drawn once (seeded), so the training set is fixed, as with label noise.
    """
    func = "add_input_noise()"
    if not isinstance(X, np.ndarray) or X.dtype.kind != "f":
        raise parameter_error(func, "X", "a numpy.ndarray of floats", X)
    magnitude = check_float(magnitude, "magnitude", func, 0.0)
    seed = check_int(seed, "seed", func, 0)
    rng = np.random.default_rng([seed, 1])  # a stream separate from the label noise's
    return (X + rng.uniform(0.0, magnitude, size=X.shape)).astype(X.dtype)


def load_dataset(
    name: str = "mnist1d",
    *,
    train_size: int | None = None,
    label_noise: float = 0.0,
    input_noise: float = 0.0,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
) -> Dataset:
    """Load a data set, optionally subsampled and with randomized labels or noisy inputs.

    Parameters
    ----------
    name : str
        Embedded (no files needed): ``"mnist1d"``, MNIST-1D generated offline
        by the ``mnist1d`` package (4,000 train / 1,000 test sequences, inputs
        of shape ``(1, 40)``); ``"digits"``, scikit-learn's 8x8 digits (1,437
        train / 360 test, inputs ``(1, 8, 8)`` in [0, 1]);
        ``"synthetic_translation"``, the generated translation task of
        :mod:`lscape.translation`. Local folders under ``data_dir``:
        ``"cifar10"`` (``cifar-10-batches-py/``), ``"cifar100"``
        (``cifar-100-python/``), ``"svhn"`` (``train_32x32.mat``,
        ``test_32x32.mat``), with images as ``(3, 32, 32)`` in [0, 1], and
        ``"iwslt16_de_en"`` (``iwslt16-de-en/{train,test}.{de,en}``).
    train_size : int, optional
        Keep a class-stratified subsample of this many training examples
        (chosen by ``seed``; translation: a random subsample of sentence
        pairs, 4,000 by default as in the paper). ``None`` keeps all.
    label_noise : float, default 0.0
        Fraction in [0, 1] of training labels changed, each to a different
        class chosen uniformly by ``seed``. Test labels are never changed. The
        exact applied fraction is ``round(label_noise * n) / n`` and is stored
        in :attr:`Dataset.label_noise`. Not available for translation.
    input_noise : float, default 0.0
        u >= 0: add noise uniform in [0, u] to every training input value
        (input units), drawn once with ``seed``. Test inputs are never
        changed. Not available for translation.
    seed : int, default 0
        Seed for the subsample, the label noise and the input noise.
    cache_dir : path, optional
        Folder for the generated MNIST-1D arrays; default :func:`default_cache_dir`.
    data_dir : path, optional
        Folder that contains the local data sets; default :func:`default_data_dir`.

    Returns
    -------
    Dataset

    Raises
    ------
    ParameterError
        If ``name`` is unknown or an option is out of range.
    FileNotFoundError
        If a local data set's files are missing (see :func:`local_folder`).
    """
    func = "load_dataset()"
    check_choice(name, "name", func, DATASETS)
    label_noise = check_float(label_noise, "label_noise", func, 0.0, 1.0)
    input_noise = check_float(input_noise, "input_noise", func, 0.0)
    seed = check_int(seed, "seed", func, 0)
    cache_dir = check_optional_path(cache_dir, "cache_dir", func)
    data_dir = check_optional_path(data_dir, "data_dir", func)
    if train_size is not None:
        # The upper bound depends on the data set, so it is checked after loading.
        train_size = check_int(train_size, "train_size", func, 10 if name in TRANSLATION_DATASETS else 1)

    if name in TRANSLATION_DATASETS:
        from lscape.translation import load_translation

        for option, value in (("label_noise", label_noise), ("input_noise", input_noise)):
            if value:
                raise ParameterError(
                    f"The '{option}' parameter of {func} must be 0 for the translation data set "
                    f"{name!r}. Got {value!r} instead. Noisy labels and inputs are defined for "
                    "classification data only."
                )
        return load_translation(name, train_size=train_size, seed=seed, data_dir=data_dir)

    arrays = _load_arrays(name, cache_dir, data_dir)
    x, y, x_test, y_test = arrays["x"], arrays["y"], arrays["x_test"], arrays["y_test"]
    num_classes = int(max(y.max(), y_test.max()) + 1)

    if train_size is not None:
        train_size = check_int(train_size, "train_size", func, num_classes, len(y))
        keep = stratified_subsample(y, train_size, seed)
        x, y = x[keep], y[keep]

    changed = np.zeros(len(y), dtype=bool)
    if label_noise > 0:
        y, changed = randomize_labels(y, label_noise, num_classes, seed)
    if input_noise > 0:
        x = add_input_noise(x, input_noise, seed)

    return Dataset(
        name=name,
        X_train=torch.from_numpy(np.ascontiguousarray(x)),
        y_train=torch.from_numpy(y),
        X_test=torch.from_numpy(np.ascontiguousarray(x_test)),
        y_test=torch.from_numpy(y_test),
        num_classes=num_classes,
        label_noise=float(changed.mean()),
        noisy=torch.from_numpy(changed),
        info={
            "name": name, "train_size": train_size, "label_noise": label_noise,
            "input_noise": input_noise, "seed": seed,
        },
    )


def _load_arrays(name: str, cache_dir, data_dir) -> dict[str, np.ndarray]:
    """Return the full training and test arrays of a classification data set, inputs ``(n, C, ...)``."""
    if name == "mnist1d":
        arrays = _generate_mnist1d(Path(cache_dir) if cache_dir else default_cache_dir())
        return {**arrays, "x": arrays["x"][:, None, :], "x_test": arrays["x_test"][:, None, :]}  # (n, 1, 40)
    if name == "digits":
        arrays = _load_digits()
        return {**arrays, "x": arrays["x"][:, None], "x_test": arrays["x_test"][:, None]}  # (n, 1, 8, 8)
    folder = local_folder(name, data_dir)
    return _load_svhn(folder) if name == "svhn" else _load_cifar(name, folder)


__all__ = [
    "DATASETS",
    "Dataset",
    "EMBEDDED_DATASETS",
    "LOCAL_DATASETS",
    "add_input_noise",
    "default_data_dir",
    "local_folder",
    "ParameterError",
    "default_cache_dir",
    "load_dataset",
    "preserved_global_random_state",
    "randomize_labels",
    "stratified_subsample",
]
