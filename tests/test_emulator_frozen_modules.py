"""The v1.24 board's modules beyond machine and network, each driven for real: btree on the
flash, ntptime against an NTP responder, requests against an HTTP server, umqtt against a
Mosquitto broker — each started here on loopback, the board reaching it through the bench's
routes — and apa106, flashbdev, inisetup, upysh, webrepl_setup, uctypes' 32-bit LONG."""

from __future__ import annotations

import http.server
import shutil
import socket
import struct
import subprocess
import threading
from pathlib import Path

import pytest

from board_helpers import ERRNO, HANG_GUARD_S, NO_SOCKETS, PORTABLE, error_of, wait_for

NTP_1900_TO_1970 = 2208988800


@pytest.fixture
def fresh(board):
    board.soft_reset()
    return board


def test_btree_database_on_the_flash_keeps_order_ranges_and_its_data_across_a_reset(fresh, emulator):
    fresh.exec(
        "import btree\nf = open('db', 'w+b')\ndb = btree.open(f)\n"
        "for k in (b'3', b'1', b'5', b'2', b'4'):\n    db[k] = b'v' + k\n"
        "db['text'] = 'str keys and values are bytes'\ndel db[b'5']\ndb.flush()"
    )
    assert fresh.eval("list(db)") == [b"1", b"2", b"3", b"4", b"text"]
    assert fresh.eval("list(db.keys(b'2', b'4'))") == [b"2", b"3"]
    assert fresh.eval("list(db.values(b'2', b'4', btree.INCL))") == [b"v2", b"v3", b"v4"]
    assert fresh.eval("list(db.items(b'4', b'1', btree.DESC))") == [(b"4", b"v4"), (b"3", b"v3"), (b"2", b"v2")]
    assert fresh.eval("(db.get(b'9'), db.get(b'9', 0), b'1' in db, b'5' in db, db[b'text'])") == (
        None, 0, True, False, b"str keys and values are bytes")  # fmt: skip
    assert error_of(fresh, "db[b'5']") == "KeyError:"  # no argument, as modbtree.c raises it
    fresh.exec("db.close()\nf.close()")
    running = fresh.start("import time\ntime.sleep(10)")
    emulator.hard_reset()  # the power goes; what flush() and close() wrote stays
    assert running.done.wait(HANG_GUARD_S) and running.rebooted
    fresh.exec("import btree\nf = open('db', 'r+b')\ndb = btree.open(f)")
    assert fresh.eval("[k for k in db]") == [b"1", b"2", b"3", b"4", b"text"]
    assert fresh.eval("db.seq(3)") == (b"1", b"v1")  # R_FIRST
    fresh.exec("db.close()\nf.close()")
    with_text = "f = open('not-a-db', 'w+b')\nf.write(b'some other file, long enough')\nf.seek(0)\nbtree.open(f)"
    assert error_of(fresh, with_text) == "OSError: 79"  # EFTYPE, as Berkeley DB refuses it


def test_apa106_pixels_take_rgb_order(fresh, emulator):
    emulator.bench("add_neopixel", 14, "rgb")
    fresh.exec("import apa106, machine\np = apa106.APA106(machine.Pin(14), 2)\np[0] = (10, 20, 30)\np.write()")
    assert emulator.bench("neopixels", 14)["pixels"] == [[10, 20, 30], [0, 0, 0]]


def test_flashbdev_is_the_vfs_partition_and_inisetup_keeps_a_formatted_flash(fresh):
    fresh.exec("import flashbdev")
    info = fresh.eval("flashbdev.bdev.info()")
    assert info[4] == "vfs" and info[3] == fresh.eval("flashbdev.bdev.ioctl(4, 0) * 4096")
    # the flash has a file system: its first block is not erased, so check_bootsec complains
    # until Ctrl-C, as a board does
    execution = fresh.start("import inisetup\ninisetup.check_bootsec()", collect=True)
    wait_for(lambda: b"appears to be corrupted" in bytes(execution.stdout))
    fresh.interrupt()
    assert execution.done.wait(HANG_GUARD_S) and "KeyboardInterrupt" in execution.error
    fresh.exec("import os")
    assert fresh.eval("'boot.py' in os.listdir('/')")


def test_uctypes_long_is_32_bits_as_on_the_board(fresh):
    # through a name other than `uctypes`: the unix port's compiler folds `uctypes.LONG`
    # written in code to its own 64-bit value (README: What the board looks like)
    fresh.exec("import uctypes as u\nfrom uctypes import ULONG")
    assert fresh.eval("(u.LONG == u.INT32, u.sizeof({'a': ULONG | 0}))") == (True, 4)


def test_upysh_lists_shows_copies_and_removes(fresh):
    fresh.exec("f = open('notes.txt', 'w')\nf.write('one\\ntwo\\nthree\\n')\nf.close()")
    shown = fresh.exec("from upysh import *\nhead('notes.txt', 2)\ncp('notes.txt', 'copy.txt')\nmkdir('d')\nls()")
    assert "upysh is intended to be imported" in shown and "one\ntwo\n" in shown and "three" not in shown
    assert "   <dir> d" in shown and "      14 copy.txt" in shown
    assert fresh.exec("print(repr(ls))").count("notes.txt") == 1  # as typing `ls` at the prompt
    fresh.exec("rm('copy.txt')\nrm('d')")
    assert "copy.txt" not in fresh.exec("ls()") and "<dir> d" not in fresh.exec("ls()")
    assert error_of(fresh, "cat('missing')") == f"OSError: [Errno {ERRNO['ENOENT']}] ENOENT"


def test_webrepl_setup_asks_and_writes_the_password_and_boot_py(fresh):
    execution = fresh.start("import webrepl_setup", collect=True)
    for answer in (b"E", b"secret1", b"secret1", b"n"):  # enable, password twice, no reboot
        fresh.send_input(answer + b"\r")
    assert execution.done.wait(HANG_GUARD_S), bytes(execution.stdout)
    said = bytes(execution.stdout).decode()
    assert "WebREPL daemon auto-start status: disabled" in said and "Changes will be activated after reboot" in said
    assert fresh.eval("open('webrepl_cfg.py').read()") == "PASS = 'secret1'\n"
    boot = fresh.eval("open('boot.py').read()")
    assert "\nimport webrepl\nwebrepl.start()\n" in boot and "#import webrepl" not in boot


def test_network_has_the_boards_constants_and_ipconfig(fresh):
    fresh.exec("import network")
    assert fresh.eval("(network.WLAN.IF_STA, network.WLAN.SEC_WPA2, network.WLAN.PM_POWERSAVE, network.AUTH_MAX)") == (0, 3, 2, 13)
    assert fresh.eval("network.ipconfig('prefer')") == 4
    fresh.exec("network.ipconfig(dns='8.8.8.8')")
    assert fresh.eval("network.ipconfig('dns')") == "8.8.8.8"
    assert error_of(fresh, "network.ipconfig('nope')") == "ValueError: unexpected key"
    # LAN, on a board with no Ethernet PHY wired: the checks, then the driver finds no PHY
    lan = "network.LAN(mdc=machine.Pin(23), mdio=machine.Pin(18), phy_addr={}, phy_type={})"
    fresh.exec("import machine")
    assert error_of(fresh, lan.format(32, "network.PHY_LAN8720")) == "ValueError: invalid phy address"
    assert error_of(fresh, lan.format(0, 99)) == "ValueError: invalid phy type"
    assert error_of(fresh, "network.LAN(phy_addr=0, phy_type=network.PHY_LAN8720)") == "ValueError: mdc and mdio must be specified"
    assert error_of(fresh, lan.format(0, "network.PHY_LAN8720")) == "OSError: esp_eth_driver_install failed"


# -- services on loopback, reached by the board through the bench's routes


@pytest.fixture
def ntp_server():
    """An NTP responder on loopback whose clock reads 2025-06-01 12:00:00 UTC."""
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    seconds = 1748779200 + NTP_1900_TO_1970

    def answer():
        while True:
            try:
                query, client = server.recvfrom(48)
            except OSError:
                return
            reply = bytearray(48)
            reply[0] = 0x1C  # version 3, mode 4: a server's reply
            reply[40:48] = struct.pack("!II", seconds, 0)
            server.sendto(bytes(reply), client)

    threading.Thread(target=answer, daemon=True).start()
    yield server.getsockname()[1]
    server.close()


@NO_SOCKETS
def test_ntptime_sets_the_rtc_from_an_ntp_server(fresh, emulator, ntp_server):
    emulator.bench("route", "pool.ntp.org:123", f"127.0.0.1:{ntp_server}")
    try:
        fresh.exec("import ntptime")
        assert fresh.eval("ntptime.time()") == 1748779200 - 946684800  # since 2000
        fresh.exec("ntptime.settime()")
        assert fresh.eval("__import__('time').localtime()[:5]") == (2025, 6, 1, 12, 0)
    finally:
        emulator.bench("route", "pool.ntp.org:123")
    assert emulator.bench("routes")["routes"] == {}


@NO_SOCKETS
def test_requests_and_urequests_against_an_http_server(fresh, emulator):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = b'{"sensor": "ok"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    emulator.bench("route", "api.example.com:80", f"127.0.0.1:{server.server_address[1]}")
    try:
        fresh.exec("import requests\nr = requests.get('http://api.example.com/v1')")
        assert fresh.eval("(r.status_code, r.json())") == (
            200, {"sensor": "ok"})  # fmt: skip
        fresh.exec("import urequests")
        assert fresh.eval("urequests.get('http://api.example.com/').text") == '{"sensor": "ok"}'
    finally:
        emulator.bench("route", "api.example.com:80")
        server.shutdown()


@pytest.fixture
def mosquitto(tmp_path):
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not shutil.which(binary):
        pytest.skip("no Mosquitto broker here (make test installs Debian's mosquitto where it can)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = tmp_path / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    broker = subprocess.Popen([binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def listening():
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    wait_for(listening)
    yield port
    broker.terminate()
    broker.wait(HANG_GUARD_S)


@NO_SOCKETS
def test_umqtt_publishes_and_receives_through_a_mosquitto_broker(fresh, emulator, mosquitto):
    emulator.bench("route", "broker.lab:1883", f"127.0.0.1:{mosquitto}")
    try:
        fresh.exec(
            "from umqtt.simple import MQTTClient\ngot = []\n"
            "c = MQTTClient('esp32-a', 'broker.lab', keepalive=30)\n"
            "c.set_callback(lambda t, m: got.append((t, m)))\nc.connect()\n"
            "c.subscribe(b'lab/+/temp', qos=1)\n"
            "c.publish(b'lab/1/temp', b'21.5')\nc.publish(b'lab/2/temp', '22.0', qos=1)\nc.publish(b'other', b'x')"
        )
        fresh.exec("import time\nfor _ in range(50):\n    c.check_msg()\n    if len(got) == 2:\n        break\n    time.sleep_ms(20)")
        assert fresh.eval("got") == [(b"lab/1/temp", b"21.5"), (b"lab/2/temp", b"22.0")]
        # a retained message reaches a second client (umqtt.robust) that subscribes later
        fresh.exec("c.publish(b'lab/state', b'ready', retain=True)\nc.ping()\nc.wait_msg()\nc.disconnect()")
        fresh.exec(
            "from umqtt.robust import MQTTClient as Robust\nlate = []\n"
            "r = Robust('esp32-b', 'broker.lab')\nr.set_callback(lambda t, m: late.append(m))\nr.connect()\n"
            "r.subscribe(b'lab/state')\nr.wait_msg()\nr.disconnect()"
        )
        assert fresh.eval("late") == [b"ready"]
        # nothing listens there: the board's own error
        emulator.bench("route", "broker.lab:1884", "127.0.0.1:1")
        assert error_of(fresh, "MQTTClient('x', 'broker.lab', 1884).connect()") == "OSError: [Errno 111] ECONNREFUSED"
    finally:
        emulator.bench("route", "broker.lab:1883")
        emulator.bench("route", "broker.lab:1884")


def test_sd_card_in_the_slot_is_the_board_folders_sdcard_img(fresh, emulator):
    assert not emulator.control("sdcard")["inserted"]
    fresh.exec("import machine, vfs")
    no_card = error_of(fresh, "machine.SDCard().info()")  # ETIMEDOUT (README: its text is the number alone)
    assert no_card.startswith("OSError: ") and str(ERRNO["ETIMEDOUT"]) in no_card
    assert fresh.eval("machine.SDCard(slot=2).readblocks(0, bytearray(512))") is False
    assert error_of(fresh, "machine.SDCard(slot=4)") == "ValueError: Slot number must be between 0 and 3 inclusive"
    card = emulator.control("sdcard insert 8")
    assert card["inserted"] and card["bytes"] == 8 * 1024 * 1024 and card["path"].endswith("sdcard.img")
    fresh.exec("sd = machine.SDCard()")
    assert fresh.eval("sd.info()") == (8 * 1024 * 1024, 512)
    if PORTABLE:  # no FAT in MicroPython for WASI: the card is a block device only
        fresh.exec("sd.writeblocks(3, b'\\xa5' * 512)")
        assert fresh.eval("(lambda b: sd.readblocks(3, b) and bytes(b[:2]))(bytearray(512))") == b"\xa5\xa5"
        return
    # a new card comes formatted (FAT): mount it, write a file, find it again after a reset
    fresh.exec("vfs.mount(vfs.VfsFat(sd), '/sd')\nf = open('/sd/log.csv', 'w')\nf.write('t,v\\n1,2.5\\n')\nf.close()")
    running = fresh.start("import time\ntime.sleep(10)")
    emulator.hard_reset()
    assert running.done.wait(HANG_GUARD_S) and running.rebooted
    fresh.exec("import machine, vfs, os\nvfs.mount(vfs.VfsFat(machine.SDCard()), '/sd')")
    assert fresh.eval("(os.listdir('/sd'), open('/sd/log.csv').read())") == (["log.csv"], "t,v\n1,2.5\n")
    assert b"t,v\n1,2.5\n" in (Path(card["path"]).read_bytes())  # the image is the card's disk, on this computer
    emulator.control("sdcard eject")
    assert error_of(fresh, "open('/sd/log.csv').read()").startswith("OSError: ")
    fresh.exec("vfs.umount('/sd')")
