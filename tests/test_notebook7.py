"""Live data in the Jupyter Notebook 7 interface (/notebooks/…), in headless Chromium, on
the emulated ESP32 (issue 4).

The same notebook as test_lab_live.py, opened in Notebook 7's one-document page of the same
server: a `%plot` cell whose device loop emits a rising value, a `%bench led:2` panel, a
`%gpio 2` panel and a `%%host` cell that tells where the emulator's control channel is. The
test sees the plot move while the cell runs (BokehJS's data source grows, the canvas
changes), the GPIO2 toggle light the LED (the bench panel and the emulator's control channel
say so) and put it out, and nothing of ours failing in that page (the lab extension's side
panel is made for JupyterLab's shell).

Uses the server and Chromium of lab_fixtures.py. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from lab_fixtures import ARTIFACTS, HANG_GUARD_MS, KERNEL_DISPLAY_NAME, LEVEL_SOURCE, NEEDS_CHROMIUM, control, notebook
from lab_fixtures import browser, lab, lab_server  # noqa: F401

pytestmark = NEEDS_CHROMIUM

SAMPLES = 120  # emitted 50 ms apart: the loop runs for 6 s
CELLS = [
    f"%plot level --window 10s --title rising --height 250\nimport time\nfrom nb import emit\n"
    f"for i in range({SAMPLES}):\n    emit(level=i)\n    time.sleep_ms(50)\nprint('loop done')",
    "%bench led:2",
    "%gpio 2",
    "%%host\nprint('control at', get_ipython().kernel.boards.emulator.control_address)",
]
RUNNING = "cell => cell.querySelector('.jp-InputPrompt').textContent.trim() === '[*]:'"
GROWING = f"""([cell, n]) => {{
  const s = ({LEVEL_SOURCE})();
  return s && s.length > n && ({RUNNING})(cell) && s;
}}"""
RUN_ENDED = """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
  .every(p => /^\\[\\d+\\]:$/.test(p.textContent.trim()))"""
PROBLEMS = ", ".join(
    f".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.{kind}']" for kind in ("error", "stderr")
)
OURS = re.compile(r"esp32", re.I)  # our extension's bundle (/extensions/esp32-kernel/), ids, messages


def test_notebook7_runs_a_live_plot_and_a_gpio_toggle(lab):
    page = lab.page
    server = lab.server
    with lab.explain_failure():
        stacks: list[str] = []  # uncaught errors with where they came from
        page.on("pageerror", lambda error: stacks.append(error.stack or error.message))
        server.api("PUT", "contents/nb7.ipynb", {"type": "notebook", "format": "json", "content": notebook(CELLS)})
        page.goto(f"{server.url}/notebooks/nb7.ipynb?token={server.token}")
        expect(page.locator("#main-panel .jp-NotebookPanel")).to_be_visible()  # Notebook 7's shell
        panel = page.locator(".jp-NotebookPanel")
        expect(panel.locator(".jp-Toolbar-kernelName")).to_have_text(KERNEL_DISPLAY_NAME)
        expect(panel.locator(".jp-CodeCell")).to_have_count(len(CELLS))
        expect(panel.get_by_role("button", name="Reset board")).to_be_visible()  # our extension's toolbar button
        page.wait_for_function("() => document.querySelector('.jp-NotebookKernelStatus, .jp-Notebook-ExecutionIndicator') !== null")
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()

        # 1. The plot moves while the device loop runs.
        plot_cell = panel.locator(".jp-CodeCell", has_text="emit(level=i)")
        canvas = plot_cell.locator(".bk-Canvas")
        first = page.wait_for_function(GROWING, arg=[plot_cell.element_handle(), 0]).json_value()
        expect(canvas).to_be_visible()
        before = canvas.screenshot(path=str(ARTIFACTS / "nb7-plot-early.png"))
        later = page.wait_for_function(GROWING, arg=[plot_cell.element_handle(), first["length"] + 10]).json_value()
        assert later["last"] > first["last"], (first, later)
        deadline = time.monotonic() + HANG_GUARD_MS / 1000
        while canvas.screenshot(path=str(ARTIFACTS / "nb7-plot-later.png")) == before:
            assert time.monotonic() < deadline, "the plot's canvas did not change while the data source grew"
        assert page.evaluate(RUNNING, plot_cell.element_handle()), "the cell ended before the plot was seen to move"

        page.wait_for_function(RUN_ENDED)
        problems = panel.locator(PROBLEMS).all_text_contents()
        assert not problems, "errors in the output areas:\n" + "\n---\n".join(problems)
        expect(plot_cell.locator(".jp-OutputArea")).to_contain_text("loop done")
        page.wait_for_function(f"() => ({LEVEL_SOURCE})()?.last === {SAMPLES - 1}")
        lab.screenshot(ARTIFACTS / "nb7-plot.png")

        # 2. The GPIO2 toggle lights the bench's LED on GPIO 2, and puts it out.
        host_output = panel.locator(".jp-CodeCell", has_text="%%host").locator(".jp-OutputArea")
        address = re.search(r"control at (tcp://\S+)", host_output.inner_text()).group(1)
        assert control(address, "get_pin 2")[0]["level"] == 0
        led = panel.locator(".widget-valid", has_text="LED 2")
        toggle = panel.locator("button.widget-toggle-button", has_text="GPIO2")
        gpio_panel = panel.locator(".jp-CodeCell", has_text="%gpio 2").locator(".jp-OutputArea")
        expect(gpio_panel).to_contain_text("done: set up the pins")
        toggle.click()
        expect(gpio_panel).to_contain_text("done: GPIO2 = 1")
        expect(led).to_have_class(re.compile(r"\bmod-valid\b"))
        pin, leds = control(address, "get_pin 2", "leds")
        assert pin["level"] == 1 and leds["leds"]["2"]["brightness"] > 0, (pin, leds)
        lab.screenshot(ARTIFACTS / "nb7-led-on.png")
        toggle.click()
        expect(gpio_panel).to_contain_text("done: GPIO2 = 0")
        expect(led).not_to_have_class(re.compile(r"\bmod-valid\b"))
        pin, leds = control(address, "get_pin 2", "leds")
        assert pin["level"] == 0 and leds["leds"]["2"]["brightness"] == 0, (pin, leds)

        # 3. Nothing of ours failed in this page. (Notebook 7.6 itself throws "Cannot read
        # properties of undefined (reading 'schema')" from its own bundle as it loads, with
        # our extension disabled too: only errors from our code count here.)
        ours = [m for m in stacks + lab.console if OURS.search(m)]
        assert not ours, "errors from our code in Notebook 7:\n" + "\n".join(ours)
