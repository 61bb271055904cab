# The two commands: `make lab` and `make test`. Both set everything up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# The lab extension is built by `pip install -e .` (jlpm, Node.js): rebuild when it changes.
LABEXTENSION := labextension/package.json labextension/yarn.lock $(wildcard labextension/src/*.ts labextension/style/*)

.PHONY: lab test bench install clean

# Node.js builds the lab extension (jlpm comes with the Python package jupyter_builder).
/usr/bin/node:
	apt-get update && apt-get install -y nodejs

$(STAMP): pyproject.toml $(LABEXTENSION) | /usr/bin/node
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[lab,test]"
	# The lab extension as `jupyter labextension develop` links it: `jlpm build` in labextension/ shows at once.
	rm -rf $(VENV)/share/jupyter/labextensions/esp32-kernel
	ln -s $(CURDIR)/esp32_kernel/labextension $(VENV)/share/jupyter/labextensions/esp32-kernel
	touch $@

install: $(STAMP)

## make lab: JupyterLab on the notebooks, on a board if one is plugged in, else the emulator
lab: install
	$(VENV)/bin/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

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
	rm -rf $(VENV) build dist .pytest_cache .hypothesis esp32_kernel/labextension labextension/lib labextension/node_modules
