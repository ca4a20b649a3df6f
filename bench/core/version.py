"""The release: owned by the foundation, so every layer can name it without importing the package's face.

`__version__` is the one place the version is written: pyproject.toml reads it ([tool.setuptools.dynamic]), so the
installed package's metadata, `bench --version` and every record's `bench_version` say the same. A release adds its
line to CHANGELOG.md.
"""

import functools
import subprocess
from pathlib import Path

__version__ = "0.2.0"


@functools.lru_cache(maxsize=1)
def git_commit() -> str | None:
    """The project's commit when bench runs from a checkout (the folder holding bench/ is the top of a git work
    tree); None when installed, even into a virtual environment that lies inside some other checkout."""
    root = Path(__file__).resolve().parents[2]
    try:
        top = _git(root, "rev-parse", "--show-toplevel").stdout.strip()
        if not top or Path(top).resolve() != root:
            return None
        commit = _git(root, "rev-parse", "HEAD").stdout.strip()
        dirty = _git(root, "status", "--porcelain", "--untracked-files=no").stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}-dirty" if dirty else commit


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=5, check=True)
