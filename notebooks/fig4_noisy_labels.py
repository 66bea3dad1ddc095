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
# # Figure 4: noisy labels and double descent
#
# Reproduces a figure of Yang et al., "Taxonomizing local versus global
# structure in neural network loss landscapes" (NeurIPS 2021), called "the
# paper" below.
#
# **Question.** What happens to the phases when part of the training labels are
# wrong, and where does the test accuracy dip (double descent)?
#
# **What the paper found.** With 10% of CIFAR-10's labels randomized, the main
# conclusion of Figure 2 holds (the best test accuracy is in phase IV-B), and a
# "dark band" of low test accuracy appears between the phases: width-wise and
# temperature-wise double descent whose shape follows the transitions of the
# Hessian panels. In a column that cuts through phase III, the best test
# accuracy is in phase I or II, whose minima are sharp and whose training loss is
# not near zero: on a poorly connected landscape, training to zero loss can hurt.
#
# **The label-noise fraction.** With 4,000 training sequences, 10% randomized
# labels is 400 examples, and the band they cause is expected to be within seed
# noise, so this notebook uses `label_noise = 0.2`; the paper's 10% is one
# parameter away (`-p label_noise 0.1`). Each changed label goes to a different
# class, chosen with a fixed seed; the applied fraction is recorded exactly.
# Widths and batch sizes are Figure 2's (without batch 1024, to save time), so
# Figure 8 reuses this grid's width-16 column.

# %% tags=["parameters"]
dataset = "mnist1d"  # embedded data set: "mnist1d" (4,000 train / 1,000 test) or "digits"; local: "cifar10", "cifar100", "svhn"
model = "cnn1d"  # network: "cnn1d" (plain CNN, stages k/2k/4k/8k), "resnet18_1d", "vgg11_1d"; 2D: "resnet18", "vgg11", "cnn"; "mlp"
widths = [2, 4, 8, 16, 32]  # load axis: width k (channels of the first stage)
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
label_noise = 0.2  # fraction of training labels randomized, each to another class (the paper: 0.1)
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
    "fig4_noisy_labels", preset=preset, seeds=seeds,
    widths=widths, batch_sizes=batch_sizes, dataset=dataset, model=model, lr=lr, momentum=momentum,
    weight_decay=weight_decay, max_epochs=max_epochs, min_steps=min_steps,
    hessian_samples=hessian_samples, hessian_max_iter=hessian_max_iter, hessian_tol=hessian_tol,
    cka_samples=cka_samples, cka_alpha=cka_alpha, curve_epochs=curve_epochs, curve_lr=curve_lr,
    data_dir=data_dir, label_noise=label_noise,
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
assert np.allclose(results["label_noise_applied"], label_noise, atol=1e-3), "label noise not applied as asked"

# %% [markdown]
# ## The panels
#
# Load grows to the right and temperature grows upward, as in the paper. Each
# cell is the mean over seeds (CKA: over seed pairs; mc: over the connected pairs).

# %%
phase = phases.classify(results)
figure = plots.plot_panels(results, panels="abcdefg", phase=phase, title="Figure 4 on the embedded default data (randomized labels)")
plt.show()

# %% [markdown]
# ## Double descent along rows and columns
#
# Left: test accuracy against width at each batch size (row slices); a dip
# between small and large widths is the width-wise double descent. Right: test
# accuracy against batch size at each width (column slices), each point labelled
# with its phase; the paper finds that a column cutting through phase III has its
# best accuracy in phase I or II.

# %%
phase_means = means.assign(phase=phase)
figure, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4), layout="constrained")
for batch_size in means["batch_size"].values:
    row = means.sel(batch_size=batch_size)
    left.plot(row["width"], row["test_accuracy"], "o-", label=f"batch {batch_size:g}")
for width in means["width"].values:
    column = phase_means.sel(width=width)
    right.plot(column["batch_size"], column["test_accuracy"], "o-", label=f"width {width:g}")
    for batch_size, accuracy, label in zip(column["batch_size"].values, column["test_accuracy"].values,
                                           column["phase"].values):
        right.annotate(str(label), (batch_size, accuracy), fontsize=6, xytext=(2, 2), textcoords="offset points")
left.set(xscale="log", xlabel="width k", ylabel="test accuracy (%)", title="row slices")
right.set(xscale="log", xlabel="batch size", ylabel="test accuracy (%)", title="column slices")
left.legend(fontsize=7)
right.legend(fontsize=7)
plt.show()

# %% [markdown]
# ## What the default setting shows
#
# Measured on 2026-12-04 with `papermill` at the default parameters: 2 min 42 s
# on the shared 2-core machine (other developers' jobs ran at the same time, so
# the time is inflated). The width-16 cells came from Figure 8's store.
#
# **The double-descent band does not appear at this default.** The test
# accuracy rises with width at batch 64 (40.1% to 91.8%). At batches 16 and 256
# it flattens or dips by only about one point at the largest widths (batch 16:
# 86.9%, 86.8%, 85.9% at widths 8, 16, 32; batch 256: 86.4% at width 16, 85.2%
# at 32), which is within the spread between seeds. The reason is that no model
# here fits the randomized labels: the training loss stays between 0.77 and 2.3
# in every cell, so the grid never reaches the interpolation threshold where
# the paper's dark band sits. The band needs models that fit the randomized
# labels, so raising `max_epochs` and adding wider models is the next thing to
# try; that has not been measured.
#
# **What else the grid shows.** mc is positive in every cell but one ($+0.6$
# to $+21$): the curve finds points better than its endpoints, the phase II
# signature, and the rule of `lscape.phases.classify` labels most cells II
# (warning that the training loss spans only a factor of 3). The Hessian trace
# grows with batch size (27-47 at batch 16, 47-241 at batch 256). At batch 16
# and width 2 both models collapse to a constant output (test accuracy 9.4%,
# training loss 2.31 = ln 10), so CKA is undefined there.

# %%
notebook.summary(results).round(3)
