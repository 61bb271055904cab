"""Helpers for tests that drive the emulated board directly through a Board."""

from __future__ import annotations

import os
import time

import pytest

from esp32_kernel.board import Board, BoardError, DeviceError
from esp32_kernel.emulator.process import CORE_ENV

HANG_GUARD_S = 10

# The emulator's core these tests run on: `make test` runs the emulator's suites once on each
# (the portable one with $ESP32_KERNEL_EMULATOR_CORE=portable).
PORTABLE = os.environ.get(CORE_ENV, "").strip().lower() == "portable"
# errno numbers as the emulated board raises them: a board's (newlib) on the native core,
# WASI's on the portable core, whose C code prints those numbers' names (firmware/_esp32_errno.py)
ERRNO = (
    {"EPERM": 63, "ENOENT": 44, "EIO": 29, "ENODEV": 43, "EINVAL": 28, "ENOSPC": 51, "ETIMEDOUT": 73} if PORTABLE
    else {"EPERM": 1, "ENOENT": 2, "EIO": 5, "ENODEV": 19, "EINVAL": 22, "ENOSPC": 28, "ETIMEDOUT": 116}
)  # fmt: skip


def needs_native_core(why: str):
    """Skip on the portable core, saying what it lacks."""
    return pytest.mark.skipif(PORTABLE, reason=f"the emulator's portable core {why}")


NO_PROCESS = needs_native_core("runs in the emulator's own process: the board has no pid to watch")
NO_SOCKETS = needs_native_core("has no sockets (MicroPython for WASI has no socket module)")
ONLY_WATCHDOG = needs_native_core(
    "stops a loop that never calls into the board only by a watchdog reset (tests/test_portable_core.py)"
)


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


def connect_when_free(board: Board, patience: float = HANG_GUARD_S, refused=BoardError) -> None:
    """Connect `board` to a server that takes the next client only once it has let the last
    one go (the emulator, serve-boards): try again until `patience` runs out."""
    deadline = time.monotonic() + patience
    while True:
        try:
            board.connect()
            return
        except refused:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def flash_files(emulator):
    """The emulated board's files from the host (a FlashFiles), once its boot is over (a first
    boot formats the flash and writes boot.py)."""
    from esp32_kernel.emulator.flash_files import FlashFiles

    wait_for(lambda: not emulator.status()["booting"])
    return FlashFiles(emulator.board_dir)


# A LittleFS of 12 blocks of 512 bytes in the board's RAM, mounted at /small: a file system
# that fills up, as a board's flash does.
SMALL_FS = """
import os, vfs
class RamBlocks:
    def __init__(self, n):
        self.data = bytearray(n * 512)
    def readblocks(self, block, buf, offset=0):
        at = block * 512 + offset
        buf[:] = self.data[at:at + len(buf)]
    def writeblocks(self, block, buf, offset=None):
        at = block * 512 + (offset or 0)
        self.data[at:at + len(buf)] = buf
    def ioctl(self, op, arg):
        if op == 4:
            return len(self.data) // 512
        if op == 5:
            return 512
        if op == 6:
            return 0
blocks = RamBlocks(12)
vfs.VfsLfs2.mkfs(blocks)
os.mount(vfs.VfsLfs2(blocks), '/small')
"""
