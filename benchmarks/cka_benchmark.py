"""Linear CKA: lscape's feature-space route against the Gram-matrix route.

The Gram route (as in the CKA notebooks of Kornblith et al., 2019) forms two
m x m Gram matrices, centres them and takes their inner products: O(m^2 d).
lscape's biased estimator centres the features and uses
||Xc^T Yc||_F^2: O(m d^2). Both run in float64 in this process; the table
gives seconds per call and their ratio, and checks that the values agree.

    .venv/bin/python benchmarks/cka_benchmark.py --out docs/cka_benchmark.csv
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from lscape.metrics.similarity import cka


def gram_route(X: np.ndarray, Y: np.ndarray) -> float:
    """Biased linear CKA from Gram matrices centred by row and column means (O(m^2) centring)."""

    def centred(gram: np.ndarray) -> np.ndarray:
        means = gram.mean(axis=0)
        return gram - means[None, :] - means[:, None] + means.mean()

    K = centred(X @ X.T)
    L = centred(Y @ Y.T)
    return float(np.sum(K * L) / np.sqrt(np.sum(K * K) * np.sum(L * L)))


def seconds(call, repeats: int) -> float:
    call()
    start = time.perf_counter()
    for _ in range(repeats):
        call()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("docs/cka_benchmark.csv"), help="CSV to write")
    parser.add_argument("--repeats", type=int, default=5, help="calls timed per case")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    rows = []
    for m, d in [(640, 10), (640, 256), (2000, 10), (2000, 256)]:
        X = rng.normal(size=(m, d))
        Y = X @ rng.normal(size=(d, d)) + rng.normal(size=(m, d))
        ours, reference = cka(X, Y), gram_route(X, Y)
        assert abs(ours - reference) < 1e-10, (ours, reference)
        lscape_seconds = seconds(lambda: cka(X, Y), args.repeats)
        gram_seconds = seconds(lambda: gram_route(X, Y), args.repeats)
        rows.append({"m": m, "d": d, "cka": round(ours, 6), "lscape_seconds": f"{lscape_seconds:.2e}",
                     "gram_seconds": f"{gram_seconds:.2e}", "speedup": round(gram_seconds / lscape_seconds, 1)})
        print(rows[-1], flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
