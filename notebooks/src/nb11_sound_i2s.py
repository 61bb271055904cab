NAME = "11-sound-i2s.ipynb"

CELLS = [
    ("md", """
    # Lab 11: Sound — an I2S microphone and speaker

    **You will learn**

    - what **I2S** is: a three-wire bus that carries audio as a stream of samples, at a fixed
      **sample rate**, without the CPU timing each bit;
    - to record from a digital MEMS microphone and measure the sound's **level** and **pitch**;
    - to play a tone through an amplifier and speaker, and change its volume with `I2S.shift`.

    **Hardware.**

    | part | connect to | notes |
    | --- | --- | --- |
    | INMP441 microphone | SCK → **GPIO 32**, WS → **GPIO 25**, SD → **GPIO 33** | VDD 3V3, GND, L/R to GND (left channel) |
    | MAX98357A amplifier + 4–8 Ω speaker | BCLK → **GPIO 26**, LRC → **GPIO 27**, DIN → **GPIO 14** | VIN 5 V (or 3V3), GND |

    **On the emulator** the next cell puts a microphone hearing a 440 Hz tone, and a speaker,
    on the bench.
    """),
    ("code", """
    import os
    print(os.uname().machine)   # the first cell connects: to your board, or to the emulator
    """),
    ("code", """
    %%host
    emu = get_ipython().kernel.boards.emulator   # None on a real board
    if emu is None:
        print("A real board: wire the microphone and the amplifier as in the table above.")
    else:
        emu.bench("add_i2s_mic", 33, 440, 0.3)   # a 440 Hz tone (the note A) at 30 % of full scale
        emu.bench("add_i2s_speaker", 14)
        print("On the emulator: a microphone on GPIO 33 hears 440 Hz; a speaker on GPIO 14.")
    """),
    ("md", """
    ## 1. Record

    `I2S(0, …, mode=I2S.RX)` starts the clock: from then on the microphone sends `rate`
    samples a second into a buffer of `ibuf` bytes. `readinto(buf)` waits until `buf` is full
    — 1024 samples of 16 bits at 16 kHz take 64 ms.

    Each sample is a signed 16-bit number, −32768 to 32767. The **level** is the RMS (root
    mean square) as a fraction of full scale; the **pitch** comes from counting how often the
    wave crosses zero going up.
    """),
    ("code", """
    from machine import I2S, Pin
    import math, struct

    RATE = 16000
    mic = I2S(0, sck=Pin(32), ws=Pin(25), sd=Pin(33), mode=I2S.RX,
              bits=16, format=I2S.MONO, rate=RATE, ibuf=8000)
    buf = bytearray(2048)   # 1024 samples

    def listen():
        mic.readinto(buf)
        samples = struct.unpack("<1024h", buf)
        rms = math.sqrt(sum(s * s for s in samples) / len(samples)) / 32768
        ups = sum(1 for a, b in zip(samples, samples[1:]) if a < 0 <= b)
        return rms, ups * RATE / len(samples)

    level, pitch = listen()
    print("level %.2f of full scale, pitch about %d Hz" % (level, round(pitch, -1)))
    """),
    ("md", """
    **See the wave.** Plot 160 samples — 10 ms, four and a half periods of 440 Hz:
    """),
    ("code", """
    %plot sample --points 160
    from nb import emit
    mic.readinto(buf)
    for s in struct.unpack("<160h", buf[:320]):
        emit(sample=s)
    print("plotted 10 ms of sound")
    """),
    ("md", """
    A sine wave at 30 % of full scale has an RMS of 0.3 / √2 ≈ 0.21. Counting zero crossings
    over 64 ms is coarse (±16 Hz): for a better pitch, listen longer or use an FFT.

    **Change the sound**: whistle, or play a note near the microphone. On the emulator the
    next cell changes the bench's tone to 1000 Hz, louder.
    """),
    ("code", """
    %%host
    if emu is None:
        print("Whistle at the microphone while the next cell runs.")
    else:
        emu.bench("add_i2s_mic", 33, 1000, 0.6)
        print("On the emulator: the microphone now hears 1000 Hz at 60 %.")
    """),
    ("code", """
    level, pitch = listen()
    print("level %.2f of full scale, pitch about %d Hz" % (level, round(pitch, -1)))
    """),
    ("md", """
    ## 2. A sound meter, live

    `emit` sends each measurement to the notebook; `%plot` draws it as it comes (Lab 2).
    Twenty readings take a little over a second.
    """),
    ("code", """
    %plot level --points 20
    for _ in range(20):
        level, pitch = listen()
        emit(level=level)
    mic.deinit()
    print("done listening")
    """),
    ("md", """
    ## 3. Play a tone

    A speaker plays whatever samples arrive at `rate` per second. One period of a 500 Hz tone
    at 16 kHz is 32 samples; writing that period 500 times plays one second. `write` returns
    as soon as its samples fit in the `ibuf` buffer, so the loop keeps pace with the speaker.
    """),
    ("code", """
    speaker = I2S(1, sck=Pin(26), ws=Pin(27), sd=Pin(14), mode=I2S.TX,
                  bits=16, format=I2S.MONO, rate=RATE, ibuf=4000)
    period = struct.pack("<32h", *[int(12000 * math.sin(2 * math.pi * i / 32)) for i in range(32)])
    for _ in range(500):
        speaker.write(period)
    print("played 1 s of 500 Hz")
    """),
    ("code", """
    %%host
    if emu is None:
        print("A real board: you heard a one-second beep.")
    else:
        heard = emu.bench("i2s_played", 14)
        print("the speaker played %.1f s, %d Hz, level %.2f" % (heard["seconds"], heard["hz"], heard["rms"]))
    """),
    ("md", """
    **Volume.** `I2S.shift(buf=…, bits=16, shift=-1)` divides every sample by 2 (−6 dB);
    `shift=1` doubles them (+6 dB, until they clip). It changes the buffer in place.
    """),
    ("code", """
    quiet = bytearray(period)
    I2S.shift(buf=quiet, bits=16, shift=-2)   # a quarter of the amplitude: -12 dB
    for _ in range(500):
        speaker.write(quiet)
    speaker.deinit()
    print("played 1 s, quieter")
    """),
    ("code", """
    %%host
    if emu is not None:
        heard = emu.bench("i2s_played", 14)
        print("the speaker's last second: %d Hz, level %.2f" % (heard["hz"], heard["rms"]))
    """),
    ("md", """
    **Try next**: make a tuner (print the pitch of what the microphone hears, and the nearest
    note); make the speaker play a melody (one period list per note); or record a second of
    sound to a file on the board and play it back.
    """),
]
