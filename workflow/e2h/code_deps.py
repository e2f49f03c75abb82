"""Which package modules a rule's script runs: its ``e2h`` imports, transitively.

Snakemake reruns a job when its script changes, but not when a module the script imports
does. Declaring those module files as inputs makes every edit rerun exactly the jobs whose
code it touches: ``e2h/stats.py`` reruns the tables and figures that compute statistics and
no cell; ``e2h/scoring.py`` reruns the cells that score. Imports are read statically (with
``ast``, including imports inside functions), so nothing is executed at parse time.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

PACKAGE = "e2h"
PACKAGE_DIR = Path(__file__).resolve().parent


def _module_file(name: str) -> Path | None:
    """The file of module ``e2h.a.b`` (``a/b.py`` or ``a/b/__init__.py``), if it exists."""
    parts = name.split(".")
    if parts[0] != PACKAGE:
        return None
    base = PACKAGE_DIR.joinpath(*parts[1:])
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _package_inits(name: str) -> list[Path]:
    """Importing ``e2h.a.b`` runs ``e2h/__init__.py`` and ``e2h/a/__init__.py`` first."""
    parts = name.split(".")
    out = []
    for i in range(1, len(parts)):
        init = PACKAGE_DIR.joinpath(*parts[1:i], "__init__.py")
        if init.is_file():
            out.append(init)
    return out


@functools.cache
def _direct_imports(path: Path) -> tuple[str, ...]:
    """``e2h`` module names imported anywhere in ``path`` (``from e2h import x`` → ``e2h.x``
    when ``x`` is a module)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names if a.name.split(".")[0] == PACKAGE}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] != PACKAGE:
                continue
            names.add(node.module)
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                if _module_file(sub) is not None:
                    names.add(sub)
    return tuple(sorted(names))


def module_closure(script: str | Path) -> list[str]:
    """Sorted absolute paths of every ``e2h`` module file ``script`` can import."""
    seen: set[Path] = set()
    todo = [Path(script).resolve()]
    while todo:
        path = todo.pop()
        for name in _direct_imports(path):
            for dep in [_module_file(name), *_package_inits(name)]:
                if dep is not None and dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
    return sorted(str(p) for p in seen)
