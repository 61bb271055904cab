"""Finding ESP32 boards among this machine's serial ports by their USB bridge's VID:PID."""

from __future__ import annotations

from dataclasses import dataclass

from serial.tools import list_ports

# USB-to-UART bridges found on ESP32 boards, and Espressif's own USB.
KNOWN_BRIDGES: dict[tuple[int, int | None], str] = {
    (0x10C4, 0xEA60): "Silicon Labs CP210x",
    (0x10C4, 0xEA70): "Silicon Labs CP2105",
    (0x1A86, 0x7523): "WCH CH340",
    (0x1A86, 0x55D4): "WCH CH9102",
    (0x1A86, 0x55D3): "WCH CH343",
    (0x0403, 0x6001): "FTDI FT232R",
    (0x0403, 0x6010): "FTDI FT2232",
    (0x0403, 0x6014): "FTDI FT232H",
    (0x0403, 0x6015): "FTDI FT231X",
    (0x303A, None): "Espressif USB",
}


@dataclass(frozen=True)
class PortInfo:
    device: str
    description: str
    vid: int | None
    pid: int | None
    bridge: str | None  # the known ESP32 bridge this looks like, if any

    @property
    def vid_pid(self) -> str:
        return f"{self.vid:04X}:{self.pid:04X}" if self.vid is not None and self.pid is not None else "-"


def _bridge(vid: int | None, pid: int | None) -> str | None:
    if vid is None:
        return None
    return KNOWN_BRIDGES.get((vid, pid)) or KNOWN_BRIDGES.get((vid, None))


def list_serial_ports() -> list[PortInfo]:
    """Every serial port of this machine, likely ESP32 boards first."""
    ports = [
        PortInfo(p.device, p.description or "", p.vid, p.pid, _bridge(p.vid, p.pid))
        for p in list_ports.comports()
    ]
    return sorted(ports, key=lambda p: (p.bridge is None, p.device))


def find_boards() -> list[PortInfo]:
    """Ports whose USB bridge is one ESP32 boards use."""
    return [p for p in list_serial_ports() if p.bridge]
