"""The portable core's REPL: MicroPython's pyexec (shared/runtime/pyexec.c), which its WASI
build lacks, byte for byte as the native core's unix port speaks it.

- friendly: ">>> " with readline editing (history, auto-indent), paste mode (Ctrl-E);
- raw (Ctrl-A): code up to Ctrl-D, answered "OK", its output, "\\x04", its error, "\\x04", ">";
- raw-paste (Ctrl-E "A" Ctrl-A in the raw REPL), with its flow control;
- Ctrl-D on an empty line: a soft reset (the run ends; the supervisor starts the next one),
  Ctrl-B: the friendly REPL, Ctrl-C: clears the line.

The console is the supervisor's (_esp32_host.read); output is the C stdout, untouched: the
supervisor's console shaper turns it into what a board sends, as for the native core.
"""

import _esp32_console
import _esp32_host
import _esp32_micropython
import _esp32_supervisor

_out = _esp32_console._builtin_sys.stdout.buffer
_BANNER = _esp32_supervisor.banner.encode() + b"\r\nType \"help()\" for more information.\r\n"
_RAW_BANNER = b"raw REPL; CTRL-B to exit\r\n"
_PASTE_BANNER = b"paste mode; Ctrl-C to cancel, Ctrl-D to finish\r\n=== "
_WINDOW = 128  # raw-paste: bytes the host may send before the next window increment
_COMPOUND = ("@", "if ", "while ", "for ", "try", "with ", "def ", "class ", "async ")
_history = []
# Heap locks (micropython.heap_lock()) that code left: a board keeps them, so no code compiles
# until a soft reset. This REPL is Python and allocates: it lifts them for its own work and
# locks the heap again before the next code.
_user_locks = 0


class _SoftReset(Exception):
    pass


def _write(data):
    _out.write(data)


_typed = b""  # console input read ahead (a call per byte would be slow), from _next
_next = 0


def _getc():
    global _typed, _next
    if _next >= len(_typed):
        _typed = _esp32_host.read(256)
        _next = 0
    _next += 1
    return _typed[_next - 1]


def run(main_globals):
    """Serve the REPL until a soft reset ends the run. It starts friendly, as the unix
    port's: after a soft reset the supervisor enters the raw REPL again where it was."""
    raw = False
    try:
        while True:
            raw = _raw_repl(main_globals) if raw else _friendly_repl(main_globals)
    except _SoftReset:
        pass


# -- executing


def _execute(source, main_globals, mode, raw):
    """Compile and run source as pyexec does; errors printed (raw: between the \x04s)."""
    global _typed, _user_locks
    error = None
    if _next < len(_typed):  # input that came after the code is the code's to read
        _esp32_host.unread(_typed[_next:])
        _typed = b""
    _esp32_host.set_executing(True)
    while _user_locks:
        _esp32_micropython.heap_lock()
        _user_locks -= 1
    try:
        code = compile(source, "<stdin>", mode)
        exec(code, main_globals)
    except SystemExit:
        error = SystemExit
    except BaseException as exc:
        error = exc
    _esp32_host.set_executing(False)
    while _esp32_console.heap_lock_depth:
        _esp32_micropython.heap_unlock()
        _user_locks += 1
    if error is SystemExit:
        raise _SoftReset
    if raw:
        _write(b"\x04")
    if error is not None:
        _print_exception(error)
    if raw:
        _write(b"\x04")


def _print_exception(exc):
    # As the C REPL prints it: the code's own frames, not the firmware's that ran it.
    import io

    text = io.StringIO()
    _esp32_console._c_print_exception(exc, text)
    lines = text.getvalue().split("\n")
    keep = [line for line in lines if "/firmware/" not in line]
    _write("\n".join(keep).encode())


# -- the raw REPL


def _raw_repl(main_globals):
    _write(b"\r\n" + _RAW_BANNER)
    while True:
        _write(b">")
        _esp32_host.collect()  # the prompt is out: off the client's path (this function stays small)
        line = bytearray()
        while True:
            c = _getc()
            if c == 1:  # Ctrl-A: start again
                _write(b"\r\n" + _RAW_BANNER)
                line = None
                break
            if c == 2:  # Ctrl-B: the friendly REPL
                _write(b"\r\n")
                return False
            if c == 3:
                line = bytearray()
            elif c == 4:
                break
            elif c == 5 and len(line) == 0:  # Ctrl-E: raw-paste, if asked for
                _raw_paste(main_globals)
                line = None
                break
            else:
                line.append(c)
        if line is None:
            continue
        _write(b"OK")
        if not line:
            _write(b"\r\n")
            raise _SoftReset
        _execute(bytes(line), main_globals, "exec", True)


def _raw_paste(main_globals):
    """Ctrl-E in the raw REPL: "A" Ctrl-A asks for raw-paste; anything else is refused."""
    ask = bytes((_getc(), _getc()))
    if ask != b"A\x01":
        _write(b"R\x00")
        return
    _write(b"R\x01" + bytes((_WINDOW & 0xFF, _WINDOW >> 8)) + b"\x01")
    source = bytearray()
    remain = _WINDOW
    while True:
        c = _getc()
        if c == 3:  # the host gave up: as if the code raised KeyboardInterrupt
            _write(b"\x04\x04")
            _write(b"KeyboardInterrupt: \n\x04")
            return
        if c == 4:
            _write(b"\x04")
            break
        source.append(c)
        remain -= 1
        if remain == 0:
            _write(b"\x01")
            remain = _WINDOW
    _execute(bytes(source), main_globals, "exec", True)


# -- the friendly REPL


def _friendly_repl(main_globals):
    _write(_BANNER)
    while True:
        _esp32_host.collect()  # where no large function runs (this one stays small)
        line = _readline(b">>> ", "")
        if line is None:  # Ctrl-C
            continue
        if isinstance(line, int):
            if line == 1:
                return True
            if line == 2:
                _write(b"\r\n" + _BANNER)
                continue
            if line == 4:
                _write(b"\r\n")
                raise _SoftReset
            if line == 5:
                source = _paste_mode()
                if source is None:
                    continue
                _execute(source, main_globals, "exec", False)
                continue
            continue
        while _continue_with_input(line):
            more = _readline(b"... ", line + "\n")
            if more is None:
                line = None
                break
            if isinstance(more, int):  # Ctrl-D: run what was entered so far
                break
            line = more
        if line is None or not line.strip():
            continue
        _execute(line, main_globals, "single", False)


def _paste_mode():
    _write(b"\r\n" + _PASTE_BANNER)
    source = bytearray()
    while True:
        c = _getc()
        if c == 3:
            _write(b"\r\n")
            return None
        if c == 4:
            _write(b"\r\n")
            return bytes(source)
        source.append(c)
        if c == 13:
            source[-1] = 10
            _write(b"\r\n=== ")
        else:
            _write(bytes((c,)))


def _continue_with_input(text):
    """py/repl.c's mp_repl_continue_with_input: is the statement unfinished?"""
    if not text:
        return False
    compound = text.startswith(_COMPOUND)
    depth = 0
    quote = None
    i = 0
    while i < len(text):
        ch = text[i]
        if quote is None:
            if ch == "#":
                while i < len(text) and text[i] != "\n":
                    i += 1
                continue
            if text[i : i + 3] in ('"""', "'''"):
                quote = text[i : i + 3]
                i += 3
                continue
            if ch in "'\"":
                quote = ch
            elif ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
        elif ch == "\\":
            i += 1
        elif text[i : i + len(quote)] == quote:
            i += len(quote)
            quote = None
            continue
        elif ch == "\n" and len(quote) == 1:
            quote = None
        i += 1
    if quote is not None and len(quote) == 3:
        return True
    if depth > 0 and quote is None:
        return True
    if text.endswith("\\"):
        return True
    return compound and not text.endswith("\n")


def _auto_indent(text):
    """readline's auto-indent: the spaces that start the next line of text (which ends in "\\n")."""
    lines = text.split("\n")
    previous = lines[-2]
    if len(lines) > 2 and not previous.strip():
        if not lines[-3].strip():
            return ""  # two blank lines end the block
    spaces = len(previous) - len(previous.lstrip(" "))
    n = spaces // 4 + (1 if previous.endswith(":") else 0)
    return "    " * n


def _readline(prompt, before):
    """One line (with what came before it), Ctrl-C as None, or a control key on an empty line."""
    _write(prompt)
    line = ""
    if before:
        line = _auto_indent(before)
        _write(line.encode())
    start = len(line)
    recalled = len(_history)
    escape = b""
    while True:
        c = _getc()
        if escape:
            escape += bytes((c,))
            if len(escape) < 3:
                continue
            if escape in (b"\x1b[A", b"\x1b[B") and _history:
                recalled = max(recalled - 1, 0) if escape == b"\x1b[A" else min(recalled + 1, len(_history))
                new = _history[recalled] if recalled < len(_history) else ""
                _write(b"\x08" * len(line) + new.encode() + b"\x1b[K")
                line = new
            escape = b""
            continue
        if c == 27:
            escape = b"\x1b"
        elif c == 3:
            _write(b"\r\n")
            return None
        elif c in (1, 2, 4, 5) and not before and not line:
            return c
        elif c == 4 and before and not line.strip():
            _write(b"\r\n")
            return 4
        elif c == 13 or c == 10:
            _write(b"\r\n")
            if line.strip() and not before:
                _history.append(line)
                del _history[:-8]
            return before + line
        elif c in (8, 127):
            if line:
                n = 4 if len(line) >= 4 and line[-4:] == "    " and not line.strip() else 1
                line = line[:-n]
                _write(b"\x08" * n + b"\x1b[K")
        elif c >= 32 or c == 9:
            if c == 9:
                continue  # no tab completion here (see the README's differences)
            buf = bytearray((c,))
            while buf[0] >= 0xC0 and len(buf) < 4:  # the rest of a UTF-8 character
                buf.append(_getc())
                try:
                    buf.decode()
                    break
                except UnicodeError:
                    pass
            line += buf.decode()
            _write(bytes(buf))
