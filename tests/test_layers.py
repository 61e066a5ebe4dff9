"""No import runs up the layers of DESIGN.md: each package imports only the ones below it.

Every ``import atlas.X`` and ``from atlas.X ...`` in a module counts, at module level or inside a
function (a lazy import up the layers is still a dependency up the layers).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "atlas"
BELOW = {
    "core": set(),
    "data": {"core"},
    "registry": {"core"},
    "automl": {"core", "data", "registry"},
    "serve": {"core", "data", "registry"},
    "testing": {"core", "data", "registry", "automl", "serve"},
    "apps": {"core", "data", "registry", "automl", "serve"},
    "cli": {"core", "data", "registry", "automl", "serve", "apps"},
}


def _imported_packages(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found |= {n.split(".")[1] for n in names if n.startswith("atlas.") and n.count(".") >= 1}
    return found


def test_every_package_is_placed() -> None:
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages <= set(BELOW), f"place {packages - set(BELOW)} in BELOW (DESIGN.md)"


@pytest.mark.parametrize("package", sorted(BELOW))
def test_imports_point_down_only(package: str) -> None:
    wrong = {
        str(path.relative_to(SRC)): sorted(up)
        for path in sorted((SRC / package).rglob("*.py"))
        if (up := _imported_packages(path) - BELOW[package] - {package})
    }
    assert wrong == {}, f"{package} may import only {sorted(BELOW[package])}"
