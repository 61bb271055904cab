NAME = "10-logging-and-pandas.ipynb"

CELLS = [
    ("md", """
    # Lab 10: Logging data and analysing it with pandas

    **You will learn**

    - to log sensor data from a `Timer` on the board, in the background, while cells run or
      not;
    - three ways to get the data onto your computer: the live data channel (`emit` →
      `live.frame()`), a variable (`%pull`), and a file on the board (`%get`);
    - to analyse it in a `%%host` cell with **pandas**: statistics, resampling, smoothing, a
      trend — and plot it.

    **Hardware.** Lab 2's thermistor divider on **GPIO 35** (10 kΩ NTC from GPIO 35 to GND,
    10 kΩ from 3V3 to GPIO 35) and Lab 5's potentiometer on **GPIO 34**.

    **On the emulator** the panel below provides both, with sliders.
    """),
    ("code", """
    import os
    print(os.uname().machine)   # the first cell connects: to your board, or to the emulator
    """),
    ("code", """
    %bench therm:35 pot:34
    """),
    ("md", """
    ## 1. A logger on a Timer

    A hardware `Timer` calls `sample()` 20 times a second. Each call reads both channels,
    converts them to °C and volts, sends them to the notebook with `emit`, and also keeps
    them in a list on the board (the newest 200). The cell returns at once: the Timer keeps
    going in the background.
    """),
    ("code", """
    from machine import ADC, Pin, Timer
    from nb import emit
    import math, time

    therm = ADC(Pin(35), atten=ADC.ATTN_11DB)
    pot = ADC(Pin(34), atten=ADC.ATTN_11DB)

    def celsius(raw):
        r = 10000 * raw / max(1, 4095 - raw)     # the NTC's resistance, from the divider
        return 1 / (1 / 298.15 + math.log(max(r, 1) / 10000) / 3950) - 273.15

    log = []                                     # (ms since start, °C, V) on the board
    t0 = time.ticks_ms()

    def sample(timer):
        temp = celsius(therm.read())
        volts = pot.read_uv() / 1e6
        emit(temp=temp, pot=volts)
        log.append((time.ticks_diff(time.ticks_ms(), t0), round(temp, 2), round(volts, 3)))
        if len(log) > 200:
            log.pop(0)

    logger = Timer(0)
    logger.init(freq=20, callback=sample)
    print("logging at 20 Hz")
    """),
    ("md", """
    While it logs, **warm the thermistor** with your fingers and **turn the knob**. On a real
    board the next cell gives you four seconds. On the emulator it warms the bench's
    thermistor from 25 to 40 °C and turns the knob from 20 % to 90 %, step by step.
    """),
    ("code", """
    %%host
    import time
    emu = get_ipython().kernel.boards.emulator   # None on a real board
    if emu is None:
        print("Warm the thermistor and turn the knob now (4 seconds)…")
        time.sleep(4)
    else:
        for step in range(21):
            emu.bench("set_temperature", 35, 25 + 15 * step / 20)
            emu.bench("set_pot", 34, round(0.2 + 0.7 * step / 20, 3))
            time.sleep(0.15)
        time.sleep(0.5)
        print("On the emulator: the thermistor went from 25 to 40 °C, the knob from 20 to 90 %.")
    """),
    ("code", """
    logger.deinit()
    print("logger stopped;", len(log), "rows kept on the board")
    """),
    ("md", """
    ## 2. The live data as a DataFrame

    Everything `emit` sent is kept by the kernel. In a `%%host` cell, `live.frame()` returns it
    as a pandas DataFrame: the index is the time each sample was taken (by the board's own
    clock), column `t` the seconds since the first, and one column per series.
    """),
    ("code", """
    %%host
    df = live.frame("temp", "pot")
    print(len(df), "samples over %.1f s" % df.t.iloc[-1])
    df.describe().round(3)
    """),
    ("md", """
    **Resampling** puts the samples on a regular grid — here the mean of every half second.
    **Smoothing** with a rolling mean removes the ADC's jitter (on a real board there is
    some).
    """),
    ("code", """
    %%host
    half_seconds = df[["temp", "pot"]].resample("500ms").mean()
    df["temp_smooth"] = df["temp"].rolling(10, min_periods=1).mean()
    half_seconds.head(10).round(2)
    """),
    ("md", """
    **A trend.** How fast did it warm? A straight-line fit (`numpy.polyfit`) through the
    samples where the temperature was changing gives °C per second:
    """),
    ("code", """
    %%host
    import numpy as np

    rising = df[df.temp > df.temp.min() + 0.5]
    slope, intercept = np.polyfit(rising.t, rising.temp, 1)
    print("warmed by %.1f °C (%.1f → %.1f °C), about %.1f °C per second while it rose" % (
        df.temp.max() - df.temp.min(), df.temp.min(), df.temp.max(), slope))
    print("correlation of temperature and knob: %.2f" % df.temp.corr(df.pot))
    """),
    ("md", """
    The correlation is high only because we warmed and turned at the same time — a reminder
    that correlation is not cause.

    **A plot** (Bokeh, in the notebook): raw and smoothed temperature against time.
    """),
    ("code", """
    %%host
    from bokeh.io import output_notebook, show
    from bokeh.plotting import figure
    from bokeh.resources import INLINE

    output_notebook(resources=INLINE, hide_banner=True)   # BokehJS from the package: works offline
    fig = figure(height=260, sizing_mode="stretch_width", x_axis_label="seconds", y_axis_label="°C",
                 title="thermistor on GPIO 35")
    raw_line = fig.scatter(df.t, df.temp, size=3, alpha=0.4, legend_label="samples")
    fig.line(df.t, df.temp_smooth, line_width=2, color="firebrick", legend_label="rolling mean (10)")
    fig.legend.location = "top_left"
    show(fig)
    print("plotted", len(raw_line.data_source.data["x"]), "samples")
    """),
    ("md", """
    ## 3. Other ways to bring data home

    **A variable: `%pull`.** The board's `log` list (a plain Python literal) comes over as a
    host variable of the same name — handy for data you collected without `emit`:
    """),
    ("code", """
    %pull log
    """),
    ("code", """
    %%host
    import pandas as pd

    board_log = pd.DataFrame(log, columns=["ms", "temp", "pot"])
    print(len(board_log), "rows from the board's list; last temperature %.2f °C" % board_log.temp.iloc[-1])
    """),
    ("md", """
    **A file: `%get`.** A board that logs while no computer is attached writes a file to its
    flash; later you fetch it. Here we write the list as CSV and copy it into the notebook's
    folder:
    """),
    ("code", """
    with open("/log.csv", "w") as f:
        f.write("ms,temp,pot\\n")
        for row in log:
            f.write("%d,%.2f,%.3f\\n" % row)
    print("wrote /log.csv on the board,", len(log), "rows")
    """),
    ("code", """
    %get /log.csv lab10-log.csv
    """),
    ("code", """
    %%host
    from_file = pd.read_csv("lab10-log.csv")
    print(len(from_file), "rows read back from lab10-log.csv; temperature %.1f–%.1f °C" % (from_file.temp.min(), from_file.temp.max()))
    """),
    ("md", """
    **A CSV of the live data**, for a spreadsheet or a report: `live.to_csv(path)` (or
    `%plot --csv path`). Then tidy up the board's file.
    """),
    ("code", """
    %%host
    print("saved", live.to_csv("lab10-live.csv", "temp", "pot"))
    """),
    ("code", """
    %rm /log.csv
    """),
    ("md", """
    ## Your turn

    1. Log at 100 Hz instead of 20: does `live.summary()` report lost samples? How many
       rows does the kernel keep, and how many the board's list?
    2. Resample to 1 s with `.agg(["min", "mean", "max"])` and plot the band between min and max.
    3. Write a `main.py` (Lab 9) that logs the temperature to `/log.csv` once a minute, without
       the computer; come back after an hour and analyse the file.
    4. Fit the thermistor's warming with an exponential (Newton's law of cooling) instead of
       a line: what time constant do you get?
    """),
]
