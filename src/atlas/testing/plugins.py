"""Make a package "installed" for a test: its modules plus the ``.dist-info`` folder pip writes.

``importlib.metadata`` finds entry points through ``*.dist-info/entry_points.txt`` on
``sys.path``, so a folder holding both, put on ``sys.path``, is an installed distribution as far
as ATLAS's plugin discovery can tell (then call the group's ``refresh()``).
"""

from __future__ import annotations

from pathlib import Path

FAKE_VERSION = "0.1"


def install_fake_distribution(
    site: Path,
    name: str,
    entry_points: dict[str, dict[str, str]],
    modules: dict[str, str] | None = None,
) -> Path:
    """Write ``modules`` (module name -> source) and the metadata of distribution ``name``,
    whose ``entry_points`` map group -> {plugin name: "module:object"}, into the folder
    ``site``; returns ``site``, to put on ``sys.path``."""
    site.mkdir(parents=True, exist_ok=True)
    for module, source in (modules or {}).items():
        (site / f"{module}.py").write_text(source)
    info = site / f"{name.replace('-', '_')}-{FAKE_VERSION}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {FAKE_VERSION}\n"
    )
    sections = [
        f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in points.items())
        for group, points in entry_points.items()
    ]
    (info / "entry_points.txt").write_text("\n".join(sections))
    return site
