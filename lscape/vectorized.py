"""Train several seeds of one cell as one vectorised run (``torch.func.stack_module_state`` + ``vmap``).

Every seed keeps its own initial weights, its own minibatch order and its
own plateau stopping rule; the seeds only share the kernels. The update is
:class:`torch.optim.SGD`'s rule written out on the stacked parameters, so a
seed that has stopped (or diverged) is frozen while the others go on. The
result of each seed equals :func:`lscape.train.train` on that seed alone up
to floating-point rounding (vectorised kernels sum in another order).

Models with BatchNorm (running statistics are updated in place, which
``vmap`` does not allow), dropout (random masks per seed), and runs with
Adam are not vectorised: :func:`vectorizable` returns the reason, and
:func:`train_many` then trains the seeds one after the other.
"""

from __future__ import annotations

import copy
import math
import time

import torch
from torch import nn
from torch.func import functional_call, grad_and_value, stack_module_state, vmap

from lscape.train import TrainConfig, TrainResult, _lr_factor, train
from lscape.validation import check_module, check_type, parameter_error


def vectorizable(model: nn.Module, config: TrainConfig) -> str | None:
    """Return why ``model`` cannot be trained vectorised under ``config``, or None if it can."""
    check_module(model, "model", "vectorizable()")
    check_type(config, "config", "vectorizable()", TrainConfig, "a TrainConfig")
    if config.optimizer != "sgd":
        return f"optimizer {config.optimizer!r} (only SGD is vectorised)"
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            return f"BatchNorm layer {name!r} (vmap cannot update running statistics in place)"
        if isinstance(module, nn.modules.dropout._DropoutNd) and module.p > 0:
            return f"dropout layer {name!r} (random masks differ per seed)"
        if isinstance(module, nn.MultiheadAttention):
            return f"attention layer {name!r}"
    if any(b.numel() for b in model.buffers()):
        return "buffers that training would update"
    return None


def train_many(
    models: list[nn.Module],
    X: torch.Tensor,
    y: torch.Tensor,
    configs: list[TrainConfig],
    loss_fn: nn.Module | None = None,
    eval_fn=None,
    vectorize: bool = True,
) -> list[TrainResult]:
    """Train one model per seed and leave each holding its best checkpoint, as :func:`lscape.train.train` does.

    Parameters
    ----------
    models : list of torch.nn.Module
        One network per seed, same architecture, on one device, each with
        its seeded initialisation.
    X, y : torch.Tensor
        Training inputs ``(n, *input_shape)`` and labels ``(n,)``, shared by the seeds.
    configs : list of TrainConfig
        One per model; they may differ in ``seed`` only.
    loss_fn : torch.nn.Module, optional
        Default cross-entropy with ``label_smoothing``; must reduce by the mean.
    eval_fn : callable, optional
        Called as ``eval_fn(model, epoch)`` after each epoch of each seed.
    vectorize : bool, default True
        False trains the seeds in a loop with :func:`lscape.train.train`
        (the reference the vectorised route is tested against).

    Returns
    -------
    list of TrainResult
        One per seed, in the order of ``models``; ``seconds`` is the wall
        time of the whole vectorised run, shared by the seeds.

    Raises
    ------
    ParameterError
        If the lists are empty or differ in length, or the configs differ in
        anything but the seed.
    """
    func = "train_many()"
    check_type(models, "models", func, (list, tuple), "a non-empty list of torch.nn.Module")
    check_type(configs, "configs", func, (list, tuple), "a list of TrainConfig, one per model")
    if not models or not all(isinstance(m, nn.Module) for m in models):
        raise parameter_error(func, "models", "a non-empty list of torch.nn.Module", models)
    if len(configs) != len(models) or not all(isinstance(c, TrainConfig) for c in configs):
        raise parameter_error(func, "configs", f"a list of {len(models)} TrainConfig (one per model)", configs)
    shared = {**vars(configs[0]), "seed": None}
    for config in configs[1:]:
        if {**vars(config), "seed": None} != shared:
            raise parameter_error(func, "configs", "TrainConfigs that differ in 'seed' only", configs)
    if not vectorize or len(models) == 1 or vectorizable(models[0], configs[0]) is not None:
        return [train(m, X, y, c, loss_fn=loss_fn, eval_fn=eval_fn) for m, c in zip(models, configs)]
    return _train_vectorized(models, X, y, configs, loss_fn, eval_fn)


def _train_vectorized(models, X, y, configs, loss_fn, eval_fn) -> list[TrainResult]:
    config = configs[0]
    seeds = len(models)
    loss_fn = loss_fn or nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    device = next(models[0].parameters()).device
    X, y = X.to(device), y.to(device)
    n = len(X)
    epoch_cap = config.epoch_cap(n)
    generators = [torch.Generator().manual_seed(c.seed) for c in configs]

    for model in models:
        model.train()
    params, buffers = stack_module_state(models)  # each (seeds, *shape)
    params = {name: p.detach().clone() for name, p in params.items()}
    trainable = {name: p.requires_grad for name, p in models[0].named_parameters()}
    template = copy.deepcopy(models[0]).to("meta")

    def loss_of(p, b, inputs, targets):
        return loss_fn(functional_call(template, (p, b), (inputs,)), targets)

    step_fn = vmap(grad_and_value(loss_of), in_dims=(0, 0, 0, 0))
    momentum = {name: None for name in params}

    results = [TrainResult(state_dict=copy.deepcopy(m.state_dict())) for m in models]
    best_loss = [math.inf] * seeds
    best_params = [None] * seeds
    calm = [0] * seeds
    active = torch.ones(seeds, dtype=torch.bool, device=device)
    start = time.perf_counter()
    steps = 0  # every active seed has taken the same number of steps

    for epoch in range(1, epoch_cap + 1):
        orders = torch.stack([torch.randperm(n, generator=g) for g in generators]).to(device)  # (seeds, n)
        totals = torch.zeros(seeds, dtype=torch.float64, device=device)
        for begin in range(0, n, config.batch_size):
            index = orders[:, begin : begin + config.batch_size]  # (seeds, B)
            grads, losses = step_fn(params, buffers, X[index], y[index])  # losses: (seeds,)
            finite = torch.isfinite(losses)
            for s in torch.nonzero(active & ~finite).flatten().tolist():
                results[s].diverged = True
            active = active & finite
            if not active.any():
                break
            lr = config.lr * _lr_factor(config, steps, epoch - 1, epoch_cap)
            with torch.no_grad():
                for name, p in params.items():
                    if not trainable[name]:
                        continue
                    mask = active.view((seeds,) + (1,) * (p.dim() - 1))
                    d_p = grads[name] + config.weight_decay * p if config.weight_decay else grads[name]
                    if config.momentum:
                        previous = momentum[name]
                        buf = d_p.clone() if previous is None else previous * config.momentum + d_p
                        momentum[name] = buf if previous is None else torch.where(mask, buf, previous)
                        d_p = buf
                    params[name] = torch.where(mask, p - lr * d_p, p)
            steps += 1
            for s in torch.nonzero(active).flatten().tolist():
                results[s].steps += 1
            totals += torch.where(active, losses.double(), 0.0) * index.shape[1]

        if not active.any():
            break
        for s in torch.nonzero(active).flatten().tolist():
            result = results[s]
            epoch_loss = totals[s].item() / n
            previous = result.epoch_losses[-1] if result.epoch_losses else None
            result.epoch_losses.append(epoch_loss)
            result.epochs = epoch
            if eval_fn is not None:
                _load_slice(models[s], params, buffers, s)
                result.evaluations.append(eval_fn(models[s], epoch))
            if epoch_loss < best_loss[s]:
                best_loss[s] = epoch_loss
                result.best_epoch = epoch
                best_params[s] = {name: p[s].clone() for name, p in params.items()}
            calm[s] = calm[s] + 1 if previous is not None and abs(epoch_loss - previous) < config.stop_tol else 0
            if calm[s] >= config.stop_patience and result.steps >= config.min_steps:
                result.stopped_early = True
                active[s] = False
        if not active.any():
            break

    seconds = time.perf_counter() - start
    for s, (model, result) in enumerate(zip(models, results)):
        if best_params[s] is not None:
            with torch.no_grad():
                for name, p in model.named_parameters():
                    p.copy_(best_params[s][name])
        result.state_dict = copy.deepcopy(model.state_dict())
        result.seconds = seconds
    return results


def _load_slice(model: nn.Module, params: dict, buffers: dict, s: int) -> None:
    """Copy seed ``s`` of the stacked parameters into ``model``."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(params[name][s])
        for name, b in model.named_buffers():
            b.copy_(buffers[name][s])


__all__ = ["train_many", "vectorizable"]
