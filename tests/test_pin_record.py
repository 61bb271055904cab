"""Grading against the bench (esp32_kernel/pin_record.py): the emulator records what the
board's code did to its pins, and a grader's checks read it — here on the real emulator, and
through the kernel as a lab's hidden test cell (%%host) runs them."""

from __future__ import annotations

import pytest

from esp32_kernel.emulator.process import EmulatorError
from esp32_kernel.pin_record import NotRecorded
from kernel_harness import run_cell

BLINK = """
from machine import Pin
import time
led = Pin(2, Pin.OUT)
for _ in range({cycles}):
    led.on(); time.sleep_ms({half_ms})
    led.off(); time.sleep_ms({half_ms})
"""


def test_a_blink_is_seen_at_its_frequency_and_duty(emulator, board):
    rec = emulator.record()
    board.exec(BLINK.format(cycles=8, half_ms=100))  # 5 Hz for 1.6 s
    trace = rec.stop()
    led = trace.pin(2)
    assert led.count("rising") == 8 and led.count("falling") == 8
    assert led.frequency() == pytest.approx(5, abs=0.3)
    assert led.between(led.edges()[0], led.edges("falling")[-1]).duty() == pytest.approx(0.5, abs=0.05)
    led.expect_frequency(5, within=0.3, seconds=1.5)
    with pytest.raises(AssertionError, match=r"GPIO 2 blinked at [45]\.\d\d Hz; expected 2 ± 0\.2 Hz"):
        led.expect_frequency(2, within=0.2)
    with pytest.raises(AssertionError, match=r"for 1\.\d s; expected at least 5 s"):
        led.expect_frequency(5, within=0.3, seconds=5)
    with pytest.raises(AssertionError, match="GPIO 2 had 8 rising edge"):
        led.expect_count(3)
    with pytest.raises(NotRecorded, match="GPIO 4 went high 0 time"):  # a pin the code never drove
        trace.pin(4).frequency()


def test_adc_sampling_and_pwm_are_recorded(emulator, board):
    emulator.add_pot(34, 0.25)
    board.exec("from machine import Pin, PWM; pwm = PWM(Pin(13), freq=1000, duty_u16=16384)")
    rec = emulator.record()  # the PWM started before the recording: it is in effect at its start
    board.exec("from machine import ADC\nimport time\nadc = ADC(Pin(34))\nfor _ in range(6):\n"
               "    adc.read_u16(); time.sleep_ms(50)")  # fmt: skip
    trace = rec.now()
    reads = trace.adc(34)
    assert len(reads.times()) == 6 and reads.reads[0][1] == pytest.approx(0.825, abs=0.01)
    reads.expect_interval(0.05, within=0.01)
    with pytest.raises(AssertionError, match=r"read every 5\d ms; expected every 100 ± 20 ms"):
        reads.expect_interval(0.1, within=0.02)
    assert trace.pin(13).frequency() == 1000 and trace.pin(13).duty() == pytest.approx(0.25, abs=0.001)
    board.exec("pwm.duty_u16(49152)")
    pwm = rec.stop().pin(13)
    pwm.between(pwm.pwm[-1][0], pwm.end).expect_duty(0.75, within=0.01)
    with pytest.raises(EmulatorError, match="nothing is being recorded: record_start first"):
        emulator.bench("record")
    board.exec("pwm.deinit()")


def test_a_hidden_test_cell_grades_the_code_through_the_kernel(kc):
    assert run_cell(kc, "%%host\nrec = bench.record()").status == "ok"
    assert run_cell(kc, BLINK.format(cycles=6, half_ms=100)).status == "ok"
    graded = run_cell(kc, "%%host\ntrace = rec.stop()\ntrace.pin(2).expect_frequency(5, within=0.5)\nprint(trace)")
    assert graded.status == "ok" and "pin changes on GPIO [2]" in graded.stdout
    failed = run_cell(kc, "%%host\ntrace.pin(2).expect_frequency(2, within=0.2)")
    assert failed.error["ename"] == "AssertionError" and "expected 2 ± 0.2 Hz" in failed.error["evalue"]
    board_failed = run_cell(kc, '%%host\nboard.exec("blink_at(2)")')
    assert board_failed.error["evalue"] == "NameError: name 'blink_at' isn't defined"
    shown = "\n".join(board_failed.error["traceback"])  # the cell's line, not the kernel's own code
    assert "blink_at" in shown and "board.py" not in shown and "session.py" not in shown, shown


def test_bench_in_a_host_cell_says_when_the_board_is_not_the_kernels_emulator(kc, emulator):
    # a board the kernel did not start (here an emulator of the test's, reached as any board is)
    assert run_cell(kc, f"%connect {emulator.url}").status == "ok"
    try:
        failed = run_cell(kc, "%%host\nbench.press(0)")
        assert failed.error["ename"] == "NoBench"
        assert "the bench is the emulated board's, and this kernel is on a real board" in failed.error["evalue"]
    finally:
        assert run_cell(kc, "%connect emulator").status == "ok"
    assert run_cell(kc, "%%host\nprint(bench)").stdout.startswith("<bench of the emulated board at socket://")
