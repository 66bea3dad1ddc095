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
# # Figure 6: the amount of training data
#
# Reproduces a figure of Yang et al., "Taxonomizing local versus global
# structure in neural network loss landscapes" (NeurIPS 2021), called "the
# paper" below.
#
# **Question.** How do the phases move when the training set grows?
#
# **What the paper found.** Varying CIFAR-10's training-set size by a factor of
# ten, the best test accuracy is again where the Hessian is small, mc is near
# zero and CKA is large, and more data gives better accuracy. Only CKA follows
# that trend: the Hessian grows with more data, and connectivity gets worse
# (larger models are needed to stay well connected), while CKA rises with the
# data. More data makes models more similar; more width makes the landscape
# better connected.
#
# Here MNIST-1D's 4,000 training sequences are subsampled (stratified by class)
# to 400 and 1,200. The test set is always the full 1,000. The full-size column
# is Figure 2's models, read from the store; Figure 7 rearranges this grid.
# Each run still takes at least `min_steps` = 1,000 optimizer steps, so small
# training sets train for more epochs.

# %% tags=["parameters"]
dataset = "mnist1d"  # embedded data set: "mnist1d" (4,000 train / 1,000 test) or "digits"; local: "cifar10", "cifar100", "svhn"
model = "cnn1d"  # network: "cnn1d" (plain CNN, stages k/2k/4k/8k), "resnet18_1d", "vgg11_1d"; 2D: "resnet18", "vgg11", "cnn"; "mlp"
widths = [2, 8, 32]  # load axis: width k (channels of the first stage)
batch_sizes = [16, 64, 256]  # temperature axis: SGD batch size (smaller = hotter)
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
train_sizes = [400, 1200, 4000]  # training-set sizes, one column each (a stratified subsample; the full size reuses Figure 2's models)
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
from lscape.data import load_dataset

full_size = len(load_dataset(dataset, data_dir=data_dir).y_train)


def data_grids(label_noise):
    """Run one width x batch-size grid per training-set size; the full size is the unsubsampled data."""
    grids = {}
    for size in train_sizes:
        spec = notebook.grid_spec(
            "fig6_data_amount", preset=preset, seeds=seeds,
            widths=widths, batch_sizes=batch_sizes, dataset=dataset, model=model, lr=lr, momentum=momentum,
            weight_decay=weight_decay, max_epochs=max_epochs, min_steps=min_steps,
            hessian_samples=hessian_samples, hessian_max_iter=hessian_max_iter, hessian_tol=hessian_tol,
            cka_samples=cka_samples, cka_alpha=cka_alpha, curve_epochs=curve_epochs, curve_lr=curve_lr,
            data_dir=data_dir, label_noise=label_noise, train_size=None if size >= full_size else size,
        )
        grids[size] = grid.run_grid(spec, results_dir=results_dir, workers=notebook.workers_for(preset, workers), device=device, executor=executor)
    return notebook.stack_grids(grids, "train_size")


stacked = data_grids(label_noise=0.0)
assert np.isfinite(stacked["test_accuracy"].values).all()

# %% [markdown]
# ## The panels, one column per training-set size
#
# Rows: (a) test accuracy, (d) Hessian trace, (e) mode connectivity, (f) CKA.
# Within a panel width grows to the right and temperature upward.

# %%
rows = ["a", "d", "e", "f"]
sizes = list(stacked["train_size"].values)
figure, axes = plt.subplots(len(rows), len(sizes), figsize=(3.8 * len(sizes), 3.0 * len(rows)),
                            layout="constrained", squeeze=False)
for column, size in enumerate(sizes):
    for row, letter in enumerate(rows):
        name, label, cmap, log10 = plots.PANELS[letter]
        plots.plot_panel(axes[row, column], stacked.sel(train_size=size), name, f"({letter}) {label}, n={size}", cmap, log10)
plt.show()

# %% [markdown]
# ## What the default setting shows
#
# **Not measured yet.** This notebook's default run was not completed during
# its development on 2026-12-04 (the shared 2-core machine ran at a load average
# of 7-8), so no measured result or run time is stated here. The panels and
# the table below are recomputed on every run; compare them with the paper's
# finding above. Its CI setting (`LSCAPE_PRESET=ci`) runs end to end.

# %%
grid.cell_means(stacked)[["test_accuracy", "hessian_trace", "mc", "cka"]].to_dataframe().round(3)
