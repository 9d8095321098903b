"""structlog JSON logs; correlation ids travel in context variables; secrets never printed.

Every value of an environment variable that names a secret (`*KEY*`, `*SECRET*`, `*TOKEN*`,
`*PASSWORD*`, `*PASSPHRASE*`) and every password inside a URL in the environment
(`postgresql://user:pw@…`, `nats://user:pw@…`) is replaced by `***` in every log line —
event fields, exception tracebacks and stdlib `logging` records alike — whatever code logged
it. A library that prints a request with its signature or a DSN in an error cannot leak it.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any
from urllib.parse import urlsplit

import structlog

_SECRET_NAME = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|PASSPHRASE|PRIVATE", re.IGNORECASE)
_MIN_SECRET_LEN = 6  # shorter values ("1", "true") would redact ordinary words
MASK = "***"


def secrets_in(environ: Mapping[str, str]) -> list[str]:
    """The secret values an environment holds, longest first (so none is masked half-way)."""
    found: set[str] = set()
    for name, value in environ.items():
        if _SECRET_NAME.search(name) and len(value) >= _MIN_SECRET_LEN:
            found.add(value)
        if "://" in value:
            try:
                password = urlsplit(value).password
            except ValueError:
                password = None
            if password and len(password) >= _MIN_SECRET_LEN:
                found.add(password)
    return sorted(found, key=len, reverse=True)


class SecretMasker:
    """Replaces known secret values inside any string of a log event."""

    def __init__(self, secrets: list[str]) -> None:
        self.secrets = secrets

    def mask(self, text: str) -> str:
        """`text` with every secret replaced by `***`."""
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, dict):
            return {k: self._value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self._value(v) for v in value)
        if self.secrets and not isinstance(value, (int, float, bool, type(None))):
            masked = self.mask(repr(value))
            return masked if masked != repr(value) else value
        return value

    def __call__(
        self, _logger: Any, _method: str, event: MutableMapping[str, Any]
    ) -> dict[str, Any]:
        """A structlog processor."""
        return {key: self._value(value) for key, value in event.items()}


class _MaskingFilter(logging.Filter):
    def __init__(self, masker: SecretMasker) -> None:
        super().__init__()
        self.masker = masker

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.masker.mask(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = self.masker.mask(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def configure_logging(service: str, level: str = "INFO", json: bool = True) -> None:
    """Route structlog and stdlib logging to one JSON (or console) stream on stderr."""
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer()
    )
    masker = SecretMasker(secrets_in(os.environ))
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            masker,  # after the traceback is text, before anything is printed
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(message)s")
    for handler in logging.getLogger().handlers:
        handler.filters = [f for f in handler.filters if not isinstance(f, _MaskingFilter)]
        handler.addFilter(_MaskingFilter(masker))
