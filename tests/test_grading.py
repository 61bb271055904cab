"""A hardware lab graded with nbgrader against the bench: the hidden test checks what the
student's code did to the board's pin (pin_record.py), on a blank emulated board for each
submission (ESP32_KERNEL_FRESH_BOARD=1). Real nbgrader, real kernels, real emulators."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from kernel_harness import isolated_env

nbgrader_api = pytest.importorskip("nbgrader.api", reason="nbgrader is a test dependency (make test installs it)")

SOLUTION = """\
from machine import Pin
import time

def blink(pin, hz, seconds):
    ### BEGIN SOLUTION
    led = Pin(pin, Pin.OUT)
    for _ in range(round(hz * seconds)):
        led.on(); time.sleep_ms(round(500 / hz))
        led.off(); time.sleep_ms(round(500 / hz))
    ### END SOLUTION
"""
HIDDEN_TEST = """\
%%host
rec = bench.record()
board.exec("blink(2, 2, 3)")
### BEGIN HIDDEN TESTS
rec.stop().pin(2).expect_frequency(2, within=0.2, seconds=3)
### END HIDDEN TESTS
"""
ANSWERS = {  # what each student wrote in place of the solution
    "alice": "    led = Pin(pin, Pin.OUT)\n    for _ in range(hz * seconds):\n"
             "        led.value(1); time.sleep(0.5 / hz); led.value(0); time.sleep(0.5 / hz)\n",
    "bob": "    led = Pin(pin, Pin.OUT)\n    for _ in range(seconds):\n"  # one blink a second, whatever hz says
           "        led.value(1); time.sleep(0.5); led.value(0); time.sleep(0.5)\n",
}  # fmt: skip


def nbgrader(course: Path, *args: str) -> None:
    env = isolated_env(course.parent, ESP32_KERNEL_FRESH_BOARD="1")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env["PATH"]  # it runs `alembic`, as an activated venv has it
    done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


def test_nbgrader_scores_a_blink_lab_by_what_the_pin_did(tmp_path: Path):
    course = tmp_path / "course"
    (course / "source" / "blink").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.course_id = 'esp32-lab'\nc.Execute.timeout = 120\n"
    )
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "esp32", "display_name": "ESP32 (MicroPython)", "language": "python"}})
    nb.cells = [
        nbformat.v4.new_markdown_cell("Write `blink(pin, hz, seconds)`: blink the LED on `pin` at `hz` for `seconds`."),
        nbformat.v4.new_code_cell(SOLUTION, metadata={"nbgrader": {"solution": True, "grade": False, "locked": False,
                                                                   "grade_id": "blink", "schema_version": 3}}),
        nbformat.v4.new_code_cell(HIDDEN_TEST, metadata={"nbgrader": {"solution": False, "grade": True, "locked": True,
                                                                      "grade_id": "blinks_at_2_hz", "points": 2,
                                                                      "schema_version": 3}}),
    ]  # fmt: skip
    nbformat.write(nb, course / "source" / "blink" / "blink.ipynb")
    nbgrader(course, "generate_assignment", "blink", "--force")

    released = nbformat.read(course / "release" / "blink" / "blink.ipynb", as_version=4)
    assert "expect_frequency" not in released.cells[2].source  # the hidden test is hidden
    for student, answer in ANSWERS.items():
        submission = nbformat.from_dict(released)
        code = submission.cells[1]
        assert "raise NotImplementedError()" in code.source
        code.source = code.source.replace("    # YOUR CODE HERE\n    raise NotImplementedError()\n", answer)
        folder = course / "submitted" / student / "blink"
        folder.mkdir(parents=True)
        nbformat.write(submission, folder / "blink.ipynb")
    nbgrader(course, "autograde", "blink", "--create", "--force")

    with nbgrader_api.Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {s: gradebook.find_submission("blink", s).score for s in ANSWERS}
    assert scores == {"alice": 2, "bob": 0}
    graded = nbformat.read(course / "autograded" / "bob" / "blink" / "blink.ipynb", as_version=4)
    error = next(o for o in graded.cells[2].outputs if o.output_type == "error")
    assert error.ename == "AssertionError" and "GPIO 2 blinked at 1.00 Hz; expected 2 ± 0.2 Hz" in error.evalue
