"""Downloads compressed on the board (esp32_kernel/files.py, device/files_agent.py) and the
emulator's deflate compressor (emulator/firmware/_esp32_deflate.py), against the emulator."""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import pytest

from esp32_kernel.board import Board, DeviceError
from esp32_kernel.chip.board_profile import write_variant
from esp32_kernel.emulator.process import launch
from esp32_kernel.files import BoardFiles, FileError

SOURCE = b"".join(p.read_bytes() for p in sorted((Path(__file__).parent.parent / "esp32_kernel").glob("*.py")))


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    # Stock v1.24 ESP32 firmware cannot compress; this board's firmware is built to.
    folder = tmp_path_factory.mktemp("board")
    profile = write_variant(folder / "esp32-deflate.json", deflate_compress=True)
    with launch(board_dir=folder / "flash", board=str(profile)) as emu:
        yield emu


@pytest.fixture
def files(board):
    return BoardFiles(board)


def test_text_downloads_compressed_and_intact(files):
    text = SOURCE[:20 * 1024]
    files.put_bytes(text, "/source.py")
    assert files.caps()["deflate"]
    assert files.get_bytes("/source.py") == text
    done = files.last_download
    assert done.compressed and done.size == len(text)
    assert done.wire < len(text) / 2  # on the wire: under half the file


def test_random_bytes_go_as_they_are_and_round_trip(files):
    noise = os.urandom(20 * 1024) + b"\x10\x03\x04:"
    files.put_bytes(noise, "/noise.bin")
    assert files.get_bytes("/noise.bin") == noise
    assert not files.last_download.compressed
    assert files.last_download.wire < len(noise) * 1.02


def test_small_and_empty_files(files):
    for data in (b"", b"x", b"abc" * 50, b"\x10\x03" * 200):
        files.put_bytes(data, "/small.bin", skip_same=False)
        assert files.get_bytes("/small.bin") == data


def test_compression_can_be_turned_off(files):
    text = SOURCE[:8000]
    files.put_bytes(text, "/off.py")
    assert files.get_bytes("/off.py", compress=False) == text
    assert not files.last_download.compressed and files.last_download.wire >= len(text)


def test_a_stock_board_whose_deflate_cannot_compress_gets_plain_downloads(tmp_path):
    with launch(board_dir=tmp_path) as stock:  # the default profile: stock v1.24 firmware
        board = Board(stock.url)
        board.connect()
        try:
            assert board.eval("hasattr(__import__('deflate').DeflateIO, 'write')") is False
            files = BoardFiles(board)
            text = SOURCE[:6000]
            files.put_bytes(text, "/plain.py")
            assert files.caps() == {"inflate": True, "deflate": False, "sha256": True}
            assert files.get_bytes("/plain.py") == text
            assert not files.last_download.compressed
        finally:
            board.close()


def test_output_mixed_into_a_compressed_download_is_detected(board, files):
    files.put_bytes(SOURCE[:6000], "/noisy.py")
    board.exec("import builtins\n_open = open\ndef noisy(*a):\n    print('noise')\n    return _open(*a)\nbuiltins.open = noisy")
    try:
        with pytest.raises(FileError, match="corrupted"):
            files.get_bytes("/noisy.py")
    finally:
        board.exec("builtins.open = _open")
    assert files.get_bytes("/noisy.py") == SOURCE[:6000]


# The emulator's compressor ------------------------------------------------------------

def compress_on_board(board: Board, data: bytes, fmt: str, wbits: int, chunk: int) -> bytes:
    """`data` through deflate.DeflateIO(..., fmt, wbits).write() on the board, `chunk` bytes a write."""
    board.exec(f"import deflate, io, binascii\nsrc = binascii.a2b_base64({__import__('base64').b64encode(data)!r})")
    code = (f"out = io.BytesIO()\nz = deflate.DeflateIO(out, deflate.{fmt}, {wbits})\n"
            f"for i in range(0, len(src), {chunk}):\n    z.write(src[i:i + {chunk}])\nz.close()\n"
            "print(binascii.hexlify(out.getvalue()).decode())")
    return bytes.fromhex(board.exec(code).strip())


@pytest.mark.parametrize("wbits, chunk", [(8, 1024), (11, 500), (5, 64)])
def test_the_compressor_emits_what_micropythons_does(board, wbits, chunk):
    data = SOURCE[:3000] + b"a" * 700 + bytes(range(256))
    packed = compress_on_board(board, data, "RAW", wbits, chunk)
    assert zlib.decompress(packed, -15) == data
    assert packed == reference_deflate(data, wbits, chunk)


def test_zlib_and_gzip_streams_and_reading_back(board):
    data = SOURCE[:2000]
    assert zlib.decompress(compress_on_board(board, data, "ZLIB", 9, 256)) == data
    assert gzip.decompress(compress_on_board(board, data, "GZIP", 10, 256)) == data
    # reading still works as the built-in module's does
    packer = zlib.compressobj(9, zlib.DEFLATED, 9)  # a small window: the board's RAM
    packed = packer.compress(b"read me back" * 20) + packer.flush()
    code = f"import deflate, io\nprint(deflate.DeflateIO(io.BytesIO({packed!r}), deflate.ZLIB).read() == {b'read me back' * 20!r})"
    assert board.exec(code).strip() == "True"
    # a stream as the built-in is: json.dump writes through it
    code = ("import deflate, io, json, binascii\nout = io.BytesIO()\nz = deflate.DeflateIO(out, deflate.RAW, 8)\n"
            "json.dump({'pins': [2, 4, 5]}, z)\nz.close()\nprint(binascii.hexlify(out.getvalue()).decode())")
    assert zlib.decompress(bytes.fromhex(board.exec(code).strip()), -15) == b'{"pins": [2, 4, 5]}'
    with pytest.raises(DeviceError, match="wbits"):
        board.exec("import deflate, io\ndeflate.DeflateIO(io.BytesIO(), deflate.RAW, 4)")


def reference_deflate(data: bytes, wbits: int, chunk: int) -> bytes:
    """MicroPython's compressor (lib/uzlib/lz77.c and defl_static.c) transcribed as it is:
    a byte-by-byte search of the whole history for the longest match (the oldest of equals)."""
    out = bytearray()
    acc = [0, 0]  # bits, count

    def put(bits: int, count: int) -> None:
        acc[0] |= bits << acc[1]
        acc[1] += count
        while acc[1] >= 8:
            out.append(acc[0] & 0xFF)
            acc[0] >>= 8
            acc[1] -= 8

    def mirror(b: int) -> int:
        return int(f"{b:08b}"[::-1], 2)

    def log2(x: int) -> int:
        return x.bit_length() - 1 if x else 0

    def match(distance: int, length: int) -> None:
        distance -= 1
        while length > 0:
            this = 258 if length > 260 else length if length <= 258 else length - 3
            length -= this
            this -= 3
            lcode, x = 28, log2(this)
            if this < 255:
                if x:
                    x -= 1
                lcode = x * 4 + ((this >> (x - 1 if x else 0)) & 3)
            put(mirror((lcode + 1) * 2), 7) if lcode <= 22 else put(mirror(lcode + 169), 8)
            if this < 255 and x > 1:
                put(this - ((this >> (x - 1)) << (x - 1)), x - 1)
            x = log2(distance)
            put(mirror((x * 2 + ((distance >> (x - 1 if x else 0)) & 1)) * 8), 5)
            if x > 1:
                put(distance - ((distance >> (x - 1)) << (x - 1)), x - 1)

    window = 1 << wbits
    history = b""
    put(3, 3)
    for at in range(0, len(data), chunk):
        src = data[at : at + chunk]
        i = 0
        while i < len(src):
            both = history + src[i:]
            best, offset = 0, 0
            for start in range(len(history)):
                n = 0
                while n <= 258 and n < len(src) - i and both[start + n] == src[i + n]:
                    n += 1
                if n >= 3 and n > best:
                    best, offset = n, len(history) - start
            if best:
                match(offset, best)
            else:
                c = src[i]
                put(mirror(0x30 + c), 8) if c <= 143 else put(1 + 2 * mirror(0x90 - 144 + c), 9)
                best = 1
            history = (history + src[i : i + best])[-window:]
            i += best
    put(0, 14)
    return bytes(out)
