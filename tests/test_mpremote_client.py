"""mpremote (the real CLI) as an outside client of the emulator: the commands the issue names
beyond exec/eval/cp (tests/test_emulator.py) — run, the fs family, resume, rtc — work as
against a board."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from board_helpers import HANG_GUARD_S
from esp32_kernel.emulator import launch


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    with launch(tmp_path_factory.mktemp("board")) as emulator:
        yield emulator.url


def mpremote(url: str, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "mpremote", "connect", url, *args], capture_output=True, text=True, timeout=HANG_GUARD_S * 2
    )
    if ok:
        assert result.returncode == 0, f"mpremote {' '.join(args)}: {result.stdout}{result.stderr}"
    return result


def test_run_a_local_script(url, tmp_path):
    script = tmp_path / "hello.py"
    script.write_text("import sys\nprint('running on', sys.platform)\nraise ValueError('from the script')\n")
    result = mpremote(url, "run", str(script), ok=False)
    assert result.returncode == 1
    assert "running on esp32" in result.stdout
    assert "ValueError: from the script" in result.stdout + result.stderr


def test_the_fs_commands(url, tmp_path):
    data = bytes(range(256)) * 20
    (tmp_path / "data.bin").write_bytes(data)
    mpremote(url, "fs", "mkdir", ":logs")
    mpremote(url, "fs", "cp", str(tmp_path / "data.bin"), ":logs/data.bin")
    mpremote(url, "exec", "with open('logs/note.txt', 'w') as f:\n    f.write('hello from the board\\n')")
    assert mpremote(url, "fs", "cat", ":logs/note.txt").stdout == "hello from the board\n"
    digest = mpremote(url, "fs", "sha256sum", ":logs/data.bin").stdout
    assert hashlib.sha256(data).hexdigest() in digest
    tree = mpremote(url, "fs", "tree", "-s", ":").stdout
    assert "logs" in tree and "data.bin" in tree and str(len(data)) in tree.replace(",", "")
    mpremote(url, "fs", "rm", ":logs/note.txt")
    assert "note.txt" not in mpremote(url, "fs", "ls", ":logs").stdout
    missing = mpremote(url, "fs", "cat", ":logs/note.txt", ok=False)
    assert missing.returncode != 0 and "No such file or directory" in missing.stderr
    mpremote(url, "fs", "rm", "-r", ":logs")
    assert "logs" not in mpremote(url, "fs", "ls").stdout


def test_resume_keeps_the_session_and_soft_reset_clears_it(url):
    mpremote(url, "exec", "kept = 41")
    assert mpremote(url, "resume", "exec", "print(kept + 1)").stdout.strip() == "42"
    mpremote(url, "soft-reset")
    assert mpremote(url, "resume", "exec", "print('kept' in globals())").stdout.strip() == "False"


def test_rtc_set_and_get(url):
    mpremote(url, "rtc", "--set")
    said = mpremote(url, "rtc").stdout
    assert said.startswith("(") and len(said.strip("()\n").split(",")) == 8, said


def test_mount_and_run_a_script_that_writes_utf8_text(url, tmp_path):
    """`mpremote mount DIR run x.py` writing non-ASCII text with newlines to a mounted file:
    mpremote's protocol carries \x04 and newline bytes, which the emulator's console passed
    on as text (it hung). The file holds what was written; the next client gets in."""
    (tmp_path / "x.py").write_text(
        "f = open('out.txt', 'w')\nf.write('\U0001f522 Data\\n')\nprint(f.write('a\\nb'))\nf.close()\n"
        "print(open('out.txt').read())\n",
        encoding="utf8",
    )
    result = mpremote(url, "mount", str(tmp_path), "run", str(tmp_path / "x.py"))
    assert (tmp_path / "out.txt").read_text(encoding="utf8") == "\U0001f522 Data\na\nb"
    assert result.stdout.endswith("mounted at /remote\n3\n\U0001f522 Data\na\nb\n"), result.stdout
    assert mpremote(url, "exec", "print('next client')").stdout.strip() == "next client"
