"""NewsAPI `/v2/everything` over the simulated news wire.

Supported: `q` (alternatives joined by ` OR `; a quoted phrase matches exactly, bare words must
all appear), `qInTitle`, `from` / `to` (ISO 8601), `pageSize` (at most 100), `page`, `sortBy`
and `language` (accepted; the wire is English and sorted by `publishedAt`). The key is read
from `apiKey`, `X-Api-Key` or `Authorization`, as NewsAPI does.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web

from breakout.exchange_sim.macro_headlines import SimArticle
from breakout.exchange_sim.macro_world import MacroWorld, at_ms

DEFAULT_LOOKBACK_MS = 7 * 24 * 3_600_000
NEWSAPI_RATE_LIMIT = (
    "You have made too many requests recently. Developer accounts are limited to 100 requests "
    "over a 24 hour period (50 requests available every 12 hours). Please upgrade to a paid "
    "plan if you need more requests."
)
MISSING_PARAMETERS = (
    "Required parameters are missing, the scope of your search is too broad. Please set any of "
    "the following required parameters and try again: q, qInTitle, sources, domains."
)


def newsapi_error(status: int, code: str, message: str) -> web.Response:
    """A NewsAPI error body: `{"status": "error", "code", "message"}`."""
    return web.json_response({"status": "error", "code": code, "message": message}, status=status)


def parse_iso(value: str) -> datetime:
    """An ISO 8601 date or datetime (a trailing `Z` allowed); naive values are UTC."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _key(request: web.Request) -> str | None:
    return (
        request.query.get("apiKey")
        or request.headers.get("X-Api-Key")
        or request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        or None
    )


def query_matcher(query: str) -> Callable[[str], bool]:
    """A predicate for NewsAPI's `q` syntax (OR of alternatives; phrases; AND of bare words)."""
    alternatives = []
    for part in re.split(r"\s+OR\s+", query.strip()):
        phrases = [p.lower() for p in re.findall(r'"([^"]+)"', part)]
        words = [w.lower() for w in re.sub(r'"[^"]+"|[()]', " ", part).split() if w != "AND"]
        alternatives.append((phrases, words))

    def matches(text: str) -> bool:
        lowered = text.lower()
        return any(
            all(p in lowered for p in phrases) and all(w in lowered for w in words)
            for phrases, words in alternatives
        )

    return matches


def article_json(article: SimArticle) -> dict[str, object]:
    """One article as NewsAPI lists it."""
    return {
        "source": {"id": article.source_id, "name": article.source_name},
        "author": article.author,
        "title": article.title,
        "description": article.description,
        "url": article.url,
        "urlToImage": f"{article.url}/image.jpg",
        "publishedAt": at_ms(article.published_ts_ms).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "content": article.content,
    }


def everything(world: MacroWorld) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """The `/v2/everything` handler of `world`."""

    async def handler(request: web.Request) -> web.StreamResponse:
        key = _key(request)
        if key is None:
            return newsapi_error(
                401,
                "apiKeyMissing",
                "Your API key is missing. Append this to the URL with the apiKey param, or use "
                "the x-api-key HTTP header.",
            )
        if key != world.keys["newsapi"]:
            return newsapi_error(
                401,
                "apiKeyInvalid",
                "Your API key is invalid or incorrect. Check your key, or go to "
                "https://newsapi.org to create a free API key.",
            )
        query = request.query
        if not (query.get("q") or query.get("qInTitle")):
            return newsapi_error(400, "parametersMissing", MISSING_PARAMETERS)
        now = world.now_ms()
        try:
            to_ms = int(parse_iso(query["to"]).timestamp() * 1000) if "to" in query else now
            from_ms = (
                int(parse_iso(query["from"]).timestamp() * 1000)
                if "from" in query
                else now - DEFAULT_LOOKBACK_MS
            )
            page_size = min(100, max(1, int(query.get("pageSize", "100"))))
            page = max(1, int(query.get("page", "1")))
        except ValueError as exc:
            return newsapi_error(400, "parameterInvalid", f"A parameter is invalid: {exc}")
        in_text = query_matcher(query["q"]) if query.get("q") else None
        in_title = query_matcher(query["qInTitle"]) if query.get("qInTitle") else None
        found = [
            a
            for a in world.articles(from_ms, to_ms)
            if (in_text is None or in_text(f"{a.title} {a.description} {a.content}"))
            and (in_title is None or in_title(a.title))
        ]
        shown = found[(page - 1) * page_size : page * page_size]
        return web.json_response(
            {
                "status": "ok",
                "totalResults": len(found),
                "articles": [article_json(a) for a in shown],
            }
        )

    return handler
