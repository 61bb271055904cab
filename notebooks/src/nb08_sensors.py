NAME = "08-sensors.ipynb"

CELLS = [
    ("md", """
    # Lab 8: Sensors and a NeoPixel strip

    **You will learn**

    - to read a **DHT22** (temperature and humidity, one data wire, its own timing protocol);
    - to read **DS18B20** thermometers on a **1-Wire** bus (several sensors on one pin, each
      with its own 64-bit address);
    - to light a **NeoPixel** (WS2812) strip, each LED any colour;
    - and to tie them together: a thermometer shown as coloured light.

    The drivers (`dht`, `onewire`, `ds18x20`, `neopixel`) are built into the ESP32 firmware:
    nothing to install.

    **Hardware.**

    | part | connect to | notes |
    | --- | --- | --- |
    | DHT22 (AM2302) | data → **GPIO 4** | 3V3 and GND; 10 kΩ pull-up from data to 3V3 (modules have one) |
    | DS18B20 | DQ → **GPIO 27** | 3V3 and GND; 4.7 kΩ pull-up from DQ to 3V3 |
    | NeoPixel strip, 8 LEDs | DIN → **GPIO 13** | 5 V (VIN/USB) and GND; a 300–500 Ω resistor in DIN helps |

    **On the emulator** the next cell puts the same three parts on the bench.
    """),
    ("code", """
    import os
    print(os.uname().machine)   # the first cell connects: to your board, or to the emulator
    """),
    ("code", """
    %%host
    emu = get_ipython().kernel.boards.emulator   # None on a real board
    if emu is None:
        print("A real board: wire the DHT22, the DS18B20 and the strip as in the table above.")
    else:
        emu.bench("add_dht", 4, 23.5, 41)          # 23.5 °C, 41 %RH
        emu.bench("add_ds18b20", 27, 21.25)        # one DS18B20 at 21.25 °C
        emu.bench("add_neopixel", 13, "grb")       # a WS2812 strip
        print("On the emulator: DHT22 on GPIO 4, DS18B20 on GPIO 27, NeoPixels on GPIO 13.")
    """),
    ("md", """
    ## 1. DHT22: temperature and humidity

    `measure()` wakes the sensor and reads its 40-bit answer (it takes about a quarter of a
    second); then `temperature()` (°C) and `humidity()` (%RH) return the values. A DHT22
    gives a new reading at most every **2 seconds**. With no sensor answering, `measure()`
    raises `OSError` (116, a timeout).
    """),
    ("code", """
    import dht, time
    from machine import Pin

    dht22 = dht.DHT22(Pin(4))
    try:
        dht22.measure()
        print("DHT22: %.1f °C, %.1f %%RH" % (dht22.temperature(), dht22.humidity()))
    except OSError as e:
        print("no answer from the DHT22 on GPIO 4 (OSError %s): check its wiring and pull-up" % e.errno)
    """),
    ("md", """
    We print with `%.1f`: the sensor's resolution is 0.1. (On the emulator the board's floats
    are your computer's doubles, so an unformatted reading can print as `23.400000000000002`
    where a real ESP32 prints `23.4`.)

    ## 2. DS18B20 on a 1-Wire bus

    `scan()` finds every DS18B20 on the pin and returns their addresses (ROM codes).
    `convert_temp()` asks *all* of them to measure at once; after 750 ms (at full 12-bit
    resolution) each one's result is read with `read_temp(rom)`.
    """),
    ("code", """
    import onewire, ds18x20

    bus = ds18x20.DS18X20(onewire.OneWire(Pin(27)))
    roms = bus.scan()
    print("found", len(roms), "DS18B20:", [rom.hex() for rom in roms])

    def read_all():
        bus.convert_temp()
        time.sleep_ms(750)
        return [bus.read_temp(rom) for rom in roms]

    print("temperatures (°C):", read_all())
    """),
    ("md", """
    Every address starts with `28`, the DS18B20's family code, and ends with a CRC byte that
    protects it. Before its first conversion a DS18B20 reads **85 °C** — if you ever see
    exactly 85.0, the sensor did not finish converting (too short a wait, or power trouble).

    **Warm it up**: hold the DS18B20 between your fingers for a few seconds (real board: the
    next cell waits five seconds). On the emulator the cell sets the bench's sensor to 30 °C.
    """),
    ("code", """
    %%host
    import time
    if emu is None:
        print("Hold the DS18B20 between your fingers (5 seconds)…")
        time.sleep(5)
    else:
        emu.bench("set_temperature", 27, 30.0)
        print("On the emulator: the DS18B20 now senses 30 °C.")
    """),
    ("code", """
    warm = read_all()
    print("after warming (°C):", warm)
    """),
    ("md", """
    ## 3. A NeoPixel strip

    `NeoPixel(Pin(13), 8)` is a list of 8 `(red, green, blue)` colours, 0–255 each. Set them,
    then `write()` sends the whole strip in one burst of precisely timed pulses (the chip's
    RMT peripheral makes them). Nothing changes on the LEDs until `write()`.

    Mind the power: one LED at full white draws about 60 mA; 8 at full white are half an
    amp. We keep the brightness low.
    """),
    ("code", """
    import neopixel

    strip = neopixel.NeoPixel(Pin(13), 8)
    rainbow = [(40, 0, 0), (40, 20, 0), (40, 40, 0), (0, 40, 0), (0, 40, 40), (0, 0, 40), (20, 0, 40), (40, 0, 40)]
    for i, colour in enumerate(rainbow):
        strip[i] = colour
    strip.write()
    print("sent", len(strip), "pixels")
    """),
    ("md", """
    What did the strip receive? On a real board, look at it. On the emulator, the bench
    decodes the pulses it got on GPIO 13 back into colours:
    """),
    ("code", """
    %%host
    if emu is None:
        print("A real board: the strip shows a dim rainbow, red to purple.")
    else:
        shown = emu.bench("neopixels", 13)["pixels"]
        print("the bench's strip shows:", shown)
    """),
    ("md", """
    ## 4. A thermometer made of light

    Show the DS18B20's temperature as a bar: one more LED lit for every 2 °C above 16 °C,
    blue when cool, red when warm.
    """),
    ("code", """
    def show_temperature(celsius):
        lit = max(0, min(8, int((celsius - 16) // 2)))
        warmth = max(0, min(1, (celsius - 16) / 16))
        colour = (int(40 * warmth), 0, int(40 * (1 - warmth)))
        for i in range(8):
            strip[i] = colour if i < lit else (0, 0, 0)
        strip.write()
        return lit

    celsius = read_all()[0]
    print("%.2f °C -> %d LEDs lit" % (celsius, show_temperature(celsius)))
    """),
    ("code", """
    %%host
    if emu is not None:
        print("the bench's strip shows:", emu.bench("neopixels", 13)["pixels"])
    """),
    ("code", """
    strip.fill((0, 0, 0))
    strip.write()
    print("strip off")
    """),
    ("md", """
    ## Your turn

    1. Read the DHT22 every 2 seconds for 20 seconds and plot both values live
       (`emit(temp=…, humidity=…)` with `%plot temp humidity`).
    2. Put a second DS18B20 on GPIO 27 (on the emulator: `emu.bench("add_ds18b20", 27,
       "28AA0000000002", 19.5)` — 14 hex digits, the bench adds the CRC). Does `scan()` find it?
    3. Lower the DS18B20's resolution to 9 bits (`bus.write_scratch(rom, b"\\x00\\x00\\x1f")`):
       how much faster is a conversion, and how coarse are the readings?
    4. Make the strip show humidity from the DHT22 instead, in green.
    """),
]
