"""Installing learner plugins for real: a distribution's dist-info folder on ``sys.path``,
found by ``importlib.metadata`` exactly as a pip-installed package's would be."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from atlas.automl.learners import LEARNERS
from atlas.testing.plugins import install_fake_distribution

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
        install_fake_distribution(site, name, {"atlas.learners": entry_points}, modules)
        written.extend(modules or {})
        monkeypatch.syspath_prepend(str(site))
        LEARNERS.refresh()
        return site

    yield install
    monkeypatch.undo()  # sys.path as before, then forget what was found there
    for module in written:
        sys.modules.pop(module, None)
    LEARNERS.refresh()
