"""Structured logging with structlog over the standard library's ``logging``.

Library code only gets loggers (:func:`get_logger`): it configures nothing, so importing or
using ATLAS leaves the process's logging as its owner set it. Events go to the standard
library's logger of the same name; until someone configures logging, Python prints warnings and
errors only, to stderr. An application (the ``atlas`` command) calls :func:`configure_logging`
once: readable lines on a terminal, JSON lines in production.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

NOISY_LIBRARIES = ("alembic", "optuna", "lightgbm")  # kept at WARNING or above

# what every event goes through before the standard library's logging takes it over
_PROCESSORS: list[Any] = [
    structlog.stdlib.filter_by_level,
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
]
_handler: logging.Handler | None = None  # the one configure_logging installed


def get_logger(name: str) -> Any:
    """A structlog logger that writes to the standard library's logger ``name``."""
    return structlog.wrap_logger(
        logging.getLogger(name),
        processors=_PROCESSORS,
        wrapper_class=structlog.stdlib.BoundLogger,
    )


def configure_logging(level: str = "WARNING", fmt: str = "console") -> None:
    """Route every logger (ATLAS's and the libraries') to stderr at ``level``, rendered as
    console lines or JSON (``fmt``). For applications; calling it again replaces the set-up."""
    global _handler
    numeric = logging.getLevelName(level.upper())
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[
                structlog.stdlib.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
            ],
        )
    )
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    root.addHandler(handler)
    root.setLevel(numeric)
    _handler = handler
    for noisy in NOISY_LIBRARIES:
        logging.getLogger(noisy).setLevel(max(numeric, logging.WARNING))
