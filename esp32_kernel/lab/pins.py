"""The lab panel's pin view: the emulator's pins from its bench (its event stream, and a
snapshot through the control channel, which never touches the board's REPL, so it runs while
cells run too), or a real board's outputs and levels from its GPIO registers."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from ..chip.gpio import FLASH_PINS, GPIOS

log = logging.getLogger(__name__)

# The GPIOs the pin view shows: the chip's, less those wired to the flash (never queried).
SHOWN = [pin for pin in GPIOS if pin not in FLASH_PINS]
PIN_POLL_WHILE_RUNNING = 1.0  # seconds between emulator pin snapshots while a cell runs
# A real ESP32's GPIO registers (ESP32 TRM, 4.12): out-enable and input levels, 0-31 and 32-39.
# Reading them touches no pin: a Pin() would reconfigure it.
_GPIO_REGS = (0x3FF44020, 0x3FF4403C, 0x3FF4402C, 0x3FF44040)
PIN_QUERY = ("print(repr(tuple(__import__('machine').mem32[a] & 0xffffffff for a in (%s))))"
             % ", ".join(hex(a) for a in _GPIO_REGS))


def pins_from_registers(enable0: int, in0: int, enable1: int, in1: int) -> dict[str, dict[str, Any]]:
    """A real ESP32's pin view from its GPIO registers: outputs (enable bit set) and levels."""
    pins = {}
    for gpio in SHOWN:
        enable, level = (enable0, in0) if gpio < 32 else (enable1, in1)
        bit = gpio % 32
        pins[str(gpio)] = {"mode": "out" if enable >> bit & 1 else None, "level": level >> bit & 1,
                           "volts": None, "pull": None, "irq": 0, "pwm": None, "dac": None}  # fmt: skip
    return pins


def profile_dict(name: str | None, assumed: bool = False) -> dict[str, Any] | None:
    """The board profile (labels ↔ GPIOs, LEDs, buttons) as the pin view wants it."""
    from ..chip import board_profile

    try:
        profile = board_profile.load(name)
    except (ValueError, OSError):
        return None
    return {"id": profile.id, "name": profile.name, "labels": dict(profile.labels), "leds": list(profile.leds),
            "buttons": list(profile.buttons), "assumed": assumed}  # fmt: skip


class PinWatch:
    """Follows the emulator's pins: its bench's event stream (and a cell running) kicks a
    snapshot through the control channel (every pin on one connection), which never
    touches the board's REPL."""

    FIELDS = ("mode", "level", "volts", "pull", "irq", "pwm", "dac")

    def __init__(self, emulator, publish: Callable[[dict], None], running: Callable[[], bool]) -> None:
        self.emulator = emulator
        self.publish = publish
        self.running = running
        self.stopped = threading.Event()
        self.kick = threading.Event()
        self.last: dict | None = None
        self.events_seen = 0
        self.profile: dict | None = None
        self.kick.set()
        threading.Thread(target=self._listen, name="lab-bench-events", daemon=True).start()
        threading.Thread(target=self._poll, name="lab-bench-pins", daemon=True).start()

    def stop(self) -> None:
        self.stopped.set()
        self.kick.set()

    def _alive(self) -> bool:
        return not self.stopped.is_set() and self.emulator.poll() is None

    def _listen(self) -> None:
        while self._alive():
            try:
                for _event in self.emulator.events(timeout=2):
                    if self.stopped.is_set():
                        return
                    self.events_seen += 1
                    self.kick.set()
            except Exception:  # the emulator restarting or gone: look again shortly
                log.debug("bench event stream ended", exc_info=True)
                if self.stopped.wait(1):
                    return

    def _poll(self) -> None:
        while self._alive():
            self.kick.wait(PIN_POLL_WHILE_RUNNING if self.running() else 5.0)
            if self.stopped.wait(0.05):  # let a burst of events settle into one snapshot
                return
            self.kick.clear()
            try:
                message = self.snapshot()
            except Exception:
                log.debug("bench snapshot failed", exc_info=True)
                continue
            if message != self.last:
                self.last = message
                self.publish(message)

    def snapshot(self) -> dict[str, Any]:
        if self.profile is None:
            self.profile = profile_dict(self.emulator.control_many(["status"])[0].get("board")) or {}
        *answers, bench = self.emulator.control_many([f"get_pin {gpio}" for gpio in SHOWN] + ["describe"])
        pins = {str(gpio): {k: info.get(k) for k in self.FIELDS} for gpio, info in zip(SHOWN, answers) if info.get("ok")}
        bench.pop("ok", None)
        return {"source": "emulator", "pins": pins, "bench": bench, "profile": self.profile}
