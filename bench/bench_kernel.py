"""Issue 2's figures: cell latency, a 5 KB cell against the line time, interrupt latency and
kernel start, on the emulator paced at 115200 baud and unpaced, beside mpremote's
SerialTransport as the baseline. Prints medians with their spread; asserts nothing.

    .venv/bin/python bench/bench_kernel.py [--rounds N]
"""

from __future__ import annotations

import argparse
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


def summary(samples: list[float]) -> tuple[float, float, float]:
    """median, and the 10th and 90th percentiles, in ms."""
    ms = sorted(s * 1000 for s in samples)
    q = statistics.quantiles(ms, n=10) if len(ms) >= 10 else [ms[0]] * 9
    return statistics.median(ms), q[0], q[-1]


def fmt(samples: list[float]) -> str:
    med, lo, hi = summary(samples)
    return f"{med:8.2f} ms  (p10 {lo:.2f} – p90 {hi:.2f})"


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
    start = time.perf_counter()
    km, kc = start_new_kernel(kernel_name="esp32", env=kernel_env(url, tmp))
    cell_round_trip(kc, "1")
    started = time.perf_counter() - start
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
        return {"short": short, "5kb": five, "interrupt": interrupts, "start": [started]}
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
             "from jupyter_micropython_kernel.install import install_my_kernel_spec as i;"
             f" i(user=False, prefix={str(PEER_VENV)!r})"],
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--no-peers", dest="peers", action="store_false",
                        help="skip jupyter_micropython_kernel (installed into .venv-peers on first use)")
    args = parser.parse_args()
    print(f"esp32-kernel bench — {time.strftime('%Y-%m-%d')}, Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print(f"5 KB cell = {len(FIVE_KB)} bytes; its line time at {BAUD} baud = {line_time(len(FIVE_KB)) * 1000:.0f} ms;"
          f" print(1+1) needs ≈ {line_time(SHORT_WIRE_BYTES) * 1000:.2f} ms of wire")
    floor = bench_ipykernel_floor(args.rounds)
    print(f"{'python3 (ipykernel) `pass`, request → reply':<44} {fmt(floor)}   ← the floor of any IPython-based kernel")
    with tempfile.TemporaryDirectory() as tmp:
        for label, baud in (("paced at 115200 baud", BAUD), ("unpaced", None)):
            board_dir = Path(tmp) / f"board-{baud}"
            with launch(board_dir=board_dir, baud=baud, pty=True) as emulator:
                kernel = bench_kernel(emulator.url, args.rounds, tmp)
                board = bench_board(emulator.url, args.rounds)
                peer = bench_mpremote(emulator.url, args.rounds)
                peer_kernel = bench_peer_kernel(emulator.pty_path, args.rounds) if args.peers else None
            print(f"\n## emulator {label}")
            print(f"{'print(1+1) cell, request → reply':<44} {fmt(kernel['short'])}")
            print(f"{'  Board.exec (no Jupyter)':<44} {fmt(board['short'])}")
            print(f"{'  mpremote SerialTransport.exec':<44} {fmt(peer['short'])}")
            if peer_kernel:
                print(f"{'  jupyter_micropython_kernel, request → reply':<44} {fmt(peer_kernel['short'])}")
            ratio = statistics.median(peer["short"]) / statistics.median(kernel["short"])
            print(f"{'  kernel is faster than mpremote by':<44} {ratio:8.1f} ×")
            print(f"{'5 KB cell, request → reply':<44} {fmt(kernel['5kb'])}")
            if baud:
                excess = statistics.median(kernel["5kb"]) / line_time(len(FIVE_KB)) - 1
                print(f"{'  over the line time':<44} {excess * 100:8.1f} %")
            print(f"{'  Board.exec (no Jupyter)':<44} {fmt(board['5kb'])}")
            print(f"{'  mpremote SerialTransport.exec':<44} {fmt(peer['5kb'])}")
            if peer_kernel:
                print(f"{'  jupyter_micropython_kernel, request → reply':<44} {fmt(peer_kernel['5kb'])}")
            print(f"{'interrupt → reply (while True: pass)':<44} {fmt(kernel['interrupt'])}")
            print(f"{'kernel start → first cell replied':<44} {kernel['start'][0] * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
