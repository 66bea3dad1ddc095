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
# # Figure 21: additive input noise as the load
#
# Reproduces a figure of Yang et al., "Taxonomizing local versus global
# structure in neural network loss landscapes" (NeurIPS 2021), called "the
# paper" below.
#
# **Question.** If the data quality is lowered by noisy inputs instead of noisy
# labels, which metrics see it?
#
# **What the paper found.** With noise uniform in [0, u] added to every pixel
# (ResNet18, CIFAR-10), mode connectivity stays near zero (well connected) for
# every u, unlike randomized labels (Figure 8); input noise degrades the data
# less. CKA still sees it: at low temperature it falls as u grows.
#
# Here the noise is added to every one of MNIST-1D's 40 input values, drawn once
# with the data seed so the training set is fixed; the test set is never
# perturbed. MNIST-1D's training inputs have a standard deviation of 1.0 and
# 99% of their absolute values are below 3.1, so u = 2 is a strong perturbation. The width is 16 and
# u = 0 is Figure 2's width-16 column, read from the store.

# %% tags=["parameters"]
dataset = "mnist1d"  # embedded data set: "mnist1d" (4,000 train / 1,000 test) or "digits"; local: "cifar10", "cifar100", "svhn"
model = "cnn1d"  # network: "cnn1d" (plain CNN, stages k/2k/4k/8k), "resnet18_1d", "vgg11_1d"; 2D: "resnet18", "vgg11", "cnn"; "mlp"
input_noises = [0.0, 0.5, 1.0, 2.0]  # load axis: u, training inputs get noise uniform in [0, u] per value (input units)
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
width = 16  # width k of every run (fixed in this figure)
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
    "fig21_input_noise", preset=preset, seeds=seeds,
    input_noises=input_noises, batch_sizes=batch_sizes, dataset=dataset, model=model, lr=lr,
    momentum=momentum, weight_decay=weight_decay, max_epochs=max_epochs, min_steps=min_steps,
    hessian_samples=hessian_samples, hessian_max_iter=hessian_max_iter, hessian_tol=hessian_tol,
    cka_samples=cka_samples, cka_alpha=cka_alpha, curve_epochs=curve_epochs, curve_lr=curve_lr,
    data_dir=data_dir, width=width,
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

# %% [markdown]
# ## The panels
#
# Load grows to the right and temperature grows upward, as in the paper. Each
# cell is the mean over seeds (CKA: over seed pairs; mc: over the connected pairs).

# %%
figure = plots.plot_panels(results, panels="adef", phase_map=False, title="Figure 21 on the embedded default data (input noise as load)")
plt.show()

# %% [markdown]
# ## What the default setting shows
#
# Measured on 2026-12-04 with `papermill` at the default parameters: 2 min 49 s
# on the shared 2-core machine (other developers' jobs ran at the same time, so
# the time is inflated). The u = 0 column came from Figure 2's store.
#
# **As in the paper for small noise.** Up to u = 0.5 the landscape stays well
# connected (mc from $-1.2$ to $+3.3$, as without noise) and the test accuracy
# drops by only 1-3 points.
#
# **What differs.**
#
# - The noise in [0, u] has mean u/2, so it also shifts every training input
#   by u/2 while the test inputs stay clean. At u = 1 and 2 this shift
#   dominates: the test accuracy falls to 68-81% and then to 23-30%.
# - At u = 1-2 the models no longer fit the noisy training set (training loss
#   0.32-0.83), and mc turns positive ($+2.3$ to $+9.9$: the curve beats its
#   endpoints). The paper's mc stays near zero for every u.
# - CKA does not fall with more noise. It moves up and down, and at batch 256 it
#   is higher at u = 2 (0.79) than without noise (0.55). The paper's CKA falls.
# - The Hessian trace grows with u at batches 64 and 256 (from 36 to 91 and
#   from 99 to 191).

# %%
notebook.summary(results).round(3)
