"""The emulated board against a record of a real MicroPython v1.24.1 ESP32_GENERIC board.

The record is the `micropython-esp32-stubs` 1.24.1.post2 package (PyPI, a dependency of the
kernel): micropython-stubs' createstubs ran on an ESP32_GENERIC board with the v1.24.1
firmware, listed every module, name and constant value, and merged in what the docs and the
frozen modules (umqtt, requests, ntptime…) add. This test imports each module on the emulated
board and lists what is missing or has another value. The list must be exactly the entries
below, each explained in the README ("What the emulator lacks of a v1.24 board"): a new gap
fails the test, and so does a gap that was closed but is still listed here.
"""

from __future__ import annotations

import json
from importlib import metadata

import pytest

from board_helpers import HANG_GUARD_S, PORTABLE
from esp32_kernel.board import Board
from esp32_kernel.stubs import Member, StubIndex

RECORD = "micropython-esp32-stubs"
RECORD_VERSION = "1.24.1.post2"
# Not imported: running it is the point of these (webrepl_setup asks questions at import).
NOT_IMPORTED = {"webrepl_setup"}

# What the emulator lacks, and why (the README's list says the same to users).
DOCS_ONLY = "in MicroPython's docs, not on a v1.24 ESP32 (the stubs merge the docs in)"
EXPLAINED = {
    # Peripherals with no bench part yet.
    "network.PPP": "no PPP link on the bench",
    "esp32.ULP": "the ULP co-processor runs its own machine code, which is not emulated",
    # Names the record lists that a v1.24 ESP32 does not have.
    "machine.IDLE": DOCS_ONLY,
    "machine.RTC_WAKE": DOCS_ONLY,
    "machine.WLAN_WAKE": DOCS_ONLY,
    "machine.ATTN_0DB": DOCS_ONLY,
    "machine.Pin.pull": DOCS_ONLY,
    "machine.Pin.drive": DOCS_ONLY,
    "machine.Pin.mode": DOCS_ONLY,
    "machine.RTC.alarm": DOCS_ONLY,
    "esp.sleep_type": DOCS_ONLY,
    "esp.set_native_code_location": DOCS_ONLY,
    "micropython.native": "a decorator the compiler knows, not a name in the module",
    "micropython.viper": "a decorator the compiler knows, not a name in the module",
    "micropython.asm_xtensa": "a decorator the compiler knows, not a name in the module",
    "micropython.asm_thumb": "a decorator the compiler knows, not a name in the module",
    "network.AbstractNIC": DOCS_ONLY,
    "network.WLANWiPy": DOCS_ONLY,
    "select.poll.register": "select.poll is a function on the board; its object has these",
    "select.poll.unregister": "select.poll is a function on the board; its object has these",
    "select.poll.modify": "select.poll is a function on the board; its object has these",
    "select.poll.poll": "select.poll is a function on the board; its object has these",
    "select.poll.ipoll": "select.poll is a function on the board; its object has these",
    "ssl.SSLSocket": DOCS_ONLY,
    "ussl": "gone since v1.21 (`ssl` is a frozen module; only built-in modules have u-names)",
    "uzlib": "gone since v1.21 (replaced by `deflate`)",
    **{f"webrepl.{name}": "the WebREPL server is the emulator's, outside the board: webrepl.py's internals are not there"
       for name in ("listen_s", "client_s", "server_handshake", "send_html", "DEBUG", "setup_conn", "accept_conn", "static_host")},
    "vfs.AbstractBlockDev": DOCS_ONLY,
    "socket.IPPROTO_SEC": "the unix port's socket module has no secure-socket protocol number",
    "tls.MBEDTLS_VERSION": "the emulator links the Mbed TLS of its host",
}

PROBE = r"""
def _look(o, name, want):
    try:
        v = getattr(o, name)
    except AttributeError:
        return "missing"
    if isinstance(want, list):
        bad = {}
        for m, mv in want:
            r = _look(v, m, mv)
            if r:
                bad[m] = r
        return bad or None
    if want is not None and v != want:
        return "%r (the board: %r)" % (v, want)
"""
CHECK = """import gc, json
gc.collect()
try:
    _m = __import__({module!r})
    for _p in {path!r}:
        _m = getattr(_m, _p)
except Exception as e:
    print(json.dumps('cannot import: %r' % e))
else:
    _bad = {{}}
    for _n, _w in {names!r}:
        _r = _look(_m, _n, _w)
        if _r:
            _bad[_n] = _r
    print(json.dumps(_bad))
"""
CHUNK = 8  # names per exec: the whole of machine at once would not fit the board's heap


def _wanted(member: Member):
    """What the board is checked for: a constant's value, a class's functions and constants."""
    if member.kind == "class":
        return [[name, m.value] for name, m in sorted(member.members.items())
                if not name.startswith("_") and (m.kind == "function" or m.value is not None)]  # fmt: skip
    return member.value if member.kind == "constant" else None


def _record() -> dict[str, list]:
    assert metadata.version(RECORD) == RECORD_VERSION, f"the record is {RECORD} {RECORD_VERSION}"
    index = StubIndex((RECORD,))
    record = {}
    for name in index.module_names:
        if name in NOT_IMPORTED:
            continue
        module = index.module(name)
        record[name] = [[n, _wanted(m)] for n, m in sorted(module.members.items())
                        if not n.startswith("_") and not (m.kind == "constant" and m.signature.startswith("TypeAlias"))]  # fmt: skip
    return record


def _gaps(board: Board, record: dict[str, list]) -> dict[str, str]:
    gaps: dict[str, str] = {}
    for module, names in record.items():
        board.soft_reset()  # every module on a fresh heap, as a user's first import of it
        board.exec(PROBE)
        for start in range(0, max(len(names), 1), CHUNK):  # one at least: the import
            code = CHECK.format(module=module, path=module.split(".")[1:], names=names[start : start + CHUNK])
            found = json.loads(board.exec(code, timeout=HANG_GUARD_S).splitlines()[-1])  # after what an import prints
            if isinstance(found, str):
                gaps[module] = found
                break
            for name, what in found.items():
                if isinstance(what, dict):
                    gaps.update({f"{module}.{name}.{member}": why for member, why in what.items()})
                else:
                    gaps[f"{module}.{name}"] = what
    return gaps


@pytest.mark.skipif(PORTABLE, reason="the portable core's differences are listed in the README's Emulator cores")
def test_the_emulator_has_what_a_v124_esp32_generic_board_has(board):
    gaps = _gaps(board, _record())
    unexplained = {name: why for name, why in gaps.items() if name not in EXPLAINED}
    closed = sorted(set(EXPLAINED) - set(gaps))
    assert not unexplained, f"the emulator lacks what a v1.24 board has: {json.dumps(unexplained, indent=1)}"
    assert not closed, f"no longer missing, so take these out of EXPLAINED and the README: {closed}"


def test_the_record_is_a_v124_board_with_its_constant_values():
    record = _record()
    assert {"machine", "network", "esp32", "btree", "umqtt.simple", "ntptime"} <= set(record)
    assert dict(record["network"])["STAT_GOT_IP"] == 1010
    pin = dict(dict(record["machine"])["Pin"])
    assert pin["IRQ_FALLING"] == 2 and pin["OPEN_DRAIN"] == 7
