"""The kernel end to end: jupyter_client → kernel → link → the emulated ESP32 (real MicroPython)."""

from __future__ import annotations

import contextlib
import os
import queue
import sqlite3
import signal
import threading
import time

import pytest

from kernel_harness import HANG_GUARD, fails, next_output, run_cell, start_kernel


def test_first_cell_says_it_uses_the_emulator_and_runs_on_micropython(kc):
    run = run_cell(kc, "import sys\nprint(sys.implementation.name)")
    assert run.status == "ok"
    assert "using the emulated ESP32 at socket://127.0.0.1:" in run.stdout
    assert run.stdout.rstrip().endswith("micropython")


def test_last_expression_is_the_result_and_prints_come_first(kc):
    run = run_cell(kc, "x = 21\nprint('side effect')\nx * 2")
    assert run.status == "ok"
    assert run.stdout == "side effect\n"
    assert run.result == "42"
    assert run.reply["content"]["execution_count"] == run.of_type("execute_result")[0]["content"]["execution_count"]


def test_result_repr_is_micropythons_and_none_shows_nothing(kc):
    # MicroPython's repr escapes non-ASCII characters, unlike CPython's
    assert run_cell(kc, "b'\\x00ab', 'é'").result == "(b'\\x00ab', '\\xe9')"
    assert run_cell(kc, "None").result is None
    assert run_cell(kc, "print(3);").stdout == "3\n"


def test_state_persists_between_cells_and_line_ends_are_jupyters(kc):
    run_cell(kc, "counter = 10")
    run = run_cell(kc, "counter += 5\nprint('a\\nb')\ncounter")
    assert run.stdout == "a\nb\n"
    assert run.result == "15"


def test_micropython_exception_becomes_a_jupyter_error(kc):
    run = run_cell(kc, "x = 1\n\ndef f():\n    return 1 / 0\nf()")
    assert run.status == "error"
    assert run.reply["content"]["ename"] == "ZeroDivisionError"
    assert run.reply["content"]["evalue"] == "divide by zero"
    error = run.error
    assert error["ename"] == "ZeroDivisionError"
    text = "\n".join(error["traceback"])
    assert 'line 4, in f' in text and 'line 5' in text  # the cell's own line numbers
    # the kernel is fine afterwards
    assert run_cell(kc, "x + 1").result == "2"


def test_syntax_error_on_the_board(kc):
    run = run_cell(kc, "def broken(:\n    pass")
    assert run.status == "error"
    assert run.reply["content"]["ename"] == "SyntaxError"


def test_outputs_carry_the_cells_parent_header(kc):
    msg_id = kc.execute("print('mine')\n7")
    for expected in ("stream", "execute_result"):
        msg = next_output(kc, msg_id)
        assert msg["msg_type"] == expected
        assert msg["parent_header"]["msg_id"] == msg_id
    kc.get_shell_msg(timeout=HANG_GUARD)


def test_output_streams_while_the_cell_runs(kc):
    # The first line must reach us while the board still sleeps: no reply yet.
    msg_id = kc.execute("import time\nprint('first')\ntime.sleep(1.5)\nprint('second')")
    first = next_output(kc, msg_id)
    assert first["content"]["text"].startswith("first")
    with pytest.raises(queue.Empty):
        kc.get_shell_msg(timeout=0.2)
    reply = kc.get_shell_msg(timeout=HANG_GUARD)
    assert reply["content"]["status"] == "ok"


def test_long_cell_goes_through_raw_paste(kc):
    body = "total = 0\n" + "".join(f"total += {i}\n" for i in range(800))  # ~10 KB
    run = run_cell(kc, body + "total")
    assert run.status == "ok", run.error
    assert run.result == str(sum(range(800)))


def test_host_cells_run_python_here(kc):
    run = run_cell(kc, "%%host\nimport sys\nprint(sys.implementation.name)\n6 * 7")
    assert run.stdout == "cpython\n"
    assert run.result == "42"


def test_magics_inside_a_device_cell_run_in_order(kc):
    run = run_cell(kc, "print('before')\n%ports\nprint('after')")
    out = run.stdout
    assert out.index("before") < out.index("Now: emulated ESP32") < out.index("after")


def test_bad_magic_input_is_one_clear_line_and_keeps_the_board(kc):
    assert "usage: connect" in fails(kc, "%connect --baud fast", "UsageError")
    assert "no board found on /dev/no-such-port" in fails(kc, "%connect /dev/no-such-port", "BoardNotFound")
    assert run_cell(kc, "1 + 1").result == "2"  # still on the emulator


def test_raw_control_bytes_in_a_cell_are_refused_clearly(kc):
    run = run_cell(kc, "print('\x04')")
    assert run.status == "error"
    assert "Ctrl-D" in run.reply["content"]["evalue"]
    assert run_cell(kc, "2 + 2").result == "4"


def test_interrupt_stops_an_endless_loop_and_the_board_is_usable(kernel):
    km, kc = kernel
    msg_id = kc.execute("n = 0\nwhile True:\n    n += 1")
    threading.Timer(0.5, km.interrupt_kernel).start()
    reply = kc.get_shell_msg(timeout=HANG_GUARD)
    assert reply["parent_header"]["msg_id"] == msg_id
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert run_cell(kc, "n > 0").result == "True"


def test_interrupt_a_printing_loop(kernel):
    km, kc = kernel
    msg_id = kc.execute("i = 0\nwhile True:\n    i += 1\n    print(i)")
    next_output(kc, msg_id)  # it is streaming
    km.interrupt_kernel()
    reply = kc.get_shell_msg(timeout=HANG_GUARD)
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert run_cell(kc, "'alive'").result == "'alive'"


def test_board_reboot_mid_cell_ends_the_cell_and_the_kernel_is_back(kc):
    run_cell(kc, "lost = 1")
    run = run_cell(kc, "import machine\nprint('resetting')\nmachine.reset()")
    assert run.status == "error"
    assert run.reply["content"]["ename"] == "BoardReset"
    assert "rebooted" in run.reply["content"]["evalue"]
    after = run_cell(kc, "'lost' in globals()")
    assert after.status == "ok" and after.result == "False"


def test_soft_reset_mid_cell(kc):
    run = run_cell(kc, "import machine\nmachine.soft_reset()")
    assert run.reply["content"]["ename"] == "BoardReset"
    assert "soft reboot" in run.reply["content"]["evalue"]
    assert run_cell(kc, "3 * 3").result == "9"


def test_kernel_info_is_python_highlighted_without_debugger(kc):
    kc.kernel_info()
    info = kc.get_shell_msg(timeout=HANG_GUARD)["content"]
    assert info["implementation"] == "esp32_kernel"
    assert info["language_info"]["name"] == "python"
    assert info["language_info"]["codemirror_mode"] == {"name": "ipython", "version": 3}
    assert info.get("debugger") is False


def test_emulator_killed_mid_cell_then_reconnects(tmp_path):
    km, kc = start_kernel(tmp_path)
    try:
        run_cell(kc, "pass")  # a device cell waits for the start-up connection; host cells don't
        pid = int(run_cell(kc, "%%host\nget_ipython().kernel.boards.emulator.pid").result)
        msg_id = kc.execute("import time\nwhile True:\n    time.sleep(0.01)")
        time.sleep(0.3)  # let the cell start; the loss is what is measured below
        killed_at = time.monotonic()
        os.kill(pid, signal.SIGKILL)
        reply = kc.get_shell_msg(timeout=HANG_GUARD)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["ename"] == "LinkLost"
        assert "lost" in reply["content"]["evalue"]
        assert time.monotonic() - killed_at < 10  # hang guard; the figure is in bench/
        # The kernel relaunches its emulator: the next cell runs.
        run = run_cell(kc, "print('back')")
        assert run.status == "ok", run.reply
        assert "back" in run.stdout
        assert "Reconnected" in run.stdout or "emulated ESP32" in run.stdout
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def complete(kc, code: str, cursor: int | None = None) -> dict:
    kc.complete(code, len(code) if cursor is None else cursor)
    return kc.get_shell_msg(timeout=HANG_GUARD)["content"]


def test_completion_merges_the_live_board_and_the_esp32_stubs(kc):
    run_cell(kc, "sensor_reading = 17")
    reply = complete(kc, "sensor_re")
    assert reply["matches"] == ["sensor_reading"]  # only the board knows this name
    assert reply["cursor_start"] == 0
    reply = complete(kc, "import machine\nmachine.Pi")
    assert "Pin" in reply["matches"]  # from the stubs even before machine is imported
    assert reply["cursor_start"] == len("import machine\nmachine.")
    reply = complete(kc, "import neop")
    assert reply["matches"] == ["neopixel"]
    assert "%connect" in complete(kc, "%con")["matches"]


def test_completion_of_live_attributes(kc):
    run_cell(kc, "class Thing:\n    colour = 'red'\n    def blink(self): pass\nt = Thing()")
    assert set(complete(kc, "t.")["matches"]) >= {"colour", "blink"}


def test_inspection_shows_stub_docs_and_the_live_value(kc):
    run_cell(kc, "import time\nlimit = 42")
    kc.inspect("time.sleep_ms(10)", 8)
    text = kc.get_shell_msg(timeout=HANG_GUARD)["content"]["data"]["text/plain"]
    assert "sleep_ms(ms: int" in text
    kc.inspect("limit", 3)
    text = kc.get_shell_msg(timeout=HANG_GUARD)["content"]["data"]["text/plain"]
    assert "On the board: limit = 42  (int)" in text


def test_host_cells_complete_as_python_here(kc):
    reply = complete(kc, "%%host\nimport os\nos.pa")
    assert "path" in reply["matches"] or "os.path" in reply["matches"]


def test_values_move_between_host_and_board(kc):
    run_cell(kc, "%%host\nthreshold = 2.5\nlabels = ['a', 'b']")
    assert "Pushed threshold, labels" in run_cell(kc, "%push threshold labels").stdout
    assert run_cell(kc, "threshold * 2, labels[1]").result == "(5.0, 'b')"
    run_cell(kc, "readings = [x * x for x in range(4)]")
    assert "Pulled readings" in run_cell(kc, "%pull readings").stdout
    assert run_cell(kc, "%%host\nsum(readings)").result == "14"


def test_value_magics_refuse_what_they_cannot_move(kc):
    run_cell(kc, "%%host\nimport os\nhandle = os")
    assert "only literals" in fails(kc, "%push handle", "TypeError")
    assert "no host variable nope" in fails(kc, "%push nope", "NameError")
    assert "not a variable name" in fails(kc, "%pull 1x", "UsageError")
    assert "missing_on_board" in fails(kc, "%pull missing_on_board", "NameError")
    run_cell(kc, "import machine")
    assert "not a literal" in fails(kc, "%pull machine", "TypeError")


def test_board_object_in_host_cells(kc):
    run_cell(kc, "on_board = 7")
    run = run_cell(kc, "%%host\nboard.eval('on_board * 6'), board.exec('print(1)')")
    assert run.result == "(42, '1\\n')"


def test_a_multi_line_repr_is_the_result(kc):
    run_cell(kc, "class Table:\n    def __repr__(self):\n        return 'a | b\\n1 | 2'")
    run = run_cell(kc, "Table()")
    assert run.result == "a | b\n1 | 2"
    assert run.stdout == ""


def test_history_is_kept_at_once_and_reaches_the_database_when_idle(kc):
    """IPython's history database is written while the kernel is idle (history_writes.py),
    not during each cell: `In` has every cell at once, the database soon after."""
    for code in ("history_marker_device = 1", "%%host\nhistory_marker_host = 2"):
        assert run_cell(kc, code).status == "ok"
    run = run_cell(kc, "%%host\nprint(get_ipython().history_manager.hist_file)\nprint(In[-3:-1])")
    hist_file, inputs = run.stdout.splitlines()
    assert "history_marker_device = 1" in inputs and "history_marker_host = 2" in inputs
    deadline = time.monotonic() + HANG_GUARD
    while True:
        with contextlib.closing(sqlite3.connect(hist_file)) as db:
            stored = [row[0] for row in db.execute("SELECT source_raw FROM history")]
        if {"history_marker_device = 1", "%%host\nhistory_marker_host = 2"} <= set(stored):
            break
        assert time.monotonic() < deadline, f"not in the history database: {stored}"
        time.sleep(0.1)
