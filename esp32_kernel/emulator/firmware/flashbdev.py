"""flashbdev, the board's frozen module: `bdev`, the flash's `vfs` partition as a block device
(what / is mounted from; writing it under the mounted file system corrupts it, as on a board)."""

from esp32 import Partition

bdev = Partition.find(Partition.TYPE_DATA, label="vfs")
bdev = bdev[0] if bdev else None
