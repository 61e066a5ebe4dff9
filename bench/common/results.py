"""Where benchmark results go: canonical runs in bench/results/<area>/, the rest in scratch.

A run writes to ``bench/results/scratch/<area>/`` (gitignored) unless it is given
``--canonical``: only those runs land in ``bench/results/<area>/``, the files the docs quote.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parents[1]
REPO = BENCH.parent
RESULTS = BENCH / "results"
SCRATCH = RESULTS / "scratch"
SHARED_DATA = REPO.parent / "shared" / "data"


def add_canonical_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--canonical",
        action="store_true",
        help="write the results to bench/results/<area>/ (default: bench/results/scratch/<area>/)",
    )


def output_dir(area: str, canonical: bool) -> Path:
    """The folder of ``area``'s results (created), canonical or scratch."""
    folder = (RESULTS if canonical else SCRATCH) / area
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, default=str))
