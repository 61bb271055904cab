"""urequests, the board's frozen module: the old name of `requests`, kept for older code."""

from requests import *  # noqa: F403
