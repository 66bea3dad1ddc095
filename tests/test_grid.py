"""Tests for grid execution and the results store: resume, atomic files, determinism."""

import json
import os

import numpy as np
import pytest
import xarray as xr

import lscape.grid as grid_module
from lscape import __version__
from lscape.config import MetricSettings, RunConfig
from lscape.grid import GridSpec, assemble, cell_means, load_netcdf, run_grid
from lscape.store import Store, atomic_write_bytes, config_key
from lscape.validation import ParameterError

FAST_METRICS = MetricSettings(curve_epochs=1, cka_samples=32, hessian_max_iter=5, hessian_samples=50)


def _spec(**changes):
    options = dict(
        load="width", load_values=(4, 8), temperature="batch_size", temperature_values=(64, 256),
        seeds=(0, 1), base=RunConfig(dataset="digits", model="mlp", max_epochs=2),
        metrics=FAST_METRICS, name="test",
    )
    options.update(changes)
    return GridSpec(**options)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    root = tmp_path_factory.mktemp("store")
    return root, run_grid(_spec(), results_dir=root, workers=1, progress=False)


def test_dims_named_after_knobs(finished):
    _, results = finished
    assert results["test_accuracy"].dims == ("batch_size", "width", "seed")
    assert results["cka"].dims == ("batch_size", "width", "pair")
    assert results["curve_error"].dims == ("batch_size", "width", "pair", "t")
    assert list(results["pair"].values) == ["0-1"]
    assert list(results["width"].values) == [4, 8]


def test_every_metric_finite(finished):
    _, results = finished
    for name in ("test_accuracy", "train_loss", "hessian_eigenvalue", "hessian_trace", "mc", "cka", "l2_distance"):
        assert np.isfinite(results[name].values).all(), name
    assert ((results["cka"] >= 0) & (results["cka"] <= 1)).all()


def test_netcdf_written_with_settings(finished):
    root, results = finished
    files = list((root / "grids").glob("test-*.nc"))
    assert len(files) == 1
    reloaded = load_netcdf(files[0])
    assert reloaded.attrs["lscape_version"] == __version__
    settings = json.loads(reloaded.attrs["settings"])
    assert settings["base"]["dataset"] == "digits"
    xr.testing.assert_allclose(reloaded["cka"], results["cka"])


def test_rerun_trains_nothing(finished, monkeypatch):
    root, results = finished
    calls = []
    monkeypatch.setattr(grid_module, "run_task", lambda *a, **k: calls.append(a))
    monkeypatch.setattr(grid_module, "pair_task", lambda *a, **k: calls.append(a))
    again = run_grid(_spec(), results_dir=root, workers=2, progress=False)
    assert calls == []
    xr.testing.assert_equal(again.drop_attrs(), results.drop_attrs())


def test_interrupted_grid_resumes(tmp_path, monkeypatch):
    trained = []
    real_train = grid_module.run_task

    def counting(root, config, metrics, device="cpu"):
        trained.append((config["batch_size"], config["width"], config["seed"]))
        if len(trained) == 3:
            raise KeyboardInterrupt
        return real_train(root, config, metrics, device)

    monkeypatch.setattr(grid_module, "run_task", counting)
    with pytest.raises(KeyboardInterrupt):
        run_grid(_spec(), results_dir=tmp_path, workers=1, progress=False)
    assert len(list((tmp_path / "training").glob("*.json"))) == 2

    trained.clear()
    monkeypatch.setattr(grid_module, "run_task", lambda *a, **k: (trained.append(a[1]["seed"]), real_train(*a, **k)))
    results = run_grid(_spec(), results_dir=tmp_path, workers=1, progress=False)
    assert len(trained) == 6  # 8 runs in the grid, 2 finished before the interruption
    assert np.isfinite(results["test_accuracy"].values).all()


def test_partial_files_never_count(tmp_path):
    spec = _spec()
    store = Store(tmp_path)
    config = spec.config(64, 4, 0).key_dict()
    key = config_key(config)
    (tmp_path / "training").mkdir(parents=True)
    (tmp_path / "training" / f".{key}.json.abc.tmp").write_text('{"epochs": 1')
    results = assemble(spec, store)
    assert np.isnan(results["test_accuracy"].values).all()


def test_atomic_write_leaves_nothing_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "record.json"

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"{}")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_checkpoint_without_record_is_retrained(tmp_path):
    spec = _spec(load_values=(4,), temperature_values=(64,))
    run_grid(spec, results_dir=tmp_path, workers=1, progress=False)
    training = sorted((tmp_path / "training").glob("*.json"))
    os.remove(training[0])  # as if interrupted between checkpoint and record
    results = run_grid(spec, results_dir=tmp_path, workers=1, progress=False)
    assert np.isfinite(results["train_loss"].values).all()


def test_same_seed_same_numbers(tmp_path, finished):
    _, results = finished
    again = run_grid(_spec(), results_dir=tmp_path, workers=2, progress=False)
    for name in ("test_accuracy", "train_loss", "hessian_eigenvalue", "hessian_trace", "cka", "l2_distance", "mc"):
        np.testing.assert_array_equal(again[name].values, results[name].values, err_msg=name)


def test_metric_change_reuses_models(finished, monkeypatch):
    root, _ = finished
    spec = _spec(metrics=MetricSettings(curve_epochs=1, cka_samples=48, hessian_max_iter=5, hessian_samples=50))
    import lscape.tasks as tasks

    monkeypatch.setattr(tasks, "train", lambda *a, **k: pytest.fail("a stored model was trained again"))
    results = run_grid(spec, results_dir=root, workers=1, progress=False)
    assert np.isfinite(results["cka"].values).all()


def test_dask_executor(tmp_path, finished):
    distributed = pytest.importorskip("distributed")
    _, results = finished
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None) as client:
        again = run_grid(_spec(), results_dir=tmp_path, executor=client.get_executor(), progress=False)
    np.testing.assert_allclose(again["test_accuracy"].values, results["test_accuracy"].values)


def test_diverged_runs_are_nc_not_errors(tmp_path):
    spec = _spec(base=RunConfig(dataset="digits", model="mlp", max_epochs=3, lr=1e4), load_values=(4,),
                 temperature_values=(64,))
    results = run_grid(spec, results_dir=tmp_path, workers=1, progress=False)
    assert results["diverged"].values.all()
    assert np.isnan(results["test_accuracy"].values).all()
    assert cell_means(results)["diverged"].item() == 1


def test_batch_size_larger_than_data_rejected_before_training(tmp_path):
    spec = _spec(temperature_values=(64, 5000))
    with pytest.raises(ParameterError, match=r"'batch_size' values of GridSpec\(\) must be ints in \[1, 1437\].*Got 5000"):
        run_grid(spec, results_dir=tmp_path, workers=1, progress=False)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    "changes, pattern",
    [
        ({"load": "depth"}, r"'load' parameter of GridSpec\(\) must be one of"),
        ({"load_values": (4, -1)}, r"'load_values\[1\]' .* \[1, inf\)\. Got -1"),
        ({"seeds": (0,)}, r"'seeds' .* at least 2"),
        ({"temperature_values": "[16, x]"}, r"'temperature_values\[1\]'"),
        ({"temperature_values": "16 32"}, r"YAML list"),
    ],
)
def test_bad_spec_messages(changes, pattern):
    with pytest.raises(ParameterError, match=pattern):
        _spec(**changes)


def test_new_fields_at_defaults_keep_old_keys():
    config = RunConfig(dataset="digits", model="mlp")
    old_fields = {
        "dataset", "model", "width", "train_size", "label_noise", "data_seed", "batch_size", "lr", "momentum",
        "weight_decay", "max_epochs", "min_steps", "stop_tol", "stop_patience", "lr_schedule", "lr_decay_at",
        "lr_decay_factor", "warmup_steps", "seed",
    }
    assert set(config.key_dict()) == old_fields
    assert config_key(config.with_values(data_dir="/somewhere").key_dict()) == config_key(config.key_dict())
    assert config_key(config.with_values(input_noise=0.5).key_dict()) != config_key(config.key_dict())


def test_linear_scaling_rule():
    config = RunConfig(dataset="digits", model="mlp", lr=0.05, lr_scaling="linear")
    assert config.with_values(batch_size=128).train_config().lr == pytest.approx(0.05)
    assert config.with_values(batch_size=512).train_config().lr == pytest.approx(0.2)
    assert config.with_values(batch_size=16).train_config().lr == pytest.approx(0.00625)
    assert RunConfig(batch_size=512).train_config().lr == pytest.approx(0.05)


def test_large_batch_message_names_training_set_size(tmp_path):
    spec = _spec(base=RunConfig(dataset="mnist1d", model="cnn1d", max_epochs=1), temperature_values=(1024, 8192))
    with pytest.raises(ParameterError, match=r"must be ints in \[1, 4000\] \(the number of training examples of 'mnist1d'.*Got 8192"):
        run_grid(spec, results_dir=tmp_path, workers=1, progress=False)
    assert not any(tmp_path.iterdir())


def test_full_batch_accepted(tmp_path):
    spec = _spec(load_values=(4,), temperature_values=(1437,), metrics=MetricSettings(curve_pairs=0, cka_samples=32,
                 hessian_max_iter=3, hessian_samples=20))
    results = run_grid(spec, results_dir=tmp_path, workers=1, progress=False)
    assert results["steps"].values.ravel().tolist() == [2.0, 2.0]  # one step per epoch


def test_record_test_keeps_best_over_epochs(tmp_path):
    base = RunConfig(dataset="digits", model="mlp", max_epochs=4, record_test=True)
    spec = _spec(base=base, load_values=(8,), temperature_values=(64,),
                 metrics=MetricSettings(curve_pairs=0, cka_samples=32, hessian_max_iter=3, hessian_samples=20))
    results = run_grid(spec, results_dir=tmp_path, workers=1, progress=False)
    store = Store(tmp_path)
    record = store.read_json("training", config_key(spec.config(64, 8, 0).key_dict()))
    assert len(record["test_accuracy_curve"]) == 4
    assert results["best_test_accuracy"].values[0, 0, 0] == pytest.approx(max(record["test_accuracy_curve"]))
    assert (results["best_test_accuracy"] >= results["test_accuracy"] - 1e-9).all()
    assert (results["best_test_loss"] <= results["test_loss"] + 1e-9).all()


def test_best_test_nan_without_record_test(finished):
    _, results = finished
    assert np.isnan(results["best_test_accuracy"].values).all()


def test_input_noise_as_load(tmp_path):
    spec = _spec(load="input_noise", load_values=(0.0, 2.0), temperature_values=(64,),
                 base=RunConfig(dataset="digits", model="mlp", width=8, max_epochs=2),
                 metrics=MetricSettings(curve_pairs=0, cka_samples=32, hessian_max_iter=3, hessian_samples=20))
    results = run_grid(spec, results_dir=tmp_path, workers=1, progress=False)
    assert results["train_loss"].dims == ("batch_size", "input_noise", "seed")
    assert np.isfinite(results["test_accuracy"].values).all()
    assert not np.allclose(results["train_loss"].sel(input_noise=0.0), results["train_loss"].sel(input_noise=2.0))


def test_local_data_missing_rejected_before_training(tmp_path):
    spec = _spec(base=RunConfig(dataset="svhn", model="cnn", data_dir=str(tmp_path / "data")))
    with pytest.raises(FileNotFoundError, match=r"train_32x32\.mat"):
        run_grid(spec, results_dir=tmp_path / "store", workers=1, progress=False)
    assert not (tmp_path / "store").exists()


def test_translation_grid_metrics_finite(tmp_path):
    base = RunConfig(dataset="synthetic_translation", model="transformer", train_size=64, optimizer="adam", lr=1e-3,
                     label_smoothing=0.1, weight_decay=0.0, warmup_steps=2, max_epochs=1, record_test=True)
    spec = _spec(base=base, load_values=(16,), temperature_values=(32,),
                 metrics=MetricSettings(curve_epochs=1, cka_samples=16, hessian_max_iter=2, hessian_samples=8))
    results = run_grid(spec, results_dir=tmp_path, workers=1, progress=False)
    for name in ("test_accuracy", "test_loss", "hessian_trace", "mc", "mc_loss", "cka", "best_test_loss"):
        assert np.isfinite(results[name].values).all(), name
    assert (results["curve_error"] <= 100).all()  # per-token error in percent, padding excluded
    assert (results["test_accuracy"] <= 100).all()


@pytest.mark.parametrize(
    "options, pattern",
    [
        ({"dataset": "synthetic_translation"}, r"'model' parameter of RunConfig\(\) must be 'transformer' for a translation"),
        ({"model": "transformer"}, r"'model' parameter of RunConfig\(\) must be 'transformer' for a translation .*'digits'"),
        ({"lr_scaling": "sqrt"}, r"'lr_scaling' .* one of \{'none', 'linear'\}"),
        ({"input_noise": -1.0}, r"'input_noise' .* \[0, inf\)\. Got -1\.0"),
        ({"data_dir": 3}, r"'data_dir' .* a str \(a folder path\) or None\. Got 3"),
    ],
)
def test_bad_run_config_messages(options, pattern):
    with pytest.raises(ParameterError, match=pattern):
        RunConfig(**{"dataset": "digits", "model": "mlp", **options})
