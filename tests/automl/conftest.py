"""Installing learner plugins for real: a distribution's dist-info folder on ``sys.path``,
found by ``importlib.metadata`` exactly as a pip-installed package's would be."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from atlas.automl.learners import LEARNERS

InstallLearners = Callable[..., Path]


@pytest.fixture
def install_learners(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InstallLearners]:
    """``install(entry_points, modules={}, name=...)``: write ``modules`` (name -> source) and a
    ``<name>-0.1.dist-info`` whose entry_points.txt registers ``entry_points`` (name ->
    "module:Class") in ``atlas.learners``; put the folder on sys.path and refresh LEARNERS."""
    site = tmp_path / "site-packages"
    written: list[str] = []

    def install(
        entry_points: dict[str, str],
        modules: dict[str, str] | None = None,
        name: str = "atlas-test-learners",
    ) -> Path:
        for module, source in (modules or {}).items():
            (site / f"{module}.py").parent.mkdir(parents=True, exist_ok=True)
            (site / f"{module}.py").write_text(source)
            written.append(module)
        info = site / f"{name.replace('-', '_')}-0.1.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
        lines = "".join(f"{k} = {v}\n" for k, v in entry_points.items())
        (info / "entry_points.txt").write_text(f"[atlas.learners]\n{lines}")
        monkeypatch.syspath_prepend(str(site))
        LEARNERS.refresh()
        return site

    yield install
    monkeypatch.undo()  # sys.path as before, then forget what was found there
    for module in written:
        sys.modules.pop(module, None)
    LEARNERS.refresh()
