"""jupyter_kernel_test's protocol conformance checks, against the kernel on its emulator."""

import os
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import jupyter_kernel_test

from kernel_harness import isolated_env


class ESP32KernelConformance(jupyter_kernel_test.KernelTests):
    kernel_name = "esp32"
    language_name = "python"
    file_extension = ".py"

    code_hello_world = "print('hello, world')"
    code_execute_result = [{"code": "6 * 7", "result": "42"}, {"code": "'a' + 'b'", "result": "'ab'"}]
    # Host cells: stderr and rich display belong to the kernel's Python.
    code_stderr = "%%host\nimport sys\nprint('oops', file=sys.stderr)"
    code_display_data = [{"code": "%%host\nfrom IPython.display import HTML, display\ndisplay(HTML('<b>x</b>'))", "mime": "text/html"}]
    code_generate_error = "raise ValueError('on the board')"
    complete_code_samples = ["1 + 1", "for i in range(3):\n    print(i)\n"]
    incomplete_code_samples = ["for i in range(3):", "def f(x):"]
    code_history_pattern = "6 ?*"  # matches "6 * 7" above
    supported_history_operations = ("tail", "search")  # "range" numbers sessions as IPython does

    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory()
        with mock.patch.dict(os.environ, isolated_env(Path(cls._tmp.name)), clear=True):
            super().setUpClass()
        # The first cell carries the one-line "using the emulator" notice; the checks
        # expect exactly their own output.
        cls.kc.execute_interactive("pass", timeout=60)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls._tmp.cleanup()


if __name__ == "__main__":
    unittest.main()
