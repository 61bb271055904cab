"""Bluetooth LE between emulated boards (issue 16): two real emulators in one air of their own,
`bluetooth` driven through the raw REPL on each — advertising and scanning, a connection, a GATT
server on one and its client on the other, notifications, pairing — and the errors a board gives.
MicroPython's own tests/multi_bluetooth run against two boards in bench/bench_multitests.py."""

from __future__ import annotations

import uuid

import pytest

from board_helpers import ERRNO, HANG_GUARD_S, error_of, wait_for
from esp32_kernel.board import Board
from esp32_kernel.emulator.process import EmulatorError, launch

# A board's handler: every event, in order, with its tuple (bytes as hex, UUIDs by repr).
HANDLER = """import bluetooth, time
ble = bluetooth.BLE()
seen = []
def on_event(event, data):
    seen.append((event, tuple(bytes(d).hex() if isinstance(d, (bytes, memoryview)) else repr(d) if isinstance(d, bluetooth.UUID) else d for d in data)))
ble.irq(on_event)
ble.active(True)
def wait(event, ms=5000):
    t = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t) < ms:
        for e in seen:
            if e[0] == event:
                seen.remove(e)
                return e[1]
        time.sleep_ms(5)
    raise OSError('no event %d' % event)
"""
SENSOR = """from bluetooth import UUID, FLAG_READ, FLAG_NOTIFY, FLAG_WRITE
ENV = UUID(0x181A)
TEMP = (UUID(0x2A6E), FLAG_READ | FLAG_NOTIFY)
LABEL = (UUID('6e400001-b5a3-f393-e0a9-e50e24dcca9e'), FLAG_READ | FLAG_WRITE)
((temp, label),) = ble.gatts_register_services(((ENV, (TEMP, LABEL)),))
ble.gatts_write(temp, b'\\x09\\x08')
ble.gap_advertise(100_000, b'\\x02\\x01\\x06\\x07\\x09sensor')
print(ble.config('mac')[1].hex())"""


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A peripheral (a sensor: the environmental sensing service, advertising) and a central,
    alone in an air of their own."""
    air = f"ble-{uuid.uuid4().hex[:8]}"
    with launch(board_dir=tmp_path_factory.mktemp("p"), air=air) as p, launch(board_dir=tmp_path_factory.mktemp("c"), air=air) as c:
        peripheral, central = Board(p.url), Board(c.url)
        for board in (peripheral, central):
            board.connect()
            board.exec(HANDLER)
        peripheral.mac = peripheral.exec(SENSOR).strip().splitlines()[-1]
        peripheral.emu = p
        yield peripheral, central
        peripheral.close()
        central.close()


def test_a_scan_finds_the_advertiser_with_its_data_and_signal(pair):
    peripheral, central = pair
    central.exec("ble.gap_scan(300, 30000, 30000)\nwait(6, 3000)")  # _IRQ_SCAN_DONE
    results = central.eval(f"[d for e, d in seen if e == 5 and d[1] == {peripheral.mac!r}]")
    assert results, "no _IRQ_SCAN_RESULT from the advertiser"
    addr_type, addr, adv_type, rssi, adv_data = results[0]
    assert (addr_type, adv_type, rssi) == (0, 0, -32)  # public address, ADV_IND, one desk away
    assert bytes.fromhex(adv_data) == b"\x02\x01\x06\x07\x09sensor"
    central.exec("seen.clear()")


def test_a_central_connects_reads_writes_and_gets_notified(pair):
    peripheral, central = pair
    central.exec(f"ble.gap_connect(0, bytes.fromhex({peripheral.mac!r}))\nconn = wait(7)[0]")
    peripheral.exec("pconn, _, central_mac = wait(1)")  # _IRQ_CENTRAL_CONNECT
    assert peripheral.eval("central_mac") == central.eval("ble.config('mac')[1].hex()")
    assert peripheral.eval("ble.gap_advertise(100_000) is None")  # connected: advertising stopped, restart is fine
    services = central.exec("ble.gattc_discover_services(conn)\nwait(10)\nprint([d[3] for e, d in seen if e == 9])")
    assert "UUID(0x181a)" in services and "UUID(0x1800)" in services
    central.exec("seen.clear()\nble.gattc_discover_characteristics(conn, 1, 0xffff)\nwait(12)")
    chars = central.eval("[(d[2], d[3], d[4]) for e, d in seen if e == 11]")
    by_uuid = {c[2]: (c[0], c[1]) for c in chars}
    temp, props = by_uuid["UUID(0x2a6e)"]
    assert props == 0x12  # read | notify
    label = by_uuid["UUID('6e400001-b5a3-f393-e0a9-e50e24dcca9e')"][0]
    central.exec(f"seen.clear()\nble.gattc_read(conn, {temp})")
    assert central.eval("wait(15)[2]") == "0908" and central.eval("wait(16)[2]") == 0  # 20.57 °C, status ok
    central.exec(f"ble.gattc_write(conn, {label}, b'kitchen', 1)")
    assert central.eval("wait(17)[2]") == 0  # _IRQ_GATTC_WRITE_DONE
    assert peripheral.eval("wait(3)[1] == label and ble.gatts_read(label)") == b"kitchen"
    peripheral.exec("ble.gatts_notify(pconn, temp, b'\\x10\\x08')")
    assert central.eval("wait(18)[1:]") == (temp, "1008")  # _IRQ_GATTC_NOTIFY
    central.exec("ble.gap_pair(conn)")
    assert central.eval("wait(28)[1:]") == (1, 0, 0, 16)  # _IRQ_ENCRYPTION_UPDATE: encrypted, not authenticated
    assert central.eval("ble.gap_disconnect(conn)") is True
    central.exec("wait(8)")  # _IRQ_PERIPHERAL_DISCONNECT
    peripheral.exec("wait(2)")  # _IRQ_CENTRAL_DISCONNECT
    assert central.eval("ble.gap_disconnect(conn)") is False  # gone already


def test_pairing_bonds_when_both_sides_ask_and_hands_the_keys_to_the_board(pair):
    peripheral, central = pair
    for board in pair:
        board.exec("ble.config(bond=True)\nseen.clear()")
    try:
        assert central.eval("(ble.config('bond'), ble.config('mitm'))") == (True, False)
        peripheral.exec("ble.gap_advertise(100_000, b'\\x02\\x01\\x06\\x07\\x09sensor')")
        central.exec(f"ble.gap_connect(0, bytes.fromhex({peripheral.mac!r}))\nconn = wait(7)[0]")
        peripheral.exec("wait(1)")
        central.exec("ble.gap_pair(conn)")
        assert central.eval("wait(28)[1:]") == (1, 0, 1, 16)  # encrypted, not authenticated, bonded
        assert peripheral.eval("wait(28)[1:]") == (1, 0, 1, 16)
        # _IRQ_SET_SECRET: our keys and the peer's, under the peer's address, for the board to keep
        secrets = central.eval("[(d[0], d[1]) for e, d in seen if e == 30]")
        assert secrets == [(1, "00" + peripheral.mac), (2, "00" + peripheral.mac)], secrets
        assert central.eval("ble.gap_disconnect(conn)") is True
        central.exec("wait(8)")
        peripheral.exec("wait(2)")
    finally:
        for board in pair:
            board.exec("ble.config(bond=False)\nseen.clear()")


def connect_pair(peripheral, central) -> int:
    """The central connects to the advertising peripheral; the peripheral's handle for it."""
    peripheral.exec("ble.gap_advertise(100_000, b'\\x02\\x01\\x06\\x07\\x09sensor')")
    central.exec(f"ble.gap_connect(0, bytes.fromhex({peripheral.mac!r}))\nconn = wait(7)[0]")
    return peripheral.eval("wait(1)[0]")


def disconnect_pair(peripheral, central) -> None:
    assert central.eval("ble.gap_disconnect(conn)") is True
    central.exec("wait(8)")
    peripheral.exec("wait(2)")


def test_numeric_comparison_when_both_can_show_and_confirm(pair):
    peripheral, central = pair
    for board in pair:
        board.exec("ble.config(mitm=True, le_secure=True, io=1)\nseen.clear()")  # _IO_CAPABILITY_DISPLAY_YESNO
    try:
        pconn = connect_pair(peripheral, central)
        central.exec("ble.gap_pair(conn)")
        _, p_action, p_number = peripheral.eval("wait(31)")  # _IRQ_PASSKEY_ACTION
        _, c_action, c_number = central.eval("wait(31)")
        assert (p_action, c_action) == (4, 4) and p_number == c_number and 0 <= p_number < 1_000_000
        peripheral.exec(f"ble.gap_passkey({pconn}, 4, True)")
        central.exec("ble.gap_passkey(conn, 4, True)")
        assert central.eval("wait(28)[1:]") == (1, 1, 0, 16)  # encrypted and authenticated
        assert peripheral.eval("wait(28)[1:]") == (1, 1, 0, 16)
        disconnect_pair(peripheral, central)
    finally:
        for board in pair:
            board.exec("ble.config(mitm=False, le_secure=False, io=3)\nseen.clear()")


def test_passkey_entry_authenticates_only_the_passkey_shown(pair):
    peripheral, central = pair
    peripheral.exec("ble.config(io=0)\nseen.clear()")  # _IO_CAPABILITY_DISPLAY_ONLY: it shows the passkey
    central.exec("ble.config(io=2, mitm=True)\nseen.clear()")  # _IO_CAPABILITY_KEYBOARD_ONLY: one types it
    try:
        for typed, outcome in ((123456, (1, 1, 0, 16)), (111111, (0, 0, 0, 0))):
            pconn = connect_pair(peripheral, central)
            central.exec("ble.gap_pair(conn)")
            assert peripheral.eval("wait(31)[1:]") == (3, 0)  # display one
            assert central.eval("wait(31)[1:]") == (2, 0)  # input it
            peripheral.exec(f"ble.gap_passkey({pconn}, 3, 123456)")
            central.exec(f"ble.gap_passkey(conn, 2, {typed})")
            assert central.eval("wait(28)[1:]") == outcome and peripheral.eval("wait(28)[1:]") == outcome
            disconnect_pair(peripheral, central)
        assert error_of(central, "ble.gap_passkey(0, 2, 1)") == f"OSError: [Errno {ERRNO['EINVAL']}] EINVAL"  # no pairing asks
    finally:
        for board in pair:
            board.exec("ble.config(mitm=False, io=3)\nseen.clear()")


def test_connecting_to_nobody_ends_as_a_board_reports_it(pair):
    _, central = pair
    central.exec("seen.clear()\nble.gap_connect(0, b'\\x02\\x00\\x00\\x00\\x00\\x01', 200)")
    assert central.eval("wait(8, 3000)")[0] == 0xFFFF  # a failed connect: _IRQ_PERIPHERAL_DISCONNECT, no handle


def test_out_of_range_is_out_of_sight(pair):
    peripheral, central = pair
    peripheral.exec("ble.gap_advertise(100_000, b'\\x02\\x01\\x06')")
    peripheral.emu.bench("air", "place", "500", "0")
    try:
        central.exec("seen.clear()\nble.gap_scan(300, 30000, 30000)\nwait(6, 3000)")
        assert central.eval(f"[d for e, d in seen if e == 5 and d[1] == {peripheral.mac!r}]") == []
    finally:
        peripheral.emu.bench("air", "place", "0", "0")


def test_uuids_and_the_errors_of_a_stopped_radio(pair):
    _, central = pair
    assert central.eval("repr(bluetooth.UUID(0x2A6E))") == "UUID(0x2a6e)"
    assert central.eval("bytes(bluetooth.UUID('6e400001-b5a3-f393-e0a9-e50e24dcca9e'))") == bytes.fromhex(
        "9ecadc240ee5a9e093f3a3b50100406e"
    )
    assert central.eval("bluetooth.UUID(0x180F) == bluetooth.UUID(b'\\x0f\\x18')") is True
    assert central.eval("repr(bluetooth.UUID('AB12'))") == "UUID(0x32314241)"  # any other str: its bytes
    assert error_of(central, "bluetooth.UUID('abc')") == "ValueError: invalid UUID"
    assert central.eval("sorted([bluetooth.UUID('AB12'), bluetooth.UUID(0x181A)])[0] == bluetooth.UUID(0x181A)") is True
    assert error_of(central, "ble.irq(3)") == "ValueError: invalid handler"
    assert central.eval("ble.config('gap_name')") == b"MPY ESP32"
    central.exec("ble.active(False)")
    try:
        assert error_of(central, "ble.gap_advertise(100_000, b'')") == f"OSError: [Errno {ERRNO['EPERM']}] EPERM"
        assert error_of(central, "ble.config('mac')") == f"OSError: [Errno {ERRNO['EPERM']}] EPERM"
        assert central.eval("ble.active()") is False
    finally:
        central.exec("ble.active(True)")
    wait_for(lambda: central.eval("ble.active()"), HANG_GUARD_S)


def test_the_bench_sensor_is_found_read_and_notifies_a_board(pair):
    peripheral, central = pair
    reply = peripheral.emu.bench("ble_sensor", "greenhouse", 23.5, 60)
    assert reply["ok"] and reply["name"] == "greenhouse", reply
    central.exec("seen.clear()\nble.gap_scan(300, 30000, 30000)\nwait(6, 3000)")
    found = central.eval("[d[1] for e, d in seen if e == 5 and b'greenhouse' in bytes.fromhex(d[4])]")
    assert found and found[0] == reply["mac"]
    central.exec(f"seen.clear()\nble.gap_connect(0, bytes.fromhex({reply['mac']!r}))\nsconn = wait(7)[0]\n"
                 "ble.gattc_discover_characteristics(sconn, 1, 0xffff)\nwait(12)\n"
                 "th = [d[2] for e, d in seen if e == 11 and d[4] == 'UUID(0x2a6e)'][0]\nseen.clear()\n"
                 "ble.gattc_read(sconn, th)")  # fmt: skip
    assert central.eval("wait(15)[2]") == (2350).to_bytes(2, "little").hex()  # 23.50 °C in 0.01 °C
    central.exec("ble.gattc_write(sconn, th + 1, b'\\x01\\x00', 1)\nwait(17)")  # subscribe: its 0x2902
    peripheral.emu.bench("ble_sensor", "greenhouse", 24)
    assert central.eval("wait(18, 3000)[2]") == (2400).to_bytes(2, "little").hex()  # notified within its second
    central.exec("ble.gap_disconnect(sconn)\nwait(8)")


def test_the_bench_phone_reads_writes_and_subscribes_to_a_board(pair):
    peripheral, _ = pair
    peripheral.exec("ble.gap_advertise(100_000, b'\\x02\\x01\\x06\\x07\\x09sensor')")
    found = peripheral.emu.bench("phone", "scan", 400)["found"]
    assert {"mac": peripheral.mac, "rssi": -32, "name": "sensor"} in found, found
    assert peripheral.emu.bench("phone", "connect", peripheral.mac)["ok"]
    chars = {c["uuid"]: c for c in peripheral.emu.bench("phone", "characteristics")["characteristics"]}
    temp, label = chars["2a6e"]["handle"], chars["6e400001b5a3f393e0a9e50e24dcca9e"]["handle"]
    assert chars["2a6e"]["properties"] == 0x12
    assert peripheral.emu.bench("phone", "read", temp)["value"] == peripheral.eval("ble.gatts_read(temp).hex()")
    assert peripheral.emu.bench("phone", "write", label, b"porch".hex())["status"] == 0
    assert peripheral.eval("ble.gatts_read(label)") == b"porch"
    peripheral.emu.bench("phone", "subscribe", temp)
    peripheral.exec("ble.gatts_write(temp, b'\\x0a\\x0b', True)")  # send_update: to the subscribed phone
    assert wait_for(lambda: peripheral.emu.bench("phone", "notifications")["notifications"]) == [{"handle": temp, "value": "0a0b"}]
    assert peripheral.emu.bench("phone", "disconnect")["connected"] is None
    with pytest.raises(EmulatorError, match="not connected"):
        peripheral.emu.bench("phone", "read", temp)


def test_a_read_waits_for_the_boards_handler_which_may_deny_it(pair):
    """NimBLE asks the board's _IRQ_GATTS_READ_REQUEST handler before it answers a read: a
    non-zero return is the ATT error the reader gets; a value written in the handler is read."""
    peripheral, _ = pair
    peripheral.exec("ble.gap_advertise(100_000, b'\\x02\\x01\\x06\\x07\\x09sensor')")
    peripheral.exec(
        "reads = []\n"
        "def on_read(event, data):\n"
        "    on_event(event, data)\n"
        "    if event == 4:\n"
        "        reads.append(data)\n"
        "        if len(reads) == 1:\n"
        "            return 0x02  # _GATTS_ERROR_READ_NOT_PERMITTED\n"
        "        ble.gatts_write(temp, b'\\x2a\\x00')\n"
        "ble.irq(on_read)"
    )
    try:
        assert peripheral.emu.bench("phone", "connect", peripheral.mac)["ok"]
        temp = peripheral.eval("temp")
        assert peripheral.emu.bench("phone", "read", temp) == {"value": None, "status": 2, "ok": True}
        assert peripheral.emu.bench("phone", "read", temp) == {"value": "2a00", "status": 0, "ok": True}
        assert peripheral.eval("[d[1] for d in reads]") == [temp, temp]
    finally:
        peripheral.emu.bench("phone", "disconnect")
        peripheral.exec("ble.irq(on_event)\nseen.clear()")


def test_a_bench_heart_rate_monitor_notifies_its_beats(pair):
    peripheral, central = pair  # the bench's devices live beside a supervisor, in its air
    reply = peripheral.emu.bench("ble_heart_rate", "strap", 91)
    assert (reply["kind"], reply["bpm"]) == ("HeartRateMonitor", 91.0)
    central.exec(f"seen.clear()\nble.gap_connect(0, bytes.fromhex({reply['mac']!r}))\nhconn = wait(7)[0]\n"
                 "ble.gattc_discover_characteristics(hconn, 1, 0xffff)\nwait(12)\n"
                 "hr = [d[2] for e, d in seen if e == 11 and d[4] == 'UUID(0x2a37)'][0]\nseen.clear()\n"
                 "ble.gattc_write(hconn, hr + 1, b'\\x01\\x00', 1)\nwait(17)")  # fmt: skip
    assert central.eval("wait(18, 3000)[2]") == "005b"  # flags 0, 91 beats per minute
    with pytest.raises(EmulatorError, match="HeartRateMonitor on the bench already"):
        peripheral.emu.bench("ble_sensor", "strap")
    central.exec("ble.gap_disconnect(hconn)\nwait(8)")
