"""The air between emulated boards: ESP-NOW frames from one board's radio to another's.

Boards started with the same air name (``--air NAME``; "default" unless told) hear each other,
as boards in one room do. Each board's supervisor keeps a UDP socket on loopback and a file in
the air's folder saying where its radio is: the socket's port, its two MACs (station and access
point), the radio's channel, whether a WiFi interface is up, where the board stands and how
lossy its reception is. The folder is in this user's temporary folder, so boards of other
users of the computer are in another room (a JupyterHub's students each have their own air).

The sender decides a frame's fate, as the receiver's MAC layer would have: a unicast frame
reaches a board whose radio is on, on the same channel, within range, unless the receiver's
loss drops it; it is then acknowledged (``send()`` returns True) whether or not that board
reads ESP-NOW. A broadcast reaches every such board and is not acknowledged. The receiving
supervisor keeps frames for the board only while its ESP-NOW is active, up to its receive
buffer (``rxbuf``), counting the ones it drops.

Distance to RSSI: -40 dBm at 1 m, 25 dB less per tenfold distance (a path-loss exponent of
2.5, indoors); a frame weaker than -98 dBm is not heard.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import struct
import tempfile
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

BROADCAST = b"\xff" * 6
DEFAULT_AIR = "default"
MAX_DATA_LEN = 250
_HEADER = struct.Struct("!2s6s6sffB")  # magic, source MAC, destination MAC, sender's x and y, channel
_MAGIC = b"EN"
_PACKET_OVERHEAD = 13  # what each frame costs in the board's receive buffer besides its data (6 + 7)
RSSI_AT_1M, PATH_LOSS_EXPONENT, WEAKEST_HEARD = -40.0, 2.5, -98.0


def air_folder(name: str) -> Path:
    if not name or not all(c.isalnum() or c in "-_." for c in name) or name.startswith("."):
        raise ValueError(f"an air's name is letters, digits, '-', '_' or '.': {name!r}")
    owner = os.getuid() if hasattr(os, "getuid") else os.getlogin()
    folder = Path(tempfile.gettempdir()) / f"esp32-air-{owner}" / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def rssi_at(distance_m: float) -> float:
    return RSSI_AT_1M - 10 * PATH_LOSS_EXPONENT * math.log10(max(distance_m, 0.5))  # two boards on one desk: -32 dBm


def reported_rssi(distance_m: float) -> int:
    """The RSSI a receiver reports: whole dBm, -127 at the weakest (an int8 on the chip)."""
    return round(max(rssi_at(distance_m), -127))


class Air:
    """One board's radio in the air named `name`. `arrived()` is called (on the loop) when a
    frame is kept for the board."""

    def __init__(self, name: str, sta_mac: bytes, ap_mac: bytes, arrived: Callable[[], None]):
        self.name = name
        self.folder = air_folder(name)
        self.sta_mac, self.ap_mac = sta_mac, ap_mac
        self._arrived = arrived
        self._transport: asyncio.DatagramTransport | None = None
        self.port = 0
        self.x = self.y = 0.0
        self.loss = 0.0
        self.extra: dict = {}  # what other radios of the board put in its entry (ble.py: "ble")
        self.on_ble: Callable[[dict], None] = lambda message: None  # Bluetooth LE messages (ble.py)
        self.reset()

    def reset(self) -> None:
        """The chip restarted: its WiFi is off, ESP-NOW not started, nothing kept."""
        self.sta_on = self.ap_on = False
        self.channel = 1
        self.espnow_on = False
        self.rxbuf = 526
        self.frames: deque[tuple[bytes, bytes, int, float]] = deque()  # (source, data, rssi, arrived at)
        self._kept_bytes = 0
        self.received = self.dropped = 0
        self.announce()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(lambda: _Receiver(self), local_addr=("127.0.0.1", 0))
        self.port = self._transport.get_extra_info("sockname")[1]
        self.announce()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
        try:
            self._file.unlink()
        except OSError:
            pass

    @property
    def _file(self) -> Path:
        return self.folder / f"{self.sta_mac.hex()}.json"

    def announce(self) -> None:
        """Write the board's entry in the air's folder (its radios' state, where it stands)."""
        if not self.port:
            return
        state = {"port": self.port, "macs": [self.sta_mac.hex(), self.ap_mac.hex()], "channel": self.channel,
                 "radio": self.sta_on or self.ap_on, "x": self.x, "y": self.y, "loss": self.loss, "pid": os.getpid(),
                 **self.extra}  # fmt: skip
        partial = self._file.with_suffix(".part")
        partial.write_text(json.dumps(state))
        os.replace(partial, self._file)

    # -- what the board's firmware asks (supervisor: espnow requests)

    def set_radio(self, sta_on: bool, ap_on: bool, channel: int) -> None:
        self.sta_on, self.ap_on, self.channel = sta_on, ap_on, channel
        self.announce()

    def set_espnow(self, on: bool, rxbuf: int) -> None:
        self.espnow_on, self.rxbuf = on, rxbuf
        if not on:
            self.frames.clear()
            self._kept_bytes = 0

    def send(self, destination: bytes, data: bytes) -> bool:
        """Send one frame; True if it was acknowledged (always, for a broadcast)."""
        packet = _HEADER.pack(_MAGIC, self.sta_mac, destination, self.x, self.y, self.channel) + data
        heard = False
        for board, _ in self.reachable():
            addressed = destination == BROADCAST or destination.hex() in board["macs"]
            if addressed and board["radio"] and board["channel"] == self.channel:
                self._transport.sendto(packet, ("127.0.0.1", board["port"]))
                heard = True
        return heard or destination == BROADCAST

    def _distance(self, board: dict) -> float:
        return math.hypot(board["x"] - self.x, board["y"] - self.y)

    def reachable(self) -> list[tuple[dict, float]]:
        """The other boards a frame from here reaches now (in range, not lost), with their distance."""
        found = []
        for board in self._neighbours():
            distance = self._distance(board)
            if rssi_at(distance) >= WEAKEST_HEARD and random.random() >= board["loss"]:
                found.append((board, distance))
        return found

    def post(self, port: int, magic: bytes, message: dict) -> None:
        """A message for one board's stack (its air port), as JSON after the magic."""
        if self._transport is not None:
            self._transport.sendto(magic + json.dumps(message).encode(), ("127.0.0.1", port))

    def _neighbours(self) -> list[dict]:
        boards = []
        for path in self.folder.glob("*.json"):
            if path == self._file:
                continue
            try:
                board = json.loads(path.read_text())
            except (OSError, ValueError):  # being replaced, or gone
                continue
            if _alive(board.get("pid")):
                boards.append(board)
            else:  # a board that ended without tidying up (killed)
                path.unlink(missing_ok=True)
        return boards

    def take(self) -> list | None:
        """The oldest frame kept: [source hex, data hex, rssi, ms since it arrived, frames still
        kept], or None."""
        if not self.frames:
            return None
        source, data, rssi, at = self.frames.popleft()
        self._kept_bytes -= len(data) + _PACKET_OVERHEAD
        return [source.hex(), data.hex() or "-", rssi, int((time.monotonic() - at) * 1000), len(self.frames)]

    def _heard(self, packet: bytes) -> None:
        if packet[:2] == b"BL":
            try:
                message = json.loads(packet[2:])
            except ValueError:
                return
            self.on_ble(message)
            return
        if len(packet) < _HEADER.size or len(packet) > _HEADER.size + MAX_DATA_LEN:
            return
        magic, source, destination, x, y, channel = _HEADER.unpack_from(packet)
        if magic != _MAGIC or destination not in (self.sta_mac, self.ap_mac, BROADCAST) or not self.espnow_on:
            return
        data = packet[_HEADER.size :]
        if self._kept_bytes + len(data) + _PACKET_OVERHEAD >= self.rxbuf:  # as the firmware's ring buffer
            self.dropped += 1
            return
        rssi = reported_rssi(math.hypot(x - self.x, y - self.y))
        self.frames.append((source, data, rssi, time.monotonic()))
        self._kept_bytes += len(data) + _PACKET_OVERHEAD
        self.received += 1
        self._arrived()

    # -- the bench's side (control channel: air …)

    def control(self, words: list[str]) -> dict:
        if words[:1] == ["place"] and len(words) == 3:
            self.x, self.y = float(words[1]), float(words[2])
        elif words[:1] == ["loss"] and len(words) == 2 and 0 <= float(words[1]) <= 1:
            self.loss = float(words[1])
        elif words:
            raise ValueError("air [place X Y | loss FRACTION]")
        self.announce()
        return self.describe()

    def describe(self) -> dict:
        neighbours = []
        for board in self._neighbours():
            distance = self._distance(board)
            neighbours.append({"mac": board["macs"][0], "channel": board["channel"], "radio": board["radio"],
                               "distance_m": round(distance, 2), "rssi": reported_rssi(distance)})  # fmt: skip
        return {"air": self.name, "mac": self.sta_mac.hex(), "x": self.x, "y": self.y, "loss": self.loss,
                "channel": self.channel, "radio": self.sta_on or self.ap_on, "espnow": self.espnow_on,
                "received": self.received, "dropped": self.dropped, "neighbours": neighbours}  # fmt: skip


class _Receiver(asyncio.DatagramProtocol):
    def __init__(self, air: Air) -> None:
        self._air = air

    def datagram_received(self, data: bytes, addr) -> None:
        self._air._heard(data)

    def error_received(self, exc: Exception) -> None:  # Windows reports a port nobody holds any more
        pass


def _alive(pid) -> bool:
    if not isinstance(pid, int):
        return False
    if os.name != "posix":  # os.kill would end it there; a killed board's file stays until its name is reused
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
