"""Quality verdicts for people: which rules failed, on which column, observed against expected;
and the error that refuses a version (``atlas data add --strict``, training on a failed one)."""

from __future__ import annotations

from typing import Any

from atlas.core.errors import ConflictError


class QualityCheckFailed(ConflictError):
    """A dataset version failed quality rules: ``results`` holds each failed rule's verdict
    (rule, column, observed, expected). The CLI exits with code 1 on it."""

    def __init__(self, message: str, results: list[dict[str, Any]], *, hint: str) -> None:
        super().__init__(message, hint=hint)
        self.results = results


def failed(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in results if not r["passed"]]


def describe(result: dict[str, Any]) -> str:
    """``"range on age: observed 1 below min ...; expected >= 30"`` (older verdicts, without
    ``observed``/``expected``, show their detail)."""
    rule = result["rule"]
    column = result.get("column") or rule.get("column") or ", ".join(rule.get("columns") or [])
    where = f"{rule['type']} on {column}" if column else rule["type"]
    if "expected" not in result:
        return f"{where}: {result['detail']}"
    return f"{where}: observed {result['observed']}; expected {result['expected']}"


def refusal(
    name: str, version: int | None, results: list[dict[str, Any]], hint: str
) -> QualityCheckFailed:
    """The error naming every failed rule of a version (``version`` None: not stored)."""
    bad = failed(results)
    which = f"Dataset {name} v{version}" if version is not None else f"The new version of {name}"
    lines = "; ".join(describe(r) for r in bad)
    return QualityCheckFailed(
        f"{which} failed its quality checks ({len(bad)} rule(s)): {lines}.", bad, hint=hint
    )
