"""Every public function rejects one wrongly typed or out-of-range argument with lscape's error template.

Each case passes valid arguments except one, with a mistake a notebook user
makes: a string from papermill ``-p``, a numpy array for a tensor, a model
name for a model. The ParameterError must name the parameter and the
function and show the value received.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from torch import nn  # noqa: E402

from lscape import config as lconfig  # noqa: E402
from lscape import data, diagnose, grid, models, notebook, phases, plots, reference, store, train  # noqa: E402
from lscape import transformer, translation, vectorized, widgets  # noqa: E402
from lscape.metrics import connectivity, distance, hessian, similarity  # noqa: E402
from lscape.validation import ParameterError, shown  # noqa: E402


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    """Cheap valid arguments shared by the cases: two tiny MLPs, a batch, the reference grid and an axis."""
    torch.manual_seed(0)
    model = models.build("mlp", 4, 10, (64,))
    other = models.build("mlp", 4, 10, (64,))
    X = torch.randn(20, 64)
    y = torch.randint(0, 10, (20,))
    grid_data = reference.load("yang2021_fig3")
    phase = phases.classify(grid_data)
    ax = Figure().subplots()
    folder = tmp_path_factory.mktemp("bad_input")
    source = folder / "train.de"
    source.write_text("ein Haus\n", encoding="utf-8")
    pairs = translation.synthetic_pairs(20)
    vocabulary = translation.Vocabulary.build([s for s, _ in pairs])
    tokens, _ = translation.encode_pairs(pairs, vocabulary, vocabulary, 12, 12)
    curve = connectivity.BezierCurve(model, other)
    metrics_table = pd.DataFrame(
        {"mean": [0.01, 1.0, 0.0, 0.9]}, index=["train_loss", "hessian_eigenvalue", "mc", "cka"]
    )
    return SimpleNamespace(
        model=model, other=other, X=X, y=y, loss=nn.CrossEntropyLoss(), grid=grid_data, phase=phase, ax=ax,
        folder=folder, source=source, pairs=pairs, vocabulary=vocabulary, tokens=tokens, curve=curve,
        config=train.TrainConfig(batch_size=4, max_epochs=1), spec=_spec(), metrics_table=metrics_table,
    )


def _spec():
    return grid.GridSpec(load="width", load_values=(2, 4), temperature="batch_size", temperature_values=(16,))


class Opaque:
    """An object json cannot serialise and no lscape function accepts."""

    def __repr__(self) -> str:
        return "Opaque()"


# (id, call(fx, value), function name as in the message, parameter, wrong value)
CASES = [
    # lscape.data
    ("load_dataset name", lambda f, v: data.load_dataset(v), "load_dataset", "name", 5),
    ("load_dataset train_size", lambda f, v: data.load_dataset("digits", train_size=v), "load_dataset", "train_size", "100"),
    ("load_dataset label_noise", lambda f, v: data.load_dataset("digits", label_noise=v), "load_dataset", "label_noise", "0.2"),
    ("load_dataset input_noise", lambda f, v: data.load_dataset("digits", input_noise=v), "load_dataset", "input_noise", -0.1),
    ("load_dataset seed", lambda f, v: data.load_dataset("digits", seed=v), "load_dataset", "seed", "0"),
    ("load_dataset cache_dir", lambda f, v: data.load_dataset("digits", cache_dir=v), "load_dataset", "cache_dir", 3),
    ("load_dataset data_dir", lambda f, v: data.load_dataset("digits", data_dir=v), "load_dataset", "data_dir", 3),
    ("randomize_labels labels", lambda f, v: data.randomize_labels(v, 0.2, 10, 0), "randomize_labels", "labels", [1, 2]),
    ("randomize_labels fraction", lambda f, v: data.randomize_labels(f.y.numpy(), v, 10, 0), "randomize_labels", "fraction", "0.2"),
    ("randomize_labels num_classes", lambda f, v: data.randomize_labels(f.y.numpy(), 0.2, v, 0), "randomize_labels", "num_classes", 1),
    ("randomize_labels seed", lambda f, v: data.randomize_labels(f.y.numpy(), 0.2, 10, v), "randomize_labels", "seed", -1),
    ("stratified_subsample labels", lambda f, v: data.stratified_subsample(v, 10, 0), "stratified_subsample", "labels", "abc"),
    ("stratified_subsample size", lambda f, v: data.stratified_subsample(f.y.numpy(), v, 0), "stratified_subsample", "size", "10"),
    ("stratified_subsample seed", lambda f, v: data.stratified_subsample(f.y.numpy(), 10, v), "stratified_subsample", "seed", 0.5),
    ("add_input_noise X", lambda f, v: data.add_input_noise(v, 0.1, 0), "add_input_noise", "X", "X"),
    ("add_input_noise magnitude", lambda f, v: data.add_input_noise(f.X.numpy(), v, 0), "add_input_noise", "magnitude", "0.1"),
    ("add_input_noise seed", lambda f, v: data.add_input_noise(f.X.numpy(), 0.1, v), "add_input_noise", "seed", 1.5),
    ("local_folder name", lambda f, v: data.local_folder(v), "local_folder", "name", "mnist1d"),
    ("local_folder data_dir", lambda f, v: data.local_folder("cifar10", v), "local_folder", "data_dir", 3),
    ("Dataset X_train", lambda f, v: data.Dataset("digits", v, f.y, f.X, f.y, 10), "Dataset", "X_train", [[0.0]]),
    ("Dataset num_classes", lambda f, v: data.Dataset("digits", f.X, f.y, f.X, f.y, v), "Dataset", "num_classes", "10"),
    # lscape.models
    ("build name", lambda f, v: models.build(v, 4, 10, (64,)), "build", "name", "MLP"),
    ("build width", lambda f, v: models.build("mlp", v, 10, (64,)), "build", "width", "4"),
    ("build num_classes", lambda f, v: models.build("mlp", 4, v, (64,)), "build", "num_classes", 1),
    ("build input_shape", lambda f, v: models.build("mlp", 4, 10, v), "build", "input_shape", "64"),
    ("build input_shape item", lambda f, v: models.build("mlp", 4, 10, (1, v)), "build", "input_shape[1]", "40"),
    ("count_parameters model", lambda f, v: models.count_parameters(v), "count_parameters", "model", "mlp"),
    ("MLP width", lambda f, v: models.MLP(v, 10, 64), "MLP", "width", "4"),
    ("ResNet18 dim", lambda f, v: models.ResNet18(4, 10, 3, v), "ResNet18", "dim", 3),
    ("PlainCNN width", lambda f, v: models.PlainCNN(v, 10), "PlainCNN", "width", 0),
    ("VGG11 input_shape", lambda f, v: models.VGG11(4, 10, v), "VGG11", "input_shape", 32),
    ("BasicBlock dim", lambda f, v: models.BasicBlock(4, 4, 1, v), "BasicBlock", "dim", "2"),
    # lscape.transformer
    ("Seq2SeqTransformer dim", lambda f, v: transformer.Seq2SeqTransformer(v, 20, 20, 5, 1, 2), "Seq2SeqTransformer", "dim", "16"),
    ("Seq2SeqTransformer src_vocab", lambda f, v: transformer.Seq2SeqTransformer(16, v, 20, 5, 1, 2), "Seq2SeqTransformer", "src_vocab", 0),
    ("MultiHeadAttention dim", lambda f, v: transformer.MultiHeadAttention(v, 4), "MultiHeadAttention", "dim", 10),
    ("EncoderLayer hidden", lambda f, v: transformer.EncoderLayer(16, 2, v), "EncoderLayer", "hidden", "64"),
    ("DecoderLayer heads", lambda f, v: transformer.DecoderLayer(16, v, 64), "DecoderLayer", "heads", 0),
    # lscape.train
    ("TrainConfig batch_size", lambda f, v: train.TrainConfig(batch_size=v), "TrainConfig", "batch_size", "64"),
    ("TrainConfig lr", lambda f, v: train.TrainConfig(lr=v), "TrainConfig", "lr", "0.1"),
    ("TrainConfig.epoch_cap num_train", lambda f, v: f.config.epoch_cap(v), "TrainConfig.epoch_cap", "num_train", "4000"),
    ("train model", lambda f, v: train.train(v, f.X, f.y, f.config), "train", "model", "mlp"),
    ("train X", lambda f, v: train.train(f.model, v, f.y, f.config), "train", "X", np.zeros((20, 64))),
    ("train y", lambda f, v: train.train(f.model, f.X, v, f.config), "train", "y", [0, 1]),
    ("train config", lambda f, v: train.train(f.model, f.X, f.y, v), "train", "config", {"batch_size": 4}),
    ("train loss_fn", lambda f, v: train.train(f.model, f.X, f.y, f.config, loss_fn=v), "train", "loss_fn", "cross_entropy"),
    ("train progress", lambda f, v: train.train(f.model, f.X, f.y, f.config, progress=v), "train", "progress", "yes"),
    ("train eval_fn", lambda f, v: train.train(f.model, f.X, f.y, f.config, eval_fn=v), "train", "eval_fn", 5),
    ("make_optimizer model", lambda f, v: train.make_optimizer(v, f.config), "make_optimizer", "model", "mlp"),
    ("make_optimizer config", lambda f, v: train.make_optimizer(f.model, v), "make_optimizer", "config", {"lr": 0.1}),
    ("config_dict config", lambda f, v: train.config_dict(v), "config_dict", "config", {"lr": 0.1}),
    # lscape.config
    ("RunConfig width", lambda f, v: lconfig.RunConfig(width=v), "RunConfig", "width", "8"),
    ("RunConfig label_noise", lambda f, v: lconfig.RunConfig(label_noise=v), "RunConfig", "label_noise", "0.1"),
    ("MetricSettings curve_epochs", lambda f, v: lconfig.MetricSettings(curve_epochs=v), "MetricSettings", "curve_epochs", "3"),
    # lscape.grid
    ("GridSpec seeds", lambda f, v: grid.GridSpec(load="width", load_values=(2, 4), temperature="batch_size",
                                                  temperature_values=(16,), seeds=v), "GridSpec", "seeds", "0"),
    ("assemble spec", lambda f, v: grid.assemble(v), "assemble", "spec", "fig2_standard"),
    ("assemble store", lambda f, v: grid.assemble(f.spec, v), "assemble", "store", 3),
    ("cell_means dataset", lambda f, v: grid.cell_means(v), "cell_means", "dataset", [1]),
    ("save_netcdf dataset", lambda f, v: grid.save_netcdf(v, f.folder / "x.nc"), "save_netcdf", "dataset", [1]),
    ("save_netcdf path", lambda f, v: grid.save_netcdf(f.grid, v), "save_netcdf", "path", 3),
    ("load_netcdf path", lambda f, v: grid.load_netcdf(v), "load_netcdf", "path", 3),
    ("run_grid spec", lambda f, v: grid.run_grid(v), "run_grid", "spec", {"load": "width"}),
    ("resolve_device device", lambda f, v: grid.resolve_device(v), "resolve_device", "device", "gpu"),
    # lscape.phases
    ("classify results", lambda f, v: phases.classify(v), "classify", "results", [1, 2]),
    ("classify sharpness", lambda f, v: phases.classify(f.grid, sharpness=v), "classify", "sharpness", "loss"),
    ("classify sharp_level", lambda f, v: phases.classify(f.grid, sharp_level=v), "classify", "sharp_level", "0.5"),
    ("classify mc_tolerance", lambda f, v: phases.classify(f.grid, mc_tolerance=v), "classify", "mc_tolerance", "1"),
    ("confidence results", lambda f, v: phases.confidence(v), "confidence", "results", "grid"),
    ("confidence phase", lambda f, v: phases.confidence(f.grid, phase=v), "confidence", "phase", ["I"]),
    ("confidence num_resamples", lambda f, v: phases.confidence(f.grid, num_resamples=v), "confidence", "num_resamples", "10"),
    ("confidence seed", lambda f, v: phases.confidence(f.grid, seed=v), "confidence", "seed", -1),
    ("phase_labels sharp", lambda f, v: phases.phase_labels(v, np.array([True]), np.array([True])), "phase_labels", "sharp", "yes"),
    ("phase_labels poor", lambda f, v: phases.phase_labels(np.array([True]), v, np.array([True])), "phase_labels", "poor", [0.5]),
    ("Thresholds sharpness", lambda f, v: phases.Thresholds(v), "Thresholds", "sharpness", "loss"),
    ("Thresholds mc_variable", lambda f, v: phases.Thresholds(("train_loss",), mc_variable=v), "Thresholds", "mc_variable", "cka"),
    # lscape.plots
    ("plot_panel ax", lambda f, v: plots.plot_panel(v, f.grid, "test_accuracy"), "plot_panel", "ax", "ax"),
    ("plot_panel dataset", lambda f, v: plots.plot_panel(f.ax, v, "test_accuracy"), "plot_panel", "dataset", "grid"),
    ("plot_panel name", lambda f, v: plots.plot_panel(f.ax, f.grid, v), "plot_panel", "name", 5),
    ("plot_panel cmap", lambda f, v: plots.plot_panel(f.ax, f.grid, "mc", cmap=v), "plot_panel", "cmap", 5),
    ("plot_panel log10", lambda f, v: plots.plot_panel(f.ax, f.grid, "mc", log10=v), "plot_panel", "log10", "yes"),
    ("plot_phase_map ax", lambda f, v: plots.plot_phase_map(v, f.grid), "plot_phase_map", "ax", None),
    ("plot_phase_map dataset", lambda f, v: plots.plot_phase_map(f.ax, v), "plot_phase_map", "dataset", "grid"),
    ("plot_phase_map phase", lambda f, v: plots.plot_phase_map(f.ax, f.grid, v), "plot_phase_map", "phase", "I"),
    ("plot_phase_map confidence_level", lambda f, v: plots.plot_phase_map(f.ax, f.grid, confidence_level=v),
     "plot_phase_map", "confidence_level", 2),
    ("plot_phase_boundaries phase", lambda f, v: plots.plot_phase_boundaries(f.ax, f.grid, v), "plot_phase_boundaries", "phase", None),
    ("plot_phase_boundaries color", lambda f, v: plots.plot_phase_boundaries(f.ax, f.grid, f.phase, color=v),
     "plot_phase_boundaries", "color", 5),
    ("plot_phase_boundaries linewidth", lambda f, v: plots.plot_phase_boundaries(f.ax, f.grid, f.phase, linewidth=v),
     "plot_phase_boundaries", "linewidth", "2"),
    ("plot_confidence confidence", lambda f, v: plots.plot_confidence(f.ax, f.grid, v), "plot_confidence", "confidence", None),
    ("plot_panels dataset", lambda f, v: plots.plot_panels(v), "plot_panels", "dataset", "grid"),
    ("plot_panels panels", lambda f, v: plots.plot_panels(f.grid, panels=v), "plot_panels", "panels", 5),
    ("plot_panels phase_map", lambda f, v: plots.plot_panels(f.grid, phase_map=v), "plot_panels", "phase_map", "yes"),
    ("plot_panels boundaries", lambda f, v: plots.plot_panels(f.grid, boundaries=v), "plot_panels", "boundaries", "xz"),
    ("plot_curve_profiles variable", lambda f, v: plots.plot_curve_profiles(f.grid, variable=v), "plot_curve_profiles", "variable", 3),
    ("plot_curve_profiles pair", lambda f, v: plots.plot_curve_profiles(f.grid, pair=v), "plot_curve_profiles", "pair", "9-9"),
    ("plot_curve_profiles baseline", lambda f, v: plots.plot_curve_profiles(f.grid, baseline=v), "plot_curve_profiles", "baseline", 1),
    # lscape.widgets
    ("slice_explorer results", lambda f, v: widgets.slice_explorer(v), "slice_explorer", "results", "grid"),
    ("slice_explorer phase", lambda f, v: widgets.slice_explorer(f.grid, phase=v), "slice_explorer", "phase", "I"),
    ("slice_explorer dpi", lambda f, v: widgets.slice_explorer(f.grid, dpi=v), "slice_explorer", "dpi", "72"),
    ("slice_explorer cell_profiles", lambda f, v: widgets.slice_explorer(f.grid, cell_profiles=v), "slice_explorer", "cell_profiles", "yes"),
    ("plot_row_slice temperature_value", lambda f, v: widgets.plot_row_slice(f.grid, v), "plot_row_slice", "temperature_value", "128"),
    ("plot_row_slice metrics", lambda f, v: widgets.plot_row_slice(f.grid, 128, v), "plot_row_slice", "metrics", "mc"),
    ("plot_row_slice phase", lambda f, v: widgets.plot_row_slice(f.grid, 128, phase=v), "plot_row_slice", "phase", 5),
    ("plot_column_slice load_value", lambda f, v: widgets.plot_column_slice(f.grid, v), "plot_column_slice", "load_value", -1),
    ("plot_cell_profile variable", lambda f, v: widgets.plot_cell_profile(f.grid, 4, 256, v), "plot_cell_profile", "variable", "mc"),
    ("plot_cell_profile phase", lambda f, v: widgets.plot_cell_profile(f.grid, 4, 256, phase=v), "plot_cell_profile", "phase", "I"),
    # lscape.diagnose
    ("diagnose models", lambda f, v: diagnose.diagnose(v, (f.X, f.y)), "diagnose", "models", "mlp"),
    ("diagnose models item", lambda f, v: diagnose.diagnose([f.model, v], (f.X, f.y)), "diagnose", "models[1]", "mlp"),
    ("diagnose train_data", lambda f, v: diagnose.diagnose([f.model, f.other], v), "diagnose", "train_data", 5),
    ("diagnose loss_fn", lambda f, v: diagnose.diagnose([f.model, f.other], (f.X, f.y), v), "diagnose", "loss_fn", "ce"),
    ("diagnose mc_tolerance", lambda f, v: diagnose.diagnose([f.model, f.other], (f.X, f.y), mc_tolerance=v),
     "diagnose", "mc_tolerance", "2"),
    ("diagnose t", lambda f, v: diagnose.diagnose([f.model, f.other], (f.X, f.y), t=v), "diagnose", "t", "0, 0.5, 1"),
    ("diagnose progress", lambda f, v: diagnose.diagnose([f.model, f.other], (f.X, f.y), progress=v), "diagnose", "progress", "no"),
    ("diagnose curve_pairs", lambda f, v: diagnose.diagnose([f.model, f.other], (f.X, f.y), curve_pairs=v), "diagnose", "curve_pairs", 0),
    ("advise metrics", lambda f, v: diagnose.advise(v), "advise", "metrics", {"mc": 0.0}),
    ("advise mc_tolerance", lambda f, v: diagnose.advise(f.metrics_table, v), "advise", "mc_tolerance", -1.0),
    ("advise hessian_threshold", lambda f, v: diagnose.advise(f.metrics_table, hessian_threshold=v), "advise", "hessian_threshold", "10"),
    # lscape.reference
    ("reference.load name", lambda f, v: reference.load(v), "load", "name", 3),
    ("reference.load include_endpoints", lambda f, v: reference.load(include_endpoints=v), "load", "include_endpoints", "no"),
    # lscape.notebook
    ("grid_spec figure", lambda f, v: notebook.grid_spec(v), "grid_spec", "figure", 3),
    ("grid_spec preset", lambda f, v: notebook.grid_spec("fig2_standard", preset=v), "grid_spec", "preset", 3),
    ("resolve_preset preset", lambda f, v: notebook.resolve_preset(v), "grid_spec", "preset", "small"),
    ("workers_for workers", lambda f, v: notebook.workers_for("default", v), "the figure notebook", "workers", "4"),
    ("check_results results", lambda f, v: notebook.check_results(v), "check_results", "results", "grid"),
    ("summary results", lambda f, v: notebook.summary(v), "summary", "results", "grid"),
    ("summary variables item", lambda f, v: notebook.summary(f.grid, [v]), "summary", "variables[0]", 5),
    ("stack_grids grids", lambda f, v: notebook.stack_grids(v, "train_size"), "stack_grids", "grids", ["grid"]),
    ("stack_grids dim", lambda f, v: notebook.stack_grids({1: f.grid}, v), "stack_grids", "dim", 3),
    ("rearrange stacked", lambda f, v: notebook.rearrange(v, "train_size"), "rearrange", "stacked", "grid"),
    ("rearrange new_load", lambda f, v: notebook.rearrange(f.grid, v), "rearrange", "new_load", "depth"),
    # lscape.translation
    ("tokenize line", lambda f, v: translation.tokenize(v), "tokenize", "line", 3),
    ("synthetic_pairs num_pairs", lambda f, v: translation.synthetic_pairs(v), "synthetic_pairs", "num_pairs", "10"),
    ("synthetic_pairs seed", lambda f, v: translation.synthetic_pairs(10, v), "synthetic_pairs", "seed", -1),
    ("read_parallel_text source_path", lambda f, v: translation.read_parallel_text(v, f.source), "read_parallel_text", "source_path", 3),
    ("read_parallel_text target_path", lambda f, v: translation.read_parallel_text(f.source, v), "read_parallel_text", "target_path", None),
    ("encode_pairs pairs", lambda f, v: translation.encode_pairs(v, f.vocabulary, f.vocabulary, 5, 5), "encode_pairs", "pairs", "a b"),
    ("encode_pairs source_vocabulary", lambda f, v: translation.encode_pairs(f.pairs, v, f.vocabulary, 5, 5),
     "encode_pairs", "source_vocabulary", ["ka", "lo"]),
    ("encode_pairs source_length", lambda f, v: translation.encode_pairs(f.pairs, f.vocabulary, f.vocabulary, v, 5),
     "encode_pairs", "source_length", "5"),
    ("load_translation name", lambda f, v: translation.load_translation(v), "load_translation", "name", "digits"),
    ("load_translation train_size", lambda f, v: translation.load_translation("synthetic_translation", v),
     "load_translation", "train_size", 5),
    ("load_translation data_dir", lambda f, v: translation.load_translation("iwslt16_de_en", data_dir=v),
     "load_translation", "data_dir", 3),
    ("token_mixup_inputs X", lambda f, v: translation.token_mixup_inputs(v, 5), "token_mixup_inputs", "X", [[1, 2]]),
    ("token_mixup_inputs src_len", lambda f, v: translation.token_mixup_inputs(f.tokens, v), "token_mixup_inputs", "src_len", "12"),
    ("token_mixup_inputs alpha", lambda f, v: translation.token_mixup_inputs(f.tokens, 12, alpha=v), "token_mixup_inputs", "alpha", 0),
    ("token_noise_inputs vocab_size", lambda f, v: translation.token_noise_inputs(f.tokens, 12, v), "token_noise_inputs", "vocab_size", 4),
    ("token_noise_inputs fraction", lambda f, v: translation.token_noise_inputs(f.tokens, 12, 40, fraction=v),
     "token_noise_inputs", "fraction", 2.0),
    ("Vocabulary.build sentences", lambda f, v: translation.Vocabulary.build(v), "Vocabulary.build", "sentences", "ein Haus"),
    ("Vocabulary.build max_size", lambda f, v: translation.Vocabulary.build([["a"]], v), "Vocabulary.build", "max_size", -1),
    # lscape.store
    ("Store root", lambda f, v: store.Store(v), "Store", "root", 3),
    ("config_key config", lambda f, v: store.config_key(v), "config_key", "config", Opaque()),
    ("config_key numpy integer", lambda f, v: store.config_key(v), "config_key", "config", {"width": np.int64(8)}),
    ("provenance device", lambda f, v: store.provenance(v), "provenance", "device", 0),
    ("provenance seconds", lambda f, v: store.provenance("cpu", v), "provenance", "seconds", "1.5"),
    ("atomic_write_bytes path", lambda f, v: store.atomic_write_bytes(v, b"{}"), "atomic_write_bytes", "path", 3),
    ("atomic_write_bytes data", lambda f, v: store.atomic_write_bytes(f.folder / "x.json", v), "atomic_write_bytes", "data", "{}"),
    ("Store.path kind", lambda f, v: store.Store(f.folder).path(v, "abc"), "Store.path", "kind", 3),
    ("Store.write_json record", lambda f, v: store.Store(f.folder).write_json("runs", "abc", v), "Store.write_json", "record", [1]),
    ("Store.write_checkpoint state_dict", lambda f, v: store.Store(f.folder).write_checkpoint("models", "abc", v),
     "Store.write_checkpoint", "state_dict", "weights.pt"),
    # lscape.metrics.hessian
    ("hessian_eigenvalues model", lambda f, v: hessian.hessian_eigenvalues(v, f.loss, (f.X, f.y)), "hessian_eigenvalues", "model", "mlp"),
    ("hessian_eigenvalues loss_fn", lambda f, v: hessian.hessian_eigenvalues(f.model, v, (f.X, f.y)), "hessian_eigenvalues", "loss_fn", "ce"),
    ("hessian_eigenvalues data", lambda f, v: hessian.hessian_eigenvalues(f.model, f.loss, v), "hessian_eigenvalues", "data", "train"),
    ("hessian_eigenvalues data arrays", lambda f, v: hessian.hessian_eigenvalues(f.model, f.loss, v), "hessian_eigenvalues", "data",
     (np.zeros((2, 64)), np.zeros(2))),
    ("hessian_eigenvalues k", lambda f, v: hessian.hessian_eigenvalues(f.model, f.loss, (f.X, f.y), k=v), "hessian_eigenvalues", "k", "1"),
    ("hessian_eigenvalues dtype", lambda f, v: hessian.hessian_eigenvalues(f.model, f.loss, (f.X, f.y), dtype=v),
     "hessian_eigenvalues", "dtype", "float64"),
    ("hessian_eigenvalues backend", lambda f, v: hessian.hessian_eigenvalues(f.model, f.loss, (f.X, f.y), backend=v),
     "hessian_eigenvalues", "backend", "jax"),
    ("hessian_trace max_iter", lambda f, v: hessian.hessian_trace(f.model, f.loss, (f.X, f.y), max_iter=v), "hessian_trace", "max_iter", "5"),
    ("hessian_trace data", lambda f, v: hessian.hessian_trace(f.model, f.loss, v), "hessian_trace", "data", 42),
    ("hessian_density num_steps", lambda f, v: hessian.hessian_density(f.model, f.loss, (f.X, f.y), num_steps=v),
     "hessian_density", "num_steps", "5"),
    ("hessian_density model", lambda f, v: hessian.hessian_density(v, f.loss, (f.X, f.y)), "hessian_density", "model", "mlp"),
    ("fixed_batch X", lambda f, v: hessian.fixed_batch(v, f.y), "fixed_batch", "X", np.zeros((20, 64))),
    ("fixed_batch size", lambda f, v: hessian.fixed_batch(f.X, f.y, v, 0), "fixed_batch", "size", "5"),
    ("HessianOperator data", lambda f, v: hessian.HessianOperator(f.model, f.loss, v), "HessianOperator", "data", "data"),
    ("HessianOperator model", lambda f, v: hessian.HessianOperator(v, f.loss, (f.X, f.y)), "HessianOperator", "model", "mlp"),
    ("FuncHessianOperator loss_fn", lambda f, v: hessian.FuncHessianOperator(f.model, v, (f.X, f.y)),
     "FuncHessianOperator", "loss_fn", "ce"),
    ("make_operator backend", lambda f, v: hessian.make_operator(f.model, f.loss, (f.X, f.y), backend=v), "make_operator", "backend", "jax"),
    ("eval_mode model", lambda f, v: hessian.eval_mode(v), "eval_mode", "model", "mlp"),
    # lscape.metrics.connectivity
    ("BezierCurve model_a", lambda f, v: connectivity.BezierCurve(v, f.other), "BezierCurve", "model_a", "mlp"),
    ("BezierCurve num_bends", lambda f, v: connectivity.BezierCurve(f.model, f.other, num_bends=v), "BezierCurve", "num_bends", "1"),
    ("fit_curve model_b", lambda f, v: connectivity.fit_curve(f.model, v, f.X, f.y), "fit_curve", "model_b", "mlp"),
    ("fit_curve X", lambda f, v: connectivity.fit_curve(f.model, f.other, v, f.y), "fit_curve", "X", np.zeros((20, 64))),
    ("fit_curve epochs", lambda f, v: connectivity.fit_curve(f.model, f.other, f.X, f.y, epochs=v), "fit_curve", "epochs", "2"),
    ("fit_curve momentum", lambda f, v: connectivity.fit_curve(f.model, f.other, f.X, f.y, momentum=v), "fit_curve", "momentum", 1.5),
    ("fit_curve seed", lambda f, v: connectivity.fit_curve(f.model, f.other, f.X, f.y, seed=v), "fit_curve", "seed", -1),
    ("fit_curve kind", lambda f, v: connectivity.fit_curve(f.model, f.other, f.X, f.y, kind=v), "fit_curve", "kind", "spline"),
    ("evaluate_curve curve", lambda f, v: connectivity.evaluate_curve(v, f.X, f.y), "evaluate_curve", "curve", "curve"),
    ("evaluate_curve t", lambda f, v: connectivity.evaluate_curve(f.curve, f.X, f.y, v), "evaluate_curve", "t", "0.5"),
    ("evaluate_curve batch_size", lambda f, v: connectivity.evaluate_curve(f.curve, f.X, f.y, batch_size=v),
     "evaluate_curve", "batch_size", 0),
    ("mc_score values", lambda f, v: connectivity.mc_score(v), "mc_score", "values", "abc"),
    ("mc_score include_endpoints", lambda f, v: connectivity.mc_score([1.0, 2.0, 1.0], v), "mc_score", "include_endpoints", 1),
    ("mode_connectivity model_b", lambda f, v: connectivity.mode_connectivity(f.model, v, f.X, f.y), "mode_connectivity", "model_b", "mlp"),
    ("mode_connectivity y", lambda f, v: connectivity.mode_connectivity(f.model, f.other, f.X, v), "mode_connectivity", "y", [1, 2]),
    ("mode_connectivity linear_baseline", lambda f, v: connectivity.mode_connectivity(f.model, f.other, f.X, f.y, linear_baseline=v),
     "mode_connectivity", "linear_baseline", "yes"),
    ("mode_connectivity epochs", lambda f, v: connectivity.mode_connectivity(f.model, f.other, f.X, f.y, epochs=v),
     "fit_curve", "epochs", "2"),
    ("mode_connectivity_pairs models", lambda f, v: connectivity.mode_connectivity_pairs(v, f.X, f.y), "mode_connectivity_pairs",
     "models", "models"),
    ("mode_connectivity_pairs models item", lambda f, v: connectivity.mode_connectivity_pairs([f.model, f.other, v], f.X, f.y),
     "mode_connectivity_pairs", "models[2]", "mlp"),
    ("mode_connectivity_pairs pairs", lambda f, v: connectivity.mode_connectivity_pairs([f.model, f.other], f.X, f.y, v),
     "mode_connectivity_pairs", "pairs", [(0, "1")]),
    # lscape.metrics.similarity
    ("cka X", lambda f, v: similarity.cka(v, np.zeros((4, 2))), "cka", "X", "a"),
    ("cka Y", lambda f, v: similarity.cka(np.zeros((4, 2)), v), "cka", "Y", [["a", "b"]]),
    ("cka debiased", lambda f, v: similarity.cka(np.eye(4), np.eye(4), debiased=v), "cka", "debiased", "no"),
    ("mixup_inputs X", lambda f, v: similarity.mixup_inputs(v), "mixup_inputs", "X", np.zeros((20, 64))),
    ("mixup_inputs num_samples", lambda f, v: similarity.mixup_inputs(f.X, v), "mixup_inputs", "num_samples", "10"),
    ("noisy_inputs X", lambda f, v: similarity.noisy_inputs(v), "noisy_inputs", "X", [[0.0]]),
    ("noisy_inputs magnitude", lambda f, v: similarity.noisy_inputs(f.X, 10, v), "noisy_inputs", "magnitude", "0.1"),
    ("representations model", lambda f, v: similarity.representations(v, f.X), "representations", "model", "mlp"),
    ("representations inputs", lambda f, v: similarity.representations(f.model, v), "representations", "inputs", np.zeros((2, 64))),
    ("representations batch_size", lambda f, v: similarity.representations(f.model, f.X, batch_size=v),
     "representations", "batch_size", "100"),
    ("representations layer", lambda f, v: similarity.representations(f.model, f.X, layer=v), "representations", "layer", 1),
    ("model_cka model_b", lambda f, v: similarity.model_cka(f.model, v, f.X), "model_cka", "model_b", "mlp"),
    ("model_cka inputs", lambda f, v: similarity.model_cka(f.model, f.other, v), "model_cka", "inputs", np.zeros((4, 64))),
    ("model_cka debiased", lambda f, v: similarity.model_cka(f.model, f.other, f.X, debiased=v), "model_cka", "debiased", 1),
    # lscape.metrics.distance
    ("l2_distance model_b", lambda f, v: distance.l2_distance(f.model, v), "l2_distance", "model_b", "mlp"),
    ("l2_distance include_buffers", lambda f, v: distance.l2_distance(f.model, f.other, v), "l2_distance", "include_buffers", "yes"),
    # lscape.vectorized
    ("train_many configs", lambda f, v: vectorized.train_many([f.model], f.X, f.y, v), "train_many", "configs", "sgd"),
    ("vectorizable model", lambda f, v: vectorized.vectorizable(v, f.config), "vectorizable", "model", "mlp"),
    ("vectorizable config", lambda f, v: vectorized.vectorizable(f.model, v), "vectorizable", "config", {"lr": 0.1}),
]


@pytest.mark.parametrize(("call", "func", "parameter", "value"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_bad_argument_rejected(fx, call, func, parameter, value):
    caller = func if " " in func else f"{func}()"  # a notebook is named in words, a function with ()
    expected_start = re.escape(f"The '{parameter}' parameter of {caller} must be ")
    with pytest.raises(ParameterError, match=expected_start) as raised:
        call(fx, value)
    message = str(raised.value)
    assert f"Got {shown(value)} instead." in message


def test_bad_input_cases_unique():
    ids = [case[0] for case in CASES]
    assert len(ids) == len(set(ids))


def test_config_key_unchanged_for_plain_data():
    # Stored records keep their keys: the digest of the same canonical JSON as before the check.
    config = {"width": 8, "lr": 0.05, "name": "grid", "t": (0.0, 0.5, 1.0), "train_size": None}
    text = json.dumps({"format": store.FORMAT_VERSION, "config": config}, sort_keys=True, default=str)
    assert store.config_key(config) == hashlib.sha256(text.encode()).hexdigest()[:16]


def test_yaml_exponent_list_parsed_as_floats():
    spec = notebook.grid_spec("fig5_weight_decay", widths="[2, 4]", weight_decays="[5e-4, 5e-3]")
    assert spec.temperature_values == (5e-4, 5e-3)


def test_yaml_exponent_strings_become_floats():
    """PyYAML reads ``lr: 5e-4`` as a string; configs store it as the float it means."""
    import yaml

    from lscape.config import RunConfig

    config = train.TrainConfig(lr=yaml.safe_load("lr: 5e-4")["lr"])
    assert config.lr == 5e-4
    assert isinstance(config.lr, float)
    assert isinstance(RunConfig(weight_decay="1e-3").weight_decay, float)
    with pytest.raises(ParameterError, match=re.escape("The 'lr' parameter of TrainConfig() must be a real number")):
        train.TrainConfig(lr="0.05")  # a plain numeric string is a mistake, not YAML's exponent notation


def test_read_parallel_text_keeps_file_descriptors(fx):
    # An int path would be opened (and closed) as a file descriptor by open().
    read_end, write_end = os.pipe()
    try:
        with pytest.raises(ParameterError, match="'source_path'"):
            translation.read_parallel_text(read_end, fx.source)
        os.fstat(read_end)  # raises OSError if the descriptor was closed
    finally:
        os.close(read_end)
        os.close(write_end)


def test_eval_mode_accepts_module(fx):
    fx.model.train()
    with hessian.eval_mode(fx.model):
        assert not fx.model.training
    assert fx.model.training


def test_atomic_write_bytes_accepts_str_path(tmp_path):
    target = tmp_path / "record.json"
    store.atomic_write_bytes(str(target), b"{}")
    assert Path(target).read_bytes() == b"{}"


def test_long_values_cut_in_messages():
    """A model or tensor passed by mistake is named by type, not printed whole."""
    import torch

    from lscape.metrics.distance import l2_distance
    from lscape.models import build

    with pytest.raises(ParameterError) as error:
        l2_distance(build("mlp", 4, 10, (64,)), torch.zeros(1000, 1000))
    message = str(error.value)
    assert len(message) < 400
    assert "(a torch.Tensor)" in message
