NAME = "12-mqtt.ipynb"

CELLS = [
    ("md", """
    # Lab 12: MQTT — a sensor on the network, a light you switch from afar

    **You will learn**

    - how **MQTT** works: devices never talk to each other directly; they **publish** messages
      on **topics** (`esp32-lab/7f3a/temperature`) to a **broker**, which passes each one to
      whoever **subscribed** to that topic;
    - to publish readings from the board with `umqtt.simple`, built into the ESP32 firmware;
    - to subscribe on the board and act on a command (switch an LED);
    - to watch it all from this computer, as a dashboard would.

    **Hardware.** WiFi (Lab 7) and an LED on **GPIO 2** (with 330 Ω). A broker: your class's,
    or the public test broker `test.mosquitto.org` (anyone can read what you publish there:
    send nothing private).

    **On the emulator** the next cell puts an access point on the bench and, if this computer
    has Mosquitto (the broker most classes run), starts one here and routes the board's
    `test.mosquitto.org` to it; without Mosquitto the emulated board reaches the real
    `test.mosquitto.org` through this computer's internet.
    """),
    ("code", """
    import os
    print(os.uname().machine)   # the first cell connects: to your board, or to the emulator
    """),
    ("code", """
    %%host
    import pathlib, shutil, socket, subprocess, tempfile

    BROKER, PORT = "test.mosquitto.org", 1883   # where this computer reaches the broker
    emu = get_ipython().kernel.boards.emulator   # None on a real board
    mosquitto = shutil.which("mosquitto") or shutil.which("/usr/sbin/mosquitto")
    if emu is None:
        print("A real board: it uses", BROKER)
    else:
        emu.add_ap("classroom", "micropython", rssi=-55, channel=6)
        emu.bench("add_led", 2)
        if mosquitto:
            with socket.socket() as s:   # a free port on this computer
                s.bind(("127.0.0.1", 0))
                PORT = s.getsockname()[1]
            config = pathlib.Path(tempfile.mkdtemp()) / "mosquitto.conf"
            config.write_text(f"listener {PORT} 127.0.0.1\\nallow_anonymous true\\n")
            broker = subprocess.Popen([mosquitto, "-c", str(config)], stderr=subprocess.DEVNULL)
            BROKER = "127.0.0.1"
            emu.bench("route", "test.mosquitto.org:1883", f"127.0.0.1:{PORT}")
            print("On the emulator: a Mosquitto broker on this computer stands in for test.mosquitto.org.")
        else:
            print("On the emulator, with no Mosquitto here: the board uses the real test.mosquitto.org.")
    """),
    ("md", """
    ## 1. Join the network

    As in Lab 7 (change the name and password on a real board — or use the `%wifi` panel).
    """),
    ("code", """
    import network, time

    wlan = network.WLAN(network.STA_IF)
    wlan.active(True)
    wlan.connect("classroom", "micropython")
    for _ in range(100):
        if wlan.isconnected():
            break
        time.sleep_ms(100)
    print("connected:", wlan.isconnected())
    """),
    ("md", """
    ## 2. Connect to the broker

    Every client needs an id the broker has not seen yet; the board's unique id makes one.
    Our topics start with it too, so that thirty students on one broker do not mix up
    their messages.
    """),
    ("code", """
    import machine, binascii
    from umqtt.simple import MQTTClient

    ME = binascii.hexlify(machine.unique_id()).decode()[-4:]
    TOPIC = "esp32-lab/" + ME
    client = MQTTClient("esp32-" + ME, "test.mosquitto.org", keepalive=60)
    client.connect()
    print("connected to the broker as esp32-" + ME + "; my topics start with", TOPIC)
    """),
    ("md", """
    ## 3. A dashboard on this computer

    This computer subscribes to everything under the board's topic, with the `paho-mqtt`
    library, and keeps what arrives. (A real dashboard would draw it.)
    """),
    ("code", """
    %%host
    import time
    import paho.mqtt.client as mqtt

    topic = board.eval("TOPIC")   # `board` in a %%host cell: the connected board
    received = []
    dashboard = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    dashboard.on_message = lambda c, u, m: received.append((m.topic, m.payload.decode()))
    dashboard.connect(BROKER, PORT)
    dashboard.subscribe(topic + "/#")
    dashboard.loop_start()
    time.sleep(0.5)   # the subscription reaches the broker
    print("the dashboard listens to", topic + "/#")
    """),
    ("md", """
    ## 4. Publish readings

    The chip's own temperature sensor, once a second, five times: each reading goes to the
    broker (and to the notebook's plot with `emit`).
    """),
    ("code", """
    %plot chip_c --points 10
    import esp32
    from nb import emit

    for i in range(5):
        celsius = round((esp32.raw_temperature() - 32) / 1.8, 1)
        client.publish(TOPIC + "/temperature", str(celsius))
        emit(chip_c=celsius)
        time.sleep(1)
    print("published 5 readings")
    """),
    ("code", """
    %%host
    time.sleep(0.5)
    for where, message in received:
        print("the dashboard got", message, "on", where)
    """),
    ("md", """
    ## 5. Switch a light from afar

    The board subscribes to `TOPIC/led` and switches GPIO 2 on `on` and `off`. `check_msg()`
    handles what has arrived, without waiting; call it often (here, every 100 ms).
    """),
    ("code", """
    led = machine.Pin(2, machine.Pin.OUT, value=0)

    def on_message(topic, message):
        led.value(message == b"on")
        print("got", message.decode(), "-> LED", "on" if led.value() else "off")

    client.set_callback(on_message)
    client.subscribe(TOPIC + "/led")
    print("listening on", TOPIC + "/led")
    """),
    ("code", """
    %%host
    dashboard.publish(topic + "/led", "on")
    print("the dashboard sent: on")
    """),
    ("code", """
    for _ in range(30):   # up to 3 s
        client.check_msg()
        if led.value():
            break
        time.sleep_ms(100)
    print("LED on GPIO 2:", led.value())
    """),
    ("code", """
    %%host
    if emu is not None:
        print("the bench's LED on GPIO 2:", "lit" if emu.bench("leds")["leds"]["2"]["brightness"] > 0 else "dark")
    """),
    ("md", """
    ## 6. Tidy up

    Disconnect, so that the broker forgets the board at once (otherwise it waits for the
    keep-alive to run out).
    """),
    ("code", """
    client.disconnect()
    led.value(0)
    print("disconnected")
    """),
    ("code", """
    %%host
    dashboard.loop_stop()
    dashboard.disconnect()
    if emu is not None and mosquitto:
        broker.terminate()
        emu.bench("route", "test.mosquitto.org:1883")
    print("the dashboard is closed")
    """),
    ("md", """
    **Try next**: publish with `retain=True` so that a dashboard that connects later still sees
    the last reading; set a *last will* (`client.set_last_will(TOPIC + "/status", "offline")`)
    and unplug the board; use `umqtt.robust`, which reconnects by itself when the WiFi drops.
    """),
]
