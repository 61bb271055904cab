# machine.I2C and machine.SoftI2C as MicroPython v1.24 has them on an ESP32
# (ports/esp32/machine_i2c.c, extmod/machine_i2c.c), against the bench's I2C devices: a
# device answers on the bus whose SDA pin it is wired to. Re-exported by machine.
import _esp32_bench as _bench
import _esp32_errno

_DEFAULT_PINS = {0: (18, 19), 1: (25, 26)}  # (scl, sda): MICROPY_HW_I2C0_*, MICROPY_HW_I2C1_*


def _pin_id(pin):
    import machine

    return machine._pin_id(pin)


class _I2CBase:
    def _transfer(self, addr, write=b"", read=0, stop=True):
        """One addressed transfer: [ack, acked_bytes, data_hex] from the bench."""
        answer = _bench.call("i2c", self._sda, int(addr) & 0x7F, bytes(write).hex() or "-", int(read))
        if not answer[0]:
            raise OSError(_esp32_errno.ENODEV)
        return answer

    def scan(self):
        found = []
        for addr in range(0x08, 0x78):
            if _bench.call("i2c", self._sda, addr, "-", 0)[0]:
                found.append(addr)
        return found

    def writeto(self, addr, buf, stop=True):
        return self._transfer(addr, memoryview(buf))[1]

    def writevto(self, addr, vector, stop=True):
        data = b"".join([bytes(memoryview(b)) for b in vector])
        return self._transfer(addr, data)[1]

    def readfrom_into(self, addr, buf, stop=True):
        view = memoryview(buf)
        data = bytes.fromhex(self._transfer(addr, b"", len(view))[2])
        view[: len(data)] = data

    def readfrom(self, addr, nbytes, stop=True):
        buf = bytearray(nbytes)
        self.readfrom_into(addr, buf, stop)
        return bytes(buf)

    def _memaddr(self, memaddr, addrsize):
        if addrsize not in (8, 16, 24, 32):
            raise ValueError("invalid addrsize")
        n = addrsize // 8
        return bytes([(memaddr >> (8 * (n - 1 - i))) & 0xFF for i in range(n)])

    def readfrom_mem_into(self, addr, memaddr, buf, *, addrsize=8):
        view = memoryview(buf)
        # write the memory address, repeated start, read (one bench request)
        data = bytes.fromhex(self._transfer(addr, self._memaddr(memaddr, addrsize), len(view))[2])
        view[: len(data)] = data

    def readfrom_mem(self, addr, memaddr, nbytes, *, addrsize=8):
        buf = bytearray(nbytes)
        self.readfrom_mem_into(addr, memaddr, buf, addrsize=addrsize)
        return bytes(buf)

    def writeto_mem(self, addr, memaddr, buf, *, addrsize=8):
        self._transfer(addr, self._memaddr(memaddr, addrsize) + bytes(memoryview(buf)))

    # The primitive operations (extmod/machine_i2c.c): the hardware I2C has none, as on a
    # board; SoftI2C's below.

    def start(self):
        raise OSError("I2C operation not supported")

    stop = start

    def readinto(self, buf, nack=True):
        self.start()

    def write(self, buf):
        self.start()


class _Primitives:
    """SoftI2C's start/write/readinto/stop, bit-banged on a board. The bench's devices answer
    whole transfers (address, bytes written, bytes read), so a transfer is gathered here: the
    address byte after start() picks the device (ACKed if it is there); written bytes go out at
    stop(), or, before a repeated start, with the read that follows (as readfrom_mem's
    write-then-read does)."""

    _device = None  # the device addressed since the last start()
    _reading = False
    _sent = b""  # bytes written to it since then
    _carried = (None, b"")  # (device, bytes) written before a repeated start

    def start(self):
        if self._device is not None and not self._reading and self._sent:
            self._carried = (self._device, self._sent)  # a repeated start: they go with what follows
        else:
            self._send_carried()
        self._device, self._reading, self._sent = None, False, b""

    def stop(self):
        if self._device is not None and not self._reading:
            self._transfer(self._device, self._carried[1] + self._sent)
            self._carried = (None, b"")
        self._send_carried()
        self._device, self._reading, self._sent = None, False, b""

    def write(self, buf):
        data = bytes(memoryview(buf))
        acks = 0
        if data and self._device is None:  # the address byte: 7 bits and R/W
            if self._carried[0] not in (None, data[0] >> 1):
                self._send_carried()  # a repeated start to another device
            if not _bench.call("i2c", self._sda, data[0] >> 1, "-", 0)[0]:
                return 0  # no ACK: nothing is there
            self._device, self._reading, data, acks = data[0] >> 1, bool(data[0] & 1), data[1:], 1
        self._sent += data
        return acks + len(data)

    def readinto(self, buf, nack=True):
        view = memoryview(buf)
        if self._device is None or not self._reading:
            view[:] = b"\xff" * len(view)  # nobody drives SDA: the pull-up reads 1s
            return
        data = bytes.fromhex(self._transfer(self._device, self._carried[1], len(view))[2])
        self._carried = (None, b"")
        view[: len(data)] = data

    def _send_carried(self):
        device, carried = self._carried
        if device is not None and carried:
            self._transfer(device, carried)
        self._carried = (None, b"")


class I2C(_I2CBase):
    _all = {}

    def __new__(cls, id, *, scl=None, sda=None, freq=400000, timeout=50000):
        if isinstance(id, int) and id not in _DEFAULT_PINS or not isinstance(id, int):
            raise ValueError("I2C(%s) doesn't exist" % id)
        self = I2C._all.get(id)
        if self is None:
            self = object.__new__(cls)
            self._id = id
            self._scl, self._sda = _DEFAULT_PINS[id]
            I2C._all[id] = self
        return self

    def __init__(self, id, *, scl=None, sda=None, freq=400000, timeout=50000):
        self.init(scl=scl, sda=sda, freq=freq, timeout=timeout)

    def init(self, *, scl=None, sda=None, freq=400000, timeout=50000):
        if scl is not None:
            self._scl = _pin_id(scl)
        if sda is not None:
            self._sda = _pin_id(sda)
        self._freq = int(freq)
        for pin in (self._scl, self._sda):  # open drain with the internal pull-ups
            _bench.send("pin_mode", pin, 7, 2)
            _bench.send("pin_out", pin, 1)

    def __repr__(self):
        return "I2C(%u, scl=%u, sda=%u, freq=%u)" % (self._id, self._scl, self._sda, self._freq)


class SoftI2C(_Primitives, _I2CBase):
    def __init__(self, scl, sda, *, freq=400000, timeout=50000):
        self._scl, self._sda = _pin_id(scl), _pin_id(sda)
        self._freq, self._timeout = int(freq), int(timeout)
        for pin in (self._scl, self._sda):
            _bench.send("pin_mode", pin, 7, -1)
            _bench.send("pin_out", pin, 1)

    def init(self, scl, sda, *, freq=400000, timeout=50000):
        self.__init__(scl, sda, freq=freq, timeout=timeout)

    def __repr__(self):
        return "SoftI2C(scl=%u, sda=%u, freq=%u)" % (self._scl, self._sda, self._freq)
