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
# # Figure 22: large batches
#
# Reproduces a figure of Yang et al., "Taxonomizing local versus global
# structure in neural network loss landscapes" (NeurIPS 2021), called "the
# paper" below.
#
# **Question.** What happens at batch sizes far larger than Figure 2's?
#
# **What the paper found.** With batch sizes up to 8192 (ResNet18, CIFAR-10's
# 50,000 images) the trend is the same as Figure 2, and the Hessian becomes
# much larger at large batches, as the sharp-minima view of large-batch
# training expects.
#
# **The largest meaningful batch here is 4,000**, the size of MNIST-1D's
# training set: a batch of 4,000 is full-batch gradient descent, one step per
# epoch, and a larger one would be the same, so `run_grid` rejects batch sizes
# above the training-set size before training anything. Each run takes at least
# `min_steps` = 1,000 steps, so batch 4,000 trains for 1,000 epochs. Batch sizes
# 256 and 1024 are Figure 2's cells, read from the store.

# %% tags=["parameters"]
dataset = "mnist1d"  # embedded data set: "mnist1d" (4,000 train / 1,000 test) or "digits"; local: "cifar10", "cifar100", "svhn"
model = "cnn1d"  # network: "cnn1d" (plain CNN, stages k/2k/4k/8k), "resnet18_1d", "vgg11_1d"; 2D: "resnet18", "vgg11", "cnn"; "mlp"
widths = [2, 8, 16]  # load axis: width k (channels of the first stage)
batch_sizes = [256, 1024, 4000]  # temperature axis: SGD batch size (smaller = hotter)
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

from lscape import grid, notebook, phases, plots

spec = notebook.grid_spec(
    "fig22_large_batch", preset=preset, seeds=seeds,
    widths=widths, batch_sizes=batch_sizes, dataset=dataset, model=model, lr=lr, momentum=momentum,
    weight_decay=weight_decay, max_epochs=max_epochs, min_steps=min_steps,
    hessian_samples=hessian_samples, hessian_max_iter=hessian_max_iter, hessian_tol=hessian_tol,
    cka_samples=cka_samples, cka_alpha=cka_alpha, curve_epochs=curve_epochs, curve_lr=curve_lr,
    data_dir=data_dir,
)
print(f"{len(spec.cells())} cells x {len(spec.seeds)} seeds; preset {notebook.resolve_preset(preset)!r}")

# %% [markdown]
# ## Train and measure the grid
#
# Every run and seed pair is read from the results store when another notebook
# already computed it with the same settings; only the missing ones are trained.

# %%
results = grid.run_grid(spec, results_dir=results_dir, workers=notebook.workers_for(preset, workers), device=device, executor=executor)
means = grid.cell_means(results)
notebook.check_results(results)
full_batch = results.sel(batch_size=max(spec.temperature_values))
steps_per_epoch = float((full_batch["steps"] / full_batch["epochs"]).mean())
print(f"batch {max(spec.temperature_values)}: {steps_per_epoch:g} optimizer step(s) per epoch")
ran = results["diverged"].values == 0
assert (results["steps"].values[ran] >= spec.base.min_steps).all(), "a run stopped before min_steps"

# %% [markdown]
# ## The panels
#
# Load grows to the right and temperature grows upward, as in the paper. Each
# cell is the mean over seeds (CKA: over seed pairs; mc: over the connected pairs).

# %%
figure = plots.plot_panels(results, panels="adef", phase_map=False, title="Figure 22 on the embedded default data (large batches)")
plt.show()

# %% [markdown]
# ## What the default setting shows
#
# Measured on 2026-12-04 with `papermill` at the default parameters: 3 min 37 s
# on the shared 2-core machine (other developers' jobs ran at the same time, so
# the time is inflated). Batches 256 and 1024 came from Figure 2's store, and
# only the full-batch row was trained here.
#
# **As in the paper.** The Hessian grows sharply with the batch size. At
# widths 8-16 the trace is 99-103 at batch 256, 210-224 at batch 1024 and
# 284-376 at batch 4,000 (full-batch gradient descent, one step per epoch).
# The large batches are also poorly connected (mc $-2.6$ to $-3.9$ at widths
# 8-16), as in Figure 2's lowest row, while batch 256 is connected (mc $+0.6$
# and $-1.2$). Width 2 stays high on the landscape at every batch size
# (training loss 1.3, mc $+22$ to $+23$).
#
# **What differs.** The test accuracy hardly depends on the batch size here
# (89-92% at widths 8-16 for every batch size), because every run takes at
# least 1,000 steps; so the sharper, poorly connected large-batch cells are not
# worse. CKA even grows with the batch size (width 16: 0.55, 0.60, 0.65).

# %%
notebook.summary(results).round(3)
