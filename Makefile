# The two commands: `make lab` and `make test`. Both set everything up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
# The lab extension is built by `pip install -e .` (jlpm, Node.js): rebuild when it changes.
LABEXTENSION := labextension/package.json labextension/yarn.lock $(wildcard labextension/src/*.ts labextension/style/*)

.PHONY: lab test bench install clean node chromium mosquitto proxy

# What a machine may lack: installed with Debian's packages where apt-get and root are at
# hand, else `make` says what to install and (for Node.js, which the install needs) stops.
CAN_APT := $(shell command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && echo yes)

# Node.js builds the lab extension (jlpm comes with the Python package jupyter_builder).
node:
	@command -v node >/dev/null || { \
	  if [ "$(CAN_APT)" = yes ]; then apt-get update && apt-get install -y nodejs; \
	  else echo "esp32-kernel: Node.js is needed to build the lab extension — install Node.js 18 or newer (https://nodejs.org, or your package manager), then run make again." >&2; exit 1; fi; }

# The browser tests drive Chromium (browsers cannot be downloaded by playwright). Without it
# they skip, saying why; everything else runs.
chromium:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || [ -n "$$ESP32_KERNEL_TEST_CHROMIUM" ] || { \
	  if [ "$(CAN_APT)" = yes ]; then apt-get update && apt-get install -y chromium; \
	  else echo "esp32-kernel: no Chromium here, so the browser tests will skip — install Chromium (or set ESP32_KERNEL_TEST_CHROMIUM) to run them." >&2; fi; }

# The MQTT tests talk to a real broker, which they start (tests/test_emulator_frozen_modules.py).
mosquitto:
	@command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || { \
	  if [ "$(CAN_APT)" = yes ]; then apt-get update && apt-get install -y mosquitto; \
	  else echo "esp32-kernel: no Mosquitto here, so the MQTT tests will skip — install mosquitto to run them." >&2; fi; }

# JupyterHub's proxy, from npm into the venv (tests/test_jupyterhub.py runs a real hub).
PROXY := $(VENV)/node_modules/.bin/configurable-http-proxy
proxy: install
	@[ -x $(PROXY) ] || command -v configurable-http-proxy >/dev/null || npm install --silent --no-fund --no-audit --prefix $(VENV) configurable-http-proxy@5

$(STAMP): pyproject.toml $(LABEXTENSION) | node
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[lab,test]"
	# nbgrader grades from the command line (tests/test_grading.py); its JupyterLab parts stay
	# out of the course's JupyterLab (a teacher enables them: see the README's Grading).
	$(VENV)/bin/jupyter labextension disable --level=sys_prefix @jupyter/nbgrader >/dev/null
	for part in formgrader validate_assignment assignment_list course_list; do \
	  $(VENV)/bin/jupyter server extension disable --sys-prefix nbgrader.server_extensions.$$part >/dev/null 2>&1; done
	# The lab extension as `jupyter labextension develop` links it: `jlpm build` in labextension/ shows at once.
	rm -rf $(VENV)/share/jupyter/labextensions/esp32-kernel
	ln -s $(CURDIR)/esp32_kernel/labextension $(VENV)/share/jupyter/labextensions/esp32-kernel
	touch $@

install: $(STAMP)

## make lab: JupyterLab on the notebooks, on a board if one is plugged in, else the emulator
lab: install
	$(VENV)/bin/jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)

# The emulator's suites run once more on its portable core (MicroPython for WASI on wasmtime,
# the one Windows, Intel Macs and Linux on ARM get); what it lacks skips, saying why.
PORTABLE_SUITES ?= $(addprefix tests/,test_emulator.py test_emulator_console.py test_emulator_fixes.py \
	test_emulator_hardware.py test_emulator_parts.py test_emulator_frozen_modules.py test_emulator_i2s.py test_emulator_uart_spi.py test_board.py \
	test_board_flash_fs.py test_mpremote_client.py test_thonny_client.py test_espnow.py test_ble.py)

## make test: every test, real parts (kernel, emulator, mpremote, JupyterLab in Chromium)
test: install chromium mosquitto proxy
	$(PY) -m pytest $(PYTEST_ARGS)
	ESP32_KERNEL_EMULATOR_CORE=portable $(PY) -m pytest $(PORTABLE_SUITES)

## make bench: the figures (not a test)
bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .hypothesis esp32_kernel/labextension labextension/lib labextension/node_modules
