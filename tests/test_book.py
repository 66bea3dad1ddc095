"""The book builds from notebooks executed with papermill at the CI preset, with warnings as errors.

Set ``LSCAPE_BOOK_HTML`` to the ``_build/html`` folder of a book built
already (for example by ``make book``) to check that book instead of
building one.
"""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
FIGURE2 = Path("book") / "executed" / "fig2_standard.html"
# Scripts the pages must load from the book's own _static folder.
VENDORED = (
    "_static/vendor/requirejs-2.3.8/require.js",
    "_static/vendor/html-manager-1.0.15/embed-amd.js",
    "_static/vendor/mathjax-3.2.2/es5/tex-chtml.js",
)
_BUILT: dict = {}


def build_book(root: Path) -> Path:
    """Copy the book sources to ``root``, execute the notebooks of the toc at the CI preset, build the HTML."""
    shutil.copy(ROOT / "_config.yml", root / "_config.yml")
    shutil.copytree(ROOT / "book", root / "book", ignore=shutil.ignore_patterns("executed", "_build"))
    shutil.copytree(ROOT / "docs", root / "docs", ignore=shutil.ignore_patterns("screenshots"))
    executed = root / "book" / "executed"
    executed.mkdir()
    environment = {**os.environ, "LSCAPE_PRESET": "ci"}
    for name in toc_notebooks():
        notebook = ROOT / "notebooks" / f"{name}.ipynb"
        assert notebook.exists(), f"book/_toc.yml lists book/executed/{name}, but {notebook} does not exist"
        completed = subprocess.run(
            [str(BIN / "papermill"), "--cwd", str(ROOT / "notebooks"), str(notebook), str(executed / notebook.name)],
            env=environment, capture_output=True, text=True,
        )
        assert completed.returncode == 0, f"papermill failed on {notebook.name}:\n{completed.stderr[-3000:]}"
    completed = subprocess.run(
        [str(BIN / "jupyter-book"), "build", str(root), "--config", str(root / "_config.yml"),
         "--toc", str(root / "book" / "_toc.yml"), "--warningiserror", "--keep-going"],
        env=environment, capture_output=True, text=True,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return root / "_build" / "html"


def book_html(tmp_path_factory) -> Path:
    """Return the HTML folder of the book, building it once per test session.

    The browser tests share this build with the tests below. A failed build
    is not retried: every later test gets the same error.
    """
    if "error" in _BUILT:
        raise _BUILT["error"]
    if "html" not in _BUILT:
        prebuilt = os.environ.get("LSCAPE_BOOK_HTML")
        try:
            _BUILT["html"] = Path(prebuilt) if prebuilt else build_book(tmp_path_factory.mktemp("book"))
        except AssertionError as error:
            _BUILT["error"] = error
            raise
    return _BUILT["html"]


def toc_files(entries) -> list[str]:
    """Return every file named in a list of toc parts, chapters or sections, depth first."""
    files = []
    for entry in entries:
        if "file" in entry:
            files.append(entry["file"])
        for key in ("parts", "chapters", "sections"):
            files += toc_files(entry.get(key, []))
    return files


def toc_pages() -> list[str]:
    toc = yaml.safe_load((ROOT / "book" / "_toc.yml").read_text())
    return [toc["root"]] + toc_files([toc])


def toc_notebooks() -> list[str]:
    """Return the names of the notebooks that the toc renders from book/executed/."""
    prefix = "book/executed/"
    return [name.removeprefix(prefix) for name in toc_pages() if name.startswith(prefix)]


def widget_state(page: str) -> dict:
    match = re.search(r'<script type="application/vnd.jupyter.widget-state\+json">(.*?)</script>', page, re.S)
    assert match, "the page embeds no widget state"
    return json.loads(match.group(1))["state"]


@pytest.fixture(scope="module")
def built_book(tmp_path_factory):
    return book_html(tmp_path_factory)


@pytest.mark.book
def test_index_exists(built_book):
    assert (built_book / "index.html").exists()


@pytest.mark.book
def test_every_toc_page_rendered(built_book):
    for name in toc_pages():
        page = built_book / f"{name}.html"
        assert page.exists(), name
        assert "Traceback" not in page.read_text(), name


@pytest.mark.book
def test_toc_lists_every_notebook():
    listed = set(toc_notebooks())
    notebooks = {notebook.stem for notebook in (ROOT / "notebooks").glob("*.ipynb")}
    assert sorted(notebooks - listed) == [], "notebooks without a book/executed/<name> entry in book/_toc.yml"


@pytest.mark.book
def test_figure2_page_has_panel_images(built_book):
    page = (built_book / FIGURE2).read_text()
    assert "Figure 2" in page
    assert page.count("<img") >= 2  # the panels and the curve profiles


@pytest.mark.book
def test_figure2_page_embeds_slider_state(built_book):
    state = widget_state((built_book / FIGURE2).read_text())
    models = [model["model_name"] for model in state.values()]
    assert models.count("SelectionSliderModel") == 2
    assert "StackModel" in models
    assert "LinkModel" in models
    images = [model for model in state.values() if model["model_name"] == "ImageModel"]
    assert images and all(model["buffers"][0]["data"].startswith("iVBORw0KGgo") for model in images)


@pytest.mark.book
def test_pages_load_only_local_files(built_book):
    remote = re.compile(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="((?:https?:)?//[^"]*)"')
    for name in toc_pages():
        page = (built_book / f"{name}.html").read_text()
        assert remote.findall(page) == [], name


@pytest.mark.book
def test_figure2_loads_vendored_scripts(built_book):
    page = (built_book / FIGURE2).read_text()
    for path in VENDORED:
        assert (built_book / path).is_file(), path
        assert f'src="../../{path}' in page, path


@pytest.mark.book
def test_api_reference_documents_every_module(built_book):
    page = (built_book / "book" / "api.html").read_text()
    for name in ("lscape.config.RunConfig", "lscape.data.load_dataset", "lscape.models.build", "lscape.train.train",
                 "lscape.metrics.hessian.hessian_trace", "lscape.metrics.connectivity.mode_connectivity",
                 "lscape.metrics.similarity.cka", "lscape.metrics.distance.l2_distance", "lscape.grid.run_grid",
                 "lscape.store.Store", "lscape.phases.classify", "lscape.plots.plot_panels",
                 "lscape.notebook.grid_spec", "lscape.diagnose.diagnose", "lscape.widgets.slice_explorer"):
        assert f'id="{name}"' in page, name


@pytest.mark.book
def test_benchmarks_page_renders_csv(built_book):
    page = (built_book / "book" / "benchmarks.html").read_text()
    with open(ROOT / "docs" / "mc_budget.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    table = page[page.index("<table"):page.index("</table>")]
    assert table.count("<tr") == len(rows) + 1  # the header and every row
    assert "curve_epochs" in table
    assert f"<p>{rows[-1]['mc']}</p>" in table
