"""Several boards in one notebook (%connect --name, %%on) and one kernel per port (lock files)."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from esp32_kernel.emulator.process import launch
from esp32_kernel.session import BoardSession
from kernel_harness import HANG_GUARD, collect, fails, ok, run_cell, running_kernel


@pytest.fixture(scope="module")
def benches(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("benches")
    with launch(board_dir=tmp / "a") as a, launch(board_dir=tmp / "b") as b, launch(board_dir=tmp / "c") as c:
        yield {"a": a, "b": b, "c": c}


@pytest.fixture(scope="module")
def runtime_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("runtime")


@pytest.fixture(scope="module")
def kernel(tmp_path_factory, runtime_dir, benches):
    with running_kernel(tmp_path_factory.mktemp("boards-kernel"), JUPYTER_RUNTIME_DIR=str(runtime_dir)) as (km, kc):
        for name in ("a", "b"):
            assert f"as board {name!r}" in ok(kc, f"%connect --name {name} {benches[name].url}")
        yield km, kc


def test_on_runs_the_cell_on_each_board_with_labelled_output(kc, benches):
    ok(kc, "%%on a\nwho = 'bench a'")
    ok(kc, "%%on b\nwho = 'bench b'")
    out = ok(kc, "%%on a b\nprint('I am', who)\n6 * 7")
    lines = out.splitlines()
    assert "[a] I am bench a" in lines and "[b] I am bench b" in lines
    assert "[a] Out: 42" in lines and "[b] Out: 42" in lines
    # the unmarked cells still run on the default board, which has no `who`
    run = run_cell(kc, "who")
    assert run.status == "error" and run.reply["content"]["ename"] == "NameError"


def test_on_all_runs_in_parallel(kc):
    out = ok(kc, "%%on --all\nimport time\nprint('start')\ntime.sleep(0.5)\nprint('end')")
    lines = out.splitlines()
    starts = [i for i, line in enumerate(lines) if line.endswith("start")]
    ends = [i for i, line in enumerate(lines) if line.endswith("end")]
    assert len(starts) == len(ends) == 2
    assert max(starts) < min(ends)  # both boards started before either finished


def test_a_failure_on_one_board_is_labelled_and_fails_the_cell(kc):
    run = run_cell(kc, "%%on a b\nprint('before')\nif who == 'bench b':\n    1 / 0\nprint('after')")
    assert run.status == "error"
    assert run.reply["content"]["ename"] == "BoardsFailed"
    assert "b: ZeroDivisionError: divide by zero" in run.reply["content"]["evalue"]
    assert "[a] after" in run.stdout and "[b] after" not in run.stdout
    assert "[b] ZeroDivisionError: divide by zero" in run.stdout


def test_a_named_board_that_comes_back_is_reconnected(kc, benches):
    assert benches["b"].drop_client()  # as an unplugged cable: the link goes away
    deadline = time.monotonic() + HANG_GUARD
    while True:
        run = run_cell(kc, "%%on b\nprint('back')")
        if run.status == "ok" and "[b] back" in run.stdout:
            break
        assert time.monotonic() < deadline, run.stdout
        time.sleep(0.2)


def test_what_a_named_board_prints_between_cells_is_labelled(kc):
    ok(kc, "%%on a\nimport machine\nt = machine.Timer(0)\n"
           "t.init(mode=machine.Timer.ONE_SHOT, period=50, callback=lambda t: print('tick from a'))")
    deadline = time.monotonic() + HANG_GUARD
    seen = ""
    while "tick from a" not in seen:
        assert time.monotonic() < deadline, seen
        time.sleep(0.2)
        seen += ok(kc, "pass")
    assert "[a] tick from a" in seen


def test_unknown_names_and_boards_listing(kc, benches):
    assert "no board is named 'zz'" in fails(kc, "%%on zz\nprint(1)", "NoBoard")
    listing = ok(kc, "%boards")
    assert benches["a"].url in listing and benches["b"].url in listing
    out = fails(kc, f"%connect --name again {benches['a'].url}", "PortInUse")
    assert "already connected in this kernel as board 'a'" in out


def test_a_port_held_by_another_kernel_is_refused_naming_it(kc, benches, runtime_dir, monkeypatch):
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime_dir))
    holder = BoardSession()
    holder.connect(benches["c"].url)
    try:
        out = fails(kc, f"%connect --name c {benches['c'].url}", "PortInUse")
        assert "is in use by another kernel" in out and f"pid {os.getpid()}" in out
    finally:
        holder.close()
    assert "as board 'c'" in ok(kc, f"%connect --name c {benches['c'].url}")
    assert "Disconnected board 'c'" in ok(kc, "%disconnect --name c")
    assert "no board is named 'c'" in fails(kc, "%%on c\nprint(1)", "NoBoard")


def test_on_streams_every_emitted_sample_of_every_board_labelled_by_board(kc):
    ok(kc, "%%host\nlive.clear()")
    ok(kc, "%%on a b\nfrom nb import emit\nimport time\nfor n in range(300):\n    emit(v=n, half=n / 2)\n    if n % 50 == 0:\n        time.sleep_ms(5)")
    shown = ok(kc, "%%host\nprint(sorted(live.names()))\nfor s in ('a.v', 'b.v', 'a.half'):\n    print(s, list(live.frame(s)[s]))")
    lines = shown.splitlines()
    assert lines[0] == str(["a.half", "a.v", "b.half", "b.v"])
    assert lines[1] == f"a.v {[float(n) for n in range(300)]}"
    assert lines[2] == f"b.v {[float(n) for n in range(300)]}"
    assert lines[3] == f"a.half {[n / 2 for n in range(300)]}"
    # Each board keeps its own sequence numbers: nothing lost, and the default board's untouched.
    counts = ok(kc, "%%host\nd = live.data\nprint(d.timeline.received, [(n, t.received, t.lost) for n, t in sorted(d.board_timelines.items())])")
    assert counts == "0 [('a', 300, 0), ('b', 300, 0)]\n"


def test_on_keeps_the_kernel_answering_and_stops_on_every_board(kernel):
    km, kc = kernel
    cell = kc.execute("%%on a b\nn = 0\nwhile True:\n    n += 1")
    comm_id = uuid.uuid4().hex
    kc.shell_channel.send(kc.session.msg("comm_open", {"comm_id": comm_id, "target_name": "esp32_kernel.board", "data": {}}))
    deadline = time.monotonic() + HANG_GUARD
    while True:  # the lab comm answers while %%on runs: the event loop is free
        msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if msg["msg_type"] == "comm_msg" and msg["content"]["comm_id"] == comm_id:
            assert msg["content"]["data"]["state"]["busy"] is True
            break
    kc.shell_channel.send(kc.session.msg("comm_close", {"comm_id": comm_id, "data": {}}))
    asked = kc.complete("machine.P")  # answered beside the running cell, from the stubs
    reply = kc.get_shell_msg(timeout=HANG_GUARD)
    assert reply["parent_header"]["msg_id"] == asked and "Pin" in reply["content"]["matches"], reply
    for _ in range(5):  # an impatient teacher
        km.interrupt_kernel()
    stopped = collect(kc, cell).reply["content"]
    assert stopped["status"] == "error" and stopped["ename"] == "BoardsFailed", stopped
    assert "a: KeyboardInterrupt" in stopped["evalue"] and "b: KeyboardInterrupt" in stopped["evalue"]
    lines = ok(kc, "%%on a b\nprint(n > 0)").splitlines()
    assert "[a] True" in lines and "[b] True" in lines


def test_what_a_named_board_emits_between_cells_reaches_the_plots_as_its_own(kc):
    ok(kc, "%%host\nlive.clear()")
    ok(kc, "%%on b\nimport machine\nfrom nb import emit\nticks = []\n"
           "def tick(t):\n    ticks.append(1)\n    emit(beat=len(ticks))\n    if len(ticks) == 40:\n        t.deinit()\n"
           "machine.Timer(1).init(period=10, callback=tick)")
    counted = "%%host\nprint(live.data.board_timelines['b'].received if 'b' in live.data.board_timelines else 0)"
    deadline = time.monotonic() + HANG_GUARD
    while ok(kc, counted) != "40\n":  # the last batch goes out when nb's period passes
        assert time.monotonic() < deadline, ok(kc, "%%host\nprint(live.data.summary(), live.names())")
        ok(kc, "%%on b\nimport nb\nnb.flush()")
    shown = ok(kc, "%%host\nprint(live.names(), list(live.frame('b.beat')['b.beat']))")
    assert shown == f"['b.beat'] {[float(n) for n in range(1, 41)]}\n"
    assert ok(kc, "%%host\nprint(live.data.timeline.received)") == "0\n"  # nothing counted as the default board's
