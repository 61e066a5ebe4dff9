"""Triton's binary tensor data extension of the Open Inference Protocol.

A request (or answer) whose ``Inference-Header-Content-Length`` header is set is that many bytes
of JSON followed by the raw data of the tensors whose ``parameters`` carry
``binary_data_size``, in their order: little-endian, row-major, no padding; a BOOL element is
one byte (1 true, 0 false); a BYTES element is a 4-byte little-endian length then the bytes
(UTF-8 text here). An output is answered in binary when its request asks
``"parameters": {"binary_data": true}``, or the request's ``parameters`` ask
``binary_data_output`` (an output's own ``binary_data`` wins).
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np

from atlas.core.errors import InvalidInputError
from atlas.serve.tensor_data import DataType, check_values, element_count

HEADER = "inference-header-content-length"
LENGTH = struct.Struct("<I")  # the length prefix of a BYTES element
BOOL_MAX_BYTE = 1


def split(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    """(the JSON header, the binary data after it) of a request body."""
    if header_length is None:
        return body, b""
    text = header_length.strip()
    if not text.isdigit() or int(text) > len(body):
        raise InvalidInputError(
            f"Inference-Header-Content-Length is {header_length!r} for a body of {len(body)} "
            "bytes.",
            hint="Set it to the length in bytes of the JSON header at the start of the body.",
        )
    if int(text) == 0:
        raise InvalidInputError(
            "A raw binary request (Inference-Header-Content-Length: 0) carries no JSON header; "
            "a tabular model takes one tensor per column.",
            hint="Send the JSON header with one input per column, then the binary data.",
        )
    return body[: int(text)], body[int(text) :]


def chunk_size(tensor: str, parameters: dict[str, Any] | None) -> int | None:
    """The tensor's ``binary_data_size`` (None: its data is in the JSON)."""
    size = (parameters or {}).get("binary_data_size")
    if size is None:
        return None
    if type(size) is not int or size < 0:
        raise InvalidInputError(
            f"Input {tensor!r} has binary_data_size {size!r}.",
            hint="binary_data_size is the number of bytes of the tensor's binary data.",
        )
    return size


def decode(tensor: str, dtype: DataType, shape: list[int], chunk: bytes) -> list[Any]:
    """A tensor's binary data as Python values, checked as JSON data is."""
    count = element_count(shape)
    if dtype.family == "bytes":
        return _decode_bytes(tensor, count, chunk)
    needed = count * dtype.itemsize
    if len(chunk) != needed:
        raise InvalidInputError(
            f"Input {tensor!r} carries {len(chunk)} bytes of binary data, but {count} "
            f"{dtype.name} elements (shape {shape}) take {needed}.",
            hint=f"Send {dtype.itemsize} little-endian bytes per element, row-major.",
        )
    if dtype.family == "bool":
        raw = np.frombuffer(chunk, dtype=np.uint8)
        if raw.size and int(raw.max()) > BOOL_MAX_BYTE:
            index = int(np.argmax(raw > BOOL_MAX_BYTE))
            raise InvalidInputError(
                f"Input {tensor!r} is BOOL, but its element {index} is the byte {raw[index]}.",
                hint="A binary BOOL element is one byte: 1 for true, 0 for false.",
            )
        return raw.astype(bool).tolist()
    values: list[Any] = np.frombuffer(chunk, dtype=np.dtype(dtype.numpy)).tolist()
    check_values(tensor, dtype, values)
    return values


def _decode_bytes(tensor: str, count: int, chunk: bytes) -> list[Any]:
    values: list[Any] = []
    offset = 0
    while offset < len(chunk) and len(values) < count:
        if offset + LENGTH.size > len(chunk):
            break
        (size,) = LENGTH.unpack_from(chunk, offset)
        start, offset = offset + LENGTH.size, offset + LENGTH.size + size
        if offset > len(chunk):
            break
        try:
            values.append(chunk[start:offset].decode("utf-8"))
        except UnicodeDecodeError:
            raise InvalidInputError(
                f"Input {tensor!r}: its BYTES element {len(values)} is not UTF-8 text.",
                hint="Send each BYTES element of a tabular model as UTF-8 text.",
            ) from None
    if len(values) != count or offset != len(chunk):
        raise InvalidInputError(
            f"Input {tensor!r}: its binary data does not hold exactly {count} BYTES elements.",
            hint="Send each element as a 4-byte little-endian length, then that many bytes.",
        )
    return values


def encode(dtype: DataType, values: Any) -> bytes:
    """An output tensor's binary data."""
    if dtype.family == "bytes":
        encoded = [str(v).encode("utf-8") for v in values]
        return b"".join(LENGTH.pack(len(b)) + b for b in encoded)
    return np.ascontiguousarray(values, dtype=np.dtype(dtype.numpy)).tobytes()
