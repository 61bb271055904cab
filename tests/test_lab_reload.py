"""A live plot survives a page reload in JupyterLab (issue 4).

A `%plot` cell streams a rising value from a long device loop; the notebook is saved (the
plot's output is then in the file) and the page reloaded while the loop still runs. The
reloaded page shows the plot again, from the kernel's live widget (ipywidgets' manager asks
the kernel for its widgets and their state), and the plot keeps moving: BokehJS's data
source in the new page grows, and the canvas changes.

Uses the JupyterLab and Chromium of lab_fixtures.py. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import time

from playwright.sync_api import expect

from lab_fixtures import ARTIFACTS, HANG_GUARD_MS, KERNEL_DISPLAY_NAME, LEVEL_SOURCE, NEEDS_CHROMIUM, notebook
from lab_fixtures import browser, lab, lab_server  # noqa: F401

pytestmark = NEEDS_CHROMIUM

PLOT_CELL = """%plot level --window 10s --title rising --height 250
import time
from nb import emit
for i in range(100000):
    emit(level=i)
    time.sleep_ms(50)"""
# BokehJS's "level" source has grown past `n` points and reached a value above `last`.
GROWN = f"([n, last]) => {{ const s = ({LEVEL_SOURCE})(); return s && s.length > n && s.last > last && s }}"


def kernel_id(lab, path: str) -> str:
    sessions = [s for s in lab.server.api("GET", "sessions") if s["path"] == path]
    assert len(sessions) == 1, sessions
    return sessions[0]["kernel"]["id"]


def canvas_changes(canvas, before: bytes, name: str) -> None:
    """BokehJS redraws on an animation frame after the data changes: poll its pixels."""
    deadline = time.monotonic() + HANG_GUARD_MS / 1000
    while canvas.screenshot(path=str(ARTIFACTS / name)) == before:
        assert time.monotonic() < deadline, "the plot's canvas did not change while its data source grew"


def test_a_live_plot_is_back_after_a_reload_and_keeps_moving(lab):
    page = lab.page
    with lab.explain_failure():
        lab.server.api("PUT", "contents/reload.ipynb", {"type": "notebook", "format": "json", "content": notebook([PLOT_CELL])})
        page.goto(lab.server.page_url("lab/tree/reload.ipynb"))
        panel = page.locator(".jp-NotebookPanel")
        status = panel.locator(".jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator")
        expect(panel.locator(".jp-Toolbar-kernelName")).to_have_text(KERNEL_DISPLAY_NAME)
        expect(status).to_have_attribute("data-status", "idle")
        page.keyboard.press("Control+b")  # hide the file browser: more room for the plot
        panel.locator(".jp-CodeCell .jp-InputArea-editor").first.click()
        page.keyboard.press("Control+Enter")
        first = page.wait_for_function(GROWN, arg=[0, -1]).json_value()
        page.wait_for_function(GROWN, arg=[first["length"], first["last"]])
        expect(status).to_have_attribute("data-status", "busy")

        page.keyboard.press("Control+s")  # the plot's output (a widget view) goes into the file
        expect(page.locator(".lm-TabBar-tab.jp-mod-dirty")).to_have_count(0)
        outputs = lab.server.api("GET", "contents/reload.ipynb")["content"]["cells"][0]["outputs"]
        assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs), outputs
        before_reload = page.evaluate(LEVEL_SOURCE)

        page.reload()
        plot_cell = panel.locator(".jp-CodeCell", has_text="emit(level=i)")
        canvas = plot_cell.locator(".bk-Canvas")
        shown = page.wait_for_function(GROWN, arg=[0, -1]).json_value()
        expect(canvas).to_be_visible()
        # The figure came back with what it showed before (not the empty one first sent)...
        assert shown["last"] >= before_reload["last"], (before_reload, shown)
        assert shown["length"] >= min(before_reload["length"], 150), (before_reload, shown)
        # ...and moves on, the device loop still running.
        before = canvas.screenshot(path=str(ARTIFACTS / "reload-plot-early.png"))
        page.wait_for_function(GROWN, arg=[0, shown["last"] + 10])
        canvas_changes(canvas, before, "reload-plot-later.png")
        expect(status).to_have_attribute("data-status", "busy")
        lab.screenshot(ARTIFACTS / "reload-plot.png")

        lab.server.api("POST", f"kernels/{kernel_id(lab, 'reload.ipynb')}/interrupt")
        expect(status).to_have_attribute("data-status", "idle")
        assert not lab.page_errors, lab.page_errors
