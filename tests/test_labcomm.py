"""The lab extension's comm, driven as the front end drives it: through jupyter_client."""

from __future__ import annotations

import queue
import time
import uuid

import pytest

from kernel_harness import HANG_GUARD, CellRun, running_kernel

from esp32_kernel.emulator import launch

TARGET = "esp32_kernel.board"


class Comm:
    """The front end's end of one comm: open it, send commands, read what the kernel says."""

    def __init__(self, kc) -> None:
        self.kc = kc
        self.comm_id = uuid.uuid4().hex
        self.seen: list[dict] = []  # comm_msg data from the kernel, in order
        msg = kc.session.msg("comm_open", {"comm_id": self.comm_id, "target_name": TARGET, "data": {}})
        kc.shell_channel.send(msg)

    def _pump(self, timeout: float) -> dict | None:
        try:
            msg = self.kc.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            return None
        if msg["msg_type"] == "comm_msg" and msg["content"]["comm_id"] == self.comm_id:
            data = msg["content"]["data"]
            self.seen.append(data)
            return data
        if msg["msg_type"] == "comm_close" and msg["content"]["comm_id"] == self.comm_id:
            raise AssertionError(f"the kernel closed the comm: {msg['content']}")
        return None

    def wait_for(self, predicate, what: str, timeout: float = HANG_GUARD) -> dict:
        for data in self.seen:
            if predicate(data):
                return data
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = self._pump(max(0.05, deadline - time.monotonic()))
            if data is not None and predicate(data):
                return data
        raise AssertionError(f"no {what} within {timeout} s; the kernel said: {self.seen}")

    def state(self, predicate=lambda s: True, what: str = "state") -> dict:
        return self.wait_for(lambda d: d.get("type") == "state" and predicate(d["state"]), what)["state"]

    def command(self, command: str, timeout: float = HANG_GUARD, **args) -> dict:
        request_id = uuid.uuid4().hex
        data = {"command": command, "id": request_id, **args}
        self.kc.shell_channel.send(self.kc.session.msg("comm_msg", {"comm_id": self.comm_id, "data": data}))
        return self.wait_for(lambda d: d.get("type") == "reply" and d.get("id") == request_id, f"reply to {command}", timeout)

    def run(self, code: str, timeout: float = HANG_GUARD) -> CellRun:
        """run_cell, keeping the comm messages that arrive meanwhile (run_cell drops them)."""
        kc = self.kc
        msg_id = kc.execute(code)
        run = CellRun({})
        deadline = time.monotonic() + timeout
        while True:
            msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            if msg["msg_type"] == "comm_msg" and msg["content"]["comm_id"] == self.comm_id:
                self.seen.append(msg["content"]["data"])
            elif msg["parent_header"].get("msg_id") != msg_id:
                continue
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
            else:
                run.messages.append(msg)
        while True:
            reply = kc.get_shell_msg(timeout=timeout)
            if reply["parent_header"].get("msg_id") == msg_id:
                run.reply = reply
                return run

    def close(self) -> None:
        self.kc.shell_channel.send(self.kc.session.msg("comm_close", {"comm_id": self.comm_id, "data": {}}))


@pytest.fixture
def comm(kernel):
    _, kc = kernel
    c = Comm(kc)
    c.run("1")  # the start-up connection has landed
    yield c
    c.close()


def test_opening_the_comm_sends_the_state_with_firmware_and_heap(comm):
    # The comm may open before the start-up connection lands: its first state says so, and
    # the kernel sends the connected state as soon as the board is there.
    first = comm.state(lambda s: s["connected"], "connected state")
    assert first["kind"] == "emulator"
    assert first["port"].startswith("socket://127.0.0.1:")
    assert first["busy"] is False
    full = comm.state(lambda s: s["firmware"] is not None and s["free_heap"] is not None, "firmware and heap")
    assert full["firmware"]["sysname"] == "esp32"
    assert full["firmware"]["release"].startswith("1.")
    assert 10_000 < full["free_heap"] < 200_000


def test_the_query_leaves_no_names_on_the_board(comm):
    comm.state(lambda s: s["firmware"] is not None, "firmware")
    # (gc is there from boot, as v1.24's _boot.py leaves it on a board; the query imports nothing by name)
    run = comm.run("'os' in dir(), 'uname' in dir(), 'mem_free' in dir()")
    assert run.result == "(False, False, False)"


def test_busy_while_a_cell_runs_then_idle_with_the_heap_measured_again(comm):
    comm.state(lambda s: s["free_heap"] is not None, "heap")
    heap_before = comm.seen[-1]["state"]["free_heap"] if comm.seen[-1].get("type") == "state" else None
    comm.seen.clear()
    run = comm.run("big = bytearray(20000)\nimport time\ntime.sleep(0.2)")
    assert run.status == "ok"
    comm.state(lambda s: s["busy"], "busy state")
    after = comm.state(lambda s: not s["busy"] and s["free_heap"] is not None and s["free_heap"] != heap_before, "new heap")
    assert after["free_heap"] < 200_000
    comm.run("del big")


def test_ports_lists_this_machines_serial_ports(comm):
    reply = comm.command("ports")
    assert reply["ok"] is True
    assert isinstance(reply["ports"], list)
    for port in reply["ports"]:
        assert set(port) == {"device", "description", "vid_pid", "bridge"}


def test_unknown_command_is_refused_politely(comm):
    reply = comm.command("format_the_disk")
    assert reply["ok"] is False and "unknown command" in reply["message"]


def test_commands_that_need_the_board_are_refused_while_a_cell_runs(comm):
    kc = comm.kc
    msg_id = kc.execute("import time\nfor i in range(30):\n    time.sleep(0.1)")
    comm.state(lambda s: s["busy"], "busy state")
    reply = comm.command("soft_reset")
    assert reply["ok"] is False and "running a cell" in reply["message"]
    reply = comm.command("interrupt")  # the one command meant for running code
    assert reply["ok"] is True
    while True:
        msg = kc.get_shell_msg(timeout=HANG_GUARD)
        if msg["parent_header"].get("msg_id") == msg_id:
            break
    assert msg["content"]["status"] == "error"
    assert msg["content"]["ename"] == "KeyboardInterrupt"
    comm.state(lambda s: not s["busy"], "idle state")


def test_soft_reset_clears_the_boards_variables(comm):
    comm.run("marker = 1")
    reply = comm.command("soft_reset")
    assert reply["ok"] is True, reply
    run = comm.run("'marker' in dir()")
    assert run.result == "False"


def test_disconnect_then_connect_the_emulator_again(comm):
    reply = comm.command("disconnect")
    assert reply["ok"] is True, reply
    comm.state(lambda s: not s["connected"] and s["kind"] is None, "disconnected state")
    reply = comm.command("connect", port="emulator")
    assert reply["ok"] is True, reply
    state = comm.state(lambda s: s["connected"] and s["firmware"] is not None, "connected state with firmware")
    assert state["kind"] == "emulator"
    assert comm.run("1 + 1").result == "2"


def test_connect_to_a_port_that_is_not_there_says_why(comm):
    reply = comm.command("connect", port="socket://127.0.0.1:1")
    assert reply["ok"] is False
    assert "127.0.0.1:1" in reply["message"]


# Files, through esp32_kernel.files ---------------------------------------------------------


def test_files_write_list_read_delete(comm):
    import base64

    content = b"print('hello from the panel')\n" + bytes(range(256))
    reply = comm.command("files_write", path="/panel_test.py", content=base64.b64encode(content).decode())
    assert reply["ok"] is True, reply
    assert reply["size"] == len(content)
    listing = comm.command("files_list", path="/")
    assert listing["ok"] is True, listing
    entries = {e["name"]: e for e in listing["entries"]}
    assert entries["panel_test.py"] == {"name": "panel_test.py", "dir": False, "size": len(content)}
    assert listing["fs_free"] is None or listing["fs_free"] > 0
    read = comm.command("files_read", path="panel_test.py")  # relative: from the root
    assert read["ok"] is True, read
    assert base64.b64decode(read["content"]) == content
    # the same write again leaves the file alone
    again = comm.command("files_write", path="/panel_test.py", content=base64.b64encode(content).decode())
    assert again["ok"] is True and again["skipped"] is True
    assert comm.command("files_delete", path="/panel_test.py")["ok"] is True
    names = [e["name"] for e in comm.command("files_list", path="/")["entries"]]
    assert "panel_test.py" not in names
    # no transfer leftovers
    assert not [n for n in names if n.endswith(".part~")]


def test_files_errors_are_one_line(comm):
    reply = comm.command("files_read", path="/no/such/file.py")
    assert reply["ok"] is False and "no such file" in reply["message"]
    reply = comm.command("files_write", path="/x.py", content="***not base64***")
    assert reply["ok"] is False and "base64" in reply["message"]
    reply = comm.command("files_delete", path="/")
    assert reply["ok"] is False
    reply = comm.command("files_list", path="")
    assert reply["ok"] is False and "which file" in reply["message"]


def test_files_are_refused_while_a_cell_runs(comm):
    kc = comm.kc
    msg_id = kc.execute("import time\nfor i in range(30):\n    time.sleep(0.1)")
    comm.state(lambda s: s["busy"], "busy state")
    reply = comm.command("files_list", path="/")
    assert reply["ok"] is False and "running a cell" in reply["message"]
    assert comm.command("interrupt")["ok"] is True
    while kc.get_shell_msg(timeout=HANG_GUARD)["parent_header"].get("msg_id") != msg_id:
        pass
    comm.state(lambda s: not s["busy"], "idle state")


# Pins and the bench ------------------------------------------------------------------------


def pins(comm, predicate, what: str) -> dict:
    return comm.wait_for(lambda d: d.get("type") == "pins" and predicate(d), what)


def test_pins_follow_a_cell_that_drives_a_pin(comm):
    first = pins(comm, lambda d: True, "a pin view")
    assert first["source"] == "emulator"
    assert first["profile"]["labels"]["IO2"] == 2
    assert set(first["pins"]) >= {"0", "2", "4", "34", "39"} and "6" not in first["pins"]
    comm.run("from machine import Pin\np2 = Pin(2, Pin.OUT)\np2.value(1)")
    on = pins(comm, lambda d: d["pins"]["2"] == {**d["pins"]["2"], "mode": "out", "level": 1}, "GPIO 2 high")
    assert on["pins"]["2"]["volts"] > 3
    comm.run("p2.value(0)")
    pins(comm, lambda d: d["pins"]["2"]["mode"] == "out" and d["pins"]["2"]["level"] == 0, "GPIO 2 low")


def test_a_real_boards_pins_come_from_its_gpio_registers(tmp_path):
    """A board that is not the kernel's own emulator (here an emulator started apart, which
    the kernel treats as any board on a port): the pin view reads machine.mem32's GPIO
    registers between cells, as on a real ESP32."""
    with launch(board_dir=tmp_path / "board") as board, running_kernel(tmp_path, ESP32_KERNEL_PORT=board.url) as (_, kc):
        comm = Comm(kc)
        comm.run("from machine import Pin\nPin(2, Pin.OUT).value(1)\nPin(4, Pin.OUT).value(0)\nPin(34, Pin.IN)")
        assert comm.command("pins")["ok"] is True
        # (the views sent before the cell ran show GPIO 2 as an input)
        view = pins(comm, lambda d: d["source"] == "board" and d["pins"]["2"]["mode"] == "out", "GPIO 2 an output, from the registers")
        assert view["pins"]["2"]["level"] == 1
        assert view["pins"]["4"]["mode"] == "out" and view["pins"]["4"]["level"] == 0
        assert view["pins"]["0"] == {**view["pins"]["0"], "mode": None, "level": 1}  # BOOT's pull-up
        assert view["pins"]["34"]["mode"] is None
        comm.close()


def test_bench_pot_shows_on_an_adc_pin_and_press_fires_an_irq(comm):
    reply = comm.command("bench", words=["add_pot", 34, 0.5])
    assert reply["ok"] is True, reply
    view = pins(comm, lambda d: 1.5 < (d["pins"]["34"]["volts"] or 0) < 1.8, "GPIO 34 at half of 3.3 V")
    assert view["bench"]["pots"]["34"] == 0.5
    assert comm.command("bench", words=["remove", 34])["ok"] is True
    # a button on GPIO 0 (the BOOT button) and an IRQ handler printing
    comm.run("from machine import Pin\nhits = []\nb = Pin(0, Pin.IN, Pin.PULL_UP)\nb.irq(lambda p: hits.append(1), Pin.IRQ_FALLING)")
    assert comm.command("bench", words=["press", 0, 50])["ok"] is True
    pins(comm, lambda d: d["bench"]["buttons"].get("0", {}).get("pressed") is False, "the button released")
    run = comm.run("import time\nfor _ in range(20):\n    if hits: break\n    time.sleep(0.05)\nlen(hits)")
    assert run.result == "1"


def test_bench_refuses_what_the_panel_should_not_do(comm):
    assert comm.command("bench", words=["hard_reset"])["ok"] is False
    assert comm.command("bench", words=["press", "0 ; hard_reset"])["ok"] is False
    assert comm.command("bench", words=[])["ok"] is False
    reply = comm.command("bench", words=["press", 99])
    assert reply["ok"] is False and "bench press" in reply["message"]


def test_file_operations_sent_together_wait_for_each_other(comm):
    import base64
    import uuid as _uuid

    kc = comm.kc
    ids = []
    for i in range(3):
        request_id = _uuid.uuid4().hex
        data = {"command": "files_write", "id": request_id, "path": f"/queued{i}.txt",
                "content": base64.b64encode(f"file {i}".encode()).decode()}  # fmt: skip
        kc.shell_channel.send(kc.session.msg("comm_msg", {"comm_id": comm.comm_id, "data": data}))
        ids.append(request_id)
    for request_id in ids:
        reply = comm.wait_for(lambda d, r=request_id: d.get("type") == "reply" and d.get("id") == r, "a queued write")
        assert reply["ok"] is True, reply
    names = {e["name"] for e in comm.command("files_list", path="/")["entries"]}
    assert {"queued0.txt", "queued1.txt", "queued2.txt"} <= names
    for i in range(3):
        assert comm.command("files_delete", path=f"/queued{i}.txt")["ok"] is True
