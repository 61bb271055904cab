# machine.UART as MicroPython v1.24 has it on an ESP32 (ports/esp32/machine_uart.c,
# extmod/machine_uart.c, py/stream.c's read/readline/readinto/write), its bytes carried by
# the bench: a TX pin wired (bench `wire TX RX`) to an RX pin loops back, `uart_send PIN HEX`
# is a device talking to the board, `uart_sent PIN` and `uart` events are what it sent.
# Bytes travel at the line's pace (start, data, parity and stop bits at the baud rate); a
# read with a timeout waits on the bench's events pipe, not in a busy loop.
import time

import _esp32_bench as _bench
import _esp32_errno

_NO_CHANGE = -1  # UART_PIN_NO_CHANGE
_DEFAULT_PINS = {0: (-1, -1), 1: (10, 9), 2: (17, 16)}  # (tx, rx); UART(0)'s stay where the REPL has them
_PARITY_NAMES = ("None", "1", "0")
_INV_MASK = 32 | 4 | 64 | 8
_FIRST_NON_OUTPUT = 34
_installed = {}  # uart id -> the IDF driver is installed (UART(0), the REPL's, never is)
_MISSING = object()


def _pin_id(pin):
    import machine

    return machine._pin_id(pin)


def _actual_baud(baud):
    # uart_ll_set_baudrate/get_baudrate on an ESP32: a 20.4 fixed-point divider of APB (80 MHz) x 16
    sclk16 = 80_000_000 << 4
    return sclk16 // max(sclk16 // baud, 1)


def _esp_fail():
    raise OSError(1, "ESP_FAIL")  # check_esp_err(ESP_FAIL): errno -code, the IDF's name


class _UartIRQ:
    def __init__(self, uart):
        self._uart = uart
        self.handler = None

    def __call__(self):
        if self.handler is not None:
            self.handler(self._uart)

    def trigger(self, new=None):
        old = self._uart._irq_trigger
        if new is not None:
            self._uart._irq_trigger = new
        return old

    def flags(self):
        return self._uart._irq_flags


class UART:
    INV_TX = 32  # UART_SIGNAL_TXD_INV
    INV_RX = 4
    INV_RTS = 64
    INV_CTS = 8
    RTS = 1  # UART_HW_FLOWCTRL_RTS
    CTS = 2
    IRQ_RX = 1  # 1 << UART_DATA
    IRQ_RXIDLE = 0x1000
    IRQ_BREAK = 2  # 1 << UART_BREAK

    def __init__(self, id, *args, **kwargs):
        if not isinstance(id, int):
            raise TypeError("can't convert %s to int" % type(id).__name__)
        if id < 0 or id >= 3:
            raise ValueError("UART(%d) does not exist" % id)
        self._id = id
        self._bits, self._parity, self._stop = 8, 0, 1
        self._rts = self._cts = _NO_CHANGE
        self._txbuf = self._rxbuf = 256
        self._timeout = self._timeout_char = 0
        self._invert = self._flow = 0
        self._irq_trigger = self._irq_flags = 0
        self._irq = None
        self._tx, self._rx = _DEFAULT_PINS[id]
        self._baud = _actual_baud(115200)
        if id != 0:  # uart_driver_delete + uart_driver_install: a fresh driver, empty buffers
            _installed[id] = True
            self._configure(fresh=True)
        self.init(*args, **kwargs)

    def init(self, baudrate=0, bits=0, parity=_MISSING, stop=0, *, tx=None, rx=None, rts=None, cts=None,
             txbuf=-1, rxbuf=-1, timeout=-1, timeout_char=-1, invert=-1, flow=-1):
        if self._id and _installed.get(self._id):
            self._wait_tx(1000)  # wait for all data to be transmitted before changing settings
        if txbuf >= 0 or rxbuf >= 0:
            if self._id == 0:
                raise ValueError("UART buffer size is fixed")
            if txbuf >= 0:
                self._txbuf = txbuf & 0xFFFF
            if rxbuf >= 0:
                self._rxbuf = rxbuf & 0xFFFF
            _installed[self._id] = True
            self._configure(fresh=True)
        if baudrate > 0:
            self._baud = _actual_baud(int(baudrate))
        pins = [self._tx, self._rx, self._rts, self._cts]
        for i, value in enumerate((tx, rx, rts, cts)):
            if value is not None:
                pins[i] = value if isinstance(value, int) and value == -1 else _pin_id(value)
        for i in (0, 2):  # uart_set_pin: tx and rts must be able to output
            if pins[i] >= _FIRST_NON_OUTPUT:
                _esp_fail()
        self._tx, self._rx, self._rts, self._cts = pins
        if bits:
            if bits not in (5, 6, 7, 8):
                raise ValueError("invalid data bits")
            self._bits = bits
        if parity is not _MISSING:
            self._parity = 0 if parity is None else (1 if int(parity) & 1 else 2)
        if stop:
            if stop not in (1, 2):
                raise ValueError("invalid stop bits")
            self._stop = stop
        if timeout != -1:
            self._timeout = timeout & 0xFFFF
        if timeout_char != -1:
            self._timeout_char = timeout_char & 0xFFFF
        if invert != -1:
            if invert & ~_INV_MASK:
                raise ValueError("invalid inversion mask")
            self._invert = invert
        if flow != -1:
            if flow & ~3:
                raise ValueError("invalid flow control mask")
            self._flow = flow
        if self._id:
            self._configure()
            if self._tx >= 0:  # the TX line idles high; RX has the pull-up uart_set_pin gives it
                _bench.send("pin_out", self._tx, 1)
                _bench.send("pin_mode", self._tx, 3, -1)
            if self._rx >= 0:
                _bench.send("pin_mode", self._rx, 1, 2)

    def _configure(self, fresh=False):
        frame = 1 + self._bits + (1 if self._parity else 0) + self._stop
        _bench.call("uart_config", self._id, 1 if fresh else 0, self._baud, frame, self._tx, self._rx, self._rxbuf)

    def deinit(self):
        if self._id:
            _installed[self._id] = False
            _bench.call("uart_deinit", self._id)

    def _live(self):
        return self._id != 0 and _installed.get(self._id)

    def any(self):
        if not self._live():
            _esp_fail()
        return _bench.call("uart_any", self._id)

    def _wait_tx(self, limit_ms):
        """uart_wait_tx_done: True once the line is idle, False if limit_ms pass first."""
        if not self._live():
            return False
        left = _bench.call("uart_txdone", self._id)
        if left <= 0:
            return True
        if left * 1000 > limit_ms:
            _bench.wait(limit_ms)
            return False
        _bench.wait_us(int(left * 1_000_000) + 1)
        return True

    def txdone(self):
        return self._live() and _bench.call("uart_txdone", self._id) <= 0

    def flush(self):
        timeout = (3 + self._txbuf) * 13000 * 2 // self._baud
        if not self._wait_tx(timeout):
            raise OSError(_esp32_errno.ETIMEDOUT)

    def sendbreak(self):
        self._wait_tx(1000)
        if self._live():
            _bench.call("uart_break", self._id)
            _bench.wait(int(10 * 15 / 6 * 1000 / self._baud) + 1)  # a 0 at 6/15 of the baud rate

    # -- the stream: uart_read_bytes(size, timeout) under py/stream.c's read loops

    def _read_once(self, size):
        """One uart_read_bytes: up to size bytes within the timeout (None: EAGAIN)."""
        if size <= 0:
            return b""
        if not self._live():
            return None
        out = bytearray()
        deadline = time.ticks_add(time.ticks_ms(), self._timeout)
        while True:
            data, wait = _bench.call("uart_rx", self._id, size - len(out))
            if data:
                out.extend(bytes.fromhex(data))
            if len(out) >= size:
                break
            left = time.ticks_diff(deadline, time.ticks_ms())
            if left <= 0:
                break
            if wait >= 0:
                left = min(left, int(wait) + 1)
            if _bench._poller.poll(left):  # an event: maybe bytes arrived (handlers run meanwhile)
                _bench.dispatch()
        return bytes(out) if out else None

    def _read_n(self, n):
        out = bytearray()
        while len(out) < n:
            chunk = self._read_once(n - len(out))
            if not chunk:
                break
            out.extend(chunk)
        return out

    def read(self, nbytes=-1):
        if nbytes is None or nbytes < 0:
            out = bytearray()
            while True:
                chunk = self._read_once(256)
                if not chunk:
                    break
                out.extend(chunk)
            return bytes(out) if out else None
        if nbytes == 0:
            return b""
        out = self._read_n(nbytes)
        return bytes(out) if out else None

    def readinto(self, buf, nbytes=-1):
        view = memoryview(buf)
        n = len(view) if nbytes is None or nbytes < 0 or nbytes > len(view) else nbytes
        if n == 0:
            return 0
        out = self._read_n(n)
        if not out:
            return None
        view[: len(out)] = out
        return len(out)

    def readline(self):
        out = bytearray()
        while True:
            chunk = self._read_once(1)
            if not chunk:
                if not out:
                    return None
                break
            out.extend(chunk)
            if chunk == b"\n":
                break
        return bytes(out)

    def write(self, buf, *args):
        data = bytes(buf, "utf-8") if isinstance(buf, str) else bytes(memoryview(buf))
        if len(args) == 1:
            data = data[: args[0]]
        elif len(args) == 2:
            data = data[args[0] : args[0] + args[1]]
        if not self._live():
            return None  # uart_write_bytes without a driver: -1, EAGAIN
        if not data:
            return 0
        block = _bench.call("uart_write", self._id, data.hex())
        if block > 0:  # until the rest fits in the TX buffer
            _bench.wait(int(block * 1000))
        return len(data)

    def irq(self, handler=None, trigger=0, hard=False, *args):
        if self._irq is None:
            self._irq_trigger = 0
            self._irq = _UartIRQ(self)
        if handler is not None or trigger or hard or args:
            if handler is not None and not callable(handler):
                raise ValueError("handler must be None or callable")
            unsupported = trigger & ~(UART.IRQ_RX | UART.IRQ_RXIDLE | UART.IRQ_BREAK)
            if trigger != 0 and unsupported:
                raise ValueError("trigger 0x%04x unsupported" % unsupported)
            self._irq.handler = handler
            if hard:
                raise ValueError("hard IRQ is not supported")
            self._irq_trigger = trigger
            if self._id:
                _bench.on("uartrx", self._id, None if handler is None else UART._on_rx, self)
        return self._irq

    def _on_rx(self):
        # bytes arrived (or a burst ended): IRQ_RX while there are any; IRQ_RXIDLE once the line is quiet
        if not self._live() or self._irq is None or self._irq.handler is None:
            return
        waiting = _bench.call("uart_any", self._id)
        flags = 0
        if waiting and self._irq_trigger & UART.IRQ_RX:
            flags = UART.IRQ_RX
        elif waiting and self._irq_trigger & UART.IRQ_RXIDLE and _bench.call("uart_rx", self._id, 0)[1] < 0:
            flags = UART.IRQ_RXIDLE
        if flags:
            self._irq_flags = flags
            self._irq.handler(self)

    def __repr__(self):
        s = "UART(%u, baudrate=%u, bits=%u, parity=%s, stop=%u, tx=%d, rx=%d, rts=%d, cts=%d, txbuf=%u, rxbuf=%u, timeout=%u, timeout_char=%u, irq=%d" % (
            self._id, self._baud, self._bits, _PARITY_NAMES[self._parity], self._stop, self._tx, self._rx,
            self._rts, self._cts, self._txbuf, self._rxbuf, self._timeout, self._timeout_char, self._irq_trigger)
        if self._invert:
            s += ", invert=" + "|".join([n for n, b in (("INV_TX", 32), ("INV_RX", 4), ("INV_RTS", 64), ("INV_CTS", 8)) if self._invert & b])
        if self._flow:
            s += ", flow=" + "|".join([n for n, b in (("RTS", 1), ("CTS", 2)) if self._flow & b])
        return s + ")"
