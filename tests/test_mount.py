"""%mount end to end: jupyter_client → kernel → emulated ESP32, whose /remote is a folder of
this computer served over the board's own link."""

from __future__ import annotations

import hashlib
import os
import re
import threading
from pathlib import Path

import pytest

from esp32_kernel.board import Board
from esp32_kernel.emulator.process import launch
from esp32_kernel.mount import mount
from esp32_kernel.session import KERNEL_HELPERS
from kernel_harness import HANG_GUARD, fails, ok, run_cell, running_kernel

NASTY = bytes(range(256)) * 3 + b"\x10\x10\x03\x04 rst:0x1 (POWERON_RESET) MPY: soft reboot\r\n\x1e\x1f\x18"


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mount-kernel")
    with running_kernel(tmp) as (km, kc):
        yield km, kc, tmp / "notebooks"


@pytest.fixture
def kc(kernel):
    return kernel[1]


@pytest.fixture
def project(kernel):
    """A folder beside the notebook, mounted on the board for the test, unmounted after."""
    kc, folder = kernel[1], kernel[2] / "project"
    folder.mkdir(exist_ok=True)
    (folder / "blinky.py").write_text("PIN = 2\ndef where():\n    return __file__\n")
    (folder / "data").mkdir(exist_ok=True)
    (folder / "data" / "readings.csv").write_text("t,v\n0,1.5\n1,2.5\n")
    assert "Mounted" in ok(kc, "%mount project")
    yield folder
    run_cell(kc, "%umount")


def value(kc, code: str) -> str:
    run = run_cell(kc, code)
    assert run.status == "ok", (run.reply["content"].get("ename"), run.reply["content"].get("evalue"))
    return run.result


def test_a_module_in_the_mounted_folder_imports(kc, project):
    assert value(kc, "import os\nos.getcwd()") == "'/remote'"
    assert value(kc, "import blinky\nblinky.PIN, blinky.where()") == "(2, 'blinky.py')"
    # the mount stays for later cells
    assert value(kc, "open('data/readings.csv').read().splitlines()[2]") == "'1,2.5'"


def test_files_written_on_the_board_land_in_the_folder_byte_for_byte(kc, project):
    ok(kc, "with open('log.txt', 'w') as f:\n    for i in range(300):\n        f.write('sample %d\\n' % i)")
    assert (project / "log.txt").read_text() == "".join(f"sample {i}\n" for i in range(300))
    # every byte value both ways, including the link's own control bytes
    (project / "nasty.bin").write_bytes(NASTY)
    ok(kc, "data = open('nasty.bin', 'rb').read()\nwith open('copy.bin', 'wb') as f:\n    f.write(data)")
    assert value(kc, "len(data), data[-3:]") == f"({len(NASTY)}, b'\\x1e\\x1f\\x18')"
    assert (project / "copy.bin").read_bytes() == NASTY


def test_text_reads_by_count_and_by_line(kc, project):
    (project / "notes.txt").write_text("héllo wörld\n" * 30 + "no newline at the end", encoding="utf-8")
    # a count that cuts a 2-byte character: the character is finished, not broken
    assert value(kc, "f = open('notes.txt')\n[f.read(2) for _ in range(3)] == ['hé', 'll', 'o ']") == "True"
    assert value(kc, "lines = open('notes.txt').readlines()\nlen(lines), lines[-1], lines[0] == 'héllo wörld\\n'") == (
        "(31, 'no newline at the end', True)")
    # code that never closes its files (as much MicroPython code does) keeps working
    assert value(kc, "all(open('notes.txt').read(5) == 'héllo' for _ in range(100))") == "True"


def test_listdir_stat_mkdir_rename_remove(kc, project):
    names = value(kc, "import os\nsorted(os.listdir())")
    assert "'blinky.py'" in names and "'data'" in names
    size = (project / "data" / "readings.csv").stat().st_size
    assert value(kc, "os.stat('data/readings.csv')[6], os.stat('data')[0] & 0x4000") == f"({size}, 16384)"
    ok(kc, "os.mkdir('made')\nopen('made/a.txt', 'w').write('a')\nos.rename('made/a.txt', 'made/b.txt')")
    assert (project / "made" / "b.txt").read_text() == "a"
    ok(kc, "os.remove('made/b.txt')\nos.rmdir('made')")
    assert not (project / "made").exists()
    listing = ok(kc, "%ls -l /remote")
    assert "blinky.py" in listing and "data/" in listing
    missing = run_cell(kc, "os.stat('nope.py')")
    assert missing.status == "error" and "ENOENT" in missing.reply["content"]["evalue"]


def test_paths_out_of_the_folder_are_refused(kc, project, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the board")
    (project / "escape").symlink_to(tmp_path, target_is_directory=True)
    try:
        for path in ("../secret.txt", "/remote/../../" + str(secret).lstrip("/"), "escape/secret.txt"):
            run = run_cell(kc, f"open({path!r}).read()")
            assert run.status == "error", path
            assert run.reply["content"]["ename"] == "OSError", path
        run = run_cell(kc, "open('escape/evil.txt', 'w')")
        assert run.status == "error"
        assert not (tmp_path / "evil.txt").exists()
        assert secret.read_text() == "not for the board"
        # refused requests leave the link as it was
        assert value(kc, "import blinky\nblinky.PIN") == "2"
    finally:
        (project / "escape").unlink()


def test_read_only_mount_refuses_changes(kc, kernel):
    folder = kernel[2] / "readonly"
    folder.mkdir(exist_ok=True)
    (folder / "keep.txt").write_text("keep me")
    assert "read-only" in ok(kc, "%mount readonly --readonly")
    try:
        assert value(kc, "open('keep.txt').read()") == "'keep me'"
        for code in ("open('keep.txt', 'w')", "open('new.txt', 'w')", "os.remove('keep.txt')", "os.mkdir('d')"):
            said = ok(kc, f"import os, errno\ntry:\n    {code}\nexcept OSError as e:\n    print('refused', e.errno == errno.EROFS)")
            assert said.strip() == "refused True", code
        assert sorted(os.listdir(folder)) == ["keep.txt"] and (folder / "keep.txt").read_text() == "keep me"
    finally:
        ok(kc, "%umount")


def test_a_missing_folder_is_a_clear_error(kc):
    out = fails(kc, "%mount no/such/folder", "MountError")
    assert "no/such/folder is not a folder on this computer" in out
    assert value(kc, "import os\nos.getcwd()") == "'/'"


def test_interrupting_a_mounted_read_leaves_the_link_usable(kernel, project):
    km, kc = kernel[0], kernel[1]
    data = os.urandom(8 * 1024)
    (project / "big.bin").write_bytes(data)
    loop = ("import hashlib\nrounds = 0\nwhile True:\n    with open('big.bin', 'rb') as f:\n"
            "        while f.read(240):\n            pass\n    rounds += 1")
    for delay in (0.3, 0.45, 0.7):  # different moments of the exchange
        msg_id = kc.execute(loop)
        threading.Timer(delay, km.interrupt_kernel).start()
        reply = kc.get_shell_msg(timeout=HANG_GUARD)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        digest = value(kc, "import binascii\nh = hashlib.sha256()\nwith open('big.bin', 'rb') as f:\n"
                                 "    while True:\n        c = f.read(500)\n        if not c:\n            break\n"
                                 "        h.update(c)\nbinascii.hexlify(h.digest())")
        assert digest == repr(hashlib.sha256(data).hexdigest().encode())


def test_interrupting_mounted_reads_at_115200_baud(tmp_path):
    """The same at a UART's pace, where each request takes milliseconds on the wire."""
    folder = tmp_path / "paced"
    folder.mkdir()
    data = os.urandom(4096)
    (folder / "big.bin").write_bytes(data)
    check = ("import hashlib, binascii\nh = hashlib.sha256()\nf = open('big.bin', 'rb')\nwhile True:\n"
             "    c = f.read(500)\n    if not c:\n        break\n    h.update(c)\nf.close()\n"
             "print(binascii.hexlify(h.digest()).decode())")
    with launch(board_dir=tmp_path / "board", baud=115200) as emu:
        board = Board(emu.url, setup=KERNEL_HELPERS)
        board.connect()
        try:
            server = mount(board, folder)
            for delay in (0.15, 0.2, 0.27, 0.33, 0.41):
                execution = board.start("while True:\n    with open('big.bin', 'rb') as f:\n        while f.read(240):\n"
                                        "            pass\n")
                execution.done.wait(delay)
                assert not execution.done.is_set()
                assert board.stop(execution) == "Ctrl-C"
                assert "KeyboardInterrupt" in execution.error
                assert board.exec(check).strip() == hashlib.sha256(data).hexdigest()
            assert server.requests > 100
        finally:
            board.close()


def test_a_new_connection_unmounts_what_an_earlier_one_left(tmp_path):
    folder = tmp_path / "left"
    folder.mkdir()
    (folder / "leftover.py").write_text("X = 1\n")
    with launch(board_dir=tmp_path / "board") as emu:
        first = Board(emu.url, setup=KERNEL_HELPERS)
        first.connect()
        mount(first, folder)
        assert first.exec("import leftover\nprint(leftover.X)").strip() == "1"
        first.close()  # gone without %umount: nobody serves /remote now
        second = Board(emu.url, setup=KERNEL_HELPERS)
        second.connect()
        try:
            assert second.exec("import os\nprint(os.getcwd())").strip() == "/"
            assert "/remote" not in second.exec("import os\nprint(os.listdir('/'))")
        finally:
            second.close()


def test_cells_after_umount_run_on_the_board_alone(kc, kernel):
    folder = kernel[2] / "gone"
    folder.mkdir(exist_ok=True)
    (folder / "onlyhost.py").write_text("X = 1\n")
    ok(kc, "%mount gone")
    assert value(kc, "import onlyhost\nonlyhost.X") == "1"
    assert "Unmounted" in ok(kc, "%umount")
    assert value(kc, "import os\nos.getcwd()") == "'/'"
    run = run_cell(kc, "import sys\nsys.modules.pop('onlyhost')\nimport onlyhost")
    assert run.status == "error" and run.reply["content"]["ename"] == "ImportError"
    assert "Nothing is mounted" in ok(kc, "%umount")
    assert value(kc, "6 * 7") == "42"


def test_a_soft_reset_unmounts_and_says_so(kc, kernel):
    folder = kernel[2] / "resetme"
    folder.mkdir(exist_ok=True)
    ok(kc, "%mount resetme")
    ok(kc, "%reset")
    assert value(kc, "import os\nos.getcwd()") == "'/'"
    assert "the board was reset since %mount" in ok(kc, "%mount")
    assert "the board was reset since %mount" in ok(kc, "%umount")


def test_the_readme_example_runs(kc, project):
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    (example,) = (b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if b.startswith("%mount project"))
    (project / "sensors.py").write_text("NAMES = ('t', 'v')\n")
    (project / "log.csv").write_text("t,v\n")
    run = run_cell(kc, example)
    assert run.status == "ok", (run.reply["content"].get("ename"), run.reply["content"].get("evalue"))
    assert (project / "log.csv").read_text() == "t,v\n1,2.5\n"
    assert value(kc, "sensors.NAMES") == "('t', 'v')"
