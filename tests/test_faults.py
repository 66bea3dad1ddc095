"""Faults: SIGKILL at any moment, two writers on one store, foreign store formats, devices, executors.

The kill tests run real grids in child processes and kill them (and their
workers) with SIGKILL when the store reaches a given point. The grid is
then finished and compared with an uninterrupted run of the same seeds.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from lscape.grid import GridSpec, run_grid
from lscape.store import FORMAT_VERSION, Store, StoreFormatError, config_key
from lscape.tasks import resolve_device
from lscape.validation import ParameterError

TESTS = Path(__file__).parent
METRICS = ("test_accuracy", "train_loss", "hessian_eigenvalue", "hessian_trace", "cka", "l2_distance", "mc")


def _child(root: Path, workers: int = 1, extra: str = "") -> subprocess.Popen:
    """Start ``run_grid`` on test_grid's small spec in a new process group."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(TESTS)!r})
        from test_grid import _spec
        from lscape.grid import run_grid
        run_grid(_spec(), results_dir={str(root)!r}, workers={workers}, progress=False{extra})
    """)
    return subprocess.Popen([sys.executable, "-c", script], start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _count(root: Path, kind: str) -> int:
    return len(list((root / kind).glob("*.json"))) if (root / kind).exists() else 0


def _kill_when(process: subprocess.Popen, root: Path, kind: str, count: int, timeout: float = 300) -> bool:
    """SIGKILL the child's whole process group once ``count`` records of ``kind`` exist; True if it was still running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        if _count(root, kind) >= count:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGKILL)
    pytest.fail(f"the grid did not reach {count} {kind} records in {timeout} s")


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted grid."""
    from test_grid import _spec

    return run_grid(_spec(), results_dir=tmp_path_factory.mktemp("reference"), workers=1, progress=False)


def test_sigkill_at_several_points_then_resume(tmp_path, reference):
    from test_grid import _spec

    # (record kind, count at which the kill lands, worker processes): inside training, between runs,
    # inside the Hessian stage, among the pairs, inside curve fitting.
    points = [("models", 1, 1), ("training", 3, 2), ("hessian", 5, 1), ("cka", 1, 1), ("curve", 2, 2)]
    kills = 0
    for kind, count, workers in points:
        if kind == "models":
            process = _child(tmp_path, workers)
            deadline = time.monotonic() + 300
            while not list((tmp_path / "models").glob("*.pt")) and process.poll() is None:
                assert time.monotonic() < deadline
                time.sleep(0.005)
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                kills += 1
            continue
        kills += _kill_when(_child(tmp_path, workers), tmp_path, kind, count)
    assert kills >= 4, "the grid finished before most kill points; the test no longer exercises resume"
    assert _count(tmp_path, "curve") < 4  # the grid was not finished by the killed runs

    resumed = run_grid(_spec(), results_dir=tmp_path, workers=1, progress=False)
    for name in METRICS:
        np.testing.assert_array_equal(resumed[name].values, reference[name].values, err_msg=name)
    # Every finished record is whole JSON; temporary files of killed writes are never read.
    for path in tmp_path.rglob("*.json"):
        json.loads(path.read_text())


def test_two_writers_on_one_store(tmp_path, reference):
    """Two grids writing the same records at once both finish, and the store holds the same numbers."""
    from test_grid import _spec

    first, second = _child(tmp_path), _child(tmp_path, workers=2)
    for process in (first, second):
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr[-2000:]
    again = run_grid(_spec(), results_dir=tmp_path, workers=1, progress=False)
    for name in METRICS:
        np.testing.assert_array_equal(again[name].values, reference[name].values, err_msg=name)


def test_dask_local_cluster_two_workers(tmp_path, reference):
    pytest.importorskip("distributed")
    from test_grid import _spec

    results = run_grid(_spec(), results_dir=tmp_path, executor="dask", workers=2, progress=False)
    assert results.attrs["executor"] == "dask"
    for name in METRICS:
        np.testing.assert_array_equal(results[name].values, reference[name].values, err_msg=name)


def test_dask_scheduler_address(tmp_path, reference):
    distributed = pytest.importorskip("distributed")
    from test_grid import _spec

    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        results = run_grid(_spec(), results_dir=tmp_path, executor=cluster.scheduler_address, progress=False)
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1")
    np.testing.assert_array_equal(results["test_accuracy"].values, reference["test_accuracy"].values)


def test_vectorised_seeds_match_separate_runs(tmp_path, reference):
    from test_grid import _spec

    results = run_grid(_spec(), results_dir=tmp_path, workers=1, progress=False, vectorize_seeds=True)
    assert results.attrs["vectorize_seeds"] == 1
    record = Store(tmp_path).read_json("training", config_key(_spec().config(64, 4, 0).key_dict()))
    assert record["vectorized_seeds"] == [0, 1]
    for name in ("test_accuracy", "train_loss"):
        np.testing.assert_allclose(results[name].values, reference[name].values, rtol=2e-2, atol=0.5, err_msg=name)


def test_provenance_fields(tmp_path):
    """Every record says which lscape, torch, Python and device computed it, and how long it took."""
    from test_grid import _spec
    from lscape import __version__

    spec = _spec(load_values=(4,), temperature_values=(64,))
    run_grid(spec, results_dir=tmp_path, workers=1, progress=False)
    for kind in ("training", "evaluation", "hessian", "l2", "cka", "curve"):
        paths = list((tmp_path / kind).glob("*.json"))
        assert paths, kind  # every kind of record was written
        for path in paths:
            record = json.loads(path.read_text())
            info = record["provenance"]
            assert info["lscape"] == __version__, kind
            assert info["torch"] == torch.__version__, kind
            assert info["python"].count(".") == 2, kind
            assert info["device"] == "cpu", kind
            assert info["wall_seconds"] >= 0, kind
            assert record["lscape_format"] == FORMAT_VERSION
    training = json.loads(next((tmp_path / "training").glob("*.json")).read_text())
    assert training["config"]["seed"] in (0, 1)
    assert "data_seed" in training["config"]


def test_newer_store_format_refused(tmp_path):
    from test_grid import _spec

    spec = _spec(load_values=(4,), temperature_values=(64,))
    run_grid(spec, results_dir=tmp_path, workers=1, progress=False)
    path = next((tmp_path / "training").glob("*.json"))
    record = json.loads(path.read_text())
    record["lscape_format"] = FORMAT_VERSION + 1
    path.write_text(json.dumps(record))
    with pytest.raises(StoreFormatError, match=rf"format {FORMAT_VERSION + 1}.*reads format {FORMAT_VERSION} only"):
        run_grid(spec, results_dir=tmp_path, workers=1, progress=False)

    checkpoint = next((tmp_path / "models").glob("*.pt"))
    torch.save({"lscape_format": "x", "state_dict": {}}, checkpoint)
    with pytest.raises(StoreFormatError, match=r"format 'x'"):
        Store(tmp_path).read_checkpoint("models", checkpoint.stem)


def test_checkpoints_load_weights_only(tmp_path):
    """A checkpoint that would run code when unpickled is refused by torch.load(weights_only=True)."""

    class Payload:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "ran"),))

    (tmp_path / "models").mkdir()
    torch.save({"x": Payload()}, tmp_path / "models" / "abc.pt")
    with pytest.raises(Exception, match="[Ww]eights only"):
        Store(tmp_path).read_checkpoint("models", "abc")
    assert not (tmp_path / "ran").exists()


@pytest.mark.parametrize(
    "options, pattern",
    [
        ({"executor": "slurm"}, r"'executor' parameter of run_grid\(\) must be None, 'local', 'dask', a Dask scheduler address.*Got 'slurm'"),
        ({"executor": 3}, r"'executor' .* Got 3"),
        ({"device": "gpu"}, r"'device' parameter of run_grid\(\) must be 'cpu', 'cuda'.*Got 'gpu'"),
        ({"device": 0}, r"'device' .* Got 0"),
        ({"workers": 0}, r"'workers' .* \[1, inf\)\. Got 0"),
        ({"workers": "2"}, r"'workers' .* Got '2'"),
        ({"results_dir": 5}, r"'results_dir' .* path .* Got 5"),
        ({"vectorize_seeds": "yes"}, r"'vectorize_seeds' .* bool"),
        ({"progress": None}, r"'progress' .* bool"),
    ],
)
def test_bad_run_grid_arguments(tmp_path, options, pattern):
    from test_grid import _spec

    options = {"results_dir": tmp_path / "store", "progress": False, **options}
    with pytest.raises(ParameterError, match=pattern):
        run_grid(_spec(), **options)
    assert not (tmp_path / "store").exists()


def test_spec_must_be_a_gridspec(tmp_path):
    with pytest.raises(ParameterError, match=r"'spec' parameter of run_grid\(\) must be a GridSpec"):
        run_grid({"load": "width"}, results_dir=tmp_path)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_missing_gpu_named_before_training(tmp_path):
    from test_grid import _spec

    with pytest.raises(ParameterError, match=r"'device' .* Got 'cuda'.*torch.cuda.is_available\(\) is False"):
        run_grid(_spec(), results_dir=tmp_path / "store", device="cuda", progress=False)
    assert not (tmp_path / "store").exists()
    assert resolve_device("auto") == "cpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_gpu_matches_cpu(tmp_path, reference):
    from test_grid import _spec

    results = run_grid(_spec(), results_dir=tmp_path, device="cuda", workers=1, progress=False)
    for name in ("test_accuracy", "train_loss"):
        np.testing.assert_allclose(results[name].values, reference[name].values, rtol=2e-2, atol=1.0, err_msg=name)


def test_store_files_follow_umask(tmp_path):
    """Records are readable by whoever the umask admits, so a shared store works for a group."""
    from test_grid import _spec

    previous = os.umask(0o022)
    try:
        run_grid(_spec(load_values=(4,), temperature_values=(64,)), results_dir=tmp_path, workers=1, progress=False)
    finally:
        os.umask(previous)
    modes = {path.stat().st_mode & 0o777 for path in tmp_path.rglob("*") if path.is_file()}
    assert modes == {0o644}


def test_damaged_records_name_their_file(tmp_path):
    from test_grid import _spec

    spec = _spec(load_values=(4,), temperature_values=(64,))
    run_grid(spec, results_dir=tmp_path, workers=1, progress=False)
    record = next((tmp_path / "hessian").glob("*.json"))
    record.write_text(record.read_text()[:40])
    with pytest.raises(StoreFormatError, match=rf"{record.name} is damaged.*Delete it"):
        run_grid(spec, results_dir=tmp_path, workers=1, progress=False)
    record.unlink()
    checkpoint = next((tmp_path / "models").glob("*.pt"))
    checkpoint.write_bytes(b"")
    with pytest.raises(StoreFormatError, match=rf"{checkpoint.name} is damaged"):
        Store(tmp_path).read_checkpoint("models", checkpoint.stem)


def test_records_describe_themselves(tmp_path):
    """Each record names the runs and the metric settings it was measured with."""
    from test_grid import _spec

    spec = _spec(load_values=(4,), temperature_values=(64,))
    run_grid(spec, results_dir=tmp_path, workers=1, progress=False)
    for kind in ("training", "evaluation", "hessian"):
        record = json.loads(next((tmp_path / kind).glob("*.json")).read_text())
        assert record["config"]["optimizer"] == "sgd", kind  # defaults included
        assert record["config"]["seed"] in (0, 1), kind
    assert json.loads(next((tmp_path / "hessian").glob("*.json")).read_text())["settings"]["hessian_max_iter"] == 5
    for kind, setting in (("cka", "cka_samples"), ("curve", "curve_epochs"), ("l2", None)):
        record = json.loads(next((tmp_path / kind).glob("*.json")).read_text())
        assert (record["pair"]["a"]["seed"], record["pair"]["b"]["seed"]) == (0, 1), kind
        if setting:
            assert setting in record["settings"], kind


def test_unreachable_scheduler_named(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    import lscape.grid as grid_module
    from test_grid import _spec

    monkeypatch.setattr(grid_module, "SCHEDULER_TIMEOUT", 2)
    with pytest.raises(ConnectionError, match=r"executor='tcp://127.0.0.1:1'.*Nothing was computed"):
        run_grid(_spec(), results_dir=tmp_path, executor="tcp://127.0.0.1:1", progress=False)
    assert not any((tmp_path / kind).exists() for kind in ("training", "models"))


def test_vectorise_fallback_warns(tmp_path, monkeypatch):
    import lscape.grid as grid_module
    from lscape.config import RunConfig
    from test_grid import _spec

    monkeypatch.setattr(grid_module, "cell_task", lambda *a, **k: None)
    monkeypatch.setattr(grid_module, "run_task", lambda *a, **k: None)
    monkeypatch.setattr(grid_module, "pair_task", lambda *a, **k: None)
    spec = _spec(base=RunConfig(dataset="mnist1d", model="resnet18_1d", max_epochs=1), load_values=(2,),
                 temperature_values=(64,))
    with pytest.warns(UserWarning, match=r"seeds of 'resnet18_1d' are trained one after the other.*BatchNorm"):
        results = run_grid(spec, results_dir=tmp_path, workers=1, progress=False, vectorize_seeds=True)
    assert results.attrs["vectorize_seeds"] == 0


def test_unconverged_hessian_warned_once_per_grid(tmp_path):
    import warnings

    from lscape.config import MetricSettings
    from lscape.metrics.hessian import HessianConvergenceWarning
    from test_grid import _spec

    spec = _spec(metrics=MetricSettings(curve_pairs=0, cka_samples=32, hessian_max_iter=2, hessian_samples=50))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = run_grid(spec, results_dir=tmp_path, workers=1, progress=False)
    hessian = [w for w in caught if issubclass(w.category, HessianConvergenceWarning)]
    assert len(hessian) == 1
    assert "8 of 8 runs" in str(hessian[0].message)
    assert (results["hessian_converged"] == 0).all()


def test_spec_parts_checked(tmp_path):
    from test_grid import _spec

    with pytest.raises(ParameterError, match=r"'base' parameter of GridSpec\(\) must be a RunConfig"):
        _spec(base={"model": "mlp"})
    with pytest.raises(ParameterError, match=r"'metrics' parameter of GridSpec\(\) must be a MetricSettings"):
        _spec(metrics={"curve_epochs": 1})
    with pytest.raises(ParameterError, match=r"'seeds' .* at least 2 seeds.*compare pairs of seeds"):
        _spec(seeds=(0,))
    assert _spec(load_values=np.array([4, 8])).load_values == (4, 8)
