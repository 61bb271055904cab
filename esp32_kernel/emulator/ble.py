"""A board's Bluetooth LE stack, as NimBLE is on an ESP32, kept by its supervisor.

The board's `bluetooth` module (firmware/bluetooth.py) asks it to advertise, scan, connect,
serve and read attributes; it answers other boards over the air (air.py) by itself, whatever
code the board runs, as NimBLE's host task does, and tells the board what happened as
BLE.irq events (v1.24's numbers and tuples), queued here and fetched by the firmware.

Advertising is a board's entry in the air's folder (what it advertises, how often, whether
it takes connections); a scan reads the neighbours in range each scan interval. Everything
else is a message to one board's air socket: connect, disconnect, discover, read, write,
notify, indicate, MTU exchange. The GATT database has NimBLE's layout: the GAP service
(0x1800: device name, appearance) at handle 1, the GATT service (0x1801: service changed)
at 6, the board's own services from 10; a characteristic that notifies or indicates gets its
client configuration descriptor (0x2902) after its value.

Pairing is "just works" (encrypted, not authenticated); FLAG_READ_ENCRYPTED characteristics
refuse a link that is not; with config(bond=True) on both sides the pair is bonded: the keys go
to each board's _IRQ_SET_SECRET handler. With config(mitm=True) on a side, the two sides' io
capabilities choose passkey entry or (both le_secure) numeric comparison: _IRQ_PASSKEY_ACTION
on each board, gap_passkey() answers, and an authenticated link when the answers agree. A read of a board's characteristic waits for its
_IRQ_GATTS_READ_REQUEST handler, as NimBLE's does: a non-zero return denies it with that ATT
error, and a value written in the handler is the one read. Not emulated: reconnecting with a
bond (_IRQ_GET_SECRET is never asked), out-of-band pairing, L2CAP (v1.24's ESP32 build has none either),
connection parameter updates, and air time beyond one message per 7.5 ms connection interval.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import deque
from collections.abc import Callable

from .air import Air, reported_rssi

# BLE.irq event numbers (extmod/modbluetooth.h)
CENTRAL_CONNECT, CENTRAL_DISCONNECT, GATTS_WRITE, GATTS_READ_REQUEST = 1, 2, 3, 4
SCAN_RESULT, SCAN_DONE, PERIPHERAL_CONNECT, PERIPHERAL_DISCONNECT = 5, 6, 7, 8
SERVICE_RESULT, SERVICE_DONE, CHARACTERISTIC_RESULT, CHARACTERISTIC_DONE = 9, 10, 11, 12
DESCRIPTOR_RESULT, DESCRIPTOR_DONE, READ_RESULT, READ_DONE, WRITE_DONE = 13, 14, 15, 16, 17
NOTIFY, INDICATE, INDICATE_DONE, MTU_EXCHANGED = 18, 19, 20, 21
ENCRYPTION_UPDATE = 28
SET_SECRET, PASSKEY_ACTION = 30, 31
PASSKEY_INPUT, PASSKEY_DISPLAY, PASSKEY_NUMERIC_COMPARISON = 2, 3, 4  # _PASSKEY_ACTION_*
DISPLAY_ONLY, DISPLAY_YESNO, KEYBOARD_ONLY, NO_INPUT_OUTPUT, KEYBOARD_DISPLAY = 0, 1, 2, 3, 4  # _IO_CAPABILITY_*
# NimBLE's store: what _IRQ_SET_SECRET's sec_type says (ble_store.h's BLE_STORE_OBJ_TYPE_*)
OUR_SEC, PEER_SEC = 1, 2
# config() keys about security and the radio, with v1.24's defaults (io 3: no input, no output)
SECURITY_DEFAULTS = {"addr_mode": 0, "rxbuf": 1024, "io": 3, "mitm": False, "le_secure": False, "bond": False}
ATT_INSUFFICIENT_ENCRYPTION = 0x0F
_FLAG_READ_ENCRYPTED = 0x0200
# refusals are errno names: the firmware raises OSError with its own number for each
EPERM, EINVAL, ENOMEM, EALREADY, ENOTCONN = "EPERM", "EINVAL", "ENOMEM", "EALREADY", "ENOTCONN"
ADV_IND, ADV_SCAN_IND, SCAN_RSP = 0, 2, 4
MAX_CONNECTIONS = 4  # sdkconfig.ble: CONFIG_BT_NIMBLE_MAX_CONNECTIONS
GAP_NAME = "MPY ESP32"  # sdkconfig.ble: CONFIG_BT_NIMBLE_SVC_GAP_DEVICE_NAME
DEFAULT_ATTR_LEN = 20  # modbluetooth.h: a value's buffer unless gatts_set_buffer says otherwise
LINK_MTU = 23  # every connection's ATT MTU until an exchange
PREFERRED_MTU = 256  # what an exchange offers: ESP-IDF's CONFIG_BT_NIMBLE_ATT_PREFERRED_MTU (MicroPython keeps it)
CCCD = "0229"  # 0x2902, little-endian hex
SERVICE_DECLARATION, CHARACTERISTIC_DECLARATION = "0028", "0328"  # 0x2800, 0x2803
FIRST_USER_HANDLE = 10
LINK_INTERVAL_S = 0.0075  # NimBLE's shortest connection interval: one message per connection event
READ_ANSWER_S = 1.0  # a board that does not answer a read request within this (its code never yields) allows it
_FLAG_NOTIFY, _FLAG_INDICATE = 0x10, 0x20


# Who does what in a pairing that protects against a man in the middle, by the two sides' I/O
# capabilities (Core spec Vol 3 Part H 2.3.5.1): (initiator's action, responder's action).
_DISPLAYS_INPUTS = (PASSKEY_DISPLAY, PASSKEY_INPUT)
_INPUTS_DISPLAYS = (PASSKEY_INPUT, PASSKEY_DISPLAY)
_PASSKEY_ENTRY = {
    (DISPLAY_ONLY, KEYBOARD_ONLY): _DISPLAYS_INPUTS, (DISPLAY_ONLY, KEYBOARD_DISPLAY): _DISPLAYS_INPUTS,
    (DISPLAY_YESNO, KEYBOARD_ONLY): _DISPLAYS_INPUTS, (DISPLAY_YESNO, KEYBOARD_DISPLAY): _DISPLAYS_INPUTS,
    (KEYBOARD_ONLY, DISPLAY_ONLY): _INPUTS_DISPLAYS, (KEYBOARD_ONLY, DISPLAY_YESNO): _INPUTS_DISPLAYS,
    (KEYBOARD_ONLY, KEYBOARD_ONLY): (PASSKEY_INPUT, PASSKEY_INPUT), (KEYBOARD_ONLY, KEYBOARD_DISPLAY): _INPUTS_DISPLAYS,
    (KEYBOARD_DISPLAY, DISPLAY_ONLY): _INPUTS_DISPLAYS, (KEYBOARD_DISPLAY, DISPLAY_YESNO): _INPUTS_DISPLAYS,
    (KEYBOARD_DISPLAY, KEYBOARD_ONLY): _DISPLAYS_INPUTS, (KEYBOARD_DISPLAY, KEYBOARD_DISPLAY): _INPUTS_DISPLAYS,
}  # fmt: skip
_NUMERIC_COMPARISON = {(DISPLAY_YESNO, DISPLAY_YESNO), (DISPLAY_YESNO, KEYBOARD_DISPLAY),
                       (KEYBOARD_DISPLAY, DISPLAY_YESNO), (KEYBOARD_DISPLAY, KEYBOARD_DISPLAY)}  # fmt: skip


def association(initiator: dict, responder: dict) -> tuple[int, int] | None:
    """The pairing method for two offers ({"io", "mitm", "lesc"}): None for "just works", else
    (initiator's action, responder's action)."""
    if not (initiator.get("mitm") or responder.get("mitm")):
        return None
    ios = (initiator.get("io", NO_INPUT_OUTPUT), responder.get("io", NO_INPUT_OUTPUT))
    if initiator.get("lesc") and responder.get("lesc") and ios in _NUMERIC_COMPARISON:
        return PASSKEY_NUMERIC_COMPARISON, PASSKEY_NUMERIC_COMPARISON
    return _PASSKEY_ENTRY.get(ios)


def _x(data: bytes) -> str:
    return "x:" + data.hex()  # bytes in an event's tuple (firmware/bluetooth.py decodes it)


class BleStack:
    def __init__(self, air: Air, mac: bytes, to_board: Callable[[], None]):
        self.air = air
        self.mac = mac
        self._to_board = to_board  # tells the board that events wait
        air.on_ble = self._heard
        self._scan: asyncio.Task | None = None
        self._connecting: asyncio.TimerHandle | None = None
        self._inbox: deque[dict] = deque()  # other stacks' messages, taken one per connection event
        self._next_in: asyncio.TimerHandle | None = None
        self._reads: dict[tuple[int, int], asyncio.TimerHandle] = {}  # reads waiting for the board's handler
        self.conns: dict[int, dict] = {}  # handle → {"port", "peer" (its handle for us), "mac", "central" (we are)…}
        self.reset()

    def reset(self) -> None:
        """The chip restarted: the stack is off, its connections gone (their peers are told)."""
        for conn in self.conns.values():
            self._post(conn, {"op": "disconnect"})
        if self._scan is not None:
            self._scan.cancel()
            self._scan = None
        self._cancel_connect()
        self.active = False
        self.gap_name = GAP_NAME
        self.mtu = PREFERRED_MTU
        self.security = dict(SECURITY_DEFAULTS)
        self.irq_set = True  # a board's BLE.irq(None) clears it: the events of that time are lost
        self.events: deque[list] = deque()
        self.conns = {}
        self.advertising: dict | None = None
        self._define([])
        self._announce()

    # -- the GATT database

    def _define(self, services: list) -> list:
        """NimBLE's own services, then `services` ([uuid hex, [[uuid, flags, [[uuid, flags]…]]…]]…);
        the value handles (and descriptor handles) of each service's characteristics."""
        self.attrs: dict[int, dict] = {}  # handle → {"uuid", "flags", "value", "kind", "end"}
        self.services: list[tuple[int, int, str]] = []  # (start, end, uuid)
        handles, next_handle = [], 1
        own = [["0018", [["002a", 0x02, []], ["012a", 0x02, []]]], ["0118", [["052a", 0x20, []]]]]  # GAP; GATT
        for number, (uuid, chars) in enumerate(own + services):
            if number == len(own):
                next_handle = FIRST_USER_HANDLE
            start, service_handles = next_handle, []
            self.attrs[start] = {"uuid": SERVICE_DECLARATION, "flags": 0x02, "value": bytes.fromhex(uuid), "kind": "decl"}
            next_handle += 1
            for char_uuid, flags, descriptors in chars:
                decl, value = next_handle, next_handle + 1
                self.attrs[decl] = {"uuid": CHARACTERISTIC_DECLARATION, "flags": 0x02, "value": b"", "kind": "decl"}
                next_handle += 2
                self.attrs[value] = {"uuid": char_uuid, "flags": flags, "value": b"", "kind": "chr", "decl": decl, "size": DEFAULT_ATTR_LEN}
                service_handles.append(value)
                if flags & (_FLAG_NOTIFY | _FLAG_INDICATE):
                    self.attrs[next_handle] = {"uuid": CCCD, "flags": 0x0A, "value": b"\x00\x00", "kind": "dsc"}
                    next_handle += 1
                for dsc_uuid, dsc_flags in descriptors:
                    self.attrs[next_handle] = {"uuid": dsc_uuid, "flags": dsc_flags, "value": b"", "kind": "dsc", "size": DEFAULT_ATTR_LEN}
                    service_handles.append(next_handle)
                    next_handle += 1
                self.attrs[value]["end"] = next_handle - 1
            self.services.append((start, next_handle - 1, uuid))
            if number >= len(own):
                handles.append(service_handles)
        self.attrs[3]["value"] = self.gap_name.encode()
        return handles

    # -- what the board's firmware asks (supervisor: ble requests)

    def request(self, op: str, args: list[str]):
        if op == "events":
            events, self.events = list(self.events), deque()
            return events
        if op == "irq":  # the board set a handler, or none: events then go nowhere, as on a board
            self.irq_set = args[0] == "1"
            return None
        if op == "active":
            if args:
                self._set_active(args[0] == "1")
            return self.active
        if not self.active and not (op == "config" and args[:1] != ["mac"]):  # settings wait for the stack
            return {"errno": EPERM}
        handler = getattr(self, "_req_" + op, None)
        if handler is None:
            raise ValueError(f"unknown ble request {op!r}")
        return handler(*args)

    def _set_active(self, on: bool) -> None:
        if not on and self.active:
            for handle in list(self.conns):
                self._drop(handle, tell_peer=True)
            self.advertising = None
            self._stop_scan()
            self._cancel_connect()
        self.active = on
        self._announce()

    def _announce(self) -> None:
        adv = self.advertising if self.active else None
        self.air.extra["ble"] = {"mac": self.mac.hex(), "adv": adv, "name": self.gap_name}
        self.air.announce()

    def _req_config(self, key: str, value: str | None = None):
        if value is None:
            if key == "mac":
                return [0, self.mac.hex()]
            if key == "gap_name":  # bytes on a board: hex here
                return self.gap_name.encode().hex()
            if key == "mtu":
                return self.mtu
            if key in self.security:
                return self.security[key]
            raise ValueError("unknown config param")
        if key == "gap_name":
            self.gap_name = bytes.fromhex(value).decode(errors="replace") if value != "-" else ""
            self.attrs[3]["value"] = self.gap_name.encode()
            self._announce()
        elif key == "mtu":
            if not 23 <= int(value) <= 517:
                return {"errno": EINVAL}
            self.mtu = int(value)
        elif key in self.security:
            number = int(value)
            self.security[key] = bool(number) if isinstance(SECURITY_DEFAULTS[key], bool) else number
        elif key != "interval":
            raise ValueError("unknown config param")
        return None

    def _req_advertise(self, interval_us: str, adv: str = "-", resp: str = "-", connectable: str = "1"):
        if interval_us == "-":
            self.advertising = None
        else:
            self.advertising = {"interval_us": max(int(interval_us), 20_000), "adv": "" if adv == "-" else adv,
                                "resp": "" if resp == "-" else resp, "connectable": connectable == "1"}  # fmt: skip
        self._announce()

    def _req_scan(self, duration_ms: str, interval_us: str = "1280000", window_us: str = "11250", active: str = "0"):
        self._stop_scan()
        if duration_ms != "-":
            self._scan = asyncio.get_running_loop().create_task(self._scanning(int(duration_ms), int(interval_us), active == "1"))

    async def _scanning(self, duration_ms: int, interval_us: int, active: bool) -> None:
        loop = asyncio.get_running_loop()
        until = loop.time() + duration_ms / 1000 if duration_ms else None
        period = min(max(interval_us / 1e6, 0.03), 0.5)  # a result per advertiser each period
        try:
            while until is None or loop.time() < until:
                for board, distance in self._advertisers():
                    adv = board["ble"]["adv"]
                    rssi = reported_rssi(distance)
                    mac = bytes.fromhex(board["ble"]["mac"])
                    kind = ADV_IND if adv["connectable"] else ADV_SCAN_IND
                    self._event(SCAN_RESULT, 0, _x(mac), kind, rssi, _x(bytes.fromhex(adv["adv"])))
                    if active and adv["resp"]:
                        self._event(SCAN_RESULT, 0, _x(mac), SCAN_RSP, rssi, _x(bytes.fromhex(adv["resp"])))
                await asyncio.sleep(period)
        finally:
            self._scan = None
        self._event(SCAN_DONE)

    def _stop_scan(self) -> None:
        """gap_scan(None), or the stack going off: the scan ends, and says so."""
        if self._scan is not None:
            self._scan.cancel()
            self._scan = None
            self._event(SCAN_DONE)

    def _advertisers(self) -> list[tuple[dict, float]]:
        found = []
        for board, distance in self.air.reachable():
            ble = board.get("ble")
            if ble and ble.get("adv"):
                found.append((board, distance))
        return found

    def _req_connect(self, addr_type: str, addr: str = "-", scan_duration_ms: str = "2000"):
        if addr_type == "-":
            self._cancel_connect()
            return None
        if self._connecting is not None:
            return {"errno": EALREADY}
        if len(self.conns) >= MAX_CONNECTIONS:
            return {"errno": ENOMEM}
        loop = asyncio.get_running_loop()
        handle = self._new_handle()
        self.conns[handle] = {"port": None, "peer": None, "mac": addr, "central": True, "pending": True, "mtu": LINK_MTU}
        deadline = loop.time() + int(scan_duration_ms) / 1000

        def attempt() -> None:
            self._connecting = None
            conn = self.conns.get(handle)
            if conn is None or not conn["pending"]:
                return
            for board, _ in self._advertisers():
                if board["ble"]["mac"] == addr and board["ble"]["adv"]["connectable"]:
                    conn["port"] = board["port"]
                    self.air.post(board["port"], b"BL", {"op": "connect", "mac": self.mac.hex(), "port": self.air.port, "h": handle})
                    self._connecting = loop.call_later(0.5, attempt)  # no answer yet: try again
                    return
            if loop.time() < deadline:
                self._connecting = loop.call_later(0.05, attempt)
            else:  # not found while scanning: NimBLE reports a failed connect as a disconnect
                del self.conns[handle]
                self._event(PERIPHERAL_DISCONNECT, 0xFFFF, 0, _x(bytes.fromhex(addr)))

        attempt()
        return None

    def _cancel_connect(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
            self._connecting = None
        for handle in [h for h, c in self.conns.items() if c.get("pending")]:
            del self.conns[handle]

    def _new_handle(self) -> int:
        return next(h for h in range(MAX_CONNECTIONS * 2) if h not in self.conns)

    def _req_disconnect(self, handle: str):
        if int(handle) not in self.conns:
            return False
        self._drop(int(handle), tell_peer=True)
        return True

    def _drop(self, handle: int, tell_peer: bool) -> None:
        conn = self.conns.pop(handle)
        event = (PERIPHERAL_DISCONNECT if conn["central"] else CENTRAL_DISCONNECT, handle, 0, _x(bytes.fromhex(conn["mac"])))
        if tell_peer and conn["port"] is not None and not conn.get("pending"):
            self.air.post(conn["port"], b"BL", {"op": "disconnect", "h": conn["peer"]})
            # ours ends when the peer's link layer has answered, after gap_disconnect() returned
            asyncio.get_running_loop().call_later(LINK_INTERVAL_S, self._event, *event)
        else:
            self._event(*event)

    def _req_read_answer(self, handle: str, value_handle: str, status: str):
        """The board's handler answered _IRQ_GATTS_READ_REQUEST (0 or None: allowed)."""
        if (int(handle), int(value_handle)) in self._reads:
            self._answer_read(int(handle), int(value_handle), int(status))

    def _answer_read(self, handle: int, value_handle: int, status: int) -> None:
        timer = self._reads.pop((handle, value_handle), None)
        if timer is not None:
            timer.cancel()
        conn, attr = self.conns.get(handle), self.attrs.get(value_handle)
        if conn is None:
            return
        if attr is None:
            status = 0x01  # ATT: invalid handle
        value = attr["value"][: conn["mtu"] - 1].hex() if attr and not status else None  # one ATT read response
        self._post(conn, {"op": "read_reply", "vh": value_handle, "data": value, "status": status})

    def _req_pair(self, handle: str):
        """Pairing: "just works" (encrypted, not authenticated) unless a side asks for MITM
        protection and both sides' I/O allows a passkey or a numeric comparison; bonded when
        both sides have config(bond=True)."""
        return self._ask(int(handle), {"op": "pair", **self._pairing_offer()})

    def _paired(self, handle: int, conn: dict, bonded: bool, authenticated: bool = False) -> None:
        conn["encrypted"] = True
        if bonded:  # NimBLE hands the keys to the board to keep (its _IRQ_SET_SECRET handler)
            key = _x(bytes([0]) + bytes.fromhex(conn["mac"]))  # the peer's address type and address
            long_term_key = hashlib.sha256(bytes.fromhex(conn["mac"]) + self.mac).digest()[:16]
            for sec_type in (OUR_SEC, PEER_SEC):
                self._event(SET_SECRET, sec_type, key, _x(long_term_key))
        self._event(ENCRYPTION_UPDATE, handle, 1, int(authenticated), int(bonded), 16)

    def _pairing_offer(self) -> dict:
        return {"bond": self.security["bond"], "io": self.security["io"], "mitm": self.security["mitm"],
                "lesc": self.security["le_secure"]}  # fmt: skip

    def _on_pair(self, handle: int, conn: dict, offer: dict) -> None:
        """We are asked to pair (the responder): choose the method both sides' settings call for."""
        bonded = bool(offer.get("bond")) and self.security["bond"]
        method = association(offer, self._pairing_offer())
        if method is None:  # "just works"
            self._post(conn, {"op": "paired", "bond": self.security["bond"]})
            self._paired(handle, conn, bonded)
            return
        theirs, ours = method
        number = None  # the six digits both boards show in a numeric comparison, from both addresses
        if ours == PASSKEY_NUMERIC_COMPARISON:
            digest = hashlib.sha256(bytes.fromhex(conn["mac"]) + self.mac).digest()
            number = int.from_bytes(digest[:4], "big") % 1_000_000
        conn["pairing"] = {"bond": bonded, "numeric": number is not None, "mine": None, "theirs": None, "judge": True}
        self._post(conn, {"op": "pair_method", "action": theirs, "number": number, "bond": bonded})
        self._event(PASSKEY_ACTION, handle, ours, number or 0)

    def _req_passkey(self, handle: str, action: str, passkey: str):
        """The board's answer to _IRQ_PASSKEY_ACTION: the passkey it shows or was given, or
        (numeric comparison) whether the numbers match."""
        conn = self.conns.get(int(handle))
        pairing = conn.get("pairing") if conn else None
        if pairing is None or pairing["mine"] is not None:
            return {"errno": EINVAL}  # no pairing asks for one now
        pairing["mine"] = int(passkey)
        if pairing["judge"]:
            self._judge(int(handle), conn)
        else:
            self._post(conn, {"op": "passkey", "value": int(passkey)})
        return None

    def _judge(self, handle: int, conn: dict) -> None:
        """Both answers in (the responder decides, as the protocol's confirm values do)."""
        pairing = conn["pairing"]
        if pairing["mine"] is None or pairing["theirs"] is None:
            return
        mine, theirs = pairing["mine"], pairing["theirs"]
        ok = bool(mine and theirs) if pairing["numeric"] else mine == theirs
        self._post(conn, {"op": "pair_result", "ok": ok})
        self._pair_done(handle, conn, ok)

    def _pair_done(self, handle: int, conn: dict, ok: bool) -> None:
        pairing = conn.pop("pairing")
        if ok:
            self._paired(handle, conn, pairing["bond"], authenticated=True)
        else:  # confirm values differ: the link stays unencrypted
            self._event(ENCRYPTION_UPDATE, handle, 0, 0, 0, 0)

    def _req_register(self, definition: str):
        services = json.loads(bytes.fromhex(definition).decode())
        if self.conns:
            return {"errno": EINVAL}  # NimBLE resets its database only with no connection
        return self._define(services)

    def _attr(self, handle: str) -> dict | None:
        return self.attrs.get(int(handle))

    def _req_read(self, handle: str):
        attr = self._attr(handle)
        return {"errno": EINVAL} if attr is None else attr["value"].hex()

    def _req_write(self, handle: str, data: str, send_update: str = "0"):
        attr = self._attr(handle)
        if attr is None:
            return {"errno": EINVAL}
        attr["value"] = b"" if data == "-" else bytes.fromhex(data)
        if send_update == "1":  # to every client that subscribed, as it subscribed
            for conn_handle, conn in self.conns.items():
                mode = conn.get("subscribed", {}).get(int(handle), 0)
                if mode:
                    self._send_update(conn_handle, int(handle), None, "indicate" if mode & 2 else "notify")
        return None

    def _req_set_buffer(self, handle: str, length: str, append: str):
        attr = self._attr(handle)
        if attr is None:
            return {"errno": EINVAL}
        attr["append"], attr["size"] = append == "1", int(length)
        return None

    def _req_notify(self, conn: str, handle: str, data: str):
        return self._send_update(int(conn), int(handle), data, "notify")

    def _req_indicate(self, conn: str, handle: str, data: str):
        return self._send_update(int(conn), int(handle), data, "indicate")

    def _send_update(self, conn_handle: int, handle: int, data: str, kind: str):
        conn, attr = self.conns.get(conn_handle), self.attrs.get(handle)
        if conn is None or conn.get("pending"):
            return {"errno": ENOTCONN}
        if attr is None:
            return {"errno": EINVAL}
        value = attr["value"] if data in (None, "-") else (b"" if data == "x-" else bytes.fromhex(data[1:]))
        self._post(conn, {"op": kind, "vh": handle, "data": value[: conn["mtu"] - 3].hex()})  # what one ATT PDU holds
        return None

    def _req_discover(self, kind: str, conn: str, start: str, end: str, uuid: str):
        return self._ask(int(conn), {"op": "discover", "kind": kind, "start": int(start), "end": int(end), "uuid": uuid})

    def _req_gattc_read(self, conn: str, handle: str):
        return self._ask(int(conn), {"op": "read", "vh": int(handle)})

    def _req_gattc_write(self, conn: str, handle: str, data: str, mode: str):
        mtu = self.conns[int(conn)]["mtu"] if int(conn) in self.conns else LINK_MTU
        data = "" if data == "-" else data[: 2 * (mtu - 3)]  # what one ATT write carries
        return self._ask(int(conn), {"op": "write", "vh": int(handle), "data": data, "mode": int(mode)})

    def _req_exchange_mtu(self, conn: str):
        return self._ask(int(conn), {"op": "mtu", "mtu": self.mtu})

    def _ask(self, conn_handle: int, message: dict):
        conn = self.conns.get(conn_handle)
        if conn is None or conn.get("pending"):
            return {"errno": ENOTCONN}
        self._post(conn, message)
        return None

    def _post(self, conn: dict, message: dict) -> None:
        if conn.get("port") is not None and not conn.get("pending"):
            self.air.post(conn["port"], b"BL", {**message, "h": conn["peer"]})

    # -- what other boards' stacks say (air.py hands us their messages)

    def _heard(self, message: dict) -> None:
        """Messages are taken one per connection interval, as a link carries them: the board's
        handler for one runs before the next lands (a write's value is still there to read)."""
        self._inbox.append(message)
        if self._next_in is None:
            self._take_one()

    def _take_one(self) -> None:
        self._next_in = None
        if self._inbox:
            self._handle(self._inbox.popleft())
            self._next_in = asyncio.get_running_loop().call_later(LINK_INTERVAL_S, self._take_one)

    def _handle(self, message: dict) -> None:
        if not self.active:
            return
        op = message.get("op")
        if op == "connect":
            self._on_connect(message)
            return
        if op == "connected":
            conn = self.conns.get(message["h"])
            if conn is not None and conn.get("pending"):
                conn.update(pending=False, peer=message["peer"])
                self._cancel_pending_timer()
                self._event(PERIPHERAL_CONNECT, message["h"], 0, _x(bytes.fromhex(conn["mac"])))
            return
        handle = message.get("h")
        conn = self.conns.get(handle)
        if conn is None or conn.get("pending"):
            return
        if op == "disconnect":
            self._drop(handle, tell_peer=False)
        elif op == "discover":
            self._post(conn, {"op": "discovered", "kind": message["kind"], "items": self._discover(message)})
        elif op == "discovered":
            self._on_discovered(handle, message)
        elif op == "pair":
            self._on_pair(handle, conn, message)
        elif op == "paired":
            self._paired(handle, conn, bool(message.get("bond")) and self.security["bond"])
        elif op == "pair_method":  # we asked to pair: our part of the method the peer chose
            conn["pairing"] = {"bond": message["bond"], "mine": None, "judge": False}
            self._event(PASSKEY_ACTION, handle, message["action"], message["number"] or 0)
        elif op == "passkey" and conn.get("pairing"):
            conn["pairing"]["theirs"] = message["value"]
            self._judge(handle, conn)
        elif op == "pair_result" and conn.get("pairing"):
            self._pair_done(handle, conn, message["ok"])
        elif op == "read":
            attr = self.attrs.get(message["vh"])
            if attr is not None and attr["flags"] & _FLAG_READ_ENCRYPTED and not conn.get("encrypted"):
                self._post(conn, {"op": "read_reply", "vh": message["vh"], "data": None, "status": ATT_INSUFFICIENT_ENCRYPTION})
                return
            if attr is not None and attr["kind"] == "chr" and self.irq_set:  # asked: its handler may deny it
                key = (handle, message["vh"])
                self._reads[key] = asyncio.get_running_loop().call_later(READ_ANSWER_S, self._answer_read, *key, 0)
                self._event(GATTS_READ_REQUEST, *key)
            else:
                self._answer_read(handle, message["vh"], 0)
        elif op == "read_reply":
            if message["data"] is not None:
                self._event(READ_RESULT, handle, message["vh"], _x(bytes.fromhex(message["data"])))
            self._event(READ_DONE, handle, message["vh"], message["status"])
        elif op == "write":
            attr = self.attrs.get(message["vh"])
            if attr is not None and attr["uuid"] == CCCD:  # a subscription: NimBLE keeps it, the board is not told
                data = bytes.fromhex(message["data"]) + b"\x00\x00"
                characteristic = max(h for h, a in self.attrs.items() if a["kind"] == "chr" and h < message["vh"])
                conn.setdefault("subscribed", {})[characteristic] = data[0] & 3  # 1 notify, 2 indicate
            elif attr is not None and attr["kind"] != "decl":
                data = bytes.fromhex(message["data"])
                attr["value"] = ((attr["value"] if attr.get("append") else b"") + data)[: attr["size"]]
                self._event(GATTS_WRITE, handle, message["vh"])
            if message["mode"] == 1:  # ATT: 0x01 invalid handle, 0x03 write not permitted
                status = 0x01 if attr is None else 0x03 if attr["kind"] == "decl" else 0
                self._post(conn, {"op": "write_reply", "vh": message["vh"], "status": status})
        elif op == "write_reply":
            self._event(WRITE_DONE, handle, message["vh"], message["status"])
        elif op in ("notify", "indicate"):
            self._event(NOTIFY if op == "notify" else INDICATE, handle, message["vh"], _x(bytes.fromhex(message["data"])))
            if op == "indicate":
                self._post(conn, {"op": "indicated", "vh": message["vh"]})
        elif op == "indicated":
            self._event(INDICATE_DONE, handle, message["vh"], 0)
        elif op == "mtu":
            conn["mtu"] = min(self.mtu, message["mtu"])
            self._post(conn, {"op": "mtu_reply", "mtu": conn["mtu"]})
            self._event(MTU_EXCHANGED, handle, conn["mtu"])
        elif op == "mtu_reply":
            conn["mtu"] = message["mtu"]
            self._event(MTU_EXCHANGED, handle, conn["mtu"])

    def _cancel_pending_timer(self) -> None:
        if self._connecting is not None and not any(c.get("pending") for c in self.conns.values()):
            self._connecting.cancel()
            self._connecting = None

    def _on_connect(self, message: dict) -> None:
        adv = self.advertising
        if adv is None or not adv["connectable"] or len(self.conns) >= MAX_CONNECTIONS:
            return  # not taking connections: the central keeps trying until its scan ends
        handle = self._new_handle()
        self.conns[handle] = {"port": message["port"], "peer": message["h"], "mac": message["mac"], "central": False, "mtu": LINK_MTU}
        self.advertising = None  # NimBLE stops advertising once connected
        self._announce()
        self.air.post(message["port"], b"BL", {"op": "connected", "h": message["h"], "peer": handle})
        self._event(CENTRAL_CONNECT, handle, 0, _x(bytes.fromhex(message["mac"])))

    def _discover(self, message: dict) -> list:
        start, end, uuid = message["start"], message["end"], message["uuid"]
        if message["kind"] == "services":
            return [[s, e, u] for s, e, u in self.services if uuid in ("-", u)]
        if message["kind"] == "characteristics":
            return [[a["end"], h, a["flags"], a["uuid"]] for h, a in sorted(self.attrs.items())
                    if a["kind"] == "chr" and start <= h <= end and uuid in ("-", a["uuid"])]  # fmt: skip
        # Find Information from the handle after `start` (NimBLE's disc_all_dscs): every attribute there
        return [[h, a["uuid"]] for h, a in sorted(self.attrs.items()) if start < h <= end]

    def _on_discovered(self, handle: int, message: dict) -> None:
        kind = message["kind"]
        for item in message["items"]:
            if kind == "services":
                self._event(SERVICE_RESULT, handle, item[0], item[1], "u:" + item[2])
            elif kind == "characteristics":
                self._event(CHARACTERISTIC_RESULT, handle, item[0], item[1], item[2], "u:" + item[3])
            else:
                self._event(DESCRIPTOR_RESULT, handle, item[0], "u:" + item[1])
        done = {"services": SERVICE_DONE, "characteristics": CHARACTERISTIC_DONE, "descriptors": DESCRIPTOR_DONE}[kind]
        self._event(done, handle, 0)

    # -- to the board

    def _event(self, code: int, *fields) -> None:
        if not self.irq_set:
            return
        self.events.append([code, list(fields)])
        self._to_board()

    def describe(self) -> dict:
        return {"active": self.active, "mac": self.mac.hex(), "gap_name": self.gap_name, "advertising": self.advertising,
                "scanning": self._scan is not None, "connections": {h: c["mac"] for h, c in self.conns.items()}}  # fmt: skip
