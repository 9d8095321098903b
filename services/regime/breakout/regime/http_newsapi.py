"""NewsAPI `/v2/everything`: articles -> `news.observed` (one per url, ever).

Each poll asks for what was published since a little before the newest article already seen
(NewsAPI indexes late), or over `lookback_s` on the first poll; the article url is the id, so
the overlap never duplicates. Articles NewsAPI marks `[Removed]` are skipped.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import msgspec

from breakout.common.events import NewEvent
from breakout.common.events.regime import FeedSource, NewsObserved, news_stream
from breakout.common.ids import external_event_id
from breakout.regime.http_common import FeedError, Observation, decode, get, raise_for_status

DEFAULT_QUERY = (
    'bitcoin OR crypto OR ethereum OR stablecoin OR "federal reserve" OR fed OR inflation OR '
    "dollar OR tariffs OR recession OR stocks"
)


class _Source(msgspec.Struct, frozen=True):
    name: str | None = None


class _Article(msgspec.Struct, frozen=True):
    source: _Source
    title: str | None
    url: str
    publishedAt: str  # noqa: N815 - NewsAPI's own field name
    description: str | None = None


class _Answer(msgspec.Struct, frozen=True):
    status: str
    articles: list[_Article] | None = None
    code: str | None = None
    message: str | None = None


def _message(body: bytes) -> str:
    try:
        answer = msgspec.json.decode(body, type=_Answer)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return body[:200].decode(errors="replace")
    return f"{answer.code}: {answer.message}"


def _iso(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class NewsApiFeed:
    """Headlines matching `query` from NewsAPI."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        query: str = DEFAULT_QUERY,
        page_size: int = 50,
        lookback_s: float = 6 * 3600.0,
        overlap_s: float = 3600.0,
    ) -> None:
        self._url = base_url.rstrip("/") + "/everything"
        self._key = api_key
        self.query = query
        self.page_size = page_size
        self.lookback_ms = int(lookback_s * 1000)
        self.overlap_ms = int(overlap_s * 1000)
        self.newest_ms: int | None = None

    @property
    def source(self) -> FeedSource:
        """`newsapi`."""
        return "newsapi"

    async def fetch(self, client: httpx.AsyncClient, now_ms: int) -> list[Observation]:
        """Articles published since the last poll (with overlap), oldest first."""
        if not self._key:
            raise FeedError("auth", "NEWSAPI_API_KEY is not set")
        since = now_ms - self.lookback_ms
        if self.newest_ms is not None:
            since = max(since, self.newest_ms - self.overlap_ms)
        response = await get(
            client,
            self._url,
            params={
                "q": self.query,
                "language": "en",
                "sortBy": "publishedAt",
                "pageSize": self.page_size,
                "from": _iso(since),
            },
            headers={"X-Api-Key": self._key},
        )
        raise_for_status(response, datetime.fromtimestamp(now_ms / 1000, UTC), _message)
        answer = decode(response.content, _Answer, "everything")
        if answer.status != "ok":
            raise FeedError("api_error", f"{answer.code}: {answer.message}")
        kept = [o for a in answer.articles or [] if (o := self._observe(a, now_ms)) is not None]
        kept.sort(key=lambda o: o.event.occurred_at)
        if kept:
            newest = int(kept[-1].event.occurred_at.timestamp() * 1000)
            self.newest_ms = max(self.newest_ms or 0, newest)
        return kept

    def _observe(self, article: _Article, now_ms: int) -> Observation | None:
        if not article.title or article.title == "[Removed]":
            return None
        try:
            published = datetime.fromisoformat(article.publishedAt.replace("Z", "+00:00"))
        except ValueError as exc:
            raise FeedError("malformed", f"publishedAt {article.publishedAt!r}") from exc
        if published.tzinfo is None:
            published = published.replace(tzinfo=UTC)
        published_ms = int(published.timestamp() * 1000)
        observed = NewsObserved(
            source="newsapi",
            publisher=article.source.name or "",
            title=article.title,
            description=article.description or "",
            url=article.url,
            published_ts_ms=published_ms,
            received_ts_ms=now_ms,
        )
        event = NewEvent(
            event_id=external_event_id("newsapi", article.url),
            data=observed,
            occurred_at=published,
            producer="regime.newsapi",
        )
        return Observation(stream=news_stream("newsapi"), event=event)
