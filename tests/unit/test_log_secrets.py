"""No secret from the environment reaches a log line, however it is logged."""

from __future__ import annotations

import os
import subprocess
import sys

from breakout.common.logging import MASK, SecretMasker, secrets_in

API_KEY = "sk-live-7f3a9c0e1b2d"
DB_PASSWORD = "pg-pass-9931xq"

# A child process, so the logging configuration and stderr are its own.
PROGRAM = f"""
import logging, structlog
from breakout.common.logging import configure_logging
configure_logging("test")
log = structlog.get_logger()
log.info("connecting", url="postgresql://app:{DB_PASSWORD}@db:5432/x", nested={{"k": "{API_KEY}"}})
log.warning("signed request", query="apiKey={API_KEY}&signature=abc")
try:
    raise RuntimeError("exchange said: bad key {API_KEY}")
except RuntimeError:
    log.exception("order failed")
logging.getLogger("ccxt").warning("request headers %s", {{"X-MBX-APIKEY": "{API_KEY}"}})
try:
    raise ValueError("{DB_PASSWORD}")
except ValueError:
    logging.getLogger("asyncpg").exception("pool error")
"""


def test_secrets_are_found_by_name_and_inside_urls() -> None:
    env = {
        "BINANCE_API_KEY": API_KEY,
        "DATABASE_URL": f"postgresql://app:{DB_PASSWORD}@db/x",
        "NATS_URL": "nats://127.0.0.1:4222",
        "SHORT_TOKEN": "abc",
        "HOME": "/root",
    }
    assert secrets_in(env) == sorted([API_KEY, DB_PASSWORD], key=len, reverse=True)
    masker = SecretMasker(secrets_in(env))
    assert masker.mask(f"key={API_KEY}") == f"key={MASK}"


def test_a_process_with_keys_set_never_logs_them() -> None:
    env = {
        **os.environ,
        "BINANCE_API_KEY": API_KEY,
        "DATABASE_URL": f"postgresql://app:{DB_PASSWORD}@127.0.0.1:5432/x",
    }
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], env=env, capture_output=True, text=True, check=True
    )
    logs = done.stderr
    assert "order failed" in logs and "pool error" in logs and "request headers" in logs
    assert "RuntimeError" in logs and "Traceback" in logs  # tracebacks are kept, only masked
    assert API_KEY not in logs and DB_PASSWORD not in logs
    assert logs.count(MASK) >= 6
