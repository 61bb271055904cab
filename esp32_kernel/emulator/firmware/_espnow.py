"""ESP-NOW's driver as v1.24's ESP32 port has it (its C module _espnow): ESPNowBase, which
espnow.ESPNow builds on. Frames travel through the supervisor's air (air.py) to boards in
the same air whose radio is on the same channel; its rules are the driver's: 250-byte
messages, 20 peers (6 encrypted), a peer registered before it is sent to, the WiFi interface
of the peer up, ESP-IDF's errors as OSError(-code, 'ESP_ERR_ESPNOW_…').

Encryption is kept as a peer's setting and not applied: frames travel in clear on the air.
"""

import io
from micropython import const

import _esp32_bench

MAX_DATA_LEN = const(250)
ADDR_LEN = const(6)
KEY_LEN = const(16)
MAX_TOTAL_PEER_NUM = const(20)
MAX_ENCRYPT_PEER_NUM = const(6)

_BROADCAST = b"\xff\xff\xff\xff\xff\xff"
_ZERO_KEY = bytes(KEY_LEN)
# esp_now.h: ESP_ERR_ESPNOW_BASE (0x3064) + 1, + 2 …
_ERRORS = ("NOT_INIT", "ARG", "NO_MEM", "FULL", "NOT_FOUND", "INTERNAL", "EXIST", "IF", "CHAN")
_STREAM_POLL, _POLL_RD, _POLL_WR = const(3), const(1), const(4)


def _fail(name):
    raise OSError(-(0x3065 + _ERRORS.index(name)), "ESP_ERR_ESPNOW_" + name)


def _bytes(value, length):
    data = value.encode() if isinstance(value, str) else bytes(value)
    if len(data) != length:
        raise ValueError("invalid buffer length")
    return data


class _State:
    """The driver's state: one per board, as the C module's singleton."""

    active = False
    rxbuf = 526  # two full packets (2 × (6 + 7 + 250))
    timeout_ms = 300000
    peers = []  # [mac, lmk, channel, ifidx, encrypt], in the order added
    tx_packets = tx_responses = tx_failures = 0
    waiting = 0  # frames the supervisor holds for us, as far as we know
    callback = None  # irq(callback, arg)
    callback_arg = None
    table = {}  # peers_table: {mac: [rssi, time_ms]}


def _arrived(_):
    _State.waiting += 1
    if _State.callback is not None:
        _State.callback(_State.callback_arg)


def _initialised():
    if not _State.active:
        _fail("NOT_INIT")


def _peer(mac):
    for entry in _State.peers:
        if entry[0] == mac:
            return entry
    return None


def _counted(entry):  # esp_now_fetch_peer skips broadcast and multicast addresses
    return not entry[0][0] & 1


def _set_peer(entry, lmk=None, channel=None, ifidx=None, encrypt=None):
    if lmk is not None:
        entry[4] = bool(lmk)
        if entry[4]:
            entry[1] = _bytes(lmk, KEY_LEN)
    if channel is not None:
        if not 0 <= channel <= 14:
            _fail("ARG")
        entry[2] = channel
    if ifidx is not None:
        if ifidx not in (0, 1):
            _fail("ARG")
        entry[3] = ifidx
    if encrypt is not None:
        entry[4] = bool(encrypt)


class ESPNowBase(getattr(io, "IOBase", object)):  # a stream, so asyncio can wait for frames (aioespnow)
    """Every instance is a handle on the one driver (_State), as each ESPNow() on a board is."""

    def active(self, flag=None):
        if flag is not None:
            if flag and not _State.active:
                _esp32_bench.on("espnow", 0, _arrived)
                _esp32_bench.call("espnow", "active", 1, _State.rxbuf)
                _State.active, _State.waiting = True, 0
            elif not flag and _State.active:
                _esp32_bench.call("espnow", "active", 0, _State.rxbuf)
                _esp32_bench.on("espnow", 0, None)
                _State.active, _State.peers = False, []
                _State.tx_packets = _State.tx_responses
        return _State.active

    def config(self, *args, rxbuf=None, timeout_ms=None, rate=None):
        if len(args) > 1:
            raise TypeError("function takes 2 positional arguments but %d were given" % (len(args) + 1))
        if rxbuf is not None:
            _State.rxbuf = rxbuf
        if timeout_ms is not None:
            _State.timeout_ms = timeout_ms
        if not args:
            return None
        if args[0] == "rxbuf":
            return _State.rxbuf
        if args[0] == "timeout_ms":
            return _State.timeout_ms
        raise ValueError("unknown config param")

    def irq(self, callback, arg=None):
        if callback is not None and not callable(callback):
            raise ValueError("invalid handler")
        _State.callback, _State.callback_arg = callback, arg

    def stats(self):
        counts = _esp32_bench.call("espnow", "counts")  # [held, received, dropped]
        return (_State.tx_packets, _State.tx_responses, _State.tx_failures, counts[1], counts[2])

    # -- sending and receiving

    def send(self, *args):
        """send(msg) to every peer, or send(mac, msg[, sync]): True unless sync and a peer did
        not acknowledge."""
        _initialised()
        if not 1 <= len(args) <= 3:
            raise TypeError("function takes from 2 to 4 positional arguments")
        mac = args[0] if len(args) > 1 else None
        message = args[-1] if len(args) < 3 else args[1]
        sync = len(args) < 3 or args[2] is None or bool(args[2])
        data = message.encode() if isinstance(message, str) else bytes(message)
        if not 0 < len(data) <= MAX_DATA_LEN:  # an empty message is refused too
            _fail("ARG")
        if mac:
            entry = _peer(_bytes(mac, ADDR_LEN))
            if entry is None:
                _fail("NOT_FOUND")
            targets = [entry]
        else:
            targets = [entry for entry in _State.peers if _counted(entry)]
        import network

        channel = network._channel
        for entry in targets:
            if not network.WLAN(entry[3]).active():
                _fail("IF")
            if entry[2] and entry[2] != channel:
                _fail("CHAN")
        failures = 0
        for entry in targets:
            if not _esp32_bench.call("espnow", "send", entry[0].hex(), _esp32_bench.text(data)):
                failures += 1
        _State.tx_packets += len(targets)
        _State.tx_responses += len(targets)
        _State.tx_failures += failures
        return not (sync and failures)

    def recvinto(self, buffers, timeout_ms=None):
        """Wait for a frame (timeout_ms, else config's; < 0: for ever) and put its sender and
        message in buffers ([mac, bytearray(250)], optionally [.., rssi, time_ms]); the
        message's length, 0 on timeout."""
        _initialised()
        if not isinstance(buffers, list) or len(buffers) < 2:
            raise ValueError("ESPNow.recvinto(): Invalid argument")
        message = buffers[1]
        if isinstance(message, bytearray):
            message.extend(bytes(MAX_DATA_LEN - len(message)))  # all of its room again, as the C code
        elif len(memoryview(message)) != MAX_DATA_LEN:
            raise ValueError("invalid buffer length")
        frame = self._take(_State.timeout_ms if timeout_ms is None else timeout_ms)
        if frame is None:
            return 0
        source, data, rssi, age_ms, _State.waiting = frame
        data = b"" if data == "-" else bytes.fromhex(data)
        import time

        mac = bytes.fromhex(source)
        stamp = time.ticks_add(time.ticks_ms(), -age_ms)
        if mac in _State.table:
            mac = next(key for key in _State.table if key == mac)  # the table's own bytes, as the C code
        _State.table[mac] = [rssi, stamp]
        memoryview(message)[: len(data)] = data
        if isinstance(message, bytearray):
            message[len(data) :] = b""
        buffers[0] = mac
        if len(buffers) >= 4:
            buffers[2], buffers[3] = rssi, stamp
        return len(data)

    def _take(self, timeout_ms):
        _State.waiting = 0  # an arrival from now on wakes the wait below
        frame = _esp32_bench.call("espnow", "recv")
        if frame is None and timeout_ms != 0:
            _esp32_bench.wait_until(lambda: _State.waiting > 0, timeout_ms)
            frame = _esp32_bench.call("espnow", "recv")
        return frame

    def any(self):
        _initialised()
        return _esp32_bench.call("espnow", "counts")[0] > 0

    def ioctl(self, request, arg):
        if request != _STREAM_POLL:
            return -1
        if not _State.active:
            return 0
        return arg & ((_POLL_RD if _State.waiting else 0) | _POLL_WR)

    @property
    def peers_table(self):
        return _State.table

    # -- peers

    def set_pmk(self, pmk):
        _bytes(pmk, KEY_LEN)
        _initialised()

    def add_peer(self, mac, lmk=None, channel=None, ifidx=None, encrypt=None):
        _initialised()
        mac = _bytes(mac, ADDR_LEN)
        entry = [mac, _ZERO_KEY, 0, 0, False]
        _set_peer(entry, lmk, channel, ifidx, encrypt)
        if _peer(mac) is not None:
            _fail("EXIST")
        if len(_State.peers) >= MAX_TOTAL_PEER_NUM:
            _fail("FULL")
        if entry[4] and sum(1 for e in _State.peers if e[4]) >= MAX_ENCRYPT_PEER_NUM:
            _fail("FULL")
        _State.peers.append(entry)

    def del_peer(self, mac):
        _initialised()
        entry = _peer(_bytes(mac, ADDR_LEN))
        if entry is None:
            _fail("NOT_FOUND")
        _State.peers.remove(entry)

    def mod_peer(self, mac, lmk=None, channel=None, ifidx=None, encrypt=None):
        _initialised()
        entry = _peer(_bytes(mac, ADDR_LEN))
        if entry is None:
            _fail("NOT_FOUND")
        _set_peer(entry, lmk, channel, ifidx, encrypt)

    def get_peer(self, mac):
        _initialised()
        entry = _peer(_bytes(mac, ADDR_LEN))
        if entry is None:
            _fail("NOT_FOUND")
        return tuple(entry)

    def get_peers(self):
        _initialised()
        return tuple(tuple(entry) for entry in _State.peers if _counted(entry))

    def peer_count(self):
        _initialised()
        return (len(_State.peers), sum(1 for e in _State.peers if e[4]))
