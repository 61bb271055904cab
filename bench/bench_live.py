"""Issue 4's figures: live data carried end to end through the real kernel, with zero loss.

- throughput: records (4 channels each) emitted as fast as the board can, unpaced
  (USB-CDC class) and paced at 115200 baud, counted when they reach the kernel's live data;
  the paced figure is compared with what the line can carry for the record size;
- latency: a Timer emits at 200 Hz; each sample carries its emit time (the emulator's
  ticks_us is the host's CLOCK_MONOTONIC), compared with the moment the live plot streams
  it into its ColumnDataSource (the browser's own drawing is not included);
- memory: the kernel's RSS while streaming into a live plot for --minutes (default 2).

    .venv/bin/python bench/bench_live.py [--records N] [--minutes M] [--skip-memory]

Prints figures; asserts nothing but zero loss.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from kernel_harness import run_cell, start_kernel  # noqa: E402

BAUD = 115200
EMIT_LOOP = (
    "from nb import emit\n"
    "for i in range({n}):\n"
    "    emit(a=i & 4095, b=(i * 7) & 4095, c=(i * 13) & 4095, d=4095 - (i & 4095))\n"
)
STATS = (
    "%%host\nimport json\nd = live.data\n"
    "print(json.dumps(dict(received=d.timeline.received, lost=d.timeline.lost, corrupt=d.timeline.corrupt,"
    " seconds=d.last_arrival - d.first_arrival, frames=d.frames_seen,"
    " a_sum=float(live.frame('a')['a'].sum()) if 'a' in d.series else 0)))"
)


def host(kc, code: str) -> str:
    run = run_cell(kc, code, timeout=600)
    if run.status != "ok":
        raise SystemExit(f"cell failed: {code[:60]!r}: {run.error}")
    return run.stdout


def stats(kc) -> dict:
    return json.loads(host(kc, STATS).strip().splitlines()[-1])


def throughput(kc, n: int, label: str) -> dict:
    host(kc, "%%host\nlive.stop(); live.clear()")
    host(kc, "%plot a b c d --window 10s")
    start = time.perf_counter()
    host(kc, EMIT_LOOP.format(n=n))
    cell = time.perf_counter() - start
    s = stats(kc)
    expected_sum = float(sum(i & 4095 for i in range(n)))
    ok = s["received"] == n and s["lost"] == 0 and s["corrupt"] == 0 and s["a_sum"] == expected_sum
    rate = n / s["seconds"] if s["seconds"] else float("nan")
    print(f"{label}: {n:,} records × 4 channels in {s['frames']:,} frames; first→last arrival {s['seconds']:.3f} s "
          f"= {rate:,.0f} records/s = {4 * rate:,.0f} samples/s; cell {cell:.2f} s; "
          f"{'zero loss, values checked' if ok else 'LOSS: ' + json.dumps(s)}")
    if not ok:
        raise SystemExit("data was lost")
    return {"rate": rate, **s}


def record_bytes(n: int) -> float:
    """Bytes on the wire per record, as nb frames them (sample text and separators; the
    frame headers are the protocol's cost and count against us)."""
    samples = [f"{0 if i == 0 else 9},{i & 4095},{(i * 7) & 4095},{(i * 13) & 4095},{4095 - (i & 4095)}" for i in range(n)]
    return (sum(map(len, samples)) + len(samples)) / n  # ';' between samples


LATENCY_SETUP = (
    "%%host\n"
    "import time\n"
    "from esp32_kernel.live.plot import LivePlot\n"
    "_lat = []\n"
    "_render = LivePlot.render\n"
    "def _timed(self):\n"
    "    pending = {k: list(v[1]) for k, v in self._pending.items()}\n"
    "    n = _render(self)\n"
    "    now = int(time.monotonic() * 1e6) & 0x3FFFFFFF\n"
    "    for y in pending.get('emitted', []):\n"
    "        _lat.append(((now - int(y)) & 0x3FFFFFFF) / 1000)\n"
    "    return n\n"
    "LivePlot.render = _timed\n"
    "live.stop(); live.clear()\n"
)
LATENCY_RUN = (
    "%plot emitted --points 2000\n"
    "from machine import Timer\nfrom nb import emit\nimport time\n"
    "def _tick(t):\n    emit(emitted=time.ticks_us() & 0x3FFFFFFF)\n"
    "Timer(1).init(freq=200, callback=_tick)\n"
    "time.sleep({seconds})\n"
    "Timer(1).deinit()\n"
)


def latency(kc, seconds: int) -> None:
    host(kc, LATENCY_SETUP)
    host(kc, LATENCY_RUN.format(seconds=seconds))
    time.sleep(0.5)
    out = host(kc, "%%host\nimport json\nLivePlot.render = _render\nprint(json.dumps(_lat))")
    lat = sorted(json.loads(out.strip().splitlines()[-1]))
    q = statistics.quantiles(lat, n=20)
    print(f"latency emit → ColumnDataSource.stream, Timer at 200 Hz for {seconds} s ({len(lat)} samples): "
          f"median {statistics.median(lat):.1f} ms, p95 {q[18]:.1f} ms, max {lat[-1]:.1f} ms")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory(km, kc, minutes: float) -> None:
    pid = km.provisioner.process.pid
    host(kc, "%%host\nlive.stop(); live.clear()")
    host(kc, "%plot a b c d --window 10s")
    # A warm-up fills the ring buffers (100,000 samples a series) and the plot's rollover.
    host(kc, EMIT_LOOP.format(n=120_000))
    before = rss_mb(pid)
    seconds = minutes * 60
    code = (
        "from nb import emit\nimport time\n"
        f"end = time.ticks_add(time.ticks_ms(), {int(seconds * 1000)})\n"
        "i = 0\n"
        "while time.ticks_diff(end, time.ticks_ms()) > 0:\n"
        "    emit(a=i & 4095, b=(i * 7) & 4095, c=(i * 13) & 4095, d=4095 - (i & 4095))\n"
        "    i += 1\n"
        "i\n"
    )
    msg_id = kc.execute(code)
    samples = []
    comm_msgs = 0
    start = time.monotonic()
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=1)
        except Exception:  # noqa: BLE001 - queue.Empty
            msg = None
        if msg and msg["msg_type"] == "comm_msg":
            comm_msgs += 1
        if not samples or time.monotonic() - samples[-1][0] > 10:
            samples.append((time.monotonic(), rss_mb(pid)))
        if msg and msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    elapsed = time.monotonic() - start
    after = rss_mb(pid)
    s = stats(kc)
    peak = max(m for _, m in samples)
    print(f"memory: streaming {s['received']:,} records × 4 channels for {elapsed:.0f} s ({s['received'] / elapsed:,.0f} records/s, "
          f"{s['lost']} lost) into a live plot: kernel RSS {before:.1f} MB → {after:.1f} MB (growth {after - before:+.1f} MB, "
          f"peak {peak:.1f} MB); {comm_msgs / elapsed:.0f} comm messages/s on iopub")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--paced-records", type=int, default=5_000)
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--latency-seconds", type=int, default=10)
    parser.add_argument("--skip-memory", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        km, kc = start_kernel(Path(tmp))
        try:
            host(kc, "1")
            unpaced = throughput(kc, args.records, "unpaced (USB-CDC class)")
            goal = 20_000
            print(f"  goal ≥ {goal:,} samples/s: {'met' if 4 * unpaced['rate'] >= goal else 'NOT met'}")
            latency(kc, args.latency_seconds)
            if not args.skip_memory:
                memory(km, kc, args.minutes)
            print(host(kc, f"%connect emulator --baud {BAUD}").strip())
            host(kc, "1")
            paced = throughput(kc, args.paced_records, f"paced at {BAUD} baud")
            size = record_bytes(args.paced_records)
            capacity = BAUD / 10 / size
            print(f"  record size {size:.1f} bytes → the line carries {capacity:,.0f} records/s; "
                  f"measured {paced['rate']:,.0f} = {100 * paced['rate'] / capacity:.1f} % (goal ≥ 90 %)")
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main()
