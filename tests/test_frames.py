"""The output demux: frames out of the board's byte stream wherever they fall."""

from hypothesis import given, settings
from hypothesis import strategies as st

from esp32_kernel.live.frames import MAX_FRAME, Frame, OutputDemux


def run(*chunks: bytes) -> list:
    demux = OutputDemux()
    out = [piece for chunk in chunks for piece in demux.feed(chunk)] + demux.flush()
    merged: list = []
    for piece in out:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        else:
            merged.append(piece)
    return merged


def test_text_frames_and_line_ends():
    assert run(b"a\r\nb\x1eRvalue\x1fc\r\n") == ["a\nb", Frame("R", b"value"), "c\n"]


def test_split_everywhere_gives_the_same_result():
    stream = "t\u00e9mp\r\n\x1eR[1, 2]\x1f\r\nmore\x1eDx\x1f".encode()
    whole = run(stream)
    for cut in range(len(stream) + 1):
        assert run(stream[:cut], stream[cut:]) == whole
    assert run(*[stream[i : i + 1] for i in range(len(stream))]) == whole


def test_unterminated_frame_is_shown_as_text_at_the_end_or_when_too_long():
    assert run(b"x\x1eRabc") == ["x\x1eRabc"]
    long = b"\x1eR" + b"y" * (MAX_FRAME + 10)
    (text,) = run(long, b"z")
    assert text.startswith("\x1eR") and text.endswith("z")


def test_lone_carriage_return_survives():
    assert run(b"50%\r", b"60%\r", b"done\r\n") == ["50%\r60%\rdone\n"]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.binary(max_size=300), st.lists(st.integers(0, 300), max_size=8))
def test_any_bytes_any_split_never_crash_and_split_does_not_matter(data, cuts):
    points = sorted({min(c, len(data)) for c in cuts})
    chunks = [data[a:b] for a, b in zip([0, *points], [*points, len(data)])]
    assert run(*chunks) == run(data)


def test_a_stray_frame_start_does_not_swallow_the_lines_after_it():
    assert run(b"noise\x1e\x02\r\nnext line\r\n\x1eRok\x1f") == ["noise\x1e\x02\nnext line\n", Frame("R", b"ok")]
    assert run(b"a\x1e", b"b\r", b"\nc\n") == ["a\x1eb\nc\n"]
