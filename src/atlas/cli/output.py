"""Printing for the CLI: rich tables for people, stable JSON for scripts."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()
errors = Console(stderr=True, soft_wrap=True)

# exit codes scripts can rely on (docs/cli.md)
EXIT_OK = 0
EXIT_CHECK_FAILED = 1  # data failed its quality rules (data add/check, a refused fit)
EXIT_ERROR = 2  # an error ATLAS raised on purpose: bad input, not found, nothing registered
EXIT_INTERRUPTED = 130  # Ctrl-C


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def print_json(data: Any) -> None:
    """JSON with sorted keys, two-space indent, NaN as null: the stable machine format."""
    print(json.dumps(_clean(data), indent=2, sort_keys=True, default=str))


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if math.isfinite(value) else "-"
    if value is None:
        return "-"
    return str(value)


def table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    out = Table(title=title, title_justify="left")
    for column in columns:
        out.add_column(column)
    for row in rows:
        out.add_row(*(fmt(v) for v in row))
    console.print(out)


def metrics_line(metrics: dict[str, float]) -> str:
    return "  ".join(f"{k}={v:.4f}" for k, v in metrics.items())
