"""What most emulator tests share: one emulated board per test module, and a Board connected
to it for each test. A module defines its own `emulator` (or `board`) where it needs another:
a fresh board per test, a board profile, a WebREPL port."""

from __future__ import annotations

import pytest

from esp32_kernel.board import Board
from esp32_kernel.emulator.process import launch


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
