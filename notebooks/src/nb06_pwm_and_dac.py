NAME = "06-pwm-and-dac.ipynb"

CELLS = [
    ("md", """
    # Lab 6: Analog outputs — PWM and the DAC

    **You will learn**

    - to dim an LED with **PWM** (pulse-width modulation): switching it on and off faster
      than the eye can see, and changing the fraction of time it is on (the *duty cycle*);
    - to make a real voltage with the ESP32's **DAC** (digital-to-analog converter) on
      GPIO 25 and 26;
    - to check an output by measuring it: a DAC waveform read back by the ADC.

    **Hardware.** The LED on GPIO 2 from Lab 3, and a jumper wire from **GPIO 25** (DAC) to
    **GPIO 34** (ADC) — take Lab 5's potentiometer off GPIO 34 first.

    **On the emulator** the bench lends the LED, and its `wire` command is the jumper wire.
    """),
    ("code", """
    import os
    print(os.uname().machine)   # the first cell connects: to your board, or to the emulator
    """),
    ("code", """
    %bench led:2
    """),
    ("md", """
    ## 1. PWM: a dimmer

    `PWM(Pin(2), freq=1000, duty_u16=…)` switches GPIO 2 a thousand times a second. The duty
    is how much of each period the pin is high, from 0 (always off) to 65535 (always on).
    The LED is too slow for the eye to follow, so it looks dimmer instead of blinking.
    """),
    ("code", """
    from machine import Pin, PWM, DAC, ADC
    import time

    pwm = PWM(Pin(2), freq=1000, duty_u16=16384)   # 25 % on
    print(pwm)
    """),
    ("md", """
    The printout shows the hardware behind it: one of the chip's 16 LEDC channels and 8
    timers, and the resolution — how finely the duty can be set at this frequency (the
    higher the frequency, the fewer steps).

    On the emulator the bench's LED reports the brightness it would have; on a real board
    the LED is visibly dimmer than in Lab 3.
    """),
    ("code", """
    %%host
    emu = get_ipython().kernel.boards.emulator   # None on a real board
    if emu is None:
        print("A real board: the LED glows at about a quarter of its full brightness.")
    else:
        print("bench LED brightness at 25 % duty:", emu.bench("leds")["leds"]["2"]["brightness"])
    """),
    ("md", """
    ## 2. Fading

    Raise the duty step by step, then lower it: the LED breathes. The plot shows the duty
    the loop set, as it runs.
    """),
    ("code", """
    %plot duty --window 10s --title "PWM duty on GPIO 2 (%)"
    from nb import emit

    for cycle in range(2):
        for step in list(range(0, 21)) + list(range(19, -1, -1)):
            duty = step * 65535 // 20
            pwm.duty_u16(duty)
            emit(duty=100 * duty / 65535)
            time.sleep_ms(25)
    print("faded twice; duty now", pwm.duty_u16())
    """),
    ("md", """
    Our eyes are not linear: the steps near the bottom look much bigger than the steps near
    the top. Exercise 1 fixes that.

    When you are done with a PWM pin, `deinit()` gives its channel back and leaves the pin low:
    """),
    ("code", """
    pwm.deinit()
    print("PWM off")
    """),
    ("md", """
    ## 3. The DAC: a real voltage

    PWM only *averages* to a voltage. The ESP32 also has two 8-bit DACs, on **GPIO 25 and
    26**, that output a steady voltage: `write(0)` ≈ 0 V … `write(255)` ≈ 3.3 V (on a real
    chip the ends are a little off, roughly 0.1 V to 3.2 V). Only those two pins have one:
    """),
    ("code", """
    for attempt in ("DAC(Pin(2))", "DAC(Pin(25)).write(256)"):
        try:
            eval(attempt)
        except ValueError as e:
            print("%s -> ValueError: %s" % (attempt, e))
    """),
    ("md", """
    Connect the DAC to the ADC: on a real board, the jumper wire from GPIO 25 to GPIO 34. On
    the emulator the next cell lays that wire on the bench.
    """),
    ("code", """
    %%host
    if emu is None:
        print("A real board: connect GPIO 25 to GPIO 34 with a jumper wire.")
    else:
        emu.wire(25, 34)
        print("On the emulator: the bench wired GPIO 25 (DAC) to GPIO 34 (ADC).")
    """),
    ("code", """
    dac = DAC(Pin(25))
    adc = ADC(Pin(34), atten=ADC.ATTN_11DB)
    for value in (0, 64, 128, 192, 255):
        dac.write(value)
        time.sleep_ms(5)
        print("dac.write(%3d): expected %.2f V, the ADC reads %.2f V" % (value, value * 3.3 / 255, adc.read_uv() / 1e6))
    """),
    ("md", """
    ## 4. A waveform, and its echo

    A sine wave is a table of DAC values played in a loop. Each step the board also reads
    the ADC, and both go to the live plot: the measured line should lie on the one we set.
    """),
    ("code", """
    %plot set_volts measured_volts --window 10s --title "DAC GPIO 25 → ADC GPIO 34 (V)"
    import math

    table = [round(127.5 + 127.5 * math.sin(2 * math.pi * i / 40)) for i in range(40)]
    worst = 0.0
    for cycle in range(4):
        for value in table:
            dac.write(value)
            time.sleep_ms(5)
            set_v = value * 3.3 / 255
            measured = adc.read_uv() / 1e6
            worst = max(worst, abs(measured - set_v))
            emit(set_volts=set_v, measured_volts=measured)
    print("4 cycles of a 40-step sine; largest difference set vs measured: %.3f V" % worst)
    dac.write(0)
    """),
    ("md", """
    On the emulator the difference is only the ADC's rounding (a few mV). A real board shows
    more — the DAC's and the ADC's own errors, tens to a couple of hundred millivolts —
    and the measured wave looks slightly flattened at the top and bottom.

    How fast can it go? Each step here waits 5 ms, so one cycle takes 0.2 s: a 5 Hz wave. The
    loop in Python limits the speed long before the DAC does.
    """),
    ("code", """
    %%host
    frame = live.frame("set_volts", "measured_volts")
    print("%d samples: set %.2f–%.2f V, measured %.2f–%.2f V" % (
        len(frame), frame.set_volts.min(), frame.set_volts.max(), frame.measured_volts.min(), frame.measured_volts.max()))
    print("points drawn in the live plot:", live.plots[-1].streamed)
    """),
    ("md", """
    ## Your turn

    1. **Gamma.** Make the fade look even to the eye: use `duty = int(65535 * (step / 20) ** 2.2)`.
    2. Play a triangle wave and a square wave through the DAC. Which one does the ADC follow
       worst on a real board, and why?
    3. Set the PWM frequency to 10 Hz on the LED: what do you see? And at 40 MHz — what does
       `print(pwm)` say about the resolution?
    4. Without the emulator's help: wire PWM (GPIO 4) through a 10 kΩ resistor to GPIO 34,
       with a 10 µF capacitor from GPIO 34 to GND. The ADC now reads the PWM's *average*
       voltage. How does it follow a change of duty?
    """),
]
