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
# # Figure 23: the linear scaling rule
#
# Reproduces a figure of Yang et al., "Taxonomizing local versus global
# structure in neural network loss landscapes" (NeurIPS 2021), called "the
# paper" below.
#
# **Question.** Is the batch size a temperature only because the learning rate
# stays fixed? What if the learning rate scales with the batch size?
#
# **What the paper found.** With lr = 0.05 k at batch size 128 k (ResNet18,
# CIFAR-10), the test accuracy changes much more slowly along the batch-size
# axis than in Figure 2, and mode connectivity and the Hessian hardly change
# along it: the linear scaling rule keeps the noise of SGD, and so the
# temperature, about constant.
#
# `lr_scaling="linear"` trains each run with `lr * batch_size / 128`; the table
# below lists the learning rate each row used.

# %% tags=["parameters"]
dataset = "mnist1d"  # embedded data set: "mnist1d" (4,000 train / 1,000 test) or "digits"; local: "cifar10", "cifar100", "svhn"
model = "cnn1d"  # network: "cnn1d" (plain CNN, stages k/2k/4k/8k), "resnet18_1d", "vgg11_1d"; 2D: "resnet18", "vgg11", "cnn"; "mlp"
widths = [2, 8, 16]  # load axis: width k (channels of the first stage)
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
lr_reference_batch = 128  # batch size at which lr applies unscaled; lr = lr * batch_size / lr_reference_batch
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
    "fig23_linear_scaling", preset=preset, seeds=seeds,
    widths=widths, batch_sizes=batch_sizes, dataset=dataset, model=model, lr=lr, momentum=momentum,
    weight_decay=weight_decay, max_epochs=max_epochs, min_steps=min_steps,
    hessian_samples=hessian_samples, hessian_max_iter=hessian_max_iter, hessian_tol=hessian_tol,
    cka_samples=cka_samples, cka_alpha=cka_alpha, curve_epochs=curve_epochs, curve_lr=curve_lr,
    data_dir=data_dir, lr_reference_batch=lr_reference_batch, lr_scaling="linear",
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
print({b: lr * b / lr_reference_batch for b in spec.temperature_values})
assert spec.base.lr_scaling == "linear"

# %% [markdown]
# ## The panels
#
# Load grows to the right and temperature grows upward, as in the paper. Each
# cell is the mean over seeds (CKA: over seed pairs; mc: over the connected pairs).

# %%
figure = plots.plot_panels(results, panels="adef", phase_map=False, title="Figure 23 on the embedded default data (linear scaling rule)")
plt.show()

# %% [markdown]
# ## What the default setting shows
#
# Measured on 2026-12-04 with `papermill` at the default parameters: 2 min 35 s
# on the shared 2-core machine (other developers' jobs ran at the same time, so
# the time is inflated). No cell is shared with Figure 2, because every learning
# rate differs: 0.00625, 0.025, 0.1 and 0.4 at batches 16, 64, 256 and 1024.
#
# **As in the paper between batches 16 and 64.** With the learning rate scaled,
# these two rows are nearly the same at widths 8-16: test accuracy 85-91%,
# Hessian trace 83-104, mc $+2$ to $+5$, CKA 0.54-0.67.
#
# **What differs.** The rows do not stay alike at larger batches. The small
# learning rates of batches 16-64 leave the runs under-trained within the budget
# of 25 epochs (training loss 0.17-0.32 at widths 8-16). Batch 256 with lr 0.1
# gives the best test accuracy (95.3%, width 16), lower loss and barriers
# (mc $-2.1$ to $-2.5$). At batch 1024 with lr 0.4, width 8 fails to train
# (training loss 2.03, test accuracy 32%, mc $+36$), while width 16 reaches
# training loss 0.011 and 94%. So the Hessian trace (width 16: 99 at batch 16,
# 29 at batch 1024) and mc change along the batch axis, unlike the paper's.
# Width 2 stays high on the landscape everywhere (training loss 1.2-1.5).

# %%
notebook.summary(results).round(3)
