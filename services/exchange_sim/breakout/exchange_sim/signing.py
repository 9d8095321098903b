"""Binance request signing (HMAC-SHA256) and the checks of signed endpoints.

Binance signs `totalParams`: the query string followed by the request body, without the
`signature` parameter itself, with the account's secret. Checks run in Binance's order: the API
key (-2014/-2015, HTTP 401), the signature (-1022), then the timestamp against the receive
window (-1021). The clock here is the server's wall clock, passed in: a signed request guards
against replay in real time, whatever speed the market simulation runs at.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from urllib.parse import parse_qsl

from breakout.exchange_sim import errors
from breakout.exchange_sim.accounts import Account, Accounts

DEFAULT_RECV_WINDOW_MS = 5_000
MAX_RECV_WINDOW_MS = 60_000
MAX_AHEAD_MS = 1_000
_SIGNATURE_RE = re.compile(r"(?:^|&)signature=([^&]*)")


def sign(secret: str, payload: str) -> str:
    """Hex HMAC-SHA256 of `payload` with `secret`, as Binance expects."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def split_signature(text: str) -> tuple[str, str | None]:
    """Remove `signature=...` from a query or body; return the rest and the signature."""
    match = _SIGNATURE_RE.search(text)
    if match is None:
        return text, None
    rest = text[: match.start()] + text[match.end() :]
    if match.group(0).startswith("&") or not rest.startswith("&"):
        return rest, match.group(1)
    return rest[1:], match.group(1)


def parse_params(query: str, body: str) -> dict[str, str]:
    """Parameters of a request: query string and form body (the body wins on a clash)."""
    params = dict(parse_qsl(query, keep_blank_values=True))
    params.update(parse_qsl(body, keep_blank_values=True))
    return params


def _int_param(params: dict[str, str], name: str) -> int:
    text = params.get(name)
    if text is None or text == "":
        raise errors.mandatory(name)
    if not text.lstrip("-").isdigit():
        raise errors.bad_value(name)
    return int(text)


def verify_signed(
    accounts: Accounts, api_key: str | None, query: str, body: str, wall_ms: int
) -> tuple[Account, dict[str, str]]:
    """The account of a correctly signed, timely request and its parameters, or the error."""
    if not api_key:
        raise errors.BinanceError(-2014, "API-key format invalid.", status=401)
    account = accounts.get(api_key)
    query_rest, query_sig = split_signature(query)
    body_rest, body_sig = split_signature(body)
    signature = query_sig or body_sig
    if not signature:
        raise errors.mandatory("signature")
    expected = sign(account.secret, query_rest + body_rest)
    if not hmac.compare_digest(expected, signature.lower()):
        raise errors.bad_signature()
    params = parse_params(query_rest, body_rest)
    timestamp = _int_param(params, "timestamp")
    recv_window = (
        _int_param(params, "recvWindow") if params.get("recvWindow") else DEFAULT_RECV_WINDOW_MS
    )
    if not 0 < recv_window <= MAX_RECV_WINDOW_MS:
        raise errors.BinanceError(-1131, "recvWindow must be less than 60000")
    if timestamp > wall_ms + MAX_AHEAD_MS:
        raise errors.BinanceError(
            -1021, "Timestamp for this request was 1000ms ahead of the server's time."
        )
    if wall_ms - timestamp > recv_window:
        raise errors.outside_recv_window()
    return account, params


def verify_ws_params(accounts: Accounts, params: dict[str, object], wall_ms: int) -> Account:
    """The account of a signed websocket-API request (params sorted by key, then signed)."""
    api_key = params.get("apiKey")
    signature = params.get("signature")
    if not isinstance(api_key, str) or not api_key:
        raise errors.mandatory("apiKey")
    account = accounts.get(api_key)
    if not isinstance(signature, str) or not signature:
        raise errors.mandatory("signature")
    payload = "&".join(f"{k}={_ws_text(v)}" for k, v in sorted(params.items()) if k != "signature")
    if not hmac.compare_digest(sign(account.secret, payload), signature.lower()):
        raise errors.bad_signature()
    text = {k: _ws_text(v) for k, v in params.items()}
    timestamp = _int_param(text, "timestamp")
    recv_window = _int_param(text, "recvWindow") if "recvWindow" in text else DEFAULT_RECV_WINDOW_MS
    if timestamp > wall_ms + MAX_AHEAD_MS or wall_ms - timestamp > recv_window:
        raise errors.outside_recv_window()
    return account


def _ws_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
