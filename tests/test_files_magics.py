"""The file magics end to end: jupyter_client → kernel → emulated ESP32 and its folder."""

from __future__ import annotations

import os
import time

import pytest

from kernel_harness import HANG_GUARD, answers, collect, fails, ok, running_kernel


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("files-kernel")
    with running_kernel(tmp) as (km, kc):
        yield km, kc, tmp / "notebooks"


@pytest.fixture
def kc(kernel):
    return kernel[1]


@pytest.fixture
def notebook_dir(kernel):
    return kernel[2]


def test_writefile_cat_ls(kc):
    assert "Wrote /hello.py on the board" in ok(kc, "%%writefile /hello.py\nprint('hello from a file')\n")
    assert ok(kc, "%cat /hello.py") == "print('hello from a file')\n"
    assert ok(kc, "exec(open('/hello.py').read())") == "hello from a file\n"
    listing = ok(kc, "%ls -l /")
    assert any(line.split() == ["27", "hello.py"] for line in listing.splitlines())
    assert "Appended to /hello.py" in ok(kc, "%%writefile -a /hello.py\nprint('more')\n")
    assert ok(kc, "%cat /hello.py") == "print('hello from a file')\nprint('more')\n"


def test_host_cells_keep_ipythons_writefile(kc, notebook_dir):
    ok(kc, "%%host\n%%writefile on_host.txt\nthis is a host file\n")
    assert (notebook_dir / "on_host.txt").read_text() == "this is a host file\n"
    assert "on_host.txt" not in ok(kc, "%ls /")


def test_put_and_get_round_trip_a_binary_file(kc, notebook_dir):
    data = os.urandom(3000) + bytes(range(256))
    (notebook_dir / "blob.bin").write_bytes(data)
    assert "Copied blob.bin → blob.bin on the board" in ok(kc, "%put blob.bin")
    assert "already has this content" in ok(kc, "%put blob.bin")
    ok(kc, "%mkdir /data")
    assert "→ /data/blob.bin on the board" in ok(kc, "%put blob.bin /data/")
    (notebook_dir / "back").mkdir()
    assert "sha256 checked" in ok(kc, "%get /data/blob.bin back/")
    assert (notebook_dir / "back" / "blob.bin").read_bytes() == data
    assert "is a binary file" in ok(kc, "%cat /data/blob.bin")


def test_get_refuses_to_write_outside_the_notebook_folder(kc, notebook_dir):
    ok(kc, "%%writefile /note.txt\nnote\n")
    outside = notebook_dir.parent / "outside.txt"
    out = fails(kc, f"%get /note.txt {outside}", "PermissionError")
    assert "outside the notebook's folder" in out and "--force" in out
    assert not outside.exists()
    ok(kc, f"%get /note.txt {outside} --force")
    assert outside.read_text() == "note\n"
    assert "outside the notebook's folder" in fails(kc, "%get /note.txt ../sneaky.txt", "PermissionError")


def test_rm_mkdir_df_and_one_line_errors(kc):
    ok(kc, "%mkdir /tree/sub")
    ok(kc, "%%writefile /tree/sub/f.txt\nx\n")
    assert ok(kc, "%ls /tree") == "sub/\n"
    assert "it is a folder" in fails(kc, "%rm /tree", "IsADirectoryError")
    assert ok(kc, "%rm -r /tree") == "Removed /tree.\n"
    assert fails(kc, "%cat /tree/sub/f.txt", "FileNotFoundError") == "/tree/sub/f.txt: no such file or directory"
    assert "free" in ok(kc, "%df")
    usage = fails(kc, "%put", "UsageError")
    assert usage.startswith("the following arguments are required") and len(usage.splitlines()) == 2


def test_sync(kc, notebook_dir):
    project = notebook_dir / "project"
    (project / "lib").mkdir(parents=True)
    (project / "main.py").write_text("print('main')\n")
    (project / "lib" / "helper.py").write_text("Y = 1\n")
    assert "2 sent, 0 unchanged" in ok(kc, "%sync project /app")
    ok(kc, "%%writefile /app/stale.py\n\n")
    (project / "main.py").write_text("print('main v2')\n")
    out = ok(kc, "%sync project /app --delete")
    assert "1 sent, 1 unchanged, 1 deleted" in out and "rm stale.py" in out
    assert ok(kc, "%cat /app/main.py") == "print('main v2')\n"


def test_interrupting_a_put_keeps_the_old_file(kernel, kc, notebook_dir):
    km = kernel[0]
    ok(kc, "%connect emulator --baud 115200")
    ok(kc, "%%writefile /main.py\n# the old main.py\n")
    (notebook_dir / "big.bin").write_bytes(os.urandom(60000))  # 5 s at 115200
    msg_id = kc.execute("%put big.bin /main.py")
    deadline = time.monotonic() + HANG_GUARD
    while True:  # the progress bar appears once the transfer has run for a second
        msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if answers(msg, msg_id) and msg["msg_type"] == "stream" and "put big.bin [" in msg["content"]["text"]:
            break
    km.interrupt_kernel()  # Jupyter's stop button
    stopped = collect(kc, msg_id).reply["content"]
    assert stopped["status"] == "error" and stopped["ename"] == "KeyboardInterrupt", stopped
    assert "the transfer was stopped; /main.py on the board was not changed" in stopped["evalue"]
    assert ok(kc, "%cat /main.py") == "# the old main.py\n"
    assert ".part~" not in ok(kc, "%ls /")
    assert ok(kc, "print('fine')") == "fine\n"
    ok(kc, "%connect emulator")
