"""machine.I2S as v1.24's extmod/machine_i2s.c and ports/esp32/machine_i2s.c: I2S(0) and I2S(1),
TX and RX, 16 or 32 bits, MONO or STEREO, blocking and non-blocking (irq) modes, shift().

The data line is the bench's: an RX reads the microphone on the SD pin (silence without one),
a TX plays into the speaker there. The wire's clock is kept: the stream runs at `rate` frames a
second from init(); a blocking readinto returns once the frames it asks for have come in (an
RX that reads late has lost what overflowed its `ibuf`), a blocking write returns once what it
gives fits in `ibuf` behind what is still to play. A non-blocking call returns at once and its
irq handler runs when the wire is done with the buffer.
"""

import time

import _esp32_bench
import _esp32_errno
from machine import _pin_id

RX = 1
TX = 2
MONO = 0
STEREO = 1
_TIMER_KEY = 8  # + the I2S id: one-shot timers for the irq, beside machine.Timer's 0-3
# The wire's clock: the host's, in ns (ticks wrap within a long stream's life; the board's
# time.time_ns() follows the RTC, which a user may set while the stream runs)
_clock_ns = getattr(time, "_builtin", time).time_ns


class I2S:
    RX = RX
    TX = TX
    MONO = MONO
    STEREO = STEREO
    _all = {}

    def __new__(cls, id, *args, **kwargs):
        if not isinstance(id, int) or not 0 <= id <= 1:
            raise ValueError("invalid id")
        self = I2S._all.get(id)
        if self is None:
            self = object.__new__(cls)
            self._id = id
            self._mode = None
            I2S._all[id] = self
        else:
            self.deinit()
        return self

    def __init__(self, id, *, sck, ws, sd, mode, bits, format, rate, ibuf):
        self._init(sck, ws, sd, mode, bits, format, rate, ibuf)

    def init(self, *, sck, ws, sd, mode, bits, format, rate, ibuf):
        self.deinit()
        self._init(sck, ws, sd, mode, bits, format, rate, ibuf)

    def _init(self, sck, ws, sd, mode, bits, format, rate, ibuf):
        pins = [_pin_id(p) for p in (sck, ws, sd)]
        if mode not in (RX, TX):
            raise ValueError("invalid mode")
        if bits not in (16, 32):
            raise ValueError("invalid bits")
        if format not in (MONO, STEREO):
            raise ValueError("invalid format")
        self._sck, self._ws, self._sd = pins
        self._mode, self._bits, self._format, self._rate, self._ibuf = mode, bits, format, rate, ibuf
        self._frame = bits // 8 * (2 if format == STEREO else 1)  # bytes of one frame in a buffer
        self._handler = None
        self._started = _clock_ns()
        self._position = 0  # frames read (RX) or queued to play (TX), counted from init
        _esp32_bench.send("i2s_config", self._id, self._sd, bits, 2 if format == STEREO else 1, rate)

    def deinit(self):
        if self._mode is not None:
            _esp32_bench.on("timer", _TIMER_KEY + self._id, None)
            _esp32_bench.send("timer_stop", _TIMER_KEY + self._id)
            self._mode = None

    def __repr__(self):
        return "I2S(id=%u,\nsck=%u,\nws=%u,\nsd=%u,\nmode=%u,\nbits=%u, format=%u,\nrate=%d, ibuf=%d)" % (
            self._id, self._sck, self._ws, self._sd, self._mode, self._bits, self._format, self._rate, self._ibuf)  # fmt: skip

    def _wire(self):
        """Frames the wire has carried since init."""
        return (_clock_ns() - self._started) * self._rate // 1_000_000_000

    def _wait_until(self, frame):
        _esp32_bench.wait_us((frame - self._wire()) * 1_000_000 // self._rate + 1)

    def readinto(self, buf):
        if self._mode != RX:
            raise OSError(_esp32_errno.EPERM)
        view = memoryview(buf)
        if len(view) % self._frame:
            raise OSError(_esp32_errno.EINVAL)
        count = len(view) // self._frame
        if not count:
            return 0
        lost = self._wire() - self._ibuf // self._frame
        self._position = max(self._position, lost)  # frames that overflowed ibuf are gone
        first = self._position
        self._position += count
        for start in range(0, len(view), _esp32_bench.CHUNK):  # (fetched first: the wait takes in its time)
            n = min(_esp32_bench.CHUNK, len(view) - start) // self._frame
            data = _esp32_bench.call("i2s_rx", self._id, first + start // self._frame, n)
            view[start : start + n * self._frame] = bytes.fromhex(data)
        if self._handler is None:
            self._wait_until(self._position)
        self._done_later()
        return len(view)

    def write(self, buf):
        if self._mode != TX:
            raise OSError(_esp32_errno.EPERM)
        view = memoryview(buf)
        if not len(view):
            return 0
        self._position = max(self._position, self._wire())  # an empty queue played silence
        for start in range(0, len(view), _esp32_bench.CHUNK):  # (sent first: the wait takes in its time)
            _esp32_bench.send("i2s_tx", self._id, bytes(view[start : start + _esp32_bench.CHUNK]).hex())
        if self._handler is None:  # until it fits behind what is still to play
            self._wait_until(self._position + (len(view) - self._ibuf) // self._frame)
        self._position += len(view) // self._frame
        self._done_later()
        return len(view)

    def _done_later(self):
        """Non-blocking mode: the handler runs once the wire is done with the buffer."""
        if self._handler is not None:
            us = max((self._position - self._wire()) * 1_000_000 // self._rate, 1)
            _esp32_bench.send("timer_start", _TIMER_KEY + self._id, us, 0)

    def irq(self, handler):
        if handler is not None and not callable(handler):
            raise ValueError("invalid callback")
        self._handler = handler
        _esp32_bench.on("timer", _TIMER_KEY + self._id, handler, self)

    @staticmethod
    def shift(*, buf, bits, shift):
        if bits not in (16, 32):
            raise ValueError("invalid bits")
        view = memoryview(buf)
        size = bits // 8
        for at in range(0, len(view) - size + 1, size):
            value = int.from_bytes(view[at : at + size], "little")
            if value >= 1 << (bits - 1):
                value -= 1 << bits
            value = value << shift if shift >= 0 else value >> -shift
            view[at : at + size] = (value & ((1 << bits) - 1)).to_bytes(size, "little")
