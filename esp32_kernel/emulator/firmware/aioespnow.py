"""aioespnow as v1.24's ESP32 firmware freezes it (from micropython-lib): ESPNow for asyncio.
A task awaiting a frame sleeps until one arrives (the driver is a stream asyncio polls)."""

import asyncio

import espnow


class AIOESPNow(espnow.ESPNow):
    async def airecv(self):
        """The next frame as irecv() gives it (its buffers are reused), waiting as long as it takes."""
        while not self.any():
            yield asyncio.core._io_queue.queue_read(self)
        return self.irecv(0)

    async def arecv(self):
        """The next frame as recv() gives it ([mac, message], new bytes)."""
        while not self.any():
            yield asyncio.core._io_queue.queue_read(self)
        return self.recv(0)

    async def asend(self, mac, msg=None, sync=None):
        """send(), for a task: asend(msg) to every peer, or asend(mac, msg[, sync])."""
        if msg is None:
            return self.send(mac)
        return self.send(mac, msg, True if sync is None else sync)

    def __aiter__(self):
        return self

    async def __anext__(self):
        return await self.airecv()
