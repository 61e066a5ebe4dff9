"""The Open Inference Protocol (KServe/Triton "v2") for tabular models.

A request carries one input tensor per column, each of shape ``[n]`` or ``[n, 1]``, its data
as JSON or in Triton's binary tensor extension (:mod:`atlas.serve.binary_tensors`), checked
against its declared datatype (:mod:`atlas.serve.tensor_data`) and against what the model takes
(:mod:`atlas.serve.v2_signature`). The answer carries ``label`` (BYTES, ``[n]``) and
``probabilities`` (FP64, ``[n, k]``, row-major, columns in ``classes`` order) for classifiers,
``prediction`` (FP64, ``[n]``) for regressors: all of them, or those the request's ``outputs``
name, each as JSON or binary as asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from atlas.core.errors import InvalidInputError
from atlas.registry import Manifest
from atlas.serve import binary_tensors
from atlas.serve.tensor_data import (
    DATATYPES,
    DataType,
    check_shape,
    check_values,
    datatype_of,
    flatten,
)
from atlas.serve.v2_signature import AcceptedInput

SHAPE_SCHEMA: dict[str, Any] = {"type": "array", "items": {"type": "integer", "minimum": 0}}
DATATYPE_SCHEMA: dict[str, Any] = {"type": "string", "enum": list(DATATYPES)}
COLUMN_SHAPES = "[n] or [n, 1]"


class RequestInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    shape: Any = Field(json_schema_extra=SHAPE_SCHEMA)
    datatype: Any = Field(json_schema_extra=DATATYPE_SCHEMA)
    parameters: dict[str, Any] | None = None
    data: Any = Field(None, json_schema_extra={"type": "array"})


class RequestOutput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    parameters: dict[str, Any] | None = None


class InferenceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | None = None
    model_name: str | None = None  # sent by KServe's client; must be the path's model
    parameters: dict[str, Any] | None = None
    inputs: list[RequestInput] = Field(min_length=1)
    outputs: list[RequestOutput] | None = None


class Tensor(BaseModel):
    name: str
    shape: list[int]
    datatype: str
    data: list[Any] | None = None
    parameters: dict[str, Any] | None = None


class InferenceResponse(BaseModel):
    model_name: str
    model_version: str
    id: str | None = None
    parameters: dict[str, Any] | None = None
    outputs: list[Tensor]


@dataclass(frozen=True)
class Input:
    """One request tensor, checked: its datatype, shape and elements (row-major)."""

    name: str
    dtype: DataType
    shape: list[int]
    values: list[Any]


@dataclass(frozen=True)
class Decoded:
    request: InferenceRequest
    inputs: list[Input]


def decode(body: bytes, header_length: str | None) -> Decoded:
    """The request body (JSON, or JSON then binary tensor data), every tensor checked."""
    header, binary = binary_tensors.split(body, header_length)
    try:
        request = InferenceRequest.model_validate_json(header)
    except ValidationError as exc:
        raise _invalid(exc) from None
    return Decoded(request, _inputs(request.inputs, binary))


def _invalid(exc: ValidationError) -> InvalidInputError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return InvalidInputError(
        f"Not a v2 inference request: {where}: {first['msg']}.",
        hint='Send {"inputs": [{"name", "shape", "datatype", "data"}, ...]} as JSON.',
    )


def _inputs(tensors: list[RequestInput], binary: bytes) -> list[Input]:
    found: list[Input] = []
    names: set[str] = set()
    offset = 0
    for tensor in tensors:
        name = tensor.name
        if name in names:
            raise InvalidInputError(
                f"Input {name!r} is sent twice.", hint="Send each input tensor once."
            )
        names.add(name)
        dtype = datatype_of(name, tensor.datatype)
        shape = check_shape(name, tensor.shape)
        size = binary_tensors.chunk_size(name, tensor.parameters)
        if size is None:
            values = _json_values(tensor, dtype, shape)
        else:
            _no_json_data(tensor, size, len(binary) - offset)
            values = binary_tensors.decode(name, dtype, shape, binary[offset : offset + size])
            offset += size
        found.append(Input(name, dtype, shape, values))
    if offset != len(binary):
        raise InvalidInputError(
            f"{len(binary) - offset} bytes follow the JSON header that no input claims.",
            hint="Give each binary input its binary_data_size; they must add up to the rest.",
        )
    return found


def _json_values(tensor: RequestInput, dtype: DataType, shape: list[int]) -> list[Any]:
    if tensor.data is None:
        raise InvalidInputError(
            f"Input {tensor.name!r} has no data.",
            hint="Send its elements in data, or binary_data_size and the binary data.",
        )
    values = flatten(tensor.name, tensor.data, shape)
    check_values(tensor.name, dtype, values)
    return values


def _no_json_data(tensor: RequestInput, size: int, left: int) -> None:
    if tensor.data is not None:
        raise InvalidInputError(
            f"Input {tensor.name!r} has both data and binary_data_size.",
            hint="Send a tensor's elements one way: in data, or as binary data.",
        )
    if size > left:
        raise InvalidInputError(
            f"Input {tensor.name!r} declares {size} bytes of binary data; {left} are left.",
            hint="Set Inference-Header-Content-Length and each binary_data_size exactly.",
        )


def to_columns(
    decoded: Decoded, accepted: list[AcceptedInput], keep_extra: bool = False
) -> tuple[dict[str, list[Any]], int]:
    """The request's tensors as columns (checked against what the model takes) and the row
    count. Other tensors are dropped, or kept with ``keep_extra`` (a served model whose fields
    are looked up passes them on)."""
    by_name = {a.name: a for a in accepted}
    columns: dict[str, list[Any]] = {}
    rows: int | None = None
    for tensor in decoded.inputs:
        known = by_name.get(tensor.name)
        if known is None and not keep_extra:
            continue  # extra inputs are ignored, as extra fields are
        n = _rows(tensor)
        if known is not None:
            known.check(tensor.dtype)
        if rows is not None and n != rows:
            raise InvalidInputError(
                f"Input {tensor.name!r} has {n} rows, others have {rows}.",
                hint="Send one element per row in every input: the same n in each shape.",
            )
        rows = n
        columns[tensor.name] = tensor.values
    missing = [a.name for a in accepted if a.required and a.name not in columns]
    if missing:
        raise InvalidInputError(
            f"Inputs lack the tensor(s) {missing}.",
            hint=f"Send one tensor per input: {[a.name for a in accepted if a.required]}.",
        )
    if not rows:
        raise InvalidInputError("The request has no rows.", hint="Send at least one row.")
    return columns, rows


def _rows(tensor: Input) -> int:
    shape = tensor.shape
    if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 1):
        raise InvalidInputError(
            f"Input {tensor.name!r} has shape {shape}; use {COLUMN_SHAPES}.",
            hint="A tabular model takes one tensor per column, one element per row.",
        )
    return shape[0]


def output_types(manifest: Manifest) -> dict[str, str]:
    """The model's outputs and their datatypes, in answer order."""
    if manifest.task == "regression":
        return {"prediction": "FP64"}
    return {"label": "BYTES", "probabilities": "FP64"}


def model_metadata(
    manifest: Manifest, versions: list[int], accepted: list[AcceptedInput]
) -> dict[str, Any]:
    """Exactly what ``infer`` takes: the required inputs, and under ``parameters`` the
    optional ones (looked up by the server when absent)."""
    k = len(manifest.classes or [])
    shapes = {"prediction": [-1], "label": [-1], "probabilities": [-1, k]}
    parameters: dict[str, Any] = {"task": manifest.task, "classes": manifest.classes}
    optional = [a.metadata() for a in accepted if not a.required]
    if optional:
        parameters["optional_inputs"] = optional
    return {
        "name": manifest.name,
        "versions": [str(v) for v in versions],
        "platform": "atlas-tabular",
        "inputs": [a.metadata() for a in accepted if a.required],
        "outputs": [
            {"name": name, "datatype": datatype, "shape": shapes[name]}
            for name, datatype in output_types(manifest).items()
        ],
        "parameters": parameters,
    }


def requested_outputs(request: InferenceRequest, manifest: Manifest) -> list[tuple[str, bool]]:
    """(output name, answered in binary) for each output to answer, in order."""
    available = list(output_types(manifest))
    default = _flag(request.parameters, "binary_data_output", "the request") or False
    if not request.outputs:
        return [(name, default) for name in available]
    wanted: list[tuple[str, bool]] = []
    for output in request.outputs:
        if output.name not in available:
            raise InvalidInputError(
                f"Output {output.name!r} is not one of the model's outputs.",
                hint=f"Ask for some of {available}, or leave outputs out for all of them.",
            )
        if any(name == output.name for name, _ in wanted):
            raise InvalidInputError(
                f"Output {output.name!r} is asked for twice.", hint="Name each output once."
            )
        flag = _flag(output.parameters, "binary_data", f"output {output.name!r}")
        wanted.append((output.name, default if flag is None else flag))
    return wanted


def _flag(parameters: dict[str, Any] | None, key: str, where: str) -> bool | None:
    value = (parameters or {}).get(key)
    if value is not None and not isinstance(value, bool):
        raise InvalidInputError(
            f"The parameter {key} of {where} is {value!r}.", hint=f"Set {key} to true or false."
        )
    return value


def answer(
    manifest: Manifest,
    raw: np.ndarray,
    labels: np.ndarray,
    request_id: str | None,
    wanted: list[tuple[str, bool]],
) -> tuple[dict[str, Any], list[bytes]]:
    """The answer's JSON (an inference response) and the binary data that follows it."""
    n = len(raw)
    data: dict[str, tuple[list[int], Any]] = {
        "prediction": ([n], raw),
        "label": ([n], [str(v) for v in labels]),
        "probabilities": (list(raw.shape), raw),
    }
    types = output_types(manifest)
    outputs: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    for name, binary in wanted:
        shape, values = data[name]
        entry: dict[str, Any] = {"name": name, "datatype": types[name], "shape": shape}
        if binary:
            chunk = binary_tensors.encode(DATATYPES[types[name]], values)
            entry["parameters"] = {"binary_data_size": len(chunk)}
            chunks.append(chunk)
        else:
            entry["data"] = values if isinstance(values, list) else _floats(values)
        outputs.append(entry)
    header = {
        "model_name": manifest.name,
        "model_version": str(manifest.version),
        "id": request_id,
        "outputs": outputs,
    }
    return header, chunks


def _floats(values: np.ndarray) -> list[float]:
    floats: list[float] = values.astype(np.float64).ravel().tolist()
    return floats
