"""The kernel in a real JupyterLab, driven through headless Chromium as a student would use it.

The test starts `jupyter lab` on a free loopback port (lab_fixtures.py), in an environment with no board
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

from playwright.sync_api import expect

from lab_fixtures import ARTIFACTS, KERNEL_DISPLAY_NAME, NEEDS_CHROMIUM, REPO, browser, lab, lab_server, notebook  # noqa: F401

NOTEBOOK = REPO / "notebooks" / "01-first-steps.ipynb"
DOCS_SCREENSHOT = REPO / "docs" / "screenshot-first-steps.png"

# A Run All has ended (finished, or stopped at an error): some cell has run and none is queued
# or running ([*]:). All cells are queued at once when Run All is clicked.
RUN_ENDED = """() => {
  const prompts = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')]
    .map(p => p.textContent.trim());
  return !prompts.includes('[*]:') && prompts.some(p => /^\\[\\d+\\]:$/.test(p));
}"""
ERROR_OUTPUT = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']"
STDERR_OUTPUT = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"

pytestmark = NEEDS_CHROMIUM


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
        # The notebook's kernel starts by itself: the ESP32 kernel, idle.
        panel = lab.open_notebook("first-steps.ipynb", json.loads(NOTEBOOK.read_text()))
        status = panel.locator(".jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator")
        prompts = panel.locator(".jp-CodeCell .jp-InputPrompt")
        lab.run_all()

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


def test_run_all_stops_at_a_failed_magic(lab):
    """A student's Run All in JupyterLab: the magic that fails shows its named error, and the
    cells after it are not run."""
    page = lab.page
    with lab.explain_failure():
        cells = ["print('first')", "%cat /no-such-file.txt", "print('never')"]
        panel = lab.open_notebook("stops.ipynb", notebook(cells))
        lab.run_all()
        page.wait_for_function(RUN_ENDED)
        code_cells = panel.locator(".jp-CodeCell")
        failed = code_cells.nth(1).locator(".jp-OutputArea-output")
        expect(failed).to_contain_text("FileNotFoundError: %cat: /no-such-file.txt: no such file or directory")
        prompts = [p.strip() for p in panel.locator(".jp-CodeCell .jp-InputPrompt").all_text_contents()]
        assert re.fullmatch(r"\[\d+\]:", prompts[0]) and re.fullmatch(r"\[\d+\]:", prompts[1]), prompts
        assert prompts[2] == "[ ]:", prompts
        assert "never" not in "\n".join(panel.locator(".jp-OutputArea-output").all_text_contents())
        lab.screenshot(ARTIFACTS / "run-all-stops.png")
