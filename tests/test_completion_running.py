"""Completion and inspection while a device cell runs: answered at once, from the stubs and
the names earlier cells bound, with the cell left running and its output whole."""

from __future__ import annotations

import queue
import time

from esp32_kernel.cells import parse_cell
from esp32_kernel.completion import Binding, cell_bindings
from kernel_harness import HANG_GUARD, run_cell

COUNTING_LOOP = "import time\nn = 0\nwhile True:\n    n += 1\n    print(n)\n    time.sleep_ms(10)"


class Iopub:
    """The kernel's iopub messages, read as they come and kept for later assertions."""

    def __init__(self, kc) -> None:
        self.kc = kc
        self.seen: list[dict] = []

    def until(self, condition, what: str) -> None:
        deadline = time.monotonic() + HANG_GUARD
        while not condition():
            try:
                self.seen.append(self.kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic())))
            except queue.Empty:
                raise AssertionError(f"no {what} within {HANG_GUARD} s") from None

    def of(self, msg_id: str) -> list[dict]:
        return [m for m in self.seen if m["parent_header"].get("msg_id") == msg_id]

    def statuses(self, msg_id: str) -> list[str]:
        return [m["content"]["execution_state"] for m in self.of(msg_id) if m["msg_type"] == "status"]

    def numbers(self, msg_id: str) -> list[int]:
        text = "".join(m["content"]["text"] for m in self.of(msg_id) if m["msg_type"] == "stream")
        # (the last line may still be coming; a notice may come first)
        return [int(line) for line in text.split("\n")[:-1] if line.isdigit()]


def reply_to(kc, msg_id: str, msg_type: str) -> dict:
    """The shell reply to request `msg_id` (interrupt replies reuse msg_ids: check the type)."""
    deadline = time.monotonic() + HANG_GUARD
    while True:
        try:
            msg = kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no reply to {msg_type} within {HANG_GUARD} s") from None
        parent = msg["parent_header"]
        if parent.get("msg_id") == msg_id and parent.get("msg_type") == msg_type:
            return msg


def complete(kc, code: str) -> dict:
    return reply_to(kc, kc.complete(code, len(code)), "complete_request")["content"]


def inspect(kc, code: str, cursor: int) -> str:
    content = reply_to(kc, kc.inspect(code, cursor), "inspect_request")["content"]
    assert content["status"] == "ok" and content["found"], content
    return content["data"]["text/plain"]


def test_completion_and_inspection_answer_while_a_cell_runs(kernel):
    km, kc = kernel
    assert run_cell(kc, "from machine import Pin\nled = Pin(2, Pin.OUT)\nsensor_total = 0").status == "ok"
    iopub = Iopub(kc)
    cell = kc.execute(COUNTING_LOOP)
    iopub.until(lambda: len(iopub.numbers(cell)) >= 3, "output from the running cell")

    assert {"Pin", "PWM"} <= set(complete(kc, "machine.P")["matches"])  # the stubs
    assert complete(kc, "sensor_t")["matches"] == ["sensor_total"]  # an earlier cell's name
    assert "n" in complete(kc, "n")["matches"]  # the running cell's own globals
    assert {"on", "off", "value"} <= set(complete(kc, "led.")["matches"])  # led = Pin(...)
    assert "sleep_ms(ms: int" in inspect(kc, "time.sleep_ms(10)", 8)
    assert "a global on the board" in inspect(kc, "sensor_total", 5)
    assert "machine.Pin" in inspect(kc, "led", 2)
    assert reply_to(kc, kc.kernel_info(), "kernel_info_request")["content"]["implementation"] == "esp32_kernel"

    # Still running, and every line it printed arrived: nothing was written to its link.
    count_at_replies = len(iopub.numbers(cell))
    iopub.until(lambda: len(iopub.numbers(cell)) > count_at_replies + 3, "more output after the replies")
    numbers = iopub.numbers(cell)
    assert numbers == list(range(1, len(numbers) + 1))

    km.interrupt_kernel()
    reply = reply_to(kc, cell, "execute_request")
    assert reply["content"]["ename"] == "KeyboardInterrupt"
    assert run_cell(kc, "sensor_total + 1").result == "1"
    assert complete(kc, "sensor_t")["matches"] == ["sensor_total"]  # the board answers again


def test_each_request_beside_the_cell_has_its_busy_and_idle_and_the_cell_stays_busy(kernel):
    km, kc = kernel
    iopub = Iopub(kc)
    cell = kc.execute(COUNTING_LOOP)
    iopub.until(lambda: iopub.numbers(cell), "output from the running cell")
    request = kc.complete("machine.P", 9)
    reply = reply_to(kc, request, "complete_request")
    assert reply["parent_header"]["msg_id"] == request
    iopub.until(lambda: "idle" in iopub.statuses(request), "idle status of the completion")
    assert iopub.statuses(request) == ["busy", "idle"]
    # The latest status tells front ends the kernel's state: busy again, for the cell.
    idle_at = iopub.seen.index(iopub.of(request)[-1])

    def statuses_after_idle() -> list[dict]:
        return [m for m in iopub.seen[idle_at + 1 :] if m["msg_type"] == "status"]

    iopub.until(statuses_after_idle, "a status after the completion's idle")
    after = statuses_after_idle()
    assert after[0]["content"]["execution_state"] == "busy"
    assert after[0]["parent_header"]["msg_id"] == cell
    assert iopub.statuses(cell) == ["busy", "busy"]  # its own, then the one restored

    km.interrupt_kernel()
    assert reply_to(kc, cell, "execute_request")["content"]["ename"] == "KeyboardInterrupt"
    iopub.until(lambda: "idle" in iopub.statuses(cell), "the cell's idle")
    # (the interrupt, a control request, may add one more busy for the cell before its end)
    statuses = iopub.statuses(cell)
    assert statuses[-1] == "idle" and statuses.count("idle") == 1 and len(statuses) >= 3, statuses


def test_a_reboot_forgets_the_names_the_board_had(kernel):
    km, kc = kernel
    assert run_cell(kc, "doomed_name = 1").status == "ok"
    assert run_cell(kc, "import machine\nmachine.reset()").reply["content"]["ename"] == "BoardReset"
    iopub = Iopub(kc)
    cell = kc.execute(COUNTING_LOOP)
    iopub.until(lambda: iopub.numbers(cell), "output from the running cell")
    assert complete(kc, "doomed_")["matches"] == []
    assert "n" in complete(kc, "n")["matches"]
    km.interrupt_kernel()
    assert reply_to(kc, cell, "execute_request")["content"]["ename"] == "KeyboardInterrupt"


def test_requests_between_cells_still_ask_the_board(kernel):
    _, kc = kernel
    run_cell(kc, "exec('made_by_exec = 1')")  # a name no cell's source shows
    assert complete(kc, "made_by_e")["matches"] == ["made_by_exec"]
    assert "On the board: made_by_exec = 1  (int)" in inspect(kc, "made_by_exec", 4)


def bindings(source: str) -> dict[str, Binding]:
    return cell_bindings(source, parse_cell(source))


def test_cell_bindings_read_the_globals_a_cell_binds():
    bound = bindings(
        "from machine import Pin as P\nimport machine, time as t\nled = P(2)\nadc = machine.ADC(machine.Pin(34))\n"
        "for i in range(3):\n    total = i\ndef f(a):\n    inner = a\nsquares = [x * x for x in range(3)]\nled2 = 3\n"
    )
    assert set(bound) == {"P", "machine", "t", "led", "adc", "i", "total", "f", "squares", "led2"}
    assert bound["P"] == Binding("machine.Pin") and bound["t"] == Binding("time")
    assert bound["led"] == Binding("machine.Pin", instance=True)
    assert bound["adc"] == Binding("machine.ADC", instance=True)
    assert bound["led2"] == Binding()
    assert bindings("led = Pin(2)\nled = 3") == {"led": Binding()}  # the last binding wins


def test_cell_bindings_of_every_statement_that_binds():
    source = (
        "a, (b, *c) = 1, (2, 3)\nwith open('f') as f, x() as (g, h):\n    pass\nif (w := 3):\n    k: int = 1\n"
        "while 0:\n    m += 1\ntry:\n    pass\nexcept E as err:\n    pass\nelse:\n    el = 1\nfinally:\n    fi = 2\n"
        "obj.attr = 5\nlst[0] = 3\ndef f2(x=(d := 1)):\n    inside = 1\nclass K:\n    member = 1\n"
    )
    assert set(bindings(source)) == {"a", "b", "c", "f", "g", "h", "w", "k", "m", "err", "el", "fi", "f2", "K"}


def test_cell_bindings_of_source_cpython_cannot_parse():
    # MicroPython's own syntax errors are the board's to report; completion keeps what it can.
    assert set(bindings("count = 0\ndef tick(:\n    count += 1\nclass Meter:\n")) == {"count", "tick", "Meter"}
    assert bindings("") == {} and bindings("\x00") == {}
