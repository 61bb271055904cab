"""File transfer (esp32_kernel/files.py) against the emulated ESP32: intact, atomic, checked."""

from __future__ import annotations

import _thread
import hashlib
import os
import threading

import pytest

from esp32_kernel.board import Board
from esp32_kernel.files import BoardFiles, FileError, _Upload, encode_upload
from esp32_kernel.emulator.process import launch

from board_helpers import SMALL_FS, connect_when_free, flash_files

# Bytes the transfer must carry: every byte value, the escape byte, Ctrl-C/Ctrl-D, and text
# that looks like the reboot marks the raw REPL reader watches for.
NASTY = bytes(range(256)) * 4 + b"\x10\x10\x03\x04 rst:0x1 (POWERON_RESET) MPY: soft reboot\r\n\x10"



@pytest.fixture
def files(board):
    return BoardFiles(board)


@pytest.fixture
def paced(tmp_path):
    """A board at 115200 baud: transfers take long enough to be interrupted or cut."""
    with launch(board_dir=tmp_path / "paced", baud=115200) as emu:
        b = Board(emu.url, hard_reset=emu.hard_reset)
        b.connect()
        yield emu, b, BoardFiles(b)
        b.close()


def on_disk(emulator, path: str) -> bytes:
    """The file as the board's flash holds it, read from the host."""
    return flash_files(emulator).read(path)


def leftovers(emulator) -> list[str]:
    return [p.rsplit("/", 1)[1] for p in flash_files(emulator).walk() if p.endswith(".part~")]


@pytest.mark.parametrize(
    "name, data",
    [
        ("nasty.bin", NASTY),
        ("random.bin", os.urandom(5000)),
        ("text.py", b"import machine\n# a comment: with colons\n" * 300),
        ("empty.txt", b""),
        ("one.txt", b"\x03"),
    ],
)
def test_put_and_get_carry_every_byte(emulator, files, name, data):
    done = files.put_bytes(data, "/" + name)
    assert done.size == len(data) and not done.skipped
    assert on_disk(emulator, name) == data
    assert files.get_bytes("/" + name) == data
    assert files.sha256("/" + name) == hashlib.sha256(data).hexdigest()
    assert leftovers(emulator) == []


def test_text_is_compressed_and_random_bytes_are_not(files):
    text = b"for pin in range(40):\n    print(pin, 'is a GPIO')\n" * 400
    done = files.put_bytes(text, "/compressible.py")
    assert done.compressed and done.wire < len(text) / 4
    noise = os.urandom(20000)
    done = files.put_bytes(noise, "/noise.bin")
    assert not done.compressed and done.wire < len(noise) * 1.01


def test_an_unchanged_file_is_not_sent_again(emulator, files):
    files.put_bytes(b"v1", "/same.txt")
    assert files.put_bytes(b"v1", "/same.txt").skipped
    assert not files.put_bytes(b"v2", "/same.txt").skipped
    assert on_disk(emulator, "same.txt") == b"v2"


def test_awkward_board_paths_are_quoted_not_pasted(emulator, files):
    path = "/we'ird \"name\" \\ é.txt"
    files.put_bytes(b"ok", path)
    assert on_disk(emulator, path) == b"ok"
    assert [e.name for e in files.ls("/") if e.name.startswith("we")] == [path[1:]]
    files.rm(path)
    assert files.kind(path) == ""


def test_ls_mkdir_rm_df(emulator, files):
    files.mkdir("/deep/er/folder")
    files.put_bytes(b"x" * 10, "/deep/er/folder/f.bin")
    files.put_bytes(b"y" * 3, "/deep/a.txt")
    listing = files.ls("/deep")
    assert [(e.name, e.is_dir, e.size) for e in listing] == [("er", True, 0), ("a.txt", False, 3)]
    assert files.ls("/deep/a.txt")[0].size == 3
    with pytest.raises(FileError, match="folder"):
        files.rm("/deep")
    files.rm("/deep", recursive=True)
    assert not flash_files(emulator).exists("deep")
    with pytest.raises(FileError, match="no such file"):
        files.rm("/deep")
    with pytest.raises(FileError, match="no such file"):
        files.ls("/nowhere")
    with pytest.raises(FileError, match="there is no folder /nowhere"):
        files.put_bytes(b"x", "/nowhere/f.txt")
    size, free = files.df("/")
    assert 0 < free <= size


def test_agent_comes_back_after_a_soft_reset(files, board):
    files.put_bytes(b"before", "/r.txt")
    board.soft_reset()
    assert files.get_bytes("/r.txt") == b"before"


def test_a_full_file_system_fails_clearly_and_keeps_the_old_file(board, files):
    board.exec(SMALL_FS)
    try:
        files.put_bytes(b"old contents\n", "/small/main.py")
        with pytest.raises(FileError, match="file system is full") as caught:
            files.put_bytes(os.urandom(8000), "/small/main.py")
        assert caught.value.errno_name == "ENOSPC"
        assert files.get_bytes("/small/main.py") == b"old contents\n"
        assert [e.name for e in files.ls("/small")] == ["main.py"]  # no temporary file left
        assert board.exec("print('the prompt is clean')") == "the prompt is clean\n"
    finally:
        board.exec("import os\nos.umount('/small')")


def test_a_wrong_hash_is_caught_on_the_board_and_the_old_file_stays(emulator, board, files):
    files.put_bytes(b"good", "/h.txt")
    data = b"new data"
    encoded = encode_upload(data)
    upload = _Upload(board, encoded, None, len(data))
    with pytest.raises(Exception, match="hash mismatch"):
        upload.run(f"__import__('_ekf').put('/h.txt', {len(encoded)}, {'0' * 64!r}, 0, False)")
    assert on_disk(emulator, "h.txt") == b"good"
    assert leftovers(emulator) == []


def test_output_mixed_into_a_download_is_detected(board, files):
    files.put_bytes(os.urandom(6000), "/d.bin")
    # Board code that prints while the file is being read (here: whenever a file is opened).
    board.exec("import builtins\n_open = open\ndef noisy(*a):\n    print('noise')\n    return _open(*a)\nbuiltins.open = noisy")
    try:
        with pytest.raises(FileError, match="corrupted"):
            files.get_bytes("/d.bin")
    finally:
        board.exec("builtins.open = _open")
    assert len(files.get_bytes("/d.bin")) == 6000


def test_an_interrupted_upload_leaves_the_old_file(paced):
    emu, board, files = paced
    files.put_bytes(b"the old main.py\n", "/main.py")
    timer = threading.Timer(0.5, _thread.interrupt_main)  # as the kernel's interrupt does
    timer.start()
    try:
        with pytest.raises(FileError, match="stopped"):
            files.put_bytes(os.urandom(40000), "/main.py")  # 3.5 s at 115200
    finally:
        timer.cancel()
    assert on_disk(emu, "main.py") == b"the old main.py\n"
    assert leftovers(emu) == []
    assert board.exec("print('still fine')") == "still fine\n"


def test_a_cut_link_leaves_the_old_file(paced):
    emu, board, files = paced
    files.put_bytes(b"the old boot.py\n", "/boot.py")
    threading.Timer(0.5, emu.drop_client).start()
    with pytest.raises(FileError):
        files.put_bytes(os.urandom(40000), "/boot.py")
    assert on_disk(emu, "boot.py") == b"the old boot.py\n"
    board.close()
    again = Board(emu.url, hard_reset=emu.hard_reset)
    connect_when_free(again, refused=Exception)
    try:
        # reconnecting interrupts the board's receiver: it removes its temporary file (seen
        # through the board: the host's copy of its flash may lag its last writes)
        files = BoardFiles(again)
        assert files.get_bytes("/boot.py") == b"the old boot.py\n"
        assert [e.name for e in files.ls("/") if e.name.endswith(".part~")] == []
    finally:
        again.close()


def test_sync_sends_what_changed_and_deletes_on_request(emulator, files, tmp_path):
    src = tmp_path / "project"
    (src / "lib").mkdir(parents=True)
    (src / "main.py").write_text("import lib.util\n")
    (src / "lib" / "util.py").write_text("X = 1\n")
    (src / ".hidden").write_text("not sent")
    report = files.sync(src, "/app")
    assert sorted(report["sent"]) == ["lib/util.py", "main.py"]
    assert on_disk(emulator, "app/lib/util.py") == b"X = 1\n"
    assert not flash_files(emulator).exists("app/.hidden")
    assert files.sync(src, "/app")["sent"] == []
    (src / "lib" / "util.py").write_text("X = 2\n")
    files.put_bytes(b"stale", "/app/old.py")
    report = files.sync(src, "/app", delete=True)
    assert report["sent"] == ["lib/util.py"] and report["deleted"] == ["old.py"]
    assert sorted(files.tree("/app")) == ["lib/util.py", "main.py"]


def test_the_unpacked_agent_works_too(board):
    """Boards without deflate (MicroPython < 1.21) get the agent as plain text."""
    from esp32_kernel.files import _AGENT

    board.exec("import sys\nsys.modules.pop('_ekf', None)")
    board.exec(_AGENT)
    files = BoardFiles(board)
    files.put_bytes(b"plain", "/plain.txt")
    assert files.get_bytes("/plain.txt") == b"plain"
