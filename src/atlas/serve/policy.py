"""What every request must pass before any route answers it, in one place.

:class:`Guard` is the app's outermost ASGI layer: it sits in front of both request pipelines
(the plain-ASGI fast routes and FastAPI's routes), so neither can skip a check, and a check
added to :class:`RequestPolicy` holds for both at once. It enforces:

- the body size: a declared ``Content-Length`` over ``max_body_bytes`` is refused before a
  byte is read; a body streamed without one is read up to the limit, then handed on whole;
- bearer tokens per path prefix: the management API (``/v1/admin``) needs ``admin_token`` and
  is disabled (403) without one; the label route (``/v1/models/{name}/labels``) needs
  ``labels_token``, else ``admin_token``, and is disabled without either; the other model
  routes (``/v1/models``, ``/v2/models``) need ``api_token`` when one is configured. The first
  rule that covers a path decides. The token counts only in one
  ``Authorization: Bearer <token>`` header (not bare, not twice), and is compared as the bytes
  sent, in constant time: a header with any bytes (non-ASCII, control characters, huge) is a
  401, never a 500.

Per-request limits that need the parsed body (records per request) or the server's state
(requests in flight) live in the handlers and the prediction service, which both pipelines
call. Routes served by the fast pipeline may not declare FastAPI dependencies (see
:func:`atlas.serve.fast_routes.fast_routes_of`): a check belongs here instead.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from atlas.core.errors import AtlasError
from atlas.serve import responses

ASGIApp = Callable[[Any, Any, Any], Awaitable[None]]
ADMIN_PREFIX = "/v1/admin"
MODEL_PREFIXES = ("/v1/models", "/v2/models", "/v2/repository")
LABELS_PATH = re.compile(r"/v1/models/[^/]+/labels")
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
BEARER = b"bearer"
MAX_LENGTH_DIGITS = 19  # a Content-Length longer than this is past any body limit (int64)


class Forbidden(AtlasError):
    http_status = 403


class Unauthorized(AtlasError):
    http_status = 401


class PayloadTooLarge(AtlasError):
    http_status = 413


@dataclass(frozen=True)
class TokenRule:
    """Paths under ``prefixes`` need ``Authorization: Bearer <token>``. Without a token they
    are open, or refused with 403 when ``required`` (a disabled API is never open)."""

    prefixes: tuple[str, ...]
    token: str | None
    setting: str  # what to configure, for the hint
    required: bool = False
    pattern: re.Pattern[str] | None = None  # when set, the whole path must match it too

    def covers(self, path: str) -> bool:
        whole = self.pattern is None or self.pattern.fullmatch(path) is not None
        return path.startswith(self.prefixes) and whole

    def check(self, authorization: list[bytes]) -> None:
        """``authorization``: the request's Authorization header values, as sent (bytes)."""
        if not self.token:
            if self.required:
                raise Forbidden(
                    f"The API under {self.prefixes[0]} is disabled.",
                    hint=f"Start the server with {self.setting} set.",
                )
            return
        given = bearer_token(authorization)
        # constant time whatever the token's length or content: compare fixed-size digests
        if given is None or not hmac.compare_digest(_digest(given), _digest(self.token.encode())):
            raise Unauthorized(
                "A valid bearer token is required.",
                hint=f"Send one header 'Authorization: Bearer <{self.setting}>'.",
            )


def bearer_token(values: list[bytes]) -> bytes | None:
    """The token of exactly one ``Authorization: Bearer <token>`` header (the scheme's case
    aside, RFC 7235), or None: no header, several, another scheme, or no token."""
    if len(values) != 1:
        return None
    scheme, _, token = values[0].strip().partition(b" ")
    token = token.strip()
    if scheme.lower() != BEARER or not token:
        return None
    return token


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


@dataclass(frozen=True)
class RequestPolicy:
    """The checks of every request: body size and the bearer tokens of each path prefix."""

    max_body_bytes: int
    tokens: tuple[TokenRule, ...] = ()

    @classmethod
    def of(
        cls,
        max_body_bytes: int,
        admin_token: str | None,
        api_token: str | None,
        labels_token: str | None = None,
    ) -> RequestPolicy:
        return cls(
            max_body_bytes,
            (
                TokenRule((ADMIN_PREFIX,), admin_token, "ATLAS_ADMIN_TOKEN", required=True),
                TokenRule(
                    ("/v1/models/",),
                    labels_token or admin_token,
                    "labels_token in the server config (else ATLAS_ADMIN_TOKEN)",
                    required=True,
                    pattern=LABELS_PATH,
                ),
                TokenRule(MODEL_PREFIXES, api_token, "api_token in the server config"),
            ),
        )

    def check(self, scope: Any) -> None:
        """Raise the refusal of a request by its head (path and headers), if any. Header
        values are compared as the bytes sent: any byte a client sends is a 4xx at worst."""
        lengths = _values(scope, b"content-length")
        if lengths and not all(self._fits(length) for length in lengths):
            raise self.too_large()
        path = route_path(scope)
        for rule in self.tokens:
            if rule.covers(path):
                rule.check(_values(scope, b"authorization"))
                return

    def _fits(self, length: bytes) -> bool:
        digits = length.strip()
        return (
            len(digits) <= MAX_LENGTH_DIGITS
            and digits.isdigit()
            and (int(digits) <= self.max_body_bytes)
        )

    def too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"The body is over {self.max_body_bytes} bytes.", hint="Send fewer records per request."
        )


def route_path(scope: Any) -> str:
    """The path as the app's routes see it (behind a proxy's ``root_path``, without it)."""
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


class Guard:
    """ASGI middleware applying ``policy`` to every HTTP request before ``app`` sees it."""

    def __init__(self, app: ASGIApp, policy: RequestPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            self.policy.check(scope)
            streamed = scope["method"] in BODY_METHODS and not _declares_length(scope)
            if streamed:  # no Content-Length: read it here, bounded, and hand it on whole
                body = await read_body(receive, self.policy.max_body_bytes)
                if body is None:
                    raise self.policy.too_large()
                receive = replay(body, receive)
        except AtlasError as exc:
            await responses.from_error(exc)(scope, receive, send)
            return
        except Disconnected:  # the client went away: nobody to answer
            return
        await self.app(scope, receive, send)


def _declares_length(scope: Any) -> bool:
    return bool(_values(scope, b"content-length"))


def _values(scope: Any, name: bytes) -> list[bytes]:
    """Every value of header ``name`` (lower case, as ASGI servers pass names)."""
    return [value for key, value in scope["headers"] if key == name]


class Disconnected(Exception):
    """The client went away before its body arrived."""


async def read_body(receive: Any, max_bytes: int | None = None) -> bytes | None:
    """The whole body, or None once it passes ``max_bytes``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def replay(body: bytes, receive: Any) -> Any:
    """A ``receive`` that gives ``body`` once, then what the client sends next."""
    sent = False

    async def again() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again
