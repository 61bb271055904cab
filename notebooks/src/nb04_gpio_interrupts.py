NAME = "04-gpio-interrupts.ipynb"

CELLS = [
    ("md", """
    # Lab 4: Buttons and interrupts

    **You will learn**

    - to react to a button with an **interrupt** (`Pin.irq`) instead of asking the pin
      again and again (*polling*);
    - what **contact bounce** is, and how to count one press as one press (*debouncing*).

    **Hardware.** The DevKitC's **BOOT** button (GPIO 0 to GND, already on the board) and the
    LED on GPIO 2 from Lab 3. On the emulator the bench has the BOOT button from the start;
    the panel below adds the LED and a button you can click.
    """),
    ("code", """
    import os
    print(os.uname().machine)   # the first cell connects: to your board, or to the emulator
    """),
    ("code", """
    %bench button:0 led:2
    """),
    ("md", """
    ## 1. An interrupt handler

    `button.irq(handler, Pin.IRQ_FALLING)` asks the chip to call `handler` whenever the pin
    goes from 1 to 0 — the moment the button is pressed (the pull-up holds it at 1, the
    button pulls it to 0). The handler runs *between* the lines of whatever else the board
    is doing, even while a cell waits in `time.sleep`, and while no cell runs at all.

    Keep handlers short: count, set a flag, toggle a pin. Here the handler counts presses and
    toggles the LED.
    """),
    ("code", """
    from machine import Pin
    import time

    led = Pin(2, Pin.OUT, value=0)
    button = Pin(0, Pin.IN, Pin.PULL_UP)
    presses = 0

    def on_press(pin):
        global presses
        presses += 1
        led.value(not led.value())

    button.irq(on_press, Pin.IRQ_FALLING)
    print("ready: button reads", button.value(), "(1 = not pressed)")
    """),
    ("md", """
    Now press the button **three times**. On a real board: press BOOT three times in the six
    seconds the next cell waits. On the emulator the cell presses the bench's button for you
    (100 ms each, 0.3 s apart) — as your finger would, from outside the chip.
    """),
    ("code", """
    %%host
    import time
    emu = get_ipython().kernel.boards.emulator   # None on a real board
    if emu is None:
        print("Press BOOT three times now (6 seconds)…")
        time.sleep(6)
    else:
        for _ in range(3):
            emu.press(0, 100)
            time.sleep(0.3)
        print("On the emulator: the bench pressed BOOT three times.")
    """),
    ("code", """
    print("presses counted:", presses)
    before_bounce = presses
    print("LED is", "on" if led.value() else "off", "(it toggles on every press)")
    """),
    ("md", """
    No cell was running while you pressed: the board ran the handler by itself, and the
    count waited in its memory for us to ask.

    ## 2. Contact bounce

    A mechanical button does not close cleanly: its metal contacts bounce for a millisecond
    or so, so one press can look like several quick presses. The chip is fast enough to see
    every one of them, and our handler counts each.

    On the emulator the next cell makes one *bouncy* press: it flips the pin between pressed
    and released five times within a few milliseconds, then holds it pressed for 100 ms,
    which is what a worn breadboard button does. On a real board, press a cheap tactile
    button wired from a GPIO to GND a few times (the DevKitC's BOOT button has a capacitor
    that smooths most of its bounce, so it may count right).
    """),
    ("code", """
    %%host
    def bouncy_press(pin=0, bounces=4):
        \"\"\"One press with contact bounce, made on the emulator's bench.\"\"\"
        for _ in range(bounces):
            emu.press(pin, 0)   # contact closes…
            emu.release(pin)    # …and springs open again
        emu.press(pin, 100)     # then it stays closed for 100 ms

    if emu is None:
        print("Press a bouncy button once now (3 seconds)…")
        time.sleep(3)
    else:
        bouncy_press()
        time.sleep(0.3)
        print("On the emulator: one bouncy press made by the bench.")
    """),
    ("code", """
    bounced = presses - before_bounce
    print("one press counted as", bounced, "presses")
    """),
    ("md", """
    ## 3. Debouncing

    The fix: after accepting a press, ignore further edges for a short time (here 50 ms —
    longer than any bounce, shorter than two real presses). `time.ticks_ms()` is the board's
    millisecond clock and `time.ticks_diff` subtracts two readings correctly even when the
    counter wraps around.
    """),
    ("code", """
    DEBOUNCE_MS = 50
    presses = 0
    last_press = time.ticks_ms() - DEBOUNCE_MS

    def on_press_debounced(pin):
        global presses, last_press
        now = time.ticks_ms()
        if time.ticks_diff(now, last_press) < DEBOUNCE_MS:
            return                      # a bounce of the press we already counted
        last_press = now
        presses += 1
        led.value(not led.value())

    button.irq(on_press_debounced, Pin.IRQ_FALLING)   # replaces the old handler
    print("debounced handler installed")
    """),
    ("code", """
    %%host
    if emu is None:
        print("Press the same bouncy button once more (3 seconds)…")
        time.sleep(3)
    else:
        bouncy_press()
        time.sleep(0.3)
        print("On the emulator: the same bouncy press again.")
    """),
    ("code", """
    print("debounced: one press counted as", presses, "press")
    """),
    ("md", """
    ## 4. Tidy up

    An interrupt handler stays active until it is removed or the board resets. Remove it so
    later labs start clean.
    """),
    ("code", """
    button.irq(handler=None)
    led.off()
    print("handler removed")
    """),
    ("md", """
    ## Your turn

    1. Use `Pin.IRQ_RISING` as well (`Pin.IRQ_FALLING | Pin.IRQ_RISING`) and light the LED only
       while the button is held: in the handler, `led.value(not pin.value())`.
    2. Measure how long each press lasts: store `time.ticks_ms()` on the falling edge and
       print the difference on the rising edge. (Printing from a handler is fine for a test,
       but slow — why?)
    3. Try `DEBOUNCE_MS = 1`: does the bouncy press count once? Try 500 ms and press quickly
       twice: what goes wrong?
    4. Send each press to a live plot: `from nb import emit` and `emit(presses=presses)` in
       the handler, with `%plot presses` (see Lab 2).
    """),
]
