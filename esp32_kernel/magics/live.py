"""%plot, %gpio, %adc, %bench, %wifi: live data from the board, as plots and widgets."""

from __future__ import annotations

import ast

from IPython.core.magic import line_magic, magics_class
from IPython.display import display

from ..board import BoardError, DeviceError
from ..chip.gpio import ADC_ATTENUATIONS
from ..live.api import Live
from ..errors import magic_failed
from .base import KernelMagics, MagicParser, MagicUsageError, parse_line

_plot = MagicParser(prog="plot", add_help=False)
_plot.add_argument("names", nargs="*", help="series to plot (all if none)")
_plot.add_argument("--window", default="10s", help="rolling window: 10s, 500ms, 2min")
_plot.add_argument("--points", type=int, default=None, help="show the last N samples instead of a time window")
_plot.add_argument("--max-points", type=int, default=2000, help="points drawn per series at most (min/max decimation)")
_plot.add_argument("--lines", nargs="?", const="cell", choices=["cell", "session", "off"],
                   help="also plot printed numeric lines (temp:21.5,hum:40 or bare numbers): this cell or the session")
_plot.add_argument("--title", default=None)
_plot.add_argument("--height", type=int, default=300)
_plot.add_argument("--stop", action="store_true", help="stop every live plot")
_plot.add_argument("--csv", metavar="FILE", default=None, help="save the series kept (all, or NAMEs) to FILE")
_plot.add_argument("--summary", action="store_true", help="samples received, lost, gaps, restarts")


def _widgets():
    """The widget panels (ipywidgets), loaded when a panel is first shown, not with the kernel."""
    from ..live import widgets

    return widgets


@magics_class
class LiveMagics(KernelMagics):
    def __init__(self, shell, kernel) -> None:
        super().__init__(shell, kernel)
        self.live = Live(kernel)
        shell.user_ns["live"] = self.live
        kernel.live = self.live

    @line_magic
    def plot(self, line: str) -> None:
        """%plot [NAME…] [--window 10s | --points N] [--lines [cell|session]] — a live plot of the
        board's series (from `from nb import emit; emit(name=value)`), updated while cells run.

        --max-points N   points drawn per series at most; peaks survive decimation
        --title T, --height PX
        --stop           stop every live plot;  --csv FILE [NAME…]  save the data;  --summary
        In %%host cells: live.plot(...), live.frame() (a DataFrame), live.to_csv(path).
        """
        args = parse_line(_plot, line)
        live = self.live
        if args.stop:
            print(f"Stopped {live.stop()} live plot(s).")
            return
        if args.csv:
            try:
                path = live.to_csv(args.csv, *args.names)
            except KeyError as e:
                raise magic_failed("plot", "KeyError", e.args[0]) from None
            print(f"Saved {len(live.frame(*args.names)):,} rows to {path}.")
            return
        if args.summary:
            print(live.summary())
            return
        if args.lines == "off":
            live.lines("off")
        try:
            plot = live.plot(
                *args.names,
                window=None if args.points else args.window,
                points=args.points,
                max_points=args.max_points,
                title=args.title,
                height=args.height,
                lines=args.lines if args.lines != "off" else None,
            )
        except ValueError as e:
            raise MagicUsageError(str(e)) from None
        display(plot.widget)

    @line_magic
    def gpio(self, line: str) -> None:
        """%gpio PIN[:MODE]… — a panel: MODE out (a toggle, the default), in (an indicator,
        updated from the pin's IRQ), pwm (duty and frequency), dac (0–255). Changes act on the
        board between cells; while a cell runs they wait for it, and the panel says so.
        Example: %gpio 2 0:in 4:pwm 25:dac"""
        try:
            pins = _widgets().parse_pins(line.split())
        except ValueError as e:
            raise MagicUsageError(str(e)) from None
        if not pins:
            raise MagicUsageError("name the pins, e.g. %gpio 2 0:in 4:pwm 25:dac")
        display(_widgets().GpioPanel(self.live, pins))

    @line_magic
    def adc(self, line: str) -> None:
        """%adc PIN… [--atten 0db|2.5db|6db|11db] [--rate HZ] [--timer N] — live meters and a
        plot per ADC channel; the board samples them from Timer N (default 3) and emits adcPIN."""
        args = parse_line(_adc, line)
        if not args.pins:
            raise MagicUsageError("name the ADC pins, e.g. %adc 34 35")
        display(_widgets().AdcPanel(self.live, args.pins, atten=args.atten, rate=args.rate, timer=args.timer))

    @line_magic
    def bench(self, line: str) -> None:
        """%bench KIND:PIN… — the emulated ESP32's virtual parts, with controls: pot:34 (a
        potentiometer slider), therm:35 (a thermistor's °C), button:0 (a push button), led:2
        (an LED indicator); Bluetooth LE devices in its air by name: ble_sensor:NAME (°C and
        %RH sliders), heart_rate:NAME (bpm). They act through the emulator's control channel,
        also while a cell runs. Emulator only."""
        self.kernel.wait_for_start_up()  # a first cell: the emulator may still be starting
        emulator = self.kernel.boards.emulator
        if emulator is None:
            raise magic_failed("bench", "NotEmulated", "the bench is the emulator's; this kernel is on a real board (%connect emulator)")
        parts = []
        for word in line.split():
            kind, _, where = word.partition(":")
            if kind in ("ble_sensor", "heart_rate") and where.isidentifier():
                parts.append((kind, where))
                continue
            if not where.isdigit():
                raise MagicUsageError(f"{word!r}: a part is KIND:PIN, e.g. pot:34 therm:35 button:0 led:2, or ble_sensor:NAME")
            parts.append((kind, int(where)))
        if not parts:
            raise MagicUsageError("name the parts, e.g. %bench pot:34 therm:35 button:0 led:2")
        try:
            panel = _widgets().BenchPanel(self.live, emulator, parts)
        except ValueError as e:  # an unknown part
            raise MagicUsageError(str(e)) from None
        display(panel)

    def _ble_read(self, address: str, follow: float) -> None:
        mac = address.replace(":", "").lower()
        if len(mac) != 12 or any(c not in "0123456789abcdef" for c in mac):
            raise MagicUsageError(f"{address!r}: an address is six hex bytes, e.g. 24:0a:c4:12:34:56")
        widgets = _widgets()
        code = widgets.BLE_READ_ALL % (mac, 5000, address, address, int(follow * 1000))
        board = self.kernel.boards.current()
        if not follow:
            printed = board.exec(code, timeout=60)
            print(widgets.characteristics_table(address, ast.literal_eval(printed.strip().splitlines()[-1])))
            return
        view = widgets.BleConnectionView(address)
        display(view.widget)
        pending = bytearray()

        def on_output(stream: str, data: bytes) -> None:  # the board's printed lines, as they come
            if stream != "stdout":
                return
            pending.extend(data)
            while b"\n" in pending:
                line, _, rest = bytes(pending).partition(b"\n")
                pending[:] = rest
                if line.strip():
                    view.take(ast.literal_eval(line.decode().strip()))

        execution = board.start(code, on_output)
        try:
            finished = execution.done.wait(60 + follow)
        except KeyboardInterrupt:  # the stop button: the board's code disconnects on its way out
            board.stop(execution)
            raise
        if not finished:
            board.stop(execution)
            raise BoardError(f"{address} kept the board busy past {60 + follow:.0f} s and was interrupted")
        if execution.error:
            raise DeviceError(execution.error)

    @line_magic
    def wifi(self, line: str) -> None:
        """%wifi — scan table, connect form (the password goes to the board only), status
        and RSSI over time."""
        display(_widgets().WifiPanel(self.live))

    @line_magic
    def ble(self, line: str) -> None:
        """%ble [SECONDS] — a Bluetooth LE scan table: what the board hears (name, address, RSSI,
        connectable, services); scans for SECONDS (2) now and at each click of scan.
        %ble --read ADDR — the board connects to ADDR (as the table shows it), lists its
        characteristics with the value of each readable one, and disconnects.
        %ble --read ADDR --follow SECONDS — and stays connected for SECONDS (the stop button
        ends it sooner), subscribed to what notifies or indicates, the table kept live."""
        args = parse_line(_ble, line)
        if args.read:
            if args.follow is not None and not 0 < args.follow <= 3600:
                raise MagicUsageError("--follow SECONDS: 1 to 3600 seconds of live values")
            self._ble_read(args.read, args.follow or 0)
            return
        if args.follow is not None:
            raise MagicUsageError("--follow goes with --read ADDR: %ble --read ADDR --follow 30")
        if not 0.1 <= args.seconds <= 60:
            raise MagicUsageError("%ble SECONDS: a scan of 0.1 to 60 seconds")
        panel = _widgets().BlePanel(self.live, args.seconds)
        display(panel)
        panel.scan()


_ble = MagicParser(prog="ble", add_help=False)
_ble.add_argument("seconds", nargs="?", type=float, default=2.0)
_ble.add_argument("--read", metavar="ADDR", default=None, help="connect, read every characteristic, disconnect")
_ble.add_argument("--follow", metavar="SECONDS", type=float, default=None, help="with --read: stay connected, show notified values live")
_adc = MagicParser(prog="adc", add_help=False)
_adc.add_argument("pins", nargs="*", type=int)
_adc.add_argument("--atten", default="11db", choices=list(ADC_ATTENUATIONS))
_adc.add_argument("--rate", type=float, default=20.0)
_adc.add_argument("--timer", type=int, default=3)
