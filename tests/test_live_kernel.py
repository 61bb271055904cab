"""Live data through the real kernel: jupyter_client → kernel → emulated ESP32 → Bokeh comm messages."""

from __future__ import annotations

import json
import queue
import time

import pytest

from kernel_harness import HANG_GUARD, fails, run_cell, running_kernel


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    with running_kernel(tmp_path_factory.mktemp("live")) as kernel:
        yield kernel


@pytest.fixture
def kc(kernel):
    kc = kernel[1]
    assert run_cell(kc, "%%host\nlive.stop(); live.clear(); live.lines('off')").status == "ok"
    return kc


class PlotMessages:
    """The Bokeh document patches a plot widget sent, decoded: streamed points per series."""

    def __init__(self, kc, run) -> None:
        views = [m for m in run.of_type("display_data") if "application/vnd.jupyter.widget-view+json" in m["content"]["data"]]
        assert views, "the cell showed no widget"
        self.comm_id = views[-1]["content"]["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
        self.kc = kc
        self.names: dict[str, str] = {}  # ColumnDataSource id → series name
        self.points: dict[str, list[tuple[float, float]]] = {}
        self.texts: list[str] = []  # the text under the plot, as it changed
        self.parts: list[str] = []
        self.take(run.messages)

    def take(self, messages) -> None:
        for msg in messages:
            content = msg["content"]
            if msg["msg_type"] == "comm_open" and content["comm_id"] == self.comm_id:
                self._walk(content["data"].get("state", {}).get("render_bundle", {}))
            if msg["msg_type"] != "comm_msg" or content["comm_id"] != self.comm_id:
                continue
            data = content["data"]
            if data.get("method") == "update":
                self._walk(data.get("state", {}).get("render_bundle", {}))
            if data.get("method") != "custom" or data["content"].get("msg") != "patch":
                continue
            self.parts.append(data["content"]["payload"])
            if len(self.parts) == 3:
                patch = json.loads(self.parts[2])
                self.parts = []
                self._walk(patch)
                for event in patch.get("events", []):
                    if event.get("kind") == "ColumnsStreamed":
                        entries = dict(event["data"]["entries"])
                        name = self.names[event["model"]["id"]]
                        self.points.setdefault(name, []).extend(zip(entries["x"], entries["y"]))
                    elif event.get("kind") == "ModelChanged" and event.get("attr") == "text":
                        self.texts.append(event["new"])

    def _walk(self, node) -> None:
        if isinstance(node, str) and node.startswith("{"):
            try:
                node = json.loads(node)
            except ValueError:
                return
        if isinstance(node, dict):
            if node.get("name") == "ColumnDataSource" and "id" in node:
                name = node.get("attributes", {}).get("name")
                if name:
                    self.names[node["id"]] = name
            for value in node.values():
                self._walk(value)
        elif isinstance(node, list):
            for value in node:
                self._walk(value)

    def values(self, name: str) -> list[float]:
        return [y for _, y in self.points.get(name, [])]

    def drain_until(self, done, timeout: float = HANG_GUARD) -> None:
        """Read iopub (any parent: renders between cells have none of ours) until done()."""
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise AssertionError(f"the plot did not get there: {self.points.keys()} {self.texts[-1:]}")
            try:
                self.take([self.kc.get_iopub_msg(timeout=0.2)])
            except queue.Empty:
                pass


def test_samples_stream_into_the_plot_in_order_and_no_record_text_leaks(kc):
    run = run_cell(
        kc,
        "%plot a b --points 1000\n"
        "from nb import emit\n"
        "print('start')\n"
        "for i in range(600):\n"
        "    emit(a=i, b=-i)\n"
        "print('done')\n",
    )
    assert run.status == "ok", run.error
    assert run.stdout == "start\ndone\n"
    plot = PlotMessages(kc, run)
    plot.drain_until(lambda: len(plot.values("a")) >= 600 and len(plot.values("b")) >= 600)
    assert plot.values("a") == list(range(600))
    assert plot.values("b") == [-i for i in range(600)]
    xs = [x for x, _ in plot.points["a"]]
    assert xs == sorted(xs)  # board time, increasing
    frame = run_cell(kc, "%%host\nf = live.frame('a', 'b'); print(len(f), f['a'].sum(), list(f.columns))")
    assert frame.stdout == f"600 {sum(range(600))}.0 ['t', 'a', 'b']\n"


def test_records_from_a_timer_between_cells_reach_the_plot(kc):
    run = run_cell(
        kc,
        "%plot tick --points 1000\n"
        "from machine import Timer\n"
        "from nb import emit\n"
        "n = [0]\n"
        "def sample(t):\n"
        "    n[0] += 1\n"
        "    emit(tick=n[0])\n"
        "Timer(0).init(period=5, callback=sample)\n",
    )
    assert run.status == "ok", run.error
    plot = PlotMessages(kc, run)
    plot.drain_until(lambda: len(plot.values("tick")) >= 30)  # while no cell runs
    stop = run_cell(kc, "Timer(0).deinit()\nn[0]")
    assert stop.status == "ok" and "\x1e" not in stop.stdout and stop.stdout == ""
    last = int(stop.result)
    plot.drain_until(lambda: len(plot.values("tick")) >= last)  # the cell's end flushed nb's batch
    assert plot.values("tick") == list(range(1, last + 1))
    summary = run_cell(kc, "%plot --summary").stdout
    assert f"{last:,} samples · 0 lost in 0 gaps" in summary


def test_a_record_split_across_writes_never_shows_as_text(kc):
    run = run_cell(
        kc,
        "import sys, time\n"
        "sys.stdout.write('ab\\x1eD0 0 split;0,')\n"
        "time.sleep_ms(100)\n"
        "sys.stdout.write('7;5,8\\x1fcd\\n')\n",
    )
    assert run.stdout == "abcd\n"
    frame = run_cell(kc, "%%host\nprint(live.frame('split')['split'].tolist())")
    assert frame.stdout == "[7.0, 8.0]\n"


def test_sequence_gaps_are_counted_and_shown_under_the_plot(kc):
    run = run_cell(
        kc,
        "%plot gappy --points 100\n"
        "import sys, time\n"
        "w = sys.stdout.write\n"
        "w('\\x1eD0 1000 gappy;0,1;1000,2\\x1f')\n"
        "w('\\x1eD5 9000 gappy;0,5\\x1f')\n"  # seq 2, 3, 4 never came
        "w('\\x1eD6 9500 gappy;0,6\\x1f')\n"
        "time.sleep_ms(700)\n",  # the text under the plot updates twice a second
    )
    assert run.status == "ok" and run.stdout == ""
    plot = PlotMessages(kc, run)
    plot.drain_until(lambda: any("3 lost in 1 gap" in t for t in plot.texts))
    assert plot.values("gappy") == [1, 2, 5, 6]
    assert "4 samples · 3 lost in 1 gap" in run_cell(kc, "%plot --summary").stdout


def test_printed_lines_are_plotted_for_the_cell_that_asks(kc):
    run = run_cell(
        kc,
        "%plot --lines --points 100\n"
        "for i in range(5):\n"
        "    print('temp:%d,hum:%d' % (20 + i, 40 - i))\n"
        "print('not data')\n"
        "print(7)\n",
    )
    assert run.status == "ok"
    assert run.stdout.splitlines()[0] == "temp:20,hum:40"  # still shown as text
    plot = PlotMessages(kc, run)
    plot.drain_until(lambda: len(plot.values("temp")) >= 5 and len(plot.values("value 1")) >= 1)
    assert plot.values("temp") == [20, 21, 22, 23, 24] and plot.values("hum") == [40, 39, 38, 37, 36]
    run_cell(kc, "print('temp:99')")  # the next cell did not ask
    frame = run_cell(kc, "%%host\nprint(live.frame('temp')['temp'].dropna().tolist())")
    assert frame.stdout == "[20.0, 21.0, 22.0, 23.0, 24.0]\n"


def test_plot_magic_saves_csv_and_reports_usage_errors(kc, tmp_path):
    run_cell(kc, "from nb import emit\nfor i in range(10):\n    emit(c=i * 2)")
    path = tmp_path / "c.csv"
    saved = run_cell(kc, f"%plot --csv {path} c")
    assert saved.stdout == f"Saved 10 rows to {path}.\n"
    assert path.read_text().splitlines()[0] == "time,t,c"
    assert "a window is a positive duration" in fails(kc, "%plot --window 0s", "UsageError")
    assert "no series 'nope'" in fails(kc, f"%plot --csv {path} nope", "KeyError")



def test_records_crossing_cell_boundaries_are_neither_lost_nor_shown(kc):
    # A timer keeps emitting while short cells start and end: records that arrive just as
    # a cell ends must still reach the plot, and never as text in any cell.
    run = run_cell(
        kc,
        "%plot tick --points 5000\n"
        "from machine import Timer\n"
        "from nb import emit\n"
        "n = [0]\n"
        "def sample(t):\n"
        "    n[0] += 1\n"
        "    emit(tick=n[0])\n"
        "Timer(0).init(period=1, callback=sample)\n",
    )
    assert run.status == "ok", run.error
    texts = [run_cell(kc, f"x = {i}").stdout for i in range(150)]
    stop = run_cell(kc, "Timer(0).deinit()\nn[0]")
    texts.append(stop.stdout)
    assert not any("\x1e" in t or "\x1f" in t for t in texts), texts
    last = int(stop.result)
    summary = run_cell(kc, "%plot --summary").stdout
    assert f"{last:,} samples · 0 lost in 0 gaps" in summary, summary
