# The two commands: `make lab` and `make test`. Both set everything up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: lab test bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[lab,test]"
	touch $@

install: $(STAMP)

## make lab: JupyterLab on the notebooks, on a board if one is plugged in, else the emulator
lab: install
	$(VENV)/bin/jupyter lab notebooks/

# The browser tests drive Debian's Chromium (browsers cannot be downloaded by playwright).
/usr/bin/chromium:
	apt-get update && apt-get install -y chromium

## make test: every test, real parts (kernel, emulator, mpremote, JupyterLab in Chromium)
test: install /usr/bin/chromium
	$(PY) -m pytest $(PYTEST_ARGS)

## make bench: the figures (not a test)
bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .hypothesis
