"""Units of grid work that run in worker processes: one run, one seed pair.

Each task reads what the store already holds and computes only what is
missing, so rerunning a grid, or asking for the same runs from another
notebook, trains nothing twice.
"""

from __future__ import annotations

import functools
import math
from dataclasses import asdict
import time
import warnings
from contextlib import contextmanager

import torch
from torch import nn

from lscape.config import MetricSettings, RunConfig
from lscape.data import Dataset, load_dataset
from lscape.models import build
from lscape.store import Store, config_key, provenance
from lscape.train import TrainingDivergedWarning, train
from lscape.validation import parameter_error


def resolve_device(device, func: str = "resolve_device()", check_available: bool = True) -> str:
    """Return the torch device string ``device`` stands for; ``"auto"`` picks a GPU when there is one.

    Raises
    ------
    ParameterError
        If ``device`` is not a device string, or (with ``check_available``)
        names a GPU this machine does not have.
    """
    accepted = "'cpu', 'cuda', 'cuda:<index>', 'mps' or 'auto'"
    if not isinstance(device, str):
        raise parameter_error(func, "device", accepted, device)
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError):
        raise parameter_error(func, "device", accepted, device) from None
    if parsed.type not in ("cpu", "cuda", "mps"):
        raise parameter_error(func, "device", accepted, device)
    if check_available and parsed.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise parameter_error(func, "device", accepted + " on a machine with that device", device,
                                  "torch.cuda.is_available() is False here; use 'cpu' or 'auto'.")
        if parsed.index is not None and parsed.index >= count:
            raise parameter_error(func, "device", f"a CUDA device index in [0, {count - 1}]", device)
    if check_available and parsed.type == "mps" and not torch.backends.mps.is_available():
        raise parameter_error(func, "device", accepted + " on a machine with that device", device,
                              "torch.backends.mps.is_available() is False here.")
    return device


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
def cached_dataset(
    name: str, train_size: int | None, label_noise: float, data_seed: int,
    input_noise: float = 0.0, data_dir: str | None = None,
) -> Dataset:
    """Return :func:`lscape.data.load_dataset`'s result, cached per process."""
    return load_dataset(
        name, train_size=train_size, label_noise=label_noise, input_noise=input_noise,
        seed=data_seed, data_dir=data_dir,
    )


def dataset_for(config: RunConfig) -> Dataset:
    """Return the data set a run trains on."""
    return cached_dataset(
        config.dataset, config.train_size, config.label_noise, config.data_seed, config.input_noise, config.data_dir
    )


def build_model(config: RunConfig, data: Dataset) -> nn.Module:
    """Build the run's model with its seeded initialisation."""
    torch.manual_seed(config.seed)
    return build(config.model, config.width, data.num_classes, data.input_shape, **data.model_options)


def _key_fields(config: dict) -> dict:
    """Return the store-key fields of a run given as a full or key dict of :class:`RunConfig`."""
    return RunConfig(**config).key_dict()


def run_keys(config: dict, metrics: dict) -> dict[str, str]:
    """Return the store keys of a run's records."""
    config = _key_fields(config)
    training = config_key(config)
    hessian = config_key({"run": config, "settings": MetricSettings(**metrics).hessian_dict()})
    return {"training": training, "evaluation": training, "hessian": hessian}


def pair_keys(config_a: dict, config_b: dict, metrics: dict) -> dict[str, str]:
    """Return the store keys of a seed pair's records."""
    settings = MetricSettings(**metrics)
    pair = {"a": _key_fields(config_a), "b": _key_fields(config_b)}
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
    return _train_and_store_many(store, [config], device, vectorize=False)[0]


def _train_and_store_many(store: Store, configs: list[RunConfig], device: str, vectorize: bool) -> list[dict]:
    """Train runs that differ only in the seed (vectorised when ``vectorize`` and the model allows) and store them."""
    from lscape.vectorized import train_many, vectorizable

    data = dataset_for(configs[0])
    models = [build_model(config, data).to(device) for config in configs]
    train_configs = [config.train_config() for config in configs]
    eval_fn = None
    if configs[0].record_test:
        X_test, y_test = data.X_test.to(device), data.y_test.to(device)

        def eval_fn(model, epoch):
            return evaluate(model, X_test, y_test)

    together = vectorize and len(configs) > 1 and vectorizable(models[0], train_configs[0]) is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrainingDivergedWarning)
        results = train_many(models, data.X_train, data.y_train, train_configs, eval_fn=eval_fn, vectorize=together)
    records = []
    for config, model, result in zip(configs, models, results):
        key = config_key(config.key_dict())
        record = {
            "epochs": result.epochs,
            "steps": result.steps,
            "best_epoch": result.best_epoch,
            "stopped_early": result.stopped_early,
            "diverged": result.diverged,
            "train_seconds": result.seconds / (len(configs) if together else 1),
            "epoch_losses": result.epoch_losses,
            "label_noise_applied": data.label_noise,
            "config": _settings(config),
            "vectorized_seeds": [c.seed for c in configs] if together else None,
            "provenance": provenance(device, result.seconds),
        }
        if config.record_test:
            record.update(_best_test_record(result.evaluations))
        # The checkpoint goes first: a training record without its model never counts as finished.
        store.write_checkpoint("models", key, {k: v.cpu() for k, v in model.state_dict().items()})
        store.write_json("training", key, record)
        records.append(record)
    return records


def _settings(config: RunConfig) -> dict:
    """Return every setting of a run (defaults included, the data folder left out) for its records."""
    values = asdict(config)
    del values["data_dir"]
    return values


def cell_task(root: str, configs: list[dict], metrics: dict, device: str = "cpu", vectorize: bool = True) -> None:
    """Train the missing runs of one cell together (seeds vectorised), then measure each run.

    ``configs`` are the runs of one cell; they differ only in the seed.
    """
    store = Store(root)
    device = resolve_device(device, "cell_task()")
    runs = [RunConfig(**config) for config in configs]
    missing = [run for run in runs if load_model(store, run, device) is None]
    if missing:
        _train_and_store_many(store, missing, device, vectorize)
    for config in configs:
        run_task(root, config, metrics, device)


def _best_test_record(evaluations: list) -> dict:
    """Return the best test accuracy and loss over the epochs (optimal early stopping)."""
    if not evaluations:
        return {"best_test_accuracy": math.nan, "best_test_loss": math.nan, "test_accuracy_curve": [], "test_loss_curve": []}
    accuracies = [a for a, _ in evaluations]
    losses = [loss for _, loss in evaluations]
    return {
        "best_test_accuracy": max(accuracies), "best_test_loss": min(losses),
        "best_test_epoch": 1 + accuracies.index(max(accuracies)),
        "test_accuracy_curve": accuracies, "test_loss_curve": losses,
    }


@torch.no_grad()
def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> tuple[float, float]:
    """Return ``(accuracy in %, mean cross-entropy)`` of ``model`` in eval mode.

    For translation targets ``y`` of shape ``(n, T)`` both are per target
    token, padding excluded.
    """
    from lscape.translation import IGNORE_INDEX

    training = model.training
    model.eval()
    device = next(model.parameters()).device
    correct, total, count = 0, 0.0, 0
    try:
        for begin in range(0, len(X), batch_size):
            outputs = model(X[begin : begin + batch_size].to(device))
            target = y[begin : begin + batch_size].to(device)
            real = target != IGNORE_INDEX
            correct += ((outputs.argmax(1) == target) & real).sum().item()
            total += nn.functional.cross_entropy(outputs, target, reduction="sum").item()
            count += real.sum().item()
    finally:
        model.train(training)
    return 100.0 * correct / count, total / count


def run_task(root: str, config: dict, metrics: dict, device: str = "cpu") -> dict:
    """Train one run (unless stored) and measure its per-run metrics (unless stored).

    Returns the training record. A diverged run gets NaN metrics.
    """
    from lscape.metrics.hessian import HessianConvergenceWarning, fixed_batch, hessian_eigenvalues, hessian_trace

    store = Store(root)
    device = resolve_device(device, "run_task()")
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
        start = time.perf_counter()
        if record["diverged"]:
            evaluation = dict.fromkeys(("test_accuracy", "test_loss", "train_accuracy", "train_loss"), nan)
        else:
            test_accuracy, test_loss = evaluate(model, data.X_test, data.y_test)
            train_accuracy, train_loss = evaluate(model, data.X_train, data.y_train)
            evaluation = {
                "test_accuracy": test_accuracy, "test_loss": test_loss,
                "train_accuracy": train_accuracy, "train_loss": train_loss,
            }
        evaluation["config"] = _settings(run)
        evaluation["provenance"] = provenance(device, time.perf_counter() - start)
        store.write_json("evaluation", keys["evaluation"], evaluation)

    if not store.has("hessian", keys["hessian"]):
        start = time.perf_counter()
        if record["diverged"]:
            hessian = dict.fromkeys(("hessian_eigenvalue", "hessian_trace", "hessian_trace_stderr"), nan)
            hessian["hessian_matvecs"] = 0
        else:
            batch = fixed_batch(data.X_train, data.y_train, settings.hessian_samples, settings.hessian_seed)
            batch = (batch[0].to(device), batch[1].to(device))
            loss_fn = nn.CrossEntropyLoss()
            common = {"max_iter": settings.hessian_max_iter, "tol": settings.hessian_tol, "seed": settings.hessian_seed}
            # Convergence is stored per run and summarised once by run_grid, not warned per run.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", HessianConvergenceWarning)
                eig = hessian_eigenvalues(model, loss_fn, batch, k=1, **common)
                trace = hessian_trace(model, loss_fn, batch, **common)
            hessian = {
                "hessian_converged": bool(eig.converged and trace.converged),
                "hessian_eigenvalue": float(eig.eigvals[0]),
                "hessian_trace": trace.trace,
                "hessian_trace_stderr": trace.stderr,
                "hessian_matvecs": eig.num_matvecs + trace.num_matvecs,
                "hessian_seconds": time.perf_counter() - start,
            }
        hessian["config"] = _settings(run)
        hessian["settings"] = settings.hessian_dict()
        hessian["provenance"] = provenance(device, time.perf_counter() - start)
        store.write_json("hessian", keys["hessian"], hessian)
    return record


def pair_task(root: str, config_a: dict, config_b: dict, metrics: dict, curve: bool, device: str = "cpu") -> None:
    """Measure L2 distance, CKA and (if ``curve``) mode connectivity of two stored runs."""
    from lscape.metrics.connectivity import mode_connectivity
    from lscape.metrics.distance import l2_distance
    from lscape.metrics.similarity import mixup_inputs, model_cka, noisy_inputs

    store = Store(root)
    device = resolve_device(device, "pair_task()")
    settings = MetricSettings(**metrics)
    keys = pair_keys(config_a, config_b, metrics)
    needed = [kind for kind in ("l2", "cka") + (("curve",) if curve else ()) if not store.has(kind, keys[kind])]
    if not needed:
        return
    run_a, run_b = RunConfig(**config_a), RunConfig(**config_b)
    pair = {"a": _settings(run_a), "b": _settings(run_b)}
    model_a, record_a = load_model(store, run_a, device)
    model_b, record_b = load_model(store, run_b, device)
    diverged = record_a["diverged"] or record_b["diverged"]
    data = dataset_for(run_a)

    if "l2" in needed:
        start = time.perf_counter()
        distance = math.nan if diverged else l2_distance(model_a, model_b)
        store.write_json("l2", keys["l2"], {
            "l2_distance": distance, "pair": pair, "provenance": provenance(device, time.perf_counter() - start),
        })

    if "cka" in needed:
        start = time.perf_counter()
        value = math.nan
        if not diverged and data.is_translation:
            value = _translation_cka(model_a, model_b, data, settings, device)
        elif not diverged:
            if settings.cka_perturbation == "mixup":
                inputs = mixup_inputs(data.X_train, settings.cka_samples, settings.cka_alpha, settings.cka_seed)
            else:
                inputs = noisy_inputs(data.X_train, settings.cka_samples, settings.cka_noise, settings.cka_seed)
            value = model_cka(model_a, model_b, inputs.to(device), settings.cka_output)
        seconds = time.perf_counter() - start
        store.write_json("cka", keys["cka"], {
            "cka": value, "cka_seconds": seconds, "pair": pair, "settings": settings.cka_dict(),
            "provenance": provenance(device, seconds),
        })

    if "curve" in needed:
        start = time.perf_counter()
        record = dict.fromkeys(("mc", "mc_loss", "t_star", "linear_mc"), math.nan)
        if not diverged:
            result = mode_connectivity(
                model_a, model_b, data.X_train.to(device), data.y_train.to(device),
                t=settings.curve_t, include_endpoints=settings.mc_include_endpoints,
                num_bends=settings.curve_bends, epochs=settings.curve_epochs,
                batch_size=settings.curve_batch_size, lr=settings.curve_lr,
                momentum=settings.curve_momentum, weight_decay=settings.curve_weight_decay,
                seed=settings.curve_seed,
            )
            if data.is_translation:
                _per_token_profiles(result, data.y_train, settings.mc_include_endpoints)
            record = {
                "mc": result.mc, "mc_loss": result.mc_loss, "t_star": result.t_star,
                "linear_mc": result.linear_mc,
                "curve_error": result.profile.error.tolist(), "curve_loss": result.profile.loss.tolist(),
                "linear_error": result.linear_profile.error.tolist(),
                "linear_loss": result.linear_profile.loss.tolist(),
                "curve_seconds": time.perf_counter() - start,
            }
        record.update({"pair": pair, "settings": settings.curve_dict()})
        record["provenance"] = provenance(device, time.perf_counter() - start)
        store.write_json("curve", keys["curve"], record)


def _translation_cka(model_a: nn.Module, model_b: nn.Module, data: Dataset, settings: MetricSettings, device: str) -> float:
    """Return linear CKA of two translation models' output distributions on perturbed inputs.

    The inputs come from :func:`lscape.translation.token_mixup_inputs`
    (``cka_perturbation="mixup"``) or :func:`lscape.translation.token_noise_inputs`
    with ``cka_noise`` as the fraction of replaced words. Each sample's
    representation is its softmax (or logits) at every target position,
    flattened to ``tgt_vocab * T`` features.
    """
    from lscape.metrics.similarity import cka, representations
    from lscape.translation import token_mixup_inputs, token_noise_inputs

    src_len = data.model_options["src_len"]
    if settings.cka_perturbation == "mixup":
        inputs = token_mixup_inputs(data.X_train, src_len, settings.cka_samples, settings.cka_alpha, settings.cka_seed)
    else:
        fraction = min(settings.cka_noise, 1.0)
        inputs = token_noise_inputs(
            data.X_train, src_len, data.model_options["src_vocab"], settings.cka_samples, fraction, settings.cka_seed
        )
    features = [
        representations(model, inputs.to(device), settings.cka_output).flatten(1).cpu().numpy()
        for model in (model_a, model_b)
    ]  # each (cka_samples, tgt_vocab * T)
    return cka(*features)


def _per_token_profiles(result, y: torch.Tensor, include_endpoints: bool) -> None:
    """Rescale a translation curve's profiles to per-token error (%) and loss, then rescore mc.

    :func:`lscape.metrics.connectivity.evaluate_curve` divides by the number
    of sentences and counts every padding position as an error. The padding
    count is the same at every t, so it is subtracted before dividing by the
    number of target tokens.
    """
    from lscape.metrics.connectivity import mc_score
    from lscape.translation import IGNORE_INDEX

    sentences = len(y)
    tokens = int((y != IGNORE_INDEX).sum())
    padding = y.numel() - tokens
    for profile in (result.profile, result.linear_profile):
        if profile is None:
            continue
        wrong = profile.error / 100.0 * sentences - padding
        profile.error = 100.0 * wrong / tokens
        profile.loss = profile.loss * sentences / tokens
    result.mc, best = mc_score(result.profile.error, include_endpoints)
    result.mc_loss, _ = mc_score(result.profile.loss, include_endpoints)
    result.t_star = float(result.profile.t[best])
    if result.linear_profile is not None:
        result.linear_mc, _ = mc_score(result.linear_profile.error, include_endpoints)
