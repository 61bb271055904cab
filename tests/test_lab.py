"""The kernel in a real JupyterLab, driven through headless Chromium as a student would use it.

The test starts `jupyter lab` on a free loopback port, in an environment with no board
configured (so the kernel starts its own emulated ESP32), puts notebooks/01-first-steps.ipynb
there through the contents API, opens it in Chromium (Playwright, with Debian's chromium:
no browser is downloaded), runs all cells from the Run menu and reads the page.

Screenshots go to tests/artifacts/ (not committed). docs/screenshot-first-steps.png, the
README's picture, is written when missing or when UPDATE_DOCS_SCREENSHOT=1 (it changes on
every run: ports, timings).
"""

from __future__ import annotations

import json
import os
import re
import secrets
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

from kernel_harness import isolated_env

CHROMIUM = "/usr/bin/chromium"
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

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "notebooks" / "01-first-steps.ipynb"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
DOCS_SCREENSHOT = REPO / "docs" / "screenshot-first-steps.png"
KERNEL_DISPLAY_NAME = "ESP32 (MicroPython)"

# A Run All has ended (finished, or stopped at an error): some cell has run and none is queued
# or running ([*]:). All cells are queued at once when Run All is clicked.
RUN_ENDED = """() => {
  const prompts = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')]
    .map(p => p.textContent.trim());
  return !prompts.includes('[*]:') && prompts.some(p => /^\\[\\d+\\]:$/.test(p));
}"""
ERROR_OUTPUT = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"
STDERR_OUTPUT = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)",
)


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

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path))

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
            print(f"--- jupyter lab log ({self.server.log_path}) ---\n{self.server.log()}")
            raise


@pytest.fixture
def lab(lab_server, browser, request):
    context = browser.new_context(viewport={"width": 1100, "height": 850})
    context.set_default_timeout(HANG_GUARD_MS)
    page = context.new_page()
    lab = Lab(lab_server, page, request.node.name)
    page.on("pageerror", lambda error: lab.page_errors.append(str(error)))
    yield lab
    context.close()


# The tests --------------------------------------------------------------------------------


def test_launcher_offers_the_esp32_kernel_with_its_logo(lab):
    with lab.explain_failure():
        logo_url = lab.server.api("GET", "kernelspecs")["kernelspecs"]["esp32"]["resources"]["logo-svg"]
        lab.page.goto(lab.server.page_url("lab"))
        card = lab.page.locator(f'.jp-LauncherCard[data-category="Notebook"][title="{KERNEL_DISPLAY_NAME}"]')
        expect(card).to_be_visible()
        expect(card).to_contain_text(KERNEL_DISPLAY_NAME)
        logo = card.locator("img")
        expect(logo).to_have_attribute("src", logo_url)
        lab.page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=logo.element_handle())
        lab.screenshot(ARTIFACTS / "launcher.png")


def test_first_steps_notebook_runs_in_the_browser(lab):
    page = lab.page
    with lab.explain_failure():
        notebook = json.loads(NOTEBOOK.read_text())
        lab.server.api("PUT", "contents/first-steps.ipynb", {"type": "notebook", "format": "json", "content": notebook})
        page.goto(lab.server.page_url("lab/tree/first-steps.ipynb"))

        # The notebook's kernel starts by itself: the ESP32 kernel, idle.
        panel = page.locator(".jp-NotebookPanel")
        expect(panel.locator(".jp-Toolbar-kernelName")).to_have_text(KERNEL_DISPLAY_NAME)
        status = panel.locator(".jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator")
        expect(status).to_have_attribute("data-status", "idle")
        expect(page.locator("#jp-main-statusbar")).to_contain_text(f"{KERNEL_DISPLAY_NAME} | Idle")

        prompts = panel.locator(".jp-CodeCell .jp-InputPrompt")
        expect(prompts).to_have_count(sum(cell["cell_type"] == "code" for cell in notebook["cells"]))
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

        # While it runs, the loop's output arrives line by line (0.2 s between lines).
        loop_output = panel.locator(".jp-CodeCell", has_text="for i in range(5)").locator(".jp-OutputArea")
        seen = page.wait_for_function(
            f"area => ({RUN_ENDED})() ? 'the run ended'"
            " : area.textContent.includes('tick 0') && !area.textContent.includes('done') ? 'partial output' : false",
            arg=loop_output.element_handle(),
        ).json_value()
        page.wait_for_function(RUN_ENDED)
        expect(status).to_have_attribute("data-status", "idle")
        expect(page.locator("#jp-main-statusbar")).to_contain_text(f"{KERNEL_DISPLAY_NAME} | Idle")

        outputs = panel.locator(".jp-OutputArea-output")
        problems = panel.locator(f"{ERROR_OUTPUT}, {STDERR_OUTPUT}").all_text_contents()
        assert not problems, "errors in the output areas:\n" + "\n---\n".join(problems)
        # Every code cell ran: its prompt is [n]:, not [ ]: (a Run All stopped early).
        assert all(re.fullmatch(r"\[\d+\]:", p.strip()) for p in prompts.all_text_contents()), prompts.all_text_contents()
        assert seen == "partial output", "the loop's output did not show line by line while the cell ran"
        shown = "\n".join(outputs.all_text_contents())
        missing = [
            text
            for text in [
                "using the emulated ESP32 at socket://127.0.0.1:",  # the kernel's start-up notice
                "name='micropython'",  # sys.implementation
                "'esp32'",  # sys.platform
                "tick 0\ntick 1\ntick 2\ntick 3\ntick 4\ndone",  # the loop
                "12.57",  # a last expression's value
                "This cell ran on your computer:",  # %%host
                "Now: emulated ESP32 at socket://127.0.0.1:",  # %ports
            ]
            if text not in shown
        ]
        assert not missing, f"not in the output areas: {missing}\n--- shown ---\n{shown}"

        # Pictures for humans: the top of the notebook with the first outputs.
        page.keyboard.press("Control+b")  # hide the file browser
        expect(page.locator("#jp-left-stack")).to_be_hidden()
        panel.locator(".jp-MarkdownCell", has_text="1. Who are we talking to?").evaluate(
            "cell => { cell.scrollIntoView({block: 'start'});"
            "  cell.closest('.jp-WindowedPanel-outer').scrollBy(0, -40) }"  # clear of the toolbar
        )
        expect(panel.locator(".jp-OutputArea-output", has_text="name='micropython'")).to_be_in_viewport()
        lab.screenshot(ARTIFACTS / "first-steps.png")
        if not DOCS_SCREENSHOT.exists() or os.environ.get("UPDATE_DOCS_SCREENSHOT") == "1":
            lab.screenshot(DOCS_SCREENSHOT)
