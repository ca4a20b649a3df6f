"""What pyproject.toml cannot say: one .pth file the install puts into site-packages beside the packages.

TensorFlow 2.20 and 2.21 wheels load their native library with RTLD_GLOBAL (they ship
tensorflow/python/pywrap_dlopen_global_flags.py), which puts TensorFlow's statically linked LLVM into the process's
global symbol table. triton >= 3.7 (torch's compiler, torch 2.14 requires triton 3.8) exports its own, different
LLVM, so a `triton` loaded after `tensorflow` binds to TensorFlow's copy and crashes in its static initialisers
(SIGSEGV in llvm::DebugCounter; tensorflow/tensorflow#124205). coremltools imports both, so in the `.[all]`
environment `import coremltools` alone crashed. TensorFlow's fix (PR #124230) drops that module from the wheels
that link libtensorflow_framework.so.2 as a shared object, as these do; the .pth line below gives the same result:
`pywrap_tensorflow` then finds no such module and loads TensorFlow with RTLD_LOCAL, its default.
tests/test_environment.py imports coremltools, tensorflow and torch in every order in subprocesses.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PTH_NAME = "mobile_latency_bench-tensorflow-rtld-local.pth"
PTH_TEXT = """\
# mobile-latency-bench (setup.py): load TensorFlow with RTLD_LOCAL, so that its LLVM does not take the place of
# triton's (tensorflow/tensorflow#124205); the same as TensorFlow's own fix, which drops this module from its wheels.
import sys; sys.modules.setdefault("tensorflow.python.pywrap_dlopen_global_flags", None)
"""


class build_py_with_pth(build_py):
    """Writes PTH_NAME at the top of the wheel, which is site-packages once installed. An editable install keeps
    only its own path hook from build_lib, so there the file goes to the editable wheel's root (install_lib)."""

    def run(self):
        super().run()
        top = self.build_lib
        if getattr(self, "editable_mode", False):
            top = self.get_finalized_command("install").install_lib
        Path(top).mkdir(parents=True, exist_ok=True)
        Path(top, PTH_NAME).write_text(PTH_TEXT)


setup(cmdclass={"build_py": build_py_with_pth})
