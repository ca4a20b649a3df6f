"""A folder is a layer: the graph of folders (bench/pipeline -> bench/artifact, ...), built from every import in
every module, those inside functions included, has no cycle. import-linter's contract (tests/test_remodel.py) checks
the order of the layers it names; this checks that the tree itself, folder by folder, can be read top to bottom."""

import ast
import textwrap
from pathlib import Path

from tests.conftest import REPO

PACKAGES = ("bench", "devices", "exporters")


def _imported(node: ast.AST, module: str) -> list[str]:
    """The dotted names an import statement may load: the module, and each name under it (which may be a module)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:  # relative: from the importing module's package upwards
        base = module.split(".")[:-node.level]
        name = ".".join(base + ([node.module] if node.module else []))
    else:
        name = node.module or ""
    return [name] + [f"{name}.{alias.name}" for alias in node.names]


def _folder_of(name: str, root: Path) -> str | None:
    """The folder holding the module `name` names (a package is its own folder), or None outside the packages or for
    a name that is no module (a function imported from one)."""
    parts = name.split(".")
    if parts[0] not in PACKAGES:
        return None
    path = root.joinpath(*parts)
    if path.is_dir():
        return "/".join(parts)
    if path.with_suffix(".py").is_file():
        return "/".join(parts[:-1])
    return None


def folder_graph(root: Path) -> dict[str, set[str]]:
    """folder -> the other folders its modules import, reading every import statement wherever it stands."""
    graph: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            rel = path.relative_to(root)
            folder = "/".join(rel.parts[:-1])
            module = ".".join(rel.with_suffix("").parts)
            for node in ast.walk(ast.parse(path.read_text())):
                for name in _imported(node, module):
                    target = _folder_of(name, root)
                    if target is not None and target != folder:
                        graph.setdefault(folder, set()).add(target)
    return graph


def cycle_in(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of the graph as the list of its folders (the first repeated at the end), or [] when it has none."""
    state: dict[str, str] = {}  # "open" while on the path, "done" after
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = "done"
        return []

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return []


def test_the_folder_graph_has_no_cycle():
    graph = folder_graph(REPO)
    assert "bench/pipeline" in graph and "bench/core" in graph["bench/pipeline"]  # the graph was read at all
    assert cycle_in(graph) == [], " -> ".join(cycle_in(graph))


def test_the_folder_check_catches_a_cycle_behind_a_function_level_import(tmp_path):
    # A probe tree: bench/low imports bench/high only inside a function, bench/high imports bench/low at the top.
    files = {
        "bench/__init__.py": "",
        "bench/high/__init__.py": "",
        "bench/high/face.py": "from bench.low.floor import ground\n",
        "bench/low/__init__.py": "",
        "bench/low/floor.py": textwrap.dedent("""
            def ground():
                from bench.high import face
                return face
        """),
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = folder_graph(tmp_path)
    assert graph == {"bench/high": {"bench/low"}, "bench/low": {"bench/high"}}
    assert set(cycle_in(graph)) == {"bench/high", "bench/low"}


def test_readme_flow_table_lists_every_folder():
    readme = (REPO / "README.md").read_text()
    folders = sorted({"/".join(p.relative_to(REPO).parts[:-1]) for p in (REPO / "bench").rglob("*.py")})
    missing = [f for f in folders if f != "bench" and f"`{f}/`" not in readme]
    assert not missing, missing
