"""Per-installation secret keys: a hex string from a setting, or a file made once, 0600.

A key file holds ``secrets.token_bytes(KEY_BYTES)`` as one line of hex. It is created on first
use under a temporary name with mode 0600 and linked into place, so two processes that race get
the same key (the one that links first wins, the other reads it) and no reader ever sees a
half-written file. Several hosts of one installation share a key by setting the same hex string
(the file's content) in their settings.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import uuid
from pathlib import Path

from atlas.core.errors import ConfigError
from atlas.core.logging import get_logger

KEY_BYTES = 32
MIN_KEY_BYTES = 16  # a configured key shorter than this is refused
KEY_FILE_MODE = 0o600
_OTHERS = stat.S_IRWXG | stat.S_IRWXO

log = get_logger(__name__)


def parse_key(text: str, source: str) -> bytes:
    """The bytes of a hex key read from ``source`` (a setting's or a file's name)."""
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise ConfigError(
            f"The key in {source} is not hexadecimal.",
            hint=f"Use {KEY_BYTES * 2} hex digits, e.g. python -c "
            f"'import secrets; print(secrets.token_hex({KEY_BYTES}))'.",
        ) from None
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(
            f"The key in {source} has {len(key)} bytes; at least {MIN_KEY_BYTES} are needed.",
            hint=f"Use {KEY_BYTES * 2} hex digits (secrets.token_hex({KEY_BYTES})).",
        )
    return key


def key_file(path: Path) -> bytes:
    """The key kept in ``path``, created (0600, atomically, once) when there is none."""
    if not path.exists():
        _create(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(
            f"Cannot read the key file {path}: {exc.strerror or exc}.",
            hint="Give the user running ATLAS read access to it (mode 0600).",
        ) from None
    if path.stat().st_mode & _OTHERS:
        log.warning("key_file_readable_by_others", path=str(path), fix=f"chmod 600 {path}")
    return parse_key(text, str(path))


def _create(path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, KEY_FILE_MODE)
        with os.fdopen(fd, "w") as fh:
            os.fchmod(fh.fileno(), KEY_FILE_MODE)  # whatever the umask
            fh.write(secrets.token_bytes(KEY_BYTES).hex() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):  # another process made it first: its key
            os.link(tmp, path)
    except OSError as exc:
        raise ConfigError(
            f"Cannot create the key file {path}: {exc.strerror or exc}.",
            hint="Make ATLAS_HOME writable, or set the key in the settings.",
        ) from None
    finally:
        tmp.unlink(missing_ok=True)
