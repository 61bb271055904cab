"""The emulated ESP32 where it differed from a board running MicroPython v1.24 (file-transfer
engineer's reports): renames by absolute path, imports from /lib, kbd_intr(), statvfs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from esp32_kernel.board import Board, DeviceError
from esp32_kernel.emulator import launch

from test_emulator import RawClient, mpremote

HANG_GUARD_S = 10

pytestmark = pytest.mark.timeout(90)


@pytest.fixture(scope="module")
def board_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("board")


@pytest.fixture(scope="module")
def emulator(board_dir):
    with launch(board_dir=board_dir) as emu:
        yield emu


@pytest.fixture
def board(emulator):
    b = Board(emulator.url)
    b.connect()
    yield b
    b.close()


@pytest.fixture
def raw_client(emulator):
    client = RawClient(emulator.url)
    client.enter_raw()
    yield client
    client.close()


def error_of(board: Board, code: str) -> str:
    with pytest.raises(DeviceError) as raised:
        board.exec(code, timeout=HANG_GUARD_S)
    return str(raised.value).strip().splitlines()[-1]


# -- 1. os.rename with absolute paths


def test_rename_with_two_absolute_paths(board, board_dir):
    board.exec("open('/ren_a.txt', 'w').write('hello')\nimport os\nos.rename('/ren_a.txt', '/ren_b.txt')")
    assert (board_dir / "ren_b.txt").read_text() == "hello"
    assert not (board_dir / "ren_a.txt").exists()


def test_rename_absolute_paths_from_a_subfolder_and_across_folders(board, board_dir):
    board.exec(
        "import os\nos.mkdir('/rsub')\nos.chdir('/rsub')\nopen('/ren_c.txt', 'w').write('c')\n"
        "os.rename('/ren_c.txt', '/rsub/ren_d.txt')\nos.rename('ren_d.txt', '/ren_e.txt')\n"
        "os.rename('/ren_e.txt', 'ren_f.txt')\nos.chdir('/')"
    )
    assert (board_dir / "rsub" / "ren_f.txt").read_text() == "c"
    assert board.eval("__import__('os').getcwd()") == "/"
    assert error_of(board, "import os\nos.rename('/no_such.txt', '/x.txt')") == "OSError: [Errno 2] ENOENT"


# -- 2. imports from /lib (where %mip installs)


def test_import_from_lib_as_on_a_board(board, board_dir):
    (board_dir / "lib" / "mippkg").mkdir(parents=True)
    (board_dir / "lib" / "libmod.py").write_text("VALUE = 41\n")
    (board_dir / "lib" / "mippkg" / "__init__.py").write_text("from .part import twice\n")
    (board_dir / "lib" / "mippkg" / "part.py").write_text("def twice(x):\n    return 2 * x\n")
    assert board.eval("__import__('sys').path") == ["", ".frozen", "/lib"]
    assert board.exec("import libmod, mippkg\nprint(libmod.VALUE + 1, mippkg.twice(21))").strip() == "42 42"
    assert board.eval("__import__('libmod').__file__") == "/lib/libmod.py"
    # from another folder too, and a missing module is still a plain ImportError
    elsewhere = "import os\nos.chdir('/rsub')\nimport mippkg.part\nos.chdir('/')\nprint('ok')"
    assert board.exec(elsewhere).strip() == "ok"
    assert error_of(board, "import no_such_module") == "ImportError: no module named 'no_such_module'"


# -- 3. micropython.kbd_intr()


def test_kbd_intr_minus_one_passes_ctrl_c_to_stdin(raw_client):
    raw_client.write(
        b"import micropython, sys\nmicropython.kbd_intr(-1)\nprint('go')\n"
        b"print(repr(sys.stdin.buffer.read(3)))\x04"
    )
    raw_client.read_until(b"go")
    time.sleep(0.2)
    raw_client.write(b"a\x03b")
    out = raw_client.read_until(b"\x04>")
    assert b"b'a\\x03b'" in out
    assert b"KeyboardInterrupt" not in out


def test_kbd_intr_other_char_interrupts_and_ctrl_c_is_data(raw_client):
    raw_client.write(
        b"import micropython, sys, time\nmicropython.kbd_intr(0x18)\nprint('go')\n"
        b"print(repr(sys.stdin.buffer.read(3)))\nprint('loop')\nwhile True:\n    time.sleep_ms(10)\n\x04"
    )
    raw_client.read_until(b"go")
    time.sleep(0.2)
    raw_client.write(b"a\x03b")
    raw_client.read_until(b"loop")
    raw_client.write(b"\x18")
    out = raw_client.read_until(b"\x04>")
    assert b"KeyboardInterrupt" in out
    # the next execution starts with Ctrl-C as the interrupt char again, as pyexec's do
    raw_client.write(b"import time\nprint('again')\nwhile True:\n    time.sleep_ms(10)\n\x04")
    raw_client.read_until(b"again")
    time.sleep(0.2)
    raw_client.write(b"\x03")
    assert b"KeyboardInterrupt" in raw_client.read_until(b"\x04>")


def test_ctrl_c_still_interrupts_by_default(raw_client):
    raw_client.write(b"import time\nprint('spin')\nwhile True:\n    time.sleep_ms(10)\n\x04")
    raw_client.read_until(b"spin")
    time.sleep(0.2)
    raw_client.write(b"\x03")
    assert b"KeyboardInterrupt" in raw_client.read_until(b"\x04>")
    stdout, stderr = raw_client.exec_raw("print(__import__('micropython').kbd_intr(3))")
    assert stdout == b"None\r\n" and stderr == b""


# -- 4. os.statvfs: the board's 2 MiB LittleFS partition, not the host's disk


def statvfs(board: Board) -> tuple:
    return board.eval("__import__('os').statvfs('/')")


def test_statvfs_is_the_vfs_partition(board):
    bsize, frsize, blocks, bfree, bavail, files, ffree, favail, flag, namemax = statvfs(board)
    assert (bsize, frsize, blocks) == (4096, 4096, 512)  # 0x200000 bytes of 4 KiB blocks
    assert 0 < bfree == bavail < blocks
    assert (files, ffree, favail, flag, namemax) == (0, 0, 0, 0, 255)


def test_statvfs_free_space_shrinks_as_files_are_written(board):
    before = statvfs(board)[3]
    board.exec("f = open('/big.bin', 'wb')\nf.write(bytes(40000))\nf.close()")
    assert statvfs(board)[3] == before - 10  # 40000 bytes: ten 4 KiB blocks
    board.exec("import os\nos.remove('/big.bin')")
    assert statvfs(board)[3] == before


def test_writing_past_the_partition_is_enospc(board, board_dir):
    free = statvfs(board)[3]
    error = error_of(
        board,
        "b = bytes(4096)\nwith open('/fill.bin', 'wb') as f:\n"
        f"    for i in range({free + 8}):\n        f.write(b)\n",
    )
    assert error == "OSError: 28"  # LFS_ERR_NOSPC; ENOSPC is not in MicroPython's errno names
    assert (board_dir / "fill.bin").stat().st_size <= free * 4096
    assert statvfs(board)[3] == 0
    # a full board still reads and overwrites in place; freeing space lets writes through
    overwrite = "f = open('/fill.bin', 'r+b')\nf.write(b'xyz')\nf.close()\n"
    overwrite += "print(open('/fill.bin', 'rb').read(3))"
    assert board.exec(overwrite).strip() == "b'xyz'"
    board.exec("import os\nos.remove('/fill.bin')")
    assert statvfs(board)[3] == free
    board.exec("with open('/small.txt', 'w') as f:\n    f.write('text ' * 2000)\n    print('x', file=f)")
    assert (board_dir / "small.txt").read_text() == "text " * 2000 + "x\n"


def test_mpremote_df_and_cp(emulator, tmp_path):
    out = mpremote(emulator.url, "df")
    assert "2097152" in out  # the partition's size, not the host disk's
    source = tmp_path / "payload.bin"
    source.write_bytes(bytes(range(256)) * 64)
    mpremote(emulator.url, "fs", "cp", str(source), ":/lib/payload.bin")
    copy = tmp_path / "copy.bin"
    mpremote(emulator.url, "fs", "cp", ":/lib/payload.bin", str(copy))
    assert copy.read_bytes() == source.read_bytes()
    mpremote(emulator.url, "fs", "rm", ":/lib/payload.bin")


# -- 5. deflate: v1.24's ESP32 build compresses (ROM level EXTRA_FEATURES); this unix port
# build cannot, and says so plainly (README-section.md)


def test_deflate_decompresses(board):
    import zlib

    data = zlib.compress(b"hello esp32 " * 20)
    assert board.exec(
        f"import deflate, io\nprint(deflate.DeflateIO(io.BytesIO({data!r}), deflate.ZLIB).read().decode())"
    ) == "hello esp32 " * 20 + "\n"
