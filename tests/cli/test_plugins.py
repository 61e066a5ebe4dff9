"""``atlas plugins``: every group's plugins with their distribution, a broken one with its
error, and the command still exits 0 (the others work)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from atlas.testing.plugins import install_fake_distribution

ATLAS = str(Path(sys.executable).with_name("atlas"))


def _run(tmp_path: Path, *args: str, site: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    env["ATLAS_HOME"] = str(tmp_path / "home")
    if site is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [ATLAS, "plugins", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_lists_every_built_in_plugin(tmp_path: Path) -> None:
    result = _run(tmp_path, "--json")
    assert result.returncode == 0, result.stderr
    listed = {(p["group"], p["name"]): p for p in json.loads(result.stdout)}
    for group, name in [
        ("atlas.learners", "lightgbm"),
        ("atlas.learners", "mlp"),
        ("atlas.flavors", "sklearn"),
        ("atlas.connectors", "http"),
        ("atlas.online_stores", "redis"),
        ("atlas.online_stores", "sqlite"),
    ]:
        assert listed[(group, name)]["distribution"] == "atlas-ml"
        assert listed[(group, name)]["error"] is None


def test_a_broken_plugin_is_listed_with_its_error(tmp_path: Path) -> None:
    site = install_fake_distribution(
        tmp_path / "site",
        "acme-broken",
        {"atlas.learners": {"acme": "acme_gbm:Learner"}, "atlas.flavors": {"acme": "acme_fmt"}},
        {"acme_gbm": "import acme_native_lib\n", "acme_fmt": "x = 1\n"},
    )
    result = _run(tmp_path, site=site)
    assert result.returncode == 0, result.stderr
    assert "2 plugin(s) did not load; the others work." in result.stdout
    report = json.loads(_run(tmp_path, "--json", site=site).stdout)
    broken = {(p["group"], p["name"]): p for p in report if p["error"]}
    assert set(broken) == {("atlas.learners", "acme"), ("atlas.flavors", "acme")}
    assert "acme_native_lib" in broken[("atlas.learners", "acme")]["error"]
    assert broken[("atlas.flavors", "acme")]["distribution"] == "acme-broken"
    assert any(p["name"] == "lightgbm" and p["error"] is None for p in report)
