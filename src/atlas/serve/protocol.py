"""The Open Inference Protocol (KServe/Triton "v2") for tabular models.

A request carries one input tensor per column (numbers as FP64/FP32/INT64/INT32/BOOL, text and
categories as BYTES), each of shape ``[n]`` or ``[n, 1]``; the answer carries ``label`` (BYTES,
``[n]``) and ``probabilities`` (FP64, ``[n, k]``, row-major, columns in ``classes`` order) for
classifiers, ``prediction`` (FP64, ``[n]``) for regressors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from atlas.core.errors import InvalidInputError
from atlas.registry import Manifest

NUMERIC = {
    "FP64",
    "FP32",
    "FP16",
    "INT64",
    "INT32",
    "INT16",
    "INT8",
    "UINT64",
    "UINT32",
    "UINT16",
    "UINT8",
    "BOOL",
}
DATATYPES = NUMERIC | {"BYTES"}


class Tensor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    shape: list[int]
    datatype: str
    data: list[Any]
    parameters: dict[str, Any] | None = None


class InferenceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    parameters: dict[str, Any] | None = None
    inputs: list[Tensor] = Field(min_length=1)
    outputs: list[dict[str, Any]] | None = None


class InferenceResponse(BaseModel):
    model_name: str
    model_version: str
    id: str | None = None
    parameters: dict[str, Any] | None = None
    outputs: list[Tensor]


def _dtype(kind: str) -> str:
    return "BYTES" if kind in ("categorical", "datetime") else "FP64"


def model_metadata(manifest: Manifest, versions: list[int]) -> dict[str, Any]:
    outputs = (
        [{"name": "prediction", "datatype": "FP64", "shape": [-1]}]
        if manifest.task == "regression"
        else [
            {"name": "label", "datatype": "BYTES", "shape": [-1]},
            {
                "name": "probabilities",
                "datatype": "FP64",
                "shape": [-1, len(manifest.classes or [])],
            },
        ]
    )
    return {
        "name": manifest.name,
        "versions": [str(v) for v in versions],
        "platform": "atlas-tabular",
        "inputs": [
            {"name": c.name, "datatype": _dtype(c.kind), "shape": [-1]} for c in manifest.inputs
        ],
        "outputs": outputs,
        "parameters": {"task": manifest.task, "classes": manifest.classes},
    }


def to_columns(
    request: InferenceRequest, manifest: Manifest, partial: bool = False
) -> tuple[dict[str, list[Any]], int]:
    """The request's tensors as columns (validated against the signature) and the row count.
    With ``partial`` (fields looked up server-side) absent inputs are allowed and extra inputs
    (such as the entity key) are kept."""
    kinds = {c.name: c.kind for c in manifest.inputs}
    columns: dict[str, list[Any]] = {}
    rows: int | None = None
    for tensor in request.inputs:
        if tensor.datatype not in DATATYPES:
            raise InvalidInputError(f"Input {tensor.name!r}: unknown datatype {tensor.datatype}.")
        if tensor.name not in kinds and not partial:
            continue  # extra inputs are ignored, as extra fields are
        n = tensor.shape[0] if tensor.shape else 0
        if len(tensor.shape) not in (1, 2) or (len(tensor.shape) == 2 and tensor.shape[1] != 1):
            raise InvalidInputError(
                f"Input {tensor.name!r} has shape {tensor.shape}; use [n] or [n, 1]."
            )
        if len(tensor.data) != n:
            raise InvalidInputError(
                f"Input {tensor.name!r} declares {n} rows but carries {len(tensor.data)} values."
            )
        numeric_field = kinds.get(tensor.name) in ("numeric", "integer", "boolean")
        if numeric_field and tensor.datatype == "BYTES":
            raise InvalidInputError(
                f"Input {tensor.name!r} is numeric: send it as FP64 or INT64, not BYTES."
            )
        if rows is not None and n != rows:
            raise InvalidInputError(f"Input {tensor.name!r} has {n} rows, others have {rows}.")
        rows = n
        columns[tensor.name] = list(tensor.data)
    missing = [c for c in kinds if c not in columns]
    if missing and not partial:
        raise InvalidInputError(
            f"Inputs lack the tensor(s) {missing}.",
            hint=f"Send one tensor per input column: {list(kinds)}.",
        )
    return columns, rows or 0


def to_response(
    manifest: Manifest, raw: np.ndarray, labels: np.ndarray, request_id: str | None
) -> InferenceResponse:
    n = len(raw)
    if manifest.task == "regression":
        outputs = [
            Tensor(name="prediction", shape=[n], datatype="FP64", data=raw.astype(float).tolist())
        ]
    else:
        outputs = [
            Tensor(name="label", shape=[n], datatype="BYTES", data=[str(v) for v in labels]),
            Tensor(
                name="probabilities",
                shape=[n, raw.shape[1]],
                datatype="FP64",
                data=raw.astype(float).ravel().tolist(),
            ),
        ]
    return InferenceResponse(
        model_name=manifest.name,
        model_version=str(manifest.version),
        id=request_id,
        outputs=outputs,
    )
