"""Issue 14's figures: a cell's time through the kernel, beside the same exec through `Board`
alone (the kernel's overhead is the difference), jupyter_micropython_kernel and mpremote, all
on the same emulated board in the same run, paced at 115200 baud and unpaced; a 5 KB cell
against the line time; interrupt latency; kernel start to the first cell's reply with the
kernel's own emulated board, beside plain ipykernel. Prints medians with their spread and
each goal as met or missed; asserts nothing.

An unpaced emulated board measures this computer, not a faster board: a classic ESP32 has no
USB-CDC, its REPL is a UART (115200 baud on every DevKit), so the paced rows are a student's.

    .venv/bin/python bench/bench_kernel.py [--rounds N] [--no-peers]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager, start_new_kernel

from esp32_kernel.board import Board
from esp32_kernel.emulator.process import launch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_emulator import _cpu_s, _rss_kb, _tree  # noqa: E402

BAUD = 115200
SHORT = "print(1+1)"
SHORT_WIRE_BYTES = len(SHORT) + 1 + len(b"OK2\r\n\x04\x04>")  # code + Ctrl-D out, the answer back

def five_kb_cell(size: int = 5120) -> str:
    """Plain statements, padded with a comment to exactly `size` bytes."""
    body = "".join(f"x{i:04d} = {10000 + i} + 1\n" for i in range(size // 19))
    return body + "#" * (size - len(body) - 1) + "\n"


FIVE_KB = five_kb_cell()


def line_time(nbytes: int, baud: int = BAUD) -> float:
    return nbytes * 10 / baud  # 8N1: ten bit times a byte


def fmt(samples: list[float]) -> str:
    """The median, and the 10th and 90th percentiles (the extremes of fewer than 10), in ms."""
    ms = sorted(s * 1000 for s in samples)
    if len(ms) >= 10:
        q = statistics.quantiles(ms, n=10)
        return f"{statistics.median(ms):8.2f} ms  (p10 {q[0]:.2f} – p90 {q[-1]:.2f})"
    return f"{statistics.median(ms):8.2f} ms  (min {ms[0]:.2f} – max {ms[-1]:.2f})"


def kernel_env(url: str, tmp: str) -> dict[str, str]:
    env = dict(os.environ, ESP32_KERNEL_PORT=url, ESP32_KERNEL_BAUD=str(BAUD))
    env["JUPYTER_CONFIG_DIR"] = tmp
    return env


def cell_round_trip(kc, code: str) -> float:
    """execute_request sent → execute_reply received (outputs drained afterwards)."""
    start = time.perf_counter()
    msg_id = kc.execute(code)
    while True:
        reply = kc.get_shell_msg(timeout=60)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    elapsed = time.perf_counter() - start
    assert reply["content"]["status"] == "ok", reply["content"]
    while True:  # drain iopub so the next round starts clean
        msg = kc.get_iopub_msg(timeout=60)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return elapsed


def bench_kernel(url: str, rounds: int, tmp: str) -> dict[str, list[float]]:
    km, kc = start_new_kernel(kernel_name="esp32", env=kernel_env(url, tmp))
    cell_round_trip(kc, "1")
    try:
        short = [cell_round_trip(kc, SHORT) for _ in range(rounds)]
        five = [cell_round_trip(kc, FIVE_KB) for _ in range(max(3, rounds // 10))]
        interrupts = []
        for _ in range(max(3, rounds // 10)):
            msg_id = kc.execute("while True:\n    pass")
            time.sleep(0.2)  # let the loop start; the clock starts at the interrupt
            t0 = time.perf_counter()
            km.interrupt_kernel()
            while True:
                reply = kc.get_shell_msg(timeout=60)
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
            interrupts.append(time.perf_counter() - t0)
        return {"short": short, "5kb": five, "interrupt": interrupts}
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def bench_ipykernel_floor(rounds: int) -> list[float]:
    """The plain IPython kernel running `pass`: what any IPython-based kernel pays per cell."""
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        cell_round_trip(kc, "pass")
        return [cell_round_trip(kc, "pass") for _ in range(rounds)]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


ANSWERING_KERNEL = """
from ipykernel.kernelapp import IPKernelApp
from ipykernel.kernelbase import Kernel

class Answering(Kernel):
    implementation = language = "none"
    implementation_version = "0"
    language_info = {"name": "none"}
    banner = ""

    async def do_execute(self, code, silent, *args, **kwargs):
        return {"status": "ok", "execution_count": self.execution_count, "payload": [], "user_expressions": {}}

IPKernelApp.launch_instance(kernel_class=Answering)
"""


def bench_answering_kernel(rounds: int, tmp: str) -> list[float]:
    """ipykernel's own cost of a request: a kernel whose cells do nothing, not even IPython's
    (jupyter_micropython_kernel and ours pay it too)."""
    spec = Path(tmp) / "answering" / "kernels" / "answering"
    spec.mkdir(parents=True)
    (spec.parent.parent / "answering.py").write_text(ANSWERING_KERNEL)
    argv = [sys.executable, str(spec.parent.parent / "answering.py"), "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "answering", "language": "none"}))
    km = KernelManager(kernel_name="answering", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec.parent)]))
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        cell_round_trip(kc, SHORT)
        return [cell_round_trip(kc, SHORT) for _ in range(rounds)]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def first_cell(kernel_name: str, code: str, env: dict[str, str] | None = None) -> tuple[float, float, float]:
    """Kernel start → the reply to its first cell, as a notebook opening sees it; and what the
    kernel with its children (its emulated board) had cost by then: CPU-seconds, MB of RSS."""
    start = time.perf_counter()
    km, kc = start_new_kernel(kernel_name=kernel_name, env=env)
    try:
        cell_round_trip(kc, code)
        elapsed = time.perf_counter() - start
        tree = _tree(km.provisioner.process.pid)
        return elapsed, _cpu_s(tree), _rss_kb(tree) / 1024
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def bench_first_cells(rounds: int, tmp: str) -> dict[str, list[float]]:
    """The kernel with its own emulated board (no board configured; the board's flash kept
    between starts, as a student's is), and plain ipykernel, alternately."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESP32_KERNEL_")}
    env.update(JUPYTER_CONFIG_DIR=str(Path(tmp) / "first-config"), JUPYTER_DATA_DIR=str(Path(tmp) / "first-data"))
    first_cell("esp32", SHORT, env)  # the board's first boot formats its flash: not counted
    ours, plain = [], []
    for _ in range(rounds):  # alternately: a busy moment of this computer costs both alike
        ours.append(first_cell("esp32", SHORT, env))
        plain.append(first_cell("python3", SHORT, dict(os.environ)))
    return {name: [r[0] for r in runs] for name, runs in (("ours", ours), ("plain", plain))} | {
        f"{name} cost": [r[1:] for r in runs] for name, runs in (("ours", ours), ("plain", plain))
    }


PEER_VENV = Path(__file__).resolve().parent.parent / ".venv-peers"


def peer_kernel_spec_dir() -> Path:
    """jupyter_micropython_kernel, the established MicroPython kernel, in a venv of its own
    (it pins old dependencies); created on first use."""
    spec_dir = PEER_VENV / "share" / "jupyter" / "kernels"
    if not (spec_dir / "micropython").exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        pip = [str(PEER_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "jupyter-micropython-kernel", "ipykernel"], check=True)
        subprocess.run(
            [str(PEER_VENV / "bin" / "python"), "-c",
             ("from jupyter_micropython_kernel.install import install_my_kernel_spec as i;"
              f" i(user=False, prefix={str(PEER_VENV)!r})")],
            check=True, capture_output=True,
        )
    return spec_dir


def bench_peer_kernel(pty_path: str, rounds: int) -> dict[str, list[float]]:
    """The same cells through jupyter_micropython_kernel, connected with its %serialconnect."""
    ksm = KernelSpecManager(kernel_dirs=[str(peer_kernel_spec_dir())])
    km = KernelManager(kernel_name="micropython", kernel_spec_manager=ksm)
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    try:
        cell_round_trip(kc, f"%serialconnect --port={pty_path} --baud={BAUD}")
        cell_round_trip(kc, SHORT)
        return {
            "short": [cell_round_trip(kc, SHORT) for _ in range(rounds)],
            "5kb": [cell_round_trip(kc, FIVE_KB) for _ in range(max(3, rounds // 10))],
        }
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def timed_execs(exec_: Callable[[str], object], rounds: int) -> dict[str, list[float]]:
    """Seconds per call of `exec_` for the short cell and the 5 KB cell."""

    def timed(code: str) -> float:
        t = time.perf_counter()
        exec_(code)
        return time.perf_counter() - t

    return {
        "short": [timed(SHORT) for _ in range(rounds)],
        "5kb": [timed(FIVE_KB) for _ in range(max(3, rounds // 10))],
    }


def bench_board(url: str, rounds: int) -> dict[str, list[float]]:
    board = Board(url, BAUD)
    board.connect()
    try:
        return timed_execs(board.exec, rounds)
    finally:
        board.close()


def bench_mpremote(url: str, rounds: int) -> dict[str, list[float]]:
    from mpremote.transport_serial import SerialTransport

    transport = SerialTransport(url, baudrate=BAUD)
    transport.enter_raw_repl(soft_reset=False)
    try:
        return timed_execs(transport.exec, rounds)
    finally:
        transport.exit_raw_repl()
        transport.close()


def ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def goal(met: bool, text: str) -> str:
    return f"  {'met   ' if met else 'MISSED'}  {text}"


def print_mode(label: str, baud: int | None, kernel: dict, board: dict, mpremote: dict, peer: dict | None, floor: float) -> list[str]:
    """One mode's table; returns its goal lines."""
    print(f"\n## emulator {label}")
    print(f"{'':<46} {'median':>9}   spread")
    rows = [("print(1+1)", "short"), ("5 KB cell", "5kb")]
    for title, key in rows:
        print(f"{title + ', request → reply':<46} {fmt(kernel[key])}")
        print(f"{'  Board.exec alone (no Jupyter)':<46} {fmt(board[key])}")
        print(f"{'  kernel overhead (the two medians apart)':<46} {ms(kernel[key]) - ms(board[key]):8.2f} ms"
              f"   ({ms(kernel[key]) - ms(board[key]) - floor:+.2f} ms beyond ipykernel's floor)")
        if peer:
            print(f"{'  jupyter_micropython_kernel':<46} {fmt(peer[key])}")
            print(f"{'  ours / jupyter_micropython_kernel':<46} {ms(kernel[key]) / ms(peer[key]):8.2f} ×")
        print(f"{'  mpremote SerialTransport.exec':<46} {fmt(mpremote[key])}")
        if baud and key == "5kb":
            line = line_time(len(FIVE_KB))
            print(f"{'  over the line time (' + f'{line * 1000:.0f} ms)':<46} {(ms(kernel[key]) / 1000 / line - 1) * 100:8.1f} %")
    print(f"{'interrupt of while True: pass → reply':<46} {fmt(kernel['interrupt'])}")
    goals = [
        goal(ms(kernel["short"]) - ms(board["short"]) <= 1.0,
             f"{label}: print(1+1) overhead {ms(kernel['short']) - ms(board['short']):.2f} ms ≤ 1 ms"),
        goal(ms(kernel["5kb"]) - ms(board["5kb"]) <= 3.0,
             f"{label}: 5 KB overhead {ms(kernel['5kb']) - ms(board['5kb']):.2f} ms ≤ 3 ms"),
    ]  # fmt: skip
    if peer:
        short_ratio = ms(kernel["short"]) / ms(peer["short"])
        goals.append(goal(short_ratio <= 0.9, f"{label}: print(1+1) {short_ratio:.2f} × jupyter_micropython_kernel ≤ 0.9 ×"))
        if not baud:
            ratio = ms(kernel["5kb"]) / ms(peer["5kb"])
            goals.append(goal(ratio <= 1.0, f"{label}: 5 KB cell {ratio:.2f} × jupyter_micropython_kernel ≤ 1 ×"))
    if baud:
        excess = ms(kernel["5kb"]) / 1000 / line_time(len(FIVE_KB)) - 1
        goals.append(goal(excess <= 0.03, f"{label}: 5 KB cell {excess * 100:.1f} % over the line time ≤ 3 %"))
        goals.append(goal(ms(kernel["interrupt"]) <= 20, f"{label}: interrupt → reply {ms(kernel['interrupt']):.1f} ms ≤ 20 ms"))
    return goals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--no-peers", dest="peers", action="store_false",
                        help="skip jupyter_micropython_kernel (installed into .venv-peers on first use)")
    args = parser.parse_args()
    print(f"esp32-kernel bench — {time.strftime('%Y-%m-%d %H:%M')}, Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print(f"5 KB cell = {len(FIVE_KB)} bytes; its line time at {BAUD} baud = {line_time(len(FIVE_KB)) * 1000:.0f} ms;"
          f" print(1+1) needs ≈ {line_time(SHORT_WIRE_BYTES) * 1000:.2f} ms of wire")
    goals = []
    with tempfile.TemporaryDirectory() as tmp:
        answering = bench_answering_kernel(args.rounds, tmp)
        print(f"{'ipykernel alone: a kernel whose cells do nothing':<46} {fmt(answering)}   ← every ipykernel-based kernel's floor")
        print(f"{'plain IPython kernel answering `pass`':<46} {fmt(bench_ipykernel_floor(args.rounds))}")
        for label, baud in (("paced at 115200 baud", BAUD), ("unpaced", None)):
            board_dir = Path(tmp) / f"board-{baud}"
            with launch(board_dir=board_dir, baud=baud, pty=True) as emulator:
                kernel = bench_kernel(emulator.url, args.rounds, tmp)
                board = bench_board(emulator.url, args.rounds)
                mpremote = bench_mpremote(emulator.url, args.rounds)
                peer = bench_peer_kernel(emulator.pty_path, args.rounds) if args.peers else None
            goals += print_mode(label, baud, kernel, board, mpremote, peer, ms(answering))
        starts = bench_first_cells(max(3, args.rounds // 20), tmp)
    print("\n## a notebook's first cell (kernel start → reply), the kernel's own emulated board")
    print(f"{'esp32 kernel':<46} {fmt(starts['ours'])}")
    print(f"{'plain ipykernel':<46} {fmt(starts['plain'])}")
    for label, key in (("esp32 kernel and its board", "ours cost"), ("plain ipykernel", "plain cost")):
        cpu, rss = (statistics.median(values) for values in zip(*starts[key]))
        print(f"  {label + ': CPU-seconds, memory by then':<44} {cpu:.2f} s, {rss:.0f} MB")
    goals.append(goal(ms(starts["ours"]) <= 900, f"first cell {ms(starts['ours']):.0f} ms ≤ 900 ms"))
    print("\n## goals (issue 14)")
    print("\n".join(goals))


if __name__ == "__main__":
    main()
