"""Bluetooth LE devices on the bench, in the board's air: peripherals that advertise and notify
(a sensor with the Environmental Sensing service, a heart-rate monitor) and a phone, a central
the notebook drives to scan, connect, read, write and subscribe. Each has a radio of its own
(air.py, ble.py) beside the board's, so it is one more device in the room, found by any
emulated board in the same air — and it needs no second board for a lab.

Control channel: ``ble_sensor NAME [°C [%RH]]`` and ``ble_heart_rate NAME [BPM]`` add or
update a peripheral; ``phone scan [MS]``,
``phone connect MAC``, ``phone characteristics``, ``phone read HANDLE``, ``phone write HANDLE
HEX``, ``phone subscribe HANDLE``, ``phone notifications``, ``phone disconnect``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json

from . import ble
from .air import Air

ENVIRONMENTAL_SENSING, TEMPERATURE, HUMIDITY = "1a18", "6e2a", "6f2a"  # 0x181A, 0x2A6E, 0x2A6F (little-endian hex)
HEART_RATE, HEART_RATE_MEASUREMENT = "0d18", "372a"  # 0x180D, 0x2A37
NOTIFY_EVERY_S = 1.0
PATIENCE_S = 5.0  # a phone's operation that gets no answer in this long fails


def _mac(air: str, name: str) -> bytes:
    """A bench device's address: stable for its name in its air."""
    return hashlib.sha256(f"{air}/{name}".encode()).digest()[:6]


class _BenchRadio:
    def __init__(self, air_name: str, name: str):
        self.name = name
        self.mac = _mac(air_name, name)
        self.air = Air(air_name, self.mac, self.mac, arrived=lambda: None)
        self.stack = ble.BleStack(self.air, self.mac, to_board=self._events)

    async def start(self) -> None:
        await self.air.start()
        self.stack.request("active", ["1"])

    def close(self) -> None:
        self.stack.request("active", ["0"])
        self.air.close()

    def _events(self) -> None:
        for code, fields in self.stack.request("events", []):
            if code == ble.GATTS_READ_REQUEST:  # a bench device lets every read through
                self.stack.request("read_answer", [str(fields[0]), str(fields[1]), "0"])
            self.on_event(code, fields)

    def on_event(self, code: int, fields: list) -> None:
        pass


class _Peripheral(_BenchRadio):
    """Advertises its name and its service; each second writes its readings (`readings()`:
    characteristic UUID → bytes) and notifies its subscribers. Kinds say SERVICE and READINGS
    (characteristic UUIDs, all read | notify)."""

    SERVICE = ""
    READINGS: tuple[str, ...] = ()
    settings: dict[str, float]  # what the bench sets (ble_sensor NAME 23.5 …)

    def __init__(self, air_name: str, name: str):
        super().__init__(air_name, name)
        self._ticker: asyncio.Task | None = None

    async def start(self) -> None:
        await super().start()
        services = [[self.SERVICE, [[uuid, 0x12, []] for uuid in self.READINGS]]]  # read | notify
        (handles,) = self.stack.request("register", [json.dumps(services).encode().hex()])
        self._handles = dict(zip(self.READINGS, handles))
        self._advertise()
        self._ticker = asyncio.get_running_loop().create_task(self._tick())

    def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        super().close()

    def _advertise(self) -> None:
        name = self.name.encode()[:20]
        adv = bytes([2, 0x01, 0x06, len(name) + 1, 0x09]) + name + bytes([3, 0x03]) + bytes.fromhex(self.SERVICE)
        self.stack.request("advertise", ["100000", adv.hex(), "-", "1"])

    def readings(self) -> dict[str, bytes]:
        raise NotImplementedError

    def write(self, send_update: bool = False) -> None:
        for uuid, value in self.readings().items():
            self.stack.request("write", [str(self._handles[uuid]), value.hex() or "-", "1" if send_update else "0"])

    async def _tick(self) -> None:
        while True:
            self.write(send_update=True)
            await asyncio.sleep(NOTIFY_EVERY_S)

    def on_event(self, code: int, fields: list) -> None:
        if code == ble.CENTRAL_DISCONNECT:  # advertise again for the next central
            self._advertise()

    def describe(self) -> dict:
        return {"name": self.name, "kind": type(self).__name__, "mac": self.mac.hex(), **self.settings,
                "connections": len(self.stack.conns)}  # fmt: skip


class Sensor(_Peripheral):
    """Environmental Sensing (0x181A): temperature (0.01 °C, sint16), humidity (0.01 %, uint16)."""

    SERVICE, READINGS = ENVIRONMENTAL_SENSING, (TEMPERATURE, HUMIDITY)

    def __init__(self, air_name: str, name: str):
        super().__init__(air_name, name)
        self.settings = {"celsius": 21.0, "humidity": 45.0}

    def readings(self) -> dict[str, bytes]:
        return {TEMPERATURE: round(self.settings["celsius"] * 100).to_bytes(2, "little", signed=True),
                HUMIDITY: round(self.settings["humidity"] * 100).to_bytes(2, "little")}  # fmt: skip


class HeartRateMonitor(_Peripheral):
    """Heart Rate (0x180D): the measurement (0x2A37: flags 0, then beats per minute as a byte)."""

    SERVICE, READINGS = HEART_RATE, (HEART_RATE_MEASUREMENT,)

    def __init__(self, air_name: str, name: str):
        super().__init__(air_name, name)
        self.settings = {"bpm": 72}

    def readings(self) -> dict[str, bytes]:
        return {HEART_RATE_MEASUREMENT: bytes([0, max(0, min(255, round(self.settings["bpm"])))])}


KINDS = {"sensor": (Sensor, ("celsius", "humidity")), "heart_rate": (HeartRateMonitor, ("bpm",))}


class Phone(_BenchRadio):
    """A central: each operation waits for the answer the board's stack gives."""

    def __init__(self, air_name: str):
        super().__init__(air_name, "phone")
        self.conn: int | None = None
        self.notifications: list[dict] = []
        self._waiters: dict[int, asyncio.Future] = {}
        self._results: list[list] = []
        self._seen: dict[str, dict] = {}  # a scan's advertisers, by MAC

    def on_event(self, code: int, fields: list) -> None:
        if code == ble.SCAN_RESULT:
            mac, rssi, data = fields[1][2:], fields[3], bytes.fromhex(fields[4][2:])
            entry = self._seen.setdefault(mac, {"mac": mac, "rssi": rssi, "name": None})
            entry["rssi"], entry["name"] = rssi, _name(data) or entry["name"]
        elif code in (ble.CHARACTERISTIC_RESULT, ble.READ_RESULT):
            self._results.append(fields)
        elif code in (ble.NOTIFY, ble.INDICATE):
            self.notifications.append({"handle": fields[1], "value": fields[2][2:]})
        elif code == ble.PERIPHERAL_DISCONNECT:
            self.conn = None
        waiter = self._waiters.pop(code, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(fields)

    async def _ask(self, done: int, op: str, *args: str) -> list:
        waiter = self._waiters[done] = asyncio.get_running_loop().create_future()
        self._results = []
        answer = self.stack.request(op, list(args))
        if isinstance(answer, dict):
            raise ValueError(f"phone: {op} refused ({answer['errno']})")
        try:
            return await asyncio.wait_for(waiter, PATIENCE_S + (int(args[0]) / 1000 if op == "scan" else 0))
        except asyncio.TimeoutError:
            raise ValueError(f"phone: no answer to {op} within {PATIENCE_S:.0f} s") from None

    def _connected(self) -> str:
        if self.conn is None:
            raise ValueError("phone: not connected (phone connect MAC)")
        return str(self.conn)

    async def control(self, words: list[str]) -> dict:
        op, args = (words[0], words[1:]) if words else ("", [])
        if op == "scan":
            self._seen = {}
            await self._ask(ble.SCAN_DONE, "scan", args[0] if args else "1000", "30000", "30000", "1")
            return {"found": list(self._seen.values())}
        if op == "connect" and len(args) == 1:
            fields = await self._ask(ble.PERIPHERAL_CONNECT, "connect", "0", args[0].replace(":", "").lower(), "2000")
            if fields[0] == 0xFFFF:
                raise ValueError(f"phone: {args[0]} did not take the connection (is it advertising, in range?)")
            self.conn = fields[0]
            return {"connected": args[0]}
        if op == "characteristics":
            await self._ask(ble.CHARACTERISTIC_DONE, "discover", "characteristics", self._connected(), "1", "65535", "-")
            return {"characteristics": [{"uuid": bytes.fromhex(f[4][2:])[::-1].hex(), "handle": f[2], "properties": f[3]}
                                        for f in self._results]}  # fmt: skip — UUIDs as written (0x2a6e: "2a6e")
        if op == "read" and len(args) == 1:
            fields = await self._ask(ble.READ_DONE, "gattc_read", self._connected(), args[0])
            return {"value": self._results[0][2][2:] if self._results else None, "status": fields[2]}
        if op == "write" and len(args) == 2:
            fields = await self._ask(ble.WRITE_DONE, "gattc_write", self._connected(), args[0], args[1], "1")
            return {"status": fields[2]}
        if op == "subscribe" and len(args) == 1:  # notifications on: its client configuration descriptor
            await self._ask(ble.WRITE_DONE, "gattc_write", self._connected(), str(int(args[0]) + 1), "0100", "1")
            return {"subscribed": int(args[0])}
        if op == "notifications":
            taken, self.notifications = self.notifications, []
            return {"notifications": taken}
        if op == "disconnect":
            if self.conn is not None:
                await self._ask(ble.PERIPHERAL_DISCONNECT, "disconnect", self._connected())
            return {"connected": None}
        raise ValueError("phone scan [MS] | connect MAC | characteristics | read HANDLE | write HANDLE HEX | "
                         "subscribe HANDLE | notifications | disconnect")  # fmt: skip


def _name(adv: bytes) -> str | None:
    """The complete or short local name in advertising data, if there is one."""
    while len(adv) >= 2:
        length, kind = adv[0], adv[1]
        if kind in (0x08, 0x09):
            return adv[2 : 1 + length].decode(errors="replace")
        adv = adv[1 + length :]
    return None
