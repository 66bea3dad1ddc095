"""Grid throughput: two local workers against one, vectorised seeds against a loop, Figure 2's wall time.

Three measurements, each a ratio against a baseline timed in the same run:

1. ``workers``: a small grid of the default model (MNIST-1D, ``cnn1d``) run
   from an empty store with one worker process and then with two. It
   reports cells per minute and their ratio.
2. ``vectorized``: training S seeds of one cell of the default model as one
   vectorised run (:func:`lscape.vectorized.train_many`) against a loop over
   the seeds, on one torch thread, for several widths and batch sizes. The
   ratio is loop seconds over vectorised seconds.
3. ``fig2`` (with ``--fig2``): the default Figure 2 grid from an empty store
   with the notebook's settings and two workers, then with one. It reports
   both wall times, their ratio, and the sum of the stored per-stage times
   (training, evaluation, Hessian, CKA, curve fitting) of the two-worker run.

    .venv/bin/python benchmarks/grid_benchmark.py --fig2 --out docs/grid_benchmark.json

``--only`` reruns some parts and keeps the others' results in the file.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import torch


def workers_ratio(epochs: int, curve_epochs: int) -> dict:
    from lscape.config import MetricSettings, RunConfig
    from lscape.grid import GridSpec, run_grid

    spec = GridSpec(
        load="width", load_values=(4, 8, 16), temperature="batch_size", temperature_values=(32, 128),
        seeds=(0, 1), base=RunConfig(dataset="mnist1d", model="cnn1d", max_epochs=epochs),
        metrics=MetricSettings(curve_epochs=curve_epochs, curve_lr=0.03, cka_samples=640), name="bench",
    )
    cells = len(spec.cells())
    row = {"grid": f"{cells} cells x 2 seeds, cnn1d widths 4/8/16, batch sizes 32/128, {epochs} epochs, "
                   f"curve {curve_epochs} epochs"}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as root:
            start = time.perf_counter()
            run_grid(spec, results_dir=root, workers=workers, progress=False)
            seconds = time.perf_counter() - start
        row[f"seconds_{workers}_worker"] = round(seconds, 1)
        row[f"cells_per_minute_{workers}_worker"] = round(60 * cells / seconds, 2)
    row["ratio"] = round(row["cells_per_minute_2_worker"] / row["cells_per_minute_1_worker"], 2)
    return row


def vectorized_ratio(seeds: int, width: int, batch_size: int, epochs: int) -> dict:
    from lscape.data import load_dataset
    from lscape.models import build
    from lscape.train import TrainConfig
    from lscape.vectorized import train_many

    data = load_dataset("mnist1d")
    configs = [TrainConfig(batch_size=batch_size, lr=0.05, max_epochs=epochs, seed=s) for s in range(seeds)]

    def models():
        out = []
        for s in range(seeds):
            torch.manual_seed(s)
            out.append(build("cnn1d", width, data.num_classes, data.input_shape))
        return out

    timings = {}
    for route, vectorize in (("loop", False), ("vectorized", True)):
        start = time.perf_counter()
        train_many(models(), data.X_train, data.y_train, configs, vectorize=vectorize)
        timings[route] = time.perf_counter() - start
    return {
        "seeds": seeds, "width": width, "batch_size": batch_size, "epochs": epochs,
        "loop_seconds": round(timings["loop"], 2),
        "vectorized_seconds": round(timings["vectorized"], 2),
        "ratio": round(timings["loop"] / timings["vectorized"], 2),
    }


def fig2_breakdown(workers: int) -> dict:
    from lscape import notebook
    from lscape.grid import cell_means, run_grid

    spec = notebook.grid_spec(
        "fig2_standard", preset="default", seeds=[0, 1], widths=[2, 4, 8, 16, 32], batch_sizes=[16, 64, 256, 1024],
        dataset="mnist1d", model="cnn1d", lr=0.05, momentum=0.9, weight_decay=5e-4, max_epochs=25,
        min_steps=1000, hessian_samples=200, hessian_max_iter=100, hessian_tol=1e-3, cka_samples=640,
        cka_alpha=16.0, curve_epochs=100, curve_lr=0.03,
    )
    with tempfile.TemporaryDirectory() as root:
        start = time.perf_counter()
        results = run_grid(spec, results_dir=root, workers=workers, progress=False)
        wall = time.perf_counter() - start
        evaluation = 0.0
        for path in (Path(root) / "evaluation").glob("*.json"):
            evaluation += json.loads(path.read_text())["provenance"]["wall_seconds"]
    stages = {
        "training": float(results["train_seconds"].sum()),
        "evaluation": evaluation,
        "hessian": float(results["hessian_seconds"].sum()),
        "cka": float(results["cka_seconds"].sum()),
        "curve_fitting": float(results["curve_seconds"].sum()),
    }
    total = sum(stages.values())
    return {
        "grid": "fig2_standard default: widths 2-32 x batch sizes 16-1024, 2 seeds",
        "workers": workers,
        "wall_seconds": round(wall, 1),
        "stage_seconds_summed_over_workers": {k: round(v, 1) for k, v in stages.items()},
        "stage_share": {k: round(v / total, 3) for k, v in stages.items()},
        "test_accuracy_mean": round(float(cell_means(results)["test_accuracy"].mean()), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("docs/grid_benchmark.json"), help="JSON to write")
    parser.add_argument("--epochs", type=int, default=3, help="training epochs of the vectorised cases")
    parser.add_argument("--worker-epochs", type=int, default=10, help="training epochs of the worker grid")
    parser.add_argument("--only", choices=("workers", "vectorized", "fig2"), nargs="+",
                        default=("workers", "vectorized", "fig2"), help="parts to run (fig2 also needs --fig2)")
    parser.add_argument("--fig2", action="store_true", help="also run the default Figure 2 grid with 2 workers and with 1 (about 16 min on 2 cores)")
    args = parser.parse_args()

    torch.set_num_threads(1)
    report = {"machine": {"cpus": os.cpu_count(), "torch": torch.__version__, "torch_threads": 1}}
    if args.out.exists():  # keep the parts this call does not rerun
        report = {**json.loads(args.out.read_text()), **report}
    if "workers" in args.only:
        report["workers"] = workers_ratio(args.worker_epochs, curve_epochs=30)
        print(json.dumps(report["workers"]), flush=True)
    if "vectorized" in args.only:
        report["vectorized"] = []
        for width in (4, 8, 32):
            for batch_size in (16, 128, 1024):
                for seeds in (2, 4, 8):
                    row = vectorized_ratio(seeds, width, batch_size, args.epochs)
                    report["vectorized"].append(row)
                    print(json.dumps(row), flush=True)
    if args.fig2 and "fig2" in args.only:
        report["fig2"] = fig2_breakdown(workers=2)
        print(json.dumps(report["fig2"]), flush=True)
        single = fig2_breakdown(workers=1)
        print(json.dumps(single), flush=True)
        report["fig2"]["wall_seconds_1_worker"] = single["wall_seconds"]
        report["fig2"]["ratio_2_workers_to_1"] = round(single["wall_seconds"] / report["fig2"]["wall_seconds"], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
