NAME = "03-blink-and-pins.ipynb"

CELLS = [
    ("md", """
    # Lab 3: Blink an LED, and what the pin numbers mean

    **You will learn**

    - to switch a pin on and off with `machine.Pin` — the "hello world" of hardware;
    - why the number printed on the board is not always the number you give `Pin()`;
    - which pins can only be inputs, and the exact error you get when you forget.

    **Hardware.** An ESP32-DevKitC and, because Espressif's DevKitC has no LED of its own, an
    LED with a 330 Ω resistor in series from **GPIO 2** to **GND** (long leg towards GPIO 2).
    Many other ESP32 boards (NodeMCU-32S, "DOIT DevKit V1") already have a blue LED on GPIO 2.

    **On the emulator** the next cell puts a virtual LED on GPIO 2 and shows it as an
    indicator that follows the pin. On a real board `%bench` only says that the bench is the
    emulator's — nothing breaks, you look at the real LED instead.
    """),
    ("code", """
    import os
    print(os.uname().machine)   # the first cell connects: to your board, or to the emulator
    """),
    ("code", """
    %bench led:2
    """),
    ("md", """
    ## 1. Switch it on

    `Pin(2, Pin.OUT)` makes GPIO 2 an output. `on()` puts 3.3 V on it, `off()` 0 V, and
    `value()` reads back what the pin is set to.
    """),
    ("code", """
    from machine import Pin

    led = Pin(2, Pin.OUT)
    led.on()
    print("LED pin level:", led.value())
    """),
    ("md", """
    ## 2. Blink

    A loop that toggles the pin every 0.2 s. `time.sleep` waits on the board. The LED (or
    the bench's indicator above) blinks while the cell runs.
    """),
    ("code", """
    import time

    levels = []
    for i in range(6):
        led.value(not led.value())   # the opposite of what it is now
        levels.append(led.value())
        time.sleep(0.2)
    print("levels:", levels)
    led.off()
    """),
    ("md", """
    The board does not need the computer to blink: the loop runs on the chip. Your computer
    only sends the cell and shows what the board prints.

    **Check it from outside.** The next cell runs on your computer (`%%host`). On the
    emulator it asks the bench how bright the LED is, as a real multimeter would measure the
    pin; on a real board there is nothing to ask — look at the LED: it should be off now.
    """),
    ("code", """
    %%host
    emu = get_ipython().kernel.boards.emulator   # None on a real board
    if emu is None:
        print("A real board: look at the LED on GPIO 2 — it is off.")
    else:
        print("bench LED on GPIO 2, brightness:", emu.bench("leds")["leds"]["2"]["brightness"])
    """),
    ("md", """
    ## 3. Board labels and GPIO numbers

    The chip has pins called **GPIO 0 … 39**. The board's printing often uses other names:
    a DevKitC says `IO4`, `SVP` (GPIO 36), `SVN` (GPIO 39); a NodeMCU-32S says `P4`; Arduino
    style boards say `D4`. MicroPython's ESP32 firmware only knows **GPIO numbers**:

    | printed on the board | GPIO number for `Pin()` |
    | --- | --- |
    | `IO2`, `P2`, `D2`, `G2` | `2` |
    | `SVP` / `VP` | `36` |
    | `SVN` / `VN` | `39` |
    | `TX0` / `RX0` | `1` / `3` (the USB serial link — leave them alone) |

    Give `Pin()` a label and it refuses (`ValueError: invalid pin` on v1.24's generic ESP32
    firmware). Not every number exists either: the ESP32 has no GPIO 20, 24, 28–31 or 40.
    (We catch the errors here so the notebook keeps going; in your own code you would see
    the traceback.)
    """),
    ("code", """
    for name in ("SVP", "D2", 24, 40):
        try:
            Pin(name)
        except Exception as e:
            print("Pin(%r) -> %s: %s" % (name, type(e).__name__, e))
    """),
    ("md", """
    ## 4. Input-only pins

    GPIO **34, 35, 36, 37, 38, 39** have no output driver and no pull-up/pull-down
    resistors: they can only be inputs (they are fine for ADC and buttons with an external
    resistor). Asking for an output is an error:
    """),
    ("code", """
    for gpio in (34, 35, 36, 39):
        try:
            Pin(gpio, Pin.OUT)
        except ValueError as e:
            print("Pin(%d, Pin.OUT) -> ValueError: %s" % (gpio, e))
    sensor_in = Pin(34, Pin.IN)   # fine: an input (with nothing connected it floats)
    """),
    ("md", """
    **Pins to avoid.** GPIO **6–11** are wired to the board's flash chip: using them stops
    the board (it crashes or hangs). GPIO 0, 2, 5, 12 and 15 are *strapping* pins: the chip
    reads them at reset to decide how to boot, so what you connect to them must not pull them
    the wrong way during a reset (GPIO 12 high at reset, for example, selects the wrong flash
    voltage). GPIO 1 and 3 carry the USB serial link this notebook talks through.

    ## 5. Reading an input: the BOOT button

    Every DevKitC has a **BOOT** button from GPIO 0 to GND. With the pin's internal
    pull-up the pin reads 1 when the button is up and 0 while it is pressed.
    """),
    ("code", """
    boot = Pin(0, Pin.IN, Pin.PULL_UP)
    print("BOOT button up: GPIO 0 reads", boot.value())
    """),
    ("md", """
    Now hold the button down while the board reads it. On a real board: **hold BOOT** during
    the next two cells (the first gives you two seconds). On the emulator the cell below
    holds the bench's BOOT button down for you.
    """),
    ("code", """
    %%host
    import time
    emu = get_ipython().kernel.boards.emulator
    if emu is None:
        print("Hold the BOOT button down now…")
        time.sleep(2)
    else:
        emu.press(0, 0)   # press and hold (0 ms = until released)
        print("On the emulator: BOOT is held down by the bench.")
    """),
    ("code", """
    print("BOOT button held: GPIO 0 reads", boot.value())
    """),
    ("code", """
    %%host
    if emu is not None:
        emu.release(0)
    print("You can let go of BOOT.")
    """),
    ("md", """
    ## Your turn

    1. Make the LED blink 10 times, on for 0.1 s and off for 0.4 s.
    2. Write a loop that runs for 5 seconds and lights the LED *while* BOOT is held
       (`led.value(not boot.value())`). On the emulator, press the button of the `%bench`
       panel (`%bench button:0 led:2`) while it runs.
    3. Look at your board's pinout: which labels map to GPIO 36 and 39? Try `Pin(36, Pin.OUT)`
       and read the error.
    4. `Signal(led, invert=True)` turns an LED wired to 3V3 ("active low") into one where
       `on()` means lit. Where would that help?
    """),
]
