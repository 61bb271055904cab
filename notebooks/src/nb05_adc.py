NAME = "05-adc.ipynb"

CELLS = [
    ("md", """
    # Lab 5: Measuring voltages with the ADC

    **You will learn**

    - to read a potentiometer with the analog-to-digital converter (`machine.ADC`);
    - what **attenuation** does, and why a reading gets stuck at 4095;
    - to get volts with `read_uv()` (calibrated on a real chip) rather than by arithmetic;
    - to watch a reading live while you turn the knob.

    **Hardware.** A 10 kΩ potentiometer: its outer legs to **3V3** and **GND**, its middle leg
    (the *wiper*) to **GPIO 34**. Turning it moves the wiper's voltage between 0 and 3.3 V.

    **On the emulator** the panel below puts a potentiometer on GPIO 34, with a slider for its
    knob; the cells that "turn the knob" do it through the bench.
    """),
    ("code", """
    import os
    print(os.uname().machine)   # the first cell connects: to your board, or to the emulator
    """),
    ("code", """
    %bench pot:34
    """),
    ("md", """
    ## 1. A first reading

    The ESP32's ADC turns a voltage into a number from **0 to 4095** (12 bits). `read()` gives
    that raw number, `read_u16()` the same scaled to 0–65535 (the same on every MicroPython
    board), `read_uv()` microvolts.
    """),
    ("code", """
    from machine import ADC, Pin
    import time

    adc = ADC(Pin(34), atten=ADC.ATTN_11DB)   # 11 dB: the full 0–3.3 V range
    first = adc.read()
    print("raw:", first, " u16:", adc.read_u16(), " volts: %.3f" % (adc.read_uv() / 1e6))
    """),
    ("md", """
    Now **turn the knob** most of the way towards 3V3. On a real board you have five seconds
    during the next cell. On the emulator the cell turns the bench's knob to 80 %.
    """),
    ("code", """
    %%host
    import time
    emu = get_ipython().kernel.boards.emulator   # None on a real board
    if emu is None:
        print("Turn the potentiometer towards 3V3 now (5 seconds)…")
        time.sleep(5)
    else:
        emu.bench("set_pot", 34, 0.8)
        print("On the emulator: the knob is at 80 % (2.64 V).")
    """),
    ("code", """
    second = adc.read()
    print("raw before: %d, after: %d, changed by %d" % (first, second, second - first))
    """),
    ("md", """
    ## 2. Attenuation: choosing the range

    The ADC itself only measures up to about 1 V. An **attenuator** in front of it divides
    the input down, so the same 0–4095 covers a wider range:

    | attenuation | full scale (about) |
    | --- | --- |
    | `ADC.ATTN_0DB` | 1.1 V |
    | `ADC.ATTN_2_5DB` | 1.5 V |
    | `ADC.ATTN_6DB` | 2.2 V |
    | `ADC.ATTN_11DB` | 3.3 V (3.1 V on many chips) |

    A voltage above the full scale reads **4095**: the reading is *saturated*, it says "at
    least this much". A small range gives finer steps for small voltages.
    """),
    ("code", """
    def atten_table():
        for name in ("ATTN_0DB", "ATTN_2_5DB", "ATTN_6DB", "ATTN_11DB"):
            adc.atten(getattr(ADC, name))
            raw = adc.read()
            print("%-11s raw %4d  %s" % (name, raw, "saturated!" if raw == 4095 else "%.3f V" % (adc.read_uv() / 1e6)))
        adc.atten(ADC.ATTN_11DB)

    atten_table()
    """),
    ("md", """
    Turn the knob down to about 20 % (0.66 V) and compare: now every range can measure it,
    and the smaller ranges use more of their 4096 steps. (Real board: five seconds to turn
    it; emulator: the bench turns it.)
    """),
    ("code", """
    %%host
    if emu is None:
        print("Turn the potentiometer down to about a fifth (5 seconds)…")
        time.sleep(5)
    else:
        emu.bench("set_pot", 34, 0.2)
        print("On the emulator: the knob is at 20 % (0.66 V).")
    """),
    ("code", """
    atten_table()
    """),
    ("md", """
    ## 3. Volts: `read_uv()` and calibration

    The obvious conversion is `raw * 3.3 / 4095`. On a real ESP32 that is off by tens of
    millivolts: every chip's ADC is a little different, and it is not linear near the ends
    (below about 0.1 V it reads 0, above about 3.1 V it reads 4095). Espressif measures each
    chip at the factory and stores the result in its eFuses; `read_uv()` uses it. Use
    `read_uv()` when you want volts.

    The emulated ADC is ideal and linear, so there both agree; on a real board compare the
    two columns with a multimeter on the wiper.
    """),
    ("code", """
    for _ in range(3):
        raw = adc.read()
        print("raw %4d   raw*3.3/4095 = %.3f V   read_uv() = %.3f V" % (raw, raw * 3.3 / 4095, adc.read_uv() / 1e6))
        time.sleep_ms(100)
    """),
    ("md", """
    ## 4. A live plot while you turn the knob

    `from nb import emit` sends each sample to the notebook (Lab 2); `%plot` draws it while the
    loop runs. The loop below samples for 3 seconds, 50 times a second. **Turn the knob slowly
    from one end to the other and back while it runs.** On the emulator, the next cell starts
    turning the bench's knob for you (0 → 100 % → 0 in 3 s, from a thread on your computer).
    """),
    ("code", """
    %%host
    import threading

    def sweep_knob(seconds=3.0, steps=60):
        for i in range(steps + 1):
            x = i / steps
            emu.bench("set_pot", 34, round(1 - abs(2 * x - 1), 3))   # 0 → 1 → 0
            time.sleep(seconds / steps)

    if emu is None:
        print("Get ready to turn the knob during the next cell.")
    else:
        threading.Thread(target=sweep_knob, daemon=True).start()
        print("On the emulator: the bench is turning the knob.")
    """),
    ("code", """
    %plot pot_volts --window 10s --title "potentiometer on GPIO 34 (V)"
    from nb import emit

    start = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), start) < 3200:
        emit(pot_volts=adc.read_uv() / 1e6)
        time.sleep_ms(20)
    print("sampling done")
    """),
    ("md", """
    The samples are also on your computer now, as a pandas DataFrame (more in Lab 10):
    """),
    ("code", """
    %%host
    df = live.frame("pot_volts")
    volts = df["pot_volts"]
    print("%d samples, from %.2f V to %.2f V" % (len(volts), volts.min(), volts.max()))
    print("points drawn in the live plot:", live.plots[-1].streamed)
    """),
    ("md", """
    ## Your turn

    1. The reading jitters on a real board (a few counts). Average 16 readings per sample and
       plot both the raw and the averaged value: how much smoother is it?
    2. `adc.width(ADC.WIDTH_9BIT)` gives 0–511: when would fewer bits be enough?
    3. Turn the knob to the very end: at what voltage does a real board reach 4095? Compare
       `read()` and `read_uv()` near 0 V too.
    4. `%adc 34` opens a meter and a live plot fed from a Timer on the board: try it, and
       change the attenuation in its drop-down while you turn the knob.
    """),
]
