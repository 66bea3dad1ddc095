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
# # Diagnose your own model
#
# The phase diagrams of Yang et al. (2021) need a whole grid of trainings.
# Their conclusions, though, give advice that applies to a single training
# setup once it has been run with two or more seeds:
#
# - **negative mode connectivity** ($mc < 0$, a barrier between the
#   models): the data quality is low or the model is small, and training to
#   zero loss may hurt test accuracy;
# - **large positive mode connectivity or a large Hessian** (or a training
#   loss far from zero): training has not converged to the bottom of a
#   local minimum;
# - **low CKA with $mc \approx 0$ and a small Hessian**: the data lack signal,
#   and more high-quality data should help.
#
# `lscape.diagnose.diagnose` measures these quantities on any trained
# `nn.Module`s of one architecture and a data loader, and returns a report
# with each metric's spread over models or pairs, the phase, and the advice
# that applies. This notebook trains two copies of a plain MLP of its own,
# a network lscape has never seen, and diagnoses them.

# %% tags=["parameters"]
dataset = "mnist1d"  # embedded data set: "mnist1d" (4,000 train sequences of length 40) or "digits"
train_size = 2000  # training examples used (a class-stratified subsample); None keeps all
hidden = 128  # units per hidden layer of the MLP
epochs = 30  # training epochs per model
batch_size = 64  # SGD batch size
lr = 0.05  # SGD learning rate
momentum = 0.9  # SGD momentum
seeds = [0, 1]  # one model per seed (at least 2)
stability_fraction = 0.5  # a top Hessian eigenvalue above this share of 2 (1 + momentum) / lr counts as large
curve_epochs = 50  # epochs of Bezier-curve training for mode connectivity
curve_lr = 0.03  # SGD learning rate of the curve
hessian_max_iter = 100  # max Hessian-vector products for the eigenvalue and for the trace
cka_samples = 640  # mixup inputs for CKA
preset = "default"  # "default", or "ci" for a tiny run; the environment variable LSCAPE_PRESET overrides

# %%
import matplotlib.pyplot as plt
import torch
from torch import nn

from lscape import notebook
from lscape.data import load_dataset
from lscape.diagnose import diagnose

if notebook.resolve_preset(preset) == "ci":
    train_size, epochs, curve_epochs, hessian_max_iter, cka_samples = 500, 3, 2, 20, 128
data = load_dataset(dataset, train_size=train_size)
loader = torch.utils.data.DataLoader(
    torch.utils.data.TensorDataset(data.X_train, data.y_train), batch_size=batch_size, shuffle=True
)
print(f"{len(data.y_train)} training examples of shape {data.input_shape}, {data.num_classes} classes")

# %% [markdown]
# ## Two models of your own
#
# Any `nn.Module` works. Here it is a two-layer MLP on the flattened input,
# trained with plain SGD from two seeds, as a user would train it.

# %%
class MyMLP(nn.Module):
    def __init__(self, num_inputs: int, hidden: int, num_classes: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), nn.Linear(num_inputs, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        return self.net(x)


def train_model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    model = MyMLP(data.X_train[0].numel(), hidden, data.num_classes)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    for _ in range(epochs):
        for X, y in loader:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(X), y).backward()
            optimizer.step()
    return model


models = [train_model(seed) for seed in seeds]
with torch.no_grad():
    accuracy = [(m.eval()(data.X_test).argmax(1) == data.y_test).float().mean().item() for m in models]
print("test accuracy:", [f"{a:.1%}" for a in accuracy])

# %% [markdown]
# ## The diagnosis
#
# A single setup has no grid whose range the thresholds could be relative
# to, so `diagnose` uses absolute ones: a barrier beyond 2 points of
# training error, a training loss above 0.05 nats, CKA below 0.65. Each is
# read off the authors' ResNet18 grid (see the `paper_results` notebook) and
# is an estimate for other models and data. The Hessian has no such
# universal scale. Here it counts as large above half of
# $2(1 + \beta)/\eta$, the largest curvature at which SGD with learning rate
# $\eta$ and momentum $\beta$ is stable on a quadratic.

# %%
hessian_threshold = stability_fraction * 2 * (1 + momentum) / lr
# An unshuffled loader keeps the data order, and so the curve training, the same on every call.
fixed_order = torch.utils.data.DataLoader(loader.dataset, batch_size=500, shuffle=False)
report = diagnose(
    models, fixed_order, nn.CrossEntropyLoss(), hessian_threshold=hessian_threshold,
    curve_epochs=curve_epochs, curve_lr=curve_lr, hessian_max_iter=hessian_max_iter, cka_samples=cka_samples,
)
report.show()

# %% [markdown]
# The table gives each metric's mean and its spread: over the models for
# the training loss and Hessian, over the pairs for CKA, L2 distance and mc
# (one pair here, so no spread). The plot shows the training error along
# the trained curve (solid) and along the straight line (dashed) between
# the two models. A bump above the endpoints is a barrier ($mc < 0$), a dip
# below them means the endpoints have not reached a minimum ($mc > 0$).

# %%
assert report.phase in {"I", "II", "III", "IV-A", "IV-B"}
assert report.advice, "every diagnosis ends with at least one piece of advice"
assert report.metrics.loc["train_loss", "count"] == len(seeds)
assert report.metrics.loc["cka", "count"] == len(seeds) * (len(seeds) - 1) // 2
for item in report.advice:
    print(f"[{item.trigger}] {item.evidence}")

# %% [markdown]
# **What the default setting shows.** Measured on 2026-12-04 on a 2-core CPU
# (the whole notebook: 2 min 40 s); these sentences describe the default
# parameters only. Both MLPs fit the 2,000 training sequences almost
# perfectly (training error 0.15%, loss 0.027) but reach only 58% test
# accuracy. The curve between them climbs 14 points of training error above
# its endpoints ($mc = -13.8$), and their CKA is 0.53. `diagnose` reports
# phase III (locally flat, globally poorly connected) and the paper's advice
# for it: the model is too small or the data too noisy for this landscape,
# so fitting the training set to zero loss does not buy test accuracy. The
# convolutional networks of the `fig2_standard` notebook reach 86-95% test
# accuracy on the same data.
#
# ## What the advice depends on
#
# The same models give other advice when the thresholds change, which shows
# which measurement drives each line. A stricter tolerance on the training
# loss, for instance, declares the models not converged.

# %%
strict = diagnose(
    models, fixed_order, hessian_threshold=hessian_threshold, loss_tolerance=1e-6,
    curve_epochs=curve_epochs, curve_lr=curve_lr, hessian_max_iter=hessian_max_iter, cka_samples=cka_samples,
)
assert "not_converged" in strict.triggers
assert strict.metrics.loc["mc", "mean"] == report.metrics.loc["mc", "mean"]  # same data order, same curve
print(strict)
plt.show()
