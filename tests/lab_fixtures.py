"""A real JupyterLab and a headless Chromium for the browser tests (test_lab*.py).

`lab_server` starts `jupyter lab` on a free loopback port in an environment with no board
configured (so a kernel starts its own emulated ESP32); `browser` is Debian's chromium driven
by Playwright (no browser is downloaded); `lab` is a fresh page with failure reports.
Test modules import the fixtures: `from lab_fixtures import browser, lab, lab_server`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from esp32_kernel.emulator.control import ControlChannel
from kernel_harness import isolated_env

# Debian's Chromium (browsers cannot be downloaded here); elsewhere whichever is on PATH.
CHROMIUM = os.environ.get("ESP32_KERNEL_TEST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
HANG_GUARD_MS = 30_000  # any single wait in the browser: only to fail instead of hanging
SERVER_START_GUARD = 60  # seconds
# expect() waits are hang guards too (its 5 s default failed a page load on a busy machine).
expect.set_options(timeout=HANG_GUARD_MS)

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
KERNEL_DISPLAY_NAME = "ESP32 (MicroPython)"

NEEDS_CHROMIUM = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="no Chromium to drive: install it (Debian: apt-get install chromium; or set ESP32_KERNEL_TEST_CHROMIUM"
    " to a Chromium binary) to run the browser tests",
)


# The series "level" as BokehJS holds it in the page: its ColumnDataSource's length and last y.
# Every BokehJS Document registers itself in Bokeh.documents (jupyter_bokeh makes one per view).
LEVEL_SOURCE = """() => {
  const sources = (window.Bokeh?.documents ?? []).flatMap(doc => [...doc._all_models.values()])
    .filter(m => m.type === 'ColumnDataSource' && m.name === 'level');
  if (sources.length === 0) return null;
  const y = sources[sources.length - 1].data.y;
  return {length: y.length, last: y[y.length - 1]};
}"""


def notebook(cells: list[str]) -> dict:
    """An ESP32 notebook of these code cells, for the contents API."""
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "esp32", "display_name": KERNEL_DISPLAY_NAME, "language": "python"}},
        "cells": [
            {"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None, "outputs": [],
             "source": source}
            for i, source in enumerate(cells)
        ],  # fmt: skip
    }


def control(address: str, *commands: str) -> list[dict]:
    """Ask the emulator's control channel directly (one JSON line answers each command)."""
    return ControlChannel(address).exchange(list(commands))


# The server ------------------------------------------------------------------------------


@dataclass
class LabServer:
    url: str
    token: str
    root: Path
    log_path: Path
    process: subprocess.Popen = field(repr=False)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def api(self, method: str, path: str, body: dict | None = None, timeout: float = 10) -> dict:
        request = urllib.request.Request(
            f"{self.url}/api/{path}",
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"{}")

    def page_url(self, path: str) -> str:
        return f"{self.url}/{path}?reset&token={self.token}"  # reset: a fresh workspace each time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def quiet_lab_settings(config_dir: Path) -> None:
    """No "get notified about Jupyter news?" toast over the page, no update checks."""
    settings = config_dir / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True, exist_ok=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )


def wait_until_serving(server: LabServer) -> None:
    deadline = time.monotonic() + SERVER_START_GUARD
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"jupyter lab exited ({server.process.returncode}):\n{server.log()}")
        try:
            server.api("GET", "status", timeout=2)
            return
        except urllib.error.HTTPError as e:  # serving, but refusing us (the token?)
            raise RuntimeError(f"jupyter lab answered /api/status with {e}:\n{server.log()}") from None
        except (urllib.error.URLError, ConnectionError, TimeoutError):  # not serving yet
            if time.monotonic() > deadline:
                raise RuntimeError(f"jupyter lab did not answer within {SERVER_START_GUARD} s:\n{server.log()}") from None
            time.sleep(0.1)  # polling interval while the server starts, not a wait for a result


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()  # jupyter_server shuts its kernels (and so their emulators) down
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory) -> LabServer:
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "root"
    root.mkdir()
    env = isolated_env(tmp)
    quiet_lab_settings(Path(env["JUPYTER_CONFIG_DIR"]))
    port, token = free_port(), secrets.token_hex(16)
    jupyter = Path(sys.executable).with_name("jupyter")  # the venv's
    command = [
        str(jupyter), "lab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
    ]  # fmt: skip
    if os.geteuid() == 0:
        command.append("--ServerApp.allow_root=True")
    log_path = tmp / "jupyter-lab.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = LabServer(f"http://127.0.0.1:{port}", token, root, log_path, process)
    try:
        wait_until_serving(server)
        yield server
    finally:
        stop(process)


# The browser ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@dataclass
class Lab:
    server: LabServer
    page: Page
    name: str
    page_errors: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path))

    def open_notebook(self, name: str, content: dict):
        """Put a notebook on the server, open it, and wait until its ESP32 kernel is connected and
        idle with every cell shown: a Run All clicked before then may run nothing."""
        self.server.api("PUT", f"contents/{name}", {"type": "notebook", "format": "json", "content": content})
        self.page.goto(self.server.page_url(f"lab/tree/{name}"))
        panel = self.page.locator(".jp-NotebookPanel")
        expect(panel.locator(".jp-Toolbar-kernelName")).to_have_text(KERNEL_DISPLAY_NAME)
        expect(panel.locator(".jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator")).to_have_attribute("data-status", "idle")
        expect(self.page.locator("#jp-main-statusbar")).to_contain_text(f"{KERNEL_DISPLAY_NAME} | Idle")
        expect(panel.locator(".jp-Cell")).to_have_count(len(content["cells"]))
        return panel

    def run_all(self) -> None:
        self.page.get_by_role("menuitem", name="Run", exact=True).click()
        self.page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

    @contextmanager
    def explain_failure(self):
        """On failure: a screenshot in tests/artifacts/, and the server log and page errors in the report."""
        try:
            yield
        except BaseException:
            try:
                self.screenshot(ARTIFACTS / f"{self.name}-failure.png")
            except Exception:
                traceback.print_exc()
            print(f"--- page errors ---\n{chr(10).join(self.page_errors) or '(none)'}")
            print(f"--- browser console (warnings and errors) ---\n{chr(10).join(self.console[-50:]) or '(none)'}")
            print(f"--- jupyter lab log ({self.server.log_path}) ---\n{self.server.log()}")
            raise


@pytest.fixture
def lab(lab_server, browser, request):
    context = browser.new_context(viewport={"width": 1100, "height": 850})
    context.set_default_timeout(HANG_GUARD_MS)
    page = context.new_page()
    lab = Lab(lab_server, page, request.node.name)
    page.on("pageerror", lambda error: lab.page_errors.append(str(error)))
    page.on("console", lambda m: lab.console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    yield lab
    context.close()

