"""machine, as an ESP32 under MicroPython v1.24 shows it, wired to the bench.

Values, limits and error messages follow ports/esp32/machine_*.c of v1.24.0. Pin levels,
voltages, PWM outputs and timers live in the supervisor's bench (see _esp32_bench.py);
handlers run as scheduled callbacks, as on a board.
"""

import _esp32_bench as _bench
import uctypes as _uctypes
import _esp32_supervisor
import _esp32_errno

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

SLEEP = 2
DEEPSLEEP = 4
PIN_WAKE = 2
EXT0_WAKE = 2
EXT1_WAKE = 3
TIMER_WAKE = 4
TOUCHPAD_WAKE = 5
ULP_WAKE = 6

_FREQUENCIES_MHZ = (20, 40, 80, 160, 240)
_freq_hz = 160_000_000
_wake_reason = _esp32_supervisor.wake_reason

_GPIOS = tuple(p for p in tuple(range(0, 24)) + (25, 26, 27) + tuple(range(32, 40)) if p not in _esp32_supervisor.unavailable_gpios)
_FIRST_NON_OUTPUT = 34
# The module's SPI flash: v1.24 accepts these pins, but configuring one takes the flash's bus
# away and the chip panics (the supervisor prints it and reboots the board).
_FLASH_PINS = (6, 7, 8, 9, 10, 11)


def reset():
    _esp32_supervisor.request_reset("hard")


def soft_reset():
    raise SystemExit


def reset_cause():
    return _esp32_supervisor.reset_cause


def wake_reason():
    return _wake_reason


def unique_id():
    return _esp32_supervisor.unique_id


def freq(hz=None):
    global _freq_hz
    if hz is None:
        return _freq_hz
    if int(hz) // 1_000_000 not in _FREQUENCIES_MHZ:
        raise ValueError("frequency must be 20MHz, 40MHz, 80Mhz, 160MHz or 240MHz")
    _freq_hz = int(hz) // 1_000_000 * 1_000_000


def idle():
    _bench.wait(0)


def disable_irq():
    return 1


def enable_irq(state=1):
    pass


def lightsleep(time_ms=None):
    global _wake_reason
    if time_ms is None:
        time_ms = 0x7FFFFFFF
    _bench.wait(int(time_ms))
    _wake_reason = TIMER_WAKE


sleep = lightsleep  # v1.24's deprecated name for it


def deepsleep(time_ms=0):
    # The chip powers down: the supervisor restarts the board after time_ms (never, if 0,
    # until a hard reset), with reset_cause() DEEPSLEEP_RESET and wake_reason() TIMER_WAKE.
    _bench.send("deepsleep", int(time_ms))
    _esp32_supervisor.request_reset("deepsleep")


def time_pulse_us(pin, pulse_level, timeout_us=1000000):
    # The bench's levels change only when something changes them: wait as the C loop
    # does, on the level the pin has (a level that changes meanwhile is seen).
    import time

    start = time.ticks_us()
    while pin.value() != pulse_level:
        if time.ticks_diff(time.ticks_us(), start) >= timeout_us:
            return -2
        _bench.wait(1)
    start = time.ticks_us()
    while pin.value() == pulse_level:
        if time.ticks_diff(time.ticks_us(), start) >= timeout_us:
            return -1
        _bench.wait(1)
    return time.ticks_diff(time.ticks_us(), start)


def bitstream(pin, encoding, timing, data):
    # extmod/machine_bitstream.c: the ESP32 sends it through the RMT, pin driven as an output
    gpio = _pin_id(pin)
    data = memoryview(data)
    if encoding != 0:
        raise ValueError("encoding")
    if not isinstance(timing, (tuple, list)):
        raise TypeError("object '%s' isn't a tuple or list" % type(timing).__name__)
    if len(timing) != 4:
        raise ValueError("requested length 4 but object has length %d" % len(timing))
    for t in timing:
        int(t)
    # WS2812 timing: 1.25 us per bit, with the interrupts of the whole transfer held off
    _bench.send("bitstream", gpio, bytes(data).hex() or "-")


def dht_readinto(pin, buf):
    # drivers/dht/dht.c: start signal (line high 250 ms, low 18 ms), then 40 bits timed by
    # their pulse lengths; no answer within 100 us is ETIMEDOUT.
    gpio = _pin_id(pin)
    view = memoryview(buf)
    if len(view) < 5:
        raise ValueError("buffer too small")
    _bench.send("pin_mode", gpio, Pin.OPEN_DRAIN, -1)
    _bench.send("pin_out", gpio, 1)
    _bench.wait(250)
    _bench.send("pin_out", gpio, 0)
    _bench.wait(18)
    _bench.send("pin_out", gpio, 1)
    frame = _bench.call("dht_read", gpio)
    if frame is None:
        raise OSError(_esp32_errno.ETIMEDOUT)
    view[:5] = bytes.fromhex(frame)


def _pin_id(pin):
    if isinstance(pin, Pin):
        return pin._id
    if isinstance(pin, int) and pin in _GPIOS:
        return pin
    if isinstance(pin, str):
        named = _board_pins().get(pin)
        if named is not None:
            return named
    if not isinstance(pin, (int, str)):
        raise TypeError("can't convert %s to int" % type(pin).__name__)
    raise ValueError("invalid pin")


_named = None


def _board_pins():
    global _named
    if _named is None:
        _named = _bench.call("board_pins")
    return _named


# -- Pin


class _PinIRQ:
    def __init__(self, pin):
        self._pin = pin
        self._trigger = 0

    def __call__(self):
        handler = _bench.handlers.get("irq", {}).get(self._pin._id)
        if handler is not None:
            handler[0](handler[1])

    def trigger(self, new=None):
        old = self._trigger
        if new is not None:
            self._trigger = new
            _bench.send("pin_irq", self._pin._id, new)
        return old

    def flags(self):
        return 0


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_DOWN = 1
    PULL_UP = 2
    IRQ_RISING = 1
    IRQ_FALLING = 2
    WAKE_LOW = 4
    WAKE_HIGH = 5
    DRIVE_0 = 0
    DRIVE_1 = 1
    DRIVE_2 = 2
    DRIVE_3 = 3

    _all = {}

    def __new__(cls, id, *args, **kwargs):
        n = _pin_id(id)
        self = Pin._all.get(n)
        if self is None:
            self = object.__new__(cls)
            self._id = n
            self._irq = None
            Pin._all[n] = self
        return self

    def __init__(self, id, *args, **kwargs):
        if args or kwargs:
            self.init(*args, **kwargs)

    def init(self, mode=None, pull=-1, *, value=None, drive=None, hold=None):
        n = self._id
        if value is not None:
            _bench.send("pin_out", n, 1 if value else 0)
        if mode is not None:
            mode = int(mode)
            if n >= _FIRST_NON_OUTPUT and mode & 2:
                raise ValueError("pin can only be input")
            if n in _FLASH_PINS:
                _esp32_supervisor.request_reset("panic")
        if pull != -1:
            pull = 0 if pull is None else int(pull)
        if mode is not None or pull != -1:
            _bench.send("pin_mode", n, -1 if mode is None else mode, pull)
        if drive is not None and n < _FIRST_NON_OUTPUT and 0 <= int(drive) < 4:
            _bench.send("pin_drive", n, int(drive))
        if hold is not None and n < _FIRST_NON_OUTPUT:
            _bench.send("pin_hold", n, 1 if hold else 0)

    def value(self, *args):
        if len(args) > 1:
            raise TypeError("function takes 2 positional arguments but %d were given" % (len(args) + 1))
        if args:
            _bench.send("pin_out", self._id, 1 if args[0] else 0)
            return None
        return _bench.call("pin_get", self._id)

    def __call__(self, *args):
        if len(args) > 1:
            raise TypeError("function takes at most 1 argument")
        return self.value(*args)

    def on(self):
        _bench.send("pin_out", self._id, 1)

    def off(self):
        _bench.send("pin_out", self._id, 0)

    def irq(self, handler=None, trigger=3, wake=None, **kwargs):
        if self._irq is None:
            self._irq = _PinIRQ(self)
        if handler is not None or trigger != 3 or wake is not None or kwargs or _bench.handlers.get("irq", {}).get(self._id):
            if trigger in (Pin.WAKE_LOW, Pin.WAKE_HIGH) and wake is not None:
                if not isinstance(wake, int) or wake < 2 or wake > 7:
                    raise ValueError("bad wake value")
                if self._id not in (0, 2, 4, 12, 13, 14, 15, 25, 26, 27, 32, 33, 34, 35, 36, 37, 38, 39):
                    raise ValueError("invalid pin for wake")
                _bench.send("pin_wake", self._id, 0 if trigger == Pin.WAKE_LOW else 1)
            else:
                if handler is None:
                    trigger = 0
                _bench.on("irq", self._id, handler, self)
                self._irq._trigger = trigger
                _bench.send("pin_irq", self._id, trigger)
        return self._irq

    def __repr__(self):
        return "Pin(%d)" % self._id

    class board:
        pass


class Signal:
    def __init__(self, pin, *args, invert=False, **kwargs):
        if not isinstance(pin, Pin):
            pin = Pin(pin, *args, **kwargs)
        self._pin = pin
        self._invert = bool(invert)

    def value(self, *args):
        if args:
            self._pin.value((1 if args[0] else 0) ^ self._invert)
            return None
        return self._pin.value() ^ self._invert

    def __call__(self, *args):
        return self.value(*args)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


# -- ADC

_ADC1 = (36, 37, 38, 39, 32, 33, 34, 35)  # channel order
_ADC2 = (4, 0, 2, 15, 13, 12, 14, 27, 25, 26)
# Calibrated full scale of each attenuation, in mV (ESP-IDF's nominal ranges; see README).
_FULL_SCALE_MV = (1100, 1467, 2195, 3300)
_adc_atten = {}


class ADCBlock:
    _blocks = {}

    def __new__(cls, id, *, bits=None):
        if id not in (1, 2):
            raise ValueError("invalid block id")
        block = ADCBlock._blocks.get(id)
        if block is None:
            block = object.__new__(cls)
            block._unit = id
            block._bits = 12
            ADCBlock._blocks[id] = block
        return block

    def __init__(self, id, *, bits=None):
        if bits is not None:
            self.init(bits=bits)

    def init(self, *, bits=12):
        if bits not in (9, 10, 11, 12):
            raise ValueError("invalid bits")
        self._bits = bits

    def connect(self, *args, **kwargs):
        channel = pin = None
        if len(args) == 2:
            channel, pin = args
        elif len(args) == 1 and isinstance(args[0], int) and not isinstance(args[0], Pin):
            channel = args[0]
        elif len(args) == 1:
            pin = args[0]
        table = _ADC1 if self._unit == 1 else _ADC2
        gpio = None if pin is None else _pin_id(pin)
        if channel is not None:
            if not 0 <= channel < len(table) or (gpio is not None and table[channel] != gpio):
                raise ValueError("invalid channel")
            gpio = table[channel]
        if gpio not in table:
            raise ValueError("invalid pin")
        return ADC(gpio, **kwargs)

    def __repr__(self):
        return "ADCBlock(%d, bits=%d)" % (self._unit, self._bits)


class ADC:
    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3
    WIDTH_9BIT = 9
    WIDTH_10BIT = 10
    WIDTH_11BIT = 11
    WIDTH_12BIT = 12

    _all = {}

    def __new__(cls, pin, *, atten=-1):
        gpio = _pin_id(pin)
        if gpio not in _ADC1 and gpio not in _ADC2:
            raise ValueError("invalid pin")
        self = ADC._all.get(gpio)
        if self is None:
            self = object.__new__(cls)
            self._gpio = gpio
            self._block = ADCBlock(1 if gpio in _ADC1 else 2)
            ADC._all[gpio] = self
        return self

    def __init__(self, pin, *, atten=-1):
        self.init(atten=atten)

    def init(self, *, atten=-1):
        if atten != -1:
            self.atten(atten)
        elif self._gpio not in _adc_atten:
            self.atten(ADC.ATTN_0DB)

    def atten(self, atten):
        if atten not in (0, 1, 2, 3):
            raise ValueError("invalid atten")
        _adc_atten[self._gpio] = atten
        _bench.send("adc_attach", self._gpio)

    def width(self, bits):
        self._block.init(bits=bits)

    def block(self):
        return self._block

    def _raw12(self):
        if self._block._unit == 2 and _bench.wifi_active:
            raise OSError(_esp32_errno.ETIMEDOUT)  # ESP_ERR_TIMEOUT: ADC2 is the WiFi radio's while it is on
        mv = _bench.call("volts", self._gpio) * 1000
        raw = int(mv * 4095 / _FULL_SCALE_MV[_adc_atten[self._gpio]] + 0.5)
        return 0 if raw < 0 else 4095 if raw > 4095 else raw

    def read(self):
        return self._raw12() >> (12 - self._block._bits)

    def read_u16(self):
        bits = self._block._bits
        raw = self._raw12() >> (12 - bits)
        return (raw << (16 - bits)) | (raw >> (2 * bits - 16))

    def read_uv(self):
        bits = self._block._bits
        raw = self._raw12() >> (12 - bits)
        mv = raw * _FULL_SCALE_MV[_adc_atten[self._gpio]] // ((1 << bits) - 1)
        return mv * 1000

    def __repr__(self):
        return "ADC(Pin(%d), atten=%d)" % (self._gpio, _adc_atten.get(self._gpio, 0))


# -- DAC


class DAC:
    _all = {}

    def __new__(cls, pin):
        gpio = _pin_id(pin)
        if gpio not in (25, 26):
            raise ValueError("invalid Pin for DAC")
        self = DAC._all.get(gpio)
        if self is None:
            self = object.__new__(cls)
            self._gpio = gpio
            DAC._all[gpio] = self
        _bench.send("dac", gpio, 0)
        return self

    def __init__(self, pin):
        pass

    def write(self, value):
        value = int(value)
        if value < 0 or value > 255:
            raise ValueError("value out of range")
        _bench.send("dac", self._gpio, value)

    def __repr__(self):
        return "DAC(Pin(%d))" % self._gpio


# -- PWM: 16 channels (2 speed modes x 8) on 8 timers (2 x 4), as the LEDC peripheral

_PWM_CHANNELS = 16
_PWM_TIMERS = 8
_pwm_channels = {}  # channel index -> pin
_pwm_timers = {}  # timer index -> [freq, resolution]


def _pwm_resolution(freq):
    clock = 80_000_000 if freq >= 10 else 1_000_000
    divider = (clock + freq // 2) // freq or 1
    actual = clock / divider
    if actual <= 1.0:
        actual = 1.0
    i = int(clock / actual + 0.5)
    res = 0
    while i > 1:
        i >>= 1
        res += 1
    return 1 if res == 0 else min(res, 16)


def _timer_users(timer):
    return [c for c, p in _pwm_channels.items() if PWM._by_pin[p]._timer == timer]


class PWM:
    _by_pin = {}

    def __init__(self, dest, freq=-1, *, duty=-1, duty_u16=-1, duty_ns=-1):
        self._pin = _pin_id(dest)
        self._active = False
        self._channel = -1
        self._timer = -1
        self._duty_x = 0  # 10, 16 or -16: which duty form was set last, as the C code keeps it
        self._duty_value = 0
        self._raw = 0
        self.init(freq, duty=duty, duty_u16=duty_u16, duty_ns=duty_ns)

    def init(self, freq=-1, *, duty=-1, duty_u16=-1, duty_ns=-1):
        if self._pin >= _FIRST_NON_OUTPUT:
            raise ValueError("PWM not supported on Pin(%d)" % self._pin)
        channel = self._channel
        if channel == -1:
            owner = [c for c, p in _pwm_channels.items() if p == self._pin]
            if owner:
                channel = owner[0]
                previous = PWM._by_pin.get(self._pin)
                if previous is not None and previous is not self:
                    self._timer = previous._timer  # the channel keeps its timer (and frequency)
            else:
                free = [c for c in range(_PWM_CHANNELS) if c not in _pwm_channels]
                if not free:
                    raise ValueError("out of PWM channels:%d" % _PWM_CHANNELS)
                channel = free[0]
        if (duty != -1) + (duty_u16 != -1) + (duty_ns != -1) > 1:
            raise ValueError("only one of parameters 'duty', 'duty_u16' or 'duty_ns' is allowed")
        if freq == -1:
            freq = _pwm_timers[self._timer][0] if self._timer != -1 else 5000
        if freq <= 0 or freq > 40000000:
            raise ValueError("frequency must be from 1Hz to 40MHz")
        timer = self._find_timer(freq, channel)
        _pwm_channels[channel] = self._pin
        PWM._by_pin[self._pin] = self
        self._channel = channel
        self._timer = timer
        self._active = True
        self._set_freq(freq)
        if duty_u16 != -1:
            self._set_u16(duty_u16)
        elif duty_ns != -1:
            self._set_ns(duty_ns)
        elif duty != -1:
            self._set_u10(duty)
        elif self._duty_x == 0:
            self._set_u10(512)
        self._publish()

    def _find_timer(self, freq, channel):
        for t, (f, _) in _pwm_timers.items():
            if f == freq:
                return t
        mine = self._timer
        if mine != -1 and _timer_users(mine) in ([], [channel]):
            return mine
        for t in range(_PWM_TIMERS):
            if t not in _pwm_timers or not _timer_users(t):
                return t
        raise ValueError("out of PWM timers:%d" % _PWM_TIMERS)

    def _set_freq(self, freq):
        old = _pwm_timers.get(self._timer)
        if old is None or old[0] != freq:
            _pwm_timers[self._timer] = [freq, _pwm_resolution(freq)]
        if self._duty_x == 16:
            self._set_u16(self._duty_value)
        elif self._duty_x == 10:
            self._set_u10(self._duty_value)
        elif self._duty_x == -16:
            self._set_ns(self._duty_value)

    def _check(self):
        if not self._active:
            raise RuntimeError("PWM inactive")

    def _resolution(self):
        return _pwm_timers[self._timer][1]

    def _freq(self):
        return _pwm_timers[self._timer][0]

    def _set_u16(self, duty, form=16):
        self._check()
        if duty < 0 or duty > 65535:
            raise ValueError("duty_u16 must be from 0 to %d" % 65535)
        res = self._resolution()
        raw = duty >> (16 - res)
        self._raw = min(max(raw, 0), (1 << res) - 1)
        self._duty_x, self._duty_value = 16, duty

    def _set_u10(self, duty):
        self._check()
        if duty < 0 or duty > 1023:
            raise ValueError("duty must be from 0 to %u" % 1023)
        self._set_u16(duty << 6)
        self._duty_x, self._duty_value = 10, duty

    def _max_ns(self):
        return self._u16_to_ns(65535)

    def _u16_to_ns(self, duty):
        f = self._freq()
        return (duty * 1000000000 + f * 65535 // 2) // (f * 65535)

    def _set_ns(self, ns):
        self._check()
        if ns < 0 or ns > self._max_ns():
            raise ValueError("duty_ns must be from 0 to %d ns" % self._max_ns())
        duty = (ns * 65535 * self._freq() + 500000000) // 1000000000
        if ns > 0 and duty == 0:
            duty = 1
        self._set_u16(min(duty, 65535))
        self._duty_x, self._duty_value = -16, ns

    def _get_u16(self):
        self._check()
        return self._raw << (16 - self._resolution())

    def _publish(self):
        _bench.send("pwm", self._pin, self._freq(), self._get_u16())

    def freq(self, value=None):
        self._check()
        if value is None:
            return self._freq()
        if value <= 0 or value > 40000000:
            raise ValueError("frequency must be from 1Hz to 40MHz")
        if value != self._freq():
            self._timer = self._find_timer(value, self._channel)
            self._set_freq(value)
            self._publish()

    def duty(self, value=None):
        if value is None:
            return self._get_u16() >> 6
        self._set_u10(value)
        self._publish()

    def duty_u16(self, value=None):
        if value is None:
            return self._get_u16()
        self._set_u16(value)
        self._publish()

    def duty_ns(self, value=None):
        if value is None:
            return self._u16_to_ns(self._get_u16())
        self._set_ns(value)
        self._publish()

    def deinit(self):
        if self._active:
            _pwm_channels.pop(self._channel, None)
            if not _timer_users(self._timer):
                _pwm_timers.pop(self._timer, None)
            _bench.send("pwm_off", self._pin)
        self._active = False
        self._channel = self._timer = -1
        self._duty_x = 0

    def __repr__(self):
        text = "PWM(Pin(%d)" % self._pin
        if self._active:
            res = self._resolution()
            text += ", freq=%d" % self._freq()
            if self._duty_x == 10:
                text += ", duty=%d" % self.duty()
            elif self._duty_x == -16:
                text += ", duty_ns=%d" % self.duty_ns()
            else:
                text += ", duty_u16=%d" % self.duty_u16()
            text += ", resolution=%d" % res
            text += ", (duty=%.2f%%, resolution=%.3f%%)" % (100.0 * self._raw / (1 << res), 100.0 / (1 << res))
            text += ", mode=%d, channel=%d, timer=%d" % (self._channel // 8, self._channel % 8, self._timer % 4)
        return text + ")"


# -- Timer


class Timer:
    ONE_SHOT = 0
    PERIODIC = 1
    _all = {}

    def __new__(cls, id, *args, **kwargs):
        key = ((id >> 1) & 1) << 1 | (id & 1)
        self = Timer._all.get(key)
        if self is None:
            self = object.__new__(cls)
            self._key = key
            self._period_us = 0
            self._repeat = 1
            Timer._all[key] = self
        return self

    def __init__(self, id, *args, **kwargs):
        if args or kwargs:
            self.init(*args, **kwargs)

    def init(self, *, mode=1, callback=None, period=0xFFFFFFFF, tick_hz=1000, freq=None):
        self.deinit()
        if freq is not None:
            self._period_us = int(1_000_000 / freq)
        else:
            self._period_us = int(period) * 1_000_000 // int(tick_hz)
        self._repeat = 1 if mode else 0
        self._callback = callback
        _bench.on("timer", self._key, callback, self)
        _bench.send("timer_start", self._key, max(self._period_us, 1), self._repeat)

    def deinit(self):
        _bench.on("timer", self._key, None)
        _bench.send("timer_stop", self._key)

    def value(self):
        return _bench.call("timer_value", self._key)

    def __repr__(self):
        return "Timer(%d, mode=%s, period=%d)" % (self._key, "PERIODIC" if self._repeat else "ONE_SHOT", self._period_us // 1000)


# -- WDT


class WDT:
    def __init__(self, id=0, timeout=5000):
        if id != 0:
            raise ValueError
        if timeout <= 0:
            raise ValueError("WDT timeout too short")
        _bench.send("wdt_start", int(timeout))

    def feed(self):
        _bench.send("wdt_feed")


# -- RTC


class RTC:
    def __init__(self, id=0):
        pass

    def init(self, datetime):
        self.datetime(datetime)

    def datetime(self, datetime=None):
        import time

        if datetime is None:
            y, mo, d, h, mi, s, wd, _ = time.localtime()
            return (y, mo, d, wd, h, mi, s, _bench.call("rtc_us"))
        y, mo, d, wd, h, mi, s, us = (tuple(datetime) + (0,) * 8)[:8]
        time._set_epoch_seconds(time.mktime((y, mo, d, h, mi, s, 0, 0)), us)

    def memory(self, data=None):
        if data is None:
            return bytes.fromhex(_bench.call("rtc_memory"))
        data = bytes(data)
        if len(data) > 2048:
            raise ValueError("buffer too long")
        _bench.send("rtc_memory", data.hex() or "-")


# -- TouchPad

_TOUCH_PINS = (4, 0, 2, 15, 13, 12, 14, 27, 33, 32)


class TouchPad:
    def __init__(self, pin):
        gpio = _pin_id(pin)
        if gpio not in _TOUCH_PINS:
            raise ValueError("invalid pin for touchpad")
        self._gpio = gpio

    def config(self, value):
        # the threshold below which a touch wakes the chip (esp32.wake_on_touch)
        _bench.send("touch_config", self._gpio, int(value))

    def read(self):
        return _bench.call("touch", self._gpio)


# -- mem8, mem16, mem32


class _Mem:
    """machine.mem8/mem16/mem32. The GPIO registers (ESP32 TRM 4.12: GPIO_OUT, _ENABLE and
    their W1TS/W1TC, GPIO_IN, and the GPIO 32-39 bank's) are the bench's pins, read and written
    as on a board; the chip's other peripheral registers read 0 and ignore writes (not
    modelled). Any other address is this process's memory (what uctypes.addressof() gives, a
    stream ioctl's argument): a bad one crashes the board, as a LoadProhibited does."""

    def __init__(self, width):
        self._bytes = width // 8

    def __repr__(self):
        return "<%d-bit memory>" % (8 * self._bytes)

    def _check(self, address):
        # extmod/machine_mem.c: an int, aligned to the access's width
        if not isinstance(address, int):
            raise TypeError("can't convert %s to int" % type(address).__name__)
        if address & (self._bytes - 1):
            raise ValueError("address %08x is not aligned to %d bytes" % (address, self._bytes))

    def __getitem__(self, address):
        self._check(address)
        if not _PERIPHERALS <= address < _PERIPHERALS_END:
            return int.from_bytes(_uctypes.bytearray_at(address, self._bytes), "little")
        value = _gpio_read(address & ~3) if _GPIO <= address < _GPIO_END else 0
        return (value >> (address & 3) * 8) & ((1 << 8 * self._bytes) - 1)

    def __setitem__(self, address, value):
        self._check(address)
        if not _PERIPHERALS <= address < _PERIPHERALS_END:
            _uctypes.bytearray_at(address, self._bytes)[:] = (value & ((1 << 8 * self._bytes) - 1)).to_bytes(self._bytes, "little")
        elif self._bytes == 4 and _GPIO <= address < _GPIO_END:
            _gpio_write(address, value & 0xFFFFFFFF)


_PERIPHERALS, _PERIPHERALS_END = 0x3FF00000, 0x40000000
_GPIO, _GPIO_END = 0x3FF44000, 0x3FF44044
# offset -> (bank, register: 0 out / 1 enable, operation) for writes
_GPIO_WRITES = {
    0x04: (0, 0, "="), 0x08: (0, 0, "|"), 0x0C: (0, 0, "&~"),
    0x10: (1, 0, "="), 0x14: (1, 0, "|"), 0x18: (1, 0, "&~"),
    0x20: (0, 1, "="), 0x24: (0, 1, "|"), 0x28: (0, 1, "&~"),
    0x2C: (1, 1, "="), 0x30: (1, 1, "|"), 0x34: (1, 1, "&~"),
}  # fmt: skip
_GPIO_READS = {0x04: 0, 0x20: 1, 0x3C: 2, 0x10: 3, 0x2C: 4, 0x40: 5}  # offset -> index in gpio_regs


def _gpio_read(address):
    index = _GPIO_READS.get(address - _GPIO)
    return 0 if index is None else _bench.call("gpio_regs")[index]


def _gpio_write(address, value):
    what = _GPIO_WRITES.get(address - _GPIO)
    if what is None:
        return
    bank, register, operation = what
    regs = _bench.call("gpio_regs")[bank * 3 : bank * 3 + 2]  # [out, enable]
    if operation == "=":
        regs[register] = value
    elif operation == "|":
        regs[register] |= value
    else:
        regs[register] &= ~value
    _bench.send("gpio_set", bank, regs[0], regs[1])


mem8, mem16, mem32 = _Mem(8), _Mem(16), _Mem(32)


# -- I2C and SoftI2C live in _esp32_i2c.py, UART in _esp32_uart.py, SPI and SoftSPI in
# _esp32_spi.py, loaded on first use (a frozen module's way)


def __getattr__(name):
    if name == "__set_name__":  # see _esp32_sys.__getattr__
        from _esp32_sys import _no_set_name

        return _no_set_name
    if name in ("I2C", "SoftI2C"):
        import _esp32_i2c

        return getattr(_esp32_i2c, name)
    if name == "UART":
        import _esp32_uart

        return _esp32_uart.UART
    if name in ("SPI", "SoftSPI"):
        import _esp32_spi

        return getattr(_esp32_spi, name)
    if name == "SDCard":
        import _esp32_sdcard

        return _esp32_sdcard.SDCard
    if name == "I2S":
        import _esp32_i2s

        return _esp32_i2s.I2S
    raise AttributeError("'module' object has no attribute '%s'" % name)
