"""The prediction endpoints as plain ASGI, in front of FastAPI's request machinery.

FastAPI stays the API's definition: its routes publish the OpenAPI spec and answer every request
this layer does not take. For a well-formed prediction request, though, FastAPI's layers
(exception and exit-stack middlewares, route matching over every route, dependency solving,
``json.loads`` then validation) cost more CPU than the rest of the request; here the same request
is matched by one regular expression and its body parsed and validated in one step by
pydantic-core (``model_validate_json``), then handed to the same handler the FastAPI route calls.

Anything unusual goes to FastAPI unchanged, so errors keep one format: another method or path, a
body that is not JSON or fails validation (the buffered body is replayed to FastAPI, which
answers with its 422), a content type other than JSON. Errors the handler raises are answered by
``on_error`` (the app's own exception handlers); an unexpected exception propagates as it would
from FastAPI. A body streamed without Content-Length is cut off at ``max_bytes`` with
``too_large()`` (bodies that declare their length are checked before, by ``BodyLimit``).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.responses import Response
from starlette.routing import compile_path

Handler = Callable[..., Awaitable[Response]]
ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]


@dataclass(frozen=True)
class FastRoute:
    """``POST path`` (a FastAPI-style template, e.g. ``/v1/models/{name}:predict``) whose JSON
    body is a ``model``, answered by ``handler(**path_params, body=parsed)``."""

    path: str
    model: type[BaseModel]
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
        max_bytes: int,
        on_error: Callable[[Exception], Response | None],
        too_large: Callable[[], Response],
    ) -> None:
        self.app = app
        self.routes = [(route.pattern(), route) for route in routes]
        self.max_bytes = max_bytes
        self.on_error = on_error
        self.too_large = too_large

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        match = self._match(scope)
        if match is None:
            await self.app(scope, receive, send)
            return
        params, route = match
        try:
            body = await _read(receive, self.max_bytes)
        except _Disconnected:  # the client went away: nobody to answer
            return
        if body is None:  # a streamed body (no Content-Length) over the limit
            await self.too_large()(scope, receive, send)
            return
        try:
            parsed = route.model.model_validate_json(body)
        except ValidationError:  # FastAPI answers, in the API's one error format
            await self.app(scope, _replay(body, receive), send)
            return
        try:
            response = await route.handler(**params, body=parsed)
        except Exception as exc:
            handled = self.on_error(exc)
            if handled is None:
                raise
            response = handled
        await response(scope, receive, send)

    def _match(self, scope: Any) -> tuple[dict[str, str], FastRoute] | None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return None
        path, root = scope["path"], scope.get("root_path", "")
        if root and path.startswith(root):  # behind a proxy's prefix: match as Starlette does
            path = path[len(root) :]
        for pattern, route in self.routes:
            found = pattern.match(path)
            if found is not None:
                return (found.groupdict(), route) if _is_json(scope) else None
        return None


def _is_json(scope: Any) -> bool:
    for key, value in scope["headers"]:
        if key == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()  # FastAPI's rule: application/*json
            return media == b"application/json" or (
                media.startswith(b"application/") and media.endswith(b"+json")
            )
    return False


class _Disconnected(Exception):
    pass


async def _read(receive: Any, max_bytes: int) -> bytes | None:
    """The whole body, or None once it passes ``max_bytes`` (a body without Content-Length)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def _replay(body: bytes, receive: Any) -> Any:
    """A ``receive`` that gives ``body`` once, then what the client sends next."""
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
