"""The Open Inference Protocol's tensor datatypes, and the check of a tensor's data against its
declared ``datatype`` and ``shape``.

Every way a tensor can lie is refused with a message naming the tensor and saying what to send:
a shape that is not a list of non-negative integers, data whose nesting or element count does
not match the shape, and elements that its datatype cannot hold — a string or a boolean where a
number is declared, a fraction or an out-of-range value in an integer type, a number too large
for FP16/FP32/FP64, an infinity, anything but ``true``/``false`` in a BOOL, anything but a string
in BYTES. ``null`` is a missing value in any datatype (and NaN in the floating-point ones).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from atlas.core.errors import InvalidInputError

Family = Literal["bool", "int", "float", "bytes"]
SHOWN_CHARS = 40  # of a refused element, in a message
VECTOR_FROM = 32  # elements: from this many on, floats are range-checked by numpy
FLOAT_RANGES = {"FP16": 65504.0, "FP32": float(np.finfo(np.float32).max), "FP64": math.inf}


@dataclass(frozen=True)
class DataType:
    """One v2 datatype: its family, its numpy dtype (little-endian, as the binary extension
    sends it; none for BYTES) and the range of values it holds."""

    name: str
    family: Family
    numpy: str = ""
    low: float = -math.inf
    high: float = math.inf

    @property
    def itemsize(self) -> int:
        return np.dtype(self.numpy).itemsize if self.numpy else 0

    def expects(self) -> str:
        """What an element of this datatype is, for a message."""
        if self.family == "bool":
            return "true or false"
        if self.family == "bytes":
            return "a string"
        if self.family == "int":
            return f"a whole number from {int(self.low)} to {int(self.high)}"
        if math.isinf(self.high):
            return "a finite number"
        return f"a number from {self.low:g} to {self.high:g}"


def _int(bits: int, signed: bool) -> DataType:
    low = -(2 ** (bits - 1)) if signed else 0
    high = 2 ** (bits - 1) - 1 if signed else 2**bits - 1
    prefix = "INT" if signed else "UINT"
    return DataType(f"{prefix}{bits}", "int", f"<{'i' if signed else 'u'}{bits // 8}", low, high)


def _float(name: str, numpy: str) -> DataType:
    return DataType(name, "float", numpy, -FLOAT_RANGES[name], FLOAT_RANGES[name])


DATATYPES: dict[str, DataType] = {
    t.name: t
    for t in (
        DataType("BOOL", "bool", "|b1"),
        *(_int(bits, signed) for signed in (True, False) for bits in (8, 16, 32, 64)),
        _float("FP16", "<f2"),
        _float("FP32", "<f4"),
        _float("FP64", "<f8"),
        DataType("BYTES", "bytes"),
    )
}
TYPES_OF: dict[Family, frozenset[type]] = {
    "bool": frozenset({bool}),
    "int": frozenset({int}),
    "float": frozenset({int, float}),
    "bytes": frozenset({str}),
}


def datatype_of(tensor: str, name: Any) -> DataType:
    found = DATATYPES.get(name) if isinstance(name, str) else None
    if found is None:
        raise InvalidInputError(
            f"Input {tensor!r} declares the datatype {name!r}, which is not a v2 datatype.",
            hint=f"Use one of {', '.join(DATATYPES)}.",
        )
    return found


def check_shape(tensor: str, shape: Any) -> list[int]:
    """The shape as a list of non-negative integers, or a refusal naming the tensor."""
    ok = isinstance(shape, list) and all(type(d) is int and d >= 0 for d in shape)
    if not ok:
        raise InvalidInputError(
            f"Input {tensor!r} has the shape {_show(shape)}.",
            hint="A shape is a list of non-negative integers, such as [n] or [n, 1].",
        )
    return list(shape)


def element_count(shape: Sequence[int]) -> int:
    return math.prod(shape)


def flatten(tensor: str, data: Any, shape: Sequence[int]) -> list[Any]:
    """The data's elements in row-major order: given flat, or nested exactly as the shape."""
    if not isinstance(data, list):
        raise InvalidInputError(
            f"Input {tensor!r}: data must be a JSON array, got {_show(data)}.",
            hint="Send the elements as a flat array or nested as the shape.",
        )
    expected = element_count(shape)
    nested = list in set(map(type, data))
    flat = _unnest(tensor, data, list(shape)) if nested else data
    if len(flat) != expected:
        raise InvalidInputError(
            f"Input {tensor!r} has the shape {list(shape)} ({expected} elements) but its data "
            f"holds {len(flat)}.",
            hint="Make the shape's product equal to the number of elements sent.",
        )
    return flat


def _unnest(tensor: str, data: list[Any], shape: list[int]) -> list[Any]:
    if len(shape) < 2 or len(data) != shape[0]:
        raise InvalidInputError(
            f"Input {tensor!r}: its nested data does not have the shape {shape}.",
            hint="Nest the data exactly as the shape says, or send it flat.",
        )
    flat: list[Any] = []
    inner = shape[1:]
    for row in data:
        if not isinstance(row, list):
            raise InvalidInputError(
                f"Input {tensor!r}: its nested data mixes arrays and elements.",
                hint="Nest the data exactly as the shape says, or send it flat.",
            )
        innermost = len(inner) == 1 and len(row) == inner[0]
        flat.extend(row if innermost else _unnest(tensor, row, inner))
    return flat


def check_values(tensor: str, dtype: DataType, values: list[Any]) -> None:
    """Refuse the first element ``dtype`` cannot hold (``null`` is a missing value)."""
    allowed = TYPES_OF[dtype.family]
    present = set(map(type, values))
    present.discard(type(None))
    if not present <= allowed:
        index = next(i for i, v in enumerate(values) if v is not None and type(v) not in allowed)
        _refuse(tensor, dtype, index, values[index])
    if dtype.family == "int":
        _check_int_range(tensor, dtype, values)
    elif dtype.family == "float":
        _check_float_range(tensor, dtype, values)


def _check_int_range(tensor: str, dtype: DataType, values: list[Any]) -> None:
    numbers = [v for v in values if v is not None]
    if numbers and (min(numbers) < dtype.low or max(numbers) > dtype.high):
        index = next(
            i for i, v in enumerate(values) if v is not None and not dtype.low <= v <= dtype.high
        )
        _refuse(tensor, dtype, index, values[index])


def _check_float_range(tensor: str, dtype: DataType, values: list[Any]) -> None:
    numbers = None
    if len(values) > VECTOR_FROM:  # one numpy pass; a few elements are cheaper in Python
        try:
            numbers = np.array(values, dtype=np.float64)  # null: NaN, a missing value
        except OverflowError:  # an integer past float64's range
            numbers = None
    if numbers is not None:
        held = np.isnan(numbers) | (np.isfinite(numbers) & (np.abs(numbers) <= dtype.high))
        if held.all():
            return
    for index, value in enumerate(values):
        if value is None or value != value:
            continue
        if not _holds(dtype, value):
            _refuse(tensor, dtype, index, value)


def _holds(dtype: DataType, value: float) -> bool:
    try:
        number = float(value)
    except OverflowError:
        return False
    return math.isfinite(number) and abs(number) <= dtype.high


def _refuse(tensor: str, dtype: DataType, index: int, value: Any) -> None:
    raise InvalidInputError(
        f"Input {tensor!r} is {dtype.name}, but its element {index} is {_show(value)} "
        f"({type(value).__name__}).",
        hint=f"Send {dtype.expects()} for each {dtype.name} element (null for a missing value).",
    )


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."
