# lscape: set up, build the book, run the tests.
# `make book` and `make test` each create .venv (Python 3.11) with lscape and
# its extras on first use, so both work on a fresh machine.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.lscape-installed
# Figure notebooks in figure order (fig2 first among those that share its
# models), then the others; the results store makes the order a matter of
# speed only, never of results.
NOTEBOOKS := $(shell ls notebooks/fig*.ipynb | sort -V) $(filter-out notebooks/fig%,$(sort $(wildcard notebooks/*.ipynb)))
EXECUTED := book/executed

.PHONY: setup book notebooks test test-fast sync clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)" > /dev/null
	touch $(STAMP)

# Execute every figure notebook at its default parameters (results come from
# the shared store when they exist), then render the book from those outputs.
notebooks: $(STAMP)
	mkdir -p $(EXECUTED)
	for notebook in $(NOTEBOOKS); do \
		$(BIN)/papermill --cwd notebooks "$$notebook" "$(EXECUTED)/$$(basename $$notebook)" || exit 1; \
	done

book: notebooks
	$(BIN)/jupyter-book build . --config _config.yml --toc book/_toc.yml --warningiserror --keep-going
	@echo "Book: $(CURDIR)/_build/html/index.html"

# The whole test suite: unit tests, the notebooks under nbval at the CI
# preset, and the book build.
test: $(STAMP)
	results=$$(mktemp -d) && LSCAPE_PRESET=ci LSCAPE_RESULTS_DIR=$$results \
		$(BIN)/python -m pytest tests --nbval-lax --nbval-current-env $(NOTEBOOKS) -p no:cacheprovider; \
		status=$$?; rm -rf $$results; exit $$status

# Unit tests only (no notebooks, no book).
test-fast: $(STAMP)
	$(BIN)/python -m pytest tests -m "not slow and not book and not browser"

# Rewrite each notebook's .ipynb from its Jupytext .py source.
sync: $(STAMP)
	$(BIN)/jupytext --sync notebooks/*.py

clean:
	rm -rf _build $(EXECUTED)
