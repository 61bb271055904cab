"""The emulator's console shaper from byte scripts: what the client sees of the unix port's output."""

from esp32_kernel.emulator.console_shaper import ConsoleShaper, ReplMode

UNIX_BANNER = b"MicroPython 9458e3a23f on 2026-07-05; linux [GCC 14.2.1] version"
UNIX_REPL_START = UNIX_BANNER + b'\r\nType "help()" for more information.\r\n>>> '
ESP32_BANNER = b"MicroPython v1.24.0 on 2024-10-25; Generic ESP32 module with ESP32\r\n"


def feed_bytewise(shaper: ConsoleShaper, data: bytes) -> tuple[bytes, bytes, bool]:
    """Feed one byte at a time, as the worst split of the output would arrive."""
    to_client, to_board, ready = b"", b"", False
    for i in range(len(data)):
        shaped = shaper.feed(data[i : i + 1])
        to_client += shaped.to_client
        to_board += shaped.to_board
        ready = ready or shaped.ready
    return to_client, to_board, ready


def test_boot_into_friendly_repl_shows_the_esp32_banner():
    shaper = ConsoleShaper(UNIX_BANNER)
    to_client, to_board, ready = feed_bytewise(shaper, b"boot says\nMy text\n" + UNIX_REPL_START)
    assert to_client == b"boot says\r\nMy text\r\n" + ESP32_BANNER + b'Type "help()" for more information.\r\n>>> '
    assert (to_board, ready, shaper.mode) == (b"", True, ReplMode.FRIENDLY)


def test_boot_into_raw_repl_enters_it_again_silently():
    shaper = ConsoleShaper(UNIX_BANNER)
    shaper.restart(ReplMode.RAW)
    to_client, to_board, ready = feed_bytewise(shaper, UNIX_REPL_START)
    assert (to_client, to_board, ready) == (b"", b"\x01", True)
    to_client, _, _ = feed_bytewise(shaper, b"\r\nraw REPL; CTRL-B to exit\r\n>")
    assert to_client == b"raw REPL; CTRL-B to exit\r\n>"
    assert shaper.mode is ReplMode.RAW


def test_raw_exec_keeps_stdout_bytes_and_fixes_traceback_lines():
    shaper = ConsoleShaper(UNIX_BANNER)
    shaper.restart(ReplMode.RAW)
    feed_bytewise(shaper, UNIX_REPL_START + b"\r\nraw REPL; CTRL-B to exit\r\n>")
    script = b"OKa\nb\r\n\x00\xff\x04Traceback (most recent call last):\n  line\nValueError: x\n\x04>"
    to_client, _, _ = feed_bytewise(shaper, script)
    assert to_client == b"OKa\nb\r\n\x00\xff\x04Traceback (most recent call last):\r\n  line\r\nValueError: x\r\n\x04>"
    # An exception reported without a traceback is text too; an empty stderr section is none.
    to_client, _, _ = feed_bytewise(shaper, b"OK\x04MemoryError: memory allocation failed\n\x04>OK7\n\x04\x04>")
    assert to_client == b"OK\x04MemoryError: memory allocation failed\r\n\x04>OK7\n\x04\x04>"


def test_a_ctrl_d_byte_in_binary_stdout_leaves_the_rest_untouched():
    """mpremote's mount sends \x18\x04 to open a file, then lengths and data: after a \x04
    that is not followed by an exception's report, the exec's stdout goes on, byte for byte
    (its newlines were made \r\n, which shifted mpremote's protocol and hung it)."""
    shaper = ConsoleShaper(UNIX_BANNER)
    shaper.restart(ReplMode.RAW)
    feed_bytewise(shaper, UNIX_REPL_START + b"\r\nraw REPL; CTRL-B to exit\r\n>")
    stdout = b"\x18\x04\x0a\x00\x00\x00/remote/o\x18\x07\x03\x00\x00\x00a\nb\x18\x04plain text\nmore\n"
    to_client, _, _ = feed_bytewise(shaper, b"OK" + stdout)
    assert to_client == b"OK" + stdout
    to_client, _, _ = feed_bytewise(shaper, b"\x04\x04>")  # the exec's real end
    assert to_client == b"\x04\x04>" and shaper.raw_idle


def test_raw_paste_header_and_credits_pass_untouched():
    shaper = ConsoleShaper(UNIX_BANNER)
    shaper.restart(ReplMode.RAW)
    feed_bytewise(shaper, UNIX_REPL_START + b"\r\nraw REPL; CTRL-B to exit\r\n>")
    script = b"R\x01\x80\x00\x01\x01\x04out\n\x04ValueError: err\n\x04>"
    to_client, _, _ = feed_bytewise(shaper, script)
    assert to_client == b"R\x01\x80\x00\x01\x01\x04out\n\x04ValueError: err\r\n\x04>"


def test_ctrl_b_from_raw_shows_the_esp32_banner():
    shaper = ConsoleShaper(UNIX_BANNER)
    shaper.restart(ReplMode.RAW)
    feed_bytewise(shaper, UNIX_REPL_START + b"\r\nraw REPL; CTRL-B to exit\r\n>")
    to_client, _, _ = feed_bytewise(shaper, b"\r\n" + UNIX_REPL_START)
    assert to_client == b"\r\n" + ESP32_BANNER + b'Type "help()" for more information.\r\n>>> '
    assert shaper.mode is ReplMode.FRIENDLY


def test_friendly_text_is_not_held_back_for_a_banner_that_may_never_come():
    shaper = ConsoleShaper(UNIX_BANNER)
    feed_bytewise(shaper, UNIX_REPL_START)
    assert shaper.feed(b"M").to_client == b"M"
    shaper.expect_friendly_banner()
    assert feed_bytewise(shaper, b"\r\n" + UNIX_REPL_START)[0].startswith(b"\r\n" + ESP32_BANNER)


def test_friendly_repl_notices_the_raw_repl():
    shaper = ConsoleShaper(UNIX_BANNER)
    feed_bytewise(shaper, UNIX_REPL_START)
    feed_bytewise(shaper, b"\r\nraw REPL; CTRL-B to exit\r\n>")
    assert shaper.mode is ReplMode.RAW
