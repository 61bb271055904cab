# machine.SPI (hardware: 1 = HSPI, 2 = VSPI) and machine.SoftSPI as MicroPython v1.24 has them
# on an ESP32 (ports/esp32/machine_hw_spi.c, extmod/machine_spi.c, drivers/bus/softspi.c).
# Each transfer is one round trip to the bench: MOSI wired to MISO echoes, a device scripted
# with `spi_reply SCK HEX` answers, a MISO nothing drives reads 0xff. It returns when the bits
# would have left at the bus's clock.
import _esp32_bench as _bench
from _esp32_frozen import builtin_import

_clock = builtin_import("time")

MSB = 0
LSB = 1
_DEFAULT_PINS = {1: (14, 13, 12), 2: (18, 23, 19)}  # (sck, mosi, miso): the IO_MUX pins of SPI2/SPI3
_FIRST_NON_OUTPUT = 34
_APB = 80_000_000
_MISSING = object()


def _pin_id(pin):
    import machine

    return machine._pin_id(pin)


def _actual_clock(hz):
    # spi_get_actual_clock(APB, hz, 0): spi_ll_master_cal_clock's search for pre (1-8192) and n (2-64)
    hz = max(int(hz), 1)
    if hz > _APB // 4 * 3:
        return _APB
    best_n = best_pre = -1
    best_err = 0
    for n in range(2, 65):
        pre = ((_APB // n) + hz // 2) // hz
        pre = min(max(pre, 1), 8192)
        err = abs(_APB // (pre * n) - hz)
        if best_n == -1 or err <= best_err:
            best_err, best_n, best_pre = err, n, pre
    return _APB // (best_pre * best_n)


def _transfer(sck, mosi, miso, firstbit, data, hz):
    """The bytes MISO brought, once the transfer has taken its time on the wire (8 clocks a
    byte at hz): a board's SPI calls return when the last bit is out."""
    started = _clock.ticks_us()
    got = bytearray()
    view = memoryview(data)
    for at in range(0, len(view), _bench.CHUNK):
        part = bytes(view[at : at + _bench.CHUNK]).hex()
        got += bytes.fromhex(_bench.call("spi", sck, mosi, miso, 1 if firstbit == LSB else 0, part))
    left = len(data) * 8_000_000 // hz - _clock.ticks_diff(_clock.ticks_us(), started)
    if left > 0:
        _clock.sleep_us(left)  # the unix port's: no handlers run during a transfer, as on a board
    return got


def _bus_pins(sck, mosi, miso, polarity):
    if sck >= 0:
        _bench.send("pin_out", sck, polarity)
        _bench.send("pin_mode", sck, 3, -1)
    if mosi >= 0:
        _bench.send("pin_mode", mosi, 3, -1)
    if miso >= 0:
        _bench.send("pin_mode", miso, 1, -1)


class _SPIBase:
    MSB = MSB
    LSB = LSB

    def read(self, nbytes, write=0x00):
        buf = bytearray(bytes([write & 0xFF]) * nbytes)
        self._xfer(buf, buf)
        return bytes(buf)

    def readinto(self, buf, write=0x00):
        view = memoryview(buf)
        out = bytearray(bytes([write & 0xFF]) * len(view))
        self._xfer(out, out)
        view[:] = out

    def write(self, buf):
        self._xfer(bytes(memoryview(buf)), None)

    def write_readinto(self, write_buf, read_buf):
        src = memoryview(write_buf)
        dest = memoryview(read_buf)
        if len(src) != len(dest):
            raise ValueError("buffers must be the same length")
        got = bytearray(len(src))
        self._xfer(bytes(src), got)
        dest[:] = got


class SPI(_SPIBase):
    _all = {}

    def __new__(cls, id=_MISSING, *args, **kwargs):
        if id is _MISSING:
            raise TypeError("'id' argument required")
        if id == -1:  # MP_MACHINE_SPI_CHECK_FOR_LEGACY_SOFTSPI_CONSTRUCTION
            print("Warning: SPI(-1, ...) is deprecated, use SoftSPI(...) instead")
            return SoftSPI(*args, **kwargs)
        if not isinstance(id, int):
            raise TypeError("can't convert %s to int" % type(id).__name__)
        if id not in _DEFAULT_PINS:
            raise ValueError("SPI(%d) doesn't exist" % id)
        self = SPI._all.get(id)
        if self is None:
            self = object.__new__(cls)
            self._id = id
            self._state = 0  # NONE, INIT (1), DEINIT (2)
            self._baudrate = self._polarity = self._phase = self._bits = self._firstbit = 0
            self._sck = self._mosi = self._miso = -1
            SPI._all[id] = self
        self._new = True
        return self

    def __init__(self, id=_MISSING, baudrate=-1, *, polarity=-1, phase=-1, bits=-1, firstbit=-1, sck=_MISSING, mosi=_MISSING, miso=_MISSING):
        if not isinstance(self, SPI) or not getattr(self, "_new", False):
            return
        self._new = False
        defaults = _DEFAULT_PINS[id]
        self._init(
            500000 if baudrate == -1 else baudrate, 0 if polarity == -1 else polarity, 0 if phase == -1 else phase,
            8 if bits == -1 else bits, MSB if firstbit == -1 else firstbit,
            [self._pin(p, d) for p, d in zip((sck, mosi, miso), defaults)],
        )  # fmt: skip

    @staticmethod
    def _pin(value, default):
        if value is _MISSING:
            return default
        if value is None:
            return -1
        return _pin_id(value)

    def init(self, baudrate=-1, *, polarity=-1, phase=-1, bits=-1, firstbit=-1, sck=_MISSING, mosi=_MISSING, miso=_MISSING):
        pins = [-2 if p is _MISSING else self._pin(p, -1) for p in (sck, mosi, miso)]
        self._init(baudrate, polarity, phase, bits, firstbit, pins)

    def _init(self, baudrate, polarity, phase, bits, firstbit, pins):
        changed = self._state != 1
        old = (self._sck, self._mosi, self._miso)
        if baudrate != -1:
            actual = _actual_clock(baudrate)
            if actual != self._baudrate:
                self._baudrate, changed = actual, True
        for name, value in (("_polarity", polarity), ("_phase", phase), ("_bits", bits), ("_firstbit", firstbit)):
            if value != -1 and value != getattr(self, name):
                setattr(self, name, value)
                changed = True
        for name, value in zip(("_sck", "_mosi", "_miso"), pins):
            if value != -2 and value != getattr(self, name):
                setattr(self, name, value)
                changed = True
        if not changed:
            return
        if self._state == 1:
            self._state = 2
            self._release(old)
        # spi_bus_initialize: clock and MOSI must be able to output
        if self._sck >= _FIRST_NON_OUTPUT or self._mosi >= _FIRST_NON_OUTPUT or not 0 < self._bits <= 64:
            raise OSError("invalid configuration")
        _bus_pins(self._sck, self._mosi, self._miso, self._polarity)
        self._state = 1

    @staticmethod
    def _release(pins):
        for pin in pins:  # the pins go back to plain GPIO inputs
            if pin >= 0:
                _bench.send("pin_mode", pin, 1, -1)

    def deinit(self):
        if self._state == 1:
            self._state = 2
            self._release((self._miso, self._mosi, self._sck))

    def _xfer(self, src, dest):
        if self._state == 2:
            raise OSError("transfer on deinitialized SPI")
        if not len(src) * 8 // self._bits * self._bits:
            raise ValueError("buffer too short")
        got = _transfer(self._sck, self._mosi, self._miso, self._firstbit, src, self._baudrate)
        if dest is not None:
            dest[:] = got

    def __repr__(self):
        return "SPI(id=%u, baudrate=%u, polarity=%u, phase=%u, bits=%u, firstbit=%u, sck=%d, mosi=%d, miso=%d)" % (
            self._id, self._baudrate, self._polarity, self._phase, self._bits, self._firstbit, self._sck, self._mosi, self._miso)


def _max_soft_baudrate():
    import machine

    return machine.freq() // 1_000_000 * 1_000_000 // 200  # MICROPY_HW_SOFTSPI_MAX_BAUDRATE


def _delay_half(baudrate):
    if baudrate >= _max_soft_baudrate():
        return 0  # MICROPY_HW_SOFTSPI_MIN_DELAY: as fast as the CPU goes
    baudrate = max(int(baudrate), 1)
    return 500000 // baudrate + (1 if 500000 % baudrate else 0)


class SoftSPI(_SPIBase):
    def __init__(self, baudrate=500000, *, polarity=0, phase=0, bits=8, firstbit=MSB, sck=None, mosi=None, miso=None):
        self._delay_half = _delay_half(baudrate)
        self._polarity, self._phase = polarity, phase
        if bits != 8:
            raise ValueError("bits must be 8")
        self._firstbit = firstbit
        if sck is None or mosi is None or miso is None:
            raise ValueError("must specify all of sck/mosi/miso")
        self._sck, self._mosi, self._miso = _pin_id(sck), _pin_id(mosi), _pin_id(miso)
        _bus_pins(self._sck, self._mosi, self._miso, self._polarity)

    def init(self, baudrate=-1, polarity=-1, phase=-1, *, firstbit=-1, sck=None, mosi=None, miso=None):
        if baudrate != -1:
            self._delay_half = _delay_half(baudrate)
        if polarity != -1:
            self._polarity = polarity
        if phase != -1:
            self._phase = phase
        if firstbit != -1:
            self._firstbit = firstbit
        if sck is not None:
            self._sck = _pin_id(sck)
        if mosi is not None:
            self._mosi = _pin_id(mosi)
        if miso is not None:
            self._miso = _pin_id(miso)
        _bus_pins(self._sck, self._mosi, self._miso, self._polarity)

    def deinit(self):
        pass

    def _xfer(self, src, dest):
        if not len(src):
            return
        got = _transfer(self._sck, self._mosi, self._miso, self._firstbit, src, self._baudrate())
        if dest is not None:
            dest[:] = got

    def _baudrate(self):
        return _max_soft_baudrate() if self._delay_half == 0 else 500000 // self._delay_half

    def __repr__(self):
        return "SoftSPI(baudrate=%u, polarity=%u, phase=%u, firstbit=%u, sck=%u, mosi=%u, miso=%u)" % (
            self._baudrate(), self._polarity, self._phase, self._firstbit, self._sck, self._mosi, self._miso)
