"""The emulated ESP32's drivers and esp32/esp modules against MicroPython v1.24, with the bench's
protocol parts (NeoPixel strip, DHT, DS18B20 on 1-Wire), NVS and flash, deep-sleep wake
sources, and board profiles. The Board class is the client."""

from __future__ import annotations

import json
import time

import pytest

from esp32_kernel.board import Board
from esp32_kernel.emulator import launch
from esp32_kernel.emulator.flash_files import FlashFiles

from board_helpers import ERRNO, HANG_GUARD_S, error_of, wait_for


pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def board(emulator):
    b = Board(emulator.url)
    b.connect()
    b.exec("import machine\nfrom machine import Pin")
    yield b
    b.close()




# -- the drivers a board ships (micropython-lib's, unchanged)


def test_neopixel_strip_through_bitstream(board, emulator):
    board.exec("import neopixel\nnp = neopixel.NeoPixel(Pin(5), 4)\nnp[0] = (255, 0, 0)\nnp[3] = (1, 2, 3)\nnp.write()")
    assert emulator.bench("neopixels", 5)["pixels"] == [[255, 0, 0], [0, 0, 0], [0, 0, 0], [1, 2, 3]]
    assert emulator.get_pin(5)["mode"] == "out"
    board.exec("np.fill((0, 10, 0))\nnp.write()")
    assert emulator.bench("neopixels", 5)["pixels"] == [[0, 10, 0]] * 4
    assert board.eval("np[1]") == (0, 10, 0)
    assert error_of(board, "np[4] = (1, 1, 1)") == "IndexError: bytearray index out of range"
    assert error_of(board, "machine.bitstream(Pin(5), 1, (1, 2, 3, 4), b'x')") == "ValueError: encoding"
    assert error_of(board, "machine.bitstream(Pin(5), 0, (1, 2, 3), b'x')") == "ValueError: requested length 4 but object has length 3"


def test_neopixel_rgbw_strip(board, emulator):
    emulator.bench("add_neopixel", 13, "grbw")
    board.exec("import neopixel\nw = neopixel.NeoPixel(Pin(13), 2, bpp=4)\nw[1] = (1, 2, 3, 4)\nw.write()")
    assert emulator.bench("neopixels", 13)["pixels"] == [[0, 0, 0, 0], [1, 2, 3, 4]]


def test_dht22_and_dht11(board, emulator):
    emulator.bench("add_dht", 4, 23.5, 51.2)
    board.exec("import dht\nd = dht.DHT22(Pin(4))")
    started = time.monotonic()
    board.exec("d.measure()")
    assert time.monotonic() - started >= 0.25  # the start signal alone takes 268 ms
    temperature, humidity = board.eval("(d.temperature(), d.humidity())")
    assert temperature == pytest.approx(23.5) and humidity == pytest.approx(51.2)
    emulator.bench("set_temperature", 4, -7.3)
    emulator.bench("set_humidity", 4, 80)
    assert board.eval("d.measure() or d.temperature()") == pytest.approx(-7.3)
    emulator.bench("add_dht", 16, 21.7, 40, "dht11")
    assert board.eval("dht.DHT11(Pin(16)).measure() or 0") == 0
    assert board.eval("(lambda s: (s.measure(), s.temperature(), s.humidity())[1:])(dht.DHT11(Pin(16)))") == (21, 40)
    # nothing on the pin: the sensor never answers
    assert error_of(board, "dht.DHT22(Pin(17)).measure()").startswith("OSError: ")
    assert error_of(board, "machine.dht_readinto(Pin(4), bytearray(4))") == "ValueError: buffer too small"


def test_ds18b20s_on_a_onewire_bus(board, emulator):
    first = emulator.bench("add_ds18b20", 15, 19.25)["rom"]
    second = emulator.bench("add_ds18b20", 15, "28ff640e1d1603", -10.0625)["rom"]
    assert second == "28ff640e1d1603ad"  # CRC appended
    board.exec("import onewire, ds18x20\now = onewire.OneWire(Pin(15))\nds = ds18x20.DS18X20(ow)\nroms = ds.scan()")
    assert sorted(board.eval("[r.hex() for r in roms]")) == sorted([first, second])
    assert board.eval("[ds.read_temp(r) for r in roms]") == [85.0, 85.0]  # power-on value: no conversion yet
    board.exec("ds.convert_temp()\n__import__('time').sleep_ms(750)")
    temps = dict(zip(board.eval("[r.hex() for r in roms]"), board.eval("[ds.read_temp(r) for r in roms]")))
    assert temps == {first: 19.25, second: -10.0625}
    assert board.eval("ow.crc8(roms[0])") == 0
    assert board.eval("onewire.OneWire(Pin(14)).reset()") is False  # no device: no presence pulse
    assert error_of(board, "ds18x20.DS18X20(onewire.OneWire(Pin(14))).convert_temp()").startswith("OneWireError")
    # 9-bit resolution: the register's low bits are zero
    emulator.bench("set_temperature", second, 22.3)
    board.exec("r = [r for r in roms if r.hex() == %r][0]\nds.write_scratch(r, b'\\x4b\\x46\\x1f')\nds.convert_temp()\n__import__('time').sleep_ms(100)" % second)
    assert board.eval("ds.read_temp(r)") == 22.0  # 0.5 °C steps


def test_frozen_modules_load_on_import_and_user_files_come_first(board, emulator):
    board.exec("import sys\nsys.modules.pop('dht', None)")
    files = FlashFiles(emulator.board_dir)
    files.write("dht.py", "MINE = 1\n")
    try:
        assert board.eval("__import__('dht').MINE") == 1
    finally:
        files.remove("dht.py")
        board.exec("sys.modules.pop('dht', None)")
    assert board.eval("hasattr(__import__('dht'), 'DHT22')") is True
    assert ".esp32" not in board.eval("__import__('os').listdir('/')")


def test_i2c_eeprom_and_light_sensor(board, emulator):
    emulator.bench("add_i2c", 19, "24c32")
    emulator.bench("add_i2c", 19, "bh1750", "0x23", 500)
    board.exec("from machine import I2C, SoftI2C\ni2c = I2C(0)")
    assert board.eval("repr(i2c)") == "I2C(0, scl=18, sda=19, freq=400000)"
    assert board.eval("i2c.scan()") == [0x23, 0x50]
    assert error_of(board, "I2C(2)") == "ValueError: I2C(2) doesn't exist"
    assert error_of(board, "i2c.readfrom(0x40, 2)") == f"OSError: [Errno {ERRNO['ENODEV']}] ENODEV"
    # the EEPROM does not answer during its write cycle (5 ms): acknowledge polling
    write_then_read = "i2c.writeto_mem(0x50, 0x0010, b'hello', addrsize=16)\ni2c.readfrom_mem(0x50, 0x10, 5, addrsize=16)"
    assert error_of(board, write_then_read) == f"OSError: [Errno {ERRNO['ENODEV']}] ENODEV"
    board.exec("__import__('time').sleep_ms(10)")
    assert board.eval("i2c.readfrom_mem(0x50, 0x10, 5, addrsize=16)") == b"hello"
    assert emulator.bench("i2c_dump", 19, "0x50", "0x10", "5")["data"] == b"hello".hex()
    board.exec("i2c.writeto(0x23, b'\\x01')\ni2c.writeto(0x23, b'\\x10')\n__import__('time').sleep_ms(180)")
    assert board.eval("int.from_bytes(i2c.readfrom(0x23, 2), 'big')") == 600  # lux x 1.2
    board.exec("s = SoftI2C(scl=Pin(22), sda=Pin(21))")
    assert board.eval("(repr(s), s.scan())") == ("SoftI2C(scl=22, sda=21, freq=400000)", [])


# -- esp32 and esp


def test_nvs_values_errors_and_persistence(board, emulator):
    board.exec("import esp32\nn = esp32.NVS('lab')\nn.set_i32('count', -5)\nn.set_blob('name', b'hello')\nn.commit()")
    assert board.eval("n.get_i32('count')") == -5
    assert board.eval("(lambda b: (n.get_blob('name', b), bytes(b[:5])))(bytearray(8))") == (5, b"hello")
    assert error_of(board, "n.get_i32('missing')") == "OSError: (-4354, 'ESP_ERR_NVS_NOT_FOUND')"
    # ESP-IDF looks keys up by type: a blob key is not found as an i32
    assert error_of(board, "n.get_i32('name')") == "OSError: (-4354, 'ESP_ERR_NVS_NOT_FOUND')"
    assert error_of(board, "n.get_blob('count', bytearray(8))") == "OSError: (-4354, 'ESP_ERR_NVS_NOT_FOUND')"
    assert error_of(board, "n.get_blob('name', bytearray(3))") == "OSError: (-4364, 'ESP_ERR_NVS_INVALID_LENGTH')"
    assert error_of(board, "n.set_i32('sixteen_chars_ab', 1)") == "OSError: (-4361, 'ESP_ERR_NVS_KEY_TOO_LONG')"
    assert error_of(board, "esp32.NVS('other').get_i32('count')") == "OSError: (-4354, 'ESP_ERR_NVS_NOT_FOUND')"
    board.exec("n.erase_key('name')")
    assert error_of(board, "n.erase_key('name')") == "OSError: (-4354, 'ESP_ERR_NVS_NOT_FOUND')"
    assert board.eval("repr(n)") == "<NVS namespace>"
    board.soft_reset()
    assert board.eval("__import__('esp32').NVS('lab').get_i32('count')") == -5
    stored = json.loads((emulator.board_dir / ".esp32" / "nvs.json").read_text())
    assert stored["lab"]["count"] == ["i32", -5]
    board.exec("import machine\nfrom machine import Pin")


def test_partitions_and_flash(board):
    board.exec("import esp32, esp")
    assert board.eval("esp.flash_size()") == 4 * 1024 * 1024
    assert board.eval("esp.flash_user_start()") == 0x200000
    assert board.eval("esp32.Partition(esp32.Partition.RUNNING).info()") == (0, 0, 0x10000, 0x1F0000, "factory", False)
    labels = board.eval("[p.info()[4] for p in esp32.Partition.find(esp32.Partition.TYPE_DATA)]")
    assert labels == ["nvs", "phy_init", "vfs"]
    assert board.eval("repr(esp32.Partition('vfs'))") == "<Partition type=1, subtype=129, address=2097152, size=2097152, label=vfs, encrypted=0>"
    assert error_of(board, "esp32.Partition('nothing')").startswith(f"OSError: [Errno {ERRNO['ENOENT']}]")
    assert error_of(board, "esp32.Partition(esp32.Partition.RUNNING).get_next_update()").startswith(f"OSError: [Errno {ERRNO['ENOENT']}]")
    # raw access on a partition the board does not use (the emulated NVS keeps its keys in a
    # JSON file): the vfs partition holds the board's LittleFS (test_board_flash_fs.py)
    board.exec("p = esp32.Partition('nvs')\nb = bytearray(4096)\np.readblocks(3, b)")
    assert board.eval("set(b)") == {0xFF}  # erased flash
    board.exec("p.writeblocks(3, bytes(range(256)) * 16)\np.readblocks(3, b)")
    assert board.eval("bytes(b[:4])") == b"\x00\x01\x02\x03"
    # an extended write does not erase: NOR flash only clears bits
    board.exec("p.writeblocks(3, b'\\xf0', 1)\np.readblocks(3, b)")
    assert board.eval("b[1]") == 0x00
    board.exec("p.ioctl(6, 3)\np.readblocks(3, b)")
    assert board.eval("b[1]") == 0xFF
    assert board.eval("(p.ioctl(4, 0), p.ioctl(5, 0))") == (6, 4096)
    assert board.eval("[(q.ioctl(4, 0), q.ioctl(5, 0)) for q in esp32.Partition.find(esp32.Partition.TYPE_DATA, label='vfs')]") == [(512, 4096)]
    assert error_of(board, "p.readblocks(6, b)") == "OSError: (-260, 'ESP_ERR_INVALID_SIZE')"
    board.exec("esp.flash_write(0xA000, b'hi')\nbuf = bytearray(2)\nesp.flash_read(0xA000, buf)")
    assert board.eval("bytes(buf)") == b"hi"
    assert error_of(board, "esp.flash_read(0x400000, bytearray(4))") == f"OSError: [Errno {ERRNO['EIO']}] EIO"


def test_esp32_misc(board):
    board.exec("import esp32")
    assert 100 < board.eval("esp32.raw_temperature()") < 160
    heaps = board.eval("esp32.idf_heap_info(esp32.HEAP_DATA)")
    assert heaps and all(len(h) == 4 for h in heaps)
    assert (board.eval("(esp32.HEAP_DATA, esp32.HEAP_EXEC, esp32.WAKEUP_ALL_LOW, esp32.WAKEUP_ANY_HIGH)")) == (4, 1, False, True)
    assert error_of(board, "esp32.wake_on_ext0(Pin(5), 0)") == "ValueError: invalid pin"
    assert error_of(board, "esp32.wake_on_ext1((Pin(2), Pin(5)))") == "ValueError: invalid pin"
    board.exec("esp32.wake_on_touch(True)")
    assert error_of(board, "esp32.wake_on_ext0(Pin(4), 0)") == "ValueError: no resources"
    board.exec("esp32.wake_on_touch(False)")
    assert error_of(board, "esp32.RMT(7, pin=Pin(18))") == "ValueError: channel used by bitstream"
    assert error_of(board, "esp32.RMT(0, pin=Pin(18), clock_div=0)") == "ValueError: clock_div must be between 1 and 255"
    board.exec("r = esp32.RMT(0, pin=Pin(18), clock_div=80)\nr.write_pulses((1000, 2000, 3000), 1)")
    assert board.eval("repr(r)") == "RMT(channel=0, pin=18, source_freq=80000000, clock_div=80, idle_level=0)"
    assert board.eval("r.wait_done(timeout=50)") is True
    assert error_of(board, "r.write_pulses([], 1)") == "ValueError: No pulses"
    board.exec("r.deinit()")
    assert board.eval("repr(r)") == "RMT()"
    assert board.eval("__import__('esp').osdebug(None)") is None


def test_deepsleep_wakes_on_ext0(board, emulator):
    board.exec("import esp32\nPin(4, Pin.IN, Pin.PULL_UP)\nesp32.wake_on_ext0(Pin(4), esp32.WAKEUP_ALL_LOW)")
    emulator.bench("remove", 4)
    board.start("machine.deepsleep()")
    wait_for(lambda: emulator.status()["asleep"])
    time.sleep(0.2)
    assert emulator.status()["asleep"] is True  # the pull-up holds the pin high through the sleep
    emulator.set_pin(4, 0)
    wait_for(lambda: not emulator.status()["asleep"] and not emulator.status()["booting"])
    assert wait_for(lambda: board.wait_ready(1))
    assert board.eval("(__import__('machine').reset_cause(), __import__('machine').wake_reason())") == (4, 2)
    emulator.set_pin(4, None)
    board.exec("import machine\nfrom machine import Pin")


# -- board profiles


def test_default_board_is_a_devkitc(emulator, board):
    status = emulator.status()
    assert status["board"] == "esp32-devkitc" and status["board_name"] == "ESP32-DevKitC"
    assert emulator.bench("describe")["buttons"]["0"]["active_low"] is True  # BOOT on GPIO 0
    assert emulator.bench("get_pin", "SVP")["pin"] == 36  # the board's labels work on the bench
    assert error_of(board, "Pin('SVP')") == "ValueError: invalid pin"  # ESP32_GENERIC knows no labels


def test_wrover_kit_profile(tmp_path):
    with launch(board_dir=tmp_path / "wrover", board="ESP32-WROVER-KIT") as emu:
        b = Board(emu.url)
        b.connect()
        try:
            assert b.eval("__import__('os').uname().machine") == "Generic ESP32 module with SPIRAM with ESP32"
            assert b.eval("__import__('gc').mem_free()") > 3_500_000  # the PSRAM is the heap
            b.exec("x = bytearray(1024 * 1024)")
            assert error_of(b, "__import__('machine').Pin(16)") == "ValueError: invalid pin"  # PSRAM's pin
            leds = emu.bench("leds")["leds"]
            assert {v["name"] for v in leds.values()} == {"LED_RED", "LED_GREEN", "LED_BLUE"}
            b.exec("__import__('machine').Pin(2, __import__('machine').Pin.OUT).on()")
            assert emu.bench("leds")["leds"]["2"]["brightness"] == 1.0
        finally:
            b.close()


def test_lolin_d32_led_is_active_low_and_unknown_boards_fail(tmp_path):
    with launch(board_dir=tmp_path / "d32", board="lolin-d32") as emu:
        assert emu.status()["board"] == "lolin-d32"
        b = Board(emu.url)
        b.connect()
        try:
            b.exec("from machine import Pin\nPin(5, Pin.OUT).off()")
            assert emu.bench("leds")["leds"]["5"]["brightness"] == 1.0
        finally:
            b.close()
    from esp32_kernel.emulator import EmulatorError

    with pytest.raises(EmulatorError, match="unknown board"):
        launch(board_dir=tmp_path / "x", board="arduino-uno", timeout=HANG_GUARD_S)
