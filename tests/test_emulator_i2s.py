"""machine.I2S against the bench's microphone and speaker, at the wire's sample rate."""

from __future__ import annotations

import math
import struct

import pytest

from board_helpers import ERRNO, HANG_GUARD_S, error_of, wait_for

MIC = "sck=Pin(32), ws=Pin(25), sd=Pin(33)"
AMP = "sck=Pin(26), ws=Pin(27), sd=Pin(14)"


@pytest.fixture
def fresh(board):
    board.soft_reset()
    board.exec("from machine import I2S, Pin\nimport time")
    return board


def test_i2s_checks_its_arguments_as_v124(fresh):
    assert error_of(fresh, f"I2S(2, {MIC}, mode=I2S.RX, bits=16, format=I2S.MONO, rate=8000, ibuf=4000)") == "ValueError: invalid id"
    assert error_of(fresh, f"I2S(0, {MIC}, mode=I2S.RX, bits=24, format=I2S.MONO, rate=8000, ibuf=4000)") == "ValueError: invalid bits"
    assert error_of(fresh, f"I2S(0, {MIC}, mode=3, bits=16, format=I2S.MONO, rate=8000, ibuf=4000)") == "ValueError: invalid mode"
    assert error_of(fresh, f"I2S(0, {MIC}, mode=I2S.RX, bits=16, format=2, rate=8000, ibuf=4000)") == "ValueError: invalid format"
    fresh.exec(f"rx = I2S(0, {MIC}, mode=I2S.RX, bits=16, format=I2S.STEREO, rate=8000, ibuf=4000)")
    assert fresh.eval("repr(rx)") == "I2S(id=0,\nsck=32,\nws=25,\nsd=33,\nmode=1,\nbits=16, format=1,\nrate=8000, ibuf=4000)"
    assert error_of(fresh, "rx.readinto(bytearray(6))") == f"OSError: [Errno {ERRNO['EINVAL']}] EINVAL"  # not whole frames
    assert error_of(fresh, "rx.write(b'1234')") == f"OSError: [Errno {ERRNO['EPERM']}] EPERM"
    assert error_of(fresh, "rx.irq(5)") == "ValueError: invalid callback"
    fresh.exec("rx.deinit()")


def test_a_microphone_is_heard_at_the_sample_rate(fresh, emulator):
    emulator.bench("add_i2s_mic", 33, 1000, 0.5)
    fresh.exec(f"rx = I2S(0, {MIC}, mode=I2S.RX, bits=16, format=I2S.MONO, rate=16000, ibuf=8000)\n"
               "buf = bytearray(8000)\nt = time.ticks_ms()\nrx.readinto(buf)\nrx.readinto(buf)\nms = time.ticks_diff(time.ticks_ms(), t)")  # fmt: skip
    assert fresh.eval("ms") >= 480  # 8000 frames at 16 kHz are half a second on the wire
    samples = struct.unpack("<1600h", bytes.fromhex(fresh.eval("memoryview(buf)[:3200].hex()")))
    crossings = sum(1 for a, b in zip(samples, samples[1:]) if a < 0 <= b)
    assert crossings == pytest.approx(100, abs=2)  # 1 kHz over 0.1 s
    assert max(samples) == pytest.approx(0.5 * 32767, rel=0.05)
    # nothing on the data line reads silence
    fresh.exec(f"rx.init({AMP}, mode=I2S.RX, bits=32, format=I2S.STEREO, rate=8000, ibuf=2000)\nb32 = bytearray(64)\nrx.readinto(b32)")
    assert fresh.eval("b32.hex()") == "00" * 64
    fresh.exec("rx.deinit()")


def test_a_speaker_plays_what_is_written_and_writes_keep_the_wires_pace(fresh, emulator):
    emulator.bench("add_i2s_speaker", 14)
    # one period of a 500 Hz tone at 16 kHz (32 frames), at half scale
    fresh.exec(f"import math, struct\ntx = I2S(1, {AMP}, mode=I2S.TX, bits=16, format=I2S.MONO, rate=16000, ibuf=4000)\n"
               "tone = struct.pack('<32h', *[int(16383 * math.sin(2 * math.pi * i / 32)) for i in range(32)])\n"
               "t = time.ticks_ms()\nfor _ in range(500):\n    tx.write(tone)\nms = time.ticks_diff(time.ticks_ms(), t)")  # fmt: skip
    # 16000 frames are 1 s on the wire; the last 4000 bytes (2000 frames) wait in ibuf
    assert fresh.eval("ms") >= 850
    played = wait_for(lambda: (p := emulator.bench("i2s_played", 14))["frames"] == 16000 and p)
    assert played["hz"] == pytest.approx(500, abs=5) and played["rms"] == pytest.approx(0.5 / math.sqrt(2), rel=0.05)
    # shift() halves the volume: the speaker hears it
    fresh.exec("loud = bytearray(tone)\nI2S.shift(buf=loud, bits=16, shift=-1)\nfor _ in range(600):\n    tx.write(loud)")
    played = wait_for(lambda: (p := emulator.bench("i2s_played", 14))["frames"] == 16000 + 19200 and p)
    assert played["rms"] == pytest.approx(0.25 / math.sqrt(2), rel=0.05)
    fresh.exec("tx.deinit()")


def test_non_blocking_mode_calls_the_handler_when_the_wire_is_done(fresh, emulator):
    emulator.bench("add_i2s_mic", 33, 200, 0.9)
    fresh.exec(f"rx = I2S(0, {MIC}, mode=I2S.RX, bits=16, format=I2S.MONO, rate=8000, ibuf=4000)\n"
               "done = []\nrx.irq(lambda i2s: done.append(time.ticks_ms()))\nbuf = bytearray(1600)\n"
               "t = time.ticks_ms()\nn = rx.readinto(buf)\nback = time.ticks_diff(time.ticks_ms(), t)")  # fmt: skip
    assert fresh.eval("n") == 1600 and fresh.eval("back") < 100  # returns at once: 800 frames are 100 ms of wire
    fresh.exec(f"for _ in range({HANG_GUARD_S * 100}):\n    if done:\n        break\n    time.sleep_ms(10)")
    assert fresh.eval("time.ticks_diff(done[0], t)") >= 95
    fresh.exec("rx.irq(None)\nrx.deinit()")
