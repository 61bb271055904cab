"""Widget panels: %gpio, %adc, %bench, %wifi.

A widget change acts on the board between cells (`Live.board_call`); while a cell runs it
is queued and runs when the cell ends, and the panel says so: nothing is ever written to
the link under a running cell. What the board reports back (input pin edges, ADC samples)
comes through the data channel (`nb.emit` on the board) like any other series, so it can
be plotted too; widget values are set on the kernel's event loop only.
"""

from __future__ import annotations

import html
import math

import ipywidgets as w
import numpy as np
import traitlets

from ..board import BoardError
from ..chip.gpio import ADC_ATTENUATIONS as ATTENUATIONS

GPIO_MODES = ("out", "in", "pwm", "dac")
FULL_SCALE_V = {"0db": 1.1, "2.5db": 1.467, "6db": 2.195, "11db": 3.3}


def parse_pins(words: list[str], default: str = "out") -> list[tuple[int, str]]:
    """['2', '0:in', '4:pwm'] → [(2, 'out'), (0, 'in'), (4, 'pwm')]."""
    pins = []
    for word in words:
        number, _, mode = word.partition(":")
        mode = (mode or default).lower()
        if not number.isdigit() or mode not in GPIO_MODES:
            raise ValueError(f"{word!r}: a pin is NUMBER or NUMBER:MODE, MODE one of {', '.join(GPIO_MODES)}")
        pins.append((int(number), mode))
    return pins


class Panel:
    """A VBox with a status line; board actions go through `act`."""

    def __init__(self, live, title: str) -> None:
        self.live = live
        self.loop = live._renderer_now().loop
        self.status = w.HTML(value="")
        self.title = w.HTML(value=f"<b>{html.escape(title)}</b>")
        self.box = w.VBox([self.title])

    def act(self, description: str, code: str) -> None:
        def run() -> None:
            try:
                self.live.board_call(code)
                self.say(f"done: {description}")
            except BoardError as e:
                self.say(f"{description} failed: {e}", error=True)

        message = self.live.when_free(description, run)
        if message:
            self.say(message)

    def say(self, text: str, error: bool = False) -> None:
        colour = "#c00" if error else "#555"
        self.status.value = f'<span style="color:{colour};font-size:12px">{html.escape(text)}</span>'

    def on_loop(self, fn, *args) -> None:
        """Run fn on the kernel's event loop (widget traits are only touched there)."""
        self.loop.call_soon_threadsafe(fn, *args)

    def _ipython_display_(self):
        from IPython.display import display

        display(self.box)


class GpioPanel(Panel):
    """A toggle per output pin, an indicator per input pin (its IRQ edges arrive as records
    named gpioN), a duty/frequency slider pair per PWM pin, a slider per DAC pin."""

    def __init__(self, live, pins: list[tuple[int, str]]) -> None:
        super().__init__(live, "GPIO")
        self.controls: dict[int, w.Widget] = {}
        self.indicators: dict[int, w.Valid] = {}
        rows = []
        setup = ["from machine import Pin", "import nb"]
        for pin, mode in pins:
            if mode == "out":
                toggle = w.ToggleButton(value=False, description=f"GPIO{pin}", icon="lightbulb-o")
                toggle.observe(lambda change, p=pin: self.act(f"GPIO{p} = {int(change['new'])}", f"Pin({p}, Pin.OUT).value({int(change['new'])})"), "value")
                self.controls[pin] = toggle
                rows.append(toggle)
                setup.append(f"Pin({pin}, Pin.OUT)")
            elif mode == "in":
                indicator = w.Valid(value=False, description=f"GPIO{pin}", readout="low")
                self.indicators[pin] = indicator
                rows.append(indicator)
                setup.append(
                    f"_p{pin} = Pin({pin}, Pin.IN)\n"
                    f"_p{pin}.irq(lambda p: nb.emit(gpio{pin}=p.value()), Pin.IRQ_RISING | Pin.IRQ_FALLING)\n"
                    f"nb.emit(gpio{pin}=_p{pin}.value())"
                )
            elif mode == "pwm":
                duty = w.FloatSlider(value=0, min=0, max=100, step=0.5, description=f"GPIO{pin} %", continuous_update=False)
                freq = w.BoundedIntText(value=1000, min=1, max=40_000_000, description="Hz")
                def update(_=None, p=pin, d=duty, f=freq):
                    u16 = round(d.value / 100 * 65535)
                    self.act(f"PWM GPIO{p}: {d.value:g} % at {f.value} Hz", f"from machine import PWM\nPWM(Pin({p}), freq={f.value}, duty_u16={u16})")
                duty.observe(update, "value")
                freq.observe(update, "value")
                self.controls[pin] = duty
                rows.append(w.HBox([duty, freq]))
            elif mode == "dac":
                slider = w.IntSlider(value=0, min=0, max=255, description=f"DAC{pin}", continuous_update=False)
                slider.observe(lambda change, p=pin: self.act(f"DAC GPIO{p} = {change['new']}", f"from machine import DAC\nDAC(Pin({p})).write({change['new']})"), "value")
                self.controls[pin] = slider
                rows.append(slider)
        self.box.children = [self.title, *rows, self.status]
        live.data.subscribe(self)
        self.act("set up the pins", "\n".join(setup))

    def accept(self, name: str, t: np.ndarray, v: np.ndarray) -> None:
        if name.startswith("gpio") and name[4:].isdigit() and int(name[4:]) in self.indicators and len(v):
            self.on_loop(self._show, int(name[4:]), bool(v[-1]))

    def _show(self, pin: int, level: bool) -> None:
        indicator = self.indicators[pin]
        indicator.value = level
        indicator.readout = "high" if level else "low"


class AdcPanel(Panel):
    """A meter per ADC pin, fed by a board Timer that emits adcN (raw) at `rate` Hz, with
    the attenuation selectable; and a live plot of the channels."""

    def __init__(self, live, pins: list[int], *, atten: str = "11db", rate: float = 20.0, timer: int = 3, window: str = "20s") -> None:
        super().__init__(live, "ADC")
        self.pins = pins
        self.rate = rate
        self.timer = timer
        self.atten = w.Dropdown(options=list(ATTENUATIONS), value=atten, description="atten")
        self.atten.observe(lambda change: self._start(), "value")
        self.meters = {pin: w.FloatProgress(value=0, min=0, max=4095, description=f"ADC{pin}") for pin in pins}
        self.readouts = {pin: w.Label(value="–") for pin in pins}
        rows = [w.HBox([self.meters[p], self.readouts[p]]) for p in pins]
        stop = w.Button(description="stop sampling")
        stop.on_click(lambda _: self.act(f"stop Timer({timer})", f"from machine import Timer\nTimer({timer}).deinit()"))
        self.plot = live.plot(*[f"adc{p}" for p in pins], window=window, title="ADC (raw, 0–4095)", height=220)
        self.box.children = [self.title, self.atten, *rows, w.HBox([stop]), self.plot.widget, self.status]
        live.data.subscribe(self)
        self._start()

    def _start(self) -> None:
        attn = ATTENUATIONS[self.atten.value]
        adcs = ", ".join(f"ADC(Pin({p}), atten=ADC.{attn})" for p in self.pins)
        names = ", ".join(f"adc{p}=_a[{i}].read()" for i, p in enumerate(self.pins))
        code = (
            "from machine import ADC, Pin, Timer\nimport nb\n"
            f"_a = [{adcs}]\n"
            f"Timer({self.timer}).init(period={max(1, round(1000 / self.rate))}, callback=lambda t: nb.emit({names}))"
        )
        self.act(f"sample ADC {', '.join(map(str, self.pins))} at {self.rate:g} Hz ({self.atten.value})", code)

    def accept(self, name: str, t: np.ndarray, v: np.ndarray) -> None:
        if name.startswith("adc") and name[3:].isdigit() and int(name[3:]) in self.meters and len(v):
            self.on_loop(self._show, int(name[3:]), float(v[-1]))

    def _show(self, pin: int, raw: float) -> None:
        if not math.isfinite(raw):
            return
        self.meters[pin].value = raw
        volts = raw / 4095 * FULL_SCALE_V[self.atten.value]
        self.readouts[pin].value = f"{raw:.0f}  ≈ {volts:.3f} V"


class BenchPanel(Panel):
    """Controls for the emulator's virtual parts, through its control channel (not the
    board's link: they work while a cell runs, as turning a real knob does)."""

    def __init__(self, live, emulator, parts: list[tuple[str, int | str]]) -> None:
        super().__init__(live, "Bench (emulated ESP32)")
        self.emulator = emulator
        self.leds: dict[int, w.Valid] = {}
        rows = []
        for kind, pin in parts:
            if kind == "pot":
                emulator.add_pot(pin, 0.5)
                slider = w.FloatSlider(value=0.5, min=0, max=1, step=0.01, description=f"pot {pin}")
                slider.observe(lambda c, p=pin: self._bench("set_pot", p, round(c["new"], 4)), "value")
                rows.append(slider)
            elif kind == "therm":
                emulator.add_thermistor(pin, 25.0)
                slider = w.FloatSlider(value=25, min=-20, max=100, step=0.5, description=f"°C {pin}")
                slider.observe(lambda c, p=pin: self._bench("set_temperature", p, c["new"]), "value")
                rows.append(slider)
            elif kind == "button":
                emulator.add_button(pin)
                button = w.Button(description=f"press {pin}")
                button.on_click(lambda _, p=pin: self._bench("press", p, 200))
                rows.append(button)
            elif kind == "led":
                emulator.add_led(pin)
                self.leds[pin] = w.Valid(value=False, description=f"LED {pin}", readout="off")
                rows.append(self.leds[pin])
            elif kind == "ble_sensor":  # a Bluetooth LE sensor in the board's air, by name (`pin`)
                now = emulator.bench("ble_sensor", pin)
                celsius = w.FloatSlider(value=now["celsius"], min=-40, max=85, step=0.5, description=f"{pin} °C")
                humidity = w.FloatSlider(value=now["humidity"], min=0, max=100, step=1, description=f"{pin} %RH")
                update = lambda _, n=pin, t=celsius, h=humidity: self._bench("ble_sensor", n, t.value, h.value)  # noqa: E731
                celsius.observe(update, "value")
                humidity.observe(update, "value")
                rows += [celsius, humidity]
            elif kind == "heart_rate":
                now = emulator.bench("ble_heart_rate", pin)
                bpm = w.IntSlider(value=int(now["bpm"]), min=30, max=220, description=f"{pin} bpm")
                bpm.observe(lambda c, n=pin: self._bench("ble_heart_rate", n, c["new"]), "value")
                rows.append(bpm)
            else:
                raise ValueError(f"{kind!r}: a bench part is pot, therm, button, led, ble_sensor or heart_rate")
        self.box.children = [self.title, *rows, self.status]
        if self.leds:
            self._poll()

    def _bench(self, *words) -> None:
        try:
            self.emulator.bench(*words)
        except Exception as e:  # noqa: BLE001 - the emulator says why
            self.say(f"{' '.join(map(str, words))}: {e}", error=True)

    def _poll(self) -> None:
        """LED states, five times a second, from the control channel (never the board's link)."""
        try:
            leds = self.emulator.bench("leds").get("leds", {})
        except Exception:  # noqa: BLE001 - the emulator stopped: stop polling
            return
        for key, led in leds.items():
            pin = int(key)
            if pin in self.leds:
                lit = float(led.get("brightness", 0)) > 0
                self.leds[pin].value = lit
                self.leds[pin].readout = "on" if lit else "off"
        self.loop.call_later(0.2, self._poll)


class Password(w.Password):
    """A password field whose typed value the kernel does not echo back to every front end
    (ipywidgets 8 echoes each update on iopub unless the trait says otherwise)."""

    value = traitlets.Unicode(help="String value").tag(sync=True, echo_update=False)


class WifiPanel(Panel):
    """A scan table, a connect form (the password goes to the board and nowhere else: not
    into a cell, the history, or the saved widget state), status, and RSSI over time."""

    def __init__(self, live) -> None:
        super().__init__(live, "WiFi")
        self.table = w.HTML(value="")
        scan = w.Button(description="scan", icon="wifi")
        scan.on_click(lambda _: self.scan())
        self.ssid = w.Text(description="SSID")
        self.password = Password(description="password")
        connect = w.Button(description="connect")
        connect.on_click(lambda _: self.connect())
        self.state = w.Label(value="")
        self.plot = live.plot("rssi", window="2min", title="RSSI (dBm)", height=200)
        self.box.children = [self.title, w.HBox([scan]), self.table, w.HBox([self.ssid, self.password, connect]), self.state, self.plot.widget, self.status]
        self._polling = False

    def scan(self) -> None:
        def run() -> None:
            try:
                found = self.live.board_call(
                    "import network\n_w = network.WLAN(network.STA_IF)\n_w.active(True)\n"
                    "__r__([(s[0], s[2], s[3], s[4]) for s in _w.scan()])", timeout=10
                )
            except BoardError as e:
                self.say(f"scan failed: {e}", error=True)
                return
            import ast

            rows = ast.literal_eval(found) if found else []
            auth = {0: "open", 1: "WEP", 2: "WPA", 3: "WPA2", 4: "WPA/WPA2", 5: "WPA2-ENT", 6: "WPA3", 7: "WPA2/WPA3"}
            body = "".join(
                f"<tr><td>{html.escape(ssid.decode(errors='replace') if isinstance(ssid, bytes) else str(ssid))}</td>"
                f"<td>{rssi} dBm {'▂▄▆█'[: max(1, min(4, (rssi + 100) // 12))]}</td><td>{channel}</td><td>{auth.get(mode, mode)}</td></tr>"
                for ssid, channel, rssi, mode in sorted(rows, key=lambda r: -r[2])
            )
            self.table.value = f"<table><tr><th>SSID</th><th>RSSI</th><th>channel</th><th>auth</th></tr>{body}</table>"
            self.say(f"{len(rows)} access point(s)")

        message = self.live.when_free("scan", run)
        if message:
            self.say(message)

    def connect(self) -> None:
        ssid, password = self.ssid.value, self.password.value
        self.password.value = ""  # out of the widget state at once: a saved notebook never holds it

        def run() -> None:
            try:
                self.live.board_call(
                    f"import network\n_w = network.WLAN(network.STA_IF)\n_w.active(True)\n_w.connect({ssid!r}, {password!r})"
                )
            except BoardError as e:
                self.say(f"connect failed: {str(e).replace(password, '***') if password else e}", error=True)
                return
            self.say(f"connecting to {ssid}…")
            if not self._polling:
                self._polling = True
                self._poll()

        message = self.live.when_free(f"connect to {ssid}", run)
        if message:
            self.say(message)

    def _poll(self) -> None:
        """Status and RSSI every 2 s, between cells only."""
        if not self.live.cell_running():
            try:
                status = self.live.board_call(
                    "import network\n_w = network.WLAN(network.STA_IF)\n"
                    "__r__((_w.status(), _w.isconnected() and _w.status('rssi')))", timeout=3
                )
                import ast

                code, rssi = ast.literal_eval(status)
                names = {1000: "idle", 1001: "connecting", 202: "wrong password", 201: "no AP found", 203: "connect failed", 1010: "connected"}
                self.state.value = f"status: {names.get(code, code)}" + (f", RSSI {rssi} dBm" if rssi else "")
                if rssi:
                    self.live.data.add("rssi", float(rssi))
            except Exception:  # noqa: BLE001 - try again next time
                pass
        self.loop.call_later(2.0, self._poll)


# A scan on the board, between cells: per advertiser, its strongest RSSI, its advertising type,
# its latest advertising data and scan response (type 4).
BLE_SCAN = """import bluetooth, time
_b = bluetooth.BLE()
_b.active(True)
_s = {}
def _h(e, d):
    if e == 5:
        k = bytes(d[1]).hex()
        rssi, kind, adv, resp = _s.get(k, (-127, 0, b'', b''))
        if d[2] == 4:
            resp = bytes(d[4])
        else:
            kind, adv = d[2], bytes(d[4])
        _s[k] = (max(rssi, d[3]), kind, adv, resp)
    elif e == 6:
        _s[''] = 1
_b.irq(_h)
_b.gap_scan(%d, 30000, 30000, True)
while '' not in _s:
    time.sleep_ms(20)
_b.irq(None)
del _s['']
__r__([(k, v[0], v[1], (v[2] + v[3]).hex()) for k, v in _s.items()])"""


def advertised(data: bytes) -> dict:
    """The name and service UUIDs in advertising (and scan response) data."""
    found: dict = {"name": None, "services": []}
    while len(data) >= 2 and data[0]:
        length, kind, value = data[0], data[1], data[2 : 1 + data[0]]
        if kind in (0x08, 0x09):
            found["name"] = found["name"] or value.decode(errors="replace")
        elif kind in (0x02, 0x03):  # 16-bit service UUIDs
            found["services"] += [f"0x{int.from_bytes(value[i : i + 2], 'little'):04x}" for i in range(0, len(value) - 1, 2)]
        elif kind in (0x06, 0x07):  # 128-bit
            found["services"] += [value[i : i + 16][::-1].hex() for i in range(0, len(value) - 15, 16)]
        data = data[1 + length :]
    return found


class BlePanel(Panel):
    """A Bluetooth LE scan table: each advertiser the board hears, its name, address, signal and
    services. The scan runs on the board between cells and takes its BLE.irq handler while it
    runs (a program's own handler is set again by running its cell)."""

    def __init__(self, live, seconds: float = 2.0) -> None:
        super().__init__(live, "Bluetooth LE")
        self.seconds = seconds
        self.table = w.HTML(value="")
        scan = w.Button(description="scan", icon="bluetooth")
        scan.on_click(lambda _: self.scan())
        self.box.children = [self.title, w.HBox([scan]), self.table, self.status]

    def scan(self) -> None:
        def run() -> None:
            try:
                found = self.live.board_call(BLE_SCAN % int(self.seconds * 1000), timeout=self.seconds + 10)
            except BoardError as e:
                self.say(f"scan failed: {e}", error=True)
                return
            import ast

            rows = ast.literal_eval(found) if found else []
            self.show(rows)
            self.say(f"{len(rows)} device(s) heard in {self.seconds:g} s")

        message = self.live.when_free("BLE scan", run)
        if message:
            self.say(message)

    def show(self, rows: list) -> None:
        body = []
        for mac, rssi, adv_type, data in sorted(rows, key=lambda r: -r[1]):
            about = advertised(bytes.fromhex(data))
            address = ":".join(mac[i : i + 2] for i in range(0, 12, 2))
            bars = "▂▄▆█"[: max(1, min(4, (rssi + 100) // 15))]
            body.append(f"<tr><td>{html.escape(about['name'] or '—')}</td><td><code>{address}</code></td>"
                        f"<td>{rssi} dBm {bars}</td><td>{'yes' if adv_type in (0, 1) else 'no'}</td>"
                        f"<td>{html.escape(', '.join(about['services']))}</td></tr>")  # fmt: skip
        head = "<tr><th>name</th><th>address</th><th>RSSI</th><th>connectable</th><th>services</th></tr>"
        self.table.value = f"<table>{head}{''.join(body)}</table>"


# Connect to ADDR, read every readable characteristic, disconnect: [(uuid, handle, properties, hex)].
BLE_READ_ALL = """import bluetooth, time
_b = bluetooth.BLE()
_b.active(True)
_e = []
_b.irq(lambda e, d: _e.append((e, tuple(bytes(x) if isinstance(x, memoryview) else x for x in d))))
_a = bytes.fromhex(%r)
def _w(*evs):
    t = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), t) < %d:
        for x in _e:
            if x[0] in evs and (x[0] not in (7, 8) or x[1][2] == _a):  # (another link's end is not ours)
                _e.remove(x)
                return x
        time.sleep_ms(5)
    raise OSError('%s did not answer')
_b.gap_connect(0, _a)
_ev, _d = _w(7, 8)
if _ev == 8:
    raise OSError('%s did not take the connection (is it advertising, in range?)')
_c = _d[0]
try:
    _b.gattc_discover_characteristics(_c, 1, 0xFFFF)
    _w(12)
    _r = []
    for _x in [d for e, d in _e if e == 11]:
        _v = None
        if _x[3] & 2:
            _b.gattc_read(_c, _x[2])
            _v = _w(15)[1][2].hex()
            _w(16)
        _r.append((repr(_x[4]), _x[2], _x[3], _v))
    print(repr(_r))
    _end = time.ticks_add(time.ticks_ms(), %d)  # following: its notifications and indications
    if time.ticks_diff(_end, time.ticks_ms()) > 0:
        for _u, _h, _p, _v in _r:
            if _p & 0x30:  # subscribe through its client configuration descriptor, after the value
                _b.gattc_write(_c, _h + 1, b'\\x01\\x00' if _p & 0x10 else b'\\x02\\x00', 1)
                _w(17)
    while time.ticks_diff(_end, time.ticks_ms()) > 0:
        for _x in [x for x in _e if x[0] in (18, 19)]:
            _e.remove(_x)
            print(repr((_x[1][1], _x[1][2].hex())))
        time.sleep_ms(20)
finally:
    if _b.gap_disconnect(_c):
        _w(8)  # its end, before the handler goes: a later one would not hear it
    _b.irq(None)"""
PROPERTIES = ((0x02, "read"), (0x04, "write-no-response"), (0x08, "write"), (0x10, "notify"), (0x20, "indicate"))


class BleConnectionView:
    """`%ble --read ADDR --follow S`: the characteristics table, kept live: each notification
    or indication the board receives replaces its characteristic's value and counts."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.rows: list = []
        self.updates: dict[int, int] = {}  # value handle → notifications so far
        self.widget = w.HTML(value=f"<pre>{html.escape(address)}: connecting…</pre>")

    def take(self, printed) -> None:
        """One line the board printed: the table (a list), then (handle, value hex) each."""
        if isinstance(printed, list):
            self.rows = [list(row) for row in printed]
        else:
            handle, value = printed
            for row in self.rows:
                if row[1] == handle:
                    row[3] = value
                    self.updates[handle] = self.updates.get(handle, 0) + 1
        table = characteristics_table(self.address, self.rows, self.updates)
        self.widget.value = f"<pre>{html.escape(table)}</pre>"


def characteristics_table(address: str, rows: list, updates: dict[int, int] | None = None) -> str:
    """What `%ble --read ADDR` prints: each characteristic, its handle, what it allows, its value."""
    lines = [f"{address}: {len(rows)} characteristic(s)"]
    for uuid, handle, properties, value in rows:
        allows = ", ".join(name for bit, name in PROPERTIES if properties & bit)
        shown = "" if value is None else f"  {value}" + (f"  {bytes.fromhex(value)!r}" if value else "")
        heard = (updates or {}).get(handle)
        lines.append(f"  {uuid:<48} handle {handle:<4} {allows}{shown}" + (f"  ({heard} updates)" if heard else ""))
    return "\n".join(lines)
