"""The lab extension in a real JupyterLab and Chromium: the status-bar item, the board panel,
its commands, and the server endpoint, on a notebook whose kernel runs the emulated ESP32.

Screenshots go to tests/artifacts/; docs/screenshot-board-panel.png, the README's picture,
is written when missing or when UPDATE_DOCS_SCREENSHOT=1.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request

from playwright.sync_api import expect

from lab_fixtures import ARTIFACTS, KERNEL_DISPLAY_NAME, NEEDS_CHROMIUM, REPO, browser, lab, lab_server  # noqa: F401

pytestmark = NEEDS_CHROMIUM

DOCS_SCREENSHOT = REPO / "docs" / "screenshot-board-panel.png"
STATUS_ITEM = "#jp-main-statusbar .jp-ESP32-statusItem"
PANEL = "#esp32-kernel-board-panel"


def notebook(*sources: str) -> dict:
    return {
        "cells": [
            {"cell_type": "code", "execution_count": None, "id": f"cell{i}", "metadata": {}, "outputs": [], "source": source}
            for i, source in enumerate(sources)
        ],
        "metadata": {
            "kernelspec": {"name": "esp32", "display_name": KERNEL_DISPLAY_NAME, "language": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def get(url: str, token: str | None) -> tuple[int, dict]:
    headers = {"Authorization": f"token {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, {}


def test_server_lists_ports_only_for_an_authenticated_user(lab_server):
    status, data = get(f"{lab_server.url}/esp32-kernel/ports", lab_server.token)
    assert status == 200
    assert isinstance(data["ports"], list)
    status, _ = get(f"{lab_server.url}/esp32-kernel/ports", None)
    assert status == 403


def test_the_extension_is_installed_and_enabled(lab_server):
    # the page config JupyterLab serves names every federated extension it will load
    request = urllib.request.Request(f"{lab_server.url}/lab?token={lab_server.token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        page = response.read().decode()
    assert '"name": "esp32-kernel"' in page or '"name":"esp32-kernel"' in page


def test_status_bar_and_board_panel_follow_the_emulated_board(lab):
    page = lab.page
    with lab.explain_failure():
        lab.server.api(
            "PUT",
            "contents/board.ipynb",
            {
                "type": "notebook",
                "format": "json",
                "content": notebook("import sys\nprint(sys.platform)", "import time\ntime.sleep(1.5)\n'slept'"),
            },
        )
        page.goto(lab.server.page_url("lab/tree/board.ipynb"))
        panel = page.locator(".jp-NotebookPanel")
        expect(panel.locator(".jp-Toolbar-kernelName")).to_have_text(KERNEL_DISPLAY_NAME)

        # The status bar shows the board as soon as the kernel has connected to it.
        status = page.locator(STATUS_ITEM)
        expect(status).to_be_visible()
        expect(status).to_contain_text("Emulated ESP32")
        expect(status).to_contain_text("MicroPython 1.")
        expect(status).to_contain_text("KB free")
        expect(status).to_have_attribute("data-state", "idle")
        assert "socket://127.0.0.1:" in (status.get_attribute("title") or "")

        # The notebook's toolbar has the reset button.
        expect(panel.locator(".jp-ESP32-toolbarButton")).to_be_visible()

        # Run the first cell: its output comes from the board.
        panel.locator(".jp-CodeCell").first.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")
        first_output = panel.locator(".jp-CodeCell").first.locator(".jp-OutputArea-output")
        expect(first_output).to_contain_text("esp32")

        # The second cell sleeps: the status item says busy while it runs, idle after.
        page.keyboard.press("Shift+Enter")
        expect(status).to_have_attribute("data-state", "busy")
        expect(status).to_contain_text("busy")
        expect(panel.locator(".jp-CodeCell").nth(1).locator(".jp-OutputArea-output")).to_contain_text("slept")
        expect(status).to_have_attribute("data-state", "idle")

        # A click on the status item opens the board panel.
        status.click()
        board = page.locator(PANEL)
        expect(board).to_be_visible()
        expect(board.locator(".jp-ESP32-status")).to_contain_text("Emulated ESP32")
        expect(board.locator(".jp-ESP32-facts")).to_contain_text("socket://127.0.0.1:")
        expect(board.locator(".jp-ESP32-facts")).to_contain_text("MicroPython 1.")
        expect(board.locator(".jp-ESP32-facts")).to_contain_text("KB free")
        expect(board.locator(".jp-ESP32-port[data-current='true']")).to_contain_text("Emulator")
        expect(board.get_by_role("button", name="Rescan")).to_be_enabled()
        expect(board.locator(".jp-ESP32-notebook")).to_have_text("board.ipynb")

        # Soft reset from the panel: the board's variables are gone.
        board.get_by_role("button", name="Soft reset").click()
        expect(board.locator(".jp-ESP32-notice")).to_contain_text("Soft reset")
        expect(board.locator(".jp-ESP32-notice")).to_have_class("jp-ESP32-notice jp-mod-ok")
        expect(status).to_have_attribute("data-state", "idle")

        page.mouse.move(0, 0)  # no hover highlight in the picture
        lab.screenshot(ARTIFACTS / "board-panel.png")
        if not DOCS_SCREENSHOT.exists() or os.environ.get("UPDATE_DOCS_SCREENSHOT") == "1":
            lab.screenshot(DOCS_SCREENSHOT)

        # The pins: chip GPIO numbers, flash pins unusable, 34-39 input-only.
        board.locator(".jp-ESP32-pins summary").click()
        pins = board.locator(".jp-ESP32-pin")
        expect(pins).to_have_count(34)
        expect(board.locator(".jp-ESP32-pin[data-use='flash']")).to_have_count(6)
        expect(board.locator(".jp-ESP32-pin[data-use='input-only']")).to_have_count(6)
        assert "not while WiFi is on" in (board.locator(".jp-ESP32-pin", has_text="4").first.get_attribute("title") or "")
        board.locator(".jp-ESP32-pins").scroll_into_view_if_needed()
        lab.screenshot(ARTIFACTS / "board-panel-pins.png")

        # The commands are in the palette.
        page.keyboard.press("Control+Shift+c")
        palette = page.locator("#command-palette")
        expect(palette).to_be_visible()
        page.keyboard.type("ESP32")
        for label in ["Soft Reset the ESP32", "Hard Reset the ESP32", "Interrupt the ESP32 (Ctrl-C)", "Show the ESP32 Board Panel"]:
            expect(palette.locator(".lm-CommandPalette-item", has_text=label)).to_be_visible()
        page.keyboard.press("Escape")

        # Dark theme: the panel follows JupyterLab's colours.
        page.keyboard.press("Control+Shift+c")
        expect(palette).to_be_visible()
        page.keyboard.type("Use Theme: JupyterLab Dark")
        palette.locator(".lm-CommandPalette-item", has_text="JupyterLab Dark").first.click()
        page.wait_for_function("document.body.dataset.jpThemeLight === 'false'")
        background = board.evaluate("node => getComputedStyle(node).backgroundColor")
        assert background not in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)"), background
        page.mouse.move(0, 0)
        lab.screenshot(ARTIFACTS / "board-panel-dark.png")
