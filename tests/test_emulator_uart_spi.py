"""machine.UART, SPI and SoftSPI of the emulated ESP32 against MicroPython v1.24's ESP32 port
(ports/esp32/machine_uart.c, machine_hw_spi.c, extmod/machine_spi.c), with data through the bench."""

from __future__ import annotations

import time

import pytest

from esp32_kernel.board import Board

from board_helpers import error_of


pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def board(emulator):
    b = Board(emulator.url)
    b.connect()
    b.exec("from machine import Pin, UART, SPI, SoftSPI")
    yield b
    b.close()



def test_uart_constructor_defaults_and_errors(board):
    assert board.eval("repr(UART(1))") == (
        "UART(1, baudrate=115201, bits=8, parity=None, stop=1, tx=10, rx=9, rts=-1, cts=-1, "
        "txbuf=256, rxbuf=256, timeout=0, timeout_char=0, irq=0)"
    )
    assert board.eval("repr(UART(2, 9600, 7, 1, 2, tx=Pin(4), rx=5, invert=UART.INV_TX|UART.INV_RX, flow=UART.RTS))") == (
        "UART(2, baudrate=9600, bits=7, parity=1, stop=2, tx=4, rx=5, rts=-1, cts=-1, "
        "txbuf=256, rxbuf=256, timeout=0, timeout_char=0, irq=0, invert=INV_TX|INV_RX, flow=RTS)"
    )
    # UART(0) is the REPL's: reachable, its pins untouched, its buffers fixed
    assert board.eval("repr(UART(0))").startswith("UART(0, baudrate=115201, bits=8, parity=None, stop=1, tx=-1, rx=-1,")
    assert error_of(board, "UART(0, rxbuf=512)") == "ValueError: UART buffer size is fixed"
    assert error_of(board, "UART(3)") == "ValueError: UART(3) does not exist"
    assert error_of(board, "UART(1, bits=9)") == "ValueError: invalid data bits"
    assert error_of(board, "UART(1, stop=3)") == "ValueError: invalid stop bits"
    assert error_of(board, "UART(1, invert=1)") == "ValueError: invalid inversion mask"
    assert error_of(board, "UART(1, tx=99)") == "ValueError: invalid pin"
    assert error_of(board, "UART(1).irq(print, trigger=0x100)") == "ValueError: trigger 0x0100 unsupported"
    assert board.eval("(UART.IRQ_RX, UART.IRQ_RXIDLE, UART.IRQ_BREAK, UART.INV_TX, UART.INV_RX)") == (1, 0x1000, 2, 32, 4)


def test_uart_loopback_through_a_wire(board, emulator):
    emulator.bench("wire", 4, 5)
    try:
        board.exec("u = UART(2, 115200, tx=4, rx=5, timeout=50)")
        assert board.eval("u.read()") is None  # nothing there: None, as EAGAIN reads
        assert board.eval("(u.write(b'ping\\n'), u.readline(), u.any())") == (5, b"ping\n", 0)
        assert emulator.bench("uart_sent", 4)["data"] == b"ping\n".hex()
        board.exec("buf = bytearray(8); u.write(b'abc')\nn = u.readinto(buf)")
        assert board.eval("(n, bytes(buf[:n]))") == (3, b"abc")
        # wait for the 4 bytes (0.35 ms of line time; longer when the machine is busy)
        board.exec(
            "import time\nu.write('text')\nt = time.ticks_ms()\n"
            "while u.any() < 4 and time.ticks_diff(time.ticks_ms(), t) < 2000:\n    time.sleep_ms(1)"
        )
        assert board.eval("(u.txdone(), u.any(), u.read(2), u.read())") == (True, 4, b"te", b"xt")
        board.exec("u.deinit()")
        assert board.eval("(u.write(b'x'), u.read(1))") == (None, None)  # no driver any more
    finally:
        emulator.bench("unwire", 5)


def test_uart_talks_to_a_bench_device_at_the_line_pace(board, emulator):
    board.exec("u = UART(1, 9600, tx=26, rx=27, timeout=300)")
    started = time.monotonic()
    emulator.bench("uart_send", 27, b"OK 42\r\n".hex())
    assert board.eval("u.readline()") == b"OK 42\r\n"
    # 7 characters of 10 bits at 9600 baud are on the line ~7.3 ms; nothing is lost
    assert time.monotonic() - started < 2
    # a read with a timeout returns when the bytes are in, or after the timeout with what came
    board.exec("import time\nt = time.ticks_ms()\nr = u.read(1)\nms = time.ticks_diff(time.ticks_ms(), t)")
    elapsed = board.eval("(r, ms)")
    assert elapsed[0] is None and 290 <= elapsed[1] < 600
    board.exec("u.write(b'AT\\r\\n')\nu.flush()")
    assert board.eval("u.txdone()") is True
    assert emulator.bench("uart_sent", 26)["data"] == b"AT\r\n".hex()
    # a long write blocks until the rest fits in the TX buffer: 1000 bytes at 9600 baud ~ 0.64 s
    board.exec("t = time.ticks_ms()\nu.write(bytes(1000))\nms = time.ticks_diff(time.ticks_ms(), t)")
    assert 400 <= board.eval("ms") < 1500
    assert board.eval("u.txdone()") is False
    board.exec("u.deinit()")


def test_uart_irq_on_received_data(board, emulator):
    board.exec("u = UART(1, 115200, tx=26, rx=27)\ngot = []\nu.irq(lambda x: got.append(x.read()), UART.IRQ_RX)")
    assert board.eval("repr(u)").endswith("irq=1)")
    emulator.bench("uart_send", 27, b"hello".hex())
    board.exec("__import__('time').sleep_ms(50)")
    assert board.eval("b''.join(got)") == b"hello"
    board.exec("u.irq(None)\nu.deinit()")


def test_spi_hardware_defaults_and_errors(board):
    assert board.eval("repr(SPI(1))") == "SPI(id=1, baudrate=500000, polarity=0, phase=0, bits=8, firstbit=0, sck=14, mosi=13, miso=12)"
    assert board.eval("repr(SPI(2, 10_000_000, polarity=1, phase=1, firstbit=SPI.LSB))") == (
        "SPI(id=2, baudrate=10000000, polarity=1, phase=1, bits=8, firstbit=1, sck=18, mosi=23, miso=19)"
    )
    assert board.eval("SPI(2, 3_000_000).__repr__().split(',')[1]") == " baudrate=2962962"  # what the clock divider gives
    assert error_of(board, "SPI(3)") == "ValueError: SPI(3) doesn't exist"
    assert error_of(board, "SPI(0)") == "ValueError: SPI(0) doesn't exist"
    assert error_of(board, "SPI(1, sck=34)") == "OSError: invalid configuration"
    board.exec("s = SPI(1)")
    assert error_of(board, "s.write(b'')") == "ValueError: buffer too short"
    assert error_of(board, "s.write_readinto(b'ab', bytearray(3))") == "ValueError: buffers must be the same length"
    board.exec("s.deinit()")
    assert error_of(board, "s.read(1)") == "OSError: transfer on deinitialized SPI"


def test_spi_floating_miso_loopback_and_a_scripted_device(board, emulator):
    board.exec("s = SPI(2, 1_000_000)")
    assert board.eval("s.read(3)") == b"\xff\xff\xff"  # nothing drives MISO
    emulator.bench("wire", 23, 19)  # MOSI to MISO
    try:
        assert board.eval("s.read(2, 0x5a)") == b"ZZ"
        board.exec("r = bytearray(4)\ns.write_readinto(b'\\x01\\x02\\x80\\xff', r)")
        assert board.eval("bytes(r)") == b"\x01\x02\x80\xff"
        board.exec("s.init(firstbit=SPI.LSB)\nr = bytearray(2)\ns.write_readinto(b'\\x01\\x02', r)")
        assert board.eval("bytes(r)") == b"\x01\x02"
    finally:
        emulator.bench("unwire", 19)
    emulator.bench("spi_sent", 18)
    board.exec("s.init(firstbit=SPI.MSB)")
    emulator.bench("spi_reply", 18, "9f1234")
    board.exec("s.write(b'\\x9f')")
    assert board.eval("s.read(3)") == b"\x12\x34\xff"
    assert emulator.bench("spi_sent", 18)["data"] == "9f000000"
    # LSB first: the bits go out reversed on the wire
    board.exec("s.init(firstbit=SPI.LSB)\ns.write(b'\\x01')")
    assert emulator.bench("spi_sent", 18)["data"] == "80"
    board.exec("s.deinit()")


def test_softspi(board, emulator):
    assert error_of(board, "SoftSPI()") == "ValueError: must specify all of sck/mosi/miso"
    assert error_of(board, "SoftSPI(sck=1, mosi=2, miso=3, bits=16)") == "ValueError: bits must be 8"
    board.exec("ss = SoftSPI(100_000, sck=Pin(21), mosi=Pin(22), miso=Pin(32))")
    assert board.eval("repr(ss)") == "SoftSPI(baudrate=100000, polarity=0, phase=0, firstbit=0, sck=21, mosi=22, miso=32)"
    assert board.eval("repr(SoftSPI(10_000_000, sck=21, mosi=22, miso=32))").startswith("SoftSPI(baudrate=800000,")
    assert board.eval("ss.read(2)") == b"\xff\xff"
    emulator.bench("set_pin", 32, 0)
    try:
        assert board.eval("ss.read(1)") == b"\x00"
    finally:
        emulator.bench("set_pin", 32, "float")
    emulator.bench("wire", 22, 32)
    try:
        assert board.eval("ss.read(3, 0xa5)") == b"\xa5\xa5\xa5"
    finally:
        emulator.bench("unwire", 32)


def test_spi_transfers_take_their_time_on_the_wire(board):
    """8 clocks a byte at the bus's clock, as on a board: 1000 bytes are 80 ms at 100 kHz."""
    board.exec("from machine import SPI, SoftSPI, Pin\nimport time\n"
               "def took(bus, n):\n    t = time.ticks_us()\n    bus.write(bytes(n))\n    return time.ticks_diff(time.ticks_us(), t)")  # fmt: skip
    slow = board.eval("took(SPI(1, 100_000), 1000)")
    fast = board.eval("took(SPI(1, 20_000_000), 1000)")
    assert slow >= 80_000 and fast < slow  # fast: the bench round trip, under the wire's 0.4 ms or not
    soft = board.eval("took(SoftSPI(baudrate=50_000, sck=Pin(25), mosi=Pin(26), miso=Pin(27)), 100)")
    assert soft >= 100 * 8 * 1_000_000 // 50_000
