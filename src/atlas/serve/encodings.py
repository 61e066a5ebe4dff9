"""A request body sent compressed (``Content-Encoding: gzip`` or ``deflate``, as Triton's client
sends with ``request_compression_algorithm``), decompressed up to the server's body limit: a
small body that inflates past it is a 413, as an oversize body is."""

from __future__ import annotations

import zlib

from atlas.core.errors import InvalidInputError
from atlas.serve.policy import PayloadTooLarge

# zlib's window bits: a gzip stream, and a zlib stream (what HTTP's "deflate" means)
WINDOW_BITS = {"gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
IDENTITY = ("", "identity")


def decoded(body: bytes, encoding: str | None, max_bytes: int) -> bytes:
    """``body`` as sent before its ``Content-Encoding``, at most ``max_bytes`` long."""
    name = (encoding or "").strip().lower()
    if name in IDENTITY:
        return body
    bits = WINDOW_BITS.get(name)
    if bits is None:
        raise InvalidInputError(
            f"The body's Content-Encoding is {encoding!r}.",
            hint="Send it uncompressed, or with Content-Encoding gzip or deflate.",
        )
    inflater = zlib.decompressobj(bits)
    try:
        plain = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise InvalidInputError(
            f"The body is not valid {name} data ({exc}).",
            hint=f"Compress the whole body with {name}, or send it uncompressed.",
        ) from None
    if len(plain) > max_bytes:
        raise PayloadTooLarge(
            f"The body inflates past {max_bytes} bytes.", hint="Send fewer rows per request."
        )
    if not inflater.eof:
        raise InvalidInputError(
            f"The body's {name} data ends early.",
            hint=f"Compress the whole body with {name}, or send it uncompressed.",
        )
    return plain
