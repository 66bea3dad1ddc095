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
# # Figure 12: the curves behind the mode-connectivity panel
#
# Reproduces a figure of Yang et al., "Taxonomizing local versus global
# structure in neural network loss landscapes" (NeurIPS 2021), called "the
# paper" below.
#
# **Question.** What do the individual low-energy curves behind Figure 2's mc
# panel look like?
#
# **What the paper found.** Curves with a barrier in the middle (mc < 0) mean a
# poorly connected landscape; convex curves whose middle is better than the
# endpoints (mc > 0, top right of the grid) mean the endpoints are not well
# trained (high temperature); flat curves near zero error (bottom right) mean a
# well-connected landscape with well-trained models.
#
# This notebook draws, for every cell of Figure 2's grid, the training error and
# the training loss along the trained Bezier curve (solid) and along the
# straight line between the same two models (dashed). Every model, Hessian and curve comes from the results store when Figure 2's
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
    "fig12_curves", preset=preset, seeds=seeds,
    widths=widths, batch_sizes=batch_sizes, dataset=dataset, model=model, lr=lr, momentum=momentum,
    weight_decay=weight_decay, max_epochs=max_epochs, min_steps=min_steps,
    hessian_samples=hessian_samples, hessian_max_iter=hessian_max_iter, hessian_tol=hessian_tol,
    cka_samples=cka_samples, cka_alpha=cka_alpha, curve_epochs=curve_epochs, curve_lr=curve_lr,
    data_dir=data_dir,
)
results = grid.run_grid(spec, results_dir=results_dir, workers=notebook.workers_for(preset, workers), device=device, executor=executor)
assert np.isfinite(results["curve_error"].values).all()
assert np.allclose(results["curve_error"].isel(t=[0, -1]), results["linear_error"].isel(t=[0, -1])), "curve and line share endpoints"

# %% [markdown]
# ## Training error along each curve

# %%
figure = plots.plot_curve_profiles(results)
plt.show()

# %% [markdown]
# ## Training loss along each curve

# %%
figure = plots.plot_curve_profiles(results, variable="curve_loss")
plt.show()

# %% [markdown]
# ## What the default setting shows
#
# Measured on 2026-12-04: 13.5 s with `papermill` at the default parameters
# (Figure 2's grid was in the store).
#
# **As in the paper.** Width 2 has convex curves at every batch size (mc $+22$
# to $+24$): the middle of the curve is better than endpoints that are not
# trained to a minimum (training loss 1.1-1.4). Batch 1024 has barriers in the
# middle at widths 4-32 (mc $-4.6$ to $-2.6$), and widths 8-32 at batches 64
# and 256 have flat curves near zero error (mc within about one point of 0).
#
# **Differences.** The paper's barriers fill its three left columns; here they
# are confined to the lowest temperature. At batch 16, widths 4-32 are slightly
# convex (mc $+1$ to $+5$) rather than flat. The straight line between the
# same two models has a large barrier everywhere (`linear_mc` from $-88$ to
# $-33$), so the trained bend is what makes the models connected.

# %%
notebook.summary(results, ("mc", "t_star", "linear_mc", "train_loss")).round(3)
