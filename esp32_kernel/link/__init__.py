"""Links to boards: the I/O-free raw REPL core, pyserial-URL links and port discovery."""
