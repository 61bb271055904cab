"""The bench: the physical world around the emulated ESP32, as a Python model.

It holds what the chip drives (pin modes, output levels, PWM, DAC) and what the world drives
(levels set from outside, analog sources, push buttons, potentiometers, a thermistor, wires,
WiFi access points), and resolves them into the level and voltage of every GPIO. It does no
I/O: the supervisor feeds it the board's requests and the control channel's commands, and
it reports back through two callbacks: `to_board(line)` (an interrupt for the board:
"irq PIN") and `on_event(dict)` (every change, for the control channel's event stream).

Its world outlives the board's runs; `board_reset()` forgets what the chip had configured,
as a reset does.
"""

from __future__ import annotations

import math
import random
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from ..chip.gpio import INPUT_ONLY, PIN_IDS, PULLED_DOWN_AT_RESET, PULLED_UP_AT_RESET
from . import parts

VDD = 3.3
LOGIC_HIGH_V = 0.75 * VDD  # ESP32 VIH
LOGIC_LOW_V = 0.25 * VDD  # ESP32 VIL

# Pin modes as machine.Pin has them (ESP-IDF gpio_mode_t bits: 1 input, 2 output, 4 open drain)
MODE_IN, MODE_OUT, MODE_OPEN_DRAIN = 1, 3, 7
PULL_DOWN, PULL_UP = 1, 2
IRQ_RISING, IRQ_FALLING = 1, 2

SOURCE_KINDS = ("constant", "sine", "square", "triangle", "noise", "walk")


def unhex(word: str) -> str:
    """A text word of the board's request (firmware/_esp32_bench.text): hex, "-" when empty."""
    return "" if word == "-" else bytes.fromhex(word).decode(errors="replace")


class BenchError(ValueError):
    """A control command that cannot be done; its text is the reply's error."""


@dataclass
class Source:
    """An analog voltage source: what an ADC pin is connected to."""

    kind: str
    offset: float = 1.65  # V: the constant's value, or the waveform's centre
    amplitude: float = 1.0  # V (peak) for waveforms; standard deviation for noise; step for walk
    freq: float = 1.0  # Hz
    started: float = 0.0
    _walk: float = field(default=0.0, repr=False)
    _walk_at: float = field(default=0.0, repr=False)

    def volts(self, now: float, rng: random.Random) -> float:
        t = now - self.started
        kind = self.kind
        if kind == "constant":
            v = self.offset
        elif kind == "sine":
            v = self.offset + self.amplitude * math.sin(2 * math.pi * self.freq * t)
        elif kind == "square":
            v = self.offset + (self.amplitude if (t * self.freq) % 1.0 < 0.5 else -self.amplitude)
        elif kind == "triangle":
            phase = (t * self.freq) % 1.0
            v = self.offset + self.amplitude * (4 * phase - 1 if phase < 0.5 else 3 - 4 * phase)
        elif kind == "noise":
            v = rng.gauss(self.offset, self.amplitude)
        else:  # walk: a random walk around offset, one step of `amplitude` volts per 1/freq s
            steps = int((now - self._walk_at) * self.freq) if self._walk_at else 0
            if not self._walk_at:
                self._walk, self._walk_at = self.offset, now
            for _ in range(min(steps, 1000)):
                self._walk += rng.choice((-1, 1)) * self.amplitude
            if steps:
                self._walk_at += steps / self.freq
            v = self._walk
        return min(max(v, 0.0), VDD)

    def describe(self) -> dict:
        return {"kind": self.kind, "offset": self.offset, "amplitude": self.amplitude, "freq": self.freq}


def _pull_at_reset(pin: int) -> int:
    return PULL_UP if pin in PULLED_UP_AT_RESET else PULL_DOWN if pin in PULLED_DOWN_AT_RESET else 0


@dataclass
class ChipPin:
    """What the chip has configured on one GPIO (forgotten at reset)."""

    mode: int = 0  # 0: not configured (input, no pulls, as after reset)
    pull: int = 0
    out: int = 0
    irq: int = 0
    pwm: tuple[int, int] | None = None  # (freq, duty_u16)
    dac: int | None = None  # 0..255


@dataclass
class AccessPoint:
    ssid: str
    password: str = ""
    bssid: str = ""
    channel: int = 6
    rssi: int = -60
    authmode: int = 3  # WPA2_PSK; 0 for open

    def describe(self, rssi: int) -> dict:
        return {"ssid": self.ssid, "bssid": self.bssid, "channel": self.channel, "rssi": rssi, "authmode": self.authmode, "hidden": False}


@dataclass
class UartPort:
    """A board UART (1 or 2) as the bench sees it: its line settings, pins and received bytes."""

    id: int
    baud: int = 115201
    frame_bits: int = 10  # start + data + parity + stop bits: one character's time on the line
    tx: int = -1
    rx: int = -1
    rxbuf: int = 256
    tx_idle_at: float = 0.0  # when the last written byte has left the TX pin
    arrivals: deque = field(default_factory=deque)  # (time the byte is complete at RX, byte)

    def arrived(self, now: float) -> int:
        n = 0
        for t, _ in self.arrivals:
            if t > now:
                break
            n += 1
        return n


UART_LOG_MAX = 65536  # bytes of what the board sent kept per TX pin (uart_sent)


def _reverse_bits(data: bytes) -> bytes:
    return bytes(int(f"{b:08b}"[::-1], 2) for b in data)


class Recording:
    """Events of the board's pins since record_start, as (time, pin, values…) rows."""

    LIMIT = 200_000  # rows: a 1 kHz square wave for 100 s; more is cut off, and says so

    def __init__(self, start: float, levels: dict[int, int]):
        self.start = round(start, 6)  # as each row's time: one at the start is not after it
        self.levels = levels  # each pin's level at the start
        self.rows: dict[str, list] = {"changes": [], "pwm": [], "adc_reads": []}
        self.size = 0
        self.truncated = False

    def add(self, kind: str, t: float, *values) -> None:
        if self.size >= self.LIMIT:
            self.truncated = True
            return
        self.size += 1
        self.rows[kind].append([round(t, 6), *values])

    def as_dict(self, now: float) -> dict:
        return {"start": self.start, "end": now, "levels": {str(p): v for p, v in self.levels.items()},
                "truncated": self.truncated, **self.rows}  # fmt: skip


class Bench:
    def __init__(
        self,
        to_board: Callable[[str], None] = lambda line: None,
        on_event: Callable[[dict], None] = lambda event: None,
        call_later: Callable[[float, Callable[[], None]], object] | None = None,
        clock: Callable[[], float] = time.monotonic,
        seed: int | None = None,
        labels: dict[str, int] | None = None,
    ):
        self.to_board = to_board
        self.on_event = on_event
        self._call_later = call_later
        self.clock = clock
        self.rng = random.Random(seed)
        self.chip: dict[int, ChipPin] = {}
        self.driven: dict[int, int] = {}  # levels set from outside (set_pin)
        self.sources: dict[int, Source] = {}
        self.buttons: dict[int, dict] = {}  # pin -> {"pressed": bool, "active_low": bool}
        self.pots: dict[int, float] = {}  # pin -> position 0..1 (a divider across 3V3)
        self.thermistors: dict[int, dict] = {}  # pin -> {"celsius", "r25", "beta", "r_fixed"}
        self.leds: dict[int, dict] = {}  # pin -> {"active_low"}
        self.wires: dict[int, int] = {}  # destination pin -> source pin
        self.access_points: dict[str, AccessPoint] = {}
        self.routes: dict[tuple[str, int], tuple[str, int]] = {}  # the board's (host, port) → where it goes
        self.touch: dict[int, int] = {}
        self.rtc_base_ns: int | None = None
        self.rtc_memory = b""
        self.neopixels: dict[int, list] = {}
        self.strips: dict[int, str] = {}  # pin -> byte order of a declared NeoPixel strip ("grb", "grbw", "rgb")
        self.dhts: dict[int, parts.Dht] = {}
        self.microphones: dict[int, parts.I2sMicrophone] = {}  # on the SD pin of an RX I2S
        self.speakers: dict[int, parts.I2sSpeaker] = {}  # on the SD pin of a TX I2S
        self.i2s: dict[int, tuple[int, int, int, int]] = {}  # the board's I2S id -> (sd pin, bits, channels, rate)
        self.onewire: dict[int, parts.OneWireBus] = {}
        self.i2c: dict[int, list] = {}  # SDA pin -> I2C devices on that bus
        self.labels = dict(labels or {})  # the board's pin labels -> GPIO (board_profile.py)
        self.on_change: Callable[[], None] = lambda: None  # after levels may have changed (pin wake from sleep)
        self.touch_thresholds: dict[int, int] = {}
        self.chip_celsius = 53.0  # the die's temperature (esp32.raw_temperature reads it, in °F)
        self._levels: dict[int, int] = {}
        self._led_state: dict[int, float] = {}
        self.uarts: dict[int, UartPort] = {}  # the board's UARTs by id (forgotten at reset)
        self.uart_sent: dict[int, bytearray] = {}  # TX pin -> what the board sent there (uart_sent drains it)
        self._line_busy: dict[int, float] = {}  # RX pin -> when bytes sent into it from outside have all arrived
        self.spi_replies: dict[int, bytearray] = {}  # SCK pin -> bytes a scripted SPI device shifts out next
        self.spi_sent: dict[int, bytearray] = {}  # SCK pin -> what the board clocked out (spi_sent drains it)
        self.recording: Recording | None = None  # what the board did to its pins, for grading (record_start)

    # -- resolving the world into levels and voltages

    def _chip(self, pin: int) -> ChipPin:
        chip = self.chip.get(pin)
        if chip is None:
            chip = self.chip[pin] = ChipPin(pull=_pull_at_reset(pin))
        return chip

    def _drives(self, pin: int) -> bool:
        chip = self.chip.get(pin)
        return chip is not None and (chip.mode & 2 != 0 or chip.pwm is not None or chip.dac is not None)

    def _output_volts(self, pin: int) -> float | None:
        """The voltage the chip itself puts on a pin, or None if it does not drive it."""
        chip = self.chip.get(pin)
        if chip is None:
            return None
        if chip.dac is not None:
            return chip.dac * VDD / 255
        if chip.pwm is not None:
            return chip.pwm[1] / 65535 * VDD  # the average: what an RC filter or an ADC sees
        if chip.mode == MODE_OUT:
            return VDD if chip.out else 0.0
        if chip.mode == MODE_OPEN_DRAIN and not chip.out:
            return 0.0
        return None

    def _external_volts(self, pin: int, now: float) -> float | None:
        """The voltage the world puts on a pin, or None if nothing drives it."""
        source = self.wires.get(pin)
        if source is not None:
            v = self._output_volts(source)
            if v is not None:
                return v
        button = self.buttons.get(pin)
        if button is not None and button["pressed"]:
            return 0.0 if button["active_low"] else VDD
        if pin in self.driven:
            return VDD if self.driven[pin] else 0.0
        if pin in self.sources:
            return self.sources[pin].volts(now, self.rng)
        if pin in self.pots:
            return self.pots[pin] * VDD
        if pin in self.thermistors:
            return self._thermistor_volts(self.thermistors[pin])
        return None

    @staticmethod
    def _thermistor_volts(t: dict) -> float:
        # NTC from the pin to GND, fixed resistor from 3V3 to the pin.
        kelvin = t["celsius"] + 273.15
        r = t["r25"] * math.exp(t["beta"] * (1 / kelvin - 1 / 298.15))
        return VDD * r / (r + t["r_fixed"])

    def volts(self, pin: int, now: float | None = None) -> float:
        now = self.clock() if now is None else now
        own = self._output_volts(pin)
        if own is not None:
            return own
        ext = self._external_volts(pin, now)
        if ext is not None:
            return ext
        chip = self.chip.get(pin)
        pull = chip.pull if chip is not None else _pull_at_reset(pin)
        if pin not in INPUT_ONLY and pull & PULL_UP:
            return VDD
        return 0.0  # pulled down, or floating: reads low here (a real pin may read anything)

    def level(self, pin: int, now: float | None = None) -> int:
        chip = self.chip.get(pin)
        if chip is not None and chip.pwm is not None:
            return 1 if chip.pwm[1] >= 32768 else 0
        return 1 if self.volts(pin, now) >= VDD / 2 else 0

    def _changed(self, pins=None) -> None:
        """Something changed: report level changes and fire the board's pin interrupts."""
        now = self.clock()
        candidates = PIN_IDS if pins is None else pins
        for pin in candidates:
            new = self.level(pin, now)
            old = self._levels.get(pin)
            if old == new:
                continue
            self._levels[pin] = new
            if old is None:
                continue
            if self.recording is not None:
                self.recording.add("changes", now, pin, new)
            self.on_event({"event": "pin", "pin": pin, "level": new, "t": round(now, 6)})
            chip = self.chip.get(pin)
            if chip is not None and chip.irq and ((new and chip.irq & IRQ_RISING) or (not new and chip.irq & IRQ_FALLING)):
                self.to_board(f"irq {pin}")
        self._update_leds()
        self.on_change()

    def _dependents(self, pin: int) -> list[int]:
        return [pin] + [dest for dest, src in self.wires.items() if src == pin]

    def _update_leds(self) -> None:
        for pin, led in self.leds.items():
            chip = self.chip.get(pin)
            if chip is not None and chip.pwm is not None:
                duty = chip.pwm[1] / 65535
            else:
                duty = float(self.level(pin))
            brightness = round(1 - duty if led["active_low"] else duty, 4)
            if self._led_state.get(pin) != brightness:
                self._led_state[pin] = brightness
                self.on_event({"event": "led", "pin": pin, "name": led["name"], "brightness": brightness})

    def snapshot_levels(self) -> None:
        now = self.clock()
        for pin in PIN_IDS:
            self._levels[pin] = self.level(pin, now)

    # -- the board's side

    def board_reset(self) -> None:
        """The chip was reset: its pin configuration, PWM and DAC outputs are gone."""
        self.chip.clear()
        self.uarts.clear()
        self.i2s.clear()
        self._changed()

    def board_request(self, words: list[str]):
        """One request from the board's firmware; returns the answer (JSON-able) or None."""
        command, args = words[0], words[1:]
        handler = getattr(self, "_board_" + command, None)
        if handler is None:
            raise BenchError(f"unknown board request {command!r}")
        return handler(*args)

    def _board_pin_get(self, pin):
        return self.level(int(pin))

    def _board_pin_out(self, pin, value):
        pin = int(pin)
        self._chip(pin).out = int(value)
        self._changed(self._dependents(pin))

    def _board_pin_mode(self, pin, mode, pull):
        pin, mode, pull = int(pin), int(mode), int(pull)
        chip = self._chip(pin)
        if mode != -1:
            chip.mode = mode
            chip.pwm = None
            chip.dac = None
        if pull != -1:
            chip.pull = pull
        self._changed(self._dependents(pin))

    # The GPIO matrix's registers (ESP32 TRM 4.12) as machine.mem32 reads and writes them:
    # per bank (0: GPIO 0-31, 1: GPIO 32-39 in bits 0-7) the output levels, the output
    # enables and the input levels.

    def _board_gpio_regs(self):
        """[out, enable, in] of bank 0, then of bank 1."""
        regs = [0] * 6
        for pin in PIN_IDS:
            base, bit = (0, pin) if pin < 32 else (3, pin - 32)
            chip = self.chip.get(pin)
            if chip is not None and chip.out:
                regs[base] |= 1 << bit
            if chip is not None and chip.mode & 2:  # OUT and OPEN_DRAIN drive the pin
                regs[base + 1] |= 1 << bit
            if self.level(pin):
                regs[base + 2] |= 1 << bit
        return regs

    def _board_gpio_set(self, bank, out, enable):
        """The board wrote bank `bank`'s output or enable register (directly, or by its W1TS
        and W1TC registers): pins whose enable bit is set become outputs at their out bit."""
        bank, out, enable = int(bank), int(out), int(enable)
        touched = []
        for pin in PIN_IDS:
            if (pin >= 32) != bool(bank):
                continue
            bit = pin - 32 * bank
            chip = self._chip(pin)
            drives = bool(enable >> bit & 1) and pin not in INPUT_ONLY
            level = out >> bit & 1
            if chip.out == level and bool(chip.mode & 2) == drives:
                continue
            chip.out = level
            if drives and not chip.mode & 2:
                chip.mode, chip.pwm, chip.dac = MODE_OUT, None, None
            elif not drives and chip.mode & 2:
                chip.mode = MODE_IN
            touched += self._dependents(pin)
        self._changed(touched)

    def _board_pin_drive(self, pin, drive):
        return None

    def _board_pin_hold(self, pin, hold):
        return None

    def _board_pin_irq(self, pin, trigger):
        self._chip(int(pin)).irq = int(trigger)
        self._levels[int(pin)] = self.level(int(pin))

    def _board_pin_wake(self, pin, level):
        return None

    def _board_volts(self, pin):  # an ADC read
        pin = int(pin)
        volts = self.volts(pin)
        if self.recording is not None:
            self.recording.add("adc_reads", self.clock(), pin, round(volts, 4))
        return round(volts, 6)

    def _board_adc_attach(self, pin):
        return None

    def _board_dac(self, pin, value):
        pin = int(pin)
        chip = self._chip(pin)
        chip.dac = int(value)
        self.on_event({"event": "dac", "pin": pin, "value": chip.dac, "volts": round(chip.dac * VDD / 255, 4)})
        self._changed(self._dependents(pin))

    def _board_pwm(self, pin, freq, duty_u16):
        pin = int(pin)
        chip = self._chip(pin)
        chip.pwm = (int(freq), int(duty_u16))
        if self.recording is not None:
            self.recording.add("pwm", self.clock(), pin, *chip.pwm)
        self.on_event({"event": "pwm", "pin": pin, "freq": chip.pwm[0], "duty_u16": chip.pwm[1]})
        self._changed(self._dependents(pin))

    def _board_pwm_off(self, pin):
        pin = int(pin)
        self._chip(pin).pwm = None
        if self.recording is not None:
            self.recording.add("pwm", self.clock(), pin, 0, 0)
        self.on_event({"event": "pwm", "pin": pin, "freq": 0, "duty_u16": 0})
        self._changed(self._dependents(pin))

    def _board_board_pins(self):
        return {}

    def _board_touch(self, pin):
        return self.touch.get(int(pin), 600)

    def _board_rtc_base_ns(self, value=None):
        if value is not None:
            self.rtc_base_ns = int(value)
            return None
        if self.rtc_base_ns is None:  # power-on: the RTC starts at 2000-01-01 00:00:00
            self.rtc_base_ns = time.time_ns()
        return self.rtc_base_ns

    def _board_rtc_us(self):
        return ((time.time_ns() - self._board_rtc_base_ns()) // 1000) % 1_000_000

    def _board_rtc_memory(self, data=None):
        if data is None:
            return self.rtc_memory.hex()
        self.rtc_memory = b"" if data == "-" else bytes.fromhex(data)
        return None

    def _board_bitstream(self, pin, data="-"):
        pin = int(pin)
        raw = b"" if data == "-" else bytes.fromhex(data)
        self.neopixels[pin] = self._decode_strip(raw, self.strips.get(pin, "grb"))
        self.on_event({"event": "neopixel", "pin": pin, "pixels": self.neopixels[pin]})

    @staticmethod
    def _decode_strip(raw: bytes, order: str) -> list:
        """Pixels as [R, G, B] (or [R, G, B, W]) from the bytes on the wire in `order`."""
        bpp = len(order)
        names = "rgbw"[:bpp]
        pixels = []
        for i in range(0, len(raw) - bpp + 1, bpp):
            chunk = raw[i : i + bpp]
            pixels.append([chunk[order.index(c)] for c in names])
        return pixels

    # -- parts that speak a protocol (parts.py)

    def _board_dht_read(self, pin):
        """The 40 bits a DHT answers with after its start signal (hex), or None: no answer."""
        dht = self.dhts.get(int(pin))
        if dht is None:
            return None
        return dht.frame().hex()

    def _bus(self, pin) -> parts.OneWireBus:
        return self.onewire.get(int(pin)) or parts.OneWireBus()

    def _board_ow_reset(self, pin):
        return 1 if self._bus(pin).reset() else 0

    def _board_ow_readbit(self, pin):
        return self._bus(pin).read_bit(self.clock())

    def _board_ow_readbyte(self, pin):
        return self._bus(pin).read_byte(self.clock())

    def _board_ow_writebit(self, pin, bit):
        self._bus(pin).write_bit(int(bit) & 1, self.clock())

    def _board_ow_writebyte(self, pin, value):
        self._bus(pin).write_byte(int(value) & 0xFF, self.clock())

    def _board_i2c(self, sda, addr, data, read):
        """One addressed I2C transfer: [acknowledged, bytes acknowledged, data read (hex)]."""
        now = self.clock()
        for device in self.i2c.get(int(sda), []):
            if device.address == int(addr):
                if not device.ack(now):
                    return [0, 0, ""]
                written = b"" if data == "-" else bytes.fromhex(data)
                acked = device.write(written, now) if written else 0
                return [1, acked, device.read(int(read), now).hex() if int(read) else ""]
        return [0, 0, ""]

    # -- UART and SPI (firmware/_esp32_uart.py, _esp32_spi.py)

    def _board_uart_config(self, uid, fresh, baud, frame_bits, tx, rx, rxbuf):
        uid = int(uid)
        port = self.uarts.get(uid)
        if port is None or fresh == "1":
            port = self.uarts[uid] = UartPort(uid)
        port.baud, port.frame_bits, port.tx, port.rx, port.rxbuf = int(baud), int(frame_bits), int(tx), int(rx), int(rxbuf)

    def _board_uart_deinit(self, uid):
        self.uarts.pop(int(uid), None)

    def _char_time(self, port: UartPort) -> float:
        return port.frame_bits / max(port.baud, 1)

    def _deliver(self, rx_pin: int, data: bytes, start: float, char_time: float) -> list[int]:
        """Bytes on the line into rx_pin from `start`, one per char_time: to every UART listening there."""
        delivered = []
        for port in self.uarts.values():
            if port.rx != rx_pin or port.rx < 0:
                continue
            room = port.rxbuf + 128 - len(port.arrivals)  # the ring buffer and the hardware FIFO; the rest is lost
            for i, byte in enumerate(data[: max(room, 0)]):
                port.arrivals.append((start + (i + 1) * char_time, byte))
            delivered.append(port.id)
            self.to_board(f"uartrx {port.id}")  # wakes a read that waits
            if port.arrivals and self._call_later is not None:  # and again when the last byte is in
                line = f"uartrx {port.id}"
                self._call_later(max(0.0, port.arrivals[-1][0] - self.clock()) + 0.0005, lambda line=line: self.to_board(line))
        return delivered

    def _board_uart_write(self, uid, data):
        """The board wrote bytes: they leave TX at the line's pace. Answers how long write() blocks (s)."""
        port = self.uarts.get(int(uid))
        raw = b"" if data == "-" else bytes.fromhex(data)
        if port is None or not raw:
            return 0
        now = self.clock()
        char_time = self._char_time(port)
        start = max(now, port.tx_idle_at)
        port.tx_idle_at = start + len(raw) * char_time
        if port.tx >= 0:
            log = self.uart_sent.setdefault(port.tx, bytearray())
            log.extend(raw)
            del log[:-UART_LOG_MAX]
            self.on_event({"event": "uart", "pin": port.tx, "uart": port.id, "baud": port.baud, "data": raw.hex(), "t": round(start, 6)})
            for dest in {port.tx} | {d for d, src in self.wires.items() if src == port.tx}:
                self._deliver(dest, raw, start, char_time)
        # write() returns once the rest fits in the TX ring buffer (txbuf) and the 128-byte FIFO
        return max(0.0, port.tx_idle_at - now - (128 + 256) * char_time)

    def _board_uart_txdone(self, uid):
        port = self.uarts.get(int(uid))
        return max(0.0, port.tx_idle_at - self.clock()) if port else 0.0

    def _board_uart_rx(self, uid, nbytes):
        """Up to nbytes that have arrived: [hex, ms until the next byte arrives or -1]."""
        port = self.uarts.get(int(uid))
        if port is None:
            return ["", -1]
        now = self.clock()
        out = bytearray()
        while port.arrivals and len(out) < int(nbytes) and port.arrivals[0][0] <= now:
            out.append(port.arrivals.popleft()[1])
        wait = -1 if not port.arrivals else max(0.0, (port.arrivals[0][0] - now) * 1000)
        return [out.hex(), wait]

    def _board_uart_any(self, uid):
        port = self.uarts.get(int(uid))
        return port.arrived(self.clock()) if port else 0

    def _board_uart_break(self, uid):
        port = self.uarts.get(int(uid))
        if port is not None and port.tx >= 0:
            self.on_event({"event": "uart_break", "pin": port.tx, "uart": port.id})

    def _spi_miso(self, sck: int, mosi: int, miso: int, wire: bytes) -> bytes:
        """What a transfer clocks in on MISO, as bytes on the wire."""
        queued = self.spi_replies.get(sck)
        if queued:  # a scripted device on the bus: its bytes, then 0xff
            out = bytes(queued[: len(wire)]).ljust(len(wire), b"\xff")
            del queued[: len(wire)]
            return out
        if miso < 0:
            return bytes(len(wire))
        if mosi >= 0 and (miso == mosi or self.wires.get(miso) == mosi):  # loopback
            return wire
        if self._external_volts(miso, self.clock()) is None:  # nothing drives MISO: a floating line reads 1s
            chip = self.chip.get(miso)
            if not (chip and chip.pull & PULL_DOWN and not chip.pull & PULL_UP):
                return b"\xff" * len(wire)
        return (b"\xff" if self.level(miso) else b"\x00") * len(wire)

    def _board_spi(self, sck, mosi, miso, lsb_first, data):
        """One SPI transfer of the board's: the bytes read back (hex)."""
        sck, mosi, miso = int(sck), int(mosi), int(miso)
        raw = b"" if data == "-" else bytes.fromhex(data)
        wire = _reverse_bits(raw) if lsb_first == "1" else raw
        back = self._spi_miso(sck, mosi, miso, wire)
        log = self.spi_sent.setdefault(sck, bytearray())
        log.extend(wire)
        del log[:-UART_LOG_MAX]
        self.on_event({"event": "spi", "sck": sck, "mosi": mosi, "miso": miso, "tx": wire.hex(), "rx": back.hex()})
        return (_reverse_bits(back) if lsb_first == "1" else back).hex()

    def _board_chip_temperature(self):
        return self.chip_celsius

    def _board_wifi_active(self, on):
        self.on_event({"event": "wifi", "active": bool(int(on))})

    def _board_wifi_scan(self):
        return [ap.describe(self._rssi(ap)) for ap in self.access_points.values()]

    def _board_wifi_connect(self, ssid_hex, password_hex):
        """The outcome of a station's connect: [status, delay_s, ap or None]."""
        ssid, password = unhex(ssid_hex), unhex(password_hex)
        ap = self.access_points.get(ssid)
        if ap is None:
            return [201, 2.5 + self.rng.random(), None]  # NO_AP_FOUND after a scan's worth
        if ap.authmode and ap.password != password:
            return [202, 1.0 + self.rng.random() * 0.5, None]  # WRONG_PASSWORD after the handshake
        return [1010, 0.8 + self.rng.random() * 0.7, ap.describe(self._rssi(ap))]  # GOT_IP

    def _board_wifi_rssi(self, ssid_hex):
        ap = self.access_points.get(unhex(ssid_hex))
        return None if ap is None else self._rssi(ap)

    def _board_route(self, host_hex, port):
        """Where the board's connection to (host, port) goes: [address, port], or None (as asked)."""
        target = self.routes.get((unhex(host_hex), int(port)))
        return list(target) if target else None

    def _board_i2s_config(self, i2s_id, sd, bits, channels, rate):
        self.i2s[int(i2s_id)] = (int(sd), int(bits), int(channels), int(rate))

    def _board_i2s_rx(self, i2s_id, first, count):
        """Frames of the microphone on the I2S's SD pin (hex); silence when none is there."""
        sd, bits, channels, rate = self.i2s[int(i2s_id)]
        mic = self.microphones.get(sd)
        if mic is None:
            return "00" * (int(count) * bits // 8 * channels)
        return mic.frames(int(first), int(count), rate, bits, channels).hex()

    def _board_i2s_tx(self, i2s_id, data_hex):
        sd, bits, channels, rate = self.i2s[int(i2s_id)]
        speaker = self.speakers.get(sd)
        if speaker is not None:
            speaker.play(bytes.fromhex(data_hex), rate, bits, channels)

    def _rssi(self, ap: AccessPoint) -> int:
        return int(round(ap.rssi + self.rng.gauss(0, 2)))

    # -- the world's side: control commands

    def control(self, words: list[str]) -> dict:
        command = words[0]
        handler = getattr(self, "_control_" + command.replace("-", "_"), None)
        if handler is None:
            raise BenchError(f"unknown command {command!r}")
        try:
            return handler(*words[1:]) or {}
        except TypeError as error:
            raise BenchError(f"{command}: wrong arguments ({error})") from None

    def _gpio(self, text: str) -> int:
        if text in self.labels:
            return self.labels[text]
        try:
            pin = int(text)
        except ValueError:
            raise BenchError(f"not a GPIO number or one of the board's pin labels: {text!r}") from None
        if pin not in PIN_IDS:
            raise BenchError(f"GPIO {pin} does not exist on an ESP32 (valid: 0-23, 25-27, 32-39)")
        return pin

    def _control_set_pin(self, pin, level):
        """set_pin PIN 0|1|float: drive a pin from outside (float: release it)."""
        pin = self._gpio(pin)
        if level in ("float", "none", "-"):
            self.driven.pop(pin, None)
        else:
            self.driven[pin] = 1 if int(level) else 0
        self._changed()
        return {"pin": pin, "level": self.level(pin)}

    def _control_get_pin(self, pin):
        pin = self._gpio(pin)
        chip = self.chip.get(pin)
        return {
            "pin": pin, "level": self.level(pin), "volts": round(self.volts(pin), 4),
            "mode": {0: None, MODE_IN: "in", MODE_OUT: "out", MODE_OPEN_DRAIN: "open_drain"}.get(chip.mode if chip else 0, "other"),
            "pull": {0: None, PULL_UP: "up", PULL_DOWN: "down"}.get(chip.pull if chip else _pull_at_reset(pin), "both"),
            "irq": chip.irq if chip else 0,
            "pwm": list(chip.pwm) if chip and chip.pwm else None,
            "dac": chip.dac if chip else None,
        }  # fmt: skip

    def _control_pins(self):
        return {"pins": {str(p): self.level(p) for p in PIN_IDS}}

    def _control_record_start(self):
        """record_start: record from now on every pin change, PWM setting and ADC read of the
        board, with the time of each (what a grader checks: esp32_kernel/pin_record.py)."""
        now = self.clock()
        self.recording = Recording(now, {pin: self.level(pin, now) for pin in PIN_IDS})
        for pin, chip in self.chip.items():
            if chip.pwm is not None:
                self.recording.add("pwm", now, pin, *chip.pwm)
        return {"start": now}

    def _control_record(self, then="go_on"):
        """record [stop]: what was recorded since record_start (and, with stop, no more)."""
        recording = self.recording
        if recording is None:
            raise BenchError("nothing is being recorded: record_start first")
        if then == "stop":
            self.recording = None
        elif then != "go_on":
            raise BenchError(f"record: unknown {then!r} (record, or record stop)")
        return recording.as_dict(self.clock())

    def _control_set_source(self, pin, kind, *params):
        """set_source PIN KIND [OFFSET [AMPLITUDE [FREQ]]] (volts, volts, Hz); KIND none removes it."""
        pin = self._gpio(pin)
        if kind in ("none", "off"):
            self.sources.pop(pin, None)
            self._changed()
            return {"pin": pin, "source": None}
        if kind not in SOURCE_KINDS:
            raise BenchError(f"unknown source kind {kind!r}; kinds: {', '.join(SOURCE_KINDS)}")
        values = [float(p) for p in params]
        source = Source(kind, *values[:3], started=self.clock())
        if kind == "constant" and not values:
            raise BenchError("set_source PIN constant VOLTS")
        if not 0 <= source.offset <= VDD:
            raise BenchError(f"offset {source.offset} V is outside 0..{VDD} V")
        self.sources[pin] = source
        self._changed()
        return {"pin": pin, "source": source.describe()}

    def _control_set_volts(self, pin, volts):
        return self._control_set_source(pin, "constant", volts)

    def _control_get_volts(self, pin):
        pin = self._gpio(pin)
        return {"pin": pin, "volts": round(self.volts(pin), 6)}

    def _control_add_button(self, pin, polarity="active_low"):
        """add_button PIN [active_low|active_high]: a push button from the pin to GND (or 3V3)."""
        pin = self._gpio(pin)
        self.buttons[pin] = {"pressed": False, "active_low": polarity != "active_high"}
        self._changed()
        return {"pin": pin, "button": self.buttons[pin]}

    def _control_press(self, pin, ms="100"):
        """press PIN [MS]: press the button on PIN and release it after MS (0: hold it down)."""
        pin = self._gpio(pin)
        if pin not in self.buttons:
            self.buttons[pin] = {"pressed": False, "active_low": True}
        self.buttons[pin]["pressed"] = True
        self._changed()
        ms = float(ms)
        if ms > 0 and self._call_later is not None:
            self._call_later(ms / 1000, lambda: self._control_release(str(pin)))
        return {"pin": pin, "pressed": True, "release_after_ms": ms}

    def _control_release(self, pin):
        pin = self._gpio(pin)
        if pin in self.buttons:
            self.buttons[pin]["pressed"] = False
            self._changed()
        return {"pin": pin, "pressed": False}

    def _control_add_pot(self, pin, position="0.5"):
        """add_pot PIN [POSITION]: a potentiometer's wiper (0..1 of 3V3) on PIN."""
        pin = self._gpio(pin)
        position = float(position)
        if not 0 <= position <= 1:
            raise BenchError("a potentiometer's position is from 0 to 1")
        self.pots[pin] = position
        self._changed()
        return {"pin": pin, "position": position, "volts": round(position * VDD, 4)}

    _control_set_pot = _control_add_pot

    def _control_add_thermistor(self, pin, celsius="25", r25="10000", beta="3950", r_fixed="10000"):
        """add_thermistor PIN [CELSIUS [R25 [BETA [R_FIXED]]]]: NTC to GND, R_FIXED to 3V3."""
        pin = self._gpio(pin)
        self.thermistors[pin] = {"celsius": float(celsius), "r25": float(r25), "beta": float(beta), "r_fixed": float(r_fixed)}
        self._changed()
        return {"pin": pin, "volts": round(self._thermistor_volts(self.thermistors[pin]), 4)}

    def _control_set_temperature(self, where, celsius):
        """set_temperature PIN|ROM CELSIUS: what the thermistor, DHT or DS18B20s on PIN (or the DS18B20 with ROM) sense."""
        celsius = float(celsius)
        if len(where) == 16:
            for bus in self.onewire.values():
                for device in bus.devices:
                    if device.rom.hex() == where.lower():
                        device.celsius = celsius
                        return {"rom": device.rom.hex(), "celsius": celsius}
            raise BenchError(f"no DS18B20 with ROM {where}")
        pin = self._gpio(where)
        if pin not in self.thermistors and pin not in self.dhts and pin not in self.onewire:
            raise BenchError(f"no thermistor, DHT or DS18B20 on GPIO {pin}; add one first")
        reply: dict = {"pin": pin}
        if pin in self.thermistors:
            self.thermistors[pin]["celsius"] = celsius
            self._changed()
            reply["volts"] = round(self._thermistor_volts(self.thermistors[pin]), 4)
        if pin in self.dhts:
            self.dhts[pin].celsius = celsius
        for device in self.onewire.get(pin, parts.OneWireBus()).devices:
            device.celsius = celsius
        reply["celsius"] = celsius
        return reply

    def _control_add_led(self, pin, name=None, polarity="active_high"):
        """add_led PIN [NAME [active_high|active_low]]: an LED whose brightness follows the pin (and PWM)."""
        pin = self._gpio(pin)
        self.leds[pin] = {"name": name or f"LED{pin}", "active_low": polarity == "active_low"}
        self._led_state.pop(pin, None)
        self._update_leds()
        return {"pin": pin, "led": self.leds[pin]}

    def _control_leds(self):
        self._update_leds()
        return {"leds": {str(p): {"name": led["name"], "brightness": self._led_state.get(p, 0.0)} for p, led in self.leds.items()}}

    def _control_wire(self, source, destination):
        """wire FROM TO: connect an output (or DAC) pin to another pin."""
        source, destination = self._gpio(source), self._gpio(destination)
        if source == destination:
            raise BenchError("a wire needs two different pins")
        self.wires[destination] = source
        self._changed()
        return {"from": source, "to": destination}

    def _control_unwire(self, destination):
        destination = self._gpio(destination)
        self.wires.pop(destination, None)
        self._changed()
        return {"to": destination}

    def _control_remove(self, pin):
        """remove PIN: take every part, source, wire and outside drive off PIN."""
        pin = self._gpio(pin)
        for table in (self.driven, self.sources, self.buttons, self.pots, self.thermistors, self.leds, self.wires, self.dhts, self.onewire, self.strips, self.i2c, self.spi_replies, self.microphones, self.speakers):
            table.pop(pin, None)
        self._changed()
        return {"pin": pin}

    def _board_touch_config(self, pin, value):
        self.touch_thresholds[int(pin)] = int(value)

    def _control_set_touch(self, pin, value):
        pin = self._gpio(pin)
        self.touch[pin] = int(value)
        self.on_change()
        return {"pin": pin, "touch": self.touch[pin]}

    def _control_add_ap(self, ssid, password="", rssi="-60", channel="6"):
        """add_ap SSID [PASSWORD [RSSI [CHANNEL]]]: a WiFi access point (no password: open)."""
        password = "" if password == "-" else password
        bssid = ":".join(f"{b:02x}" for b in bytes([0x02]) + self.rng.randbytes(5))
        self.access_points[ssid] = AccessPoint(ssid, password, bssid, int(channel), int(rssi), 3 if password else 0)
        return {"ap": self.access_points[ssid].describe(int(rssi))}

    def _control_remove_ap(self, ssid):
        return {"removed": self.access_points.pop(ssid, None) is not None}

    def _control_aps(self):
        return {"aps": [ap.describe(ap.rssi) for ap in self.access_points.values()]}

    def _control_add_i2s_mic(self, sd, hz="440", amplitude="0.5"):
        """add_i2s_mic SD_PIN [HZ [AMPLITUDE]]: a microphone on an I2S data pin hearing a tone."""
        pin = self._gpio(sd)
        self.microphones[pin] = parts.I2sMicrophone(float(hz), float(amplitude))
        return {"pin": pin, "mic": self.microphones[pin].describe()}

    def _control_add_i2s_speaker(self, sd):
        """add_i2s_speaker SD_PIN: an amplifier and speaker on an I2S data pin."""
        pin = self._gpio(sd)
        self.speakers[pin] = parts.I2sSpeaker()
        return {"pin": pin}

    def _control_i2s_played(self, sd):
        """i2s_played SD_PIN: what the speaker on SD_PIN has played (frames, level, tone)."""
        speaker = self.speakers.get(self._gpio(sd))
        if speaker is None:
            raise BenchError(f"no speaker on GPIO {sd}: add_i2s_speaker {sd} first")
        return speaker.describe()

    def _control_route(self, source, target=None):
        """route HOST:PORT [ADDRESS:PORT]: the board's connections to HOST:PORT go to ADDRESS:PORT
        (a server on this computer, say) — without ADDRESS:PORT, they go where they say again."""
        key = self._host_port(source)
        if target is None:
            return {"removed": self.routes.pop(key, None) is not None}
        self.routes[key] = self._host_port(target)
        return {"route": [source, target]}

    def _control_routes(self):
        return {"routes": {f"{h}:{p}": f"{th}:{tp}" for (h, p), (th, tp) in self.routes.items()}}

    @staticmethod
    def _host_port(text):
        host, _, port = text.rpartition(":")
        if not host or not port.isdigit():
            raise BenchError(f"expected HOST:PORT, e.g. pool.ntp.org:123, not {text!r}")
        return host, int(port)

    def _control_neopixels(self, pin):
        """neopixels PIN: the last data sent to the strip on PIN, as [R, G, B(, W)] per pixel."""
        pin = self._gpio(pin)
        return {"pin": pin, "order": self.strips.get(pin, "grb"), "pixels": self.neopixels.get(pin, [])}

    def _control_add_neopixel(self, pin, order="grb"):
        """add_neopixel PIN [grb|grbw|rgb…]: a strip on PIN whose pixels take bytes in ORDER (WS2812: grb)."""
        pin = self._gpio(pin)
        order = order.lower()
        if sorted(order) not in (sorted("rgb"), sorted("rgbw")):
            raise BenchError("a strip's byte order is a permutation of rgb or rgbw, e.g. grb or grbw")
        self.strips[pin] = order
        return {"pin": pin, "order": order}

    def _control_add_dht(self, pin, celsius="22", humidity="45", kind="dht22"):
        """add_dht PIN [CELSIUS [HUMIDITY [dht22|dht11]]]: a DHT sensor's data line on PIN."""
        pin = self._gpio(pin)
        if kind not in ("dht11", "dht22"):
            raise BenchError("a DHT is dht11 or dht22")
        self.dhts[pin] = parts.Dht(kind, float(celsius), float(humidity))
        return {"pin": pin, "dht": self.dhts[pin].describe()}

    def _control_set_humidity(self, pin, humidity):
        pin = self._gpio(pin)
        if pin not in self.dhts:
            raise BenchError(f"no DHT on GPIO {pin}; add_dht {pin} first")
        self.dhts[pin].humidity = float(humidity)
        return {"pin": pin, "dht": self.dhts[pin].describe()}

    def _control_add_ds18b20(self, pin, *args):
        """add_ds18b20 PIN [ROM] [CELSIUS]: a DS18B20 on the 1-Wire bus on PIN (ROM: 16 hex digits,
        or 14 without the CRC; default: one made from the pin and the sensor's place on the bus)."""
        pin = self._gpio(pin)
        bus = self.onewire.setdefault(pin, parts.OneWireBus())
        rom, celsius = None, 21.5
        for arg in args:
            if len(arg) in (14, 16) and all(c in "0123456789abcdefABCDEF" for c in arg):
                rom = bytes.fromhex(arg)
            else:
                celsius = float(arg)
        if rom is None:
            rom = parts.make_rom(bytes([pin, len(bus.devices) + 1, 0x5E, 0x1A, 0x0B, 0x00]))
        elif len(rom) == 7:
            rom = rom + bytes([parts.crc8(rom)])
        elif parts.crc8(rom) != 0:
            raise BenchError(f"ROM {rom.hex()} has a bad CRC (its last byte should be {parts.crc8(rom[:7]):02x})")
        if any(d.rom == rom for d in bus.devices):
            raise BenchError(f"a device with ROM {rom.hex()} is already on GPIO {pin}")
        bus.devices.append(parts.Ds18b20(rom, celsius))
        return {"pin": pin, "rom": rom.hex(), "celsius": celsius, "devices": [d.rom.hex() for d in bus.devices]}

    def _control_add_i2c(self, sda, kind, address=None, *args):
        """add_i2c SDA_PIN 24c32|bh1750 [ADDRESS [LUX]]: an I2C device on the bus whose SDA is SDA_PIN."""
        sda = self._gpio(sda)
        cls = parts.I2C_KINDS.get(kind.lower())
        if cls is None:
            raise BenchError(f"unknown I2C device {kind!r}; kinds: {', '.join(sorted(parts.I2C_KINDS))}")
        kwargs = {} if address is None else {"address": int(address, 0)}
        if cls is parts.Bh1750 and args:
            kwargs["lux"] = float(args[0])
        device = cls(**kwargs)
        bus = self.i2c.setdefault(sda, [])
        if any(d.address == device.address for d in bus):
            raise BenchError(f"address 0x{device.address:02x} is taken on the bus on GPIO {sda}")
        bus.append(device)
        return {"sda": sda, "device": device.describe()}

    def _control_set_lux(self, sda, lux):
        """set_lux SDA_PIN LUX: the light a BH1750 on that bus sees."""
        sda = self._gpio(sda)
        sensors = [d for d in self.i2c.get(sda, []) if isinstance(d, parts.Bh1750)]
        if not sensors:
            raise BenchError(f"no BH1750 on the bus on GPIO {sda}")
        for sensor in sensors:
            sensor.lux = float(lux)
        return {"sda": sda, "lux": float(lux)}

    def _control_i2c_dump(self, sda, address, start="0", length="32"):
        """i2c_dump SDA_PIN ADDRESS [START [LENGTH]]: an EEPROM's bytes (hex)."""
        sda = self._gpio(sda)
        for device in self.i2c.get(sda, []):
            if device.address == int(address, 0) and hasattr(device, "memory"):
                start_n = int(start, 0)
                return {"data": bytes(device.memory[start_n : start_n + int(length, 0)]).hex()}
        raise BenchError(f"no EEPROM at {address} on the bus on GPIO {sda}")

    def _control_uart_send(self, pin, data):
        """uart_send PIN HEX: a device sends bytes into PIN, at the pace of the UART listening there."""
        pin = self._gpio(pin)
        try:
            raw = bytes.fromhex(data)
        except ValueError:
            raise BenchError("uart_send PIN HEX: the data is hex digits, e.g. 68690d0a") from None
        listeners = [p for p in self.uarts.values() if p.rx == pin]
        if not listeners:
            return {"pin": pin, "delivered": [], "bytes": len(raw)}
        char_time = self._char_time(listeners[0])
        start = max(self.clock(), self._line_busy.get(pin, 0.0))
        self._line_busy[pin] = start + len(raw) * char_time
        return {"pin": pin, "delivered": self._deliver(pin, raw, start, char_time), "bytes": len(raw)}

    def _control_uart_sent(self, pin):
        """uart_sent PIN: what the board has sent on its TX pin PIN since last asked (hex)."""
        pin = self._gpio(pin)
        log = self.uart_sent.pop(pin, bytearray())
        return {"pin": pin, "data": bytes(log).hex()}

    def _control_uarts(self):
        return {"uarts": {str(p.id): {"baud": p.baud, "tx": p.tx, "rx": p.rx, "waiting": p.arrived(self.clock())} for p in self.uarts.values()}}

    def _control_spi_reply(self, sck, data):
        """spi_reply SCK HEX: a device on the SPI bus clocked by SCK shifts these bytes out on MISO next."""
        sck = self._gpio(sck)
        try:
            raw = bytes.fromhex(data)
        except ValueError:
            raise BenchError("spi_reply SCK HEX: the data is hex digits") from None
        queued = self.spi_replies.setdefault(sck, bytearray())
        queued.extend(raw)
        return {"sck": sck, "queued": len(queued)}

    def _control_spi_sent(self, sck):
        """spi_sent SCK: what the board clocked out on the bus clocked by SCK since last asked (hex, as on the wire)."""
        sck = self._gpio(sck)
        return {"sck": sck, "data": bytes(self.spi_sent.pop(sck, bytearray())).hex()}

    def _control_set_chip_temperature(self, celsius):
        self.chip_celsius = float(celsius)
        return {"celsius": self.chip_celsius}

    def _control_describe(self):
        return {
            "driven": {str(p): v for p, v in self.driven.items()},
            "sources": {str(p): s.describe() for p, s in self.sources.items()},
            "buttons": {str(p): b for p, b in self.buttons.items()},
            "pots": {str(p): v for p, v in self.pots.items()},
            "thermistors": {str(p): t for p, t in self.thermistors.items()},
            "leds": {str(p): led for p, led in self.leds.items()},
            "wires": {str(d): s for d, s in self.wires.items()},
            "aps": [ap.ssid for ap in self.access_points.values()],
            "routes": self._control_routes()["routes"],
            "dhts": {str(p): d.describe() for p, d in self.dhts.items()},
            "i2s_mics": {str(p): m.describe() for p, m in self.microphones.items()},
            "i2s_speakers": {str(p): s.describe() for p, s in self.speakers.items()},
            "onewire": {str(p): [d.describe() for d in bus.devices] for p, bus in self.onewire.items()},
            "strips": {str(p): order for p, order in self.strips.items()},
            "i2c": {str(p): [d.describe() for d in bus] for p, bus in self.i2c.items()},
        }
