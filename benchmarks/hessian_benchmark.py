"""Hessian estimators of lscape against PyHessian 0.1, on the default MNIST-1D network.

For three widths of the default Figure 2 network (cnn1d trained at batch
size 64, read from the results store or trained once), on one fixed batch of
200 training samples, in one run on one machine:

1. seconds per Hessian-vector product: lscape's double backward, lscape's
   vmapped torch.func block (per product), a single-vector torch.func product,
   and PyHessian's double backward;
2. products until the top eigenvalue is within 1e-3 relative error: power
   iteration against Lanczos; and until the top 5 are: deflated power
   iteration against Lanczos;
3. products until the trace is within 1% relative error (90th percentile over
   seeds): Hutchinson against Hutch++;
4. PyHessian 0.1's own trace stopping rule: products used and the error it
   leaves.

Every comparison is a ratio within this run, so the machine's speed cancels.

    .venv/bin/python benchmarks/hessian_benchmark.py --out docs/hessian_benchmark.json
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from lscape.config import MetricSettings, RunConfig
from lscape.metrics.hessian import (
    FuncHessianOperator,
    HessianOperator,
    _lanczos_eigsh,
    _lanczos_tridiagonal,
    _power_iteration,
    _rademacher,
    eval_mode,
    fixed_batch,
)
from lscape.store import Store
from lscape.tasks import dataset_for, load_model, run_task


def trained_model(width: int, results_dir: str | None) -> tuple[nn.Module, tuple]:
    config = RunConfig(width=width, batch_size=64, max_epochs=25, min_steps=1000, seed=0)
    store = Store(results_dir)
    run_task(str(store.root), config.key_dict(), vars(MetricSettings()))
    model, _ = load_model(store, config)
    data = dataset_for(config)
    return model.eval(), fixed_batch(data.X_train, data.y_train, 200, seed=0)


def seconds_per_product(model, batch, repeats: int) -> dict:
    loss_fn = nn.CrossEntropyLoss()
    operator = HessianOperator(model, loss_fn, batch)
    func = FuncHessianOperator(model, loss_fn, batch)
    vectors = torch.randn(operator.dim, repeats, generator=torch.Generator().manual_seed(0))

    def timed(call) -> float:
        call()  # warm-up
        start = time.perf_counter()
        call()
        return time.perf_counter() - start

    double_backward = timed(lambda: [operator.matvec(v) for v in vectors.T]) / repeats
    func_block = timed(lambda: func.matmat(vectors)) / repeats
    func_single = timed(lambda: [func.matvec(v) for v in vectors.T[:3]]) / 3
    pyhessian_hvp = _pyhessian_seconds(model, batch, vectors, repeats)
    return {
        "lscape_double_backward": double_backward,
        "lscape_func_vmap_block": func_block,
        "func_single_vector": func_single,
        "pyhessian_double_backward": pyhessian_hvp,
    }


def _pyhessian_seconds(model, batch, vectors, repeats: int) -> float:
    from pyhessian import hessian
    from pyhessian.utils import hessian_vector_product

    reference = hessian(copy.deepcopy(model), nn.CrossEntropyLoss(), data=batch, cuda=False)
    pieces = []
    for v in vectors.T:
        offset, split = 0, []
        for p in reference.params:
            split.append(v[offset : offset + p.numel()].view_as(p))
            offset += p.numel()
        pieces.append(split)
    hessian_vector_product(reference.gradsH, reference.params, pieces[0])
    start = time.perf_counter()
    for split in pieces:
        hessian_vector_product(reference.gradsH, reference.params, split)
    return (time.perf_counter() - start) / repeats


def top_eigenvalues_reference(operator, k: int) -> np.ndarray:
    values, _, converged = _lanczos_eigsh(operator, k, max_iter=10_000, tol=1e-10, seed=123)
    assert converged
    return np.sort(values)[::-1]


def power_products(operator, exact: np.ndarray, k: int, tol: float) -> tuple[int, int]:
    """Return (products until all k are within tol, products PyHessian's rule used)."""
    operator.num_matvecs = 0
    values, _, _, _ = _power_iteration(operator, k, max_iter=100, tol=tol, seed=0)
    used_by_rule = operator.num_matvecs
    errors = np.abs(np.sort(values)[::-1] - exact) / np.abs(exact)
    if np.all(errors <= tol):
        return used_by_rule, used_by_rule
    # The rule stopped too early or too late: count products with a tight rule instead.
    for budget in (200, 400, 800):
        operator.num_matvecs = 0
        values, _, _, _ = _power_iteration(operator, k, max_iter=budget, tol=tol / 100, seed=0)
        errors = np.abs(np.sort(values)[::-1] - exact) / np.abs(exact)
        if np.all(errors <= tol):
            return operator.num_matvecs, used_by_rule
    return -1, used_by_rule


def lanczos_products(operator, exact: np.ndarray, k: int, tol: float, max_steps: int = 200) -> int:
    """Products of plain Lanczos (full reorthogonalisation) until its top k Ritz values are within tol."""
    start = torch.randn(operator.dim, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    alphas, betas = _lanczos_tridiagonal(operator, start.to(operator.dtype), max_steps)
    for steps in range(k, len(alphas) + 1):
        T = np.diag(alphas[:steps]) + np.diag(betas[: steps - 1], 1) + np.diag(betas[: steps - 1], -1)
        ritz = np.sort(np.linalg.eigvalsh(T))[::-1][:k]
        if np.all(np.abs(ritz - exact) / np.abs(exact) <= tol):
            return steps
    return -1


def trace_reference(operator) -> float:
    """Exact trace from the dense Hessian for small models, else Hutch++ with 3,000 products."""
    if operator.dim <= 5000:
        return float(sum(operator.matvec(e)[i].item() for i, e in enumerate(torch.eye(operator.dim))))
    generator = torch.Generator().manual_seed(999)
    from lscape.metrics.hessian import _hutch_plus_plus

    return _hutch_plus_plus(operator, 3000, generator)[0]


def trace_products(operator, exact: float, method: str, seeds: int, budgets: list[int]) -> dict:
    """For each budget until the 1% target is met: the 90th-percentile relative error over seeds.

    Hutchinson's estimates for smaller budgets are prefixes of one run per
    seed; Hutch++ is rerun per budget because its sketch depends on it.
    """
    from lscape.metrics.hessian import _hutch_plus_plus

    table = {}
    if method == "hutchinson":
        samples = []
        for seed in range(seeds):
            generator = torch.Generator().manual_seed(seed)
            probes = torch.stack([_rademacher(operator.dim, generator, operator.dtype) for _ in range(max(budgets))], 1)
            samples.append((probes * operator.matmat(probes)).sum(0).cpu().numpy())
        for budget in budgets:
            errors = [abs(values[:budget].mean() - exact) / abs(exact) for values in samples]
            table[budget] = float(np.percentile(errors, 90))
        return table
    for budget in budgets:
        errors = []
        for seed in range(seeds):
            estimate = _hutch_plus_plus(operator, budget, torch.Generator().manual_seed(seed))[0]
            errors.append(abs(estimate - exact) / abs(exact))
        table[budget] = float(np.percentile(errors, 90))
        if table[budget] <= 0.01:
            break
    return table


def pyhessian_trace_rule(model, batch, exact: float, seeds: int) -> list[dict]:
    from pyhessian import hessian

    rows = []
    for seed in range(seeds):
        torch.manual_seed(seed)
        reference = hessian(copy.deepcopy(model), nn.CrossEntropyLoss(), data=batch, cuda=False)
        values = reference.trace(maxIter=100, tol=1e-3)
        rows.append({"seed": seed, "products": len(values),
                     "relative_error": abs(float(np.mean(values)) - exact) / abs(exact)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--widths", type=int, nargs="+", default=[4, 16, 32], help="cnn1d widths k")
    parser.add_argument("--results-dir", default=None, help="results store with (or for) the trained models")
    parser.add_argument("--repeats", type=int, default=20, help="products timed per route")
    parser.add_argument("--seeds", type=int, default=10, help="seeds per trace budget")
    parser.add_argument("--out", type=Path, default=Path("docs/hessian_benchmark.json"), help="JSON to write")
    args = parser.parse_args()
    torch.set_num_threads(1)

    report = {"machine": "2-core CPU, one torch thread", "widths": {}}
    for width in args.widths:
        model, batch = trained_model(width, args.results_dir)
        with eval_mode(model):
            operator = HessianOperator(model, nn.CrossEntropyLoss(), batch)
            top5 = top_eigenvalues_reference(operator, 5)
            power1, rule1 = power_products(operator, top5[:1], 1, 1e-3)
            power5, rule5 = power_products(operator, top5, 5, 1e-3)
            lanczos1 = lanczos_products(operator, top5[:1], 1, 1e-3)
            lanczos5 = lanczos_products(operator, top5, 5, 1e-3)
            exact_trace = trace_reference(operator)
            budgets = [6, 12, 24, 48, 96, 192, 384, 768]
            hutchinson = trace_products(operator, exact_trace, "hutchinson", args.seeds, budgets)
            hutch_pp = trace_products(operator, exact_trace, "hutch++", args.seeds, budgets)
        entry = {
            "parameters": operator.dim,
            "seconds_per_product": seconds_per_product(model, batch, args.repeats),
            "top_eigenvalues": top5.tolist(),
            "products_top1_1e-3": {"power": power1, "power_rule_used": rule1, "lanczos": lanczos1},
            "products_top5_1e-3": {"deflated_power": power5, "deflated_power_rule_used": rule5, "lanczos": lanczos5},
            "trace_reference": exact_trace,
            "trace_p90_relative_error_by_products": {"hutchinson": hutchinson, "hutch++": hutch_pp},
            "trace_products_to_1pct": {
                name: min([b for b, e in table.items() if e <= 0.01], default=None)
                for name, table in (("hutchinson", hutchinson), ("hutch++", hutch_pp))
            },
            "pyhessian_trace_rule": pyhessian_trace_rule(model, batch, exact_trace, 10),
        }
        report["widths"][str(width)] = entry
        summary = {k: v for k, v in entry.items() if k not in ("trace_p90_relative_error_by_products", "pyhessian_trace_rule")}
        print(f"width {width}: {json.dumps(summary, default=float)}", flush=True)
        rule = entry["pyhessian_trace_rule"]
        print(f"  PyHessian trace rule: products {[r['products'] for r in rule]}, max error "
              f"{max(r['relative_error'] for r in rule):.1%}, median {statistics.median(r['relative_error'] for r in rule):.1%}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, default=float))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
