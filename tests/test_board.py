"""The Board session against the emulated ESP32: connecting in any state, running, stopping."""

from __future__ import annotations

import time

import pytest
import serial

from esp32_kernel.board import Board, BoardBusy, BoardError, CodeRejected, DeviceError
from esp32_kernel.emulator.process import launch

from board_helpers import flash_files

MAIN_LOOP = "import time\nn = 0\nwhile True:\n    n += 1\n    print('main.py says', n)\n    time.sleep(0.05)\n"


@pytest.fixture
def emulator(tmp_path):
    with launch(board_dir=tmp_path / "board") as emu:
        yield emu


def raw_client(url: str) -> serial.SerialBase:
    return serial.serial_for_url(url, timeout=2)


def read_until(port: serial.SerialBase, marker: bytes, timeout: float = 10) -> bytes:
    data = b""
    deadline = time.monotonic() + timeout
    while marker not in data and time.monotonic() < deadline:
        data += port.read(max(1, port.in_waiting))
    assert marker in data, data
    return data


def test_exec_eval_and_errors(board):
    assert board.exec("print(6 * 7)") == "42\n"
    assert board.eval("[1, 'two', 3.5]") == [1, "two", 3.5]
    with pytest.raises(DeviceError) as caught:
        board.exec("import nosuchmodule")
    assert caught.value.ename == "ImportError"
    assert board.exec("print('still fine')") == "still fine\n"


def test_long_code_uses_raw_paste_and_arrives_intact(board):
    code = "data = " + repr("x" * 3000) + "\nprint(len(data))"
    assert board.exec(code) == "3000\n"
    assert board._repl.paste_supported is True


def test_refuses_a_second_cell_while_one_runs(board):
    running = board.start("import time\ntime.sleep(0.5)")
    with pytest.raises(BoardBusy):
        board.start("print(1)")
    assert running.done.wait(10) and running.error is None


def test_raw_control_bytes_are_refused_before_anything_is_sent(board):
    with pytest.raises(CodeRejected):
        board.start("print('\x04')")
    assert board.exec("print('ok')") == "ok\n"


def test_connects_to_a_board_running_a_main_py_loop(emulator):
    flash_files(emulator).write("main.py", MAIN_LOOP)
    emulator.hard_reset()
    with raw_client(emulator.url) as port:
        read_until(port, b"main.py says")  # it is running, printing
    board = Board(emulator.url)
    board.connect()
    try:
        assert board.eval("n") > 0  # the loop's globals: stopped by Ctrl-C, not reset
    finally:
        board.close()


def test_connects_to_a_board_left_in_raw_or_mid_paste(emulator):
    with raw_client(emulator.url) as port:
        port.write(b"\r\x03\x01")
        read_until(port, b"raw REPL; CTRL-B to exit\r\n>")
        port.write(b"\x05A\x01")
        read_until(port, b"R\x01")
        port.write(b"x = 'half a paste")  # and the client goes away
    board = Board(emulator.url)
    board.connect()
    try:
        assert board.exec("print('clean')") == "clean\n"
    finally:
        board.close()


def test_connects_through_boot_noise(emulator):
    emulator.hard_reset()  # ROM messages and the banner are on their way
    board = Board(emulator.url)
    board.connect()
    try:
        assert board.exec("print(1)") == "1\n"
    finally:
        board.close()


def test_interrupt_escalates_to_a_hard_reset_when_ctrl_c_is_ignored(board):
    stubborn = "while True:\n    try:\n        while True:\n            pass\n    except KeyboardInterrupt:\n        pass\n"
    execution = board.start(stubborn)
    time.sleep(0.2)
    assert board.stop(execution, patience=0.5) == "a hard reset"
    assert execution.rebooted
    assert board.wait_ready(10)
    assert board.exec("print('back')") == "back\n"


def test_board_reset_button_mid_cell_ends_the_cell(emulator, board):
    execution = board.start("import time\nwhile True:\n    time.sleep(0.01)")
    emulator.hard_reset()
    assert execution.done.wait(10)
    assert execution.rebooted
    assert board.exec("print('up again')") == "up again\n"


def test_soft_reset_from_code_ends_the_cell_and_keeps_raw_mode(board):
    execution = board.start("import machine\nmachine.soft_reset()")
    assert execution.done.wait(10)
    assert execution.rebooted == "soft reboot"
    assert board.exec("print('after')") == "after\n"


def test_lost_link_ends_the_cell_with_a_clear_error(emulator, board):
    lost = []
    board.on_lost = lost.append
    execution = board.start("import time\nwhile True:\n    time.sleep(0.01)")
    emulator.drop_client()
    assert execution.done.wait(10)
    assert "lost" in execution.lost
    assert lost and board.lost
    with pytest.raises(BoardError, match="lost"):
        board.start("print(1)")


def test_unknown_port_is_a_clear_error():
    with pytest.raises(BoardError, match="no board found on /dev/ttyNOPE"):
        Board("/dev/ttyNOPE").connect()
    with pytest.raises(BoardError, match="nothing is listening"):
        Board("socket://127.0.0.1:9").connect()


def test_a_second_client_is_told_who_holds_the_board(board, emulator):
    with pytest.raises(BoardError, match="in use by another client"):
        Board(emulator.url).connect()
    assert board.exec("print('first client unharmed')") == "first client unharmed\n"


def test_a_board_that_ignores_ctrl_c_without_a_reset_line_frees_its_port(emulator):
    board = Board(emulator.url)  # no hard_reset: like a board on a link without RTS
    board.connect()
    stubborn = "while True:\n    try:\n        while True:\n            pass\n    except KeyboardInterrupt:\n        pass\n"
    execution = board.start(stubborn)
    time.sleep(0.2)
    assert board.stop(execution, patience=0.3) == "nothing"
    assert "press its reset button" in execution.lost
    assert not board.connected
    emulator.hard_reset()  # the user presses the reset button
    again = Board(emulator.url)
    again.connect()  # the port was released
    try:
        assert again.exec("print('recovered')") == "recovered\n"
    finally:
        again.close()


def test_a_board_served_over_rfc2217(tmp_path):
    from esp32_kernel.serve_boards import BoardServer

    with launch(board_dir=tmp_path / "board") as emulator:
        bridge = BoardServer(emulator.url).start()
        try:
            board = Board(bridge.url)
            board.connect()
            try:
                assert board.exec("print('over rfc2217')") == "over rfc2217\n"
                assert board.eval("6 * 7") == 42
            finally:
                board.close()
        finally:
            bridge.close()
