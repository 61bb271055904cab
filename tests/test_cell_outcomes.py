"""A cell's outcome is the truth: a failed magic ends its cell with an error reply named
after the failure (so Run All, nbclient and graders stop there), and an interrupt belongs to
the cell it was sent for — extra presses of the stop button never reach a later cell."""

from __future__ import annotations

import os
import threading
import time

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from board_helpers import SMALL_FS
from kernel_harness import collect, fails, isolated_env, run_cell


# (cell, the ename its error reply must carry, words its evalue must hold)
FAILING_MAGICS = [
    ("%cat /nonexistent.txt", "FileNotFoundError", "/nonexistent.txt"),
    ("%put /nonexistent/local.py", "FileNotFoundError", "/nonexistent/local.py"),
    ("%get /nonexistent.bin", "FileNotFoundError", "/nonexistent.bin"),
    ("%rm /nonexistent.txt", "FileNotFoundError", "/nonexistent.txt"),
    ("%connect socket://127.0.0.1:1", "NothingListening", "nothing is listening"),
    ("%connect /dev/ttyNOSUCHPORT", "BoardNotFound", "is it plugged in"),
    ("%connect --baud -5 /dev/ttyUSB0", "UsageError", "--baud"),
    ("%connect --name lab2", "UsageError", "--name needs a port"),
    ("%ls 'unclosed", "UsageError", "quotation"),
    ("%push no_such_host_variable", "NameError", "no_such_host_variable"),
    ("%pull 3x", "UsageError", "not a variable name"),
    ("%flash /nonexistent/firmware.bin", "FileNotFoundError", "firmware.bin"),
    ("%gpio 99:sideways", "UsageError", ""),
    ("%bench pot:x", "UsageError", "KIND:PIN"),
    ("%plot --csv out.csv no_such_series", "KeyError", "no_such_series"),
    ("%%on nobody\nprint(1)", "NoBoard", "no board is named 'nobody'"),
    ("%disconnect --name nobody", "NoBoard", "no board is named 'nobody'"),
    ("%%host\nget_ipython().run_cell_magic('on', 'a', 'print(1)')", "UsageError", "first line of its cell"),
    ("%mount /nonexistent/folder", "MountError", "/nonexistent/folder"),
]


@pytest.mark.parametrize(("cell", "ename", "words"), FAILING_MAGICS, ids=[c for c, _, _ in FAILING_MAGICS])
def test_a_failed_magic_ends_its_cell_with_a_named_error(kc, cell, ename, words):
    run = run_cell(kc, cell)
    assert run.status == "error", (cell, run.stdout)
    assert run.reply["content"]["ename"] == ename, run.reply["content"]
    assert words in run.reply["content"]["evalue"]
    shown = "\n".join(run.error["traceback"])
    assert "Traceback (most recent call last)" not in shown and "esp32_kernel" not in shown, shown
    # The board is still there and the next cell runs.
    assert run_cell(kc, "print('still here')").stdout.endswith("still here\n")


def test_a_full_flash_fails_the_put_and_keeps_the_old_file(kc, tmp_path):
    assert run_cell(kc, SMALL_FS).status == "ok"
    try:
        assert run_cell(kc, "%%writefile /small/main.py\nold = True\n").status == "ok"
        big = tmp_path / "big.bin"
        big.write_bytes(os.urandom(8000))
        evalue = fails(kc, f"%put {big} /small/main.py", "FlashFull")
        assert "file system is full" in evalue and "not changed" in evalue
        assert run_cell(kc, "%cat /small/main.py").stdout == "old = True\n"
    finally:
        run_cell(kc, "import os\nos.umount('/small')")


def test_a_magic_that_fails_in_a_device_cell_stops_the_cell_there(kc):
    run = run_cell(kc, "marker = 'before'\n%cat /nonexistent.txt\nmarker = 'after'")
    assert run.status == "error" and run.reply["content"]["ename"] == "FileNotFoundError"
    assert run_cell(kc, "marker").result == "'before'"


def test_a_refused_connect_keeps_the_board_the_cells_run_on(kc):
    run_cell(kc, "kept = 42")
    assert run_cell(kc, "%connect socket://127.0.0.1:1").status == "error"
    assert run_cell(kc, "kept").result == "42"


def test_nbclient_stops_at_the_first_failed_magic(tmp_path):
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("print('first')"),
            nbformat.v4.new_code_cell("%put /nonexistent/local.py"),
            nbformat.v4.new_code_cell("print('never')"),
        ],
        metadata={"kernelspec": {"name": "esp32", "display_name": "ESP32 (MicroPython)", "language": "python"}},
    )
    (tmp_path / "notebooks").mkdir()
    client = NotebookClient(nb, timeout=120, kernel_name="esp32", resources={"metadata": {"path": str(tmp_path / "notebooks")}})
    with pytest.raises(CellExecutionError) as failed:
        client.execute(env=isolated_env(tmp_path))
    assert "FileNotFoundError" in str(failed.value)
    assert nb.cells[0].outputs and nb.cells[2].outputs == [] and nb.cells[2].execution_count is None


def _storm(km, presses: int = 10, seconds: float = 0.2) -> None:
    """An impatient student: `presses` on the stop button within `seconds`, most of them at
    once (so some land while the cell is ending), then the rest spread out."""
    for n in range(presses):
        km.interrupt_kernel()
        time.sleep(0.001 if n < presses // 2 else seconds / presses)


@pytest.mark.parametrize("paced", [False, True], ids=["unpaced", "paced-115200"])
def test_ten_stop_presses_stop_one_cell_and_the_next_cells_run(kernel, paced):
    km, kc = kernel
    if paced:
        assert run_cell(kc, "%connect emulator --baud 115200").status == "ok"
    assert run_cell(kc, "i = 0").status == "ok"
    loop = kc.execute("while True:\n    i += 1")
    time.sleep(0.5)  # the loop is running on the board
    _storm(km)
    run = collect(kc, loop)
    assert run.status == "error" and run.reply["content"]["ename"] == "KeyboardInterrupt"
    _storm(km)  # nothing runs now: absorbed
    for n in range(4):
        run = collect(kc, kc.execute(f"print('after', {n}, i > 0)"))
        assert run.status == "ok", run.reply["content"]
        assert run.stdout == f"after {n} True\n"
    if paced:
        assert run_cell(kc, "%connect emulator").status == "ok"


def test_stop_presses_as_a_host_cell_ends_never_reach_the_next_cell(kernel):
    km, kc = kernel
    for _ in range(5):
        cell = kc.execute("%%host\nimport time\ntime.sleep(0.05)")
        presser = threading.Thread(target=_storm, args=(km, 10, 0.2))
        presser.start()
        first = collect(kc, cell)
        presser.join()
        assert first.status in ("ok", "error")
        if first.status == "error":
            assert first.reply["content"]["ename"] == "KeyboardInterrupt"
        nxt = collect(kc, kc.execute("%%host\nprint('next')"))
        assert nxt.status == "ok", nxt.reply["content"]
        assert nxt.stdout == "next\n"
