"""What code did to the board's pins, as the emulator's bench saw it: checks for graders.

A lab's hidden test checks what the student's code did, not only what it printed:

    %%host
    rec = bench.record()              # from now on: every pin change, PWM setting, ADC read
    board.exec("blink(2, seconds=5)") # or: the student's cells run meanwhile
    trace = rec.stop()
    trace.pin(2).expect_frequency(2, within=0.2)     # "blinked at 2 ± 0.2 Hz"
    trace.adc(34).expect_interval(0.1, within=0.02)  # "sampled every 100 ms"

Times are seconds since the recording started, on the bench's clock: the moment the bench
took each request of the board (within a fraction of a millisecond of the board's own
time). Each `expect_…` raises an AssertionError that says what was seen and what was
expected, so nbgrader and pytest report it as written.
"""

from __future__ import annotations

import bisect
import statistics
from dataclasses import dataclass

EDGES = ("rising", "falling", "both")


class NotRecorded(AssertionError):
    """The recording cannot answer: nothing happened on the pin in the window."""


@dataclass(frozen=True)
class PinTrace:
    """One pin's level over [start, end]: its level at start, then each change."""

    pin: int
    start: float
    end: float
    initial: int
    changes: tuple[tuple[float, int], ...]  # (time, new level), in order
    pwm: tuple[tuple[float, int, int], ...] = ()  # (time, frequency Hz, duty_u16); 0 Hz: PWM off

    def level_at(self, t: float) -> int:
        i = bisect.bisect_right([c[0] for c in self.changes], t)
        return self.changes[i - 1][1] if i else self.initial

    def between(self, start: float, end: float) -> PinTrace:
        """The same pin over a window of the recording (seconds since its start)."""
        start, end = max(start, self.start), min(end, self.end)
        if end < start:
            raise ValueError(f"the window {start:.3f}..{end:.3f} s is outside the recording ({self.start:.3f}..{self.end:.3f} s)")
        return PinTrace(self.pin, start, end, self.level_at(start),
                        tuple(c for c in self.changes if start < c[0] <= end),
                        tuple(p for p in self.pwm if p[0] <= end))  # fmt: skip

    def edges(self, kind: str = "rising") -> list[float]:
        """When the pin went high ("rising"), low ("falling") or either ("both")."""
        if kind not in EDGES:
            raise ValueError(f"edges: kind must be one of {', '.join(EDGES)}, not {kind!r}")
        wanted = {"rising": (1,), "falling": (0,), "both": (0, 1)}[kind]
        return [t for t, level in self.changes if level in wanted]

    def count(self, kind: str = "rising") -> int:
        return len(self.edges(kind))

    def _pwm_in_effect(self) -> tuple[int, int] | None:
        """The PWM (Hz, duty_u16) that ran through the whole window, if one did."""
        before = [p for p in self.pwm if p[0] <= self.start]
        inside = [p for p in self.pwm if self.start < p[0] <= self.end]
        if inside or not before or not before[-1][1]:
            return None
        return before[-1][1], before[-1][2]

    def frequency(self) -> float:
        """Cycles per second: from the rising edges (first to last), or the PWM's frequency."""
        pwm = self._pwm_in_effect()
        if pwm is not None:
            return float(pwm[0])
        rising = self.edges("rising")
        if len(rising) < 2:
            raise NotRecorded(f"GPIO {self.pin} went high {len(rising)} time(s) in {self.duration:.2f} s: too few to"
                              " measure a frequency (did the code drive this pin, and for long enough?)")  # fmt: skip
        return (len(rising) - 1) / (rising[-1] - rising[0])

    def duty(self) -> float:
        """The fraction of the time the pin was high (PWM: its duty)."""
        pwm = self._pwm_in_effect()
        if pwm is not None:
            return pwm[1] / 65535
        if self.duration <= 0:
            raise NotRecorded(f"the recording of GPIO {self.pin} is empty")
        high, t, level = 0.0, self.start, self.initial
        for when, new in self.changes:
            high += (when - t) * level
            t, level = when, new
        high += (self.end - t) * level
        return high / self.duration

    @property
    def duration(self) -> float:
        return self.end - self.start

    def expect_frequency(self, hz: float, within: float, seconds: float | None = None) -> None:
        """That the pin toggled at hz ± within, for at least `seconds` (default: the whole window)."""
        seen = self.frequency()
        rising = self.edges("rising")
        lasted = (rising[-1] - rising[0]) if len(rising) > 1 else self.duration
        if abs(seen - hz) > within:
            raise AssertionError(f"GPIO {self.pin} blinked at {seen:.2f} Hz; expected {hz:g} ± {within:g} Hz")
        if seconds is not None and lasted + 1 / hz < seconds:
            raise AssertionError(f"GPIO {self.pin} blinked at {seen:.2f} Hz for {lasted + 1 / hz:.1f} s; expected at"
                                 f" least {seconds:g} s")  # fmt: skip

    def expect_duty(self, fraction: float, within: float) -> None:
        seen = self.duty()
        if abs(seen - fraction) > within:
            raise AssertionError(f"GPIO {self.pin} was high {seen:.0%} of the time; expected {fraction:.0%} ± {within:.0%}")

    def expect_count(self, n: int, kind: str = "rising") -> None:
        seen = self.count(kind)
        if seen != n:
            raise AssertionError(f"GPIO {self.pin} had {seen} {kind} edge(s); expected {n}")


@dataclass(frozen=True)
class AdcTrace:
    """When the code read one ADC pin, and the voltage it got each time."""

    pin: int
    reads: tuple[tuple[float, float], ...]  # (time, volts)

    def times(self) -> list[float]:
        return [t for t, _ in self.reads]

    def intervals(self) -> list[float]:
        t = self.times()
        return [b - a for a, b in zip(t, t[1:])]

    def expect_interval(self, seconds: float, within: float) -> None:
        """That the pin was read every `seconds` ± within (the median interval)."""
        gaps = self.intervals()
        if not gaps:
            raise NotRecorded(f"the ADC on GPIO {self.pin} was read {len(self.reads)} time(s): too few to see an interval")
        seen = statistics.median(gaps)
        if abs(seen - seconds) > within:
            raise AssertionError(f"the ADC on GPIO {self.pin} was read every {seen * 1000:.0f} ms; expected every"
                                 f" {seconds * 1000:g} ± {within * 1000:g} ms")  # fmt: skip


@dataclass(frozen=True)
class Trace:
    """A recording: every pin change, PWM setting and ADC read between its start and end."""

    duration: float
    levels: dict[int, int]
    changes: tuple[tuple[float, int, int], ...]  # (time, pin, level)
    pwm: tuple[tuple[float, int, int, int], ...]  # (time, pin, Hz, duty_u16)
    adc_reads: tuple[tuple[float, int, float], ...]  # (time, pin, volts)
    truncated: bool

    @classmethod
    def from_bench(cls, answer: dict) -> Trace:
        start = answer["start"]
        rows = {kind: tuple((row[0] - start, *row[1:]) for row in answer[kind]) for kind in ("changes", "pwm", "adc_reads")}
        return cls(answer["end"] - start, {int(p): v for p, v in answer["levels"].items()}, truncated=answer["truncated"], **rows)

    def pin(self, gpio: int) -> PinTrace:
        if gpio not in self.levels:
            raise ValueError(f"GPIO {gpio} does not exist on an ESP32")
        return PinTrace(gpio, 0.0, self.duration, self.levels[gpio],
                        tuple((t, level) for t, p, level in self.changes if p == gpio),
                        tuple((t, hz, duty) for t, p, hz, duty in self.pwm if p == gpio))  # fmt: skip

    def adc(self, gpio: int) -> AdcTrace:
        return AdcTrace(gpio, tuple((t, volts) for t, p, volts in self.adc_reads if p == gpio))

    def __repr__(self) -> str:
        pins = sorted({p for _, p, _ in self.changes})
        cut = ", cut off at its limit" if self.truncated else ""
        return (f"<Trace of {self.duration:.2f} s: {len(self.changes)} pin changes on GPIO {pins or 'none'},"
                f" {len(self.adc_reads)} ADC reads{cut}>")  # fmt: skip


class Recorder:
    """A recording in progress on an emulator's bench (EmulatorProcess.record())."""

    def __init__(self, emulator) -> None:
        self._emulator = emulator
        emulator.bench("record_start")

    def now(self) -> Trace:
        """What was recorded so far; the recording goes on."""
        return Trace.from_bench(self._emulator.bench("record"))

    def stop(self) -> Trace:
        return Trace.from_bench(self._emulator.bench("record", "stop"))
