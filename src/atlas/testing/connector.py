"""Conformance suite of an external-data connector (``atlas.serve.external.Connector``): the
declared fields come back typed, every failure is a ``ConnectorError`` (never another
exception), an unknown key does not trip the breaker, concurrent lookups work, ``aclose`` is
idempotent, and behind ``Guarded`` a failure becomes the declared fallback.

Each test runs its own event loop (``asyncio.run``): a connector is made inside it, as the
server makes its connectors inside its loop."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from atlas.serve.external import Connector, ConnectorError, Guarded, check_values
from atlas.serve.external.base import FIELD_TYPES

T = TypeVar("T")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)  # fullmatch: no "\n" after
CONCURRENT_LOOKUPS = 8
KEY_FIELD = "key"


def run(make: Callable[[], Connector], use: Callable[[Connector], Awaitable[T]]) -> T:
    """``use(connector)`` on a fresh event loop, the connector closed afterwards."""

    async def main() -> T:
        connector = make()
        try:
            return await use(connector)
        finally:
            await connector.aclose()

    return asyncio.run(main())


class ConnectorConformance:
    """Subclass and implement :meth:`make_connector` (its service knows :attr:`known_key`) and
    :meth:`make_failing_connector` (its service is down or answers errors); set
    :attr:`unknown_key` to a key the service does not know (``None``: not tested)."""

    known_key: str = "known"
    unknown_key: str | None = None

    def make_connector(self) -> Connector:
        raise NotImplementedError

    def make_failing_connector(self) -> Connector:
        raise NotImplementedError

    def request(self, key: str) -> dict[str, Any]:
        """The request record a lookup of ``key`` comes with."""
        return {KEY_FIELD: key}

    def test_declares_a_name_and_typed_fields(self) -> None:
        connector = self.make_connector()
        assert isinstance(connector.name, str) and IDENTIFIER.fullmatch(connector.name)
        assert connector.fields, "a connector declares at least one field"
        for name, kind in connector.fields.items():
            assert IDENTIFIER.fullmatch(name) and kind in FIELD_TYPES, (name, kind)
        asyncio.run(connector.aclose())

    def test_fetch_returns_the_declared_fields(self) -> None:
        async def use(connector: Connector) -> None:
            raw = await connector.fetch(self.known_key, self.request(self.known_key))
            values = check_values(connector.name, connector.fields, raw)  # raises if not
            assert set(values) == set(connector.fields)

        run(self.make_connector, use)

    def test_concurrent_fetches_all_answer(self) -> None:
        async def use(connector: Connector) -> None:
            key, request = self.known_key, self.request(self.known_key)
            answers = await asyncio.gather(
                *(connector.fetch(key, request) for _ in range(CONCURRENT_LOOKUPS))
            )
            typed = [check_values(connector.name, connector.fields, a) for a in answers]
            assert all(t == typed[0] for t in typed)

        run(self.make_connector, use)

    def test_a_failing_service_raises_connector_error(self) -> None:
        async def use(connector: Connector) -> None:
            with pytest.raises(ConnectorError) as caught:
                await connector.fetch(self.known_key, self.request(self.known_key))
            assert str(caught.value), "the error says what failed"

        run(self.make_failing_connector, use)

    def test_an_unknown_key_does_not_trip_the_breaker(self) -> None:
        if self.unknown_key is None:
            pytest.skip("this connector declares no unknown key")
        unknown = self.unknown_key

        async def use(connector: Connector) -> None:
            with pytest.raises(ConnectorError) as caught:
                await connector.fetch(unknown, self.request(unknown))
            assert caught.value.trips is False

        run(self.make_connector, use)

    def test_aclose_is_idempotent(self) -> None:
        async def use(connector: Connector) -> None:
            await connector.fetch(self.known_key, self.request(self.known_key))
            await connector.aclose()
            await connector.aclose()

        run(self.make_connector, use)
        unused = self.make_connector()
        asyncio.run(unused.aclose())  # never used: nothing to release, no error

    def test_behind_guarded_failures_become_the_fallback(self) -> None:
        async def live(connector: Connector) -> None:
            outcome = await Guarded(connector, key=KEY_FIELD).get(self.request(self.known_key))
            assert outcome.source == "live", outcome.error
            assert set(outcome.values) == set(connector.fields)

        async def failing(connector: Connector) -> None:
            guarded = Guarded(connector, key=KEY_FIELD, timeout_s=5.0)
            outcome = await guarded.get(self.request(self.known_key))
            assert outcome.source == "fallback" and outcome.error
            assert outcome.values == dict.fromkeys(connector.fields)  # "missing" fallback

        run(self.make_connector, live)
        run(self.make_failing_connector, failing)
