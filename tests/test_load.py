"""A class of thirty on one machine: thirty kernels, each with its own emulated board,
streaming at once. None may stall or lose a line. (Figures: bench/bench_load.py.)"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from bench_load import run_class  # noqa: E402


def test_thirty_kernels_stream_at_once(tmp_path):
    result = run_class(kernels=30, seconds=3, tmp=tmp_path)
    assert result["complete"] == 30, result
    assert result["idle_cpu_share"] < 0.5, result  # idle boards do not spin
