"""Every notebook's .ipynb matches its Jupytext .py source and carries no outputs."""

from pathlib import Path

import jupytext
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SOURCES = sorted(NOTEBOOKS.glob("*.py"))


def test_every_source_has_a_notebook():
    assert SOURCES, "no notebook sources found"
    for source in SOURCES:
        assert source.with_suffix(".ipynb").exists(), source.name


@pytest.mark.parametrize("source", SOURCES, ids=[s.stem for s in SOURCES])
def test_inputs_in_sync(source):
    from_text = jupytext.read(source)
    from_ipynb = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    assert [c.cell_type for c in from_text.cells] == [c.cell_type for c in from_ipynb.cells]
    for text_cell, ipynb_cell in zip(from_text.cells, from_ipynb.cells):
        assert text_cell.source == ipynb_cell.source


@pytest.mark.parametrize("source", SOURCES, ids=[s.stem for s in SOURCES])
def test_no_outputs_committed(source):
    notebook = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], "run `make sync` and clear outputs"
            assert cell.execution_count is None


@pytest.mark.parametrize("source", SOURCES, ids=[s.stem for s in SOURCES])
def test_one_parameters_cell(source):
    notebook = jupytext.read(source)
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for line in tagged[0].source.splitlines():
        if line.strip():
            assert "#" in line, f"parameter line without a comment: {line}"
