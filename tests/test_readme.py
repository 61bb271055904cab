"""The README: its tour of the magics names only magics the kernel has, and has them all;
its examples run."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from esp32_kernel.emulator import launch
from kernel_harness import run_cell, running_kernel

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def tour_magics() -> set[str]:
    tour = README.split("## A tour of the magics", 1)[1].split("\n## ", 1)[0]
    first_column = [row.split("|")[1] for row in tour.splitlines() if row.startswith("| `%")]
    return {m.lstrip("%") for cell in first_column for m in re.findall(r"`(%%?[a-z_]+)", cell)}


@pytest.fixture(scope="module")
def kc(tmp_path_factory):
    with running_kernel(tmp_path_factory.mktemp("readme")) as (_, kc):
        yield kc


def test_every_magic_in_the_tour_exists(kc):
    listed = run_cell(kc, "%%host\nm = get_ipython().magics_manager.lsmagic()\nsorted(m['line']) + sorted(m['cell'])").result
    missing = {name for name in tour_magics() if f"'{name}'" not in listed}
    assert not missing, f"the README's tour names magics the kernel lacks: {missing}"


def test_the_tour_covers_every_magic_of_ours(kc):
    ours = run_cell(
        kc,
        "%%host\nimport inspect\nm = get_ipython().magics_manager.registry\n"
        "sorted({n for cls in m.values() if type(cls).__module__.startswith('esp32_kernel')"
        " for kind in cls.magics.values() for n in kind})",
    ).result
    names = set(re.findall(r"'([a-z_]+)'", ours))
    undocumented = names - tour_magics() - {"host_writefile", "host_reset"}
    assert not undocumented, f"magics missing from the README's tour: {undocumented}"


def test_the_magics_example_runs(kc):
    example = README.split("around them:\n\n```python\n", 1)[1].split("```", 1)[0]
    run = run_cell(kc, example)
    assert run.status == "ok", run.error
    assert run.result == "'esp32'"


def readme_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_the_live_data_examples_run(kc):
    plot, host = (b for b in readme_blocks() if b.startswith(("%plot", "%%host\np = live")))
    run = run_cell(kc, plot)
    assert run.status == "ok", run.error
    assert run.of_type("display_data"), "the %plot example showed no plot"
    run = run_cell(kc, host)
    assert run.status == "ok", run.error
    saved = run_cell(kc, "%%host\nimport pandas\nlen(pandas.read_csv('run.csv'))").result
    assert saved == "1000"  # every sample the loop emitted, in the CSV the example saved


def test_the_files_example_runs(kc):
    (writefile,) = (b for b in readme_blocks() if b.startswith("%%writefile /main.py"))
    assert run_cell(kc, writefile).status == "ok"
    assert "led.value(not led.value())" in run_cell(kc, "%cat /main.py").stdout
    run_cell(kc, "%rm /main.py")


# Examples that name hardware or a network (a USB port, a lab server, micropython.org) run
# unchanged but for those names, which point at local stand-ins: emulated boards on a pty
# and behind an RFC 2217 bridge, a package index on loopback.


def readme_block(start: str) -> str:
    (block,) = (b for b in re.findall(r"```\w*\n(.*?)```", README, flags=re.S) if b.startswith(start))
    return block


def test_the_mip_example_installs(kc, tmp_path):
    from test_packages import build_index, serve

    packages = {
        "aioble": ("0.5.2", {"aioble/__init__.py": b"name = 'aioble'\n"}, []),
        "umqtt.simple": ("1.3.4", {"umqtt/simple.py": b"class MQTTClient:\n    pass\n"}, []),
    }
    build_index(tmp_path, {"py", "6"}, packages)
    server = serve(tmp_path)
    try:
        for line in readme_block("%mip install").splitlines():
            run = run_cell(kc, f"{line} --index {server.url}")
            assert run.status == "ok" and "Installed " in run.stdout, run.stdout
    finally:
        server.shutdown()
        server.server_close()
    assert run_cell(kc, "import umqtt.simple, aioble\naioble.name").result == "'aioble'"
    run_cell(kc, "%rm -r /lib")


def test_the_several_boards_examples_run(kc, tmp_path):
    from esp32_kernel.serve_boards import BoardServer

    with launch(tmp_path / "usb", pty=True) as usb, launch(tmp_path / "lab") as lab:
        bridge = BoardServer(lab.url).start()
        try:
            connect = readme_block("%connect --name bench1").replace("/dev/ttyUSB0", usb.pty_path)
            run = run_cell(kc, connect.replace("rfc2217://lab-server:4001", bridge.url))
            assert run.status == "ok", run.stdout
            run = run_cell(kc, readme_block("%%on --all"))
            assert run.status == "ok", run.error
            for name in ("bench1", "bench2"):
                # a bytes repr: in double quotes when the bytes hold a single quote
                assert re.search(rf"^\[{name}\] b(['\"]).+\1$", run.stdout, flags=re.M), run.stdout
            run_cell(kc, "%disconnect --name bench1\n%disconnect --name bench2")
        finally:
            bridge.close()
        bridge = BoardServer(lab.url).start()
        try:
            run = run_cell(kc, readme_block("%connect rfc2217://lab-server").replace("rfc2217://lab-server:4001", bridge.url))
            assert run.status == "ok" and bridge.url in run.stdout, run.stdout
            assert run_cell(kc, "import sys\nsys.platform").result == "'esp32'"
        finally:
            run_cell(kc, "%connect emulator")
            bridge.close()


def test_the_emulator_command_lines_run(tmp_path):
    start, client = [line.split("  #")[0].strip() for line in readme_block("python -m esp32_kernel emulator --board-dir").splitlines()]
    command = shlex.split(start)
    emulator = subprocess.Popen([sys.executable, *command[1:]], cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    try:
        url = emulator.stdout.readline().split()[-1]
        control = emulator.stdout.readline().split()[-1]
        assert url.startswith("socket://") and control.startswith("tcp://")
        mpremote = shlex.split(client.replace("socket://127.0.0.1:PORT", url))
        said = subprocess.run([sys.executable, "-m", *mpremote], capture_output=True, text=True, timeout=60)
        assert said.stdout == "2\n", said.stderr
        assert (tmp_path / "myboard").is_dir()  # the board's flash lives there
        set_pin, events = [shlex.split(line.replace("tcp://127.0.0.1:PORT", control)) for line in
                           readme_block("python -m esp32_kernel emulator bench --control tcp://127.0.0.1:PORT set_pin").splitlines()]
        watcher = subprocess.Popen([sys.executable, *events[1:]], stdout=subprocess.PIPE, text=True)
        try:
            assert '"subscribed": true' in watcher.stdout.readline()
            said = subprocess.run([sys.executable, *set_pin[1:]], capture_output=True, text=True, timeout=60)
            assert said.returncode == 0 and '"ok": true' in said.stdout, said.stdout + said.stderr
            seen = watcher.stdout.readline()
            assert '"pin": 4' in seen, seen
        finally:
            watcher.kill()
            watcher.wait()
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)
