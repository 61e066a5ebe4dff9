"""`atlas demo`: the main job end to end, as `make demo` runs it (with a short budget)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from atlas.apps import run_demo
from tests.conftest import CREDIT_G


def test_demo_serves_predictions_equal_to_the_package(sqlite_settings) -> None:
    report = run_demo(CREDIT_G, time_budget=4, n_requests=3, settings=sqlite_settings)
    assert report.promotion.to_version == report.fit.model.version == 1
    assert len(report.served) == 3
    assert all(s["version"] == 1 and s["label"] in ("good", "bad") for s in report.served)
    assert report.max_abs_diff < 1e-6  # one row at a time vs a batch: float noise only
    assert {"roc_auc", "ks"} <= set(report.fit.test_metrics)


def test_demo_command_prints_leaderboard_metrics_and_predictions(tmp_path: Path) -> None:
    """As on a bare clone: no --data (the shipped sample), run where no ../shared exists."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    env.update(ATLAS_HOME=str(tmp_path / "home"), COLUMNS="200")
    assert not (tmp_path.parent / "shared").exists()
    result = subprocess.run(
        [str(Path(sys.executable).with_name("atlas")), "demo", "--budget", "4"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    for fragment in (
        "Leaderboard",
        "test metrics",
        "roc_auc=",
        "ks=",
        "Served predictions",
        "is now production",
    ):
        assert fragment in result.stdout
    assert "credit_g.csv.gz" in result.stdout  # it said which data it ingested
