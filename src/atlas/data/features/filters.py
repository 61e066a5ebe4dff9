"""A small filter language for sample selection, parsed here and never pasted into SQL.

    amount > 100 and region in ("north", "south") and not (flag = true or note is null)

Grammar: ``or``/``and``/``not`` with parentheses; comparisons ``column OP literal`` with OP one
of ``= == != <> < <= > >=``; ``column [not] in (literal, ...)``; ``column is [not] null``.
Literals are numbers, quoted strings ('..' or ".."), ``true``/``false``; names are identifiers
or `back-quoted`. :func:`parse_filter` gives a tree; :func:`bind` checks it against a schema
(unknown columns and wrong types are errors); :func:`to_sql` renders parameterized SQL whose
identifiers come from the schema and whose values are all ``?`` parameters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from atlas.core.errors import InvalidInputError
from atlas.data.features.timestamps import to_utc

_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<op>==|!=|<>|<=|>=|=|<|>|\(|\)|,)|(?P<name>[A-Za-z_][A-Za-z0-9_]*|`[^`]+`))"
)
_KEYWORDS = {"and", "or", "not", "in", "is", "null", "true", "false"}
_OPS = {"=": "=", "==": "=", "!=": "<>", "<>": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_NUMERIC = {"int64", "float64"}


@dataclass(frozen=True)
class Compare:
    column: str
    op: str
    value: Any


@dataclass(frozen=True)
class InList:
    column: str
    values: tuple[Any, ...]
    negated: bool = False


@dataclass(frozen=True)
class IsNull:
    column: str
    negated: bool = False


@dataclass(frozen=True)
class And:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    part: Node


Node = Compare | InList | IsNull | And | Or | Not


def _bad(text: str, why: str) -> InvalidInputError:
    return InvalidInputError(
        f"Cannot read the filter {text!r}: {why}.",
        hint='Write it like: amount > 100 and region in ("north", "south") and note is not null',
    )


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos, end = 0, len(text.rstrip())
    while pos < end:
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise _bad(text, f"unexpected character at position {pos}: {text[pos : pos + 10]!r}")
        pos = m.end()
        kind = m.lastgroup or ""
        raw = m.group(kind)
        if kind == "num":
            out.append(("lit", float(raw) if any(c in raw for c in ".eE") else int(raw)))
        elif kind == "str":
            out.append(("lit", re.sub(r"\\(.)", r"\1", raw[1:-1])))
        elif kind == "name" and raw.lower() in _KEYWORDS:
            word = raw.lower()
            value = {"true": True, "false": False}.get(word)
            out.append(("lit", value) if value is not None else ("kw", word))
        elif kind == "name":
            out.append(("name", raw.strip("`")))
        else:
            out.append(("op", raw))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.toks, self.i = text, _tokens(text), 0

    def peek(self, kind: str, value: Any = None) -> bool:
        if self.i >= len(self.toks):
            return False
        k, v = self.toks[self.i]
        return k == kind and (value is None or v == value)

    def take(self, kind: str, value: Any = None, what: str = "") -> Any:
        if not self.peek(kind, value):
            got = repr(self.toks[self.i][1]) if self.i < len(self.toks) else "the end"
            raise _bad(self.text, f"expected {what or value or kind} but found {got}")
        self.i += 1
        return self.toks[self.i - 1][1]

    def parse(self) -> Node:
        node = self.or_()
        if self.i != len(self.toks):
            raise _bad(self.text, f"unexpected {self.toks[self.i][1]!r}")
        return node

    def or_(self) -> Node:
        parts = [self.and_()]
        while self.peek("kw", "or"):
            self.i += 1
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def and_(self) -> Node:
        parts = [self.not_()]
        while self.peek("kw", "and"):
            self.i += 1
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def not_(self) -> Node:
        if self.peek("kw", "not"):
            self.i += 1
            return Not(self.not_())
        if self.peek("op", "("):
            self.i += 1
            node = self.or_()
            self.take("op", ")")
            return node
        return self.predicate()

    def predicate(self) -> Node:
        column = self.take("name", what="a column name")
        if self.peek("kw", "is"):
            self.i += 1
            negated = self.peek("kw", "not")
            self.i += negated
            self.take("kw", "null")
            return IsNull(column, negated)
        negated = self.peek("kw", "not")
        if negated or self.peek("kw", "in"):
            self.i += negated
            self.take("kw", "in")
            self.take("op", "(")
            values = [self.literal()]
            while self.peek("op", ","):
                self.i += 1
                values.append(self.literal())
            self.take("op", ")")
            return InList(column, tuple(values), negated)
        op = self.take("op", what="a comparison (=, !=, <, <=, >, >=, in, is)")
        if op not in _OPS:
            raise _bad(self.text, f"{op!r} is not a comparison")
        if self.peek("kw", "null"):
            raise _bad(self.text, f"compare with null using '{column} is null'")
        return Compare(column, _OPS[op], self.literal())

    def literal(self) -> Any:
        return self.take("lit", what="a value (number, 'text', true or false)")


def parse_filter(text: str) -> Node:
    """The tree of a filter expression; a syntax error names the position."""
    if not isinstance(text, str) or not text.strip():
        raise _bad(str(text), "it is empty")
    return _Parser(text).parse()


def bind(node: Node, schema: Mapping[str, str]) -> Node:
    """Check columns and literal types against ``schema`` (column -> atlas dtype)."""
    if isinstance(node, And | Or):
        return type(node)(tuple(bind(p, schema) for p in node.parts))
    if isinstance(node, Not):
        return Not(bind(node.part, schema))
    if node.column not in schema:
        raise InvalidInputError(
            f"The filter names the column {node.column!r}, which the samples do not have.",
            hint=f"Known columns: {', '.join(sorted(schema))}.",
        )
    if isinstance(node, IsNull):
        return node
    dtype = schema[node.column]
    if isinstance(node, Compare):
        return Compare(node.column, node.op, _value(node.column, dtype, node.value, node.op))
    values = tuple(_value(node.column, dtype, v, "in") for v in node.values)
    return InList(node.column, values, node.negated)


def _value(column: str, dtype: str, value: Any, op: str) -> Any:
    ok = (
        (dtype in _NUMERIC and isinstance(value, int | float) and not isinstance(value, bool))
        or (dtype == "string" and isinstance(value, str))
        or (dtype == "bool" and isinstance(value, bool) and op in ("=", "<>", "in"))
        or (dtype == "timestamp" and isinstance(value, str))
    )
    if not ok:
        raise InvalidInputError(
            f"The filter compares {column!r} ({dtype}) with {value!r} ({type(value).__name__}).",
            hint="Compare numbers with numbers, strings with 'quoted text', booleans with "
            "true/false using =, and timestamps with 'ISO 8601' text.",
        )
    return to_utc(value, f"value for {column!r}") if dtype == "timestamp" else value


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def to_sql(node: Node) -> tuple[str, list[Any]]:
    """Parameterized SQL of a bound tree: identifiers quoted, every value a ``?``."""
    if isinstance(node, And | Or):
        parts = [to_sql(p) for p in node.parts]
        joiner = " AND " if isinstance(node, And) else " OR "
        return "(" + joiner.join(s for s, _ in parts) + ")", [v for _, ps in parts for v in ps]
    if isinstance(node, Not):
        sql, params = to_sql(node.part)
        return f"(NOT {sql})", params
    col = quote(node.column)
    if isinstance(node, IsNull):
        return f"({col} IS {'NOT ' if node.negated else ''}NULL)", []
    if isinstance(node, Compare):
        return f"({col} {node.op} ?)", [node.value]
    marks = ", ".join("?" for _ in node.values)
    return f"({col} {'NOT ' if node.negated else ''}IN ({marks}))", list(node.values)
