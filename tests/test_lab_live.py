"""Live data in a real JupyterLab, in headless Chromium, on the emulated ESP32 (issue 4).

One notebook, run from the Run menu: a `%plot` cell whose device loop emits a rising value
for a few seconds, a `%bench led:2` panel, a `%gpio 2` panel and a `%%host` cell that tells
the test where the emulator's control channel is. The test sees

- the plot move while the cell runs: in BokehJS's document in the page, the series' data
  source grows, and the plot's canvas shows different pixels at two moments;
- a click on the GPIO2 toggle light the LED: the bench panel's indicator in the page turns
  on, and the emulator's control channel (asked directly, not through the kernel) says
  GPIO 2 is high and the LED lit; a second click puts it out.

Uses the JupyterLab and Chromium of lab_fixtures.py. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

from lab_fixtures import ARTIFACTS, HANG_GUARD_MS, LEVEL_SOURCE, NEEDS_CHROMIUM, control, notebook
from lab_fixtures import browser, lab, lab_server  # noqa: F401

pytestmark = NEEDS_CHROMIUM

SAMPLES = 120  # emitted 50 ms apart: the loop runs for 6 s
PLOT_CELL = f"""%plot level --window 10s --title rising --height 250
import time
from nb import emit
for i in range({SAMPLES}):
    emit(level=i)
    time.sleep_ms(50)
print('loop done')"""
CELLS = [
    PLOT_CELL,
    "%bench led:2",
    "%gpio 2",
    "%%host\nprint('control at', get_ipython().kernel.boards.emulator.control_address)",
]

# The plot's cell is still running: its prompt is [*]:.
RUNNING = "cell => cell.querySelector('.jp-InputPrompt').textContent.trim() === '[*]:'"
RUN_ENDED = """() => {
  const prompts = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')]
    .map(p => p.textContent.trim());
  return prompts.every(p => /^\\[\\d+\\]:$/.test(p));
}"""
PROBLEMS = ", ".join(
    f".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.{kind}']" for kind in ("error", "stderr")
)


def test_a_live_plot_moves_and_a_gpio_toggle_lights_the_bench_led(lab):
    page = lab.page
    with lab.explain_failure():
        panel = lab.open_notebook("live.ipynb", notebook(CELLS))
        status = panel.locator(".jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator")
        page.keyboard.press("Control+b")  # hide the file browser: more room for the plot
        lab.run_all()

        # 1. The plot moves while the device loop runs.
        plot_cell = panel.locator(".jp-CodeCell", has_text="emit(level=i)")
        canvas = plot_cell.locator(".bk-Canvas")  # BokehJS's canvases (Playwright pierces the shadow DOM)
        first = page.wait_for_function(
            f"cell => {{ const s = ({LEVEL_SOURCE})(); return s && s.length > 0 && ({RUNNING})(cell) && s }}",
            arg=plot_cell.element_handle(),
        ).json_value()
        expect(canvas).to_be_visible()
        before = canvas.screenshot(path=str(ARTIFACTS / "live-plot-early.png"))
        later = page.wait_for_function(
            f"([cell, n]) => {{ const s = ({LEVEL_SOURCE})();"
            f" return s && s.length >= n + 10 && ({RUNNING})(cell) && s }}",
            arg=[plot_cell.element_handle(), first["length"]],
        ).json_value()
        assert later["last"] > first["last"], (first, later)
        # ...and it shows: the canvas is redrawn with the new points (BokehJS draws on an
        # animation frame after the data changes, so poll, while the cell still runs).
        deadline = time.monotonic() + HANG_GUARD_MS / 1000
        while canvas.screenshot(path=str(ARTIFACTS / "live-plot-later.png")) == before:
            assert time.monotonic() < deadline, "the plot's canvas did not change while the data source grew"
        still_running = page.evaluate(RUNNING, plot_cell.element_handle())
        assert still_running, "the cell ended before the plot was seen to move"

        page.wait_for_function(RUN_ENDED)
        expect(status).to_have_attribute("data-status", "idle")
        problems = panel.locator(PROBLEMS).all_text_contents()
        assert not problems, "errors in the output areas:\n" + "\n---\n".join(problems)
        expect(plot_cell.locator(".jp-OutputArea")).to_contain_text("loop done")
        # Every sample reached the page: the last one drawn, and none lost on the way.
        page.wait_for_function(f"() => ({LEVEL_SOURCE})()?.last === {SAMPLES - 1}")
        expect(plot_cell.locator(".jp-OutputArea")).to_contain_text(f"{SAMPLES} samples · 0 lost in 0 gaps")
        plot_cell.scroll_into_view_if_needed()
        lab.screenshot(ARTIFACTS / "live-plot.png")

        # 2. The GPIO2 toggle lights the bench's LED on GPIO 2.
        host_output = panel.locator(".jp-CodeCell", has_text="%%host").locator(".jp-OutputArea")
        address = re.search(r"control at (tcp://\S+)", host_output.inner_text()).group(1)
        assert control(address, "get_pin 2")[0]["level"] == 0
        led = panel.locator(".widget-valid", has_text="LED 2")
        toggle = panel.locator("button.widget-toggle-button", has_text="GPIO2")
        gpio_panel = panel.locator(".jp-CodeCell", has_text="%gpio 2").locator(".jp-OutputArea")
        expect(led).not_to_have_class(re.compile(r"\bmod-valid\b"))
        expect(gpio_panel).to_contain_text("done: set up the pins")

        toggle.click()
        expect(toggle).to_have_class(re.compile(r"\bmod-active\b"))
        expect(gpio_panel).to_contain_text("done: GPIO2 = 1")
        expect(led).to_have_class(re.compile(r"\bmod-valid\b"))  # the bench panel polls the emulator
        expect(led.locator(".widget-valid-readout")).to_have_text("on")
        pin, leds = control(address, "get_pin 2", "leds")
        assert pin["level"] == 1, pin
        assert leds["leds"]["2"]["brightness"] > 0, leds
        panel.locator(".jp-CodeCell", has_text="%bench led:2").evaluate(
            "cell => { cell.scrollIntoView({block: 'start'});"
            "  cell.closest('.jp-WindowedPanel-outer').scrollBy(0, -40) }"  # clear of the toolbar
        )
        expect(gpio_panel).to_be_in_viewport()
        lab.screenshot(ARTIFACTS / "gpio-led-on.png")

        toggle.click()
        expect(gpio_panel).to_contain_text("done: GPIO2 = 0")
        expect(led).not_to_have_class(re.compile(r"\bmod-valid\b"))
        expect(led.locator(".widget-valid-readout")).to_have_text("off")
        pin, leds = control(address, "get_pin 2", "leds")
        assert pin["level"] == 0 and leds["leds"]["2"]["brightness"] == 0, (pin, leds)
