"""Plain printed lines as data: the Arduino serial-plotter form and bare numbers.

``temp:21.5,hum:40`` → {"temp": 21.5, "hum": 40.0}; ``1.5 2.5`` → {"value 1": 1.5,
"value 2": 2.5}. Fields are separated by commas, spaces or tabs (several in a row count as
one); a field is ``label:number`` or a bare number (``label: number`` too). A line with any other field is text, not
data. Lines are whole only once their newline has arrived: `LineSplitter` holds the rest.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[,\s]+")
_LABEL_SPACE = re.compile(r":[ \t]+")  # "temp: 21.5" is "temp:21.5"
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|inf)\Z", re.IGNORECASE)
MAX_LINE = 4096  # longer "lines" are text: don't hold them back forever


def parse_line(line: str) -> dict[str, float] | None:
    """The values in one line, or None if the line is not data."""
    fields = [f for f in _SEPARATORS.split(_LABEL_SPACE.sub(":", line.strip())) if f]
    if not fields:
        return None
    values: dict[str, float] = {}
    bare = 0
    for f in fields:
        label, colon, number = f.rpartition(":")
        if not colon:
            number = f
        if not _NUMBER.match(number) or (colon and not label):
            return None
        if colon:
            values[label] = float(number)
        else:
            bare += 1
            values[f"value {bare}"] = float(number)
    return values


class LineSplitter:
    """Feed it text pieces as they arrive; get back the whole lines (without their ends)."""

    def __init__(self) -> None:
        self._pending = ""

    def feed(self, text: str) -> list[str]:
        text = self._pending + text
        # a \r at the very end may be half of \r\n: it waits in _pending for the next piece
        *lines, self._pending = re.split(r"\r?\n|\r(?!\Z)", text)
        if len(self._pending) > MAX_LINE:
            self._pending = ""
        return lines

    def reset(self) -> None:
        self._pending = ""
