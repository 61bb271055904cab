"""The board on the student's desk, the kernel on the server (issue 18): a Web Serial port of
the browser, carried by the lab extension and the Jupyter server to the kernel.

Chromium cannot be given a virtual serial port here, so the page gets a `navigator.serial`
whose one port is a WebSocket to an emulated board (`--webserial`: binary messages are the
serial line, `setSignals` reaches its DTR/RTS and so its EN pin). Everything else is real:
JupyterLab, the extension, the server's WebSocket, the kernel and the emulated board. What
this does not prove is the browser's own serial driver (see the README).
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from lab_fixtures import LEVEL_SOURCE, NEEDS_CHROMIUM, control, notebook
from lab_fixtures import browser, lab, lab_server  # noqa: F401

from test_flash import make_firmware

from esp32_kernel.emulator import launch

pytestmark = NEEDS_CHROMIUM
PANEL = "#esp32-kernel-board-panel"

# A SerialPort as Chromium's Web Serial has it, whose far end is the emulator's WebSocket.
# It records what the page asked of it (opens, signals) in window.__webserial.
FAKE_WEB_SERIAL = """(url) => {
  const seen = window.__webserial = {opens: [], signals: [], requests: 0};
  class Port extends EventTarget {
    constructor() { super(); this.ws = null; this.readable = null; this.writable = null; }
    getInfo() { return {usbVendorId: 0x10c4, usbProductId: 0xea60}; }
    async open({baudRate}) {
      if (this.ws) throw new DOMException('The port is already open.', 'InvalidStateError');
      const ws = new WebSocket(url);
      ws.binaryType = 'arraybuffer';
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new DOMException('Failed to open serial port.', 'NetworkError'));
      });
      this.ws = ws;
      seen.opens.push(baudRate);
      this.readable = new ReadableStream({start: controller => {
        ws.onmessage = event => controller.enqueue(new Uint8Array(event.data));
        ws.onclose = () => {
          if (this.ws !== ws) return;  // closed by close(), not lost
          this.ws = null;
          controller.error(new DOMException('The device has been lost.', 'NetworkError'));
          this.dispatchEvent(new Event('disconnect'));
        };
      }});
      this.writable = new WritableStream({write: chunk => ws.send(chunk)});
    }
    async setSignals(signals) {
      seen.signals.push(signals);
      this.ws.send(JSON.stringify({signals}));
    }
    async close() {
      const ws = this.ws;
      this.ws = this.readable = this.writable = null;
      if (ws) await new Promise(resolve => { ws.onclose = resolve; ws.close(); });
    }
  }
  const port = new Port();
  let granted = false;
  const serial = new EventTarget();
  serial.requestPort = async () => { seen.requests += 1; granted = true; return port; };
  serial.getPorts = async () => (granted ? [port] : []);
  Object.defineProperty(navigator, 'serial', {value: serial, configurable: true});
}"""

PLOT = """%plot level --window 10s --height 200
import time
from nb import emit
for i in range(30):
    emit(level=i)
    time.sleep_ms(20)
print('plotted')"""
LOOP = "import time\nwhile True:\n    time.sleep_ms(10)"
BIG = "N = " + repr("x" * 3000)  # a file of a few KB: raw-paste flow control over the link
CELLS = [
    "%connect webserial:",
    "import sys\nprint(sys.platform, 6 * 7)",
    f"%%writefile big.py\n{BIG}\n",
    "import big\nprint(len(big.N))",
    PLOT,
    LOOP,
    "%reset --hard",
    LOOP,
    "print('back', 1 + 1)",
    "%safe",
    "%flash good.bin --baud 230400",
    "print('flashed', 6 * 7)",
    "%mount project\nimport sensors\nprint(sensors.WHERE)",
]


@pytest.fixture
def desk_board(tmp_path):
    """The emulated board on the student's desk: its UART as the browser's port would carry it."""
    emulator = launch(board_dir=tmp_path / "desk", webserial=True)
    yield emulator
    emulator.stop()


def output(panel, index: int):
    return panel.locator(".jp-CodeCell").nth(index).locator(".jp-OutputArea")


def run(page, panel, index: int) -> None:
    panel.locator(".jp-CodeCell").nth(index).locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")


def prompt_done(panel, index: int) -> None:
    """The cell has run (its prompt has a number)."""
    expect(panel.locator(".jp-CodeCell").nth(index).locator(".jp-InputPrompt")).to_have_text(re.compile(r"\[\d+\]:"))


def test_a_board_on_this_computer_through_web_serial(lab, desk_board):
    page = lab.page
    page.context.add_init_script(script=f"({FAKE_WEB_SERIAL})({json.dumps(desk_board.webserial_url)})")
    with lab.explain_failure():
        panel = lab.open_notebook("desk.ipynb", notebook(CELLS))

        # %connect webserial: asks the page; the page asks the user, whose click opens the chooser.
        run(page, panel, 0)
        dialog = page.locator(".jp-Dialog")
        expect(dialog).to_contain_text("Connect a board on this computer")
        dialog.get_by_role("button", name="Choose port…").click()
        expect(output(panel, 0)).to_contain_text("Connected to the ESP32 on this browser's computer (Web Serial)")
        seen = page.evaluate("window.__webserial")
        assert seen["requests"] == 1 and seen["opens"] == [115200]
        # opened with both lines released, as the kernel's serial links hold them: no reset
        assert seen["signals"][0] == {"dataTerminalReady": False, "requestToSend": False}
        status = page.locator("#jp-main-statusbar .jp-ESP32-statusItem")
        expect(status).to_contain_text("ESP32 on this computer")

        # A cell, a file upload and a live plot, over the browser's port.
        run(page, panel, 1)
        expect(output(panel, 1)).to_contain_text("esp32 42")
        run(page, panel, 2)
        prompt_done(panel, 2)
        run(page, panel, 3)
        expect(output(panel, 3)).to_contain_text("3000")
        run(page, panel, 4)
        expect(output(panel, 4)).to_contain_text("plotted")
        page.wait_for_function(f"(() => {{ const s = ({LEVEL_SOURCE})(); return s && s.length === 30 && s.last === 29; }})")

        # Ctrl-C: the interrupt reaches running code through the page.
        run(page, panel, 5)
        expect(panel.locator(".jp-CodeCell").nth(5).locator(".jp-InputPrompt")).to_have_text("[*]:")
        panel.locator(".jp-NotebookPanel-toolbar [data-command='notebook:interrupt-kernel']").click()
        expect(output(panel, 5)).to_contain_text("KeyboardInterrupt")

        # A hard reset drives RTS through setSignals: the auto-reset circuit pulls EN low.
        before = len(page.evaluate("window.__webserial.signals"))
        run(page, panel, 6)
        expect(output(panel, 6)).to_contain_text("Hard reset (RTS on the EN pin)")
        pulses = page.evaluate("window.__webserial.signals")[before:]
        assert {"requestToSend": True} in pulses and pulses[-1] == {"requestToSend": False}, pulses

        # Unplugging the board ends the running cell with an error that says so.
        run(page, panel, 7)
        expect(panel.locator(".jp-CodeCell").nth(7).locator(".jp-InputPrompt")).to_have_text("[*]:")
        assert control(desk_board.control_address, "drop_client")[0]["dropped"] is True
        expect(output(panel, 7)).to_contain_text("unplugged")
        prompt_done(panel, 7)

        # Reconnecting is one click in the board panel: the port chosen before, no chooser.
        status.click()
        board = page.locator(PANEL)
        board.get_by_role("button", name="Reconnect").click()
        expect(board.locator(".jp-ESP32-notice")).to_contain_text("Connected to the ESP32 on this browser's computer")
        assert page.evaluate("window.__webserial.requests") == 1
        run(page, panel, 8)
        expect(output(panel, 8)).to_contain_text("back 2")

        # %safe resets the board through the lines and catches it as it boots.
        run(page, panel, 9)
        expect(output(panel, 9)).to_contain_text("Stopped the board while it booted")
        expect(output(panel, 9)).to_contain_text("Connected to the ESP32 on this browser's computer")

        # %flash: DTR/RTS put the chip in its ROM bootloader, esptool writes at a new speed
        # (the page reopens its port at it), a reset boots the new firmware.
        (lab.server.root / "good.bin").write_bytes(make_firmware())
        run(page, panel, 10)
        expect(output(panel, 10)).to_contain_text("Hash of data verified.")
        expect(output(panel, 10)).to_contain_text("Flashed good.bin at 0x1000; the board restarted.")
        assert 230400 in page.evaluate("window.__webserial.opens")
        run(page, panel, 11)
        expect(output(panel, 11)).to_contain_text("flashed 42")
        assert page.evaluate("window.__webserial.requests") == 1  # chosen once, reused by every reopening

        # The panel's own button, while connected: the browser's chooser, then the kernel
        # lets the page's one port go and opens it again.
        status.click()
        opens = len(page.evaluate("window.__webserial.opens"))
        board.get_by_role("button", name="Connect…").click()
        page.wait_for_function("window.__webserial.requests === 2")  # the chooser, once more
        page.wait_for_function(f"window.__webserial.opens.length > {opens}")  # the port opened again
        expect(board.locator(".jp-ESP32-status")).to_contain_text("idle")

        # %mount: the server's folder on the desk's board, through the browser's port.
        (lab.server.root / "project").mkdir()
        (lab.server.root / "project" / "sensors.py").write_text("WHERE = 'read from the server'\n")
        run(page, panel, 12)
        expect(output(panel, 12)).to_contain_text("read from the server")


def test_a_browser_without_web_serial_says_why_and_what_else(lab):
    """Firefox and Safari: no button, the reason and the alternatives instead; a %connect
    webserial: from a cell ends in an error that says the same."""
    page = lab.page
    page.context.add_init_script(script="Object.defineProperty(navigator, 'serial', {value: undefined, configurable: true})")
    with lab.explain_failure():
        panel = lab.open_notebook("firefox.ipynb", notebook(["%connect webserial:", "print('still', 6 * 7)"]))
        page.locator("#jp-main-statusbar .jp-ESP32-statusItem").click()
        row = page.locator(PANEL).locator(".jp-ESP32-port", has_text="This computer")
        expect(row).to_contain_text("This browser has no Web Serial")
        expect(row).to_contain_text("RFC 2217")
        expect(row.get_by_role("button")).to_have_count(0)
        run(page, panel, 0)
        expect(output(panel, 0)).to_contain_text("no Web Serial")
        expect(output(panel, 0)).to_contain_text("WebSerial")  # the error's name: the cell failed
        prompt_done(panel, 0)  # (a cell queued before the error's reply would be dropped with it)
        run(page, panel, 1)
        expect(output(panel, 1)).to_contain_text("still 42")  # the emulated board it had is still there
