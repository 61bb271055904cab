"""The emulated board's / is a LittleFS on its flash image's vfs partition, as MicroPython
v1.24 has it on an ESP32 (issue 3): the host reads and writes the same image (FlashFiles, the
`esp32-emulator files` command), first boots and erased partitions are formatted with the
default boot.py, a corrupted one is reported, old plain board folders are imported, and an
mpremote `mount` works against the emulator. Also: flash pins 6-11 panic the chip."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from esp32_kernel.board import Board
from esp32_kernel.emulator import EmulatorError, launch
from esp32_kernel.emulator.flash_files import FlashFiles, FlashFilesError
from esp32_kernel.emulator.storage import FlashImage

from board_helpers import HANG_GUARD_S, flash_files
from test_emulator import ESP32_BANNER, MPREMOTE, RawClient

pytestmark = pytest.mark.timeout(120)

VFS = 0x200000
DEFAULT_BOOT_PY = (
    "# This file is executed on every boot (including wake-boot from deepsleep)\n#import esp\n"
    "#esp.osdebug(None)\n#import webrepl\n#webrepl.start()\n"
)


def files_cli(*args: object) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "esp32_kernel.emulator", "files", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_first_boot_formats_the_partition_and_writes_boot_py(emulator, board):
    files = flash_files(emulator)
    assert files.read_text("boot.py") == DEFAULT_BOOT_PY
    assert board.eval("__import__('os').listdir('/')") == ["boot.py"]
    # the image is LittleFS's: its superblock names it in the partition's first block
    assert files.flash.read(VFS + 8, 8) == b"littlefs"


def test_a_file_the_board_writes_is_read_by_the_host_from_the_image(emulator, board):
    board.exec("import os\nos.mkdir('/data')\nwith open('/data/log.csv', 'w') as f:\n"
               "    f.write('t,v\\n1,2\\n')")
    files = flash_files(emulator)
    assert files.read_text("/data/log.csv") == "t,v\n1,2\n"
    assert [(e.name, e.is_dir, e.size) for e in files.ls("/data")] == [("log.csv", False, 8)]
    # and what the host writes the running board reads (it remounts after the host's change)
    files.write("/data/from_host.txt", "hello board")
    assert board.eval("open('/data/from_host.txt').read()") == "hello board"
    assert board.eval("sorted(__import__('os').listdir('/data'))") == ["from_host.txt", "log.csv"]
    # blocks the host allocated are not handed out again by the board: it remounted (without
    # that, 25 files each way corrupt the file system)
    host_data = {f"/data/h{i}.bin": bytes([65 + i]) * 9000 for i in range(25)}
    for path, data in host_data.items():
        files.write(path, data)
    board.exec("for i in range(25):\n    with open('/data/b%d.bin' % i, 'wb') as f:\n        f.write(b'b' * 9000)")
    for path, data in host_data.items():
        assert files.read(path) == data
    assert [files.read(f"/data/b{i}.bin") for i in range(25)] == [b"b" * 9000] * 25
    assert files.read_text("/data/log.csv") == "t,v\n1,2\n"
    assert board.eval("__import__('time').gmtime(__import__('os').stat('/data/from_host.txt')[8])[0]") == time.gmtime()[0]  # the host's stamp
    files.remove("/data", recursive=True)
    assert "data" not in board.eval("__import__('os').listdir('/')")


def test_file_times_are_in_the_boards_epoch(board):
    # An ESP32's os.stat() counts from 2000, as its time module does (the unix port's, from
    # 1970); the stamp is the host's clock, as on a board whose RTC was set by NTP.
    board.exec("with open('stamped.txt', 'w') as f:\n    f.write('x')")
    written = board.eval("__import__('time').gmtime(__import__('os').stat('stamped.txt')[8])[:3]")
    assert tuple(written) == time.gmtime()[:3]
    board.exec("import os\nos.remove('stamped.txt')")


def test_statvfs_is_littlefs_own_count(emulator, board):
    board.exec("with open('/big.bin', 'wb') as f:\n    for i in range(10):\n        f.write(bytes(4000))")
    on_board = board.eval("__import__('os').statvfs('/')")
    assert on_board == flash_files(emulator).statvfs()  # littlefs-python counts the same blocks
    assert on_board[:3] == (4096, 4096, 512)
    board.exec("__import__('os').remove('/big.bin')")
    assert board.eval("__import__('os').statvfs('/')")[3] >= on_board[3] + 10


def test_the_files_survive_a_restart_of_the_emulator(tmp_path):
    folder = tmp_path / "board"
    with launch(board_dir=folder) as emu:
        b = Board(emu.url)
        b.connect()
        b.exec("with open('/kept.txt', 'w') as f:\n    f.write('still here')")
        b.close()
    assert FlashFiles(folder).read_text("kept.txt") == "still here"
    with launch(board_dir=folder) as emu:
        b = Board(emu.url)
        b.connect()
        assert b.eval("open('/kept.txt').read()") == "still here"
        assert b.eval("sorted(__import__('os').listdir('/'))") == ["boot.py", "kept.txt"]
        b.close()


def test_erasing_the_vfs_partition_makes_the_next_boot_format_it(tmp_path):
    with launch(board_dir=tmp_path / "board") as emu:
        files = flash_files(emu)
        files.write("mine.py", "X = 1\n")
        client = RawClient(emu.url)
        try:
            client.enter_raw()
            erase = "import esp32\np = esp32.Partition.find(esp32.Partition.TYPE_DATA, label='vfs')[0]\n"
            erase += "for b in range(p.ioctl(4, 0)):\n    p.ioctl(6, b)\nprint(p.ioctl(4, 0))"
            assert client.exec_raw(erase) == (b"512\r\n", b"")
            assert files.flash.read(VFS, 16) == b"\xff" * 16  # esp32.Partition and the image agree
            emu.hard_reset()
            client.read_until(b"Performing initial setup\r\n" + ESP32_BANNER)
        finally:
            client.close()
        assert [e.name for e in files.ls()] == ["boot.py"] and files.read_text("boot.py") == DEFAULT_BOOT_PY
    # the same through the flash image's own API (what esptool's erase writes through)
    FlashImage(tmp_path / "board", 0x400000).erase(VFS, 0x200000)
    with pytest.raises(FlashFilesError, match="holds no LittleFS"):
        FlashFiles(tmp_path / "board").ls()
    with launch(board_dir=tmp_path / "board") as emu:
        assert [e.name for e in flash_files(emu).ls()] == ["boot.py"]


def test_a_corrupted_file_system_is_reported_until_ctrl_c(tmp_path):
    folder = tmp_path / "board"
    with launch(board_dir=folder) as emu:
        flash_files(emu)
    FlashImage(folder, 0x400000).write(VFS, bytes(8192))  # both superblocks: neither LittleFS nor erased
    with launch(board_dir=folder) as emu:
        client = RawClient(emu.url)
        try:
            emu.hard_reset()
            client.read_until(b"The filesystem appears to be corrupted.")
            client.write(b"\x03")
            client.read_until(b"KeyboardInterrupt: \r\n" + ESP32_BANNER)
            client.read_until(b">>> ")
            client.write(b"import os; os.listdir('/')\r")
            assert b"[]" in client.read_until(b">>> ")
        finally:
            client.close()
    assert FlashImage(folder, 0x400000).read(VFS, 4) == bytes(4)  # the board formatted nothing


def test_an_old_plain_board_folder_is_imported_once(tmp_path):
    folder = tmp_path / "old"
    (folder / "lib").mkdir(parents=True)
    (folder / "main.py").write_text("print('old main')\n")
    (folder / "lib" / "util.py").write_text("U = 7\n")
    with launch(board_dir=folder) as emu:
        b = Board(emu.url)
        b.connect()
        assert b.eval("__import__('util').U") == 7
        assert b.eval("sorted(__import__('os').listdir('/'))") == ["lib", "main.py"]
        b.close()
        assert "copied 2 file(s)" in emu.stderr_text()
    kept = folder / ".esp32" / "files-before-littlefs"
    assert (kept / "main.py").read_text() == "print('old main')\n"
    assert sorted(p.name for p in folder.iterdir()) == [".esp32"]
    assert FlashFiles(folder).walk() == ["/lib/util.py", "/main.py"]


def test_an_old_folder_too_big_for_the_partition_is_refused_and_kept(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "main.py").write_text("print('old main')\n")
    (folder / "huge.bin").write_bytes(bytes(0x200000 + 4096))  # more than the 2 MiB partition
    with pytest.raises(EmulatorError, match="could not copy this folder's files"):
        launch(board_dir=folder, timeout=HANG_GUARD_S)
    assert (folder / "main.py").read_text() == "print('old main')\n"
    assert (folder / "huge.bin").stat().st_size == 0x200000 + 4096
    with pytest.raises(FlashFilesError, match="holds no LittleFS"):
        FlashFiles(folder).ls()  # no half-imported file system left behind


def test_files_command(tmp_path):
    folder = tmp_path / "board"
    with launch(board_dir=folder) as emu:
        flash_files(emu)
    source = tmp_path / "app.py"
    source.write_text("print('app')\n")
    assert files_cli(folder, "put", source, "/app.py").returncode == 0
    assert files_cli(folder, "mkdir", "/lib/pkg").returncode == 0
    listing = files_cli(folder, "ls", "/")
    assert listing.returncode == 0 and "app.py" in listing.stdout and "lib/" in listing.stdout
    assert files_cli(folder, "get", "/app.py").stdout == "print('app')\n"
    assert "blocks" in files_cli(folder, "df").stdout
    missing = files_cli(folder, "get", "/nope.py")
    assert missing.returncode == 1 and "no such file or folder on the board" in missing.stderr
    not_empty = files_cli(folder, "rm", "/lib")
    assert not_empty.returncode == 1 and "not empty" in not_empty.stderr
    assert FlashFiles(folder).is_dir("/lib")  # the refused rm removed nothing
    assert files_cli(folder, "rm", "-r", "/lib").returncode == 0
    assert FlashFiles(folder).walk() == ["/app.py", "/boot.py"]
    nowhere = files_cli(tmp_path / "no-such-board", "ls")
    assert nowhere.returncode == 1 and "not a board folder" in nowhere.stderr


def test_mpremote_mount_runs_host_files_on_the_emulator(emulator, tmp_path):
    (tmp_path / "hostmod.py").write_text("V = 42\n")
    out = subprocess.run(
        [str(MPREMOTE), "connect", emulator.url, "mount", str(tmp_path), "exec",
         "import hostmod, os\nprint(hostmod.V, os.getcwd())\n"
         "with open('made.txt', 'w') as f:\n    f.write('on host')"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "42 /remote" in out.stdout
    assert (tmp_path / "made.txt").read_text() == "on host"
    assert "made.txt" not in [e.name for e in flash_files(emulator).ls()]  # it went to the host


def test_driving_a_flash_pin_panics_and_reboots(emulator):
    client = RawClient(emulator.url)
    try:
        client.enter_raw()
        # accepted, as v1.24 does
        assert client.exec_raw("import machine\nprint(machine.Pin(6))") == (b"Pin(6)\r\n", b"")
        client.write(b"import machine\r\nmachine.Pin(7, machine.Pin.OUT)\x04")
        client.read_until(b"Guru Meditation Error: Core  1 panic'ed (IllegalInstruction)")
        client.read_until(b"rst:0xc (SW_CPU_RESET)")
        client.read_until(b">>> ", timeout=HANG_GUARD_S)
        client.enter_raw()
        cause = client.exec_raw("import machine\nprint(machine.reset_cause() == machine.WDT_RESET)")
        assert cause == (b"True\r\n", b"")
    finally:
        client.close()
