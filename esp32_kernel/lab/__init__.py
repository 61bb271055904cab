"""The kernel's side of the JupyterLab extension: the comm the panel and status bar talk
through (comm.py) and the pin view it shows (pins.py)."""

from .comm import TARGET, LabComm, list_ports

__all__ = ["TARGET", "LabComm", "list_ports"]
