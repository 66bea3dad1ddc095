"""The book builds from notebooks executed with papermill at the CI preset, with warnings as errors."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    """Copy the book sources, execute every notebook into them, build the HTML."""
    root = tmp_path_factory.mktemp("book")
    shutil.copy(ROOT / "_config.yml", root / "_config.yml")
    shutil.copytree(ROOT / "book", root / "book", ignore=shutil.ignore_patterns("executed", "_build"))
    executed = root / "book" / "executed"
    executed.mkdir()
    environment = {**os.environ, "LSCAPE_PRESET": "ci"}
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        subprocess.run(
            [str(BIN / "papermill"), "--cwd", str(ROOT / "notebooks"), str(notebook), str(executed / notebook.name)],
            check=True, env=environment, capture_output=True,
        )
    completed = subprocess.run(
        [str(BIN / "jupyter-book"), "build", str(root), "--config", str(root / "_config.yml"),
         "--toc", str(root / "book" / "_toc.yml"), "--warningiserror", "--keep-going"],
        env=environment, capture_output=True, text=True,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return root / "_build" / "html"


@pytest.mark.book
def test_index_exists(built_book):
    assert (built_book / "index.html").exists()


@pytest.mark.book
def test_figure2_page_has_panel_images(built_book):
    page = (built_book / "book" / "executed" / "fig2_standard.html").read_text()
    assert "Figure 2" in page
    assert page.count("<img") >= 2  # the panels and the curve profiles
    assert "Traceback" not in page


@pytest.mark.book
def test_every_toc_page_rendered(built_book):
    import yaml

    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    files = [toc["root"]] + [entry["file"] for entry in toc.get("chapters", [])]
    for name in files:
        assert (built_book / f"{name}.html").exists(), name
