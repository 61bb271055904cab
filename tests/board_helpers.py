"""Helpers for tests that drive the emulated board directly through a Board."""

from __future__ import annotations

import time

import pytest

from esp32_kernel.board import Board, DeviceError

HANG_GUARD_S = 10


def error_of(board: Board, code: str) -> str:
    """The last line of the MicroPython exception `code` raises (it must raise)."""
    with pytest.raises(DeviceError) as raised:
        board.exec(code, timeout=HANG_GUARD_S)
    return str(raised.value).strip().splitlines()[-1]


def wait_for(predicate, timeout: float = HANG_GUARD_S):
    """Poll `predicate` until it returns something true (a hang guard, not a timing test)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met within the hang guard")


def flash_files(emulator):
    """The emulated board's files from the host (a FlashFiles), once its boot is over (a first
    boot formats the flash and writes boot.py)."""
    from esp32_kernel.emulator.flash_files import FlashFiles

    wait_for(lambda: not emulator.status()["booting"])
    return FlashFiles(emulator.board_dir)
