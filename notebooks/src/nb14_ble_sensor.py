NAME = "14-ble-sensor.ipynb"

CELLS = [
    ("md", """
    # Lab 14: a Bluetooth LE sensor — the board serves its temperature, a phone reads it

    **You will learn**

    - how a **Bluetooth LE peripheral** works: it **advertises** (tells everyone around its name
      and what it offers), a **central** (a phone) connects, and reads **characteristics** in
      **services** — the board's **GATT server**;
    - to use the standard **Environmental Sensing** service (0x181A) with its **Temperature**
      characteristic (0x2A6E: a signed 16-bit number of 0.01 °C), so any BLE app understands it;
    - to **notify** a subscribed phone each time the value changes, and to plot it live.

    **Hardware.** Lab 2's thermistor divider on **GPIO 35** (10 kΩ NTC to GND, 10 kΩ to 3V3).
    A phone with a BLE app such as *nRF Connect* (Android, iOS) to play the central.

    **On the emulator** the bench has a phone of its own: the `%%host` cells drive it (scan,
    connect, read, subscribe) where you would tap in the app.
    """),
    ("code", """
    import os
    print(os.uname().machine)   # the first cell connects: to your board, or to the emulator
    """),
    ("code", """
    %%host
    emu = get_ipython().kernel.boards.emulator   # None on a real board
    if emu is None:
        print("A real board: wire the thermistor to GPIO 35 and open nRF Connect on your phone.")
    else:
        emu.bench("add_thermistor", 35, 22.0)
        print("On the emulator: a thermistor on GPIO 35 at 22 °C.")
    """),
    ("md", """
    ## 1. The GATT server

    A service is a UUID and its characteristics; a characteristic is a UUID and what a client
    may do with it (`FLAG_READ`, `FLAG_NOTIFY`…). `gatts_register_services` returns a **handle**
    for each characteristic: the number the board reads and writes its value by.
    """),
    ("code", """
    import bluetooth, math, struct
    from bluetooth import UUID, FLAG_READ, FLAG_NOTIFY
    from machine import ADC, Pin

    ENVIRONMENTAL_SENSING = UUID(0x181A)
    TEMPERATURE = (UUID(0x2A6E), FLAG_READ | FLAG_NOTIFY)

    ble = bluetooth.BLE()
    ble.active(True)
    ((temperature,),) = ble.gatts_register_services(((ENVIRONMENTAL_SENSING, (TEMPERATURE,)),))

    therm = ADC(Pin(35), atten=ADC.ATTN_11DB)

    def celsius():
        raw = therm.read()
        r = 10000 * raw / max(1, 4095 - raw)     # the NTC's resistance, from the divider (Lab 10)
        return 1 / (1 / 298.15 + math.log(max(r, 1) / 10000) / 3950) - 273.15

    def publish(notify=False):
        t = celsius()
        ble.gatts_write(temperature, struct.pack("<h", round(t * 100)), notify)   # 0.01 °C, little-endian
        return t

    print("temperature handle:", temperature, "- now %.1f °C" % publish())
    """),
    ("md", """
    ## 2. Advertise

    The advertising data is a list of small records: *flags* (0x01), the *complete local name*
    (0x09) and the *16-bit service UUIDs* (0x03) — what a phone's scan list shows.
    """),
    ("code", """
    import machine
    NAME = "esp32-" + machine.unique_id().hex()[-4:]

    def adv_record(kind, data):
        return bytes((len(data) + 1, kind)) + data

    adv = adv_record(0x01, b"\\x06") + adv_record(0x09, NAME.encode()) + adv_record(0x03, struct.pack("<H", 0x181A))
    ble.gap_advertise(100_000, adv)   # every 100 ms
    print("advertising as", NAME, "-", len(adv), "bytes of advertising data (31 at most)")
    """),
    ("md", """
    ## 3. A phone connects and reads

    In nRF Connect: *Scan*, find your board's name, *Connect*, open *Environmental Sensing* and
    tap the read arrow of *Temperature*. On the emulator the bench's phone does the same.
    """),
    ("code", """
    %%host
    import time
    if emu is None:
        print("Scan, connect and read the temperature with your phone now (20 seconds)…")
        time.sleep(20)
    else:
        found = emu.bench("phone", "scan", 500)["found"]
        board = next(d for d in found if (d["name"] or "").startswith("esp32-"))
        print("the phone found", board["name"], "at", board["rssi"], "dBm")
        emu.bench("phone", "connect", board["mac"])
        chars = emu.bench("phone", "characteristics")["characteristics"]
        handle = next(c["handle"] for c in chars if c["uuid"] == "2a6e")
        value = bytes.fromhex(emu.bench("phone", "read", handle)["value"])
        print("the phone read %.2f °C" % (int.from_bytes(value, "little", signed=True) / 100))
    """),
    ("md", """
    ## 4. Notify, and plot it live

    A phone that **subscribes** (the three-arrow button in nRF Connect) gets each new value
    without asking. A `Timer` publishes the temperature twice a second with `notify=True`
    (only subscribed phones are sent it) and `emit`s it to this notebook's live plot.
    """),
    ("code", """
    %plot temp --window 10s
    """),
    ("code", """
    from machine import Timer
    from nb import emit

    def tick(timer):
        emit(temp=publish(notify=True))

    ticker = Timer(0)
    ticker.init(freq=2, callback=tick)
    print("publishing twice a second")
    """),
    ("code", """
    %%host
    if emu is None:
        print("Subscribe with your phone and warm the thermistor with your fingers (10 seconds)…")
        time.sleep(10)
    else:
        emu.bench("phone", "subscribe", handle)
        for step in range(11):   # your fingers warm the thermistor from 22 to 32 °C
            emu.bench("set_temperature", 35, 22 + step)
            time.sleep(0.3)
        time.sleep(0.6)
        got = emu.bench("phone", "notifications")["notifications"]
        temps = [int.from_bytes(bytes.fromhex(n["value"]), "little", signed=True) / 100 for n in got]
        print("the phone was notified %d times, last %.1f °C (warmest %.1f °C)" % (len(temps), temps[-1], max(temps)))
    """),
    ("md", """
    ## 5. Tidy up
    """),
    ("code", """
    ticker.deinit()
    ble.active(False)
    print("BLE off")
    """),
    ("code", """
    %%host
    if emu is not None:
        print("the phone is", "connected" if emu.bench("phone", "disconnect")["connected"] else "disconnected")
    """),
    ("md", """
    **Try next**: add the *Humidity* characteristic (0x2A6F, unsigned, 0.01 %) from a DHT22
    (Lab 8); write a *Characteristic User Description* descriptor (0x2901) so apps show a label;
    make the board the central instead and read the bench's own sensor
    (`emu.bench("ble_sensor", "greenhouse", 23.5)` on the emulator), with `gap_scan` and
    `gap_connect`.
    """),
]
