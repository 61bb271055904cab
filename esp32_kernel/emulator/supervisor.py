"""The emulated board's supervisor: serves one MicroPython board as an ESP32 on a UART.

It sits between the client link (TCP, and optionally a pty) and a run of MicroPython — the
unix port's process (board_process.py) or MicroPython for WASI (portable_core.py), behind
one interface (core.py) — and hides where they differ from an ESP32:

- Ctrl-C (or the char set by micropython.kbd_intr(), which the firmware reports; none after
  kbd_intr(-1)) while code runs interrupts it as a board's UART interrupt does (the core's
  interrupt()); at an idle REPL it is passed on as the byte;
- a run that ends (soft reset) is restarted with "MPY: soft reboot" and back in the REPL mode
  it was in; a reset request or a crash restarts it after the ROM's boot log, in the friendly
  REPL, as after a hard reset;
- output is shaped as a board sends it (console_shaper.py), paced as a UART (uart.py);
- one client at a time, like a serial port; output with no client connected is dropped.

Client input that arrives while the board restarts is held until its REPL is up (unless boot
code is running and may read it), so nothing is ever injected into a half-typed command.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..chip import board_profile
from . import board_folder, esp32_texts, flash_boot, peers, storage
from .air import DEFAULT_AIR, Air
from . import ble_bench
from .ble import BleStack
from .bench import Bench, BenchError, unhex
from .console_shaper import ConsoleShaper, ReplMode
from .rfc2217_link import Rfc2217Client, auto_reset_pins
from .rom_bootloader import RomBootloader
from .uart import DirectLine, UartLine
from .webrepl_server import WebReplSession
from .webserial_port import WebSerialClient

if TYPE_CHECKING:
    from .core import BoardRun

log = logging.getLogger(__name__)

# machine.reset_cause() values (MicroPython v1.24, ports/esp32/modmachine.c)
PWRON_RESET, HARD_RESET, WDT_RESET, DEEPSLEEP_RESET, SOFT_RESET = 1, 2, 3, 4, 5
TIMER_WAKE = 4  # machine.wake_reason() after a timed deep sleep (ESP_SLEEP_WAKEUP_TIMER)
EXT0_WAKE, EXT1_WAKE, TOUCHPAD_WAKE = 2, 3, 5

# The hidden exec that runs pending interrupt handlers while the raw REPL is idle.
_PUMP_CODE = b"__import__('_esp32_bench').pump()\x04"
# A subscriber to the event stream that reads slower than this many buffered bytes is dropped.
_EVENT_BACKLOG_LIMIT = 4 * 1024 * 1024
# Board output waiting for a slow pty reader, as a host's tty layer buffers a USB serial
# port's input (Linux: 640 KiB); beyond it (nobody reading) bytes are lost, as a UART's are.
_PTY_BACKLOG_LIMIT = 640 * 1024

# A run that dies this soon after its start counts towards a crash loop; restarts then back off.
_QUICK_CRASH_S = 1.0
_MAX_RESTART_DELAY_S = 5.0
_REFUSAL_DELAY_S = 0.3  # a refused client that sends nothing is told why after this
_REFUSED_LINGER_S = 2.0  # and gets this long to read it and hang up
_EN_RC_DELAY_S = 0.1  # EN's RC delay (see set_modem_lines): the chip starts and latches GPIO0 this long after EN rises
_BOOT_RETRY_S = 1.0  # a chip with no valid firmware resets about this often (its watchdog, or the bootloader)


def _described(board) -> str:
    return f"pid {board.pid}" if board.pid is not None else "the portable core"


def _refused(transport) -> str | None:
    """Why the program at the other end may not have this board (peers.py), or None."""
    return peers.refused(transport.get_extra_info("sockname"), transport.get_extra_info("peername"))


async def _drain_until_closed(reader: asyncio.StreamReader) -> None:
    while await reader.read(4096):
        pass


def busy_message(peer: str) -> bytes:
    return (
        f"esp32-kernel emulator: this board is in use by another client ({peer}); "
        "disconnect it first\r\n"
    ).encode()


@dataclass
class Endpoints:
    url: str
    control: str
    pty_path: str | None
    rfc2217_url: str | None = None
    webserial_url: str | None = None


class Supervisor:
    def __init__(
        self, board_dir: Path, baud: int | None = None, host: str = "127.0.0.1", port: int = 0, with_pty: bool = False,
        board: str | None = None, webrepl_port: int | None = None, with_rfc2217: bool = False,
        with_webserial: bool = False, core: str = "native", air: str = DEFAULT_AIR,
    ):  # fmt: skip
        self.profile = board_profile.load(board)
        self.board_dir = board_folder.prepare_board_dir(board_dir, self.profile.flash_size)
        self.nvs = storage.Nvs(self.board_dir)
        self.sd_card = storage.SdCardImage(self.board_dir)
        self.flash = storage.FlashImage(self.board_dir, self.profile.flash_size)
        self._partitions = board_profile.partition_table(self.profile.flash_size)
        flash_boot.install_factory_firmware(self.board_dir, self.flash, self._partitions)
        self._rom: RomBootloader | None = None  # download mode: the boot ROM's serial bootloader owns the UART
        self._boot_retry: asyncio.TimerHandle | None = None  # a boot that found no valid firmware goes round again
        self._with_rfc2217 = with_rfc2217  # also serve the UART over RFC 2217, whose DTR/RTS reach EN and GPIO0
        self._with_webserial = with_webserial  # and as a WebSocket, as a browser's Web Serial port
        self._en_low = False  # the auto-reset circuit holds the chip in reset
        self._strapping: asyncio.TimerHandle | None = None
        self._modem_lines = (False, False)  # the RFC 2217 client's (DTR, RTS)
        # what wakes the chip from deep sleep besides its timer (esp32.wake_on_*, Pin.irq(wake=…))
        self._sleep_wake = {"ext0": None, "ext1": ((), 0), "touch": False}
        self.baud = baud
        self._host = host
        self._port = port
        self._with_pty = with_pty
        self.core = core
        if core == "portable":  # MicroPython for WASI in a thread (portable_core.py): any OS
            from .portable_core import BANNER, PortableCore

            self._portable_core = PortableCore()
            banner = BANNER.encode()
        else:  # the unix port in a process of its own (board_process.py): Linux, macOS
            from .board_process import find_micropython, micropython_banner

            self._micropython = find_micropython()
            banner = micropython_banner(self._micropython)
        self._shaper = ConsoleShaper(banner, self.profile.banner)
        self._unique_id = board_folder.unique_id(self.board_dir)
        self._board: BoardRun | None = None
        self._booting = True
        self._held_input = bytearray()
        self._reset_requested: str | None = None  # "hard", "soft" or "power" for the run's end
        self._last_reset_cause = PWRON_RESET
        self._run_started_at = 0.0
        self._quick_crashes = 0
        # micropython.kbd_intr(): the byte that interrupts running code (-1: none), as a
        # board's UART ISR checks it; each execution starts with Ctrl-C again, as pyexec's do
        self._interrupt_char = 3
        self._client: _ClientProtocol | None = None
        self._pty_master: int | None = None
        self._pty_slave: int | None = None
        self._pty_backlog = bytearray()  # output the pty's buffer had no room for yet
        self._servers: list[asyncio.AbstractServer] = []
        self._stopped = asyncio.Event()
        # interrupts at an idle REPL: events wait for a pump (a hidden exec) when no code runs
        self._input_since_prompt = False
        self._events_pending = False
        self._pump_active = False
        self._pump_buffer = bytearray()
        self._pump_stage = 0  # 0: expecting OK, 1: stdout, 2: stderr, 3: the prompt
        self._pump_held = bytearray()
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._timer_started: dict[int, float] = {}
        self._wdt: asyncio.TimerHandle | None = None
        self._wdt_timeout = 0.0
        self._deepsleep_ms: int | None = None
        self._asleep: asyncio.TimerHandle | None = None
        self._sleeping = False
        self._wake_reason = 0
        self._subscribers: set[asyncio.StreamWriter] = set()
        # WebREPL (webrepl_server.py): the port the board asked for is served on
        # webrepl_port instead when one is given (0: a free one), so many boards share a host
        self._webrepl_port_override = webrepl_port
        self._webrepl_server: asyncio.AbstractServer | None = None
        self._webrepl_listener: socket.socket | None = None
        self._webrepl_board_port: int | None = None
        self._webrepl_password: bytes | None = None  # None: webrepl.start() has not run since the reset
        self._webrepl_session: WebReplSession | None = None
        self._wlan_active = {0: False, 1: False}
        self._sta_up_at: float | None = None
        # ESP-NOW's radio (air.py): the board's MACs as network.WLAN makes them (unique_id + interface)
        ap_mac = self._unique_id[:5] + bytes([(self._unique_id[5] + 1) & 0xFF])
        self.air = Air(air, self._unique_id, ap_mac, arrived=lambda: self._send_event("espnow 0"))
        bt_mac = self._unique_id[:5] + bytes([(self._unique_id[5] + 2) & 0xFF])  # an ESP32's Bluetooth MAC: base + 2
        self.ble = BleStack(self.air, bt_mac, to_board=lambda: self._send_event("ble 0"))
        self._bench_radios: dict[str, ble_bench.Sensor | ble_bench.HeartRateMonitor | ble_bench.Phone] = {}  # by name

    # -- life cycle

    async def start(self) -> Endpoints:
        self._loop = asyncio.get_running_loop()
        self.bench = Bench(
            to_board=self._send_event, on_event=self._publish, call_later=self._loop.call_later, labels=self.profile.labels,
        )  # fmt: skip
        self.bench.on_change = self._check_pin_wake
        for led in self.profile.leds:  # the board's own parts
            self.bench.control(["add_led", str(led["gpio"]), led["label"], "active_low" if led["active_low"] else "active_high"])
        for button in self.profile.buttons:
            self.bench.control(["add_button", str(button["gpio"]), "active_low" if button["active_low"] else "active_high"])
        if self.baud:
            self._to_board_line = UartLine(self._loop, self.baud, self._board_receives)
            self._to_client_line = UartLine(self._loop, self.baud, self._client_receives)
        else:
            self._to_board_line = DirectLine(self._board_receives)
            self._to_client_line = DirectLine(self._client_receives)
        board_server = await self._loop.create_server(lambda: _ClientProtocol(self), self._host, self._port)
        control_server = await asyncio.start_server(self._serve_control, "127.0.0.1", 0)
        self._servers = [board_server, control_server]
        rfc2217_url = None
        if self._with_rfc2217:
            rfc2217_server = await self._loop.create_server(lambda: Rfc2217Client(self), self._host, 0)
            self._servers.append(rfc2217_server)
            rfc2217_url = "rfc2217://{}:{}".format(*rfc2217_server.sockets[0].getsockname()[:2])
        webserial_url = None
        if self._with_webserial:
            webserial_server = await self._loop.create_server(lambda: WebSerialClient(self), self._host, 0)
            self._servers.append(webserial_server)
            webserial_url = "ws://{}:{}".format(*webserial_server.sockets[0].getsockname()[:2])
        pty_path = self._open_pty() if self._with_pty else None
        await self.air.start()
        self._boot(esp32_texts.POWERON_RESET, PWRON_RESET, quiet=True)  # no client hears a power-on
        host, port = board_server.sockets[0].getsockname()[:2]
        control_host, control_port = control_server.sockets[0].getsockname()[:2]
        return Endpoints(f"socket://{host}:{port}", f"tcp://{control_host}:{control_port}", pty_path, rfc2217_url, webserial_url)

    async def wait_stopped(self) -> None:
        await self._stopped.wait()

    def stop(self) -> None:
        self._stopped.set()

    async def close(self) -> None:
        self.air.close()
        for radio in self._bench_radios.values():
            radio.close()
        for server in self._servers:
            server.close()
        if self._webrepl_server is not None:
            self._webrepl_server.close()
        self._drop_webrepl_client()
        if self._client is not None:
            self._client.transport.abort()
        board = self._board
        self._board = None
        if board is not None and board.returncode is None:
            board.kill()
            try:
                await asyncio.wait_for(board.wait_exited(), timeout=5)
            except asyncio.TimeoutError:
                log.warning("MicroPython (%s) did not end when killed", _described(board))
        if self._pty_master is not None:
            self._loop.remove_reader(self._pty_master)
            self._loop.remove_writer(self._pty_master)
            os.close(self._pty_master)
            os.close(self._pty_slave)

    # -- the board's runs

    def _start_board(self, mode: ReplMode, reset_cause: int, wake_reason: int = 0) -> None:
        self._booting = True
        self._reset_requested = None  # a request for a run that is gone (killed, held in reset) is void
        self._sleep_wake = {"ext0": None, "ext1": ((), 0), "touch": False}
        self._sleeping = False
        self._last_reset_cause = reset_cause
        self._shaper.restart(mode)
        self._run_started_at = self._loop.time()
        self._reset_chip(reset_cause)
        callbacks = dict(
            on_output=self._board_output, on_reset_request=self._board_requests_reset, on_exit=self._board_exited,
            on_bench=self._bench_request, wake_reason=wake_reason, board_json=str(self.profile.path or "-"),
        )  # fmt: skip
        if self.core == "portable":
            from .portable_core import PortableBoard

            self._board = PortableBoard(
                self._loop, self._portable_core, self.board_dir, self.profile.flash_size, mode.value, reset_cause,
                self._unique_id, psram=self.profile.psram, **callbacks,
            )  # fmt: skip
        else:
            from .board_process import BoardProcess, heap_size_option

            self._board = BoardProcess(
                self._loop, self._micropython, self.board_dir, mode.value, reset_cause, self._unique_id,
                heap_size=heap_size_option(self.profile.psram), **callbacks,
            )  # fmt: skip
        self._publish({"event": "boot", "reset_cause": reset_cause, "wake_reason": wake_reason})

    def _reset_chip(self, reset_cause: int) -> None:
        """What a reset clears: timers, pin setup; a hard reset also the WDT and the RTC."""
        self._interrupt_char = 3
        self._webrepl_password = None  # a reset closes the board's sockets and stops its WiFi
        self._wlan_active = {0: False, 1: False}  # STA_IF, AP_IF
        self.air.reset()  # the radio is off and ESP-NOW stopped, as after a board's reset
        self.ble.reset()
        self._sta_up_at = None  # when the station got its IP (a future time while connecting)
        self._drop_webrepl_client()
        self._pump_active = False
        self._pump_held.clear()
        self._events_pending = False
        self._input_since_prompt = False
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        if reset_cause != SOFT_RESET and self._wdt is not None:  # a soft reset leaves the WDT running
            self._wdt.cancel()
            self._wdt = None
        if reset_cause == PWRON_RESET:
            self.bench.rtc_base_ns = None
            self.bench.rtc_memory = b""
        self.bench.board_reset()

    def _board_requests_reset(self, board: BoardRun, kind: str) -> None:
        if board is self._board:
            self._reset_requested = kind
            board.kill()

    def hard_reset(self) -> bool:
        """Reset the board as its EN pin (or a power cycle) does; False if it is already resetting."""
        if self._rom is not None or self._boot_retry is not None:  # EN with GPIO0 high: boot from flash
            self._stop_boot_retry()
            self._rom = None
            self._boot(esp32_texts.POWERON_RESET, PWRON_RESET)
            return True
        if self._sleeping:  # EN wakes a board from deep sleep as a power-on
            if self._asleep is not None:
                self._asleep.cancel()
            self._hard_restart(esp32_texts.POWERON_RESET, PWRON_RESET)
            return True
        if self._board is None or not self._board.alive:
            return False
        self._reset_requested = "power"
        self._board.kill()
        return True

    def _board_exited(self, board: BoardRun, returncode: int) -> None:
        if board is not self._board:
            return
        # The chip is down: its WiFi and WebREPL with it, at once (a client that came back
        # before the next run started would be dropped by it, after it thought itself connected).
        self._webrepl_password = None
        self._drop_webrepl_client()
        reset, self._reset_requested = self._reset_requested, None
        if reset is None:
            reset = "soft" if returncode >= 0 else "crash"
        ran_for = self._loop.time() - self._run_started_at
        if reset == "crash":
            log.warning("MicroPython (%s) crashed (%d); restarting as after a hard reset", _described(board), returncode)
            self._quick_crashes = self._quick_crashes + 1 if ran_for < _QUICK_CRASH_S else 0
        else:
            self._quick_crashes = 0
        self._booting = True
        if reset == "download":
            self._start_rom()
            return
        if reset == "held":  # EN is low: the chip stays off until it is released
            self._board = None
            return
        if reset == "soft":
            self._board_sends(esp32_texts.SOFT_REBOOT)
            self._start_board(self._shaper.mode, SOFT_RESET)
            return
        if reset == "deepsleep":
            self._go_to_sleep()
            return
        if reset in ("wdt", "panic"):  # machine.reset_cause() reads ESP_RST_PANIC as WDT_RESET
            if reset == "panic":
                self._board_sends(esp32_texts.FLASH_PINS_PANIC)
            self._loop.call_soon(self._hard_restart, esp32_texts.SW_CPU_RESET, WDT_RESET)
            return
        reason = esp32_texts.POWERON_RESET if reset == "power" else esp32_texts.SW_CPU_RESET
        cause = PWRON_RESET if reset == "power" else HARD_RESET
        delay = min(0.1 * 2**self._quick_crashes, _MAX_RESTART_DELAY_S) if self._quick_crashes > 1 else 0.0
        self._loop.call_later(delay, self._hard_restart, reason, cause)

    def _hard_restart(self, reason: bytes, cause: int, wake_reason: int = 0) -> None:
        if self._stopped.is_set():
            return
        self._asleep = None
        self._boot(reason, cause, wake_reason)

    def _boot(self, reason: bytes, cause: int, wake_reason: int = 0, quiet: bool = False) -> None:
        """Boot from flash (flash_boot.py): MicroPython starts if the bootloader and app are
        valid; otherwise the chip prints why and resets, round and round, as a real one does."""
        self._boot_retry = None
        result = flash_boot.boot(self.flash, reason)
        if not quiet:
            boot_log = result.rom_log
            if self.profile.rom_baud != 115200:
                boot_log = esp32_texts.misread(boot_log, self.profile.rom_baud)
            self._board_sends(boot_log + result.bootloader_log)
        if result.ok:
            self._start_board(ReplMode.FRIENDLY, cause, wake_reason)
            return
        self._board = None
        self._booting = True
        self._reset_chip(cause)
        self._publish({"event": "boot_failed", "log": (result.rom_log + result.bootloader_log).decode(errors="replace")})
        self._boot_retry = self._loop.call_later(_BOOT_RETRY_S, self._hard_restart, result.retry_reason, HARD_RESET)

    def _stop_boot_retry(self) -> None:
        if self._boot_retry is not None:
            self._boot_retry.cancel()
            self._boot_retry = None

    # -- download mode: GPIO0 low at reset (rom_bootloader.py)

    def enter_download_mode(self) -> bool:
        """Reset with GPIO0 held low (BOOT held while EN is pressed, or esptool's DTR/RTS
        dance): the ROM's serial bootloader takes the UART instead of MicroPython."""
        self._stop_boot_retry()
        if self._asleep is not None:
            self._asleep.cancel()
            self._asleep = None
        board = self._board
        if board is not None and board.alive:
            self._reset_requested = "download"
            board.kill()  # _board_exited starts the ROM
            return True
        self._start_rom()
        return True

    def _start_rom(self) -> None:
        self._board = None
        self._reset_requested = None
        self._sleeping = False
        self._booting = True
        self._held_input.clear()
        self._reset_chip(PWRON_RESET)
        self._rom = RomBootloader(self.flash, self._unique_id, xtal_mhz=self.profile.xtal_mhz, on_run_user_code=self._rom_runs_app)
        greeting = flash_boot.download_mode_log(esp32_texts.POWERON_RESET)
        if self.profile.rom_baud != 115200:  # printed at the crystal's rate, before any auto-baud
            greeting = esp32_texts.misread(greeting, self.profile.rom_baud)
        self._board_sends(greeting)
        self._publish({"event": "download_mode"})

    def set_modem_lines(self, dtr: bool, rts: bool) -> None:
        """An RFC 2217 client's DTR/RTS, through the board's auto-reset circuit to EN and GPIO0.

        A USB bridge switches the two lines microseconds apart, well within EN's RC delay, so
        the chip latches GPIO0 as the lines stand after both changed. Over RFC 2217 each change
        is a round trip (~50 ms with pyserial), so the chip here latches GPIO0 at the first
        change after EN rose, or _EN_RC_DELAY_S after it if none follows."""
        en_low, _ = auto_reset_pins(dtr, rts)
        self._modem_lines = (dtr, rts)
        was_low, self._en_low = self._en_low, en_low
        if self._strapping is not None:  # EN rose a moment ago: the chip starts now
            self._strapping.cancel()
            self._strapping = None
            if not en_low:
                self._released_from_reset()
                return
        if en_low and not was_low:  # EN pulled low: the chip stops, in reset
            self._stop_boot_retry()
            self._rom = None
            board = self._board
            if board is not None and board.alive:
                self._reset_requested = "held"
                board.kill()
            else:
                self._board = None
        elif was_low and not en_low:
            self._strapping = self._loop.call_later(_EN_RC_DELAY_S, self._released_from_reset)

    def _released_from_reset(self) -> None:
        self._strapping = None
        if self._stopped.is_set() or self._en_low:
            return
        _, gpio0_low = auto_reset_pins(*self._modem_lines)
        if gpio0_low:
            self._start_rom()
        else:
            self._boot(esp32_texts.POWERON_RESET, PWRON_RESET)

    def _rom_runs_app(self) -> None:
        """The client told the ROM to run the app in flash (esptool's FLASH_END/RUN_USER_CODE)."""
        self._loop.call_soon(self._leave_rom, esp32_texts.SW_CPU_RESET, HARD_RESET)

    def _leave_rom(self, reason: bytes, cause: int) -> None:
        if self._rom is None or self._stopped.is_set():
            return
        self._rom = None
        self._boot(reason, cause)

    def _go_to_sleep(self) -> None:
        """machine.deepsleep(): the chip is off until its timer (or EN) wakes it."""
        self._sleeping = True
        self._board = None
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        if self._wdt is not None:
            self._wdt.cancel()
            self._wdt = None
        wake_pins = self._wake_pins()
        pulls = {pin: self.bench.chip[pin].pull for pin in wake_pins if pin in self.bench.chip}
        self._sleeping = False  # not woken by its own reset
        self.bench.board_reset()
        for pin, pull in pulls.items():  # RTC IO keeps a wake pin's pull through deep sleep
            self.bench.board_request(["pin_mode", str(pin), "1", str(pull)])
        self._sleeping = True
        self._publish({"event": "deepsleep", "ms": self._deepsleep_ms})
        if self._deepsleep_ms:
            self._asleep = self._loop.call_later(
                self._deepsleep_ms / 1000, self._hard_restart, esp32_texts.DEEPSLEEP_RESET, DEEPSLEEP_RESET, TIMER_WAKE
            )
        self._check_pin_wake()  # a wake level already there wakes it at once, as on a chip

    # -- board → client

    def _board_output(self, board: BoardRun, data: bytes) -> None:
        if board is not self._board:
            return
        if self._pump_active:
            data = self._pump_output(data)
            if not data:
                return
        prompts = self._shaper.prompts
        shaped = self._shaper.feed(data)
        if self._shaper.prompts != prompts:
            self._input_since_prompt = False
            self._interrupt_char = 3
        if shaped.to_board:
            board.write(shaped.to_board)
        self._board_sends(shaped.to_client)
        if shaped.ready:
            self._booting = False
            held, self._held_input = bytes(self._held_input), bytearray()
            self._to_board(held)
        if self._events_pending:
            self._maybe_pump()

    def _board_sends(self, data: bytes) -> None:
        self._to_client_line.write(data)

    def _client_receives(self, data: bytes) -> None:
        if self._webrepl_session is not None:  # dupterm: the board's output goes to both
            self._webrepl_session.send(data)
        if self._client is not None:
            self._client.send(data)
        elif self._pty_master is not None:
            self._write_pty(data)

    def _write_pty(self, data: bytes) -> None:
        """Hand output to the pty; what its buffer cannot take yet waits (a slow reader such
        as pyboard.py loses nothing), up to _PTY_BACKLOG_LIMIT."""
        if self._pty_backlog:
            if len(self._pty_backlog) + len(data) <= _PTY_BACKLOG_LIMIT:
                self._pty_backlog += data
            return
        try:
            written = os.write(self._pty_master, data)
        except BlockingIOError:
            written = 0
        except OSError:
            return
        if written < len(data):
            self._pty_backlog += data[written : written + _PTY_BACKLOG_LIMIT]
            self._loop.add_writer(self._pty_master, self._flush_pty)

    def _flush_pty(self) -> None:
        try:
            written = os.write(self._pty_master, self._pty_backlog)
        except BlockingIOError:
            return
        except OSError:
            written = len(self._pty_backlog)
        del self._pty_backlog[:written]
        if not self._pty_backlog:
            self._loop.remove_writer(self._pty_master)

    # -- client → board

    def _client_sends(self, data: bytes) -> None:
        self._to_board_line.write(data)

    def _board_receives(self, data: bytes) -> None:
        if self._rom is not None:
            self._board_sends(self._rom.receive(data))
            return
        char = self._interrupt_char
        if not 0 <= char <= 255:  # kbd_intr(-1): every byte is data for the code
            self._to_board(data)
            return
        key = bytes([char])
        while data:
            found = data.find(key)
            if found < 0:
                self._to_board(data)
                return
            self._to_board(data[:found])
            self._interrupt_byte(key)
            data = data[found + 1 :]

    def _interrupt_byte(self, key: bytes) -> None:
        if self._running_code():
            self._board.interrupt()
        else:
            self._to_board(key)

    def _chip_kbd_intr(self, char: str) -> None:
        self._interrupt_char = int(char)

    def _to_board(self, data: bytes) -> None:
        if not data or self._board is None:
            return
        if self._pump_active:  # a hidden exec is running handlers: the client's turn is next
            self._pump_held += data
            return
        if self._booting and not self._running_code():
            self._held_input += data
            return
        self._input_since_prompt = True
        if self._held_input:  # boot code runs and may read: what came first goes first
            data, self._held_input = bytes(self._held_input) + data, bytearray()
        if b"\x02" in data and self._shaper.mode is ReplMode.FRIENDLY and not self._booting:
            self._shaper.expect_friendly_banner()
        self._board.write(data)

    def _running_code(self) -> bool:
        board = self._board
        if board is None or not board.alive:
            return False
        running = board.running_code()
        return self._shaper.executing if running is None else running

    # -- interrupts: the bench and timers raise events; an idle raw REPL is pumped for them

    def _send_event(self, line: str) -> None:
        board = self._board
        if board is None or not board.alive:
            return
        board.send_event(line)
        self._events_pending = True
        self._maybe_pump()

    def _idle_for_pump(self) -> bool:
        board = self._board
        return (
            board is not None and board.alive and not self._booting and not self._pump_active
            and self._shaper.raw_idle and self._shaper.prompts > 0 and not self._input_since_prompt
            and not self._held_input and not self._running_code()
        )  # fmt: skip

    def _maybe_pump(self) -> None:
        if not self._events_pending or not self._idle_for_pump():
            return
        self._events_pending = False
        self._pump_active = True
        self._pump_stage = 0
        self._pump_buffer.clear()
        self._board.write(_PUMP_CODE)

    def _pump_output(self, data: bytes) -> bytes:
        """Take the hidden exec's reply out of the board's output; its prints go to the client
        as a board's unsolicited output. Returns what follows the exec (for the shaper)."""
        buf = self._pump_buffer
        buf += data
        while buf:
            if self._pump_stage == 0:
                if len(buf) < 2:
                    return b""
                if buf[:2] != b"OK":  # not our exec's answer: give up hiding it
                    rest = bytes(buf)
                    buf.clear()
                    self._end_pump()
                    return rest
                del buf[:2]
                self._pump_stage = 1
            elif self._pump_stage in (1, 2):
                end = buf.find(b"\x04")
                chunk = bytes(buf if end < 0 else buf[:end])
                if chunk:
                    if self._pump_stage == 2:  # C-printed traceback text: a board's line ends
                        chunk = chunk.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
                    self._board_sends(chunk)
                if end < 0:
                    buf.clear()
                    return b""
                del buf[: end + 1]
                self._pump_stage += 1
            else:
                if buf[:1] == b">":
                    del buf[:1]
                rest = bytes(buf)
                buf.clear()
                self._end_pump()
                return rest
        return b""

    def _end_pump(self) -> None:
        self._pump_active = False
        held, self._pump_held = bytes(self._pump_held), bytearray()
        if held:
            self._to_board(held)
        else:
            self._loop.call_soon(self._maybe_pump)

    def _bench_request(self, board: BoardRun, line: bytes) -> bytes | None:
        words = line.decode(errors="replace").split()
        if words[0] == "q":
            seq, words = words[1], words[2:]
        else:
            seq, words = None, words[1:]
        try:
            handler = getattr(self, "_chip_" + words[0], None)
            answer = handler(*words[1:]) if handler is not None else self.bench.board_request(words)
        except (BenchError, TypeError, ValueError, IndexError) as error:
            # The request's name only: its words can be secrets (wifi_connect's password).
            log.warning("bench request %s failed: %s", words[0] if words else "(empty)", error)
            return None if seq is None else f"{seq} !{error}\n".encode()
        return None if seq is None else f"{seq} {json.dumps(answer)}\n".encode()

    def _chip_timer_start(self, key: str, period_us: str, repeat: str) -> None:
        key_n, period = int(key), max(int(period_us), 1) / 1e6
        self._chip_timer_stop(key)
        self._timer_started[key_n] = self._loop.time()

        def fire(due: float) -> None:
            if repeat == "1":
                next_due = due + period
                now = self._loop.time()
                if next_due < now:  # fell behind (a stopped process): skip, as a board drops missed alarms
                    next_due = now + period - ((now - due) % period)
                self._timers[key_n] = self._loop.call_at(next_due, fire, next_due)
            else:
                self._timers.pop(key_n, None)
            self._send_event(f"timer {key_n}")

        due = self._loop.time() + period
        self._timers[key_n] = self._loop.call_at(due, fire, due)

    def _chip_timer_stop(self, key: str) -> None:
        handle = self._timers.pop(int(key), None)
        if handle is not None:
            handle.cancel()

    def _chip_timer_value(self, key: str) -> int:
        started = self._timer_started.get(int(key))
        return 0 if started is None else int((self._loop.time() - started) * 1000)

    def _chip_wdt_start(self, timeout_ms: str) -> None:
        self._wdt_timeout = int(timeout_ms) / 1000
        self._chip_wdt_feed()

    def _chip_wdt_feed(self) -> None:
        if self._wdt_timeout <= 0:
            return
        if self._wdt is not None:
            self._wdt.cancel()
        self._wdt = self._loop.call_later(self._wdt_timeout, self._wdt_expired)

    def _wdt_expired(self) -> None:
        self._wdt = None
        board = self._board
        if board is None or not board.alive:
            return
        uptime_ms = int((self._loop.time() - self._run_started_at) * 1000)
        self._board_sends(esp32_texts.task_wdt_panic(uptime_ms))
        self._publish({"event": "wdt_reset"})
        self._reset_requested = "wdt"
        board.kill()

    def _chip_deepsleep(self, ms: str) -> None:
        self._deepsleep_ms = int(ms)

    # -- what wakes a deep sleep besides its timer

    def _chip_sleep_wake(self, ext0_pin: str, ext0_level: str, ext1_pins: str, ext1_level: str, touch: str) -> None:
        pin = int(ext0_pin)
        self._sleep_wake["ext0"] = None if pin < 0 else (pin, int(ext0_level))
        pins = () if ext1_pins == "-" else tuple(int(p) for p in ext1_pins.split(","))
        self._sleep_wake["ext1"] = (pins, int(ext1_level))
        self._sleep_wake["touch"] = touch == "1"

    def _chip_pin_wake(self, pin: str, level: str) -> None:
        # Pin.irq(trigger=WAKE_LOW|WAKE_HIGH, wake=DEEPSLEEP): ext0 in v1.24's machine_pin.c
        self._sleep_wake["ext0"] = (int(pin), int(level))

    def _wake_pins(self) -> list[int]:
        pins = list(self._sleep_wake["ext1"][0])
        if self._sleep_wake["ext0"] is not None:
            pins.append(self._sleep_wake["ext0"][0])
        return pins

    def _pin_wake_reason(self) -> int:
        ext0 = self._sleep_wake["ext0"]
        if ext0 is not None and self.bench.level(ext0[0]) == ext0[1]:
            return EXT0_WAKE
        pins, level = self._sleep_wake["ext1"]
        if pins:
            levels = [self.bench.level(p) for p in pins]
            if (level and any(levels)) or (not level and not any(levels)):  # WAKEUP_ANY_HIGH / WAKEUP_ALL_LOW
                return EXT1_WAKE
        if self._sleep_wake["touch"]:
            for pin, threshold in self.bench.touch_thresholds.items():
                if self.bench.touch.get(pin, 600) < threshold:
                    return TOUCHPAD_WAKE
        return 0

    def _check_pin_wake(self) -> None:
        if not self._sleeping:
            return
        reason = self._pin_wake_reason()
        if reason:
            if self._asleep is not None:
                self._asleep.cancel()
                self._asleep = None
            self._sleeping = False  # waking: no second wake
            self._loop.call_soon(self._hard_restart, esp32_texts.DEEPSLEEP_RESET, DEEPSLEEP_RESET, reason)

    # -- flash: NVS, the flash image, the partition table (storage.py)

    def _chip_nvs_open(self, ns_hex: str) -> int:
        return self.nvs.open(unhex(ns_hex))

    def _chip_nvs_set(self, ns_hex: str, key_hex: str, kind: str, value: str) -> int:
        if kind == "i32":
            value = int(value)
        elif value == "-":
            value = ""
        return self.nvs.set(unhex(ns_hex), unhex(key_hex), kind, value)

    def _chip_nvs_get(self, ns_hex: str, key_hex: str, kind: str) -> list:
        return self.nvs.get(unhex(ns_hex), unhex(key_hex), kind)

    def _chip_nvs_erase(self, ns_hex: str, key_hex: str) -> int:
        return self.nvs.erase(unhex(ns_hex), unhex(key_hex))

    # (the board reads and writes the flash image itself: firmware/_esp32_flash.py)
    def _chip_flash_size(self) -> int:
        return self.flash.size

    def _chip_partition_find(self, kind: str, subtype: str) -> list:
        kind_n, subtype_n = int(kind), int(subtype)
        return [list(p) for p in self._partitions if p[0] == kind_n and subtype_n in (255, p[1])]

    # -- the SD card (machine.SDCard; storage.SdCardImage)

    def _chip_sd_blocks(self) -> list | None:
        return self.sd_card.blocks()

    def _chip_sd_read(self, block: str, count: str) -> str | None:
        data = self.sd_card.read(int(block), int(count))
        return None if data is None else data.hex()

    def _chip_sd_write(self, block: str, data_hex: str) -> bool:
        return self.sd_card.write(int(block), bytes.fromhex(data_hex))

    def sd_card_control(self, words: list[str]) -> dict:
        """sdcard [insert [MB] | eject]: the card in the SD slot (sdcard.img in the board folder)."""
        if words[:1] == ["insert"] and len(words) <= 2:
            return self.sd_card.insert(int(words[1]) if len(words) == 2 else 32)
        if words == ["eject"]:
            return self.sd_card.eject()
        if not words:
            return self.sd_card.describe()
        raise ValueError("sdcard [insert [MB] | eject]")

    def _chip_rmt(self, pin: str, clock_div: str, pulses: str) -> None:
        items = [[int(level), int(ticks)] for level, ticks in (p.split(":") for p in pulses.split(","))]
        self._publish({"event": "rmt", "pin": int(pin), "clock_div": int(clock_div), "pulses": items})

    # -- the event stream

    def _publish(self, event: dict) -> None:
        if not self._subscribers:
            return
        line = json.dumps(event).encode() + b"\n"
        for writer in list(self._subscribers):
            if writer.is_closing() or writer.transport.get_write_buffer_size() > _EVENT_BACKLOG_LIMIT:
                self._subscribers.discard(writer)
                writer.close()
                continue
            writer.write(line)

    # -- the client link: TCP, and a pty when asked

    def _client_connected(self, client: "_ClientProtocol") -> bool:
        why = _refused(client.transport)
        if why:
            client.refuse(f"esp32-kernel emulator: {why}\r\n".encode())
            return False
        if self._client is not None:
            client.refuse(busy_message(self._client.peer))
            return False
        self._client = client
        return True

    def _client_disconnected(self, client: "_ClientProtocol") -> None:
        if client is self._client:
            self._client = None
            self._to_client_line.clear()

    def drop_client(self) -> bool:
        """Close the client's connection, as unplugging the cable does; False if there was none."""
        if self._client is None:
            return False
        self._client.transport.abort()
        self._client_disconnected(self._client)
        return True

    def _open_pty(self) -> str:
        import pty
        import tty

        self._pty_master, self._pty_slave = pty.openpty()
        tty.setraw(self._pty_slave)  # held open so the master never reads EIO between clients
        os.set_blocking(self._pty_master, False)
        self._loop.add_reader(self._pty_master, self._read_pty)
        return os.ttyname(self._pty_slave)

    def _read_pty(self) -> None:
        try:
            data = os.read(self._pty_master, 65536)
        except OSError:
            return
        if self._client is None:  # the TCP client, when there is one, owns the board
            self._client_sends(data)

    # -- WebREPL (webrepl_server.py): the board's webrepl.start() and WiFi say when it is reachable

    def _chip_webrepl_start(self, port: str, password_hex: str) -> str | None:
        """Listen for WebREPL clients; an error text (nothing logged: the request holds the
        password) if the port cannot be had."""
        board_port = int(port)
        if self._webrepl_listener is None or board_port != self._webrepl_board_port:
            if self._webrepl_server is not None:
                self._webrepl_server.close()
                self._webrepl_server = None
            elif self._webrepl_listener is not None:
                self._webrepl_listener.close()
            serve_on = board_port if self._webrepl_port_override is None else self._webrepl_port_override
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                listener.bind((self._host, serve_on))
                listener.listen(1)
            except OSError as error:
                listener.close()
                return f"[Errno 112] EADDRINUSE (the emulator could not listen on {self._host}:{serve_on}: {error.strerror})"
            listener.setblocking(False)
            self._webrepl_listener = listener
            self._webrepl_board_port = board_port
            self._loop.create_task(self._serve_webrepl(listener))
        self._webrepl_password = unhex(password_hex).encode()
        self._publish({"event": "webrepl", "url": self._webrepl_url()})
        return None

    async def _serve_webrepl(self, listener: socket.socket) -> None:
        server = await self._loop.create_server(lambda: WebReplSession(self), sock=listener)
        if listener is self._webrepl_listener:
            self._webrepl_server = server
        else:  # restarted on another port meanwhile
            server.close()

    def _webrepl_url(self) -> str | None:
        listener = self._webrepl_listener
        if listener is None or listener.fileno() < 0:
            return None
        host, port = listener.getsockname()[:2]
        return f"ws://{host}:{port}"

    def _chip_webrepl_stop(self) -> None:
        self._webrepl_password = None
        self._drop_webrepl_client()

    def _chip_wlan_active(self, interface: str, on: str) -> None:
        self._wlan_active[int(interface)] = on == "1"
        if interface == "0" and on != "1":
            self._sta_up_at = None
        self._drop_unreachable_webrepl()

    def _chip_wifi_connect(self, ssid_hex: str, password_hex: str) -> list:
        """The bench decides a station's connect; noted here, since a connected station
        makes the WebREPL reachable. (Not logged: the request holds the WiFi password.)"""
        outcome = self.bench.board_request(["wifi_connect", ssid_hex, password_hex])
        self._sta_up_at = self._loop.time() + outcome[1] if outcome[0] == 1010 else None  # STAT_GOT_IP
        self._drop_unreachable_webrepl()
        return outcome

    def _chip_espnow(self, op: str, *args: str):
        """ESP-NOW's driver (firmware/_espnow.py) on the air (air.py)."""
        if op == "radio":  # STA up, AP up, channel: what network.WLAN has set
            self.air.set_radio(args[0] == "1", args[1] == "1", int(args[2]))
        elif op == "active":
            self.air.set_espnow(args[0] == "1", int(args[1]))
        elif op == "send":  # to a MAC (hex), data (hex): acknowledged?
            return self.air.send(bytes.fromhex(args[0]), b"" if args[1] == "-" else bytes.fromhex(args[1]))
        elif op == "recv":
            return self.air.take()
        elif op == "counts":
            return [len(self.air.frames), self.air.received, self.air.dropped]
        else:
            raise ValueError(f"unknown espnow request {op!r}")
        return None

    def _chip_ble(self, op: str, *args: str):
        """Bluetooth LE's stack (ble.py), for the board's bluetooth module."""
        return self.ble.request(op, list(args))

    async def _ble_bench(self, command: str, args: list[str]) -> dict:
        """The bench's Bluetooth devices (ble_bench.py): `ble_sensor NAME [°C [%RH]]`,
        `ble_heart_rate NAME [BPM]`, `phone …`."""
        if command == "phone":
            phone = self._bench_radios.get("phone")
            if phone is None:
                phone = self._bench_radios["phone"] = ble_bench.Phone(self.air.name)
                await phone.start()
            return await phone.control(args)
        kind, settings = ble_bench.KINDS[command.removeprefix("ble_")]
        if not args or args[0] == "phone" or len(args) > 1 + len(settings):
            raise ValueError(f"{command} NAME " + " ".join(f"[{name}]" for name in settings))
        device = self._bench_radios.get(args[0])
        if device is not None and not isinstance(device, kind):
            raise ValueError(f"{args[0]!r} is a {type(device).__name__} on the bench already")
        if device is None:
            device = self._bench_radios[args[0]] = kind(self.air.name, args[0])
            await device.start()
        device.settings.update(zip(settings, (float(a) for a in args[1:])))
        device.write()
        return device.describe()

    def _chip_wlan_disconnected(self) -> None:
        self._sta_up_at = None
        self._drop_unreachable_webrepl()

    def _wifi_up(self) -> bool:
        """As on a board: the WebREPL is reachable through an active access point or a
        station that has its IP."""
        station = self._wlan_active[0] and self._sta_up_at is not None and self._loop.time() >= self._sta_up_at
        return self._wlan_active[1] or station

    def _drop_unreachable_webrepl(self) -> None:
        if not self._wifi_up():
            self._drop_webrepl_client()

    def webrepl_password(self) -> bytes | None:
        return self._webrepl_password if self._wifi_up() else None

    def webrepl_attach(self, session: WebReplSession) -> bool:
        if self._webrepl_session is not None:
            return False
        self._webrepl_session = session
        return True

    def webrepl_detach(self, session: WebReplSession) -> None:
        if session is self._webrepl_session:
            self._webrepl_session = None

    def webrepl_input(self, data: bytes) -> None:
        self._client_sends(data)

    def console_note(self, text: bytes) -> None:
        self._board_sends(text)

    def _drop_webrepl_client(self) -> None:
        session, self._webrepl_session = self._webrepl_session, None
        if session is not None:
            session.close()

    # -- control channel

    def status(self) -> dict:
        board = self._board
        alive = board is not None and board.alive
        return {
            "core": self.core,
            "micropython_pid": board.pid if board is not None else None,
            "micropython_running": alive,
            "running_code": self._running_code(),
            "booting": self._booting,
            "repl_mode": self._shaper.mode.value,
            "reset_cause": self._last_reset_cause,
            "client": self._client.peer if self._client is not None else None,
            "board_dir": str(self.board_dir),
            "baud": self.baud,
            "asleep": self._sleeping,
            "timers": sorted(self._timers),
            "wdt": self._wdt is not None,
            "board": self.profile.id,
            "board_name": self.profile.name,
            "download_mode": self._rom is not None,
            "stub_flasher": self._rom is not None and self._rom.stub,
            "boot_failed": self._boot_retry is not None,
            "webrepl": self._webrepl_url() if self._webrepl_password is not None else None,
            "webrepl_client": self._webrepl_session.peer if self._webrepl_session is not None else None,
        }

    async def _serve_control(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        commands = {
            "status": lambda: {"ok": True, **self.status()},
            "hard_reset": lambda: {"ok": True, "reset": self.hard_reset()},
            "drop_client": lambda: {"ok": True, "dropped": self.drop_client()},
            "download": lambda: {"ok": True, "download": self.enter_download_mode()},
        }
        why = _refused(writer)
        if why:  # said, then half-closed: closing with the client's bytes unread would lose it
            writer.write((json.dumps({"ok": False, "error": why}) + "\n").encode())
            writer.write_eof()
            try:
                await asyncio.wait_for(_drain_until_closed(reader), _REFUSED_LINGER_S)
            except asyncio.TimeoutError:
                pass
            writer.close()
            return
        try:
            while line := await reader.readline():
                words = line.decode(errors="replace").split()
                if not words:
                    continue
                command = words[0]
                if command in commands and len(words) == 1:
                    reply = commands[command]()
                elif command == "noise" and len(words) == 2 and words[1].isdigit():
                    reply = {"ok": True, "sent": self.line_noise(int(words[1]))}
                elif command == "ble" and len(words) == 1:
                    reply = {"ok": True, **self.ble.describe()}
                elif command in ("ble_sensor", "ble_heart_rate", "phone"):
                    try:
                        reply = {"ok": True, **await self._ble_bench(command, words[1:])}
                    except ValueError as error:
                        reply = {"ok": False, "error": str(error)}
                elif command == "air":
                    try:
                        reply = {"ok": True, **self.air.control(words[1:])}
                    except ValueError as error:
                        reply = {"ok": False, "error": str(error)}
                elif command == "sdcard":
                    try:
                        reply = {"ok": True, **self.sd_card_control(words[1:])}
                    except ValueError as error:
                        reply = {"ok": False, "error": f"sdcard: {error}"}
                elif command == "events":
                    self._subscribers.add(writer)
                    reply = {"ok": True, "subscribed": True}
                elif command == "help":
                    reply = {"ok": True, "commands": sorted([*commands, "air", "ble", "ble_sensor", "ble_heart_rate", "phone", "events", "noise", "sdcard", *self.bench_commands()])}
                else:
                    try:
                        reply = {"ok": True, **self.bench.control(words)}
                        if command == "describe":  # and the Bluetooth devices beside the bench's parts
                            reply["ble_devices"] = {n: d.describe() for n, d in self._bench_radios.items() if n != "phone"}
                    except BenchError as error:
                        reply = {"ok": False, "error": str(error)}
                    except ValueError as error:
                        reply = {"ok": False, "error": f"{command}: {error}"}
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            self._subscribers.discard(writer)
            writer.close()

    def line_noise(self, count: int) -> int:
        """Random bytes to the client, as a bad cable or a wrong baud rate gives (faults)."""
        if self._client is None:
            return 0
        count = min(count, 1 << 20)
        self._to_client_line.write(os.urandom(count))
        return count

    def bench_commands(self) -> list[str]:
        return [name.removeprefix("_control_") for name in dir(self.bench) if name.startswith("_control_")]




class _ClientProtocol(asyncio.Protocol):
    def __init__(self, supervisor: Supervisor):
        self._supervisor = supervisor
        self._accepted = False
        self._refusal = b""

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        host, port = transport.get_extra_info("peername")[:2]
        self.peer = f"{host}:{port}"
        self._accepted = self._supervisor._client_connected(self)

    def send(self, data: bytes) -> None:
        self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        if self._accepted:
            self._supervisor._client_sends(data)
        else:
            self._say_refusal()

    def refuse(self, message: bytes) -> None:
        """Tell a client it cannot have the board, once it listens: on its first bytes
        (pyserial discards what arrives while it opens) or after a moment. Then
        half-close and let it hang up: closing with its bytes unread would reset the
        connection and lose the message."""
        self._refusal = message
        loop = asyncio.get_running_loop()
        loop.call_later(_REFUSAL_DELAY_S, self._say_refusal)
        loop.call_later(_REFUSED_LINGER_S, self.transport.close)

    def _say_refusal(self) -> None:
        if self._refusal and not self.transport.is_closing():
            self.transport.write(self._refusal)
            if self.transport.can_write_eof():
                self.transport.write_eof()
        self._refusal = b""

    def connection_lost(self, exc: Exception | None) -> None:
        if self._accepted:
            self._supervisor._client_disconnected(self)
