"""Shared fixtures: an isolated cache and results folder for every test session."""

import os

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory):
    """Keep generated data and results of the test session out of the user's cache."""
    root = tmp_path_factory.mktemp("lscape-cache")
    previous = {name: os.environ.get(name) for name in ("LSCAPE_CACHE_DIR", "LSCAPE_RESULTS_DIR")}
    os.environ["LSCAPE_CACHE_DIR"] = str(root)
    os.environ["LSCAPE_RESULTS_DIR"] = str(root / "results")
    yield root
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(autouse=True)
def single_thread():
    """Run each test on one torch thread, as grid workers do, for repeatable numbers."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
