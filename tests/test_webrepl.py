"""WebREPL (ws://): the emulated board's server (MicroPython v1.24's protocol) and the
kernel's WebREPL link, end to end through jupyter_client with the password asked for."""

from __future__ import annotations

import socket
import struct

import pytest
import websocket

from board_helpers import wait_for
from esp32_kernel.board import Board
from esp32_kernel.emulator.process import launch
from kernel_harness import HANG_GUARD, collect, next_output, run_cell, run_cell_answering, start_kernel

PASSWORD = "s3cret!"
WIFI_AP_ON = "import network\nnetwork.WLAN(network.AP_IF).active(True)\n"


def on_the_console(emulator, code: str) -> str:
    """Run `code` on the board through its serial console (the UART), then let go of it."""
    board = Board(emulator.url)
    board.connect()
    try:
        return board.exec(code)
    finally:
        board.close()


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    """An emulated board whose boot-time set-up a user would make: WiFi up, and WebREPL
    started from webrepl_cfg.py as webrepl_setup leaves it."""
    with launch(board_dir=tmp_path_factory.mktemp("board"), webrepl_port=0) as emu:
        said = on_the_console(
            emu,
            f"with open('webrepl_cfg.py', 'w') as f:\n    f.write({f'PASS = {PASSWORD!r}' + chr(10)!r})\n"
            + WIFI_AP_ON + "import webrepl\nwebrepl.start()",
        )
        assert "Started webrepl in normal mode" in said
        assert "WebREPL server started on http://192.168.4.1:8266/" in said
        yield emu


@pytest.fixture(scope="module")
def url(emulator):
    return emulator.webrepl_url()


@pytest.fixture(scope="module")
def kernel(tmp_path_factory, url):
    # Configured for the WebREPL but given no password: it cannot connect at start-up.
    tmp = tmp_path_factory.mktemp("kernel")
    km, kc = start_kernel(tmp, ESP32_KERNEL_PORT=url)
    km.notebook_dir = tmp / "notebooks"
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def open_websocket(url: str) -> websocket.WebSocket:
    return websocket.create_connection(url, timeout=HANG_GUARD, skip_utf8_validation=True)


def log_in(ws: websocket.WebSocket, password: str) -> bytes:
    assert ws.recv_data() == (websocket.ABNF.OPCODE_TEXT, b"Password: ")
    ws.send(password + "\r")
    said = b""
    while b">>> " not in said and b"denied" not in said:
        said += ws.recv_data()[1]
    return said


# The emulated board's server ------------------------------------------------------------


def test_frames_as_a_client_library_masks_them_are_read_back_whole():
    """The server's frame reader, fed what websocket-client writes (masked, fragmented, a
    16-bit and a 64-bit length), one byte at a time and all at once."""
    from esp32_kernel.emulator.webrepl_server import OP_BINARY, OP_TEXT, FrameReader

    big = bytes(range(256)) * 300  # 76800 bytes: a 64-bit length
    wire = b"".join(
        websocket.ABNF.create_frame(data, opcode, fin).format()
        for data, opcode, fin in [
            (b"print(1)\x04", websocket.ABNF.OPCODE_TEXT, 1),
            (b"x" * 300, websocket.ABNF.OPCODE_TEXT, 0),  # a fragmented message: 16-bit lengths
            (b"y" * 5, websocket.ABNF.OPCODE_CONT, 1),
            (big, websocket.ABNF.OPCODE_BINARY, 1),
        ]
    )
    expected = [(OP_TEXT, b"print(1)\x04"), (OP_TEXT, b"x" * 300), (OP_TEXT, b"y" * 5), (OP_BINARY, big)]
    assert FrameReader().feed(wire) == expected
    reader = FrameReader()
    assert [f for i in range(len(wire)) for f in reader.feed(wire[i : i + 1])] == expected


def test_the_board_serves_webrepl_only_once_started_and_reports_where(tmp_path):
    with launch(board_dir=tmp_path, webrepl_port=0) as emu:
        assert emu.webrepl_url() is None
        said = on_the_console(emu, "import webrepl\nwebrepl.start()")
        assert "WebREPL is not configured, run 'import webrepl_setup'" in said
        assert emu.webrepl_url() is None
        on_the_console(emu, "import webrepl\nwebrepl.start(password='abc123')")
        url = emu.webrepl_url()
        assert url.startswith("ws://127.0.0.1:") and not url.endswith(":0")
        # The WiFi is off: as on a board, no client reaches it.
        with pytest.raises((websocket.WebSocketException, ConnectionError)):
            open_websocket(url).recv_data()


def test_password_prompt_get_ver_and_access_denied(emulator, url):
    ws = open_websocket(url)
    assert log_in(ws, PASSWORD) == b"\r\nWebREPL connected\r\n>>> "
    header = struct.pack("<2sBBQIH64s", b"WA", 3, 0, 0, 0, 0, b"")  # GET_VER
    ws.send_binary(header)
    assert ws.recv_data() == (websocket.ABNF.OPCODE_BINARY, bytes((1, 24, 0)))
    assert emulator.status()["webrepl_client"] is not None
    # One client at a time: a second is turned away.
    with pytest.raises((websocket.WebSocketException, ConnectionError)):
        open_websocket(url).recv_data()
    ws.close()
    wait_for(lambda: emulator.status()["webrepl_client"] is None)

    ws = open_websocket(url)
    assert log_in(ws, "wrong") == b"\r\nAccess denied\r\n"
    with pytest.raises((websocket.WebSocketException, ConnectionError)):
        while True:
            assert ws.recv_data()[0] != websocket.ABNF.OPCODE_TEXT
    ws.close()


def test_a_plain_http_request_gets_the_webrepl_page(url):
    host, port = url.removeprefix("ws://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=HANG_GUARD) as http:
        http.sendall(b"GET / HTTP/1.1\r\nHost: board\r\n\r\n")
        page = b""
        while chunk := http.recv(4096):
            page += chunk
    assert page.startswith(b"HTTP/1.0 200 OK") and b"webrepl_content.js" in page


# The kernel over WebREPL ----------------------------------------------------------------


def test_a_configured_webrepl_asks_for_its_password_at_the_first_cell(kernel, url):
    _, kc = kernel
    run = collect(kc, kc.execute("1 + 1", allow_stdin=False))  # a front end with no input box
    assert run.status == "error"
    text = run.stdout + run.error["evalue"]
    assert f"WebREPL at {url} needs its password" in text and "ESP32_KERNEL_WEBREPL_PASSWORD" in text
    run, request = run_cell_answering(kc, "1 + 1", PASSWORD)
    assert request == {"prompt": f"WebREPL password for {url}: ", "password": True}
    assert f"Connected to the ESP32 over WebREPL at {url}." in run.stdout
    assert run.result == "2"
    assert "Disconnected" in run_cell(kc, "%disconnect").stdout


def test_connect_asks_for_the_password_and_cells_run(kernel, url):
    _, kc = kernel
    run, request = run_cell_answering(kc, f"%connect {url}", PASSWORD)
    assert request == {"prompt": f"WebREPL password for {url}: ", "password": True}
    assert f"Connected to the ESP32 over WebREPL at {url}." in run.stdout
    run = run_cell(kc, "import sys\nprint(sys.platform)\n6 * 7")
    assert run.status == "ok", run.error
    assert run.stdout == "esp32\n" and run.result == "42"


def test_a_5_kb_cell_goes_through_raw_paste(kernel):
    _, kc = kernel
    body = "total = 0\n" + "".join(f"total += {i}  # {'x' * 10}\n" for i in range(200))
    assert len(body) > 5000
    run = run_cell(kc, body + "total")
    assert run.status == "ok", run.error
    assert run.result == str(sum(range(200)))


def test_put_sends_a_binary_file_over_webrepl(kernel):
    km, kc = kernel
    (km.notebook_dir / "blob.bin").write_bytes(bytes(range(256)) * 8)
    run = run_cell(kc, "%put blob.bin")
    assert "Copied blob.bin → blob.bin on the board" in run.stdout, run.stdout
    assert run_cell(kc, "open('blob.bin', 'rb').read() == bytes(range(256)) * 8").result == "True"


def test_interrupt_stops_a_loop_over_webrepl(kernel):
    km, kc = kernel
    msg_id = kc.execute("print('looping')\nn = 0\nwhile True:\n    n += 1")
    assert "looping" in next_output(kc, msg_id)["content"]["text"]
    km.interrupt_kernel()
    run = collect(kc, msg_id)
    assert run.reply["content"]["ename"] == "KeyboardInterrupt"
    assert run_cell(kc, "n > 0").result == "True"


def test_safe_boot_needs_the_serial_port_and_the_webrepl_link_stays(kernel, url):
    _, kc = kernel
    run = run_cell(kc, "%safe")
    assert run.reply["content"]["ename"] == "RecoveryError"
    assert f"{url} is a WebREPL link, which cannot catch the board as it boots" in run.reply["content"]["evalue"]
    assert "Connected to the ESP32 over WebREPL" in run.stdout  # back on it, with the password it kept
    assert run_cell(kc, "'still here'").result == "'still here'"


def test_a_wrong_password_is_a_clear_error_and_the_kernel_stays_usable(kernel, url):
    _, kc = kernel
    run_cell(kc, "%disconnect")
    run, _ = run_cell_answering(kc, f"%connect {url}", "not-it")
    assert run.reply["content"]["ename"] == "AccessDenied"
    assert f"WebREPL at {url} refused the password — check it" in run.reply["content"]["evalue"]
    assert run_cell(kc, "%%host\n3 * 3").result == "9"
    # Refused, it is not remembered: the next %connect asks again.
    run, _ = run_cell_answering(kc, f"%connect {url}", PASSWORD)
    assert "Connected to the ESP32 over WebREPL" in run.stdout
    assert run_cell(kc, "'back'").result == "'back'"


def test_a_front_end_without_input_gets_told_to_use_the_environment(kernel, url):
    _, kc = kernel
    run_cell(kc, "%disconnect")
    run = collect(kc, kc.execute(f"%connect {url}", allow_stdin=False))
    assert run.status == "error"
    assert "cannot ask for one — set ESP32_KERNEL_WEBREPL_PASSWORD" in run.reply["content"]["evalue"]


def test_no_webrepl_listening_is_a_clear_error(kernel):
    _, kc = kernel
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    run, _ = run_cell_answering(kc, f"%connect ws://127.0.0.1:{free}", "whatever")
    assert run.reply["content"]["ename"] == "NothingListening"
    assert f"nothing is listening at ws://127.0.0.1:{free} — is WebREPL started on the board" in run.reply["content"]["evalue"]
    assert run_cell(kc, "%%host\n'still here'").result == "'still here'"


def test_a_board_whose_wifi_is_off_is_a_clear_error(kernel, emulator, url):
    _, kc = kernel
    run_cell(kc, "%disconnect")
    on_the_console(emulator, "import network\nnetwork.WLAN(network.AP_IF).active(False)")
    run, _ = run_cell_answering(kc, f"%connect {url}", PASSWORD)
    refused = run.reply["content"]
    assert refused["ename"] == "ConnectionClosed"
    assert "closed the connection before WebREPL answered" in refused["evalue"] and "WiFi up" in refused["evalue"]
    # A station that joined an access point makes it reachable again, as on a board.
    emulator.add_ap("LabNet", "lab-pass-1")
    on_the_console(
        emulator,
        "import network, time\nw = network.WLAN(network.STA_IF)\nw.active(True)\n"
        "w.connect('LabNet', 'lab-pass-1')\nwhile not w.isconnected():\n    time.sleep_ms(20)",
    )
    run, _ = run_cell_answering(kc, f"%connect {url}", PASSWORD)
    assert "Connected to the ESP32 over WebREPL" in run.stdout
    assert run_cell(kc, "import network\nnetwork.WLAN(network.STA_IF).isconnected()").result == "True"


def test_a_reset_drops_the_link_and_the_kernel_reconnects_when_boot_py_restarts_webrepl(kernel, url):
    _, kc = kernel
    run_cell(kc, "%disconnect")
    run, _ = run_cell_answering(kc, f"%connect {url}", PASSWORD)
    assert "Connected to the ESP32 over WebREPL" in run.stdout
    boot = WIFI_AP_ON + "import webrepl\nwebrepl.start()\n"
    assert run_cell(kc, f"with open('boot.py', 'w') as f:\n    f.write({boot!r})").status == "ok"
    run = run_cell(kc, "import machine\nmachine.reset()")
    assert run.status == "error" and run.error["ename"] in ("LinkLost", "BoardReset")
    # The kernel kept the password in memory: it logs in again once the board is back.
    reconnected = "%%host\nb = get_ipython().kernel.boards.board\nb is not None and b.connected"
    wait_for(lambda: run_cell(kc, reconnected).result == "True", timeout=HANG_GUARD)
    run = run_cell(kc, "import machine\nmachine.reset_cause() == machine.HARD_RESET")
    assert run.status == "ok", run.error
    assert "Reconnected: Connected to the ESP32 over WebREPL" in run.stdout
    assert run.result == "True"
    run_cell(kc, "import os\nos.remove('boot.py')")


def test_the_password_can_come_from_the_environment(tmp_path, kernel, url):
    _, first = kernel
    run_cell(first, "%disconnect")  # one WebREPL client at a time
    km, kc = start_kernel(tmp_path, ESP32_KERNEL_PORT=url, ESP32_KERNEL_WEBREPL_PASSWORD=PASSWORD)
    try:
        run = run_cell(kc, "'over the air'")
        assert f"Connected to the ESP32 over WebREPL at {url}." in run.stdout
        assert run.result == "'over the air'"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
