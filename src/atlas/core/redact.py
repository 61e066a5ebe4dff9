"""Redaction of URLs that may carry secrets, for messages, logs and ``repr``.

An artifact store URL can hold credentials: ``https://user:pass@host/x?token=...`` or
``s3://bucket/path?access_key=...&secret=...``. :func:`redact_url` replaces the user and password
and every query value (and a fragment) by ``***`` and keeps the query keys, so a user still sees
which parameter is wrong; :func:`scrub` does the same to a text (a library's error message) that
may quote the URL or one of its secrets.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit, urlunsplit

MASK = "***"
UNPARSEABLE = "<a URL that cannot be parsed>"


def _parts(url: str) -> tuple[str, str, str, str, str] | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  # raises on a malformed port
    except ValueError:
        return None
    return parts.scheme, parts.netloc, parts.path, parts.query, parts.fragment


def _query_pairs(query: str) -> list[tuple[str, str]]:
    return parse_qsl(query, keep_blank_values=True)


def redact_url(url: str) -> str:
    """``url`` with its user:password and every query value (and fragment) as ``***``."""
    parts = _parts(url)
    if parts is None:
        return UNPARSEABLE
    scheme, netloc, path, query, fragment = parts
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rsplit('@', 1)[1]}"
    if query:
        query = "&".join(f"{key}={MASK}" for key, _value in _query_pairs(query)) or MASK
    if fragment:
        fragment = MASK
    return urlunsplit((scheme, netloc, path, query, fragment))


def secrets_of(url: str) -> list[str]:
    """The secret pieces of ``url`` (user, password, query values, fragment), longest first."""
    parts = _parts(url)
    if parts is None:
        return [url]
    _scheme, netloc, _path, query, fragment = parts
    found: list[str] = []
    if "@" in netloc:
        userinfo = netloc.rsplit("@", 1)[0]
        found += [userinfo, *userinfo.split(":", 1)]
    found += [value for _key, value in _query_pairs(query)]
    found += [query, fragment]
    return sorted({s for s in found if s}, key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    """``text`` with ``url`` shown redacted and none of its secrets left in it."""
    text = text.replace(url, redact_url(url))
    for secret in secrets_of(url):
        text = text.replace(secret, MASK)
    return text
