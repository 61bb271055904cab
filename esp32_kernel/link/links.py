"""The link for a port string: WebREPL for ws:// and wss:// URLs, pyserial for the rest."""

from __future__ import annotations

from collections.abc import Callable

from .serial_link import SerialLink
from .webrepl_link import Secret, WebReplLink, is_webrepl_url


def open_link(
    port: str,
    baud: int,
    password: Secret | None,
    *,
    on_data: Callable[[bytes], None],
    on_lost: Callable[[str], None],
) -> SerialLink | WebReplLink:
    """Open the link to `port`; raise LinkError (PasswordRefused, PasswordNeeded) with advice."""
    if is_webrepl_url(port):
        return WebReplLink(port, password, on_data=on_data, on_lost=on_lost)
    return SerialLink(port, baud, on_data=on_data, on_lost=on_lost)
