"""Units of grid work that run in worker processes: one run, one seed pair.

Each task reads what the store already holds and computes only what is
missing, so rerunning a grid, or asking for the same runs from another
notebook, trains nothing twice.
"""

from __future__ import annotations

import functools
import math
import time
import warnings
from contextlib import contextmanager

import torch
from torch import nn

from lscape.config import MetricSettings, RunConfig
from lscape.data import Dataset, load_dataset
from lscape.models import build
from lscape.store import Store, config_key
from lscape.train import TrainingDivergedWarning, train


def init_worker(threads: int) -> None:
    """Set torch's thread count in a fresh worker process."""
    torch.set_num_threads(threads)


@contextmanager
def local_threads(threads: int):
    """Use ``threads`` torch threads inside the block, then restore the previous count."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@functools.lru_cache(maxsize=8)
def cached_dataset(name: str, train_size: int | None, label_noise: float, data_seed: int) -> Dataset:
    """Return :func:`lscape.data.load_dataset`'s result, cached per process."""
    return load_dataset(name, train_size=train_size, label_noise=label_noise, seed=data_seed)


def dataset_for(config: RunConfig) -> Dataset:
    """Return the data set a run trains on."""
    return cached_dataset(config.dataset, config.train_size, config.label_noise, config.data_seed)


def build_model(config: RunConfig, data: Dataset) -> nn.Module:
    """Build the run's model with its seeded initialisation."""
    torch.manual_seed(config.seed)
    return build(config.model, config.width, data.num_classes, data.input_shape)


def run_keys(config: dict, metrics: dict) -> dict[str, str]:
    """Return the store keys of a run's records."""
    training = config_key(config)
    hessian = config_key({"run": config, "settings": MetricSettings(**metrics).hessian_dict()})
    return {"training": training, "evaluation": training, "hessian": hessian}


def pair_keys(config_a: dict, config_b: dict, metrics: dict) -> dict[str, str]:
    """Return the store keys of a seed pair's records."""
    settings = MetricSettings(**metrics)
    pair = {"a": config_a, "b": config_b}
    return {
        "l2": config_key(pair),
        "cka": config_key({**pair, "settings": settings.cka_dict()}),
        "curve": config_key({**pair, "settings": settings.curve_dict()}),
    }


def load_model(store: Store, config: RunConfig, device: str = "cpu") -> tuple[nn.Module, dict] | None:
    """Return a stored trained model (eval mode) and its training record, or None."""
    key = config_key(config.key_dict())
    record = store.read_json("training", key)
    checkpoint = store.read_checkpoint("models", key)
    if record is None or checkpoint is None:
        return None
    model = build_model(config, dataset_for(config))
    model.load_state_dict(checkpoint)
    return model.to(device).eval(), record


def _train_and_store(store: Store, config: RunConfig, device: str) -> dict:
    data = dataset_for(config)
    model = build_model(config, data).to(device)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrainingDivergedWarning)
        result = train(model, data.X_train, data.y_train, config.train_config())
    key = config_key(config.key_dict())
    record = {
        "epochs": result.epochs,
        "steps": result.steps,
        "best_epoch": result.best_epoch,
        "stopped_early": result.stopped_early,
        "diverged": result.diverged,
        "train_seconds": result.seconds,
        "epoch_losses": result.epoch_losses,
        "label_noise_applied": data.label_noise,
        "config": config.key_dict(),
    }
    # The checkpoint goes first: a training record without its model never counts as finished.
    store.write_checkpoint("models", key, {k: v.cpu() for k, v in model.state_dict().items()})
    store.write_json("training", key, record)
    return record


@torch.no_grad()
def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> tuple[float, float]:
    """Return ``(accuracy in %, mean cross-entropy)`` of ``model`` in eval mode."""
    training = model.training
    model.eval()
    device = next(model.parameters()).device
    correct, total = 0, 0.0
    try:
        for begin in range(0, len(X), batch_size):
            outputs = model(X[begin : begin + batch_size].to(device))
            target = y[begin : begin + batch_size].to(device)
            correct += (outputs.argmax(1) == target).sum().item()
            total += nn.functional.cross_entropy(outputs, target, reduction="sum").item()
    finally:
        model.train(training)
    return 100.0 * correct / len(X), total / len(X)


def run_task(root: str, config: dict, metrics: dict, device: str = "cpu") -> dict:
    """Train one run (unless stored) and measure its per-run metrics (unless stored).

    Returns the training record. A diverged run gets NaN metrics.
    """
    from lscape.metrics.hessian import fixed_batch, hessian_eigenvalues, hessian_trace

    store = Store(root)
    run = RunConfig(**config)
    settings = MetricSettings(**metrics)
    keys = run_keys(config, metrics)
    loaded = load_model(store, run, device)
    if loaded is None:
        _train_and_store(store, run, device)
        loaded = load_model(store, run, device)
    model, record = loaded
    data = dataset_for(run)
    nan = math.nan

    if not store.has("evaluation", keys["evaluation"]):
        if record["diverged"]:
            evaluation = dict.fromkeys(("test_accuracy", "test_loss", "train_accuracy", "train_loss"), nan)
        else:
            test_accuracy, test_loss = evaluate(model, data.X_test, data.y_test)
            train_accuracy, train_loss = evaluate(model, data.X_train, data.y_train)
            evaluation = {
                "test_accuracy": test_accuracy, "test_loss": test_loss,
                "train_accuracy": train_accuracy, "train_loss": train_loss,
            }
        store.write_json("evaluation", keys["evaluation"], evaluation)

    if not store.has("hessian", keys["hessian"]):
        if record["diverged"]:
            hessian = dict.fromkeys(("hessian_eigenvalue", "hessian_trace", "hessian_trace_stderr"), nan)
            hessian["hessian_matvecs"] = 0
        else:
            start = time.perf_counter()
            batch = fixed_batch(data.X_train, data.y_train, settings.hessian_samples, settings.hessian_seed)
            batch = (batch[0].to(device), batch[1].to(device))
            loss_fn = nn.CrossEntropyLoss()
            common = {"max_iter": settings.hessian_max_iter, "tol": settings.hessian_tol, "seed": settings.hessian_seed}
            eig = hessian_eigenvalues(model, loss_fn, batch, k=1, **common)
            trace = hessian_trace(model, loss_fn, batch, **common)
            hessian = {
                "hessian_eigenvalue": float(eig.eigvals[0]),
                "hessian_trace": trace.trace,
                "hessian_trace_stderr": trace.stderr,
                "hessian_matvecs": eig.num_matvecs + trace.num_matvecs,
                "hessian_seconds": time.perf_counter() - start,
            }
        store.write_json("hessian", keys["hessian"], hessian)
    return record


def pair_task(root: str, config_a: dict, config_b: dict, metrics: dict, curve: bool, device: str = "cpu") -> None:
    """Measure L2 distance, CKA and (if ``curve``) mode connectivity of two stored runs."""
    from lscape.metrics.connectivity import mode_connectivity
    from lscape.metrics.distance import l2_distance
    from lscape.metrics.similarity import mixup_inputs, model_cka, noisy_inputs

    store = Store(root)
    settings = MetricSettings(**metrics)
    keys = pair_keys(config_a, config_b, metrics)
    needed = [kind for kind in ("l2", "cka") + (("curve",) if curve else ()) if not store.has(kind, keys[kind])]
    if not needed:
        return
    run_a, run_b = RunConfig(**config_a), RunConfig(**config_b)
    model_a, record_a = load_model(store, run_a, device)
    model_b, record_b = load_model(store, run_b, device)
    diverged = record_a["diverged"] or record_b["diverged"]
    data = dataset_for(run_a)

    if "l2" in needed:
        store.write_json("l2", keys["l2"], {"l2_distance": math.nan if diverged else l2_distance(model_a, model_b)})

    if "cka" in needed:
        value = math.nan
        if not diverged:
            if settings.cka_perturbation == "mixup":
                inputs = mixup_inputs(data.X_train, settings.cka_samples, settings.cka_alpha, settings.cka_seed)
            else:
                inputs = noisy_inputs(data.X_train, settings.cka_samples, settings.cka_noise, settings.cka_seed)
            value = model_cka(model_a, model_b, inputs.to(device), settings.cka_output)
        store.write_json("cka", keys["cka"], {"cka": value})

    if "curve" in needed:
        record = dict.fromkeys(("mc", "mc_loss", "t_star", "linear_mc"), math.nan)
        if not diverged:
            start = time.perf_counter()
            result = mode_connectivity(
                model_a, model_b, data.X_train.to(device), data.y_train.to(device),
                t=settings.curve_t, include_endpoints=settings.mc_include_endpoints,
                num_bends=settings.curve_bends, epochs=settings.curve_epochs,
                batch_size=settings.curve_batch_size, lr=settings.curve_lr,
                momentum=settings.curve_momentum, weight_decay=settings.curve_weight_decay,
                seed=settings.curve_seed,
            )
            record = {
                "mc": result.mc, "mc_loss": result.mc_loss, "t_star": result.t_star,
                "linear_mc": result.linear_mc,
                "curve_error": result.profile.error.tolist(), "curve_loss": result.profile.loss.tolist(),
                "linear_error": result.linear_profile.error.tolist(),
                "linear_loss": result.linear_profile.loss.tolist(),
                "curve_seconds": time.perf_counter() - start,
            }
        store.write_json("curve", keys["curve"], record)
