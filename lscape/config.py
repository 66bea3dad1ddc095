"""Settings of one training run and of the metrics measured on it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from lscape.data import DATASETS, TRANSLATION_DATASETS
from lscape.models import MODELS
from lscape.train import LR_SCHEDULES, OPTIMIZERS, TrainConfig
from lscape.validation import (
    ParameterError, check_bool, check_choice, check_float, check_int, coerce_numbers, parameter_error,
)

# Knobs a grid may vary, with their role and a validator: check(value, name, func).
LOAD_KNOBS = {
    "width": lambda v, n, f: check_int(v, n, f, 1),
    "train_size": lambda v, n, f: check_int(v, n, f, 10),
    "label_noise": lambda v, n, f: check_float(v, n, f, 0.0, 1.0),
    "input_noise": lambda v, n, f: check_float(v, n, f, 0.0),
}
TEMPERATURE_KNOBS = {
    "batch_size": lambda v, n, f: check_int(v, n, f, 1),
    "lr": lambda v, n, f: check_float(v, n, f, 0.0, None, closed="neither"),
    "weight_decay": lambda v, n, f: check_float(v, n, f, 0.0),
}


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines one trained model (and so its store key).

    Attributes
    ----------
    dataset : str
        One of :data:`lscape.data.DATASETS`; the translation data sets need
        ``model="transformer"``.
    model : str
        One of :data:`lscape.models.MODELS`.
    width : int
        Model width k (load).
    train_size : int or None
        Stratified training subsample (load); None keeps all.
    label_noise : float
        Fraction of randomized training labels (load).
    data_seed : int
        Seed of the subsample, label noise and input noise, shared by all
        seeds of a cell so that every model of a cell sees the same data.
    batch_size, lr, momentum, weight_decay, max_epochs, min_steps, stop_tol,
    stop_patience, lr_schedule, lr_decay_at, lr_decay_factor, warmup_steps,
    optimizer, label_smoothing
        See :class:`lscape.train.TrainConfig`.
    seed : int
        Seeds the initialisation and the data order.
    input_noise : float
        u: training inputs get noise uniform in [0, u] per value (load).
    lr_scaling : {"none", "linear"}
        ``"linear"``: train with ``lr * batch_size / lr_reference_batch``, the
        linear scaling rule (``lr=0.05`` and 128 give 0.05 k at batch 128 k).
    lr_reference_batch : int
        Batch size at which ``lr`` applies unscaled.
    record_test : bool
        Evaluate the test set after every epoch and record the best test
        accuracy and loss over training (optimal early stopping).
    data_dir : str or None
        Folder of the local data sets (see :func:`lscape.data.load_dataset`).
        It is never part of the store key: the same data in another folder
        gives the same models.

    The fields from ``input_noise`` on enter the store key only when they
    differ from their defaults, so results stored before they existed keep
    their keys.
    """

    dataset: str = "mnist1d"
    model: str = "cnn1d"
    width: int = 8
    train_size: int | None = None
    label_noise: float = 0.0
    data_seed: int = 0
    batch_size: int = 128
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    max_epochs: int = 150
    min_steps: int = 0
    stop_tol: float = 1e-4
    stop_patience: int = 5
    lr_schedule: str = "constant"
    lr_decay_at: float = 0.5
    lr_decay_factor: float = 0.1
    warmup_steps: int = 0
    seed: int = 0
    input_noise: float = 0.0
    optimizer: str = "sgd"
    label_smoothing: float = 0.0
    lr_scaling: str = "none"
    lr_reference_batch: int = 128
    record_test: bool = False
    data_dir: str | None = None

    def __post_init__(self):
        func = "RunConfig()"
        coerce_numbers(self)
        check_choice(self.dataset, "dataset", func, DATASETS)
        check_choice(self.model, "model", func, MODELS)
        check_int(self.width, "width", func, 1)
        if self.train_size is not None:
            check_int(self.train_size, "train_size", func, 10)
        check_float(self.label_noise, "label_noise", func, 0.0, 1.0)
        check_float(self.input_noise, "input_noise", func, 0.0)
        check_int(self.data_seed, "data_seed", func, 0)
        check_choice(self.lr_schedule, "lr_schedule", func, LR_SCHEDULES)
        check_choice(self.lr_scaling, "lr_scaling", func, ("none", "linear"))
        check_int(self.lr_reference_batch, "lr_reference_batch", func, 1)
        check_bool(self.record_test, "record_test", func)
        if self.data_dir is not None and not isinstance(self.data_dir, str):
            raise parameter_error(func, "data_dir", "a str (a folder path) or None", self.data_dir)
        translation = self.dataset in TRANSLATION_DATASETS
        if translation != (self.model == "transformer"):
            raise parameter_error(
                func, "model", "'transformer' for a translation data set and a classifier otherwise",
                self.model, f"The data set is {self.dataset!r}.",
            )
        try:
            self.train_config()  # validates the training fields
        except ParameterError as error:
            raise ParameterError(str(error).replace("of TrainConfig()", "of RunConfig()")) from None

    def train_config(self) -> TrainConfig:
        """Return the :class:`TrainConfig` part, with the linear scaling rule applied to ``lr``."""
        names = {f.name for f in fields(TrainConfig)}
        values = {k: v for k, v in asdict(self).items() if k in names}
        if self.lr_scaling == "linear":
            values["lr"] = self.lr * self.batch_size / self.lr_reference_batch
        return TrainConfig(**values)

    def with_values(self, **values) -> "RunConfig":
        """Return a copy with some fields replaced."""
        return replace(self, **values)

    def key_dict(self) -> dict:
        """Return the dict that the store key is computed from.

        ``data_dir`` is left out, and so is every field of
        :data:`OPTIONAL_KEY_FIELDS` that has its default value.
        """
        values = asdict(self)
        del values["data_dir"]
        for name, default in OPTIONAL_KEY_FIELDS.items():
            if values[name] == default:
                del values[name]
        return values


# Fields added after results were first stored: in the key only when changed.
OPTIONAL_KEY_FIELDS = {
    "input_noise": 0.0, "optimizer": "sgd", "label_smoothing": 0.0,
    "lr_scaling": "none", "lr_reference_batch": 128, "record_test": False,
}


@dataclass(frozen=True)
class MetricSettings:
    """How each metric is measured (the paper's defaults unless noted).

    Attributes
    ----------
    hessian_samples : int
        Size of the fixed, seeded training batch for the Hessian (200).
    hessian_max_iter : int
        Maximum Hessian-vector products per estimate (100).
    hessian_tol : float
        Relative tolerance of power iteration and Hutchinson (1e-3).
    hessian_seed : int
        Seeds the batch, the starting vector and the probes.
    cka_samples : int
        Mixup inputs m (640).
    cka_alpha : float
        Beta(alpha, alpha) of the mixup coefficient (16).
    cka_perturbation : {"mixup", "noise"}
        Perturbed input set; ``"noise"`` adds uniform noise of
        ``cka_noise`` (input units) to training inputs.
    cka_noise : float
        Noise magnitude for ``cka_perturbation="noise"``.
    cka_output : {"softmax", "logits"}
        Representation compared (the paper uses softmax outputs).
    cka_seed : int
    curve_epochs : int
        Curve training epochs (the paper: 50 on CIFAR-10).
    curve_lr, curve_momentum, curve_weight_decay : float
        SGD settings of the curve (0.01, 0.9, 5e-4).
    curve_batch_size : int
        Minibatch size of curve training (128).
    curve_bends : int
        Trainable bends (1: quadratic Bezier curve).
    curve_pairs : int
        How many seed pairs get a curve, taken in order (0, 1), (0, 2), ...
        The paper connects seeds 0 and 1 only.
    curve_t : tuple of float
        Points where the curve is evaluated (0, 0.25, 0.5, 0.75, 1).
    mc_include_endpoints : bool
        Let the endpoints compete for t* as in the authors' code.
    curve_seed : int
    """

    hessian_samples: int = 200
    hessian_max_iter: int = 100
    hessian_tol: float = 1e-3
    hessian_seed: int = 0
    cka_samples: int = 640
    cka_alpha: float = 16.0
    cka_perturbation: str = "mixup"
    cka_noise: float = 0.0
    cka_output: str = "softmax"
    cka_seed: int = 0
    curve_epochs: int = 50
    curve_lr: float = 0.01
    curve_momentum: float = 0.9
    curve_weight_decay: float = 5e-4
    curve_batch_size: int = 128
    curve_bends: int = 1
    curve_pairs: int = 1
    curve_t: tuple = (0.0, 0.25, 0.5, 0.75, 1.0)
    mc_include_endpoints: bool = False
    curve_seed: int = 0

    def __post_init__(self):
        func = "MetricSettings()"
        coerce_numbers(self)
        check_int(self.hessian_samples, "hessian_samples", func, 1)
        check_int(self.hessian_max_iter, "hessian_max_iter", func, 1)
        check_float(self.hessian_tol, "hessian_tol", func, 0.0, None, closed="neither")
        check_int(self.cka_samples, "cka_samples", func, 2)
        check_float(self.cka_alpha, "cka_alpha", func, 0.0, None, closed="neither")
        check_choice(self.cka_perturbation, "cka_perturbation", func, ("mixup", "noise"))
        check_float(self.cka_noise, "cka_noise", func, 0.0)
        check_choice(self.cka_output, "cka_output", func, ("softmax", "logits"))
        check_int(self.curve_epochs, "curve_epochs", func, 0)
        check_float(self.curve_lr, "curve_lr", func, 0.0, None, closed="neither")
        check_int(self.curve_batch_size, "curve_batch_size", func, 1)
        check_int(self.curve_bends, "curve_bends", func, 1)
        check_int(self.curve_pairs, "curve_pairs", func, 0)
        check_bool(self.mc_include_endpoints, "mc_include_endpoints", func)
        object.__setattr__(self, "curve_t", tuple(float(t) for t in self.curve_t))

    def hessian_dict(self) -> dict:
        """Return the settings that determine the Hessian record."""
        return {k: v for k, v in asdict(self).items() if k.startswith("hessian_")}

    def cka_dict(self) -> dict:
        """Return the settings that determine the CKA record."""
        return {k: v for k, v in asdict(self).items() if k.startswith("cka_")}

    def curve_dict(self) -> dict:
        """Return the settings that determine the curve record."""
        return {
            k: v for k, v in asdict(self).items()
            if k.startswith("curve_") and k != "curve_pairs" or k == "mc_include_endpoints"
        }
