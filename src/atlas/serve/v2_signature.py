"""What the v2 endpoints accept for one model: its input tensors, required or optional, with
their datatypes. The model metadata publishes exactly this, and ``infer`` checks against it.

A model without feature processing takes one tensor per input column. A model served with
online features or connectors (:mod:`atlas.serve.enrich`) takes the entity key and the
connectors' keys (the server looks the rest up), the columns it does not look up, and, if the
caller knows them, the looked-up columns too (a request's value wins over the lookup).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from atlas.core.errors import InvalidInputError
from atlas.registry import Manifest
from atlas.serve.enrich import ModelServing
from atlas.serve.external.config import parse_connectors
from atlas.serve.tensor_data import DataType

NUMERIC_KINDS = frozenset({"numeric", "integer", "boolean"})
KEY = "key"  # the kind of an input that is a lookup key, not a model column


@dataclass(frozen=True)
class AcceptedInput:
    name: str
    kind: str  # the model column's kind, or KEY
    required: bool

    @property
    def datatype(self) -> str:
        """The datatype the metadata publishes."""
        return "FP64" if self.kind in NUMERIC_KINDS else "BYTES"

    def check(self, dtype: DataType) -> None:
        """Refuse a tensor whose declared datatype this input does not take."""
        if self.kind == KEY:
            if dtype.family not in ("bytes", "int"):
                raise InvalidInputError(
                    f"Input {self.name!r} is a lookup key, declared {dtype.name}.",
                    hint="Send a key as BYTES (or an integer type such as INT64).",
                )
        elif self.kind in NUMERIC_KINDS:
            if dtype.family == "bytes":
                raise InvalidInputError(
                    f"Input {self.name!r} is numeric: send it as FP64 or INT64, not BYTES.",
                    hint="Numbers go in a numeric datatype (null for a missing value).",
                )
        elif dtype.family != "bytes":
            raise InvalidInputError(
                f"Input {self.name!r} is {self.kind}: send it as BYTES, not {dtype.name}.",
                hint="Categories and dates are strings in a BYTES tensor.",
            )

    def metadata(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": [-1]}


def accepted_inputs(manifest: Manifest, serving: ModelServing | None) -> list[AcceptedInput]:
    """The inputs of ``manifest`` as the server takes them (``serving``: its feature processing,
    when it has any)."""
    looked_up: set[str] = set()
    keys: list[str] = []
    if serving is not None and (serving.features or serving.connectors):
        looked_up = {feature.split(":", 1)[-1] for feature in serving.features}
        keys = [serving.entity_key] if serving.entity_key and serving.features else []
        for connector in parse_connectors(serving.connectors).connectors:
            looked_up |= set(connector.fields)
            keys.append(connector.key)
    columns = {c.name for c in manifest.inputs}
    found = [AcceptedInput(k, KEY, True) for k in dict.fromkeys(keys) if k not in columns]
    found += [AcceptedInput(c.name, c.kind, c.name not in looked_up) for c in manifest.inputs]
    return found
