"""Grids over a load knob and a temperature knob: run every cell and seed, return an xarray.Dataset."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import itertools
import json
import tempfile
import multiprocessing
import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from lscape.config import LOAD_KNOBS, TEMPERATURE_KNOBS, MetricSettings, RunConfig
from lscape.store import Store, config_key, shared_file_mode
from lscape.tasks import cell_task, pair_keys, pair_task, resolve_device, run_keys, run_task
from lscape.validation import (
    ParameterError, check_bool, check_choice, check_dataset, check_int, check_list, check_path, check_type,
    parameter_error,
)

RUN_VARIABLES = (
    "test_accuracy", "test_loss", "train_accuracy", "train_loss",
    "hessian_eigenvalue", "hessian_trace", "hessian_trace_stderr",
    "hessian_matvecs", "epochs", "steps", "best_epoch", "train_seconds",
    "best_test_accuracy", "best_test_loss", "hessian_seconds",
)
RUN_FLAGS = ("stopped_early", "diverged", "hessian_converged")
PAIR_VARIABLES = ("cka", "l2_distance", "cka_seconds")
CURVE_VARIABLES = ("mc", "mc_loss", "t_star", "linear_mc", "curve_seconds")
PROFILE_VARIABLES = ("curve_error", "curve_loss", "linear_error", "linear_loss")


@dataclass(frozen=True)
class GridSpec:
    """A load x temperature grid with several seeds per cell.

    Parameters
    ----------
    load : str
        Knob on the x axis: one of ``"width"``, ``"train_size"``,
        ``"label_noise"``, ``"input_noise"`` (the Transformer's embedding
        dimension is its ``"width"``).
    load_values : sequence
        Its values.
    temperature : str
        Knob on the y axis: one of ``"batch_size"``, ``"lr"``, ``"weight_decay"``.
    temperature_values : sequence
        Its values.
    seeds : sequence of int
        At least two, for CKA, L2 distance and mode connectivity.
    base : RunConfig
        Fixed settings of every run; the grid replaces the two knobs and the seed.
    metrics : MetricSettings
    name : str
        Label used in file names (e.g. ``"fig2_standard"``).
    """

    load: str
    load_values: tuple
    temperature: str
    temperature_values: tuple
    seeds: tuple = (0, 1)
    base: RunConfig = field(default_factory=RunConfig)
    metrics: MetricSettings = field(default_factory=MetricSettings)
    name: str = "grid"

    def __post_init__(self):
        func = "GridSpec()"
        check_type(self.base, "base", func, RunConfig, "a RunConfig")
        check_type(self.metrics, "metrics", func, MetricSettings, "a MetricSettings")
        check_type(self.name, "name", func, str, "a str")
        check_choice(self.load, "load", func, tuple(LOAD_KNOBS))
        check_choice(self.temperature, "temperature", func, tuple(TEMPERATURE_KNOBS))
        loads = check_list(self.load_values, "load_values", func, LOAD_KNOBS[self.load])
        temps = check_list(self.temperature_values, "temperature_values", func, TEMPERATURE_KNOBS[self.temperature])
        seeds = check_list(self.seeds, "seeds", func, lambda v, n, f: check_int(v, n, f, 0))
        if len(seeds) < 2:
            raise parameter_error(
                func, "seeds", "a list of at least 2 seeds", self.seeds,
                "CKA, L2 distance and mode connectivity compare pairs of seeds.",
            )
        object.__setattr__(self, "load_values", tuple(sorted(loads)))
        object.__setattr__(self, "temperature_values", tuple(sorted(temps)))
        object.__setattr__(self, "seeds", tuple(seeds))

    @property
    def pairs(self) -> list[tuple[int, int]]:
        """Seed pairs ``(a, b)`` with ``a < b`` in the order (0, 1), (0, 2), ..., (1, 2), ..."""
        return list(itertools.combinations(self.seeds, 2))

    def config(self, temperature_value, load_value, seed: int) -> RunConfig:
        """Return the run configuration of one cell and seed."""
        return self.base.with_values(
            **{self.temperature: temperature_value, self.load: load_value, "seed": seed}
        )

    def cells(self) -> list[tuple]:
        """Return ``(temperature_value, load_value)`` for every cell."""
        return list(itertools.product(self.temperature_values, self.load_values))

    def to_dict(self) -> dict:
        """Return the spec as plain JSON-friendly data."""
        return {
            "name": self.name, "load": self.load, "load_values": list(self.load_values),
            "temperature": self.temperature, "temperature_values": list(self.temperature_values),
            "seeds": list(self.seeds), "base": self.base.key_dict(), "metrics": asdict(self.metrics),
        }

    def key(self) -> str:
        """Return the key of the whole grid (for its netCDF file name)."""
        return config_key(self.to_dict())


def _check_against_data(spec: GridSpec) -> None:
    """Reject batch sizes and training-set sizes the data cannot provide, before any training.

    Raises FileNotFoundError first when a local data set is missing.
    """
    from lscape.tasks import cached_dataset

    sizes = {}
    data = cached_dataset(spec.base.dataset, None, 0.0, spec.base.data_seed, 0.0, spec.base.data_dir)
    for train_size in ([spec.base.train_size] if spec.load != "train_size" else spec.load_values):
        n_total = len(data.y_train)
        if data.is_translation:  # the default already is a 4,000-pair subsample of a larger corpus
            n_total = max(n_total, train_size or 0)
        if train_size is not None and train_size > n_total:
            raise ParameterError(
                f"The 'train_size' values of GridSpec() must be ints in [10, {n_total}] for the "
                f"{spec.base.dataset!r} data set. Got {train_size} instead."
            )
        sizes[train_size] = n_total if train_size is None else train_size
    smallest = min(sizes.values())
    batch_sizes = spec.temperature_values if spec.temperature == "batch_size" else (spec.base.batch_size,)
    for batch_size in batch_sizes:
        if batch_size > smallest:
            if len(sizes) > 1:
                where = f"the smallest training set of this grid, train_size={smallest} of {spec.base.dataset!r}"
            else:
                where = f"the number of training examples of {spec.base.dataset!r}"
            raise ParameterError(
                f"The 'batch_size' values of GridSpec() must be ints in [1, {smallest}] ({where}). "
                f"Got {batch_size} instead. A batch cannot hold more examples than the training set it is "
                f"drawn from: drop that batch size, or the training-set sizes below it."
            )


EXECUTORS = ("local", "dask", "tcp://<scheduler host>:<port>")
SCHEDULER_TIMEOUT = 30  # seconds to wait for a Dask scheduler given by address


def _make_executor(workers: int, threads: int) -> cf.Executor | None:
    if workers <= 1:
        return None
    from lscape.tasks import init_worker

    context = multiprocessing.get_context("spawn")
    return cf.ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=init_worker, initargs=(threads,)
    )


@contextlib.contextmanager
def _executor(executor, workers: int, threads: int, needed: bool):
    """Yield ``(pool, max_in_flight)``: the executor that runs the grid's tasks, None for in-process.

    ``"local"`` is a pool of ``workers`` spawned processes. ``"dask"`` is a
    Dask ``LocalCluster`` of ``workers`` single-threaded worker processes. An
    address such as ``"tcp://10.0.0.5:8786"`` is an existing Dask scheduler.
    Pools this function starts are shut down on exit; an external executor
    or scheduler is left running.
    """
    if not needed:
        yield None, 1
        return
    if isinstance(executor, cf.Executor):
        yield executor, 1 << 30  # the external executor queues; pairs are held back until their runs finish
        return
    if executor == "local":
        pool = _make_executor(workers, threads)
        try:
            yield pool, workers
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
        return
    import distributed

    from lscape.tasks import init_worker

    if executor == "dask":
        # Everything binds to the loopback interface; the scheduler's HTTP server takes a free port.
        cluster = distributed.LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
        )
        client = distributed.Client(cluster)
    else:
        cluster = None
        try:
            client = distributed.Client(executor, timeout=SCHEDULER_TIMEOUT)
        except OSError as error:
            raise ConnectionError(
                f"run_grid() could not connect to the Dask scheduler at executor={executor!r} within "
                f"{SCHEDULER_TIMEOUT} s ({error}). Start the scheduler, check the address it prints, "
                f"or use executor='local'. Nothing was computed."
            ) from None
    try:
        client.run(init_worker, threads)
        slots = sum(info["nthreads"] for info in client.scheduler_info()["workers"].values())
        yield client.get_executor(pure=False), max(slots, 1)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _check_executor(executor, func: str):
    accepted = "None, 'local', 'dask', a Dask scheduler address such as 'tcp://host:8786', or a concurrent.futures.Executor"
    if executor is None:
        return "local"
    if isinstance(executor, cf.Executor):
        return executor
    if isinstance(executor, str) and (executor in ("local", "dask") or "://" in executor):
        if executor != "local":
            try:
                import distributed  # noqa: F401
            except ImportError:
                raise parameter_error(
                    func, "executor", accepted, executor, "Dask is not installed: pip install 'lscape[cluster]'."
                ) from None
        return executor
    raise parameter_error(func, "executor", accepted, executor)


def run_grid(
    spec: GridSpec,
    results_dir: str | os.PathLike | None = None,
    workers: int | None = None,
    threads: int = 1,
    executor: str | cf.Executor | None = None,
    device: str = "cpu",
    progress: bool = True,
    vectorize_seeds: bool = False,
) -> xr.Dataset:
    """Train and measure every cell of ``spec``, reusing finished work from the store.

    Each (cell, seed) run trains a model and measures test accuracy, training
    loss, the Hessian top eigenvalue and trace. Each seed pair then gets CKA
    and L2 distance, and the first ``spec.metrics.curve_pairs`` pairs a trained
    Bezier curve (mode connectivity). Every record is stored under a key of
    its full configuration, so a rerun or another notebook asking for the
    same runs reads them instead of training again. A grid that was
    interrupted (even by SIGKILL) resumes from the records that finished;
    two processes running grids on one store at once both finish, and a run
    both of them compute is stored once by whichever finishes last (the
    same numbers, since runs are seeded).

    Parameters
    ----------
    spec : GridSpec
    results_dir : path, optional
        Store folder; default :func:`lscape.store.default_results_dir`. With
        a Dask cluster it must be a folder every worker can write (a shared
        file system).
    workers : int, optional
        Worker processes for ``executor="local"`` or ``"dask"``; default
        ``os.cpu_count()``. 1 runs in this process.
    threads : int, default 1
        Torch threads per worker (small models run fastest single-threaded).
    executor : str or concurrent.futures.Executor, optional
        Where the tasks run: ``"local"`` (default), a pool of ``workers``
        processes on this machine; ``"dask"``, a Dask ``LocalCluster`` of
        ``workers`` processes; ``"tcp://host:port"``, the workers of an
        existing Dask scheduler (e.g. started by dask-jobqueue on SLURM);
        or any ``concurrent.futures.Executor``, e.g.
        ``distributed.Client(...).get_executor()``.
    device : str, default "cpu"
        Torch device of the runs: ``"cpu"``, ``"cuda"``, ``"cuda:<index>"``,
        ``"mps"`` or ``"auto"`` (a GPU when there is one, else the CPU).
    progress : bool, default True
        Show a ``tqdm`` bar of finished cells with the estimated time left.
    vectorize_seeds : bool, default False
        Train the seeds of a cell as one vectorised run (see
        :mod:`lscape.vectorized`) when the model allows it. The numbers
        equal those of separate runs up to floating-point rounding, so the
        store keeps one set of records for both routes.

    Returns
    -------
    xarray.Dataset
        See :func:`assemble`; also written to
        ``<results_dir>/grids/<name>-<key>.nc``.

    Raises
    ------
    ParameterError
        Before any training, if an argument is invalid, a batch size or
        training-set size does not fit the data set, or the device is not
        available.
    FileNotFoundError
        Before any training, if a local data set is missing.
    """
    from tqdm.auto import tqdm

    func = "run_grid()"
    check_type(spec, "spec", func, GridSpec, "a GridSpec")
    store = Store(check_path(results_dir, "results_dir", func) if results_dir is not None else None)
    workers = check_int(os.cpu_count() or 1 if workers is None else workers, "workers", func, 1)
    threads = check_int(threads, "threads", func, 1)
    executor = _check_executor(executor, func)
    remote = not (executor == "local" or executor == "dask")
    device = resolve_device(device, func, check_available=not remote)
    check_bool(progress, "progress", func)
    check_bool(vectorize_seeds, "vectorize_seeds", func)
    _check_against_data(spec)

    # Jobs carry the full config (with data_dir); the store keys leave data_dir out.
    run_jobs = {
        (temp, load, seed): asdict(spec.config(temp, load, seed))
        for temp, load in spec.cells() for seed in spec.seeds
    }
    metrics = asdict(spec.metrics)
    pending_pairs = {
        (temp, load, index): (run_jobs[(temp, load, a)], run_jobs[(temp, load, b)], index < spec.metrics.curve_pairs)
        for temp, load in spec.cells() for index, (a, b) in enumerate(spec.pairs)
    }
    # Finished work is skipped before any worker starts, so a complete grid reloads in seconds.
    run_jobs = {job: c for job, c in run_jobs.items() if not _run_done(store, c, metrics)}
    pending_pairs = {
        job: p for job, p in pending_pairs.items() if not _pair_done(store, p[0], p[1], metrics, p[2])
    }
    remaining = {cell: 0 for cell in spec.cells()}
    for job in list(run_jobs) + list(pending_pairs):
        remaining[job[:2]] += 1
    fallback = _vectorize_fallback(spec) if vectorize_seeds else None
    if fallback is not None and run_jobs:
        warnings.warn(
            f"run_grid(vectorize_seeds=True): the seeds of {spec.base.model!r} are trained one after the other "
            f"because of its {fallback}.", UserWarning, stacklevel=2,
        )
    units = _run_units(run_jobs, str(store.root), metrics, device, vectorize_seeds and fallback is None)

    bar = tqdm(total=len(remaining), desc=f"{spec.name}: cells", unit="cell", disable=not progress)
    bar.update(sum(1 for count in remaining.values() if count == 0))
    started = time.perf_counter()

    def finish(cell):
        remaining[cell] -= 1
        if remaining[cell] == 0:
            bar.update(1)

    needed = bool(run_jobs or pending_pairs) and (executor != "local" or workers > 1)
    slots = None
    try:
        with _executor(executor, workers, threads, needed) as (pool, max_in_flight):
            if pool is not None and not isinstance(executor, cf.Executor):
                slots = max_in_flight
            if pool is None:
                from lscape.tasks import local_threads

                with local_threads(threads):
                    for jobs, task, args in units:
                        task(*args)
                        for job in jobs:
                            finish(job[:2])
                    for (temp, load, index), (config_a, config_b, curve) in pending_pairs.items():
                        pair_task(str(store.root), config_a, config_b, metrics, curve, device)
                        finish((temp, load))
            else:
                _run_in_pool(pool, store, units, pending_pairs, metrics, device, finish, max_in_flight)
    finally:
        bar.close()

    result = assemble(spec, store)
    result.attrs.update({
        "wall_seconds": time.perf_counter() - started,
        "device": device,
        "executor": executor if isinstance(executor, str) else type(executor).__name__,
        "vectorize_seeds": int(vectorize_seeds and fallback is None),
    })
    if slots is not None:
        result.attrs["workers"] = slots  # worker processes that ran this call's tasks
    _warn_unconverged(result, spec)
    save_netcdf(result, store.root / "grids" / f"{spec.name}-{spec.key()}.nc")
    return result


def _vectorize_fallback(spec: GridSpec) -> str | None:
    """Return why the grid's model cannot train its seeds vectorised, or None if it can."""
    from lscape.tasks import build_model, dataset_for
    from lscape.vectorized import vectorizable

    config = spec.config(spec.temperature_values[0], spec.load_values[0], spec.seeds[0])
    return vectorizable(build_model(config, dataset_for(config)), config.train_config())


def _warn_unconverged(result: xr.Dataset, spec: GridSpec) -> None:
    """Warn once when Hessian estimates of some runs stopped at hessian_max_iter before reaching hessian_tol."""
    from lscape.metrics.hessian import HessianConvergenceWarning

    flags = result["hessian_converged"].values
    measured = np.isfinite(flags)
    missed = int((flags[measured] == 0).sum())
    if missed:
        warnings.warn(
            f"{missed} of {int(measured.sum())} runs of grid {spec.name!r}: the Hessian eigenvalue or trace did not "
            f"reach hessian_tol={spec.metrics.hessian_tol:g} within hessian_max_iter={spec.metrics.hessian_max_iter} "
            f"products; the variable 'hessian_converged' marks them. Raise hessian_max_iter for tighter estimates.",
            HessianConvergenceWarning, stacklevel=3,
        )


def _run_units(run_jobs: dict, root: str, metrics: dict, device: str, vectorize: bool) -> list:
    """Return ``(jobs, task, args)`` units: one per run, or one per cell when seeds are vectorised."""
    if not vectorize:
        return [([job], run_task, (root, config, metrics, device)) for job, config in run_jobs.items()]
    by_cell: dict = {}
    for job, config in run_jobs.items():
        by_cell.setdefault(job[:2], []).append((job, config))
    return [
        ([job for job, _ in items], cell_task, (root, [config for _, config in items], metrics, device))
        for items in by_cell.values()
    ]


def _run_in_pool(pool, store, units, pending_pairs, metrics, device, finish, max_in_flight) -> None:
    """Keep at most ``max_in_flight`` tasks submitted; a pair goes first once both runs are stored.

    Cells are worked through in order, so finished cells accumulate steadily
    and an interrupted grid leaves whole cells behind.
    """
    root = str(store.root)
    queued = list(units)
    running_runs = {job for jobs, _, _ in units for job in jobs}  # runs not yet finished
    waiting = dict(pending_pairs)
    futures: dict = {}

    def ready_pairs():
        for pair_job, (config_a, config_b, curve) in list(waiting.items()):
            temp, load, _ = pair_job
            if all((temp, load, config["seed"]) not in running_runs for config in (config_a, config_b)):
                yield pair_job, config_a, config_b, curve

    def top_up():
        while len(futures) < max_in_flight:
            pair = next(ready_pairs(), None)
            if pair is not None:
                pair_job, config_a, config_b, curve = pair
                del waiting[pair_job]
                future = pool.submit(pair_task, root, config_a, config_b, metrics, curve, device)
                futures[future] = ("pair", [pair_job])
            elif queued:
                jobs, task, args = queued.pop(0)
                futures[pool.submit(task, *args)] = ("run", jobs)
            else:
                break

    top_up()
    while futures:
        finished, _ = cf.wait(list(futures), return_when=cf.FIRST_COMPLETED)
        for future in finished:
            kind, jobs = futures.pop(future)
            future.result()  # re-raise a worker's error here
            for job in jobs:
                finish(job[:2])
                if kind == "run":
                    running_runs.discard(job)
        top_up()


def assemble(spec: GridSpec, store: Store | str | os.PathLike | None = None) -> xr.Dataset:
    """Collect stored records of ``spec`` into an ``xarray.Dataset``; missing ones are NaN.

    Dimensions are named after the knobs: ``(temperature, load, seed)`` for
    per-run variables, ``(temperature, load, pair)`` for CKA, L2 distance and
    mode connectivity, and ``(temperature, load, pair, t)`` for curve profiles.
    ``pair`` labels are ``"a-b"`` seed pairs.
    """
    func = "assemble()"
    check_type(spec, "spec", func, GridSpec, "a lscape.grid.GridSpec")
    if not isinstance(store, Store) and store is not None:
        if isinstance(store, bool) or not isinstance(store, (str, os.PathLike)) or str(store) == "":
            raise parameter_error(func, "store", "a lscape.store.Store, a folder path (str or os.PathLike) or None",
                                  store)
    store = store if isinstance(store, Store) else Store(store)
    metrics = asdict(spec.metrics)
    temps, loads, seeds = spec.temperature_values, spec.load_values, spec.seeds
    pairs = spec.pairs
    t_values = np.asarray(spec.metrics.curve_t)
    shape_run = (len(temps), len(loads), len(seeds))
    shape_pair = (len(temps), len(loads), len(pairs))
    run_data = {name: np.full(shape_run, np.nan) for name in RUN_VARIABLES + RUN_FLAGS}
    pair_data = {name: np.full(shape_pair, np.nan) for name in PAIR_VARIABLES + CURVE_VARIABLES}
    profile_data = {name: np.full(shape_pair + (len(t_values),), np.nan) for name in PROFILE_VARIABLES}
    label_noise_applied = np.full((len(temps), len(loads)), np.nan)

    for i, temp in enumerate(temps):
        for j, load in enumerate(loads):
            for k, seed in enumerate(seeds):
                record = _read_run(store, spec.config(temp, load, seed).key_dict(), metrics)
                for name in RUN_VARIABLES + RUN_FLAGS:
                    if record and name in record and record[name] is not None:
                        run_data[name][i, j, k] = float(record[name])
                if record and "label_noise_applied" in record:
                    label_noise_applied[i, j] = record["label_noise_applied"]
            for k, (a, b) in enumerate(pairs):
                config_a = spec.config(temp, load, a).key_dict()
                config_b = spec.config(temp, load, b).key_dict()
                record = _read_pair(store, config_a, config_b, metrics, k < spec.metrics.curve_pairs)
                for name in PAIR_VARIABLES + CURVE_VARIABLES:
                    if name in record and record[name] is not None:
                        pair_data[name][i, j, k] = float(record[name])
                for name in PROFILE_VARIABLES:
                    if record.get(name) is not None:
                        profile_data[name][i, j, k] = np.asarray(record[name], dtype=float)

    dims_run = (spec.temperature, spec.load, "seed")
    dims_pair = (spec.temperature, spec.load, "pair")
    coords = {
        spec.temperature: list(temps), spec.load: list(loads), "seed": list(seeds),
        "pair": [f"{a}-{b}" for a, b in pairs], "t": t_values,
    }
    variables = {name: (dims_run, values) for name, values in run_data.items()}
    variables.update({name: (dims_pair, values) for name, values in pair_data.items()})
    variables.update({name: (dims_pair + ("t",), values) for name, values in profile_data.items()})
    variables["label_noise_applied"] = ((spec.temperature, spec.load), label_noise_applied)
    dataset = xr.Dataset(variables, coords=coords)
    _annotate(dataset)

    from lscape import __version__

    dataset.attrs.update({
        "title": f"lscape grid {spec.name}",
        "load": spec.load,
        "temperature": spec.temperature,
        "settings": json.dumps(spec.to_dict(), sort_keys=True),
        "grid_key": spec.key(),
        "lscape_version": __version__,
    })
    return dataset


def _run_done(store: Store, config: dict, metrics: dict) -> bool:
    keys = run_keys(config, metrics)
    return all(store.has(kind, keys[kind]) for kind in ("training", "evaluation", "hessian"))


def _pair_done(store: Store, config_a: dict, config_b: dict, metrics: dict, curve: bool) -> bool:
    keys = pair_keys(config_a, config_b, metrics)
    return all(store.has(kind, keys[kind]) for kind in ("l2", "cka") + (("curve",) if curve else ()))


def _read_run(store: Store, config: dict, metrics: dict) -> dict | None:
    keys = run_keys(config, metrics)
    training = store.read_json("training", keys["training"])
    if training is None:
        return None
    record = dict(training)
    for kind in ("evaluation", "hessian"):
        part = store.read_json(kind, keys[kind])
        if part:
            record.update(part)
    return record


def _read_pair(store: Store, config_a: dict, config_b: dict, metrics: dict, curve: bool) -> dict:
    keys = pair_keys(config_a, config_b, metrics)
    record: dict = {}
    kinds = ("cka", "l2") + (("curve",) if curve else ())
    for kind in kinds:
        part = store.read_json(kind, keys[kind])
        if part:
            record.update(part)
    return record


_DESCRIPTIONS = {
    "test_accuracy": ("Test accuracy (eval mode, full test set)", "%"),
    "test_loss": ("Test cross-entropy (eval mode)", "nats"),
    "train_accuracy": ("Training accuracy on the (possibly noisy) training labels, eval mode", "%"),
    "train_loss": ("Training cross-entropy without weight decay, eval mode, full training set", "nats"),
    "hessian_eigenvalue": ("Top Hessian eigenvalue (power iteration) on a fixed training batch", "1"),
    "hessian_trace": ("Hessian trace (Hutchinson, Rademacher probes) on a fixed training batch", "1"),
    "hessian_trace_stderr": ("Standard error of the Hutchinson trace estimate", "1"),
    "hessian_matvecs": ("Hessian-vector products used by eigenvalue and trace", "1"),
    "epochs": ("Training epochs run", "1"),
    "steps": ("Optimizer steps run", "1"),
    "best_epoch": ("Epoch of the kept checkpoint (lowest training loss)", "1"),
    "train_seconds": ("Wall time of training (a vectorised run's time divided by its seeds)", "s"),
    "hessian_seconds": ("Wall time of the Hessian eigenvalue and trace", "s"),
    "cka_seconds": ("Wall time of CKA", "s"),
    "curve_seconds": ("Wall time of training and evaluating the Bezier curve", "s"),
    "best_test_accuracy": ("Best test accuracy over the epochs (optimal early stopping; needs record_test)", "%"),
    "best_test_loss": ("Lowest test cross-entropy over the epochs (optimal early stopping; needs record_test)", "nats"),
    "stopped_early": ("1 if the plateau stopping rule fired before the epoch cap", "1"),
    "diverged": ("1 if the training loss became NaN or infinite (not converged, NC)", "1"),
    "hessian_converged": ("1 if the eigenvalue and trace estimates reached hessian_tol within hessian_max_iter", "1"),
    "cka": ("Linear CKA of the two models' outputs on perturbed training inputs", "1"),
    "l2_distance": ("L2 distance between the two models' trainable parameters", "1"),
    "mc": ("Mode connectivity on training 0-1 error: (e(0)+e(1))/2 - e(t*)", "%"),
    "mc_loss": ("Mode connectivity on training loss", "nats"),
    "t_star": ("t that maximises |(e(0)+e(1))/2 - e(t)|", "1"),
    "linear_mc": ("Mode connectivity of the straight line (untrained baseline)", "%"),
    "curve_error": ("Training 0-1 error along the trained Bezier curve", "%"),
    "curve_loss": ("Training loss along the trained Bezier curve", "nats"),
    "linear_error": ("Training 0-1 error along the straight line", "%"),
    "linear_loss": ("Training loss along the straight line", "nats"),
    "label_noise_applied": ("Exact fraction of training labels randomized", "1"),
}


def _annotate(dataset: xr.Dataset) -> None:
    for name, (text, units) in _DESCRIPTIONS.items():
        if name in dataset:
            dataset[name].attrs.update({"long_name": text, "units": units})


def save_netcdf(dataset: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write ``dataset`` to a netCDF file atomically and return its path."""
    check_dataset(dataset, "dataset", "save_netcdf()")
    path = Path(check_path(path, "path", "save_netcdf()"))
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        dataset.to_netcdf(temporary, engine="netcdf4")
        os.chmod(temporary, shared_file_mode())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def load_netcdf(path: str | os.PathLike) -> xr.Dataset:
    """Read a grid written by :func:`run_grid` into memory."""
    path = check_path(path, "path", "load_netcdf()")
    with xr.open_dataset(path) as dataset:
        return dataset.load()


def cell_means(dataset: xr.Dataset) -> xr.Dataset:
    """Return the mean over seeds and pairs of every variable (NaN-skipping).

    A cell counts as not converged when any of its runs diverged; its
    ``diverged`` value is then 1.
    """
    check_dataset(dataset, "dataset", "cell_means()")
    means = dataset.mean(dim=[d for d in ("seed", "pair") if d in dataset.dims], skipna=True, keep_attrs=True)
    if "diverged" in dataset and "seed" in dataset["diverged"].dims:
        means["diverged"] = dataset["diverged"].max("seed")
    return means


__all__ = ["EXECUTORS", "GridSpec", "assemble", "cell_means", "load_netcdf", "resolve_device", "run_grid", "save_netcdf"]
