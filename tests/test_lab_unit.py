"""The lab extension's front-end unit tests (vitest, in labextension/), run by pytest so that
`make test` runs them too. `pip install -e .` has installed labextension/node_modules."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

LABEXTENSION = Path(__file__).resolve().parent.parent / "labextension"
VITEST = LABEXTENSION / "node_modules" / ".bin" / "vitest"


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is missing (apt-get install -y nodejs)")
def test_front_end_unit_tests_pass():
    if not VITEST.exists():
        pytest.skip("labextension/node_modules is missing: run `pip install -e .` (or `jlpm install` in labextension/)")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", "CI": "true"}
    result = subprocess.run(
        [str(Path(sys.executable).with_name("jlpm")), "test"],
        cwd=LABEXTENSION, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert result.returncode == 0, f"jlpm test failed:\n{result.stdout}\n{result.stderr}"
    assert " passed" in result.stdout, result.stdout
