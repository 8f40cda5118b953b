"""The package's import graph: no cycles, and the library never reaches into the CLI.

Every ``import`` counts, function-level ones included (a deferred import that closes a
loop is still a loop: it only moves the failure to run time); imports under
``if TYPE_CHECKING:`` do not run and are left out.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "musicgen"
# Library modules that still import from musicgen.cli, and why (reported, to be fixed).
CLI_IMPORTS_KNOWN: dict[str, str] = {}


def module_name(path: Path, root: Path) -> str:
    parts = [root.name, *path.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_nodes(tree: ast.AST):
    """Every node, except what sits under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in [child, *_runtime_nodes(child)])
            continue
        yield node
        yield from _runtime_nodes(node)


def import_graph(root: Path) -> dict[str, set[str]]:
    """{module: the package's modules it imports}, read from the source with `ast`.

    ``from pkg import name`` is an edge to ``pkg.name`` when that is a module, else to
    ``pkg``; relative imports are resolved against the importing module's package.
    """
    paths = {module_name(p, root): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, *([node.module] if node.module else [])])
                for alias in node.names:
                    edges.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in paths else base)
        graph[name] = {e for e in edges if e in paths and e != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def test_musicgen_has_no_import_cycle():
    assert cycles(import_graph(PACKAGE)) == []


def test_the_library_never_imports_the_cli():
    graph = import_graph(PACKAGE)
    offenders = {
        module
        for module, imported in graph.items()
        if not module.startswith("musicgen.cli")
        and module != "musicgen.__main__"
        and any(i == "musicgen.cli" or i.startswith("musicgen.cli.") for i in imported)
    }
    assert offenders <= set(CLI_IMPORTS_KNOWN)


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for name, text in {"__init__.py": "", **files}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_a_function_level_import_that_closes_a_loop_is_a_cycle(tmp_path):
    root = _package(
        tmp_path,
        {
            "a.py": "from pkg.b import f\n",
            "b.py": "def f():\n    from pkg import a\n",
            "sub/__init__.py": "",
            "sub/c.py": "from ..a import f\nfrom . import d\n",
            "sub/d.py": "import pkg.sub.c\n",
            "e.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import f\n",
            "f.py": "import pkg.e\n",
        },
    )
    graph = import_graph(root)
    assert graph["pkg.sub.c"] == {"pkg.a", "pkg.sub.d"}  # relative imports resolved
    assert graph["pkg.e"] == set()  # type-checking imports do not run
    assert cycles(graph) == [["pkg.a", "pkg.b"], ["pkg.sub.c", "pkg.sub.d"]]


def test_the_real_graph_holds_function_level_imports():
    graph = import_graph(PACKAGE)
    # `musicgen bench` imports its library inside the command, and `from musicgen import
    # bench` names a module, not a package attribute.
    assert {"musicgen.evaluation.speed", "musicgen.evaluation.training_speed"} <= graph[
        "musicgen.cli.training"
    ]
    assert "musicgen.abc.tunes" in graph["musicgen.abc.corpus"]


# The layers, bottom up: what each package of musicgen may import from the others.  The
# tree is the map (README's code map), and these edges keep it one: nothing imports a
# package above itself, and the library never imports `cli` or `studio`.
BASE = {"errors", "files", "musicgen"}  # `musicgen` itself: only ``__version__``
LAYERS: dict[str, set[str]] = {
    "abc": BASE,
    "playback": BASE | {"abc"},
    "form": BASE | {"abc", "playback"},
    "grammar": BASE | {"abc", "form"},
    "render": BASE | {"abc", "playback"},
    "models": BASE,
    "run": BASE | {"abc", "form", "models"},
    "training": BASE | {"abc", "form", "models", "run"},
    "sampling": BASE | {"abc", "playback", "form", "grammar", "models", "run", "training"},
    "evaluation": BASE
    | {"abc", "playback", "form", "grammar", "render", "models", "run", "training", "sampling"},
    "studio": BASE
    | {"abc", "playback", "form", "grammar", "render", "models", "run", "training"}
    | {"sampling", "evaluation"},
}
# Packages that must run without TensorFlow or Keras installed: the ABC side of musicgen.
NO_TENSORFLOW = ("abc", "playback", "form", "grammar", "render")


def _package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def test_each_package_imports_only_the_layers_below_it():
    graph = import_graph(PACKAGE)
    wrong = sorted(
        f"{module} -> {imported}"
        for module, edges in graph.items()
        if _package_of(module) in LAYERS
        for imported in edges
        if _package_of(imported) != _package_of(module)
        and _package_of(imported) not in LAYERS[_package_of(module)]
    )
    assert wrong == []


def _third_party_imports(path: Path) -> set[str]:
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_the_abc_side_never_imports_tensorflow_or_keras():
    offenders = sorted(
        str(path.relative_to(PACKAGE))
        for package in NO_TENSORFLOW
        for path in (PACKAGE / package).rglob("*.py")
        if _third_party_imports(path) & {"tensorflow", "keras"}
    )
    assert offenders == []


def test_every_package_is_in_the_layer_table():
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert packages - {"cli"} == set(LAYERS)


def test_the_top_of_the_package_is_a_short_map():
    entries = [p.name for p in PACKAGE.iterdir() if p.name != "__pycache__"]
    assert len(entries) <= 16, sorted(entries)


def test_modules_and_functions_stay_short_enough_to_read_alone():
    """The house style's sizes: a module of at most 300 lines, a function of at most 60."""
    long_modules, long_functions = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        name = str(path.relative_to(PACKAGE))
        if len(text.splitlines()) > 300:
            long_modules.append(name)
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if node.end_lineno - node.lineno + 1 > 60:
                    long_functions.append(f"{name}:{node.name}")
    assert long_modules == [] and long_functions == []
