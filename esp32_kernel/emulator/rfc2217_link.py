"""The emulated board's UART served over RFC 2217 (telnet with serial-port control), which,
unlike a plain socket, carries the modem lines: a client's DTR and RTS drive the auto-reset
circuit of a DevKitC-style board (esptool's reset into download mode, %reset --hard's RTS).

pyserial's own `PortManager` speaks the protocol; `ModemLines` is the serial port it manages:
the USB-serial bridge's settings and control lines, which the board sees through its
auto-reset transistors.
"""

from __future__ import annotations

import asyncio
from typing import Callable

import serial.rfc2217


class ModemLines:
    """The bridge side of the board's UART: settings a client may set and read back, and the
    DTR/RTS lines, reported to `on_change(dtr, rts)` whenever one changes."""

    def __init__(self, on_change: Callable[[bool, bool], None]) -> None:
        self._on_change = on_change
        self._dtr = False
        self._rts = False
        self.baudrate = 115200
        self.bytesize = 8
        self.parity = "N"
        self.stopbits = 1
        self.xonxoff = False
        self.rtscts = False
        self.break_condition = False
        # inputs from the board's side: a DevKitC's bridge has CTS/DSR/RI/CD unconnected
        self.cts = self.dsr = self.ri = self.cd = False

    @property
    def dtr(self) -> bool:
        return self._dtr

    @dtr.setter
    def dtr(self, value: bool) -> None:
        self._dtr = bool(value)
        self._on_change(self._dtr, self._rts)

    @property
    def rts(self) -> bool:
        return self._rts

    @rts.setter
    def rts(self, value: bool) -> None:
        self._rts = bool(value)
        self._on_change(self._dtr, self._rts)

    def reset_input_buffer(self) -> None:  # PURGE_DATA: nothing is buffered on this side
        pass

    def reset_output_buffer(self) -> None:
        pass


def auto_reset_pins(dtr: bool, rts: bool) -> tuple[bool, bool]:
    """(EN low, GPIO0 low) for the DevKitC's two-transistor auto-reset circuit: RTS pulls EN
    low and DTR pulls GPIO0 low, each only while the other is not asserted, so a terminal
    that asserts both (pyserial's default) resets nothing."""
    return rts and not dtr, dtr and not rts


class Rfc2217Client(asyncio.Protocol):
    """One RFC 2217 client of the supervisor, in place of a plain TCP one."""

    def __init__(self, supervisor) -> None:
        self._supervisor = supervisor
        self._accepted = False
        self._manager: serial.rfc2217.PortManager | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        host, port = transport.get_extra_info("peername")[:2]
        self.peer = f"rfc2217 {host}:{port}"
        self._accepted = self._supervisor._client_connected(self)
        lines = ModemLines(self._supervisor.set_modem_lines if self._accepted else lambda dtr, rts: None)
        self._manager = serial.rfc2217.PortManager(lines, transport)  # it writes telnet answers to the transport

    def data_received(self, data: bytes) -> None:
        payload = b"".join(self._manager.filter(data))
        if self._accepted and payload:
            self._supervisor._client_sends(payload)

    def send(self, data: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(b"".join(self._manager.escape(data)))

    def refuse(self, message: bytes) -> None:
        self.transport.write(message)
        asyncio.get_running_loop().call_later(2.0, self.transport.close)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._accepted:
            self._supervisor.set_modem_lines(False, False)  # a closed port drops DTR and RTS
            self._supervisor._client_disconnected(self)
