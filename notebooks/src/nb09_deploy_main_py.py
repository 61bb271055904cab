NAME = "09-deploy-main-py.ipynb"

CELLS = [
    ("md", """
    # Lab 9: Deploying a program — `main.py`, resets, and getting back in

    So far the board ran what the notebook sent it, and forgot it at the next reset. A
    finished project has to start by itself when it is powered. **You will learn**

    - the board's files: `boot.py` and `main.py`, and modules of your own;
    - to write files from the notebook (`%%writefile`, `%ls`, `%cat`, `%rm`);
    - soft reset (`%reset`) versus hard reset (`%reset --hard`), and which one runs `main.py`;
    - to write a `main.py` you can always get back into, and to rescue a board with `%safe`.

    **Hardware.** The LED on GPIO 2 (Lab 3). This lab writes `/blink.py` and `/main.py` on the
    board and removes them at the end.
    """),
    ("code", """
    import os
    print(os.uname().machine)   # the first cell connects: to your board, or to the emulator
    """),
    ("md", """
    ## 1. The board's files

    The ESP32 keeps a small file system in its flash memory. At every start MicroPython runs
    **`boot.py`** (low-level setup; leave it alone) and then **`main.py`**, your program, if
    there is one. `%ls -l` lists the files with their sizes:
    """),
    ("code", """
    %ls -l
    """),
    ("md", """
    ## 2. A module of your own

    `%%writefile PATH` saves the cell's text as a file on the board (it is written to a
    temporary file, checked, and only then renamed: an interrupted copy never leaves half a
    file). Any `.py` file in `/` can be imported.
    """),
    ("code", """
    %%writefile /blink.py
    from machine import Pin
    import time

    led = Pin(2, Pin.OUT)

    def blink(times, period_ms=200):
        for _ in range(times):
            led.on()
            time.sleep_ms(period_ms // 2)
            led.off()
            time.sleep_ms(period_ms // 2)
        return times
    """),
    ("code", """
    import blink
    print("blinked", blink.blink(3, 100), "times")
    """),
    ("md", """
    Test your code as a module like this first, and only then make it `main.py`: a bug in a
    module costs you a traceback, a bug in `main.py` can lock you out (section 5).

    ## 3. A safe `main.py`

    Three rules make a `main.py` you can always get back into:

    1. **A way out at the start.** Here: hold the BOOT button while the board starts and
       `main.py` does nothing. Also wait a moment before the program's loop.
    2. **Never a bare `except:`** around the main loop. It also catches `KeyboardInterrupt` —
       the Ctrl-C the notebook sends to stop the board — so the board can no longer be
       stopped. Catch `Exception` instead: `KeyboardInterrupt` is not one.
    3. **Print what you do**, so the boot log tells you where it is.
    """),
    ("code", """
    %%writefile /main.py
    # main.py: runs at every power-on and hard reset
    import time
    from machine import Pin
    import blink

    print("main.py: started")
    if Pin(0, Pin.IN, Pin.PULL_UP).value() == 0:
        print("main.py: BOOT is held, so the program does not start")
    else:
        time.sleep(1)                      # a moment to interrupt before the loop
        print("main.py: blinking forever")
        while True:
            try:
                blink.blink(1, 500)
            except Exception as e:         # not a bare except: Ctrl-C still stops it
                print("main.py: error", e)
    """),
    ("code", """
    %cat /main.py
    """),
    ("md", """
    ## 4. Soft reset and hard reset

    **`%reset`** is a *soft reset*: MicroPython restarts, its memory is cleared (every variable
    is gone) and `boot.py` runs — but **not** `main.py`, because the notebook keeps the board
    in its "raw REPL" mode, where MicroPython skips `main.py` on a soft reset.
    """),
    ("code", """
    %reset
    """),
    ("code", """
    print("blink" in globals())   # False: the board's variables are gone
    """),
    ("md", """
    **`%reset --hard`** resets the chip itself, as the EN button or a power cycle does (the
    notebook pulses the EN line through the USB chip on a DevKitC). Now `main.py` runs. The
    kernel then interrupts it with Ctrl-C to get its prompt back: you see the boot log up to
    the moment the notebook took over (that is not a crash). Unplugged from the computer,
    the board would go on blinking.
    """),
    ("code", """
    %reset --hard
    """),
    ("code", """
    print("back at the prompt")
    """),
    ("md", """
    ## 5. Rescue: `%safe`

    If `main.py` resets the board, swallows Ctrl-C or hangs before the kernel can interrupt
    it, no cell reaches the board any more. **`%safe`** resets it and sends Ctrl-C every few
    milliseconds while it boots, so `main.py` is stopped in its first moments; `--rename`
    then renames `main.py` to `main.py.disabled`, so the next start skips it.

    It has a limit: a `main.py` that catches `KeyboardInterrupt` from its very first lines
    cannot be stopped this way (on any board) — that is what rule 1 and rule 2 are for. Then
    the fix is to erase the board's flash and reinstall MicroPython.

    Rescue our board (nothing is wrong with it, but this is how it goes):
    """),
    ("code", """
    %safe --rename
    """),
    ("code", """
    %ls
    """),
    ("md", """
    To turn the program back on you would rename it back
    (`import os; os.rename("main.py.disabled", "main.py")`). We clean up instead, so the
    board starts empty again:
    """),
    ("code", """
    %rm /main.py.disabled /blink.py
    """),
    ("code", """
    %ls
    """),
    ("md", """
    ## Your turn

    1. Write a `main.py` that blinks only 5 times and ends. Hard-reset: what does the boot log
       show, and what is in the board's namespace afterwards (`dir()`)?
    2. Put the first rule to the test: write `main.py` again, then hold BOOT while you run
       `%reset --hard` (on the emulator: `emu.press(0, 0)` in a `%%host` cell first, and
       `emu.release(0)` after). Which line does the boot log print?
    3. Why is `while True: try: … except: pass` so dangerous in `main.py`? Explain it in terms
       of the `KeyboardInterrupt` exception.
    4. Use `%put` to copy a file from your computer to the board, and `%get` to copy it back.
    """),
]
