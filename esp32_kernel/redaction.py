"""Passwords out of the kernel's log.

ipykernel's debug log prints every incoming message's content; a password widget's update
(the %wifi form, or any ipywidgets.Password of the user's) carries what was typed, before
any handler of ours sees it. A filter on the kernel's logger blanks those values, and any
password the kernel holds (a WebREPL's, registered by `remember`), in every record.
"""

from __future__ import annotations

import logging
import threading

REDACTED = "***"
_known: set[str] = set()
_known_lock = threading.Lock()
_MIN_LENGTH = 3  # shorter "passwords" would blank ordinary words


def remember(secret: str) -> None:
    """A password the log must never show."""
    if len(secret) >= _MIN_LENGTH:
        with _known_lock:
            _known.add(secret)


def _password_comms() -> set[str]:
    try:
        from ipywidgets import Password, Widget
    except ImportError:
        return set()
    return {comm_id for comm_id, widget in list(Widget.widgets.items()) if isinstance(widget, Password)}


def _blank_passwords(value, comms: set[str], depth: int = 0):
    """`value` with password widgets' typed values blanked (a copy where anything changed)."""
    if depth > 6:
        return value
    if isinstance(value, dict):
        if value.get("comm_id") in comms and isinstance(value.get("data"), dict):
            state = value["data"].get("state")
            if isinstance(state, dict) and "value" in state:
                return {**value, "data": {**value["data"], "state": {**state, "value": REDACTED}}}
        changed = {k: _blank_passwords(v, comms, depth + 1) for k, v in value.items()}
        return changed if any(changed[k] is not value[k] for k in value) else value
    if isinstance(value, (list, tuple)):
        changed = [_blank_passwords(v, comms, depth + 1) for v in value]
        return type(value)(changed) if any(a is not b for a, b in zip(changed, value)) else value
    return value


class SecretRedactor(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        comms = _password_comms()
        if comms and record.args:
            record.args = _blank_passwords(record.args, comms)
        with _known_lock:
            known = list(_known)
        if known:
            text = record.getMessage()
            for secret in known:
                text = text.replace(secret, REDACTED)
            record.msg, record.args = text, ()
        return True


def install(logger: logging.Logger | logging.LoggerAdapter) -> None:
    """Redact the records `logger`'s handlers write (child loggers' included), or, without
    handlers, the logger's own.

    On the handlers, not the logger: the kernel's logger passes every debug record to its
    handler, which drops them unless the kernel runs with --debug; filtering them first cost
    a tenth of a millisecond per cell."""
    logger = getattr(logger, "logger", logger)
    redactor = SecretRedactor()
    for handler in logger.handlers or [logger]:
        handler.addFilter(redactor)
