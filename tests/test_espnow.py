"""ESP-NOW between emulated boards (issue 16): two real emulators in one air of their own,
their firmware's espnow/aioespnow driven through the raw REPL, the air's distance and loss set
through the bench's control channel. Errors are the driver's: OSError(-code, 'ESP_ERR_ESPNOW_…')."""

from __future__ import annotations

import uuid

import pytest

from board_helpers import HANG_GUARD_S, error_of, needs_native_core
from esp32_kernel.board import Board
from esp32_kernel.emulator.process import launch
from kernel_harness import fails, ok, running_kernel

SETUP = """import network, espnow
sta = network.WLAN(network.WLAN.IF_STA)
sta.active(True)
e = espnow.ESPNow()
e.active(True)
print(sta.config('mac').hex())"""


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """Two boards, a and b, in an air no other test's boards are in; each with its WiFi
    station up and ESP-NOW active; `peer` on each is the other's MAC, registered."""
    air = f"test-{uuid.uuid4().hex[:8]}"
    with launch(board_dir=tmp_path_factory.mktemp("a"), air=air) as a, launch(board_dir=tmp_path_factory.mktemp("b"), air=air) as b:
        boards = {}
        for name, emu in (("a", a), ("b", b)):
            board = Board(emu.url)
            board.connect()
            board.mac = board.exec(SETUP).strip().splitlines()[-1]
            board.emu = emu
            boards[name] = board
        for name, other in (("a", "b"), ("b", "a")):
            boards[name].exec(f"peer = bytes.fromhex({boards[other].mac!r})\ne.add_peer(peer)")
        yield boards["a"], boards["b"]
        for board in boards.values():
            board.close()


@pytest.fixture
def fresh(pair):
    """The pair as the fixture left it: both at the same spot, no loss, nothing waiting, channel 1."""
    a, b = pair
    for board in pair:
        board.emu.bench("air", "place", "0", "0")
        board.emu.bench("air", "loss", "0")
        board.exec("sta.active(True)\nsta.config(channel=1)\nwhile e.recv(0)[0]:\n    pass")
    return a, b


def test_a_message_reaches_the_peer_with_its_sender_and_signal(fresh):
    a, b = fresh
    assert a.eval("e.send(peer, b'hello')") is True
    assert b.exec("mac, msg = e.recv(2000)\nprint(mac.hex(), msg)").strip() == f"{a.mac} b'hello'"
    rssi, when = b.eval(f"e.peers_table[bytes.fromhex({a.mac!r})]")
    assert rssi == -32 and isinstance(when, int)  # two boards on one desk
    assert b.eval("e.recv(0)") == (None, None)


def test_recv_waits_for_a_message_and_gives_up_after_its_timeout(fresh):
    a, b = fresh
    waited = b.exec("import time\nt = time.ticks_ms()\nr = e.recv(150)\nprint(r, time.ticks_diff(time.ticks_ms(), t))").split()
    assert waited[:2] == ["(None,", "None)"] and int(waited[2]) >= 150
    # a message sent while the other board waits wakes it (a Timer sends it 100 ms later)
    a.exec("from machine import Timer\nTimer(0).init(mode=Timer.ONE_SHOT, period=100, callback=lambda t: e.send(peer, b'late'))")
    assert b.eval("e.recv(5000)[1]") == b"late"


def test_irecv_reuses_its_buffers_and_irq_calls_back_with_the_espnow(fresh):
    a, b = fresh
    b.exec("got = []\ndef on_frame(en):\n    while True:\n        mac, msg = en.irecv(0)\n        if mac is None:\n"
           "            return\n        got.append(bytes(msg))\ne.irq(on_frame)")  # fmt: skip
    for n in range(3):
        assert a.eval(f"e.send(peer, b'n{n}')") is True
    assert b.exec("import time\nfor _ in range(100):\n    if len(got) == 3:\n        break\n    time.sleep_ms(10)\n"
                  "e.irq(None)\nprint(got)").strip() == "[b'n0', b'n1', b'n2']"  # fmt: skip
    a.exec("e.send(peer, b'one'); e.send(peer, b'three')")
    assert b.exec("x = e.irecv(1000)\ny = e.irecv(1000)\nprint(x is y, bytes(y[1]))").strip() == "True b'three'"


def test_broadcast_reaches_boards_on_the_channel_and_a_silent_radio_does_not_ack(fresh):
    a, b = fresh
    a.exec("try:\n    e.add_peer(b'\\xff' * 6)\nexcept OSError:\n    pass")  # a broadcast is sent to a registered peer too
    assert a.eval("e.send(b'\\xff' * 6, b'all')") is True
    assert b.eval("e.recv(2000)[1]") == b"all"
    b.exec("sta.config(channel=6)")  # another channel: not heard, not acknowledged
    assert a.eval("e.send(peer, b'x')") is False
    assert a.eval("e.send(b'\\xff' * 6, b'x')") is True  # a broadcast is never acknowledged, so never fails
    b.exec("sta.config(channel=1)\nsta.active(False)")  # radio off
    assert a.eval("e.send(peer, b'x')") is False
    assert b.eval("e.recv(0)") == (None, None)


def test_distance_weakens_the_signal_and_loss_drops_frames(fresh):
    a, b = fresh
    b.emu.bench("air", "place", "30", "40")  # 50 m away
    assert a.eval("e.send(peer, b'far')") is True
    assert b.eval(f"(e.recv(2000)[1], e.peers_table[bytes.fromhex({a.mac!r})][0])") == (b"far", -82)
    b.emu.bench("air", "place", "300", "0")  # out of range
    assert a.eval("e.send(peer, b'gone')") is False
    b.emu.bench("air", "place", "0", "0")
    b.emu.bench("air", "loss", "1")
    assert a.eval("e.send(peer, b'lost')") is False
    assert b.eval("e.recv(0)") == (None, None)
    described = b.emu.bench("air")
    assert described["neighbours"] == [{"mac": a.mac, "channel": 1, "radio": True, "distance_m": 0.0, "rssi": -32}]


def test_a_full_receive_buffer_drops_and_counts(fresh):
    a, b = fresh
    b.exec("e.active(False)\ne.config(rxbuf=300)\ne.active(True)\ne.add_peer(peer)")  # room for one 250-byte frame
    before = b.eval("e.stats()")
    a.exec("for _ in range(3):\n    e.send(peer, bytes(250))")
    after = b.eval("e.stats()")
    assert (after[3] - before[3], after[4] - before[4]) == (1, 2)  # one kept, two dropped
    b.exec("e.recv(0)\ne.active(False)\ne.config(rxbuf=526)\ne.active(True)\ne.add_peer(peer)")


def test_the_drivers_errors_and_limits(fresh):
    a, b = fresh
    assert error_of(a, "e.send(peer, bytes(251))") == "OSError: (-12390, 'ESP_ERR_ESPNOW_ARG')"
    assert error_of(a, "e.send(peer, b'')") == "OSError: (-12390, 'ESP_ERR_ESPNOW_ARG')"  # multi_espnow/20_send_echo
    assert error_of(a, "e.send(b'\\x02' * 6, b'x')") == "OSError: (-12393, 'ESP_ERR_ESPNOW_NOT_FOUND')"
    assert error_of(a, "e.add_peer(peer)") == "OSError: (-12395, 'ESP_ERR_ESPNOW_EXIST')"
    assert error_of(a, "e.add_peer(b'abc')") == "ValueError: invalid buffer length"
    assert error_of(a, "e.add_peer(b'\\x02' * 6, b'short')") == "ValueError: invalid buffer length"
    assert error_of(a, "e.config('nope')") == "ValueError: unknown config param"
    assert error_of(a, "e.irq(3)") == "ValueError: invalid handler"
    # 20 peers at most
    assert error_of(a, "for n in range(20):\n    e.add_peer(bytes([2, 0, 0, 0, 0, n]))") == "OSError: (-12392, 'ESP_ERR_ESPNOW_FULL')"
    assert a.eval("e.peer_count()")[0] == 20
    a.exec("for n in range(20):\n    try:\n        e.del_peer(bytes([2, 0, 0, 0, 0, n]))\n    except OSError:\n        pass")
    # a peer on another channel than the radio's; the interface down
    a.exec("e.mod_peer(peer, channel=6)")
    assert error_of(a, "e.send(peer, b'x')") == "OSError: (-12397, 'ESP_ERR_ESPNOW_CHAN')"
    a.exec("e.mod_peer(peer, channel=0)\nsta.active(False)")
    assert error_of(a, "e.send(peer, b'x')") == "OSError: (-12396, 'ESP_ERR_ESPNOW_IF')"
    a.exec("sta.active(True)\ne.active(False)")
    assert error_of(a, "e.send(peer, b'x')") == "OSError: (-12389, 'ESP_ERR_ESPNOW_NOT_INIT')"
    assert a.eval("e.active(True)") is True
    a.exec("e.add_peer(peer)")  # deinit forgot the peers, as the driver's
    assert a.eval("e.get_peers()") == ((bytes.fromhex(b.mac), bytes(16), 0, 0, False),)


@needs_native_core("has no asyncio (MicroPython for WASI lacks it), so no aioespnow")
def test_aioespnow_tasks_wait_for_frames(fresh):
    a, b = fresh
    b.exec("import asyncio, aioespnow\nae = aioespnow.AIOESPNow()\nseen = []\n"
           "async def listen():\n    async for mac, msg in ae:\n        seen.append(bytes(msg))\n        if len(seen) == 2:\n"
           "            return\nasync def main():\n    await asyncio.wait_for(listen(), 10)\n")  # fmt: skip
    a.exec("from machine import Timer\nTimer(0).init(mode=Timer.ONE_SHOT, period=150, callback=lambda t: (e.send(peer, b'p'), e.send(peer, b'q')))")
    b.exec("asyncio.run(main())", timeout=HANG_GUARD_S)
    assert b.eval("seen") == [b"p", b"q"]
    assert b.eval("asyncio.run(ae.asend(peer, b'back'))") is True
    assert a.eval("e.recv(2000)[1]") == b"back"


def test_a_kernels_two_emulated_boards_share_an_air(tmp_path):
    """`%connect --name b emulator` starts a second emulated board beside the kernel's own, in
    the same air: one sends, the other receives, and `%%on` shows both."""
    with running_kernel(tmp_path) as (km, kc):
        air = f"kernel-{uuid.uuid4().hex[:8]}"
        assert "emulated ESP32" in ok(kc, f"%connect emulator --air {air}")
        assert "as board 'b'" in ok(kc, "%connect --name b emulator")  # in the kernel's air
        mac = ok(kc, SETUP).strip().splitlines()[-1]
        ok(kc, "%%on b\n" + SETUP + f"\npeer = bytes.fromhex({mac!r})\ne.add_peer(peer)\nprint(e.send(peer, b'from b'))")
        assert ok(kc, "print(e.recv(2000)[1])").strip().splitlines()[-1] == "b'from b'"
        assert "--air is for emulated boards" in fails(kc, "%connect /dev/ttyUSB0 --air x", "UsageError")
        ok(kc, "%disconnect --name b")
