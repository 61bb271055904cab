"""`python -m esp32_kernel serve-boards`: a board shared over RFC 2217, one client at a time,
reset between clients. The served port is the emulator's own RFC 2217 port, which carries
DTR/RTS to the emulated chip's EN and IO0 as a USB bridge does (serve-boards takes any
pyserial URL as well as a device)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from esp32_kernel.board import Board, BoardError
from esp32_kernel.emulator.process import launch

from board_helpers import connect_when_free

HANG_GUARD_S = 30


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with launch(board_dir=tmp_path_factory.mktemp("lab-board"), rfc2217=True) as emu:
        server = subprocess.Popen([sys.executable, "-m", "esp32_kernel", "serve-boards", "--port", emu.rfc2217_url],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        try:
            url, device = server.stdout.readline().split()
            assert device == emu.rfc2217_url
            yield emu, url
        finally:
            server.terminate()
            server.wait(HANG_GUARD_S)


def test_a_served_board_runs_code_and_serves_one_client_at_a_time(served):
    emu, url = served
    first = Board(url)
    first.connect()
    try:
        assert first.eval("6 * 7") == 42
        second = Board(url)
        with pytest.raises(BoardError, match=r"serve-boards: .* is in use by 127\.0\.0\.1:\d+; try again when it is free"):
            second.connect()
        first.exec("left_behind = 1")
    finally:
        first.close()
    # the board goes back to the pool reset: nothing the last client left is running or defined
    again = Board(url)
    connect_when_free(again, HANG_GUARD_S)  # once the server has reset the board for the next client
    try:
        assert again.eval("'left_behind' in globals()") is False
    finally:
        again.close()


def test_serve_boards_says_when_there_is_nothing_to_serve():
    done = subprocess.run([sys.executable, "-m", "esp32_kernel", "serve-boards", "--port", "/dev/no-such-board"],
                          capture_output=True, text=True, timeout=HANG_GUARD_S)  # fmt: skip
    assert done.returncode == 1
    assert "serve-boards: /dev/no-such-board not served:" in done.stderr
