NAME = "13-espnow.ipynb"

CELLS = [
    ("md", """
    # Lab 13: ESP-NOW — two boards talk without a router

    **You will learn**

    - how **ESP-NOW** works: ESP32 boards send each other short messages (up to 250 bytes)
      straight over their WiFi radios, with no access point and no network — a remote control,
      a sensor that reports to a display board;
    - that every board has a **MAC address**, and that a message goes to a registered **peer**;
    - to find the other board by a **broadcast** (a message to everyone in range), then to talk
      to it alone;
    - what the radio's **signal strength** (RSSI) says about distance.

    **Hardware.** Two boards. This notebook's own board is the **receiver**, with an LED on
    **GPIO 2**; the second board, the **remote**, has a button on **GPIO 0** (the DevKitC's
    BOOT button). Both boards need no WiFi network, but their radios must be on the same
    **channel** (1 here).

    **On the emulator** the next cells start a second emulated board beside this one, in the
    same *air*: the two hear each other's ESP-NOW as two boards on one desk do.
    """),
    ("code", """
    import os
    print(os.uname().machine)   # the first cell connects: to your board, or to the emulator
    """),
    ("code", """
    %%host
    emu = get_ipython().kernel.boards.emulator   # None on a real board
    if emu is None:
        print("Connect your second board: %connect --name remote /dev/ttyUSB1   (%ports lists the ports)")
    else:
        get_ipython().run_line_magic("connect", "--name remote emulator")
        remote_bench = get_ipython().kernel.boards.emulators["remote"]   # its BOOT button is on GPIO 0
        emu.bench("add_led", 2)
    """),
    ("md", """
    ## 1. The receiver: radio on, ESP-NOW on

    ESP-NOW needs a WiFi interface switched on (the station interface: it joins no network
    here). `sta.config('mac')` is this board's address on the air.

    Then the receiver says "here I am" to everyone: a **broadcast**, sent to the address
    `ff:ff:ff:ff:ff:ff`, which must be registered as a peer like any other.
    """),
    ("code", """
    import network, espnow
    from machine import Pin

    sta = network.WLAN(network.STA_IF)
    sta.active(True)
    sta.config(channel=1)
    e = espnow.ESPNow()
    e.active(True)
    print("receiver's MAC:", sta.config('mac').hex(':'))

    led = Pin(2, Pin.OUT, value=0)
    received = 0

    def on_message(en):
        global received
        while True:
            mac, msg = en.irecv(0)   # everything that has arrived, without waiting
            if mac is None:
                return
            if msg == b"press":
                received += 1
                led.value(not led.value())

    e.irq(on_message)
    """),
    ("md", """
    ## 2. The remote: learn the receiver's address, then send presses

    `%%on remote` runs a cell on the second board. It listens for the receiver's broadcast,
    registers the sender of it as its peer, and from then on sends `press` to that board alone
    each time the button goes down (a `Pin.irq` handler, as in Lab 4).
    """),
    ("code", """
    %%on remote
    import network, espnow
    from machine import Pin

    sta = network.WLAN(network.STA_IF)
    sta.active(True)
    sta.config(channel=1)
    e = espnow.ESPNow()
    e.active(True)
    receiver = None
    sent = 0

    def on_hello(en):
        global receiver
        mac, msg = en.irecv(0)
        if mac is not None and msg == b"receiver here" and receiver is None:
            receiver = bytes(mac)
            en.add_peer(receiver)

    e.irq(on_hello)

    def on_press(pin):
        global sent
        if receiver is not None and e.send(receiver, b"press"):
            sent += 1

    button = Pin(0, Pin.IN, Pin.PULL_UP)
    button.irq(on_press, Pin.IRQ_FALLING)
    print("remote's MAC:", sta.config('mac').hex(':'), "- waiting for the receiver")
    """),
    ("code", """
    BROADCAST = b'\\xff' * 6
    e.add_peer(BROADCAST)
    print("broadcast acknowledged:", e.send(BROADCAST, b"receiver here"))
    """),
    ("code", """
    %%on remote
    import time
    for _ in range(50):
        if receiver is not None:
            break
        time.sleep_ms(20)
    print("the receiver is", receiver.hex(':') if receiver else "not found")
    """),
    ("md", """
    ## 3. Press the button

    On a real board: press the remote's BOOT button three times in the next six seconds. On
    the emulator the bench presses it for you.
    """),
    ("code", """
    %%host
    import time
    if emu is None:
        print("Press the remote's button three times now (6 seconds)…")
        time.sleep(6)
    else:
        for _ in range(3):
            remote_bench.press(0, 100)
            time.sleep(0.3)
        print("On the emulator: the bench pressed the remote's button three times.")
    """),
    ("md", """
    ## 4. Both boards at once

    `%%on default remote` runs the same cell on both boards — a teacher's view of a pair.
    Each board answers from its own variables (`globals()` holds what earlier cells set there).
    """),
    ("code", """
    %%on default remote
    import time
    time.sleep_ms(200)   # a message sent a moment ago is surely in by now
    g = globals()
    if "sent" in g:
        print("remote: sent", sent, "presses")
    else:
        print("receiver: received", received, "presses; LED is", "on" if led.value() else "off")
    """),
    ("md", """
    ## 5. Signal strength

    Every message carries the strength at which it arrived (RSSI, in dBm: -30 is strong, -90
    is at the edge). `e.peers_table` keeps the last one per sender. On the emulator, the bench
    moves the remote 20 m away; on real boards, carry the remote to the other end of the room.
    """),
    ("code", """
    %%host
    if emu is None:
        print("Carry the remote away, then run the next cells.")
    else:
        remote_bench.bench("air", "place", 20, 0)
        remote_bench.press(0, 100)
        time.sleep(0.3)
        print("On the emulator: the remote is now 20 m away, and sent one more press.")
    """),
    ("code", """
    for mac, (rssi, when) in e.peers_table.items():
        print("from", mac.hex(':'), "RSSI", rssi, "dBm")
    """),
    ("md", """
    ## 6. Tidy up
    """),
    ("code", """
    %%on remote
    button.irq(handler=None)
    e.active(False)
    print("remote: ESP-NOW off")
    """),
    ("code", """
    e.irq(None)
    e.active(False)
    led.value(0)
    print("receiver: ESP-NOW off")
    """),
    ("code", """
    %disconnect --name remote
    """),
    ("md", """
    **Try next**: send a number instead of `press` (`str(value).encode()`, and `int(msg)` on the
    receiver) — a potentiometer on the remote dims the receiver's LED (PWM, Lab 6); answer each
    press with an acknowledgement message and count what was lost; put the boards on another
    channel (`sta.config(channel=6)` on one only) and see `send()` return False.
    """),
]
