"""What pyproject.toml cannot say: one .pth file the install puts into site-packages beside the packages, and the
iOS app's sources, which a Mac run builds (devices/ios_tools.py), copied into the wheel as devices/ios_app/.

The .pth file:

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

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PTH_NAME = "mobile_latency_bench-tensorflow-rtld-local.pth"
PTH_TEXT = """\
# mobile-latency-bench (setup.py): load TensorFlow with RTLD_LOCAL, so that its LLVM does not take the place of
# triton's (tensorflow/tensorflow#124205); the same as TensorFlow's own fix, which drops this module from its wheels.
import sys; sys.modules.setdefault("tensorflow.python.pywrap_dlopen_global_flags", None)
"""

# What `xcodegen generate --spec project.yml` and xcodebuild read; not the Linux-only typecheck/ and scripts/, nor
# what a build leaves (BenchCore/.build, the generated BenchApp.xcodeproj). MANIFEST.in puts the same in the sdist.
IOS_APP = Path(__file__).resolve().parent / "ios_app"
IOS_APP_PARTS = ("project.yml", "README.md", "BenchApp", "BenchCore/Package.swift", "BenchCore/Sources",
                 "BenchCore/Tests")


def copy_ios_app(package_dir: Path) -> None:
    """ios_app/'s build inputs -> package_dir/ios_app (the wheel's devices/ios_app)."""
    target = package_dir / "ios_app"
    shutil.rmtree(target, ignore_errors=True)
    for part in IOS_APP_PARTS:
        source, dest = IOS_APP / part, target / part
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, dest, ignore=shutil.ignore_patterns(".build", "*.xcodeproj", ".DS_Store"))
        else:
            shutil.copy2(source, dest)


class build_py_with_pth(build_py):
    """Writes PTH_NAME at the top of the wheel, which is site-packages once installed. An editable install keeps
    only its own path hook from build_lib, so there the file goes to the editable wheel's root (install_lib).
    A wheel also gets the iOS app's sources (copy_ios_app)."""

    def run(self):
        super().run()
        top = self.build_lib
        editable = getattr(self, "editable_mode", False)
        if editable:
            top = self.get_finalized_command("install").install_lib
        Path(top).mkdir(parents=True, exist_ok=True)
        Path(top, PTH_NAME).write_text(PTH_TEXT)
        if not editable and IOS_APP.is_dir():  # an editable install reads the checkout's ios_app/ itself
            copy_ios_app(Path(self.build_lib) / "devices")


setup(cmdclass={"build_py": build_py_with_pth})
