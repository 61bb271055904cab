"""Links to boards: the I/O-free raw REPL core, pyserial-URL links and port discovery."""

import serial

# pyserial opens webserial:// URLs with this package's protocol_webserial (a port in the browser).
if __name__ not in serial.protocol_handler_packages:
    serial.protocol_handler_packages.append(__name__)
