"""webserial:// through the real kernel, the Jupyter server's relay and an emulated board, with
the page's part played in Python (webserial_harness.py): what a browser cannot be made to do
on purpose — be missing, refuse, go silent, send a wrong token. The real page's run is
test_lab_webserial.py.
"""

from __future__ import annotations

import socket
import time

import pytest
import serial
import websocket

from kernel_harness import HANG_GUARD, collect, fails, ok, run_cell, running_kernel
from lab_fixtures import lab_server  # noqa: F401
from test_labcomm import Comm
from webserial_harness import StandInBrowser

from esp32_kernel.emulator import launch
from esp32_kernel.link import protocol_webserial
from esp32_kernel.link.serial_link import pulse_reset


@pytest.fixture(scope="module")
def desk_board(tmp_path_factory):
    emulator = launch(board_dir=tmp_path_factory.mktemp("desk"), webserial=True)
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    with running_kernel(tmp_path_factory.mktemp("webserial")) as km_kc:
        yield km_kc


@pytest.fixture
def page(kernel, lab_server, desk_board):
    """The kernel's front end: its board comm, and the page's Web Serial part."""
    _, kc = kernel
    comm = Comm(kc)
    comm.run("1")
    browser = StandInBrowser(lab_server.url, lab_server.token, desk_board.webserial_url)
    yield comm, browser
    browser.close()
    comm.close()
    ok(kc, "%connect emulator")  # the next test starts from the kernel's own board


def connect(comm: Comm, browser: StandInBrowser, **answer):
    """Run %connect webserial: and let the page answer the kernel's request; the cell's run."""
    kc = comm.kc
    msg_id = kc.execute("%connect webserial:")
    request = comm.wait_for(lambda d: d.get("type") == "webserial", "the kernel's request for a port")
    assert set(request) == {"type", "bridge", "token", "baud", "signals"}
    assert request["baud"] == 115200 and request["signals"] == {"dataTerminalReady": False, "requestToSend": False}
    browser.serve(request, **answer)
    return collect(kc, msg_id)


def test_cells_run_on_the_browsers_port_and_a_silent_network_ends_the_cell(page, desk_board):
    comm, browser = page
    kc = comm.kc
    run = connect(comm, browser)
    assert run.status == "ok", run.reply["content"]
    assert "Connected to the ESP32 on this browser's computer (Web Serial)" in run.stdout
    assert comm.state(lambda s: s["port"] == "webserial://" and s["connected"], "connected over Web Serial")
    assert ok(kc, "print(6 * 7)") == "42\n"

    # The network goes (no pings answered, no bytes through): the running cell ends in error.
    msg_id = kc.execute("import time\nwhile True:\n    time.sleep_ms(10)")
    time.sleep(0.3)  # the loop is running
    browser.silent = True
    run = collect(kc, msg_id)
    assert run.status == "error"
    assert "no word from the browser" in run.error["evalue"] + "".join(run.error["traceback"]), run.error
    # and the next cell says how to get the board back
    dead = run_cell(kc, "print(1)")
    assert dead.status == "error" and "Reconnect button" in dead.error["evalue"], dead.error


def test_closing_the_tab_ends_the_running_cell(page):
    comm, browser = page
    kc = comm.kc
    assert connect(comm, browser).status == "ok"
    msg_id = kc.execute("import time\nwhile True:\n    time.sleep_ms(10)")
    time.sleep(0.3)  # the loop is running
    browser.close()  # the page's WebSockets close with its tab
    run = collect(kc, msg_id)
    assert run.status == "error"
    assert "the browser closed the link (its tab was closed or reloaded" in run.error["evalue"], run.error


def test_a_refused_prompt_is_an_error_and_the_board_before_stays(page):
    comm, browser = page
    kc = comm.kc
    before = comm.state(lambda s: s["connected"])["port"]
    run = connect(comm, browser, refuse="no port was chosen in the browser (its prompt was cancelled)")
    assert run.status == "error"
    assert "no port was chosen" in run.error["evalue"], run.error
    assert comm.state(lambda s: s["connected"])["port"] == before
    assert ok(kc, "print('still here')") == "still here\n"


def test_without_a_page_the_error_says_where_web_serial_works(kernel):
    _, kc = kernel
    out = fails(kc, "%connect webserial:", "WebSerial")
    assert "JupyterLab" in out and "Chrome or Edge" in out, out
    assert ok(kc, "print('kept')") == "kept\n"  # the board before is still connected


def read_until(port, wanted: bytes) -> bytes:
    heard = b""
    deadline = time.monotonic() + HANG_GUARD
    while wanted not in heard and time.monotonic() < deadline:
        heard += port.read(max(1, port.in_waiting))
    return heard


def test_the_bridge_takes_only_the_browser_with_its_token(desk_board, lab_server, monkeypatch):
    """Any local process can reach the bridge's port: without the request's token it is
    turned away, and the browser that has it is still taken."""
    browser = StandInBrowser(lab_server.url, lab_server.token, desk_board.webserial_url)

    def front_end(request: dict) -> None:
        intruder = socket.create_connection(("127.0.0.1", request["bridge"]))
        intruder.sendall(protocol_webserial.pack_control({"token": "guessed"}))
        browser.serve(request)

    monkeypatch.setattr(protocol_webserial, "front_end", front_end)
    port = serial.serial_for_url("webserial://", timeout=2)
    try:
        assert port.info == {"usbVendorId": 0x10C4, "usbProductId": 0xEA60}
        pulse_reset(port)  # RTS through the page: a fresh boot, whatever an earlier test left running
        assert b">>> " in read_until(port, b">>> ")
        port.write(b"print(6 * 7)\r")
        assert b"42\r\n" in read_until(port, b"42\r\n")
    finally:
        port.close()
        browser.close()


def test_the_relay_needs_jupyter_authentication(lab_server):
    relay = lab_server.url.replace("http", "ws", 1) + "/esp32-kernel/webserial?bridge=1"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(relay, timeout=10)
    assert refused.value.status_code == 403
    with socket.socket() as s:  # a port where no kernel waits
        s.bind(("127.0.0.1", 0))
        idle = s.getsockname()[1]
    with pytest.raises(websocket.WebSocketBadStatusException) as nobody:
        websocket.create_connection(f"{relay[:-1]}{idle}&token={lab_server.token}", timeout=10)
    assert nobody.value.status_code == 502
    with pytest.raises(websocket.WebSocketBadStatusException) as bad:
        websocket.create_connection(relay.replace("bridge=1", "bridge=x") + f"&token={lab_server.token}", timeout=10)
    assert bad.value.status_code == 400
