"""Virtual parts on the bench that speak a protocol: DHT11/DHT22, DS18B20 on a 1-Wire bus,
I2C devices (a 24C32 EEPROM, a BH1750 light sensor), I2S audio (a microphone, a speaker). Pure models, no I/O: the bench calls
them with the board's bus operations and a clock.

Each follows its datasheet where a program can tell: a DS18B20 powers up reading 85 °C and
needs its conversion time; a 24C32 does not acknowledge during its 5 ms write cycle.
"""

from __future__ import annotations

import math
import random
import struct
from collections import deque
from dataclasses import dataclass, field


def crc8(data: bytes) -> int:
    """Dallas/Maxim CRC-8 (x^8 + x^5 + x^4 + 1), as extmod/modonewire.c computes it."""
    crc = 0
    for byte in data:
        for _ in range(8):
            fb = (crc ^ byte) & 1
            if fb:
                crc ^= 0x18
            crc = (crc >> 1) & 0x7F
            if fb:
                crc |= 0x80
            byte >>= 1
    return crc


# -- DHT11 / DHT22


@dataclass
class Dht:
    kind: str = "dht22"  # or "dht11"
    celsius: float = 22.0
    humidity: float = 45.0

    def frame(self) -> bytes:
        """The 5 bytes the sensor sends: humidity, temperature, checksum."""
        if self.kind == "dht11":
            # DHT11: 20-90 %RH, 0-50 °C, integer parts in bytes 0 and 2, tenths of °C in byte 3
            h = min(max(self.humidity, 20.0), 90.0)
            t = min(max(self.celsius, 0.0), 50.0)
            tenths = int(round(t * 10))
            data = bytes([int(round(h)), 0, tenths // 10, tenths % 10])
        else:
            # DHT22 (AM2302): tenths of %RH and of °C, big-endian; bit 15 of the temperature is its sign
            h = int(round(min(max(self.humidity, 0.0), 100.0) * 10))
            t = int(round(min(max(self.celsius, -40.0), 80.0) * 10))
            raw_t = (abs(t) & 0x7FFF) | (0x8000 if t < 0 else 0)
            data = bytes([h >> 8, h & 0xFF, raw_t >> 8, raw_t & 0xFF])
        return data + bytes([sum(data) & 0xFF])

    def describe(self) -> dict:
        return {"kind": self.kind, "celsius": self.celsius, "humidity": self.humidity}


# -- 1-Wire: DS18B20s on a bus

# Conversion time by resolution (config byte): the datasheet's maximum is 93.75/187.5/375/750 ms;
# parts finish sooner, here at 80 % of it, so a program that waits the maximum always sees the result.
_CONVERSION_S = {0x1F: 0.075, 0x3F: 0.15, 0x5F: 0.3, 0x7F: 0.6}


def make_rom(serial: bytes, family: int = 0x28) -> bytes:
    body = bytes([family]) + serial[:6].ljust(6, b"\0")
    return body + bytes([crc8(body)])


@dataclass
class Ds18b20:
    rom: bytes
    celsius: float = 21.5
    # scratchpad state
    t_register: int = 0x0550  # 85 °C: the power-on value, until a conversion is done
    th: int = 0x4B
    tl: int = 0x46
    config: int = 0x7F
    eeprom: tuple = (0x4B, 0x46, 0x7F)
    converting_until: float = 0.0
    pending: int | None = None
    # bus state since the last reset
    state: str = "rom"
    bits: list = field(default_factory=list)
    out: list = field(default_factory=list)
    search_bit: int = 0
    search_phase: int = 0
    received: bytearray = field(default_factory=bytearray)

    def register_for(self, celsius: float) -> int:
        shift = {0x1F: 3, 0x3F: 2, 0x5F: 1, 0x7F: 0}.get(self.config, 0)
        c = min(max(celsius, -55.0), 125.0)
        value = int(round(c * 16)) >> shift << shift
        return value & 0xFFFF

    def scratchpad(self, now: float) -> bytes:
        self.settle(now)
        data = bytes([self.t_register & 0xFF, self.t_register >> 8, self.th, self.tl, self.config, 0xFF, 0x0C, 0x10])
        return data + bytes([crc8(data)])

    def settle(self, now: float) -> None:
        if self.pending is not None and now >= self.converting_until:
            self.t_register, self.pending = self.pending, None

    def rom_bits(self) -> list[int]:
        return [(self.rom[i // 8] >> (i % 8)) & 1 for i in range(64)]

    def reset(self) -> None:
        self.state, self.bits, self.out, self.received = "rom", [], [], bytearray()
        self.search_bit = self.search_phase = 0

    def _send_bytes(self, data: bytes) -> None:
        self.out = [(data[i // 8] >> (i % 8)) & 1 for i in range(len(data) * 8)]

    def read_bit(self, now: float) -> int:
        """What this device puts on the bus in a read slot (1: it leaves the line high)."""
        if self.state == "search":
            if self.search_phase == 0:
                self.search_phase = 1
                return self.rom_bits()[self.search_bit]
            if self.search_phase == 1:
                self.search_phase = 2
                return 1 - self.rom_bits()[self.search_bit]
            return 1
        if self.state == "tx":
            return self.out.pop(0) if self.out else 1
        if self.state == "converting":
            self.settle(now)
            return 0 if self.pending is not None else 1
        return 1

    def write_bit(self, bit: int, now: float) -> None:
        if self.state == "search":
            if self.search_phase != 2:  # a write out of turn: the search is lost
                self.state = "idle"
                return
            if bit != self.rom_bits()[self.search_bit]:
                self.state = "idle"
                return
            self.search_bit += 1
            self.search_phase = 0
            if self.search_bit == 64:
                self.state = "function"
            return
        if self.state in ("rom", "function", "match", "rx"):
            self.bits.append(bit)
            if self.state == "match":
                if len(self.bits) == 64:
                    self.state = "function" if self.bits == self.rom_bits() else "idle"
                    self.bits = []
                return
            if len(self.bits) == 8:
                byte = sum(b << i for i, b in enumerate(self.bits))
                self.bits = []
                if self.state == "rom":
                    self._rom_command(byte)
                elif self.state == "function":
                    self._function_command(byte, now)
                else:
                    self._receive(byte)

    def _rom_command(self, byte: int) -> None:
        if byte == 0xCC:  # SKIP ROM
            self.state = "function"
        elif byte == 0x55:  # MATCH ROM
            self.state = "match"
        elif byte == 0x33:  # READ ROM
            self.state = "tx"
            self._send_bytes(self.rom)
        elif byte == 0xF0 or (byte == 0xEC and self._alarm()):  # SEARCH ROM / ALARM SEARCH
            self.state, self.search_bit, self.search_phase = "search", 0, 0
        else:
            self.state = "idle"

    def _alarm(self) -> bool:
        t = self.t_register - 0x10000 if self.t_register & 0x8000 else self.t_register
        th = self.th - 256 if self.th & 0x80 else self.th
        tl = self.tl - 256 if self.tl & 0x80 else self.tl
        return t >> 4 >= th or t >> 4 <= tl

    def _function_command(self, byte: int, now: float) -> None:
        if byte == 0x44:  # CONVERT T
            self.settle(now)
            self.pending = self.register_for(self.celsius)
            self.converting_until = now + _CONVERSION_S.get(self.config, 0.75)
            self.state = "converting"
        elif byte == 0xBE:  # READ SCRATCHPAD
            self.state = "tx"
            self._send_bytes(self.scratchpad(now))
        elif byte == 0x4E:  # WRITE SCRATCHPAD: TH, TL, config
            self.state, self.received = "rx", bytearray()
        elif byte == 0x48:  # COPY SCRATCHPAD
            self.eeprom = (self.th, self.tl, self.config)
            self.state = "idle"
        elif byte == 0xB8:  # RECALL E2
            self.th, self.tl, self.config = self.eeprom
            self.state = "idle"
        elif byte == 0xB4:  # READ POWER SUPPLY: 1, externally powered
            self.state = "tx"
            self.out = [1]
        else:
            self.state = "idle"

    def _receive(self, byte: int) -> None:
        self.received.append(byte)
        if len(self.received) == 3:
            self.th, self.tl = self.received[0], self.received[1]
            self.config = (self.received[2] & 0x60) | 0x1F
            self.state = "idle"

    def describe(self) -> dict:
        return {"rom": self.rom.hex(), "celsius": self.celsius}


@dataclass
class OneWireBus:
    """Devices on one pin, wired-AND: a read slot reads 0 if any device pulls the line low."""

    devices: list = field(default_factory=list)

    def reset(self) -> bool:
        for device in self.devices:
            device.reset()
        return bool(self.devices)  # a presence pulse

    def read_bit(self, now: float) -> int:
        bit = 1
        for device in self.devices:
            bit &= device.read_bit(now)
        return bit

    def write_bit(self, bit: int, now: float) -> None:
        for device in self.devices:
            device.write_bit(bit, now)

    def read_byte(self, now: float) -> int:
        return sum(self.read_bit(now) << i for i in range(8))

    def write_byte(self, value: int, now: float) -> None:
        for i in range(8):
            self.write_bit((value >> i) & 1, now)


# -- I2C devices


class I2cDevice:
    """A target on an I2C bus. start() is called per addressed transfer; it returns whether the
    device acknowledges its address."""

    address = 0

    def ack(self, now: float) -> bool:
        return True

    def write(self, data: bytes, now: float) -> int:
        """Bytes written by the controller; returns how many were acknowledged."""
        return len(data)

    def read(self, n: int, now: float) -> bytes:
        return b"\xff" * n

    def describe(self) -> dict:
        return {"kind": type(self).__name__, "address": self.address}


class Eeprom24c32(I2cDevice):
    """Microchip/Atmel 24C32: 4 KiB, two address bytes, 32-byte pages, 5 ms write cycle
    during which it does not acknowledge (the datasheet's "acknowledge polling")."""

    SIZE = 4096
    PAGE = 32
    WRITE_CYCLE_S = 0.005

    def __init__(self, address: int = 0x50, data: bytes | None = None):
        self.address = address
        self.memory = bytearray(data if data is not None else b"\xff" * self.SIZE)
        self.pointer = 0
        self.busy_until = 0.0

    def ack(self, now: float) -> bool:
        return now >= self.busy_until

    def write(self, data: bytes, now: float) -> int:
        if len(data) >= 1:
            self.pointer = ((data[0] << 8) | (data[1] if len(data) > 1 else 0)) % self.SIZE
        payload = data[2:]
        if payload:
            page = self.pointer - self.pointer % self.PAGE
            offset = self.pointer % self.PAGE
            for byte in payload:  # writes roll over within the page
                self.memory[page + offset] = byte
                offset = (offset + 1) % self.PAGE
            self.pointer = page + offset
            self.busy_until = now + self.WRITE_CYCLE_S
        return len(data)

    def read(self, n: int, now: float) -> bytes:
        out = bytearray()
        for _ in range(n):  # sequential reads roll over the whole memory
            out.append(self.memory[self.pointer])
            self.pointer = (self.pointer + 1) % self.SIZE
        return bytes(out)

    def describe(self) -> dict:
        return {"kind": "24c32", "address": self.address, "size": self.SIZE}


class Bh1750(I2cDevice):
    """ROHM BH1750FVI ambient light sensor: opcodes for power and modes, a 2-byte reading
    (lux × 1.2 in high-resolution mode), ready after the measurement time."""

    _MEASURE_S = {0x10: 0.12, 0x11: 0.12, 0x13: 0.016, 0x20: 0.12, 0x21: 0.12, 0x23: 0.016}

    def __init__(self, address: int = 0x23, lux: float = 300.0):
        self.address = address
        self.lux = lux
        self.powered = False
        self.mode = None
        self.ready_at = 0.0
        self.value = 0

    def write(self, data: bytes, now: float) -> int:
        for opcode in data:
            if opcode == 0x00:
                self.powered, self.mode = False, None
            elif opcode == 0x01:
                self.powered = True
            elif opcode == 0x07 and self.powered:
                self.value = 0
            elif opcode in self._MEASURE_S and self.powered:
                self.mode = opcode
                self.ready_at = now + self._MEASURE_S[opcode]
        return len(data)

    def read(self, n: int, now: float) -> bytes:
        if self.mode is not None and now >= self.ready_at:
            counts = self.lux * 1.2
            if self.mode in (0x11, 0x21):  # H-resolution mode 2: half-lux steps
                counts *= 2
            self.value = min(int(counts), 0xFFFF)
            if self.mode >= 0x20:  # one-time modes power down after measuring
                self.powered, self.mode = False, None
            elif self.mode is not None:
                self.ready_at = now + self._MEASURE_S[self.mode]
        raw = bytes([self.value >> 8, self.value & 0xFF])
        return (raw + b"\xff" * n)[:n]

    def describe(self) -> dict:
        return {"kind": "bh1750", "address": self.address, "lux": self.lux}


I2C_KINDS = {"24c32": Eeprom24c32, "eeprom": Eeprom24c32, "bh1750": Bh1750}


# -- I2S audio: a MEMS microphone (INMP441-like) and an amplifier with a speaker (MAX98357A-like)


def _sample_format(bits: int) -> tuple[str, int]:
    return ("<h", 32767) if bits == 16 else ("<i", 2**31 - 1)


@dataclass
class I2sMicrophone:
    """A tone of `hz` at `amplitude` (of full scale) with a little noise, on both channels."""

    hz: float = 440.0
    amplitude: float = 0.5
    noise: float = 0.002
    rng: random.Random = field(default_factory=lambda: random.Random(7), repr=False)

    def frames(self, first: int, count: int, rate: int, bits: int, channels: int) -> bytes:
        """Frames first … first+count-1 of the stream (frame k is at k / rate seconds)."""
        fmt, full = _sample_format(bits)
        out = bytearray()
        step = 2 * math.pi * self.hz / rate
        for k in range(first, first + count):
            value = self.amplitude * math.sin(step * k) + self.rng.gauss(0, self.noise)
            sample = struct.pack(fmt, int(max(-1.0, min(1.0, value)) * full))
            out += sample * channels
        return bytes(out)

    def describe(self) -> dict:
        return {"hz": self.hz, "amplitude": self.amplitude}


@dataclass
class I2sSpeaker:
    """What the board played: how many frames, their level, and the tone's frequency (from the
    zero crossings of the first channel), over the whole stream and its last second."""

    frames: int = 0
    rate: int = 0
    bits: int = 16
    channels: int = 1
    recent: deque = field(default_factory=lambda: deque(maxlen=48000), repr=False)

    def play(self, data: bytes, rate: int, bits: int, channels: int) -> None:
        fmt, full = _sample_format(bits)
        size = struct.calcsize(fmt)
        self.rate, self.bits, self.channels = rate, bits, channels
        for offset in range(0, len(data) - size * channels + 1, size * channels):
            self.recent.append(struct.unpack_from(fmt, data, offset)[0] / full)
            self.frames += 1

    def describe(self) -> dict:
        last = list(self.recent)[-self.rate:] if self.rate else []
        rms = math.sqrt(sum(v * v for v in last) / len(last)) if last else 0.0
        ups = [i for i in range(1, len(last)) if last[i - 1] < 0 <= last[i]]  # upward zero crossings
        hz = (len(ups) - 1) * self.rate / (ups[-1] - ups[0]) if len(ups) > 1 else 0.0  # whole periods between them
        return {"frames": self.frames, "seconds": self.frames / self.rate if self.rate else 0.0, "rate": self.rate,
                "bits": self.bits, "channels": self.channels, "rms": round(rms, 4),
                "peak": round(max((abs(v) for v in last), default=0.0), 4), "hz": round(hz, 1)}  # fmt: skip
