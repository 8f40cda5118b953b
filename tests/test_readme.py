"""The README's code map is the tree's own: one line per package, from its docstring.

``make codemap`` (``README_WRITE=1``) rewrites the table between the markers; this test
fails whenever a package or module is added, moved or renamed without refreshing it.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
START = "<!-- code map: make codemap writes this table from the packages' docstrings -->"
END = "<!-- end of code map -->"


def _summary(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return " ".join(doc.split("\n\n")[0].split())


def code_map(package: Path = REPO / "musicgen") -> str:
    """The markdown table: each package (and top-level module), what it holds, its modules."""
    rows = ["| package | what lives there | modules |", "| --- | --- | --- |"]
    for entry in sorted(package.iterdir()):
        if entry.name.startswith("__"):
            continue
        if entry.is_dir() and (entry / "__init__.py").exists():
            modules = sorted(p.stem for p in entry.glob("*.py") if p.stem != "__init__")
            names = ", ".join(f"`{m}`" for m in modules)
            rows.append(f"| `{entry.name}/` | {_summary(entry / '__init__.py')} | {names} |")
        elif entry.suffix == ".py":
            rows.append(f"| `{entry.name}` | {_summary(entry)} | |")
    return "\n".join(rows)


def test_the_readme_code_map_matches_the_tree():
    text = README.read_text(encoding="utf-8")
    assert START in text and END in text
    head, rest = text.split(START)
    _, tail = rest.split(END)
    fresh = f"{head}{START}\n{code_map()}\n{END}{tail}"
    if os.environ.get("README_WRITE"):
        README.write_text(fresh, encoding="utf-8")
    assert text == fresh, "the README's code map is stale: run `make codemap`"


def test_every_module_has_a_docstring():
    missing = [
        str(p.relative_to(REPO))
        for p in (REPO / "musicgen").rglob("*.py")
        if not _summary(p) and p.stat().st_size > 0
    ]
    assert missing == []
