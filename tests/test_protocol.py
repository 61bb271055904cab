"""The raw REPL machine (esp32_kernel.link.protocol) against the bytes a board really sends.

The byte scripts come from shared/runtime/pyexec.c (raw REPL, raw-paste reader), from the
MicroPython unix port run on a raw pty (its lines end in \\n), and from an ESP32's ROM and
MicroPython output (lines end in \\r\\n). `check` plays every script whole, one byte at a
time, split at every point and split at random: the events (adjacent output merged), the
bytes the host sends and the final state must not change. Hypothesis then fuzzes the
machine with random streams in every state and with whole sessions against `FakeBoard`,
a model of pyexec.c's end of the wire.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import signal
import struct
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from esp32_kernel.link.protocol import (
    RAW_BANNER,
    UNREADABLE_RESET,
    Done,
    ProtocolError,
    RawRepl,
    Ready,
    Rebooted,
    State,
    Stderr,
    Stdout,
    Unsolicited,
)

BANNER = RAW_BANNER  # b"raw REPL; CTRL-B to exit\r\n>"
ENTER = b"\r\x03\x03\x01"  # what enter() sends
PASTE = b"\x05A\x01"  # the raw-paste request
HEADER = b"R\x01\x80\x00\x01"  # raw-paste accepted, window 128 (+ the second window's \x01)
MPY_BANNER = (
    b"MicroPython v1.24.0 on 2024-10-25; Generic ESP32 module with ESP32\r\n"
    b'Type "help()" for more information.\r\n'
)
ROM_FIRST_LINE = b"ets Jun  8 2016 00:22:57\r\n\r\n"


def rom(reset: bytes = b"rst:0x1 (POWERON_RESET)") -> bytes:
    """What an ESP32 prints from the ROM and the bootloader up to MicroPython's banner."""
    return (
        ROM_FIRST_LINE + reset + b",boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n"
        b"configsip: 0, SPIWP:0xee\r\n"
        b"clk_drv:0x00,q_drv:0x00,d_drv:0x00,cs0_drv:0x00,hd_drv:0x00,wp_drv:0x00\r\n"
        b"mode:DIO, clock div:2\r\nload:0x3fff0030,len:4916\r\nload:0x40078000,len:16436\r\n"
        b"load:0x40080400,len:4\r\nho 8 tail 4 room 4\r\nload:0x40080404,len:3524\r\n"
        b"entry 0x400805b8\r\n"
    )


def traceback(nl: bytes, *lines: bytes) -> bytes:
    return nl.join([b"Traceback (most recent call last):", *lines, b""])


# Helpers ------------------------------------------------------------------------------


def merge(events: list) -> list:
    """Join adjacent Stdout, Stderr or Unsolicited events of one kind: chunking may split them."""
    merged: list = []
    for event in events:
        if merged and type(event) is type(merged[-1]) and hasattr(event, "data"):
            merged[-1] = type(event)(merged[-1].data + event.data)
        else:
            merged.append(event)
    return merged


def feed(machine: RawRepl, *chunks: bytes) -> list:
    """The merged events of receiving `chunks` one after the other."""
    return merge([event for chunk in chunks for event in machine.receive(chunk)])


def output_bytes(events: list) -> int:
    return sum(len(e.data) for e in events if isinstance(e, (Stdout, Stderr, Unsolicited)))


@contextlib.contextmanager
def time_limit(seconds: float = 2.0):
    """Fail instead of hanging if the machine loops forever."""

    def expire(signum, frame):
        raise TimeoutError(f"no answer within {seconds} s: the machine loops")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# Scripts: board bytes, host commands, and the bytes the host must have sent by then.


@dataclass(frozen=True)
class Board:
    data: bytes


@dataclass(frozen=True)
class Host:
    data: bytes  # everything the host sent since the previous Host step


def enter(m: RawRepl) -> None:
    m.enter()


def interrupt(m: RawRepl) -> None:
    m.interrupt()


def soft_reset(m: RawRepl) -> None:
    m.soft_reset()


def execute(code: bytes, **options):
    return lambda m: m.execute(code, **options)


AT_PROMPT = [enter, Host(ENTER), Board(BANNER)]


def play(script: list, split=lambda data: [data], start: list = ()) -> tuple[list, RawRepl]:
    """Run `start` whole, then `script` with its board bytes cut by `split`; return the
    script's merged events and the machine. Host steps are asserted, and the script must
    account for every byte the host sends."""
    machine = RawRepl()
    sent = b""

    def run(steps: list, cut) -> list:
        nonlocal sent
        events: list = []
        for step in steps:
            if isinstance(step, Board):
                for chunk in cut(step.data):
                    events += machine.receive(chunk)
                    sent += machine.data_to_send()
            elif isinstance(step, Host):
                assert sent == step.data, f"the host sent {sent!r}, expected {step.data!r}"
                sent = b""
            else:
                step(machine)
                sent += machine.data_to_send()
        return events

    run(start, lambda data: [data])
    events = run(script, split)
    assert sent == b"", f"the host also sent {sent!r}"
    return merge(events), machine


def random_split(rnd: random.Random):
    def split(data: bytes) -> list[bytes]:
        cuts = sorted(rnd.sample(range(1, len(data)), min(max(len(data) - 1, 0), rnd.randint(1, 8))))
        return [data[a:b] for a, b in itertools.pairwise([0, *cuts, len(data)])]

    return split


def chunkings(longest: int):
    yield "whole", lambda data: [data]
    yield "bytewise", lambda data: [data[i : i + 1] for i in range(len(data))]
    for k in range(1, longest):
        yield f"split at {k}", lambda data, k=k: [data[:k], data[k:]]
    for seed in range(20):
        yield f"random split {seed}", random_split(random.Random(seed))


def check(script: list, events: list, state: State, *, start: list = AT_PROMPT) -> RawRepl:
    """Assert `script` gives `events` and ends in `state` however its board bytes are cut."""
    longest = max((len(step.data) for step in script if isinstance(step, Board)), default=0)
    for name, split in chunkings(longest):
        got, machine = play(script, split, start)
        assert (got, machine.state) == (events, state), f"fed {name}"
    return machine


NL = pytest.mark.parametrize("nl", [b"\r\n", b"\n"], ids=["esp32", "unix"])


# Entering the raw REPL ----------------------------------------------------------------


def test_enter_from_the_friendly_repl_with_a_half_typed_line():
    # Recorded from the unix port: "1+" typed at ">>> ", then enter(). What the board
    # said before enter() is its own output; the rest up to the banner is history.
    script = [
        Board(MPY_BANNER + b">>> 1+"),
        enter,
        Host(ENTER),
        Board(
            b'\r\nTraceback (most recent call last):\n  File "<stdin>", line 1\n'
            b"SyntaxError: invalid syntax\n>>> \r\n>>> \r\n>>> \r\nraw REPL; CTRL-B to exit\r\n>"
        ),
    ]
    check(script, [Unsolicited(MPY_BANNER + b">>> 1+"), Ready()], State.IDLE, start=[])


def test_enter_from_a_running_main_py_loop():
    script = [
        Board(b"tick 41\r\ntick 42\r\n"),
        enter,
        Host(ENTER),
        Board(
            b"tick 43\r\n"
            + traceback(b"\r\n", b'  File "main.py", line 6, in <module>', b"KeyboardInterrupt: ")
            + MPY_BANNER
            + b">>> \r\n>>> \r\nraw REPL; CTRL-B to exit\r\n>"
        ),
    ]
    check(script, [Unsolicited(b"tick 41\r\ntick 42\r\n"), Ready()], State.IDLE, start=[])


def test_enter_from_a_raw_prompt_with_a_half_typed_line():
    # Recorded: "prin" typed at the raw prompt; \r goes into the line, Ctrl-C clears it.
    check([enter, Host(ENTER), Board(BANNER)], [Ready()], State.IDLE, start=[])


@NL
def test_enter_from_the_middle_of_a_raw_paste(nl):
    # Recorded: the board was reading a raw-paste; our Ctrl-C ended it with a
    # KeyboardInterrupt, and Ctrl-A printed the banner.
    board = b"\x04\x04KeyboardInterrupt: " + nl + b"\x04>" + BANNER
    check([enter, Host(ENTER), Board(board)], [Ready()], State.IDLE, start=[])


def test_enter_from_a_raw_paste_that_waits_for_the_end_after_a_compile_error():
    board = b"\x04" + traceback(b"\r\n", b'  File "<stdin>", line 1', b"SyntaxError: invalid syntax")
    check([enter, Host(ENTER), Board(board + b"\x04>" + BANNER)], [Ready()], State.IDLE, start=[])


def test_enter_with_boot_noise_before_the_banner():
    # The port was just opened, which reset the board; our bytes got through after boot.
    board = rom() + MPY_BANNER + b">>> \r\n>>> \r\n>>> \r\n" + BANNER
    check([enter, Host(ENTER), Board(board)], [Ready()], State.IDLE, start=[])


def test_enter_again_from_any_state_clears_what_was_half_received():
    m = RawRepl()
    m.enter()
    feed(m, BANNER)
    m.execute(b"x" * 300)
    feed(m, HEADER[:3])
    m.enter()
    assert m.state is State.ENTERING
    assert m.data_to_send().endswith(ENTER)
    assert feed(m, b"\x80\x00\x01\x04\x04KeyboardInterrupt: \r\n\x04>" + BANNER) == [Ready()]
    assert m.data_to_send() == b""


@pytest.mark.parametrize("then", ["paste", "soft_reset"])
def test_a_late_banner_for_a_repeated_enter_is_not_an_answer(then):
    # board.py calls enter() again when the board is slow to answer: two banners come. The
    # second, arriving after a raw-paste request, is not old firmware refusing raw-paste
    # (the board is reading the paste); after a soft reset, not the board coming back.
    code = b"x = 1\n" * 50
    script = [enter, Host(ENTER), enter, Host(ENTER), Board(b"busy\r\nKeyboardInterrupt: \r\n" + BANNER)]
    if then == "paste":
        script += [execute(code), Host(PASTE), Board(BANNER + HEADER), Host(code[:256])]
        script += [Board(b"\x01"), Host(code[256:] + b"\x04"), Board(b"\x04\x04\x04>")]
        events = [Ready(), Done()]
    else:
        script += [soft_reset, Host(b"\x04"), Board(BANNER + b"OK\r\nMPY: soft reboot\r\n" + BANNER)]
        events = [Ready(), Rebooted("soft reboot"), Ready()]
    m = check(script, events, State.IDLE, start=[])
    assert m.paste_supported is (True if then == "paste" else None)


def test_repeated_raw_banners_are_protocol_not_output():
    # enter() twice, or Ctrl-A twice (recorded: \x01\x01 -> the banner twice).
    script = [
        Board(BANNER + BANNER),
        execute(b"x = 1"),
        Host(b"x = 1\x04"),
        Board(BANNER + b"OK\x04\x04>"),
    ]
    check(script, [Done()], State.IDLE)


# Plain raw mode -----------------------------------------------------------------------


@NL
def test_plain_raw_exec_with_output(nl):
    # Recorded: print(1+1) -> b"OK2\n\x04\x04>"
    script = [execute(b"print(1+1)"), Host(b"print(1+1)\x04"), Board(b"OK2" + nl + b"\x04\x04>")]
    check(script, [Stdout(b"2" + nl), Done()], State.IDLE)


@NL
def test_plain_raw_exec_with_a_traceback(nl):
    code = b'print("x", end="")\nraise ValueError("bad")'
    error = traceback(nl, b'  File "<stdin>", line 2, in <module>', b"ValueError: bad")
    script = [execute(code), Host(code + b"\x04"), Board(b"OKx\x04" + error + b"\x04>")]
    check(script, [Stdout(b"x"), Stderr(error), Done()], State.IDLE)


def test_plain_raw_exec_of_nothing_does_not_soft_reset_the_board():
    # Ctrl-D at an empty raw prompt is a soft reset (recorded: \x04 -> b"OK\r\n", then the
    # unix port exits). Empty code must still send a non-empty line: "\n" runs as nothing.
    script = [execute(b""), Host(b"\n\x04"), Board(b"OK\x04\x04>")]
    check(script, [Done()], State.IDLE)


def test_plain_raw_exec_output_that_looks_like_protocol():
    out = b"OK > raw REPL; CTRL-B to exit\r\nR\x01\x80\x00\x01 rst:0x MPY: soft\r\n"
    script = [execute(b"show()"), Host(b"show()\x04"), Board(b"OK" + out + b"\x04\x04>")]
    check(script, [Stdout(out), Done()], State.IDLE)


def test_short_code_goes_plain_long_code_and_control_bytes_go_raw_paste():
    m = RawRepl()
    m.enter()
    feed(m, BANNER)
    m.data_to_send()
    m.execute(b"x" * 256)
    assert m.data_to_send() == b"x" * 256 + b"\x04"
    feed(m, b"OK\x04\x04>")
    for code in (b"x" * 257, b"s = '\x01'", b"s = '\x02'"):
        m.execute(code)
        assert m.data_to_send() == PASTE
        feed(m, HEADER + b"\x01\x01\x04\x04\x04>")
        assert m.data_to_send() == code + b"\x04"
        assert m.state is State.IDLE


# Raw-paste ----------------------------------------------------------------------------


def test_raw_paste_follows_the_window_credit():
    # 600 bytes, window 128: the header grants one window and its \x01 another; the board
    # sends \x01 each time it has read a window (after 128, 256, 384 and 512 bytes).
    code = b"x = 1\n" * 100
    script = [
        execute(code),
        Host(PASTE),
        Board(HEADER),
        Host(code[:256]),
        Board(b"\x01"),
        Host(code[256:384]),
        Board(b"\x01"),
        Host(code[384:512]),
        Board(b"\x01"),
        Host(code[512:] + b"\x04"),
        Board(b"\x01\x04hi\r\n\x04\x04>"),  # the last window's \x01, then the ack
        Host(b""),
    ]
    m = check(script, [Stdout(b"hi\r\n"), Done()], State.IDLE)
    assert m.paste_supported is True


def test_raw_paste_with_a_small_window_and_code_a_window_multiple():
    code = bytes(range(32, 32 + 64))  # four windows of 16
    script = [
        execute(code, paste=True),
        Host(PASTE),
        Board(b"R\x01\x10\x00\x01"),
        Host(code[:32]),
        Board(b"\x01"),
        Host(code[32:48]),
        Board(b"\x01"),
        Host(code[48:] + b"\x04"),
        Board(b"\x01\x01\x04\x04\x04>"),
    ]
    check(script, [Done()], State.IDLE)


@NL
def test_raw_paste_recorded_from_the_unix_port(nl):
    # b"\x05A\x01" -> b"R\x01\x80\x00\x01"; b'print("hi")\x04' -> b"\x04hi\n\x04\x04>"
    script = [
        execute(b'print("hi")', paste=True),
        Host(PASTE),
        Board(HEADER),
        Host(b'print("hi")\x04'),
        Board(b"\x04hi" + nl + b"\x04\x04>"),
    ]
    check(script, [Stdout(b"hi" + nl), Done()], State.IDLE)


@NL
def test_raw_paste_aborted_by_a_compile_error_gets_exactly_one_ctrl_d(nl):
    # Recorded: the board stops reading at the error and sends \x04; the host answers one
    # \x04 (the board skips input up to it), then comes the traceback.
    code = b")\n" + b"print(2)\n" * 60
    error = traceback(nl, b'  File "<stdin>", line 1', b"SyntaxError: invalid syntax")
    script = [
        execute(code),
        Host(PASTE),
        Board(HEADER),
        Host(code[:256]),
        Board(b"\x04"),
        Host(b"\x04"),
        Board(b"\x04" + error + b"\x04>"),
        Host(b""),
    ]
    check(script, [Stderr(error), Done()], State.IDLE)


def test_raw_paste_abort_after_a_window_update():
    code = b")\n" + b"print(2)\n" * 60
    script = [
        execute(code),
        Host(PASTE),
        Board(HEADER),
        Host(code[:256]),
        Board(b"\x01\x04"),  # it read a window, then met the error
        Host(code[256:384] + b"\x04"),
        Board(b"\x04Traceback\r\n\x04>"),
    ]
    check(script, [Stderr(b"Traceback\r\n"), Done()], State.IDLE)


@NL
def test_raw_paste_abort_racing_our_own_ctrl_d_gets_no_second_one(nl):
    # Recorded: b"1+\x04" -> b"\x04\x04Traceback ... SyntaxError: invalid syntax\n\x04>".
    # The board's \x04 may be its abort or its ack; either way our \x04 is already on the
    # wire, and a second one would reach the prompt and soft-reset the board.
    error = traceback(nl, b'  File "<stdin>", line 1', b"SyntaxError: invalid syntax")
    script = [
        execute(b"1+", paste=True),
        Host(PASTE),
        Board(HEADER),
        Host(b"1+\x04"),
        Board(b"\x04\x04" + error + b"\x04>"),
        Host(b""),
    ]
    check(script, [Stderr(error), Done()], State.IDLE)


def test_raw_paste_abort_in_the_same_read_as_the_credit_that_ended_our_data():
    code = b")\n" + b"y" * 298
    script = [
        execute(code),
        Host(PASTE),
        Board(HEADER),
        Host(code[:256]),
        Board(b"\x01\x04"),  # \x01 lets us finish (and send our \x04); its \x04 is an abort
        Host(code[256:] + b"\x04"),
        Board(b"\x04SyntaxError\r\n\x04>"),
        Host(b""),
    ]
    check(script, [Stderr(b"SyntaxError\r\n"), Done()], State.IDLE)


@NL
def test_interrupt_during_raw_paste_wants_no_ctrl_d_back(nl):
    # Recorded: Ctrl-C in the pasted data -> b"\x04\x04KeyboardInterrupt: \n\x04>".
    code = b"x = 1\n" * 100
    script = [
        execute(code),
        Host(PASTE),
        Board(HEADER),
        Host(code[:256]),
        interrupt,
        Host(b"\x03"),
        Board(b"\x01"),  # a window read before our Ctrl-C: no more code goes out
        Board(b"\x04\x04KeyboardInterrupt: " + nl + b"\x04>"),
        Host(b""),
    ]
    check(script, [Stderr(b"KeyboardInterrupt: " + nl), Done()], State.IDLE)


def test_interrupt_before_the_raw_paste_answer():
    script = [
        execute(b"x" * 300),
        Host(PASTE),
        interrupt,
        Host(b"\x03"),
        Board(HEADER + b"\x04\x04KeyboardInterrupt: \r\n\x04>"),
        Host(b""),
    ]
    check(script, [Stderr(b"KeyboardInterrupt: \r\n"), Done()], State.IDLE)


@pytest.mark.parametrize("answer", [b"R\x00>", BANNER], ids=["R00", "old-firmware"])
def test_interrupt_before_a_raw_paste_refusal_sends_no_code(answer):
    script = [execute(b"x" * 300), Host(PASTE), interrupt, Host(b"\x03"), Board(answer)]
    check(script, [Done()], State.IDLE)


@pytest.mark.parametrize("answer", [b"R\x00>", BANNER], ids=["R00", "old-firmware"])
def test_no_raw_paste_falls_back_to_plain_raw_for_good(answer):
    # R\x00: understood, unsupported (recorded: b"\x05B\x01" -> b"R\x00>"). Firmware older
    # than raw-paste takes \x05A as text and \x01 as "enter raw mode": the banner again.
    first, second = b"a = 1\n" * 50, b"b = 2\n" * 50
    script = [
        execute(first),
        Host(PASTE),
        Board(answer),
        Host(first + b"\x04"),
        Board(b"OK\x04\x04>"),
        execute(second),
        Host(second + b"\x04"),
        Board(b"OKdone\r\n\x04\x04>"),
    ]
    m = check(script, [Done(), Stdout(b"done\r\n"), Done()], State.IDLE)
    assert m.paste_supported is False


def test_raw_paste_answer_after_a_timer_print_that_starts_with_r():
    # ESP32 runs scheduled callbacks while it waits for input: a timer may print anything
    # before "R\x01", including text that starts with "R".
    code = b"x = 1\n" * 50
    script = [
        execute(code),
        Host(PASTE),
        Board(b"Reading 23.5\r\n" + HEADER),
        Host(code[:256]),
        Board(b"\x01"),
        Host(code[256:] + b"\x04"),
        Board(b"tick\r\n\x04\x04\x04>"),
    ]
    check(script, [Unsolicited(b"Reading 23.5\r\ntick\r\n"), Done()], State.IDLE)


# Unsolicited output, reboots ------------------------------------------------------------


def test_unsolicited_output_while_idle_and_before_the_ok():
    script = [
        Board(b"tick 1\r\ntick 2\r\nr"),
        execute(b"print(3)"),
        Host(b"print(3)\x04"),
        Board(b"aw data\r\nOK3\r\n\x04\x04>"),
        Board(b"tick 4\r\n"),
    ]
    events = [Unsolicited(b"tick 1\r\ntick 2\r\nraw data\r\n"), Stdout(b"3\r\n"), Done()]
    check(script, events + [Unsolicited(b"tick 4\r\n")], State.IDLE)


@pytest.mark.parametrize(
    "reset, reason",
    [
        (b"rst:0x1 (POWERON_RESET)", "POWERON_RESET"),  # the reset button
        (b"rst:0xc (SW_CPU_RESET)", "SW_CPU_RESET"),  # machine.reset()
        (b"rst:0x8 (TG1WDT_SYS_RESET)", "TG1WDT_SYS_RESET"),  # the interrupt watchdog
        (b"rst:0x10 (RTCWDT_RTC_RESET)", "RTCWDT_RTC_RESET"),
    ],
)
def test_hard_reboot_during_an_execution(reset, reason):
    # The output before the reset is intact (the ROM's first line comes before its
    # "rst:" mark); the board comes back in the friendly REPL.
    script = [
        execute(b"run()"),
        Host(b"run()\x04"),
        Board(b"OKstep 1\r\nstep 2\r" + rom(reset) + MPY_BANNER + b">>> "),
    ]
    after = rom(reset).split(reset)[1] + MPY_BANNER + b">>> "
    events = [Stdout(b"step 1\r\nstep 2\r" + ROM_FIRST_LINE), Rebooted(reason), Unsolicited(after)]
    check(script, events, State.UNKNOWN)


def test_hard_reboot_before_the_ok_and_during_raw_paste():
    after = rom().split(b")", 1)[1] + MPY_BANNER + b">>> "
    expected = [Unsolicited(ROM_FIRST_LINE), Rebooted("POWERON_RESET"), Unsolicited(after)]
    board = Board(rom() + MPY_BANNER + b">>> ")
    check([execute(b"x = 1"), Host(b"x = 1\x04"), board], expected, State.UNKNOWN)
    code = b"x = 1\n" * 100
    script = [execute(code), Host(PASTE), Board(HEADER), Host(code[:256]), board, Host(b"")]
    check(script, expected, State.UNKNOWN)


def test_hard_reboot_while_idle():
    after = rom().split(b")", 1)[1] + MPY_BANNER + b">>> "
    expected = [Unsolicited(ROM_FIRST_LINE), Rebooted("POWERON_RESET"), Unsolicited(after)]
    check([Board(rom() + MPY_BANNER + b">>> ")], expected, State.UNKNOWN)


# The ROM's lines as a UART at 115200 reads an ESP32 ROM printing at 74880 baud (26 MHz
# crystal): no "rst:" mark survives; MicroPython's banner, at the right speed, follows.
GARBLED_ROM = bytes(random.Random(74880).choice(range(0x80, 0x100)) for _ in range(300)) + b"\r\n"


def test_a_reset_with_an_unreadable_boot_log_is_known_by_micropythons_banner():
    running = [execute(b"run()"), Host(b"run()\x04"), Board(b"OKstep 1\r\n" + GARBLED_ROM + MPY_BANNER + b">>> ")]
    events = [Stdout(b"step 1\r\n" + GARBLED_ROM), Rebooted(UNREADABLE_RESET), Unsolicited(b">>> ")]
    check(running, events, State.UNKNOWN)
    check([Board(GARBLED_ROM + MPY_BANNER + b">>> ")], [Unsolicited(GARBLED_ROM), Rebooted(UNREADABLE_RESET), Unsolicited(b">>> ")], State.UNKNOWN)


def test_micropythons_banner_after_a_readable_reset_is_not_a_second_reboot():
    events = [Unsolicited(ROM_FIRST_LINE), Rebooted("POWERON_RESET"), Unsolicited(rom().split(b")", 1)[1] + MPY_BANNER + b">>> ")]
    check([Board(rom() + MPY_BANNER + b">>> ")], events, State.UNKNOWN)


def test_output_that_only_looks_like_the_banner_is_output():
    said = b"MicroPython v1.24 is what runs here\r\nType something\r\nMicroPython v"
    check([execute(b"run()"), Host(b"run()\x04"), Board(b"OK" + said + b"\x04\x04>")], [Stdout(said), Done()], State.IDLE)


@NL
def test_soft_reboot_during_an_execution(nl):
    # sys.exit() or machine.soft_reset() in a cell (recorded: b"OK\x04\x04", then the unix
    # port exits); an ESP32 prints "MPY: soft reboot" and comes back in raw mode.
    script = [
        execute(b"print('bye')\nmachine.soft_reset()"),
        Host(b"print('bye')\nmachine.soft_reset()\x04"),
        Board(b"OKbye" + nl + b"\x04\x04MPY: soft reboot" + nl + BANNER),
    ]
    check(script, [Stdout(b"bye" + nl), Rebooted("soft reboot"), Ready()], State.IDLE)


def test_soft_reboot_in_the_middle_of_output_and_while_idle():
    # Not asked for by the host (another tool sent Ctrl-D, the emulator's supervisor
    # restarted MicroPython): the board comes back at its raw prompt all the same.
    script = [Board(b"tick\r\nMPY: soft reboot\r\nboot.py says hi\r\n" + BANNER)]
    events = [Unsolicited(b"tick\r\n"), Rebooted("soft reboot"), Unsolicited(b"boot.py says hi\r\n")]
    check(script, events + [Ready()], State.IDLE)
    script = [execute(b"loop()"), Host(b"loop()\x04"), Board(b"OK1\r\n2\r\nMPY: soft reboot\r\n")]
    check(script, [Stdout(b"1\r\n2\r\n"), Rebooted("soft reboot")], State.UNKNOWN)


@NL
def test_soft_reset_at_the_prompt(nl):
    script = [
        soft_reset,
        Host(b"\x04"),
        Board(b"OK" + nl + b"MPY: soft reboot" + nl + b"boot.py ran" + nl + BANNER),
    ]
    check(script, [Rebooted("soft reboot"), Unsolicited(b"boot.py ran" + nl), Ready()], State.IDLE)


# Misuse -------------------------------------------------------------------------------


def test_execute_and_soft_reset_need_an_idle_prompt():
    m = RawRepl()

    def refused():
        for command in (execute(b"x = 2"), soft_reset):
            with pytest.raises(ProtocolError, match="cannot"):
                command(m)

    refused()  # unknown
    m.enter()
    refused()  # entering
    feed(m, BANNER)
    m.execute(b"x = 1")
    for board in (b"", b"OK", b"out\x04", b"\x04"):  # waiting for OK, stdout, stderr, prompt
        feed(m, board)
        refused()
    assert feed(m, b">") == [Done()]
    m.execute(b"y" * 300)
    for board in (b"", HEADER):  # negotiating raw-paste, sending the code
        feed(m, board)
        refused()
    m.enter()
    feed(m, BANNER)
    m.soft_reset()
    refused()  # resetting


@pytest.mark.parametrize("byte", [b"\x03", b"\x04"])
@pytest.mark.parametrize("paste", [None, True, False])
def test_code_with_raw_ctrl_c_or_ctrl_d_is_refused(byte, paste):
    m = RawRepl()
    m.enter()
    feed(m, BANNER)
    m.data_to_send()
    with pytest.raises(ProtocolError, match="Ctrl-C or Ctrl-D"):
        m.execute(b"print('a" + byte + b"')", paste=paste)
    assert m.state is State.IDLE and m.data_to_send() == b""


@pytest.mark.parametrize("byte", [b"\x01", b"\x02"])
def test_ctrl_a_or_ctrl_b_cannot_go_in_plain_raw_mode(byte):
    # In plain raw mode \x01 re-enters raw mode and \x02 leaves it: only raw-paste carries them.
    m = RawRepl()
    m.enter()
    feed(m, BANNER)
    with pytest.raises(ProtocolError):
        m.execute(b"s = '" + byte + b"'", paste=False)
    m.execute(b"x" * 300)
    feed(m, b"R\x00>", b"OK\x04\x04>")
    assert m.paste_supported is False
    m.data_to_send()
    with pytest.raises(ProtocolError):
        m.execute(b"s = '" + byte + b"'")
    assert m.state is State.IDLE and m.data_to_send() == b""


# Fuzzing ------------------------------------------------------------------------------

FUZZ = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Pieces of what boards say, whole and cut short, and random bytes between them.
FRAGMENTS = [
    *(BANNER, BANNER[:9], BANNER[-3:], b"OK", b"O", b">", b"\x04", b"\x01", b"\r\n", b"\n"),
    *(HEADER, HEADER[:3], b"R\x00>", b"R", b"MPY: soft reboot\r\n", b"MPY: soft r", b"rst:0x"),
    *(b"rst:0x8 (TG1WDT_SYS_RESET)", b"rst:0x1 (POW", rom()[:60], MPY_BANNER, b">>> ", b"tick\r\n"),
    *(b"Traceback (most recent call last):\r\n", b"KeyboardInterrupt: \r\n"),
]
streams = st.lists(st.sampled_from(FRAGMENTS) | st.binary(max_size=12), max_size=30).map(b"".join)


def machine_in(state: State) -> RawRepl:
    """A machine brought to `state` through the protocol."""
    m = RawRepl()
    steps = {
        State.UNKNOWN: [],
        State.ENTERING: [enter],
        State.IDLE: AT_PROMPT,
        State.WAIT_OK: AT_PROMPT + [execute(b"x = 1")],
        State.PASTE_NEGOTIATE: AT_PROMPT + [execute(b"x" * 600)],
        State.PASTE_SEND: AT_PROMPT + [execute(b"x" * 600), Board(HEADER)],
        State.STDOUT: AT_PROMPT + [execute(b"x = 1"), Board(b"OK")],
        State.STDERR: AT_PROMPT + [execute(b"x = 1"), Board(b"OK1\r\n\x04")],
        State.PROMPT: AT_PROMPT + [execute(b"x = 1"), Board(b"OK\x04Error\r\n\x04")],
        State.RESETTING: AT_PROMPT + [soft_reset],
    }[state]
    for step in steps:
        if isinstance(step, Board):
            m.receive(step.data)
        elif not isinstance(step, Host):
            step(m)
    m.data_to_send()
    assert m.state is state
    return m


@pytest.mark.parametrize("state", list(State), ids=[s.value for s in State])
@settings(FUZZ, max_examples=120)
@given(stream=streams, seed=st.integers(0, 2**32 - 1))
def test_random_bytes_in_any_state(state, stream, seed):
    """Never raises, never loops, never makes up output; and however the stream is cut,
    the same events, host bytes and state."""
    with time_limit():
        whole = machine_in(state)
        events = whole.receive(stream)
        assert output_bytes(events) <= len(stream)
        expected = (merge(events), whole.state, whole.data_to_send())
        for split in (random_split(random.Random(seed)), lambda data: [bytes([b]) for b in data]):
            pieces = machine_in(state)
            cut = feed(pieces, *split(stream))
            assert (cut, pieces.state, pieces.data_to_send()) == expected


commands = st.sampled_from(["enter", "execute", "paste", "interrupt", "soft_reset"])


@FUZZ
@given(st.lists(st.tuples(commands, streams), max_size=8))
def test_random_commands_and_bytes(plan):
    """ProtocolError exactly when execute or soft_reset is asked away from the prompt."""
    m = RawRepl()
    heard = said = 0
    with time_limit():
        for command, stream in plan:
            idle = m.state is State.IDLE
            try:
                if command == "execute":
                    m.execute(b"print(1)")
                elif command == "paste":
                    m.execute(b"x = 1\n" * 60)
                elif command == "soft_reset":
                    m.soft_reset()
                else:
                    getattr(m, command)()
                assert idle or command in ("enter", "interrupt")
            except ProtocolError:
                assert not idle
            m.data_to_send()
            heard += len(stream)
            said += output_bytes(m.receive(stream))
            assert said <= heard


# A model of the board's end of the wire, for whole sessions.

SYNTAX_ERROR = traceback(b"\r\n", b'  File "<stdin>", line 1', b"SyntaxError: invalid syntax")


class FakeBoard:
    """pyexec.c's raw REPL and raw-paste reader. It answers \\x05A\\x01 with `answer`: b"R\\x01"
    (then pastes with `window`), b"R\\x00", or b"" like firmware older than raw-paste. The
    code it runs prints itself; a "!" in it is a syntax error (met while a paste is read),
    ESC "raise" an exception, ESC "exit" a soft reboot back into the raw REPL."""

    def __init__(self, window: int = 128, answer: bytes = b"R\x01"):
        self.window, self.answer = window, answer
        self.rx = bytearray()  # what the host wrote and the board has not read yet
        self.line = bytearray()  # the raw REPL's input line
        self.paste: bytearray | None = None  # the raw-paste data read so far
        self.draining = False  # after a compile error: skip input up to Ctrl-C or Ctrl-D
        self.remain = 0
        self.ran: list[bytes] = []
        self.soft_resets = 0

    def read(self, n: int) -> bytes:
        """Read up to `n` bytes from the host; return what the board says meanwhile."""
        out = bytearray()
        for _ in range(min(n, len(self.rx))):
            out += self._byte(self.rx.pop(0))
        return bytes(out)

    def _byte(self, c: int) -> bytes:
        if self.draining:
            if c in (3, 4):
                self.draining = False
                return b"\x04" + SYNTAX_ERROR + b"\x04>"
            return b""
        if self.paste is not None:
            return self._paste_byte(c)
        if c == 1:  # Ctrl-A: raw-paste request after \x05A, else (re)enter raw mode
            line, self.line = bytes(self.line), bytearray()
            if len(line) == 2 and line[0] == 5 and self.answer:
                if line == b"\x05A" and self.answer == b"R\x01":
                    self.paste, self.remain = bytearray(), self.window
                    return b"R\x01" + struct.pack("<H", self.window) + b"\x01"
                return b"R\x00>"
            return BANNER
        assert c != 2, "the host sent Ctrl-B: the board left raw mode"
        if c == 3:
            self.line.clear()
            return b""
        if c == 4:
            line, self.line = bytes(self.line), bytearray()
            if not line:
                self.soft_resets += 1
                return b"OK\r\nMPY: soft reboot\r\n" + BANNER
            return b"OK" + self._run(line)
        self.line.append(c)
        return b""

    def _paste_byte(self, c: int) -> bytes:
        if c == 4:
            code, self.paste = bytes(self.paste), None
            return b"\x04" + self._run(code)
        if c == 3:
            self.paste = None
            return b"\x04\x04KeyboardInterrupt: \r\n\x04>"
        self.paste.append(c)
        out = b""
        self.remain -= 1
        if self.remain == 0:
            self.remain = self.window
            out = b"\x01"
        if c == ord("!"):
            self.paste, self.draining = None, True
            out += b"\x04"
        return out

    def _run(self, code: bytes) -> bytes:
        """stdout \\x04 stderr \\x04 and the prompt."""
        self.ran.append(code)
        if b"!" in code:
            return b"\x04" + SYNTAX_ERROR + b"\x04>"
        if b"\x1braise" in code:
            return code + b"\x04" + traceback(b"\r\n", b"ValueError: bad") + b"\x04>"
        if b"\x1bexit" in code:
            return code + b"\x04\x04MPY: soft reboot\r\n" + BANNER
        return code + b"\x04\x04>"


def test_fake_board_speaks_like_the_recordings():
    board = FakeBoard()
    board.rx += ENTER + b"print(1)\x04" + PASTE + b"1+!\x04" + b"\x05B\x01"
    assert board.read(1000) == (
        BANNER + b"OKprint(1)\x04\x04>" + HEADER + b"\x04\x04" + SYNTAX_ERROR + b"\x04>R\x00>"
    )


# Code made of pieces that look like protocol (never a whole reboot mark or banner), with
# the FakeBoard's syntax error, exception and soft reboot.
CODE_PIECES = [b"x = 1\n", b"print(x)\n", b"r", b"R", b"OK", b">", b"raw REPL", b"rst:0x", b"MPY: soft"]
CODE_PIECES += [b"\x01", b"\x02", b"!", b"\x1braise", b"\x1bexit"]
codes = st.tuples(
    st.lists(st.sampled_from(CODE_PIECES) | st.binary(max_size=6), max_size=40), st.integers(1, 30)
).map(lambda pieces_times: (b"".join(pieces_times[0]) * pieces_times[1]).translate(None, b"\x03\x04"))
TICKS = [b"tick\r\n", b"Reading 23.5\r\n", b"r", b"R", b"O", b"M"]


def at_prompt() -> RawRepl:
    m = RawRepl()
    m.enter()
    m.data_to_send()
    m.receive(BANNER)
    return m


@FUZZ
@given(
    code=codes,
    window=st.integers(1, 24) | st.integers(1, 300),
    syntax_error=st.none() | st.floats(0, 1),
    interrupt_at=st.none() | st.integers(0, 40),
    ticks=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_raw_paste_never_exceeds_the_credit(code, window, syntax_error, interrupt_at, ticks, seed):
    """The host sends no more than the window from the header plus one window per \\x01;
    the code arrives intact and is followed by exactly one \\x04 (a second would reach the
    prompt and soft-reset the board), and the machine ends at the prompt."""
    rnd = random.Random(seed)
    code = code.translate(None, b"!\x1b")
    if syntax_error is not None:
        at = int(syntax_error * len(code))
        code = code[:at] + b"!" + code[at:]
    board, m = FakeBoard(window), at_prompt()
    m.execute(code, paste=True)
    heard, sent, events = bytearray(), bytearray(), []
    interrupted = False

    def host_sends():
        out = m.data_to_send()
        board.rx += out
        sent.extend(out)
        header = heard.find(b"R\x01")
        if header < 0 or len(heard) < header + 4:  # no credit yet
            assert sent == PASTE or (interrupted and sent == PASTE + b"\x03")
            return
        assert heard[header + 2 : header + 4] == struct.pack("<H", window)
        updates = heard[header + 4 :].split(b"\x04")[0].count(b"\x01")  # the header's too
        credit = window * (1 + updates)
        assert len(sent[len(PASTE) :].translate(None, b"\x03\x04")) <= credit

    with time_limit(5):
        host_sends()
        for rounds in itertools.count():
            assert rounds < 5000
            if rounds == interrupt_at and m.state is not State.IDLE:
                m.interrupt()
                interrupted = True
                host_sends()
            said = board.read(rnd.randint(1, 2 * window + 2))
            if ticks and not board.rx and rnd.random() < 0.2:
                said += rnd.choice(TICKS)  # a timer prints while the board waits for input
            if not said and not board.rx:
                break
            for chunk in random_split(rnd)(said):
                heard.extend(chunk)
                events += m.receive(chunk)
                host_sends()

    assert m.state is State.IDLE and board.soft_resets == 0
    assert [e for e in events if not isinstance(e, (Stdout, Stderr, Unsolicited))] == [Done()]
    data = sent[len(PASTE) :]
    outputs = merge([e for e in events if not isinstance(e, Unsolicited)])
    if interrupted:
        assert data.count(b"\x03") == 1 and data.count(b"\x04") <= 1
        assert code.startswith(bytes(data.translate(None, b"\x03\x04")))
    elif syntax_error is not None:
        assert data.count(b"\x04") == 1 and data.endswith(b"\x04")
        assert code.startswith(bytes(data[:-1])) and len(data) - 1 >= code.index(b"!")
        # (a timer's print while the board skips to our \x04 can only pass for stdout)
        assert outputs[-2:] == [Stderr(SYNTAX_ERROR), Done()]
    else:
        assert data == code + b"\x04" and board.ran == [code]
        assert outputs == ([Stdout(code)] if code else []) + [Done()]


actions = st.one_of(
    st.tuples(st.just("execute"), codes, st.sampled_from([None, True, False])),
    st.tuples(st.sampled_from(["interrupt", "soft_reset", "enter"])),
    st.tuples(st.just("tick"), st.sampled_from(TICKS)),
    st.tuples(st.just("read"), st.integers(1, 300)),
    st.tuples(st.just("execute"), codes, st.just(True)),
)


def record_session(plan: list, board: FakeBoard, rnd: random.Random) -> list:
    """Play `plan` against `board`, feeding the machine whole reads; return the session as
    a script of commands and board bytes."""
    m, steps = RawRepl(), []

    def do(command):
        command(m)
        steps.append(command)
        board.rx += m.data_to_send()

    def hear(data: bytes):
        if data:
            m.receive(data)
            steps.append(Board(data))
            board.rx += m.data_to_send()

    do(enter)
    for action, *args in plan:
        if action == "execute":
            code, paste = args
            if paste is False or board.answer != b"R\x01":
                code = code.translate(None, b"\x01\x02")  # only raw-paste carries them
            if m.state is State.IDLE:
                do(execute(code, paste=paste))
        elif action == "soft_reset":
            if m.state is State.IDLE:
                do(soft_reset)
        elif action == "tick":
            if not board.rx:
                hear(args[0])
        elif action == "read":
            hear(board.read(args[0]))
        else:
            do(interrupt if action == "interrupt" else enter)
        hear(board.read(rnd.randint(0, 64)))
    while board.rx:
        hear(board.read(rnd.randint(1, 64)))
    # Host and board agree at the end: the board at an empty raw prompt, the machine idle.
    assert m.state is State.IDLE and not board.line and board.paste is None
    return steps


def replay(steps: list, split) -> tuple[list, bytes, State]:
    m, events, sent = RawRepl(), [], b""
    for step in steps:
        if isinstance(step, Board):
            for chunk in split(step.data):
                events += m.receive(chunk)
                sent += m.data_to_send()
        else:
            step(m)
            sent += m.data_to_send()
    heard = sum(len(step.data) for step in steps if isinstance(step, Board))
    assert output_bytes(events) <= heard
    return merge(events), sent, m.state


@FUZZ
@given(
    plan=st.lists(actions, min_size=1, max_size=12),
    window=st.integers(1, 24) | st.integers(1, 200),
    answer=st.sampled_from([b"R\x01", b"R\x01", b"R\x00", b""]),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_chunking_of_a_session_gives_the_same_events(plan, window, answer, seed):
    board = FakeBoard(window, answer)
    with time_limit(5):
        steps = record_session(plan, board, random.Random(seed))
        assert board.soft_resets == sum(step is soft_reset for step in steps)
        whole = replay(steps, lambda data: [data])
        assert replay(steps, lambda data: [data[i : i + 1] for i in range(len(data))]) == whole
        assert replay(steps, random_split(random.Random(seed))) == whole
