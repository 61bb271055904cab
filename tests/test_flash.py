"""Flashing firmware: the emulator's ROM bootloader against the real esptool as an outside
client, its boot checks (a bad app does not start, the ROM still flashes a good one), and
%flash end to end through the kernel."""

from __future__ import annotations

import hashlib
import socket
import struct
import subprocess
import sys

import pytest

from board_helpers import wait_for
from esp32_kernel.chip import esp_image
from esp32_kernel.emulator import board_folder
from esp32_kernel.emulator.process import launch
from esp32_kernel.emulator.rom_bootloader import slip_encode
from kernel_harness import fails, run_cell, running_kernel

APP_OFFSET = 0x10000


def make_firmware(version: str = "v1.24.0-flash-test", corrupt: bool = False) -> bytes:
    """A combined image as micropython.org's ESP32 .bin files are (flashed at 0x1000):
    bootloader, partition table at +0x7000, app at +0xF000."""
    from esp32_kernel.chip.board_profile import partition_table

    app = bytearray(esp_image.build([(0x3F400020, esp_image.app_description(version) + bytes(range(256)) * 40), (0x40080000, b"\x5a" * 3000)], 0x40081000))
    if corrupt:
        app[200] ^= 0xFF  # a byte of the first segment: checksum and hash no longer match
    image = bytearray(b"\xff" * (0xF000 + len(app)))
    boot = esp_image.factory_bootloader()
    image[: len(boot)] = boot
    table = esp_image.partition_table(partition_table(0x400000))
    image[0x7000 : 0x7000 + len(table)] = table
    image[0xF000:] = app
    return bytes(image)


def esptool(url: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "esptool", "--chip", "esp32", "--port", url, "--after", "no-reset", *args],
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


# -- the image format (pure)


def test_built_images_parse_and_corruption_is_named():
    data = esp_image.factory_app("v7.7.7")
    image = esp_image.parse(lambda o, n: data[o : o + n], 0, len(data))
    assert image.version == "v7.7.7" and image.hash_appended and image.length == len(data)
    damaged = bytearray(data)
    damaged[100] ^= 1
    with pytest.raises(esp_image.ImageError, match="Checksum failed"):
        esp_image.parse(lambda o, n: bytes(damaged[o : o + n]), 0, len(damaged))
    no_hash = bytearray(data)
    no_hash[-1] ^= 1
    with pytest.raises(esp_image.ImageError, match="Image hash failed"):
        esp_image.parse(lambda o, n: bytes(no_hash[o : o + n]), 0, len(no_hash))
    with pytest.raises(esp_image.ImageError, match="invalid magic byte"):
        esp_image.parse(lambda o, n: b"\xff" * n, 0, 4096)
    s3 = esp_image.build([(0x3FC88000, b"x" * 16)], 0x40375000, chip_id=9)
    assert "ESP32-S3" in esp_image.describe_file_problem(s3)
    assert "first byte 0x23" in esp_image.describe_file_problem(b"# not a firmware image at all\n")


# -- the emulator's ROM bootloader, with esptool as the client


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    emu = launch(tmp_path_factory.mktemp("flash-board"))
    yield emu
    emu.stop()


def enter_download_mode(emu):
    assert emu.enter_download_mode()
    wait_for(lambda: emu.status()["download_mode"])


def test_esptool_cannot_connect_while_micropython_runs(emulator):
    wait_for(lambda: emulator.status()["micropython_running"])
    result = esptool(emulator.url, "--connect-attempts", "1", "chip-id")
    assert result.returncode != 0
    assert "Failed to connect to ESP32" in result.stdout + result.stderr


def test_esptool_identifies_the_chip_its_flash_and_mac(emulator, tmp_path):
    enter_download_mode(emulator)
    out = ok(esptool(emulator.url, "flash-id"))
    assert "Chip type:          ESP32-D0WD-V3 (revision v3.1)" in out
    assert "Crystal frequency:  40MHz" in out
    assert "Detected flash size: 4MB" in out
    assert "Stub flasher running." in out
    mac = board_folder.unique_id(emulator.board_dir)
    assert f"MAC:                {mac.hex(':')}" in ok(esptool(emulator.url, "read-mac"))
    # a new board's flash holds a valid bootloader, partition table and app
    ok(esptool(emulator.url, "read-flash", "0x1000", "0x7000", str(tmp_path / "boot.bin")))
    info = subprocess.run([sys.executable, "-m", "esptool", "image-info", str(tmp_path / "boot.bin")], capture_output=True, text=True)
    assert "Checksum: 0x" in info.stdout and "(valid)" in info.stdout, info.stdout + info.stderr
    ok(esptool(emulator.url, "read-flash", hex(APP_OFFSET), "0x2000", str(tmp_path / "app.bin")))
    app = (tmp_path / "app.bin").read_bytes()
    assert esp_image.parse(lambda o, n: app[o : o + n], 0, len(app)).version == esp_image.MICROPYTHON_VERSION


@pytest.mark.parametrize("mode", [[], ["--no-stub"]], ids=["stub", "rom"])
def test_write_verify_read_and_erase_round_trip(emulator, tmp_path, mode):
    enter_download_mode(emulator)
    data = hashlib.shake_256(str(mode).encode()).digest(40000)
    (tmp_path / "data.bin").write_bytes(data)
    out = ok(esptool(emulator.url, *mode, "write-flash", "0x300000", str(tmp_path / "data.bin")))
    assert "Hash of data verified." in out
    assert "Verification successful" in ok(esptool(emulator.url, *mode, "verify-flash", "0x300000", str(tmp_path / "data.bin")))
    ok(esptool(emulator.url, *mode, "read-flash", "0x300000", str(len(data)), str(tmp_path / "back.bin")))
    assert (tmp_path / "back.bin").read_bytes() == data
    if not mode:  # erasing is the stub's
        ok(esptool(emulator.url, "erase-region", "0x300000", "0x10000"))
        ok(esptool(emulator.url, "read-flash", "0x300000", "0x100", str(tmp_path / "erased.bin")))
        assert (tmp_path / "erased.bin").read_bytes() == b"\xff" * 0x100
        mismatch = esptool(emulator.url, "verify-flash", "0x300000", str(tmp_path / "data.bin"))
        assert mismatch.returncode != 0 and "Verification failed (digest mismatch)" in mismatch.stdout


def test_esptool_on_the_pty_after_the_download_command(tmp_path):
    """A pty has no modem lines (esptool says it could not reset the chip); the control
    channel's download command stands for the BOOT button, and the ROM answers on the pty."""
    with launch(tmp_path / "board", pty=True) as emu:
        assert emu.enter_download_mode()
        wait_for(lambda: emu.status()["download_mode"])
        result = esptool(emu.pty_path, "--connect-attempts", "2", "flash-id")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Detected flash size: 4MB" in result.stdout
        assert "Setting RTS/DTR lines is not supported" in result.stdout + result.stderr


def test_a_26_mhz_board_reports_its_crystal(tmp_path):
    """The ROM runs its UART from the crystal: esptool reads the divider (and, for the stub,
    the ROM's RTC calibration) and names the crystal; the ROM's greeting is at 74880 baud."""
    import json

    from esp32_kernel.chip.board_profile import BOARDS_DIR

    profile = json.loads((BOARDS_DIR / "esp32-devkitc.json").read_text())
    profile.update(id="esp32-26mhz", name="ESP32 with a 26 MHz crystal", aliases=[], xtal_mhz=26)
    (tmp_path / "esp32-26mhz.json").write_text(json.dumps(profile))
    with launch(tmp_path / "board", board=str(tmp_path / "esp32-26mhz.json")) as emu:
        host, port = emu.url.removeprefix("socket://").rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=30) as link:
            emu.enter_download_mode()
            heard = b""
            while len(heard) < 40:
                heard += link.recv(4096)
        assert b"waiting for download" not in heard  # garbage at 115200, as on such a board
        out = ok(esptool(emu.url, "flash-id"))
        assert "Crystal frequency:  26MHz" in out and "Detected flash size: 4MB" in out


def test_the_rom_reports_a_bad_checksum_as_esptool_expects(emulator):
    """A FLASH_DATA block whose checksum is wrong: ROM status 1, error 0x07 (4 status bytes)."""
    enter_download_mode(emulator)
    host, port = emulator.url.removeprefix("socket://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as link:

        def request(op: int, data: bytes, chk: int = 0) -> bytes:
            link.sendall(slip_encode(struct.pack("<BBHI", 0, op, len(data), chk) + data))
            reply = b""
            while reply.count(b"\xc0") < 2:
                reply += link.recv(4096)
            return reply.split(b"\xc0")[1]

        block = b"\x42" * 64
        assert request(0x02, struct.pack("<IIII", 0x1000, 1, 0x400, 0x3F0000))[-4:] == b"\0\0\0\0"  # FLASH_BEGIN
        reply = request(0x03, struct.pack("<IIII", len(block), 0, 0, 0) + block, chk=0x00)  # right would be 0xEF ^ 0x42…
        assert reply[:2] == b"\x01\x03" and reply[-4:] == b"\x01\x07\x00\x00"
        unknown = request(0x55, b"")
        assert unknown[-4:] == b"\x01\x05\x00\x00"
        assert request(0xD0, b"")[-4:] == b"\x01\x05\x00\x00"  # ERASE_FLASH is the stub's, not the ROM's
        # a RAM upload that jumps to its entry: the stub runs, greets, and answers with 2 status bytes
        code = b"\x00" * 32
        assert request(0x05, struct.pack("<IIII", len(code), 1, 0x1800, 0x40080000))[-4:] == b"\0\0\0\0"
        assert request(0x07, struct.pack("<IIII", len(code), 0, 0, 0) + code, chk=0xEF)[-4:] == b"\0\0\0\0"
        link.sendall(slip_encode(struct.pack("<BBHI", 0, 0x06, 8, 0) + struct.pack("<II", 0, 0x40080000)))
        greeting = b""
        while greeting.count(b"\xc0") < 4:
            greeting += link.recv(4096)
        assert greeting.split(b"\xc0")[3] == b"OHAI"
        assert request(0x02, struct.pack("<IIIII", 0x1000, 1, 0x400, 0x3F0000, 0))[-2:] == b"\0\0"
        reply = request(0x03, struct.pack("<IIII", len(block), 0, 0, 0) + block, chk=0x00)
        assert reply[8:] == b"\xc1\x00"  # the stub's "bad data checksum"


def test_a_corrupt_app_does_not_boot_and_download_mode_recovers_it(emulator, tmp_path):
    (tmp_path / "bad.bin").write_bytes(make_firmware(corrupt=True))
    (tmp_path / "good.bin").write_bytes(make_firmware())
    enter_download_mode(emulator)
    ok(esptool(emulator.url, "write-flash", "0x1000", str(tmp_path / "bad.bin")))
    host, port = emulator.url.removeprefix("socket://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as link:
        emulator.hard_reset()
        heard = b""
        while heard.count(b"No bootable app partitions") < 2:  # it goes round: a reset loop
            heard += link.recv(4096)
    assert b"rst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)" in heard
    assert b"esp_image: Checksum failed" in heard and b"Factory app partition is not bootable" in heard
    assert b"rst:0x3 (SW_RESET)" in heard and b"MicroPython" not in heard
    status = emulator.status()
    assert status["boot_failed"] and not status["micropython_running"]
    # an erased chip: no bootloader at all; the ROM says so and its watchdog resets it
    enter_download_mode(emulator)
    ok(esptool(emulator.url, "erase-flash"))
    with socket.create_connection((host, int(port)), timeout=30) as link:
        emulator.hard_reset()
        heard = b""
        while heard.count(b"rst:") < 2:
            heard += link.recv(4096)
    assert b"invalid header: 0xffffffff" in heard and b"rst:0x10 (RTCWDT_RTC_RESET)" in heard
    enter_download_mode(emulator)
    ok(esptool(emulator.url, "write-flash", "0x1000", str(tmp_path / "good.bin")))
    emulator.hard_reset()
    wait_for(lambda: emulator.status()["micropython_running"])
    assert not emulator.status()["boot_failed"]


# -- %flash through the kernel


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    with running_kernel(tmp_path_factory.mktemp("flash-kernel")) as (_, kc):
        yield kc


def cell(kc, code: str) -> str:
    run = run_cell(kc, code, timeout=180)
    assert run.status == "ok", run.reply["content"]
    return run.stdout


def test_flash_refuses_bad_input_and_loses_nothing(kernel, tmp_path):
    cell(kernel, "kept = 42")
    assert "no such file" in fails(kernel, f"%flash {tmp_path / 'missing.bin'}", "FileNotFoundError")
    (tmp_path / "notes.txt").write_text("# not a firmware image at all\n")
    assert "does not start with an ESP firmware image header" in fails(kernel, f"%flash {tmp_path / 'notes.txt'}", "FlashError")
    (tmp_path / "s3.bin").write_bytes(esp_image.build([(0x3FC88000, b"x" * 16)], 0x40375000, chip_id=9))
    assert "for the ESP32-S3, not for the ESP32" in fails(kernel, f"%flash {tmp_path / 's3.bin'}", "FlashError")
    (tmp_path / "good.bin").write_bytes(make_firmware())
    assert "must be a multiple of 0x1000" in fails(kernel, f"%flash {tmp_path / 'good.bin'} --address 0x1001", "FlashError")
    assert "usage:" in fails(kernel, "%flash", "UsageError")
    assert "--baud must be a positive number" in fails(kernel, f"%flash {tmp_path / 'good.bin'} --baud 0", "UsageError")
    assert cell(kernel, "print(kept)") == "42\n"


def test_flash_tells_how_to_enter_download_mode_when_the_board_does_not_answer(kernel, emulator, tmp_path):
    """A board on a link without modem lines (socket://) that runs MicroPython: esptool cannot
    reset it into the ROM bootloader, and the user is told how to do it by hand."""
    if emulator.status()["download_mode"] or emulator.status()["boot_failed"]:
        emulator.hard_reset()
    wait_for(lambda: emulator.status()["micropython_running"])
    (tmp_path / "good.bin").write_bytes(make_firmware())
    cell(kernel, "mark = 'the kernel board'")
    out = fails(kernel, f"%flash {tmp_path / 'good.bin'} --port {emulator.url}", "FlashError", timeout=180)
    assert "did not answer as the ESP32's ROM bootloader" in out and "hold BOOT (GPIO0), press and release EN" in out, out
    assert cell(kernel, "print(mark)") == "the kernel board\n"  # the board cells run on is untouched


def test_flash_writes_firmware_shows_progress_and_reconnects(kernel, tmp_path):
    (tmp_path / "firmware.bin").write_bytes(make_firmware())
    run = run_cell(kernel, f"%flash {tmp_path / 'firmware.bin'}", timeout=180)
    assert run.status == "ok", run.reply["content"]
    assert "Hash of data verified." in run.stdout and "Flashed firmware.bin at 0x1000" in run.stdout, run.stdout
    assert "Connected to the emulated ESP32" in run.stdout
    widgets = [m for m in run.of_type("display_data") if "application/vnd.jupyter.widget-view+json" in m["content"]["data"]]
    assert widgets, "no progress bar was shown"
    assert cell(kernel, "print(6 * 7)") == "42\n"


def test_flash_a_corrupt_app_then_recover_with_a_good_one(kernel, tmp_path):
    (tmp_path / "bad.bin").write_bytes(make_firmware(corrupt=True))
    (tmp_path / "good.bin").write_bytes(make_firmware())
    out = fails(kernel, f"%flash {tmp_path / 'bad.bin'}", "FlashError", timeout=180)
    assert "does not start it" in out and "not bootable" in out, out
    dead = run_cell(kernel, "print('alive?')", timeout=60)
    assert "alive?" not in dead.stdout and "%flash a good MicroPython image" in dead.error["evalue"]
    out = cell(kernel, f"%flash {tmp_path / 'good.bin'}")
    assert "Flashed good.bin" in out and "Connected to the emulated ESP32" in out, out
    assert cell(kernel, "print('back', 1 + 1)") == "back 2\n"


# -- RFC 2217: the modem lines reach EN and GPIO0, as a board's auto-reset circuit wires them


@pytest.fixture(scope="module")
def rfc2217_emulator(tmp_path_factory):
    emu = launch(tmp_path_factory.mktemp("rfc2217-board"), rfc2217=True)
    yield emu
    emu.stop()


def test_a_terminal_on_rfc2217_does_not_reset_the_board(rfc2217_emulator):
    import serial

    wait_for(lambda: rfc2217_emulator.status()["micropython_running"])
    pid = rfc2217_emulator.status()["micropython_pid"]
    with serial.serial_for_url(rfc2217_emulator.rfc2217_url, timeout=5) as port:  # DTR and RTS asserted, as pyserial opens
        port.write(b"\x03print(6 * 7)\r")
        heard = b""
        while b"42" not in heard:
            chunk = port.read(64)
            assert chunk, f"no answer; heard {heard!r}"
            heard += chunk
    assert rfc2217_emulator.status()["micropython_pid"] == pid


def test_esptool_resets_the_board_into_download_mode_and_back_by_dtr_rts(rfc2217_emulator):
    wait_for(lambda: rfc2217_emulator.status()["micropython_running"])
    result = subprocess.run(
        [sys.executable, "-m", "esptool", "--chip", "esp32", "--port", rfc2217_emulator.rfc2217_url, "flash-id"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Detected flash size: 4MB" in result.stdout and "Hard resetting via RTS pin" in result.stdout
    wait_for(lambda: rfc2217_emulator.status()["micropython_running"])  # its hard reset booted MicroPython
    assert not rfc2217_emulator.status()["download_mode"]


def test_flash_over_rfc2217_uses_the_reset_lines(kernel, rfc2217_emulator, tmp_path):
    """The path a real board takes: esptool's DTR/RTS reset, no emulator control channel."""
    out = cell(kernel, f"%connect {rfc2217_emulator.rfc2217_url}")
    assert "Connected to the ESP32 on rfc2217://" in out, out
    cell(kernel, "before = 1")
    (tmp_path / "firmware.bin").write_bytes(make_firmware())
    out = cell(kernel, f"%flash {tmp_path / 'firmware.bin'}")
    assert "Changing baud rate to 460800" in out and "Flashed firmware.bin at 0x1000" in out, out
    assert "Connected to the ESP32 on rfc2217://" in out, out
    assert cell(kernel, "print('before' in globals(), 3 * 3)") == "False 9\n"  # it really restarted
    assert "Hard reset (RTS on the EN pin)" in cell(kernel, "%reset --hard")  # the kernel's own RTS pulse
