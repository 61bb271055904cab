"""%mip install from a package index served on loopback, by the host and by the board."""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
from functools import partial

import pytest

from esp32_kernel.board import Board
from esp32_kernel.files import BoardFiles
from esp32_kernel.packages import PackageError, install, mpy_version
from kernel_harness import run_cell, start_kernel

PACKAGES = {
    "greet": ("1.0", {"greet/__init__.py": b"from greet_util import shout\ndef hello(who):\n    return shout('hello ' + who)\n"},
              [["greet-util", "latest"]]),
    "greet-util": ("0.2", {"greet_util.py": b"def shout(s):\n    return s.upper() + '!'\n"}, []),
}


def build_index(root, flavours, packages=PACKAGES) -> None:
    """A micropython-lib index (v2 layout, as mip reads it) in `root`."""
    for name, (version, sources, deps) in packages.items():
        hashes = []
        for path, data in sources.items():
            short = hashlib.sha256(data).hexdigest()[:8]
            hashes.append([path, short])
            (root / "file" / short[:2]).mkdir(parents=True, exist_ok=True)
            (root / "file" / short[:2] / short).write_bytes(data)
        for flavour in flavours:
            folder = root / "package" / flavour / name
            folder.mkdir(parents=True, exist_ok=True)
            description = json.dumps({"v": 1, "version": version, "hashes": hashes, "deps": deps})
            (folder / "latest.json").write_text(description)
            (folder / f"{version}.json").write_text(description)
    (root / "file" / "00").mkdir(parents=True, exist_ok=True)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def serve(root):
    """Serve `root` over HTTP on loopback; returns the server (its URL: server.url)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def index(tmp_path_factory, emulator):
    root = tmp_path_factory.mktemp("index")
    board = Board(emulator.url)
    board.connect()
    try:
        flavour = mpy_version(BoardFiles(board))
    finally:
        board.close()
    build_index(root, {"py", flavour})  # .py sources under the board's mpy flavour too: a test index
    server = serve(root)
    yield server.url, root
    server.shutdown()
    server.server_close()


@pytest.fixture
def files(emulator):
    board = Board(emulator.url)
    board.connect()
    yield BoardFiles(board)
    board.close()


def test_host_install_writes_the_package_and_its_dependencies(files, index, emulator):
    url, _ = index
    done = install(files, "greet", index=url, say=lambda _: None)
    assert done.packages == ["greet@1.0", "greet-util@0.2"]
    assert sorted(done.files) == ["/lib/greet/__init__.py", "/lib/greet_util.py"]
    assert files.get_bytes("/lib/greet_util.py") == PACKAGES["greet-util"][1]["greet_util.py"]
    # the package works (run from its files: the emulator's import from /lib is being reworked)
    code = "exec(open('/lib/greet_util.py').read())\nprint(shout('hello board'))"
    assert files.board.exec(code) == "HELLO BOARD!\n"
    again = install(files, "greet@1.0", index=url, say=lambda _: None)
    assert again.files == [] and len(again.same) == 2


def test_a_file_that_does_not_match_its_hash_is_refused(files, index, emulator):
    url, root = index
    short = hashlib.sha256(PACKAGES["greet-util"][1]["greet_util.py"]).hexdigest()[:8]
    stored = root / "file" / short[:2] / short
    good = stored.read_bytes()
    stored.write_bytes(b"import os\nos.remove('/boot.py')\n")
    try:
        with pytest.raises(PackageError, match="does not match its hash"):
            install(files, "greet-util", index=url, target="/tampered", say=lambda _: None)
    finally:
        stored.write_bytes(good)
    assert files.kind("/tampered/greet_util.py") == ""


def test_unknown_package(files, index):
    with pytest.raises(PackageError, match="package nosuch@latest not found"):
        install(files, "nosuch", index=index[0], say=lambda _: None)


def test_mip_magic_from_the_host_and_on_the_board(tmp_path, index):
    url, _ = index
    km, kc = start_kernel(tmp_path)
    try:
        run = run_cell(kc, f"%mip install greet --index {url} --target /pkgs")
        assert run.status == "ok" and "Installed greet@1.0, greet-util@0.2: 2 files written." in run.stdout
        run = run_cell(kc, f"%mip install greet-util --index {url} --target /onboard --on-board --no-mpy")
        assert run.status == "ok", run.reply["content"]
        assert "Done" in run.stdout, run.stdout
        assert "greet_util.py" in run_cell(kc, "%ls /onboard").stdout
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
