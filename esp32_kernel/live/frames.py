"""Splitting the board's output into text and framed records, wherever frames appear.

A frame is ``\\x1e`` KIND payload ``\\x1f``: KIND is one ASCII letter (``R`` the repr of a
cell's last expression; more kinds carry live data), the payload has neither delimiter nor a
newline (a ``\\x1e`` followed by a newline before any ``\\x1f`` was never a frame).
Frames may be split across reads; text around them is decoded as UTF-8 (a character split
across reads is kept whole) and the board's ``\\r\\n`` line ends become ``\\n``.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

START, END = b"\x1e", b"\x1f"
DATA_KIND = "D"  # live data records (records.py); "R" is a cell's last value
MAX_FRAME = 64 * 1024  # a "frame" longer than this was never one: show it as text


@dataclass(frozen=True)
class Frame:
    kind: str
    payload: bytes


def result_text(frame: Frame) -> str:
    """The repr an ``R`` frame carries (its newlines travel as \\x1d: frames hold none)."""
    return frame.payload.decode(errors="replace").replace("\x1d", "\n")


class OutputDemux:
    """Feed it output bytes; get back text strings and Frames, in order."""

    def __init__(self) -> None:
        self._frame: bytearray | None = None  # inside a frame
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._cr_pending = False

    def feed(self, data: bytes) -> list[str | Frame]:
        out: list[str | Frame] = []
        while data:
            if self._frame is None:
                at = data.find(START)
                self._text(out, data if at < 0 else data[:at])
                if at < 0:
                    break
                self._frame = bytearray()
                data = data[at + 1 :]
            else:
                at = data.find(END)
                newline = data.find(b"\n", 0, at if at >= 0 else len(data))
                if newline >= 0:
                    # Frames hold no newline: that \x1e was line noise or binary output,
                    # not a frame. Show it as text rather than swallow what follows.
                    self._text(out, START + bytes(self._frame) + data[: newline + 1])
                    self._frame = None
                    data = data[newline + 1 :]
                    continue
                self._frame += data if at < 0 else data[:at]
                if at < 0:
                    if len(self._frame) > MAX_FRAME:
                        self._text(out, START + bytes(self._frame))
                        self._frame = None
                    break
                if self._frame:
                    out.append(Frame(chr(self._frame[0]), bytes(self._frame[1:])))
                self._frame = None
                data = data[at + 1 :]
        return _merge_text(out)

    def flush(self) -> list[str | Frame]:
        """End of stream: whatever is held back comes out as text."""
        out: list[str | Frame] = []
        if self._frame is not None:
            self._text(out, START + bytes(self._frame))
            self._frame = None
        tail = self._decoder.decode(b"", final=True) + ("\r" if self._cr_pending else "")
        self._cr_pending = False
        if tail:
            out.append(tail)
        return _merge_text(out)

    def _text(self, out: list[str | Frame], data: bytes) -> None:
        text = self._decoder.decode(data)
        if self._cr_pending:
            text, self._cr_pending = "\r" + text, False
        if text.endswith("\r"):  # maybe the first half of a \r\n
            text, self._cr_pending = text[:-1], True
        if text:
            out.append(text.replace("\r\n", "\n"))


def _merge_text(items: list[str | Frame]) -> list[str | Frame]:
    merged: list[str | Frame] = []
    for item in items:
        if isinstance(item, str) and merged and isinstance(merged[-1], str):
            merged[-1] += item
        else:
            merged.append(item)
    return merged
