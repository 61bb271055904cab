"""The kernel's stdout and stderr: ipykernel's streams, flushed only when written to.

ipykernel flushes both streams twice around every reply (and our result once more); each
flush is a round trip through its IOPub thread, about 0.1 ms, almost always with nothing to
send: half a millisecond of every short cell. A flush here returns at once when nothing was
written since the last one began; whatever was written is flushed as ipykernel flushes it.
"""

from __future__ import annotations

from ipykernel import iostream


class OutStream(iostream.OutStream):
    _written = False  # something was written since the last flush began

    def write(self, string: str) -> int | None:  # type: ignore[override]
        self._written = True  # before the text is buffered: a flush called after this returns sends it
        return super().write(string)

    def flush(self) -> None:
        if not self._written:
            return
        self._written = False
        super().flush()
