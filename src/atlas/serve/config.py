"""The server's config: limits, tokens and per-model serving (YAML for ``atlas serve --config``).

    max_records: 10000
    api_token: null            # set: the model routes need 'Authorization: Bearer <token>'
    models:
      credit-risk: {entity_key: customer_id, features: [spending:amount_7d]}

A file that is not YAML, not a mapping, or fails validation is an :class:`InvalidInputError`
naming the file and the field to fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from atlas.core.errors import InvalidInputError
from atlas.core.numbers import shown
from atlas.serve.enrich import ModelServing

MIB = 1024 * 1024
HINT = "See docs/serving.md for the server config fields."
# each number's range: 0 or a negative would refuse every request, nan/inf no limit at all
MAX_BODY_BYTES = 4096 * MIB
MAX_RECORDS = 10_000_000
MAX_IN_FLIGHT = 1_000_000
MAX_IDLE_SECONDS = 365 * 24 * 3600.0
MAX_ALIAS_TTL = 24 * 3600.0
MAX_MEMORY_CAP = 2**50  # a pebibyte


class ServerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    max_body_bytes: int = Field(default=8 * MIB, ge=1, le=MAX_BODY_BYTES)
    max_records: int = Field(default=10_000, ge=1, le=MAX_RECORDS)
    max_in_flight: int = Field(default=64, ge=1, le=MAX_IN_FLIGHT)
    admin_token: str | None = Field(default=None, description="Bearer token of /v1/admin.")
    api_token: str | None = Field(
        default=None, description="Bearer token of the model routes (open when unset)."
    )
    labels_token: str | None = Field(
        default=None, description="Bearer token of the label route (else admin_token)."
    )
    idle_seconds: float = Field(default=900.0, ge=0, le=MAX_IDLE_SECONDS)
    memory_cap: int | None = Field(default=None, ge=1, le=MAX_MEMORY_CAP, description="Bytes.")
    alias_ttl: float = Field(default=1.0, ge=0, le=MAX_ALIAS_TTL)
    models: dict[str, ModelServing] = Field(
        default_factory=dict, description="Per model: entity key, online features, connectors."
    )


def load_server_config(path: Path | None, defaults: dict[str, Any]) -> ServerConfig:
    """The config in the YAML file ``path`` (none: ``defaults`` only) over ``defaults``."""
    raw: Any = {}
    if path is not None:
        raw = _read_yaml(path)
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise InvalidInputError(
                f"Server config {path}: the top level is a {_yaml_kind(raw)}, not a mapping.",
                hint="Write 'field: value' lines at the top level. " + HINT,
            )
    try:
        return ServerConfig.model_validate({**defaults, **raw})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "top level"
        msg = first["msg"].removeprefix("Value error, ")
        got = f", got {shown(first['input'])}" if first["loc"] else ""
        extra = len(exc.errors()) - 1
        more = f" (and {extra} more)" if extra else ""
        raise InvalidInputError(
            f"Server config {path or '(defaults)'}: {where}: {msg}{got}{more}.", hint=HINT
        ) from None


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInputError(f"Server config not found: {path}.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"Cannot read the server config {path}: {exc}.") from None
    except yaml.YAMLError as exc:
        raise InvalidInputError(
            f"Server config {path} is not valid YAML{_yaml_problem(exc)}.", hint=HINT
        ) from None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """Where and what: ``" (line 2, column 1): expected ',' or ']'"``."""
    mark = getattr(exc, "problem_mark", None)
    at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0]
    return f"{at}: {problem}"


def _yaml_kind(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), type(value).__name__
    )
