"""The prediction endpoints as plain ASGI, in front of FastAPI's request machinery.

FastAPI stays the API's definition: its routes publish the OpenAPI spec and answer every request
this layer does not take. For a well-formed prediction request, though, FastAPI's layers
(exception and exit-stack middlewares, route matching over every route, dependency solving,
``json.loads`` then validation) cost more CPU than the rest of the request; here the same request
is matched by one regular expression and its body parsed and validated in one step by
pydantic-core (``model_validate_json``), then handed to the same handler the FastAPI route calls.

Anything unusual goes to FastAPI unchanged, so errors keep one format: another method or path, a
body that is not JSON or fails validation (the buffered body is replayed to FastAPI, which
answers with its 422), a content type other than JSON. An endpoint without a ``body`` parameter
reads its body itself (the v2 ``infer``, which takes JSON of any content type and binary
tensors): it gets every request on its path, its body replayed. Errors the handler raises are
answered by ``on_error`` (the app's own exception handlers); an unexpected exception propagates
as it would from FastAPI.

The fast routes are derived from the app's own routes (:func:`fast_routes_of`): the endpoints
marked :func:`fast_path`, with their paths and body models. Such a route may not declare FastAPI
dependencies (the fast pipeline would skip them: building the app fails instead); what every
request must pass (body size, tokens) is the :class:`~atlas.serve.policy.Guard` in front of both
pipelines.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, get_type_hints

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path

from atlas.serve.policy import Disconnected, read_body, replay, route_path

Handler = Callable[..., Awaitable[Response]]
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]
F = TypeVar("F", bound=Callable[..., Any])
FAST_MARK = "__atlas_fast_path__"


def fast_path(endpoint: F) -> F:
    """Mark a ``POST`` endpoint (``(request, **path_params, body)``, or
    ``(request, **path_params)`` for one that reads its body itself) for the fast pipeline."""
    setattr(endpoint, FAST_MARK, True)
    return endpoint


@dataclass(frozen=True)
class FastRoute:
    """``POST path`` (a FastAPI-style template, e.g. ``/v1/models/{name}:predict``) whose JSON
    body is a ``model``, answered by ``handler(request, **path_params, body=parsed)``; without
    a model, by ``handler(request, **path_params)``, which reads the body itself."""

    path: str
    model: type[BaseModel] | None
    handler: Handler

    def pattern(self) -> re.Pattern[str]:
        """The path's regular expression, as Starlette compiles the same template."""
        return compile_path(self.path)[0]


class FastRoutes:
    """ASGI middleware serving ``routes`` directly; everything else goes to ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        routes: list[FastRoute],
        on_error: Callable[[Exception], Response | None],
    ) -> None:
        self.app = app
        self.routes = [(route.pattern(), route) for route in routes]
        self.on_error = on_error

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        match = self._match(scope)
        if match is None:
            await self.app(scope, receive, send)
            return
        params, route = match
        try:
            body = await read_body(receive)  # bounded by the Guard in front
        except Disconnected:  # the client went away: nobody to answer
            return
        assert body is not None
        if route.model is None:
            request = Request(scope, replay(body, receive))
            await self._answer(route.handler(request, **params), scope, receive, send)
            return
        try:
            parsed = route.model.model_validate_json(body)
        except ValidationError:  # FastAPI answers, in the API's one error format
            await self.app(scope, replay(body, receive), send)
            return
        answer = route.handler(Request(scope, receive), **params, body=parsed)
        await self._answer(answer, scope, receive, send)

    async def _answer(
        self, answer: Awaitable[Response], scope: Any, receive: Any, send: Any
    ) -> None:
        try:
            response = await answer
        except Exception as exc:
            handled = self.on_error(exc)
            if handled is None:
                raise
            response = handled
        await response(scope, receive, send)

    def _match(self, scope: Any) -> tuple[dict[str, str], FastRoute] | None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return None
        path = route_path(scope)  # behind a proxy's prefix: match as Starlette does
        for pattern, route in self.routes:
            found = pattern.match(path)
            if found is not None:
                takes = route.model is None or _is_json(scope)
                return (found.groupdict(), route) if takes else None
        return None


def _is_json(scope: Any) -> bool:
    for key, value in scope["headers"]:
        if key == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()  # FastAPI's rule: application/*json
            return media == b"application/json" or (
                media.startswith(b"application/") and media.endswith(b"+json")
            )
    return False


def fast_routes_of(app: FastAPI) -> list[FastRoute]:
    """The app's endpoints marked :func:`fast_path`, as fast routes; raises ``TypeError`` for
    one that declares FastAPI dependencies or is not a ``POST``."""
    found = []
    for route in iter_route_contexts(app.routes):  # included routers' routes, with prefixes
        endpoint = route.endpoint
        marked = endpoint is not None and getattr(endpoint, FAST_MARK, False)
        if not (isinstance(route.original_route, APIRoute) and marked):
            continue
        if route.dependant.dependencies or route.methods != {"POST"}:
            raise TypeError(
                f"{route.path} is marked fast_path but is not a plain POST without dependencies: "
                "the fast pipeline would skip them; put the check in atlas.serve.policy."
            )
        assert endpoint is not None
        found.append(FastRoute(str(route.path), get_type_hints(endpoint).get("body"), endpoint))
    return found
