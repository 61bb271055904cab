"""The emulated ESP32 where it differed from a board running MicroPython v1.24 (file-transfer
engineer's reports): renames by absolute path, imports from /lib, kbd_intr(), statvfs."""

from __future__ import annotations

import os
import select
import time
from pathlib import Path

import pytest

from esp32_kernel.board import Board, DeviceError
from esp32_kernel.emulator import launch
from esp32_kernel.emulator.flash_files import FlashFiles

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


@pytest.fixture(scope="module")
def files(board_dir) -> FlashFiles:
    return FlashFiles(board_dir)


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


def test_rename_with_two_absolute_paths(board, files):
    # closed before the rename: LittleFS commits a file's data when it is closed, as on a board
    board.exec("with open('/ren_a.txt', 'w') as f:\n    f.write('hello')\nimport os\nos.rename('/ren_a.txt', '/ren_b.txt')")
    assert files.read_text("ren_b.txt") == "hello"
    assert not files.exists("ren_a.txt")


def test_rename_absolute_paths_from_a_subfolder_and_across_folders(board, files):
    board.exec(
        "import os\nos.mkdir('/rsub')\nos.chdir('/rsub')\nwith open('/ren_c.txt', 'w') as f:\n    f.write('c')\n"
        "os.rename('/ren_c.txt', '/rsub/ren_d.txt')\nos.rename('ren_d.txt', '/ren_e.txt')\n"
        "os.rename('/ren_e.txt', 'ren_f.txt')\nos.chdir('/')"
    )
    assert files.read_text("rsub/ren_f.txt") == "c"
    assert board.eval("__import__('os').getcwd()") == "/"
    assert error_of(board, "import os\nos.rename('/no_such.txt', '/x.txt')") == "OSError: [Errno 2] ENOENT"


# -- 2. imports from /lib (where %mip installs)


def test_import_from_lib_as_on_a_board(board, files):
    files.mkdir("lib/mippkg", parents=True)
    files.write("lib/libmod.py", "VALUE = 41\n")
    files.write("lib/mippkg/__init__.py", "from .part import twice\n")
    files.write("lib/mippkg/part.py", "def twice(x):\n    return 2 * x\n")
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
    board.exec("f = open('/big.bin', 'wb')\nfor i in range(10):\n    f.write(bytes(4000))\nf.close()")
    assert statvfs(board)[3] == before - 10  # 40000 bytes: ten 4 KiB blocks
    board.exec("import os\nos.remove('/big.bin')")
    assert statvfs(board)[3] == before


def test_writing_past_the_partition_is_enospc_and_keeps_the_old_file(board, files):
    board.exec("with open('/keep.txt', 'w') as f:\n    f.write('old contents')")
    free = statvfs(board)[3]
    error = error_of(
        board,
        "b = bytes(4096)\nwith open('/keep.txt', 'wb') as f:\n"
        f"    for i in range({free + 8}):\n        f.write(b)\n",
    )
    assert error == "OSError: 28"  # LFS_ERR_NOSPC; ENOSPC is not in MicroPython's errno names
    # LittleFS is copy-on-write: the rewrite that failed was never committed
    assert files.read_text("keep.txt") == "old contents"
    assert board.eval("open('/keep.txt').read()") == "old contents"
    assert statvfs(board)[3] == free
    board.exec("with open('/small.txt', 'w') as f:\n    f.write('text ' * 2000)\n    print('x', file=f)")
    assert files.read_text("small.txt") == "text " * 2000 + "x\n"
    board.exec("import os\nos.remove('/keep.txt')\nos.remove('/small.txt')")


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


# -- 5. deflate: v1.24's stock ESP32 build decompresses only (ROM level EXTRA_FEATURES; the
# compressor needs FULL_FEATURES), as the emulator's default board does


def test_deflate_decompresses(board):
    import zlib

    data = zlib.compress(b"hello esp32 " * 20)
    assert board.exec(
        f"import deflate, io\nprint(deflate.DeflateIO(io.BytesIO({data!r}), deflate.ZLIB).read().decode())"
    ) == "hello esp32 " * 20 + "\n"


# -- 6. Found by MicroPython's own tests run through pyboard.py (bench/bench_conformance.py)


def test_pty_keeps_output_a_slow_reader_has_not_read_yet(tmp_path):
    # pyboard.py reads a byte at a time; a board's output must wait for it, not be dropped
    # when the pty's few KiB of buffer are full (a host tty buffers a USB port's input).
    lines = [f"line {i:05d} " + "x" * 16 for i in range(4000)]  # ~110 KB
    code = (
        "from machine import Pin\nfor i in range(4000):\n    print('line %05d ' % i + 'x' * 16)\n"
        "Pin(4, Pin.OUT).value(1)\n"
    )
    with launch(board_dir=tmp_path, pty=True) as emu:
        fd = os.open(emu.pty_path, os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(fd, b"\r\x03\x01" + code.encode() + b"\x04")
            deadline = time.monotonic() + HANG_GUARD_S * 3
            while emu.get_pin(4).get("level") != 1:  # the board has printed it all, nothing read yet
                assert time.monotonic() < deadline, "the code did not finish"
                time.sleep(0.05)
            received = b""
            while not received.endswith(b"\x04\x04>"):
                readable, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
                assert readable, f"output lost: {received[-200:]!r}"
                received += os.read(fd, 65536)
        finally:
            os.close(fd)
    printed = received.split(b"OK", 1)[1].split(b"\x04", 1)[0].decode()
    assert printed.split("\r\n")[:-1] == lines


def test_replaced_modules_read_as_the_builtin_ones(board):
    out = board.exec(
        "import sys, errno, micropython, os, gc, time\n"
        "for m in (sys, errno, micropython, os, gc, time):\n"
        "    print(repr(m), m.__name__, hasattr(m, '__file__'))"
    )
    names = ("sys", "errno", "micropython", "os", "gc", "time")
    assert out.splitlines() == [f"<module '{name}'> {name} False" for name in names]
    # v1.24's ESP32 build has no MICROPY_MEM_STATS
    has = board.eval("[hasattr(micropython, n) for n in ('mem_total', 'mem_current', 'mem_peak', 'mem_info')]")
    assert has == [False, False, False, True]
    # ISR examples start with this; an ESP32 build has it (MICROPY_ENABLE_EMERGENCY_EXCEPTION_BUF)
    assert board.exec("micropython.alloc_emergency_exception_buf(100)\nprint('ok')") == "ok\n"


def test_sys_stdout_is_a_textiowrapper_as_on_a_board(board):
    board.exec("import sys")
    assert board.eval("(repr(sys.stdout), repr(sys.stderr), str(type(sys.stdout)))") == (
        "<io.TextIOWrapper 1>", "<io.TextIOWrapper 2>", "<class 'TextIOWrapper'>",
    )  # fmt: skip
    assert board.exec("sys.stdout.write('a\\nb\\n')") == "a\nb\n"  # Board reads \r\n as \n


def test_errno_errorcode_is_fixed_as_on_a_board(board):
    out = board.exec(
        "import errno\n"
        "for change in (lambda: errno.errorcode.pop(2), lambda: errno.errorcode.update({0: 'X'}),\n"
        "               lambda: errno.errorcode.__setitem__(2, 'X'), lambda: errno.errorcode.clear()):\n"
        "    try:\n"
        "        change()\n"
        "    except TypeError:\n"
        "        print('TypeError')\n"
        "print(errno.errorcode[116], len(errno.errorcode) > 20)"  # errno.X folds to the unix value
    )
    assert out.splitlines() == ["TypeError"] * 4 + ["ETIMEDOUT True"]


def test_deflate_write_takes_str_as_a_stream_does(tmp_path):
    import zlib

    from esp32_kernel.emulator.board_profile import write_variant

    # Stock v1.24 ESP32 firmware cannot compress; a board profile built with the compressor can.
    profile = write_variant(tmp_path / "esp32-deflate.json", deflate_compress=True)
    with launch(board_dir=tmp_path / "flash", board=str(profile)) as emu:
        compressing = Board(emu.url)
        compressing.connect()
        try:
            out = compressing.exec(
                "import deflate, io\nb = io.BytesIO()\nd = deflate.DeflateIO(b, deflate.ZLIB)\n"
                "d.write('hello ' * 10)\nd.close()\nprint(b.getvalue().hex())"
            )
        finally:
            compressing.close()
    assert zlib.decompress(bytes.fromhex(out.strip())) == b"hello " * 10


def test_sys_has_what_a_v1_24_esp32_build_has(board):
    board.exec("import sys")
    names = ("atexit", "exc_info", "executable", "getsizeof", "settrace", "path", "ps1", "modules", "print_exception")
    has = board.eval(f"[hasattr(sys, n) for n in {names!r}]")
    assert dict(zip(names, has)) == dict.fromkeys(names[:5], False) | dict.fromkeys(names[5:], True)
    assert board.eval("sys.path") == ["", ".frozen", "/lib"]
    assert error_of(board, "sys.atexit") == "AttributeError: 'module' object has no attribute 'atexit'"


def test_modules_held_in_a_class_body_as_thonnys_helper_does(board):
    # Thonny's board helper imports modules inside a class body; the unix port asks each
    # class attribute for __set_name__, which the emulator's own modules must survive.
    code = "class Helper:\n    import sys\n    import machine\n    import os\nprint(Helper.sys.platform, Helper.machine.Pin(2).value())"
    assert board.exec(code) == "esp32 0\n"

