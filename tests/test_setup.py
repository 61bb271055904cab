"""Installing the kernel, choosing the board from configuration, finding and opening ports."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import tty

import pytest
from jupyter_client.kernelspec import KernelSpecManager

from esp32_kernel.config import ConfigError, resolve_target
from esp32_kernel.link.ports import PortInfo, _bridge
from esp32_kernel.link.serial_link import LinkError, open_serial


def test_pip_installed_the_kernel_spec_with_logos():
    spec = KernelSpecManager().get_kernel_spec("esp32")
    assert spec.display_name == "ESP32 (MicroPython)"
    assert spec.language == "python"
    assert spec.interrupt_mode == "message"
    files = set(os.listdir(spec.resource_dir))
    assert {"logo-32x32.png", "logo-64x64.png", "logo-svg.svg"} <= files


def test_install_command_writes_a_kernel_spec_under_a_prefix(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "esp32_kernel", "install", "--prefix", str(tmp_path)],
        capture_output=True, text=True, check=True,
    ).stdout
    spec_dir = tmp_path / "share" / "jupyter" / "kernels" / "esp32"
    assert str(spec_dir) in out
    kernel_json = json.loads((spec_dir / "kernel.json").read_text())
    assert kernel_json["argv"][:3] == ["python", "-m", "esp32_kernel"]
    assert (spec_dir / "logo-64x64.png").stat().st_size > 0


def test_install_command_rejects_two_destinations(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "esp32_kernel", "install", "--user", "--prefix", str(tmp_path)],
        capture_output=True, text=True,
    )
    assert run.returncode != 0 and "not allowed with" in run.stderr


def test_target_from_environment_beats_config_files(tmp_path):
    (tmp_path / "esp32_kernel.json").write_text('{"port": "/dev/ttyUSB7"}')
    env = {"ESP32_KERNEL_PORT": "socket://127.0.0.1:2323", "ESP32_KERNEL_BAUD": "460800"}
    target = resolve_target(env, tmp_path)
    assert (target.port, target.baud, target.source) == ("socket://127.0.0.1:2323", 460800, "ESP32_KERNEL_PORT")


def test_target_from_the_notebook_folders_config_file(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "nothing-here"))
    (tmp_path / "esp32_kernel.json").write_text('{"port": "/dev/ttyUSB7", "baud": 921600}')
    target = resolve_target({}, tmp_path)
    assert (target.port, target.baud) == ("/dev/ttyUSB7", 921600)


def test_target_from_jupyters_config_folder(tmp_path, monkeypatch):
    config_dir = tmp_path / "jupyter-config"
    config_dir.mkdir()
    (config_dir / "esp32_kernel.json").write_text('{"port": "emulator"}')
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(config_dir))
    assert resolve_target({}, tmp_path / "notebooks").port == "emulator"


def test_no_configuration_means_auto(tmp_path, monkeypatch):
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path))
    assert resolve_target({}, tmp_path).port is None


@pytest.mark.parametrize(
    "content, message",
    [("{not json", "not valid JSON"), ('["a"]', "must hold a JSON object"), ('{"port": "x", "baud": "fast"}', "not a number")],
)
def test_bad_config_files_are_clear_errors(tmp_path, monkeypatch, content, message):
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "none"))
    (tmp_path / "esp32_kernel.json").write_text(content)
    with pytest.raises(ConfigError, match=message):
        resolve_target({}, tmp_path)


def test_usb_bridges_of_esp32_boards_are_recognised():
    assert _bridge(0x10C4, 0xEA60) == "Silicon Labs CP210x"
    assert _bridge(0x1A86, 0x55D4) == "WCH CH9102"
    assert _bridge(0x303A, 0x1001) == "Espressif USB"
    assert _bridge(0x2341, 0x0043) is None  # an Arduino Uno
    assert _bridge(None, None) is None
    assert PortInfo("/dev/ttyUSB0", "CP2102", 0x10C4, 0xEA60, "x").vid_pid == "10C4:EA60"


@pytest.fixture
def pty_port():
    controller, device = pty.openpty()
    tty.setraw(device)
    yield os.ttyname(device)
    os.close(device)
    os.close(controller)


def test_a_pty_without_modem_lines_opens(pty_port):
    port = open_serial(pty_port)
    try:
        assert port.is_open
    finally:
        port.close()


def test_a_port_is_opened_exclusively(pty_port):
    first = open_serial(pty_port)
    try:
        with pytest.raises(LinkError, match="in use by another program"):
            open_serial(pty_port)
    finally:
        first.close()


def test_emulator_command_is_reachable_through_the_package():
    run = subprocess.run([sys.executable, "-m", "esp32_kernel", "emulator", "--help"], capture_output=True, text=True)
    assert run.returncode == 0
    assert "--baud" in run.stdout and "--board-dir" in run.stdout
