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
# # The authors' own measurements, labelled by lscape's phase rule
#
# Yang et al. (2021) draw their phase boundaries by hand. This notebook asks
# whether a rule that reads the phases off the measurements finds the same
# regions, using the measurements the authors published with their code:
# ResNet18 on CIFAR-10 with learning-rate decay (the setting of the paper's
# Figure 3), 15 batch sizes x 14 widths, 5 runs per cell. lscape ships these
# numbers (`lscape/reference/yang2021_fig3/`, MIT license), so this notebook
# trains nothing and runs in seconds.
#
# The seven panels below use the same plotting code as `fig2_standard`, so
# the published figure can be read next to what lscape measures on its own
# data. The phase map comes from `lscape.phases.classify`:
#
# - *locally sharp vs flat*: the training loss and the Hessian trace, each
#   placed on its log-scale range over the grid; a cell whose mean position
#   is above the middle is sharp;
# - *globally poorly vs well connected*: $mc < -\text{tol}$ is a barrier,
#   with $\text{tol}$ 5% of the grid's largest $|mc|$;
# - *IV-A vs IV-B*: CKA above the middle of the phase-IV cells' CKA range.
#
# The confidence map is the share of bootstrap resamples over each cell's
# runs and seed pairs that give the same label.

# %% tags=["parameters"]
name = "yang2021_fig3"  # shipped reference grid (lscape.reference.available())
include_endpoints = False  # let curve endpoints compete for t* when scoring mc, as the authors' code does
sharpness = ["train_loss", "hessian_trace"]  # variables that decide locally sharp vs flat
sharp_level = 0.5  # sharp/flat boundary as a position in each variable's log range, 0 to 1
mc_relative_tolerance = 0.05  # barrier tolerance as a share of the grid's largest |mc|
cka_level = 0.5  # IV-A/IV-B boundary as a position in the phase-IV CKA range, 0 to 1
num_resamples = 200  # bootstrap resamples for the phase confidence
seed = 0  # seed of the bootstrap
preset = "default"  # "default", or "ci" for fewer resamples; the environment variable LSCAPE_PRESET overrides

# %%
import matplotlib.pyplot as plt

from lscape import notebook, phases, plots, reference

if notebook.resolve_preset(preset) == "ci":
    num_resamples = 20
options = {
    "sharpness": sharpness, "sharp_level": sharp_level,
    "mc_relative_tolerance": mc_relative_tolerance, "cka_level": cka_level,
}
results = reference.load(name, include_endpoints=include_endpoints)
means = results.mean(["seed", "pair"])
assert results.attrs["load"] == "width"
assert results.attrs["temperature"] == "batch_size"
assert results["train_loss"].dims == ("batch_size", "width", "seed")
results

# %% [markdown]
# ## The seven panels, the phase map and its boundaries
#
# Width grows to the right and batch size downward, so temperature grows
# upward, as in the paper. Test accuracy is missing for batch sizes 19 and
# 27 in the published files (white rows). The lines on the test-accuracy
# panel are the boundaries of the phase map: solid between locally sharp and
# flat phases, dashed between poorly and well connected ones, dotted between
# IV-A and IV-B.

# %%
phase = phases.classify(results, **options)
shares = phases.confidence(results, phase, num_resamples=num_resamples, seed=seed, **options)
figure = plots.plot_panels(results, phase=phase, boundaries="a", confidence=shares, annotate=False,
                           title="Yang et al. (2021), Figure 3 setting: the authors' measurements")
plt.show()

# %%
figure, (left, right) = plt.subplots(1, 2, figsize=(15, 6), layout="constrained")
plots.plot_phase_map(left, results, phase, confidence=shares, boundaries=True)
plots.plot_confidence(right, results, shares)
plt.show()
print(f"thresholds: {phase.attrs}")

# %% [markdown]
# ## Checks against the paper's regions
#
# The cells below are ones whose phase the paper's figure leaves no doubt
# about: phase I at small width and small batch, II at large width and the
# smallest batches, III in the narrow band of small width and large batch
# where the training loss is already small, IV-A at large width and large
# batch, and IV-B at large width and medium batch, where CKA and test
# accuracy are highest.

# %%
unambiguous = {
    "I": [(16, 1), (24, 2), (32, 3), (44, 4)],
    "II": [(16, 32), (16, 128), (19, 64), (24, 16)],
    "III": [(128, 8), (256, 6), (1024, 8), (512, 11)],
    "IV-A": [(1024, 23), (1024, 45), (724, 32), (512, 23)],
    "IV-B": [(64, 91), (92, 64), (128, 128), (180, 45)],
}
for label, cells in unambiguous.items():
    for batch_size, width in cells:
        found = phase.sel(batch_size=batch_size, width=width).item()
        assert found == label, (batch_size, width, found)

in_iv_b = means.where(phase == "IV-B")
in_iv_a = means.where(phase == "IV-A")
assert in_iv_b["cka"].mean() > in_iv_a["cka"].mean()
assert in_iv_b["test_accuracy"].mean() > in_iv_a["test_accuracy"].mean()
best = means["test_accuracy"].where(means["test_accuracy"] == means["test_accuracy"].max(), drop=True)
assert phase.sel(batch_size=best["batch_size"].item(), width=best["width"].item()).item() == "IV-B"
summary = means[["test_accuracy", "train_loss", "hessian_trace", "mc", "cka"]].to_dataframe()
summary["phase"] = phase.to_dataframe()["phase"]
summary["confidence"] = shares.to_dataframe()["phase_confidence"]
summary.groupby("phase")[["test_accuracy", "train_loss", "hessian_trace", "mc", "cka"]].mean().round(3)

# %% [markdown]
# ## Where the rule and the figure disagree
#
# The rule reproduces the paper's layout on every test cell above, and the
# IV-B cells have the highest mean CKA and test accuracy. It departs from the
# hand-drawn regions in a few places, each of which the measurements explain:
#
# 1. **Batch 64, width 1 is labelled II inside phase I.** One of its two
#    curve endpoints (run 0) is stuck at chance level: 90% training error at
#    $t = 0$ against 41% at $t = 1$. The best interior point of the curve is
#    far below the endpoints' mean, so $mc = +24.7$. The authors' code lets
#    the endpoints compete for $t^*$ and scores $-24.7$ there (rerun with
#    `include_endpoints=True` to see the cell become I). Neither number
#    measures a barrier between two trained models. A run at chance level
#    would best be marked as not converged, which the published files do not
#    record.
# 2. **Width 16 wavers between III and IV.** At batch sizes 44 and above
#    its mc lies between $-0.4$ and $-1.7$ points, right at the tolerance
#    (1.5 points), so batch 180 ($mc = -1.7$) is III between IV cells. The
#    paper draws the connectivity boundary by eye through this column.
# 3. **The II/IV boundary at batch 27 depends on the Hessian.** The widest
#    cells there (widths 64-128) have a training loss of 0.04-0.06, above its
#    boundary of 0.036, but a Hessian trace of 300-560, well below the trace
#    boundary of 930. The combined score puts them on the flat side (IV-A).
#    With `sharpness=["train_loss"]` they become II, which continues the
#    phase-II band of the smaller batch sizes; their mc (+1.1 to +1.7) is
#    at the tolerance and cannot decide.
# 4. **Scattered IV-B cells at batch 724-1024, widths 91-128.** CKA there
#    (0.63-0.66) sits at the IV-A/IV-B threshold (0.65), and the confidence
#    map marks these cells as uncertain. The paper calls the IV-A/IV-B change
#    a smooth crossover, not a transition, and no single threshold separates
#    it cleanly.
# 5. **Width 4 at the largest batches.** The training loss has fallen to
#    0.02-0.03, but the Hessian trace is still 1,390-1,770, above its
#    boundary. The combined score puts batch 512-724 just on the flat side
#    (III) and batch 1024 just on the sharp side (I), so the edge of the
#    phase-III band at width 4 is uncertain by one cell.
#
# The confidence map is 1 in most cells because mc was measured for one
# seed pair per cell (runs 0 and 1). A resample cannot vary it, so the
# confidence reflects only the spread of the training loss, the Hessian and
# CKA over runs. It is lowest where CKA or the sharpness score sits on its
# threshold.

# %%
print(summary.loc[[(64, 1), (180, 16), (27, 64), (27, 128), (1024, 91), (1024, 4), (512, 4)]].round(3))
assert phase.sel(batch_size=64, width=1).item() == ("I" if include_endpoints else "II")
loss_only = phases.classify(results, **{**options, "sharpness": ["train_loss"]})
print("batch 27, widths 64-128, sharpness from the training loss alone:",
      loss_only.sel(batch_size=27, width=[64, 91, 128]).values)

# %% [markdown]
# ## The same rule with mode connectivity on the loss
#
# Mode connectivity can also be scored on the training cross-entropy along
# the curve (`mc_loss`, in nats), as the paper does for its Transformer
# experiment, where 0-1 error is not defined. Because every threshold is
# relative to the grid's range, the rule needs no change: only `mc="mc_loss"`.

# %%
phase_loss = phases.classify(results, mc="mc_loss", **options)
figure, ax = plt.subplots(figsize=(8, 6), layout="constrained")
plots.plot_phase_map(ax, results, phase_loss, boundaries=True)
ax.set_title("Phase, with mc on the training loss", fontsize=9)
plt.show()
agreement = float((phase_loss == phase).mean())
print(f"cells with the same label as with mc on the 0-1 error: {agreement:.0%}")
assert agreement > 0.8

# %% [markdown]
# ## Individual curves behind the mode-connectivity panel
#
# Training error along the trained curve between runs 0 and 1, for a few
# cells: a barrier in the middle at small width (poorly connected), a curve
# dipping below its endpoints at large width and small batch (phase II), and
# a flat curve near zero at large width and large batch (phase IV). The
# published files have no straight-line baseline.

# %%
subset = results.sel(width=[1, 4, 16, 64], batch_size=[16, 128, 1024])
figure = plots.plot_curve_profiles(subset)
plt.show()
