"""%reset, %reset --hard and %safe end to end, against the emulated ESP32."""

from __future__ import annotations

import functools

import pytest

from kernel_harness import ok as ok_within, running_kernel

ok = functools.partial(ok_within, timeout=60)  # a reset and a boot take longer than a cell

# A reset loop as they happen: main.py tries something (WiFi, a sensor) for a moment, fails
# and resets. (One that resets within microseconds of starting cannot be caught by Ctrl-C
# on a real ESP32 either: bytes that arrive while it boots are data, not interrupts.)
REBOOT_LOOP = (
    "%%writefile /main.py\nimport machine, time\nprint('main.py resets the board')\ntime.sleep(0.2)\nmachine.reset()\n"
)
BUSY_LOOP = "%%writefile /main.py\nprint('main.py runs forever')\nwhile True:\n    pass\n"


@pytest.fixture(scope="module")
def kc(tmp_path_factory):
    with running_kernel(tmp_path_factory.mktemp("reset-kernel")) as (_, kc):
        yield kc


def test_soft_reset_clears_the_boards_variables(kc):
    ok(kc, "kept = 1")
    assert ok(kc, "%reset").startswith("Soft reset: MicroPython restarted")
    assert ok(kc, "print('kept' in globals())") == "False\n"


def test_hard_reset_reboots_and_runs_main_py(kc):
    ok(kc, "%%writefile /main.py\nstarted_by = 'main.py'\n")
    ok(kc, "kept = 1")
    assert "Hard reset (the emulator's reset line)" in ok(kc, "%reset --hard")
    assert ok(kc, "print('kept' in globals(), started_by)").endswith("False main.py\n")
    ok(kc, "%rm /main.py")


def test_safe_stops_a_main_py_that_resets_the_board_at_boot(kc):
    ok(kc, REBOOT_LOOP)
    out = ok(kc, "%safe --rename")
    assert "Stopped the board while it booted" in out and "Renamed main.py to main.py.disabled" in out
    assert ok(kc, "print('at the prompt')") == "at the prompt\n"
    listing = ok(kc, "%ls")
    assert "main.py.disabled" in listing and "main.py\n" not in listing
    assert "did not come back" not in ok(kc, "%reset --hard")  # the next boot skips it
    ok(kc, "%rm /main.py.disabled")


def test_safe_stops_a_busy_main_py_without_renaming_it(kc):
    ok(kc, BUSY_LOOP)
    ok(kc, "%reset --hard")
    out = ok(kc, "%safe")
    assert "Stopped the board while it booted" in out and "Renamed" not in out
    assert ok(kc, "print(6 * 7)") == "42\n"
    ok(kc, "%rm /main.py")


def test_ipythons_reset_is_host_reset(kc):
    assert ok(kc, "%%host\nz = 1\n%host_reset -f\nprint('z' in globals())") == "False\n"
