"""Training as in the paper: SGD (or Adam for the Transformer), lr schedules, a plateau stopping rule, best checkpoint."""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from lscape.validation import (
    check_bool, check_callable, check_choice, check_float, check_int, check_module, check_tensor, check_type,
    coerce_numbers, parameter_error,
)

LR_SCHEDULES = ("constant", "step", "inverse_sqrt")
OPTIMIZERS = ("sgd", "adam")


class TrainingDivergedWarning(RuntimeWarning):
    """Training produced a NaN or infinite loss; the run is recorded as not converged."""


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run.

    Attributes
    ----------
    batch_size : int
        Minibatch size B (a temperature knob).
    lr : float
        SGD learning rate eta (a temperature knob). Default 0.05.
    momentum : float
        SGD momentum; 0.9 as in the authors' code.
    weight_decay : float
        L2 coefficient passed to SGD (a temperature knob). Default 5e-4.
    max_epochs : int
        Epoch cap when the stopping rule does not fire.
    min_steps : int
        Optimizer steps that must pass before the plateau rule may fire; the
        epoch cap is raised to ``ceil(min_steps / steps_per_epoch)`` when that
        is larger. Large batches take few steps per epoch, and their loss can
        sit on the initial plateau for several epochs; without this floor the
        rule would stop them at chance level.
    stop_tol : float
        The stopping rule fires when the epoch's mean training loss changes by
        less than ``stop_tol`` for ``stop_patience`` consecutive epochs.
    stop_patience : int
        See ``stop_tol``.
    lr_schedule : {"constant", "step", "inverse_sqrt"}
        ``"step"`` multiplies lr by ``lr_decay_factor`` at ``lr_decay_at`` of the
        epoch cap (learning-rate decay in the middle of training);
        ``"inverse_sqrt"`` decays as ``sqrt(warmup_steps / step)`` after the
        warmup. Every schedule starts with the linear warmup.
    lr_decay_at : float
        Fraction of the epoch cap at which the step schedule decays.
    lr_decay_factor : float
        Multiplier of the step schedule.
    warmup_steps : int
        The lr rises linearly from ``lr / warmup_steps`` to ``lr`` over the
        first ``warmup_steps`` optimizer steps (0: no warmup).
    seed : int
        Seeds the initialisation (done by the caller) and the data order.
    optimizer : {"sgd", "adam"}
        ``"sgd"`` uses ``momentum``; ``"adam"`` uses betas (0.9, 0.98), as in
        the Transformer of Vaswani et al. (2017), and ignores ``momentum``.
        ``weight_decay`` is the L2 coefficient of either.
    label_smoothing : float
        Label smoothing of the default cross-entropy loss (the paper's
        Transformer: 0.1).
    """

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
    optimizer: str = "sgd"
    label_smoothing: float = 0.0

    def __post_init__(self):
        func = "TrainConfig()"
        coerce_numbers(self)
        check_int(self.batch_size, "batch_size", func, 1)
        check_float(self.lr, "lr", func, 0.0, None, closed="neither")
        check_float(self.momentum, "momentum", func, 0.0, 1.0, closed="left")
        check_float(self.weight_decay, "weight_decay", func, 0.0)
        check_int(self.max_epochs, "max_epochs", func, 1)
        check_int(self.min_steps, "min_steps", func, 0)
        check_float(self.stop_tol, "stop_tol", func, 0.0)
        check_int(self.stop_patience, "stop_patience", func, 1)
        check_choice(self.lr_schedule, "lr_schedule", func, LR_SCHEDULES)
        check_float(self.lr_decay_at, "lr_decay_at", func, 0.0, 1.0)
        check_float(self.lr_decay_factor, "lr_decay_factor", func, 0.0, 1.0)
        check_int(self.warmup_steps, "warmup_steps", func, 0)
        check_int(self.seed, "seed", func, 0)
        check_choice(self.optimizer, "optimizer", func, OPTIMIZERS)
        check_float(self.label_smoothing, "label_smoothing", func, 0.0, 1.0, closed="left")

    def epoch_cap(self, num_train: int) -> int:
        """Return the number of epochs after which training stops at the latest."""
        num_train = check_int(num_train, "num_train", "TrainConfig.epoch_cap()", 1)
        steps_per_epoch = math.ceil(num_train / self.batch_size)
        return max(self.max_epochs, math.ceil(self.min_steps / steps_per_epoch))


@dataclass
class TrainResult:
    """Outcome of :func:`train`.

    Attributes
    ----------
    state_dict : dict
        Parameters and buffers of the checkpoint with the lowest epoch training loss.
    epoch_losses : list of float
        Mean training loss of each epoch (train mode, weighted by batch size).
    best_epoch : int
        1-based epoch of the kept checkpoint (0 if no epoch finished).
    epochs, steps : int
        Epochs and optimizer steps run.
    stopped_early : bool
        True when the plateau rule fired before the cap.
    diverged : bool
        True when the loss became NaN or infinite; the run is "NC" (not converged).
    seconds : float
        Wall time of training.
    evaluations : list
        Return values of ``eval_fn``, one per epoch.
    """

    state_dict: dict
    epoch_losses: list[float] = field(default_factory=list)
    best_epoch: int = 0
    epochs: int = 0
    steps: int = 0
    stopped_early: bool = False
    diverged: bool = False
    seconds: float = 0.0
    evaluations: list = field(default_factory=list)


def _lr_factor(config: TrainConfig, step: int, epoch: int, epoch_cap: int) -> float:
    """Multiplier of ``config.lr`` at 0-based optimizer ``step`` in 0-based ``epoch``."""
    step = step + 1
    warmup = max(config.warmup_steps, 1)
    if step < warmup:
        return step / warmup
    if config.lr_schedule == "step":
        return config.lr_decay_factor if epoch >= config.lr_decay_at * epoch_cap else 1.0
    if config.lr_schedule == "inverse_sqrt":
        return math.sqrt(warmup / step)
    return 1.0


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Return the optimizer ``config.optimizer`` over the model's parameters."""
    check_module(model, "model", "make_optimizer()")
    check_type(config, "config", "make_optimizer()", TrainConfig, "a lscape.train.TrainConfig")
    if config.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=config.lr, betas=(0.9, 0.98), weight_decay=config.weight_decay)
    return torch.optim.SGD(
        model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
    )


def train(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    config: TrainConfig,
    loss_fn: nn.Module | None = None,
    progress: bool = False,
    eval_fn=None,
) -> TrainResult:
    """Train ``model`` in place with minibatch SGD (or Adam) and keep the best checkpoint.

    Minibatches are drawn without replacement from a permutation generated by
    ``config.seed``, so the same seed and initial weights give the same run.
    After training, ``model`` holds the checkpoint with the lowest epoch
    training loss. A NaN or infinite loss stops training, sets ``diverged``
    and is never raised.

    Parameters
    ----------
    model : torch.nn.Module
        Network to train; its parameters' device is used for the data.
    X : torch.Tensor
        Training inputs, shape ``(n, *input_shape)``.
    y : torch.Tensor
        Training targets, shape ``(n,)`` for classification.
    config : TrainConfig
    loss_fn : torch.nn.Module, optional
        Default cross-entropy (mean over the batch, and over the target
        tokens that are not padding) with ``config.label_smoothing``.
    progress : bool
        Show a ``tqdm`` bar over epochs.
    eval_fn : callable, optional
        Called as ``eval_fn(model, epoch)`` after every epoch (e.g. to record
        test accuracy for early stopping); its return values are collected in
        ``TrainResult.evaluations``.
    """
    from tqdm.auto import tqdm

    func = "train()"
    check_module(model, "model", func)
    check_tensor(X, "X", func, min_ndim=1)
    check_tensor(y, "y", func, min_ndim=1)
    if len(X) != len(y) or len(X) == 0:
        raise parameter_error(func, "y", f"a non-empty tensor with as many rows as X ({len(X)})", y,
                              f"Its shape is {tuple(y.shape)}.")
    check_type(config, "config", func, TrainConfig, "a lscape.train.TrainConfig")
    if loss_fn is not None:
        check_callable(loss_fn, "loss_fn", func, "a callable loss_fn(outputs, y) or None")
    check_bool(progress, "progress", func)
    if eval_fn is not None:
        check_callable(eval_fn, "eval_fn", func, "a callable eval_fn(model, epoch) or None")
    loss_fn = loss_fn or nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    device = next(model.parameters()).device
    X, y = X.to(device), y.to(device)
    n = len(X)
    optimizer = make_optimizer(model, config)
    generator = torch.Generator().manual_seed(config.seed)
    epoch_cap = config.epoch_cap(n)

    result = TrainResult(state_dict=copy.deepcopy(model.state_dict()))
    best_loss = math.inf
    calm_epochs = 0
    start = time.perf_counter()
    bar = tqdm(range(1, epoch_cap + 1), desc="epochs", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        total, seen = 0.0, 0
        order = torch.randperm(n, generator=generator).to(device)
        for begin in range(0, n, config.batch_size):
            index = order[begin : begin + config.batch_size]
            for group in optimizer.param_groups:
                group["lr"] = config.lr * _lr_factor(config, result.steps, epoch - 1, epoch_cap)
            loss = loss_fn(model(X[index]), y[index])
            if not torch.isfinite(loss):
                result.diverged = True
                break
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            result.steps += 1
            total += loss.item() * len(index)
            seen += len(index)
        if result.diverged:
            break

        epoch_loss = total / seen
        previous = result.epoch_losses[-1] if result.epoch_losses else None
        result.epoch_losses.append(epoch_loss)
        result.epochs = epoch
        if eval_fn is not None:
            result.evaluations.append(eval_fn(model, epoch))
        if epoch_loss < best_loss:
            best_loss = epoch_loss
            result.best_epoch = epoch
            result.state_dict = copy.deepcopy(model.state_dict())
        bar.set_postfix(loss=f"{epoch_loss:.4f}")

        calm_epochs = calm_epochs + 1 if previous is not None and abs(epoch_loss - previous) < config.stop_tol else 0
        if calm_epochs >= config.stop_patience and result.steps >= config.min_steps:
            result.stopped_early = True
            break

    optimizer.zero_grad(set_to_none=True)
    model.load_state_dict(result.state_dict)
    result.seconds = time.perf_counter() - start
    return result


def config_dict(config: TrainConfig) -> dict:
    """Return the config as a plain dict (for hashing and provenance)."""
    check_type(config, "config", "config_dict()", TrainConfig, "a lscape.train.TrainConfig")
    return asdict(config)
