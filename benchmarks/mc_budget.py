"""How mode connectivity converges with the curve's training budget.

Trains (or reads from the results store) the seed-0 and seed-1 models of a
few cells of the default Figure 2 grid, then fits the quadratic Bezier curve
between them for an increasing number of epochs and records mc. Writes a CSV
and prints a table.

    .venv/bin/python benchmarks/mc_budget.py --curve-lr 0.01 0.03 --epochs 25 50 100 200 --out docs/mc_budget.csv
"""

from __future__ import annotations

import argparse
import csv
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from lscape.config import MetricSettings, RunConfig
from lscape.metrics.connectivity import mode_connectivity
from lscape.store import Store
from lscape.tasks import dataset_for, load_model, run_task

CELLS = [(64, 32), (256, 8), (1024, 32), (16, 4)]  # (batch_size, width)


def measure(batch_size: int, width: int, epochs: list[int], base: dict, results_dir: str, curve_batch_size: int,
            curve_lr: float):
    torch.set_num_threads(1)
    store = Store(results_dir)
    rows = []
    configs = [RunConfig(**{**base, "batch_size": batch_size, "width": width, "seed": s}) for s in (0, 1)]
    for config in configs:
        run_task(str(store.root), config.key_dict(), vars(MetricSettings()) | {"curve_t": (0.0, 0.25, 0.5, 0.75, 1.0)})
    model_a, _ = load_model(store, configs[0])
    model_b, _ = load_model(store, configs[1])
    data = dataset_for(configs[0])
    for count in epochs:
        start = time.perf_counter()
        result = mode_connectivity(model_a, model_b, data.X_train, data.y_train, epochs=count,
                                   batch_size=curve_batch_size, lr=curve_lr, linear_baseline=False)
        rows.append({
            "batch_size": batch_size, "width": width, "curve_lr": curve_lr, "curve_epochs": count,
            "curve_steps": count * -(-len(data.X_train) // curve_batch_size),
            "mc": round(result.mc, 3), "error_mid": round(float(result.profile.error[2]), 3),
            "error_ends": round(float(0.5 * (result.profile.error[0] + result.profile.error[-1])), 3),
            "seconds": round(time.perf_counter() - start, 1),
        })
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, nargs="+", default=[25, 50, 100, 200, 400], help="curve epochs to try")
    parser.add_argument("--curve-batch-size", type=int, default=128, help="minibatch size of curve training")
    parser.add_argument("--curve-lr", type=float, nargs="+", default=[0.01, 0.03], help="curve learning rates to try")
    parser.add_argument("--max-epochs", type=int, default=25, help="epoch cap of the endpoint runs")
    parser.add_argument("--min-steps", type=int, default=1000, help="min_steps of the endpoint runs")
    parser.add_argument("--results-dir", default=None, help="results store (default: lscape's)")
    parser.add_argument("--workers", type=int, default=2, help="cells measured in parallel")
    parser.add_argument("--out", type=Path, default=Path("docs/mc_budget.csv"), help="CSV to write")
    args = parser.parse_args()

    base = {"max_epochs": args.max_epochs, "min_steps": args.min_steps}
    root = str(Store(args.results_dir).root)
    with ProcessPoolExecutor(args.workers) as pool:
        jobs = [
            pool.submit(measure, b, w, args.epochs, base, root, args.curve_batch_size, lr)
            for lr in args.curve_lr for b, w in CELLS
        ]
        rows = [row for job in jobs for row in job.result()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
