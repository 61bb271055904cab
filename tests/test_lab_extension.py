"""The lab extension in a real JupyterLab and Chromium: the status-bar item, the board panel,
its commands, and the server endpoint, on a notebook whose kernel runs the emulated ESP32.

Screenshots go to tests/artifacts/; docs/screenshot-board-panel.png, the README's picture,
is written when missing or when UPDATE_DOCS_SCREENSHOT=1.
"""

from __future__ import annotations

import json
import os
import re
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
        # Polled every animation frame: expect()'s back-off could step over the short busy spell.
        page.wait_for_function(
            "sel => document.querySelector(sel)?.dataset.state === 'busy' && document.querySelector(sel).textContent.includes('busy')",
            arg=STATUS_ITEM,
        )
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

        # The pins: chip GPIO numbers, flash pins unusable, 34-39 input-only.
        pins = board.locator(".jp-ESP32-pin")
        expect(pins).to_have_count(34)
        expect(board.locator(".jp-ESP32-pin[data-use='flash']")).to_have_count(6)
        expect(board.locator(".jp-ESP32-pin[data-use='input-only']")).to_have_count(6)
        assert "not while WiFi is on" in (board.locator(".jp-ESP32-pin", has_text="4").first.get_attribute("title") or "")
        board.locator(".jp-ESP32-pins").evaluate("node => node.scrollIntoView()")
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


def light_theme(server) -> None:
    request = urllib.request.Request(
        f"{server.url}/lab/api/settings/@jupyterlab/apputils-extension:themes",
        method="PUT",
        data=json.dumps({"raw": json.dumps({"theme": "JupyterLab Light"})}).encode(),
        headers={"Authorization": f"token {server.token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10):
        pass


def run_cell(page, panel, index: int) -> None:
    """Run the notebook's cell `index` (Shift+Enter in its editor)."""
    panel.locator(".jp-CodeCell").nth(index).locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")


def test_pins_bench_and_files_in_the_panel(lab, tmp_path):
    """The issue's browser steps: toggle a pin from a cell and see the pin view change; press
    a bench button and see an IRQ handler's output; upload (file input and drag and drop),
    open, edit, save, download and delete a board file."""
    page = lab.page
    with lab.explain_failure():
        light_theme(lab.server)  # an earlier test may have left the dark one
        lab.server.api(
            "PUT",
            "contents/bench.ipynb",
            {
                "type": "notebook",
                "format": "json",
                "content": notebook(
                    "from machine import Pin\nled = Pin(2, Pin.OUT)\nled.value(1)",
                    "import time\npressed = []\nboot = Pin(0, Pin.IN, Pin.PULL_UP)\n"
                    "boot.irq(lambda p: (pressed.append(p), print('IRQ: button pressed on', p)), Pin.IRQ_FALLING)\n"
                    "start = time.ticks_ms()\nwhile not pressed and time.ticks_diff(time.ticks_ms(), start) < 25000:\n"
                    "    time.sleep(0.05)\nprint('waited', len(pressed))",
                    "print(open('hello_board.py').read())",
                    "led.value(0)",
                ),
            },
        )
        page.goto(lab.server.page_url("lab/tree/bench.ipynb"))
        panel = page.locator(".jp-NotebookPanel")
        status = page.locator(STATUS_ITEM)
        expect(status).to_have_attribute("data-state", "idle")
        expect(status).to_contain_text("KB free")
        status.click()
        board = page.locator(PANEL)
        expect(board).to_be_visible()

        # The pin view: labels from the board profile, live levels from the emulator's bench.
        pin2 = board.locator(".jp-ESP32-pin[data-gpio='2']")
        expect(pin2.locator(".jp-ESP32-pinLabel")).to_have_text("IO2")
        expect(board.locator(".jp-ESP32-pin[data-gpio='36'] .jp-ESP32-pinLabel")).to_have_text("SVP")
        expect(pin2).to_have_attribute("data-look", "unused")
        run_cell(page, panel, 0)
        expect(pin2).to_have_attribute("data-look", "out-high")
        assert "output, high (1)" in (pin2.get_attribute("title") or "")

        # The bench: the DevKitC's BOOT button is on GPIO 0; press it while a cell waits for
        # it, and the cell's IRQ handler prints.
        bench = board.locator(".jp-ESP32-bench")
        expect(bench.locator(".jp-ESP32-part[data-kind='button'][data-gpio='0']")).to_contain_text("push button")
        run_cell(page, panel, 1)
        expect(status).to_have_attribute("data-state", "busy")
        pin0 = board.locator(".jp-ESP32-pin[data-gpio='0']")
        expect(pin0).to_have_attribute("data-look", "in-high")  # pulled up: the cell has set it up
        bench.get_by_role("button", name="Press the button on GPIO 0").click()
        output = panel.locator(".jp-CodeCell").nth(1).locator(".jp-OutputArea-output")
        expect(output).to_contain_text("IRQ: button pressed on Pin(0)")
        expect(output).to_contain_text("waited 1")
        expect(status).to_have_attribute("data-state", "idle")

        # A potentiometer on an ADC pin: the pin shows its voltage; the slider moves it.
        bench.locator(".jp-ESP32-addKind").select_option("pot")
        bench.locator(".jp-ESP32-addPin").select_option("34")
        bench.get_by_role("button", name="Add").click()
        pin34 = board.locator(".jp-ESP32-pin[data-gpio='34']")
        expect(pin34.locator(".jp-ESP32-pinTag")).to_have_text("1.65 V")
        bench.get_by_label("Potentiometer on GPIO 34").fill("0.8")
        expect(pin34.locator(".jp-ESP32-pinTag")).to_have_text("2.64 V")
        expect(bench.locator(".jp-ESP32-part[data-kind='pot']")).to_contain_text("80%")

        # A Bluetooth LE sensor in the board's air: no pin; its slider sets what it reads.
        bench.locator(".jp-ESP32-addKind").select_option("ble_sensor")
        expect(bench.locator(".jp-ESP32-addPin")).to_be_disabled()
        bench.get_by_role("button", name="Add").click()
        ble_row = bench.locator(".jp-ESP32-part[data-kind='ble']")
        expect(ble_row).to_contain_text("BLE sensor1")
        expect(ble_row).to_contain_text("21 °C, 45 %RH · 0 connections")
        bench.get_by_label("Temperature (°C) of sensor1").fill("30")
        expect(ble_row).to_contain_text("30 °C, 45 %RH")  # as the emulator's bench now describes it

        # Files: upload with the file input, then by dropping a file on the section.
        files = board.locator(".jp-ESP32-files")
        expect(files.locator(".jp-ESP32-folder")).to_have_text("/")
        expect(files.locator(".jp-ESP32-hint", has_text="Listing")).to_have_count(0)
        files.locator(".jp-ESP32-fileInput").set_input_files(
            files=[{"name": "hello_board.py", "mimeType": "text/x-python", "buffer": b"print('hello from the board')\n"}]
        )
        row = files.locator(".jp-ESP32-file", has_text="hello_board.py")
        expect(row).to_contain_text("30 B")
        board.locator(".jp-ESP32-filesBox").evaluate(
            """node => {
                const data = new DataTransfer();
                data.items.add(new File(['x = 42\\n'], 'dropped.py', { type: 'text/x-python' }));
                for (const type of ['dragover', 'drop']) {
                    node.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
                }
            }"""
        )
        dropped = files.locator(".jp-ESP32-file", has_text="dropped.py")
        expect(dropped).to_contain_text("7 B")

        # The picture: a taller window and a wider sidebar, so that the whole panel shows.
        page.set_viewport_size({"width": 1280, "height": 1500})
        handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
        box = handle.bounding_box()
        if box:
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 300)
            page.mouse.down()
            page.mouse.move(470, box["y"] + 300, steps=5)
            page.mouse.up()
        page.mouse.move(900, 1400)  # no hover highlight in the picture
        board.evaluate("node => node.scrollTo(0, 0)")
        expect(row).to_be_visible()
        lab.screenshot(ARTIFACTS / "board-panel-live.png")
        if not DOCS_SCREENSHOT.exists() or os.environ.get("UPDATE_DOCS_SCREENSHOT") == "1":
            lab.screenshot(DOCS_SCREENSHOT)
        page.set_viewport_size({"width": 1100, "height": 850})

        # Open the file in JupyterLab's editor, change it, save it back to the board.
        row.get_by_role("button", name="Open hello_board.py").click()
        editor_tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="hello_board.py")
        expect(editor_tab).to_be_visible()
        editor = page.locator(".jp-FileEditor .cm-content")
        expect(editor).to_contain_text("print('hello from the board')")
        editor.click()
        page.keyboard.press("Control+End")
        page.keyboard.type("print('edited in JupyterLab')")
        page.keyboard.press("Control+s")
        expect(editor_tab).not_to_have_class(re.compile(r"jp-mod-dirty"))
        expect(row).to_contain_text("59 B")  # the panel lists the folder again after a save
        lab.screenshot(ARTIFACTS / "board-file-editor.png")

        # The board runs the saved file.
        page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="bench.ipynb").click()
        run_cell(page, panel, 2)
        output = panel.locator(".jp-CodeCell").nth(2).locator(".jp-OutputArea-output")
        expect(output).to_contain_text("hello from the board")
        expect(output).to_contain_text("edited in JupyterLab")
        run_cell(page, panel, 3)
        expect(pin2).to_have_attribute("data-look", "out-low")

        # Download, then delete.
        expect(status).to_have_attribute("data-state", "idle")
        with page.expect_download() as download_info:
            dropped.get_by_role("button", name="Download dropped.py").click()
        download = download_info.value
        assert download.suggested_filename == "dropped.py"
        target = tmp_path / "dropped.py"
        download.save_as(target)
        assert target.read_bytes() == b"x = 42\n"
        dropped.get_by_role("button", name="Delete dropped.py").click()
        page.locator(".jp-Dialog").get_by_role("button", name="Delete").click()
        expect(dropped).to_have_count(0)
        expect(row).to_be_visible()
