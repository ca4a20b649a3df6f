"""The installed environment: coremltools, tensorflow and torch import in any order, each in a fresh interpreter.

TensorFlow 2.20/2.21 wheels load their native library with RTLD_GLOBAL, and a triton loaded after it (torch's
compiler; coremltools imports tensorflow and torch) bound to TensorFlow's LLVM and died with SIGSEGV
(tensorflow/tensorflow#124205). The install puts a .pth file into site-packages that makes TensorFlow load with
RTLD_LOCAL (setup.py says how and why). Every order runs in its own subprocess, so a crash is a failed test, not a
dead test run; each package that is not installed skips the orders that need it.
"""

import importlib.util
import itertools
import subprocess
import sys
import sysconfig
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

PACKAGES = ("coremltools", "tensorflow", "torch")
# A small use of each after its import, so a half-loaded library fails here too.
USE = {
    "coremltools": "import coremltools.converters.mil as mil; assert coremltools.__version__",
    "tensorflow": "assert int(tensorflow.function(lambda x: x + 1)(tensorflow.constant(1))) == 2",
    "torch": "assert float((torch.ones(2, 2) @ torch.ones(2, 2)).sum()) == 8.0",
}
# The six orders, coremltools alone (it imports the other two), and the clash itself.
ORDERS = [*itertools.permutations(PACKAGES), ("coremltools",), ("tensorflow", "triton")]
PTH = "mobile_latency_bench-tensorflow-rtld-local.pth"


def installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def script(order) -> str:
    lines = []
    for name in order:
        lines += [f"import {name}", USE.get(name, "")]
    return "\n".join(lines + ["print('ok')"])


@pytest.fixture(scope="module")
def outcomes():
    """Every order that can run here, three interpreters at a time (each one loads GBs of libraries)."""
    runnable = [order for order in ORDERS if all(installed(name) for name in order)]

    def run(order):
        return order, subprocess.run([sys.executable, "-c", script(order)], capture_output=True, text=True,
                                     timeout=900, cwd=Path(__file__).parent)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(pool.map(run, runnable))


@pytest.mark.parametrize("order", ORDERS, ids=["-".join(order) for order in ORDERS])
def test_imports_in_this_order_work(order, outcomes):
    missing = [name for name in order if not installed(name)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")
    done = outcomes[order]
    died = f"killed by signal {-done.returncode}" if done.returncode < 0 else f"exit {done.returncode}"
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), (
        f"`import {'; import '.join(order)}`: {died}\n{done.stderr[-3000:]}")


def test_the_install_put_the_tensorflow_fix_into_site_packages():
    """The mechanism itself, where the tests run: installed by `pip install [-e] .` (setup.py), not by hand."""
    if not installed("tensorflow"):
        pytest.skip("tensorflow not installed")
    pth = Path(sysconfig.get_paths()["purelib"], PTH)
    assert pth.exists(), f"{pth} is missing: reinstall the package (`.venv/bin/pip install -e . --no-deps`)"
    probe = "import sys; print(sys.modules.get('tensorflow.python.pywrap_dlopen_global_flags', 'absent'))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "None", out.stderr
