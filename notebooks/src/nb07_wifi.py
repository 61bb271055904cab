NAME = "07-wifi.ipynb"

CELLS = [
    ("md", """
    # Lab 7: WiFi — scan, connect, signal strength

    **You will learn**

    - to switch on the ESP32's WiFi as a *station* (a client, like your phone) and scan for
      access points;
    - to connect, wait for an address, and read what the status codes mean;
    - to follow the signal strength (**RSSI**, in dBm) over time;
    - one ESP32 surprise: with WiFi on, the ADC2 pins stop working.

    **Hardware.** Nothing extra: the antenna is on the module. You need a 2.4 GHz network
    (the ESP32 cannot see 5 GHz ones).

    **On the emulator** the bench provides the access points (next cells). No packets flow
    through the emulated WiFi: it is about the WLAN interface, not the internet.
    """),
    ("code", """
    import os
    print(os.uname().machine)   # the first cell connects: to your board, or to the emulator
    """),
    ("code", """
    %%host
    emu = get_ipython().kernel.boards.emulator   # None on a real board
    if emu is None:
        print("A real board: the networks around you will show up.")
    else:
        emu.add_ap("classroom", "micropython", rssi=-55, channel=6)   # WPA2, password micropython
        emu.add_ap("lab-sensors", "s3cret-pass", rssi=-67, channel=1)
        emu.add_ap("cafe-guest", "", rssi=-80, channel=11)           # open
        print("On the emulator: three access points on the bench.")
    """),
    ("md", """
    **Which network.** The cell below names the network to join. On a real board change them
    to yours — but a password typed into a cell is saved in the notebook (and its history).
    For a real password use the `%wifi` panel's connect form instead: the password goes to the
    board only and is never saved.
    """),
    ("code", """
    SSID = "classroom"
    PASSWORD = "micropython"
    """),
    ("md", """
    ## 1. Scan

    `WLAN(STA_IF)` is the station interface; `active(True)` powers the radio. `scan()` listens
    on every channel for about two seconds and returns one tuple per access point:
    `(ssid, bssid, channel, RSSI, authmode, hidden)`.
    """),
    ("code", """
    import network, time

    wlan = network.WLAN(network.STA_IF)
    wlan.active(True)
    auth_names = {getattr(network, n): n[5:] for n in dir(network) if n.startswith("AUTH_")}
    found = wlan.scan()
    print("%-14s %5s %8s  %s" % ("SSID", "RSSI", "channel", "security"))
    for ssid, bssid, channel, rssi, authmode, hidden in sorted(found, key=lambda ap: -ap[3]):
        print("%-14s %5d %8d  %s" % (ssid.decode(), rssi, channel, auth_names.get(authmode, authmode)))
    print(len(found), "access points")
    """),
    ("md", """
    **RSSI** is the received signal strength in dBm: always negative, and closer to 0 is
    stronger. Around −50 is excellent, −70 usable, below −85 you will lose packets.

    ## 2. Connect, and what can go wrong

    `connect()` returns at once; the connection happens in the background. `status()` says
    how it is going. We wait for it to leave `STAT_CONNECTING`, and print the name of the
    status it ends in. First, deliberately, with a wrong password:
    """),
    ("code", """
    status_names = {getattr(network, n): n for n in dir(network) if n.startswith("STAT_")}

    def join(ssid, password, timeout_s=15):
        wlan.connect(ssid, password)
        start = time.ticks_ms()
        while wlan.status() == network.STAT_CONNECTING and time.ticks_diff(time.ticks_ms(), start) < timeout_s * 1000:
            time.sleep_ms(100)
        took = time.ticks_diff(time.ticks_ms(), start) / 1000
        print("%s after %.1f s" % (status_names.get(wlan.status(), wlan.status()), took))
        return wlan.isconnected()

    join(SSID, "not-the-password")
    """),
    ("md", """
    `STAT_WRONG_PASSWORD` (a real access point may instead just let the attempt time out).
    Other endings: `STAT_NO_AP_FOUND` (wrong name, too far, or 5 GHz), `STAT_GOT_IP` (success).
    Now with the right password:
    """),
    ("code", """
    if join(SSID, PASSWORD):
        ip, netmask, gateway, dns = wlan.ifconfig()
        print("connected to", wlan.config("ssid"), "— address", ip, "gateway", gateway)
    else:
        print("not connected: check SSID and PASSWORD above")
    """),
    ("md", """
    ## 3. Signal strength over time

    While connected, `wlan.status('rssi')` is the current signal strength. Sample it ten
    times a second for three seconds and plot it. On a real board, walk away from the
    router with your laptop, or cup your hand over the module's antenna, and watch it drop.
    """),
    ("code", """
    %plot rssi --window 30s --title "RSSI (dBm)"
    from nb import emit

    rssi_values = []
    if wlan.isconnected():
        for _ in range(30):
            rssi = wlan.status("rssi")
            rssi_values.append(rssi)
            emit(rssi=rssi)
            time.sleep_ms(100)
        print("RSSI: %d samples, min %d dBm, max %d dBm" % (len(rssi_values), min(rssi_values), max(rssi_values)))
    else:
        print("not connected — no RSSI to sample")
    """),
    ("md", """
    The value wanders by a few dB even when nothing moves: reflections, other radios, people
    walking by.

    ## 4. WiFi takes ADC2

    The ESP32 has two ADCs. ADC2 (GPIO 0, 2, 4, 12–15, 25–27) is shared with the WiFi radio:
    while WiFi is on, reading it fails with `OSError` 116 (`ETIMEDOUT`). Use ADC1 (GPIO 32–39)
    for analog inputs in WiFi projects.
    """),
    ("code", """
    from machine import ADC, Pin

    try:
        ADC(Pin(4)).read()
    except OSError as e:
        print("ADC2 (GPIO 4) with WiFi on -> OSError", e.errno)
    print("ADC1 (GPIO 34) still works:", 0 <= ADC(Pin(34)).read() <= 4095)
    """),
    ("md", """
    ## 5. Switch off

    Disconnecting and switching the radio off saves about 100 mA — the biggest power user on
    the chip — and frees ADC2 again.
    """),
    ("code", """
    wlan.disconnect()
    wlan.active(False)
    print("WiFi off; connected:", wlan.isconnected())
    """),
    ("md", """
    ## Your turn

    1. Run `%wifi`: scan with its button, connect with its form (the password stays out of the
       notebook), and watch its RSSI plot between cells.
    2. Write `best_open_network()` that returns the SSID of the strongest open network
       (`authmode == network.AUTH_OPEN`), or `None`.
    3. Try a network name that does not exist: which status do you get, and after how long?
    4. Find the board's MAC address: `wlan.config("mac")` (bytes) — print it as
       `aa:bb:cc:dd:ee:ff`.
    """),
]
