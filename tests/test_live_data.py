"""Plotted lines, bounded series, peak-keeping decimation, DataFrames and CSV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from esp32_kernel.live.frames import Frame
from esp32_kernel.live.hub import LiveData
from esp32_kernel.live.lines import LineSplitter, parse_line
from esp32_kernel.live.records import encode
from esp32_kernel.live.store import Decimator, SeriesBuffer


@pytest.mark.parametrize(
    "line, values",
    [
        ("temp:21.5,hum:40", {"temp": 21.5, "hum": 40.0}),
        ("temp: 21.5, hum: 40", {"temp": 21.5, "hum": 40.0}),
        ("a:1\tb:-2 c:3e2", {"a": 1.0, "b": -2.0, "c": 300.0}),
        ("1.5 2.5", {"value 1": 1.5, "value 2": 2.5}),
        ("42", {"value 1": 42.0}),
        ("x:1, 7", {"x": 1.0, "value 1": 7.0}),
        ("  -.5\t", {"value 1": -0.5}),
        ("hello", None),
        ("temperature is 21", None),
        ("x:abc", None),
        (":5", None),
        ("", None),
        ("1,2,three", None),
    ],
)
def test_parse_line(line, values):
    assert parse_line(line) == values


def split_lines(text: str, cuts: list[int]) -> list[str]:
    points = sorted({min(c, len(text)) for c in cuts})
    splitter = LineSplitter()
    return [line for a, b in zip([0, *points], [*points, len(text)]) for line in splitter.feed(text[a:b])]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(["temp:21.5,hum:40", "1 2 3", "text", "", "a:1\tb:2", "x:-1e3"]), max_size=8),
       st.sampled_from(["\n", "\r\n"]), st.lists(st.integers(0, 200), max_size=8))
def test_lines_are_the_same_however_the_text_is_split(lines, end, cuts):
    text = "".join(line + end for line in lines)
    assert split_lines(text, cuts) == lines


def test_a_line_without_its_end_waits():
    splitter = LineSplitter()
    assert splitter.feed("a:1\nb:") == ["a:1"]
    assert splitter.feed("2") == []
    assert splitter.feed("\r") == []
    assert splitter.feed("\n") == ["b:2"]


def test_series_buffer_keeps_the_newest_samples():
    buffer = SeriesBuffer(5)
    for start in range(0, 12, 3):
        r = np.arange(start, start + 3)
        buffer.append(r, r * 1.0, r * 10.0)
    rows, t, v = buffer.arrays()
    assert rows.tolist() == [7, 8, 9, 10, 11] and v.tolist() == [70, 80, 90, 100, 110]
    assert buffer.dropped == 7
    big = np.arange(100)
    buffer.append(big, big * 1.0, big * 1.0)
    assert buffer.arrays()[0].tolist() == [95, 96, 97, 98, 99]


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=400), st.lists(st.integers(1, 400), max_size=6))
def test_decimation_keeps_every_buckets_peaks_in_time_order(values, cuts):
    t = np.arange(len(values)) * 0.01
    v = np.array(values)
    width = 0.1  # 10 samples a bucket
    decimator = Decimator(width=width)
    out_t: list[float] = []
    out_v: list[float] = []
    points = sorted({min(c, len(v)) for c in cuts})
    for a, b in zip([0, *points], [*points, len(v)]):
        ot, ov = decimator.push(t[a:b], v[a:b])
        out_t += ot
        out_v += ov
    ot, ov = decimator.flush()
    out_t += ot
    out_v += ov
    assert out_t == sorted(out_t)
    buckets = np.floor(t / width)
    for bucket in np.unique(buckets):
        inside = buckets == bucket
        shown = [val for tt, val in zip(out_t, out_v) if np.floor(tt / width) == bucket]
        assert 1 <= len(shown) <= 3
        assert v[inside].max() in shown and v[inside].min() in shown


def test_decimation_by_count_bounds_the_points():
    decimator = Decimator(count=100)
    t = np.arange(10_000) * 1e-3
    v = np.sin(t * 50)
    v[5_555] = 99.0  # a one-sample spike
    out_t, out_v = decimator.push(t, v)
    assert len(out_t) <= 300 and 99.0 in out_v


class Clock:
    now = 5000.0

    def __call__(self):
        return self.now


def test_hub_collects_records_and_lines_into_a_dataframe_and_csv(tmp_path):
    data = LiveData(wall=Clock())
    data.on_frame(Frame("D", encode(0, 0, ["a", "b"], [(0, 1, 10), (1000, 2, 20)])[2:-1]))
    data.on_frame(Frame("D", encode(5, 3000, ["a"], [(0, 3)])[2:-1]))  # 3 samples lost
    data.on_frame(Frame("D", b"garbage"))
    data.on_text("temp:21.5\n")  # line plotting is off: ignored
    data.set_lines("cell")
    data.on_text("temp:21")
    data.on_text(".5,hum:40\nnot data\n")
    data.cell_ended()
    data.on_text("temp:99\n")  # off again
    frame = data.frame()
    assert list(frame.columns) == ["t", "a", "b", "temp", "hum"]
    assert frame["a"].tolist()[:3] == [1, 2, 3]
    assert frame["b"].tolist()[:2] == [10, 20] and np.isnan(frame["b"].iloc[2])
    assert frame["t"].tolist()[:3] == pytest.approx([0, 0.001, 0.003])
    assert frame["temp"].dropna().tolist() == [21.5] and frame["hum"].dropna().tolist() == [40]
    assert isinstance(frame.index, pd.DatetimeIndex)
    summary = data.summary()
    assert "3 samples" in summary and "3 lost in 1 gap" in summary and "1 corrupt record" in summary
    assert "1 plotted lines" in summary
    path = data.to_csv(tmp_path / "run.csv", "a")
    back = pd.read_csv(path, index_col="time", parse_dates=True)
    assert back["a"].tolist() == [1, 2, 3]
    with pytest.raises(KeyError, match="no series 'nope'"):
        data.frame("nope")
    data.clear()  # forgets the samples and every counter
    assert (data.names(), data.frames_seen, data.first_arrival) == ([], 0, 0.0)
    assert data.summary().startswith("0 samples")


def test_hub_memory_is_bounded_per_series():
    data = LiveData(capacity=1000)
    for seq in range(0, 50_000, 500):
        rows = [(0 if i == 0 else 100, i, -i) for i in range(500)]
        data.on_frame(Frame("D", encode(seq, seq * 100, ["x", "y"], rows)[2:-1]))
    assert len(data.frame()) == 1000
    assert data.timeline.received == 50_000 and data.timeline.lost == 0
    assert "oldest" in data.summary()
