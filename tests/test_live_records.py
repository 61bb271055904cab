"""The live data channel: the board's `nb` module, the record codec, and the timeline."""

from __future__ import annotations

import ast
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esp32_kernel.device import compact, source
from esp32_kernel.live import records
from esp32_kernel.live.frames import Frame, OutputDemux
from esp32_kernel.live.records import Batch, RecordError, Timeline, decode, encode

MICROPYTHON = Path(sys.executable).with_name("micropython")
DEVICE_DIR = Path(records.__file__).resolve().parent.parent / "device"


def frames_and_text(*chunks: bytes) -> tuple[list[Frame], str]:
    demux = OutputDemux()
    pieces = [p for c in chunks for p in demux.feed(c)] + demux.flush()
    return [p for p in pieces if isinstance(p, Frame)], "".join(p for p in pieces if isinstance(p, str))


# The device side ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in DEVICE_DIR.glob("*.py") if p.name != "__init__.py"))
def test_compacted_device_code_is_the_same_program(name):
    text = (DEVICE_DIR / name).read_text()
    assert ast.dump(ast.parse(compact(text))) == ast.dump(ast.parse(text))
    assert len(compact(text)) < len(text)


def run_on_micropython(code: str) -> bytes:
    """Run the kernel's helpers and then `code` on the real MicroPython unix port."""
    program = source("kernel_helpers.py") + code
    return subprocess.run([str(MICROPYTHON), "-c", program], capture_output=True, timeout=60, check=True).stdout


needs_micropython = pytest.mark.skipif(not MICROPYTHON.exists(), reason="no MicroPython unix port here")


@needs_micropython
def test_emit_batches_samples_into_frames_that_decode_in_order():
    out = run_on_micropython(
        "from nb import emit, flush\n"
        "print('before')\n"
        "for i in range(1000):\n"
        "    emit(adc=i, temp=i / 4, ok=i % 2 == 0, none=None)\n"
        "flush()\n"
        "print('after')\n"
    )
    frames, text = frames_and_text(out)
    assert text == "before\nafter\n"
    assert all(b"\n" not in f.payload and b"\x04" not in f.payload for f in frames)
    batches = [decode(f.payload) for f in frames]
    assert 1 < len(batches) < 1000  # batched, not a frame per sample
    assert [b.seq for b in batches] == list(np.cumsum([0] + [len(b) for b in batches[:-1]]))
    values = np.concatenate([b.values for b in batches])
    names = batches[0].names
    assert sorted(names) == ["adc", "none", "ok", "temp"]
    column = {name: values[:, i] for i, name in enumerate(names)}
    assert column["adc"].tolist() == list(range(1000))
    assert column["temp"].tolist() == [i / 4 for i in range(1000)]
    assert column["ok"].tolist() == [float(i % 2 == 0) for i in range(1000)]
    assert np.isnan(column["none"]).all()
    placed = Timeline().place(batches[0])
    assert np.all(np.diff(placed.t) >= 0)


@needs_micropython
def test_emit_positional_values_and_changing_names():
    out = run_on_micropython(
        "from nb import emit, flush\n"
        "emit(1.5, 2.5)\nemit(a=1)\nemit(a=2)\nemit(b=3)\nflush()\n"
    )
    frames, text = frames_and_text(out)
    batches = [decode(f.payload) for f in frames]
    assert [(b.seq, b.names, b.values.tolist()) for b in batches] == [
        (0, ("value 1", "value 2"), [[1.5, 2.5]]),
        (1, ("a",), [[1.0], [2.0]]),
        (3, ("b",), [[3.0]]),
    ]


@needs_micropython
def test_nb_config_sets_the_batch_and_the_first_sample_goes_out_at_once():
    out = run_on_micropython(
        "import nb\n"
        "print(nb.config(period_ms=1000, batch=10))\n"
        "for i in range(25):\n"
        "    nb.emit(x=i)\n"
        "print('end')\n"
    )
    frames, text = frames_and_text(out)
    assert text == "(1000.0, 10)\nend\n"
    # the first sample leaves at once (no frame for a while), then full batches of 10
    assert [len(decode(f.payload)) for f in frames] == [1, 10, 10]


# The codec -------------------------------------------------------------------------------------

names_st = st.lists(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True), min_size=1, max_size=5, unique=True)
number_st = st.one_of(st.integers(-(10**9), 10**9), st.floats(allow_nan=False, allow_infinity=False, width=32))


@st.composite
def batches(draw):
    names = draw(names_st)
    rows = draw(st.lists(st.tuples(st.integers(0, 10**6), *[number_st] * len(names)), min_size=1, max_size=20))
    rows[0] = (0, *rows[0][1:])
    return draw(st.integers(0, 2**40)), draw(st.integers(0, 2**31)), names, rows


@settings(max_examples=200, deadline=None, derandomize=True)
@given(batches())
def test_encode_decode_round_trip(batch):
    seq, t0, names, rows = batch
    frame = encode(seq, t0, names, rows)
    (got,), text = frames_and_text(frame)
    assert text == ""
    decoded = decode(got.payload)
    assert (decoded.seq, decoded.t0_us, decoded.names) == (seq, t0 % records.TICKS_PERIOD_US, tuple(names))
    assert decoded.dt_us.tolist() == [r[0] for r in rows]
    assert np.allclose(decoded.values, np.array([r[1:] for r in rows], dtype=float), rtol=1e-12)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.one_of(batches(), st.text(alphabet=st.characters(blacklist_characters="\x1e\x1f\r"), max_size=30)), max_size=6),
       st.lists(st.integers(0, 2000), max_size=10))
def test_records_never_leak_into_text_however_the_stream_is_split(items, cuts):
    stream = b"".join(encode(*i) if isinstance(i, tuple) else i.encode() for i in items)
    expected_text = "".join(i for i in items if isinstance(i, str))
    points = sorted({min(c, len(stream)) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)])]
    frames, text = frames_and_text(*chunks)
    assert text == expected_text
    assert [decode(f.payload).seq for f in frames] == [i[0] for i in items if isinstance(i, tuple)]


@pytest.mark.parametrize("payload", [b"", b"1 2", b"x 2 a;0,1", b"1 2 a;0,1;3", b"1 2 a,b;0,1", b"1 2 a;-5,1", b"1 2 a;"])
def test_malformed_records_raise_record_error(payload):
    with pytest.raises(RecordError):
        decode(payload)


def test_garbage_values_become_nan_not_errors():
    batch = decode(b"0 0 a,b;0,None,True;5,oops,False")
    assert np.isnan(batch.values[0, 0]) and batch.values[0, 1] == 1.0
    assert np.isnan(batch.values[1, 0]) and batch.values[1, 1] == 0.0


# The timeline ----------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def batch(seq: int, t0: int, n: int = 3, dt: int = 1000) -> Batch:
    return Batch(seq, t0 % records.TICKS_PERIOD_US, ("a",), np.array([0] + [dt] * (n - 1)), np.arange(n, dtype=float).reshape(n, 1))


def test_timeline_follows_the_board_clock_and_counts_gaps_and_restarts():
    clock = Clock()
    timeline = Timeline(wall=clock)
    first = timeline.place(batch(0, 5_000))
    assert first.t.tolist() == [1000.0, 1000.001, 1000.002]
    clock.now += 0.5  # the link is late: the board's clock decides
    second = timeline.place(batch(3, 8_000))
    assert second.t[0] == pytest.approx(1000.003) and second.lost == 0
    third = timeline.place(batch(10, 20_000))
    assert third.lost == 4 and timeline.lost == 4 and timeline.gap_count == 1
    restarted = timeline.place(batch(0, 42))
    assert restarted.restarted and timeline.restarts == 1
    assert restarted.t[0] == clock.now  # anchored afresh
    assert "4 lost in 1 gap" in timeline.summary() and "1 restart" in timeline.summary()


def test_timeline_unwraps_the_30_bit_ticks_even_after_a_long_silence():
    clock = Clock()
    timeline = Timeline(wall=clock)
    period = records.TICKS_PERIOD_US
    timeline.place(batch(0, period - 1500))
    clock.now += 0.01
    wrapped = timeline.place(batch(3, 500))  # 2 ms later, across the wrap
    assert wrapped.t[0] - 1000.0 == pytest.approx(0.002)
    clock.now += 2.5 * period / 1e6  # silent for 2.5 wrap periods (about 45 minutes)
    later = timeline.place(batch(6, 500 + period // 2))
    expected = 1000.002 + 2.5 * period / 1e6
    assert later.t[0] == pytest.approx(expected, abs=0.01)
    assert math.isclose(later.t[1] - later.t[0], 0.001)
