"""What most tests share: one emulated board per test module and a Board connected to it for
each test; one kernel per test module (on its own emulated board), through jupyter_client.
A module defines its own fixture of the same name where it needs another: a fresh board per
test, a board profile, a WebREPL port, a kernel with another environment."""

from __future__ import annotations

import pytest

from esp32_kernel.board import Board
from esp32_kernel.emulator.process import launch
from kernel_harness import running_kernel


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    with launch(board_dir=tmp_path_factory.mktemp("board")) as emu:
        yield emu


@pytest.fixture
def board(emulator):
    b = Board(emulator.url, hard_reset=emulator.hard_reset)
    b.connect()
    yield b
    b.close()


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    """(kernel manager, client) of a kernel that started its own emulated board."""
    with running_kernel(tmp_path_factory.mktemp("kernel"), settle=False) as kernel:
        yield kernel


@pytest.fixture
def kc(kernel):
    return kernel[1]
