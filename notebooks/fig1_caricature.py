# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Figure 1: the four types of loss landscape, drawn from measurements
#
# Reproduces a figure of Yang et al., "Taxonomizing local versus global
# structure in neural network loss landscapes" (NeurIPS 2021), called "the
# paper" below.
#
# **Question.** What do the phases look like as landscapes?
#
# **What the paper found.** Figure 1 of the paper is a caricature of four
# landscape types along two axes: *locally sharp* or *locally flat* (the
# Hessian, the training loss) and *globally poorly* or *well connected* (mode
# connectivity). Phases I (sharp, poorly connected), II (sharp, well connected),
# III (flat, poorly connected) and IV (flat, well connected) each correspond to
# one type; CKA splits IV into IV-A and IV-B.
#
# Instead of drawing a caricature, this notebook takes one measured example per
# phase from Figure 2's grid: the cell of that phase whose mc is the median
# among the phase's cells. For each it draws the training error along the
# trained Bezier curve between two seeds (the global shape) and the Hessian
# trace (the local curvature). Every model, Hessian and curve comes from the results store when Figure 2's
# notebook has run with the same settings (its default grid takes about 7
# minutes on two CPU cores from an empty store); nothing is trained twice.

# %% tags=["parameters"]
dataset = "mnist1d"  # embedded data set: "mnist1d" (4,000 train / 1,000 test) or "digits"; local: "cifar10", "cifar100", "svhn"
model = "cnn1d"  # network: "cnn1d" (plain CNN, stages k/2k/4k/8k), "resnet18_1d", "vgg11_1d"; 2D: "resnet18", "vgg11", "cnn"; "mlp"
widths = [2, 4, 8, 16, 32]  # load axis: width k (channels of the first stage)
batch_sizes = [16, 64, 256, 1024]  # temperature axis: SGD batch size (smaller = hotter)
seeds = [0, 1]  # independent runs per cell (at least 2: CKA, L2 and mc compare seed pairs)
lr = 0.05  # SGD learning rate
momentum = 0.9  # SGD momentum
weight_decay = 5e-4  # L2 coefficient of SGD
max_epochs = 25  # epoch cap when the plateau rule does not fire
min_steps = 1000  # optimizer steps before the plateau rule may fire; raises the cap for large batches
hessian_samples = 200  # size of the fixed training batch for the Hessian
hessian_max_iter = 100  # max Hessian-vector products for the eigenvalue and for the trace
hessian_tol = 1e-3  # relative tolerance of power iteration and Hutchinson
cka_samples = 640  # number of mixup inputs for CKA
cka_alpha = 16.0  # mixup coefficient ~ Beta(alpha, alpha)
curve_epochs = 100  # epochs of Bezier-curve training (batch 128) for mode connectivity
curve_lr = 0.03  # SGD learning rate of the curve (the paper: 0.01; 0.03 is in its ablation)
data_dir = None  # folder of local data sets (CIFAR, SVHN); None: $LSCAPE_DATA_DIR or ~/data
results_dir = None  # store folder; None: $LSCAPE_RESULTS_DIR or ~/.cache/lscape/results
device = "cpu"  # torch device, e.g. "cuda"
workers = None  # worker processes; None: one per CPU core
executor = None  # where grids run: None (local processes), "dask" (a Dask LocalCluster), or a scheduler address "tcp://host:8786"
preset = "default"  # "default", or "ci" for a tiny grid; the environment variable LSCAPE_PRESET overrides

# %%
import matplotlib.pyplot as plt
import numpy as np

from lscape import grid, notebook, phases, plots

spec = notebook.grid_spec(
    "fig2_standard", preset=preset, seeds=seeds,
    widths=widths, batch_sizes=batch_sizes, dataset=dataset, model=model, lr=lr, momentum=momentum,
    weight_decay=weight_decay, max_epochs=max_epochs, min_steps=min_steps,
    hessian_samples=hessian_samples, hessian_max_iter=hessian_max_iter, hessian_tol=hessian_tol,
    cka_samples=cka_samples, cka_alpha=cka_alpha, curve_epochs=curve_epochs, curve_lr=curve_lr,
    data_dir=data_dir,
)
results = grid.run_grid(spec, results_dir=results_dir, workers=notebook.workers_for(preset, workers), device=device, executor=executor)
phase = phases.classify(results)
means = grid.cell_means(results)

examples = {}
for label in phases.PHASES:
    cells = means.where(phase == label)["mc"].to_series().dropna()
    if len(cells):
        median = cells.sort_values().index[len(cells) // 2]
        examples[label] = dict(zip(cells.index.names, median))
print({label: cell for label, cell in examples.items()})
assert examples, "no cell was assigned a phase"

# %% [markdown]
# ## One measured landscape per phase
#
# Top: training error along the trained curve (solid) and the straight line
# (dashed) between two seeds, from t = 0 (seed 0) to t = 1 (seed 1). Bottom: the
# Hessian trace of the same cell on a log scale, the local sharpness.

# %%
figure, axes = plt.subplots(2, len(examples), figsize=(2.8 * len(examples), 5), layout="constrained",
                            squeeze=False, gridspec_kw={"height_ratios": [2, 1]})
traces = {label: float(means["hessian_trace"].sel(cell)) for label, cell in examples.items()}
for column, (label, cell) in enumerate(examples.items()):
    chosen = results.sel(cell).isel(pair=0)
    top, bottom = axes[0, column], axes[1, column]
    top.plot(chosen["t"], chosen["curve_error"], "o-", color=plots.PHASE_COLORS[label])
    top.plot(chosen["t"], chosen["linear_error"], "--", color="0.6")
    top.set(title=f"phase {label}\n" + ", ".join(f"{k}={v:g}" for k, v in cell.items()), xlabel="t",
            ylabel="training error (%)" if column == 0 else None, ylim=(0, None))
    top.title.set_fontsize(8)
    bottom.bar([0], [traces[label]], color=plots.PHASE_COLORS[label])
    bottom.set(yscale="log", ylim=(0.5 * min(traces.values()), 2 * max(traces.values())), xticks=[],
               ylabel="Hessian trace" if column == 0 else None)
plt.show()

# %% [markdown]
# ## What the default setting shows
#
# Measured on 2026-12-04: 11.2 s with `papermill` at the default parameters
# (Figure 2's grid was in the store). The example cells depend on the phase rule
# of `lscape.phases.classify`; with the rule of that date they were phase I at
# batch 1024 and width 8, II at batch 16 and width 2, III at batch 1024 and
# width 32, IV-A at batch 16 and width 4, and IV-B at batch 64 and width 32.
#
# **The global shapes match the caricature.** Phase II's curve is convex: its
# middle is 23 points better than its endpoints, which sit near 50% training
# error. Phases I and III have barriers (mc $-3.7$ and $-2.7$), and IV-B's
# curve is flat near zero error (mc $-0.5$).
#
# **The local levels only partly match.** The low-temperature examples (I
# and III, batch 1024) have the largest Hessian traces (224 and 112), but the
# phase-II example has one of the smallest (25) although its training loss is
# the highest (1.1). On MNIST-1D, hot SGD leaves small models in flat regions
# high on the landscape instead of in the sharp regions of the paper's
# caricature (see Figure 2's notebook).

# %%
import pandas as pd

pd.DataFrame({label: {**cell, "mc": float(means["mc"].sel(cell)), "hessian_trace": traces[label],
                      "train_loss": float(means["train_loss"].sel(cell)), "cka": float(means["cka"].sel(cell))}
              for label, cell in examples.items()}).T.round(3)
