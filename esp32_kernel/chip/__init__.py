"""What the kernel and the emulator both know about the chip: its GPIO numbers, board
profiles (labels ↔ GPIO numbers, flash size), the partition table, and the ESP image format.
Pure Python with no platform-specific imports, so the kernel can use it on every OS."""
