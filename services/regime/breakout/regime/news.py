"""The news picture: classified headlines that still count, folded into one score.

A headline counts from its publication until it expires (by impact: 4 h / 2 h / 1 h by
default). Its weight is its impact weight times the share of its life still ahead, so fresh news
weighs more than news about to expire. Unclassified headlines are recorded but never count.
"""

from __future__ import annotations

import msgspec

from breakout.common.events.regime import Alignment, Impact
from breakout.regime.config import NewsConfig


class ActiveNews(msgspec.Struct, frozen=True, kw_only=True):
    """One classified headline the regime may still count."""

    url: str
    published_ts_ms: int
    expires_ts_ms: int
    sentiment: float
    impact: Impact
    alignment: Alignment


class NewsPicture(msgspec.Struct, frozen=True, kw_only=True):
    """The news input of one regime evaluation (`score` None: no news known at all)."""

    score: float | None
    active: int
    decoupled_share: float


def expiry_ts_ms(published_ts_ms: int, impact: Impact, config: NewsConfig) -> int:
    """When a headline of `impact` published at `published_ts_ms` stops counting."""
    return published_ts_ms + int(config.expiry_s[impact] * 1000)


class NewsBook(msgspec.Struct, kw_only=True):
    """The headlines that still count, and whether any news was ever seen."""

    items: list[ActiveNews] = msgspec.field(default_factory=list)
    seen_any: bool = False

    def add(self, item: ActiveNews) -> None:
        """Count `item` (a headline already known by url is replaced)."""
        self.items = [i for i in self.items if i.url != item.url]
        self.items.append(item)

    def picture(self, now_ms: int, config: NewsConfig) -> NewsPicture:
        """Drop what expired by `now_ms` and fold the rest into a score in [-1, 1]."""
        self.items = [i for i in self.items if i.expires_ts_ms > now_ms]
        if not self.seen_any:
            return NewsPicture(score=None, active=0, decoupled_share=0.0)
        total = 0.0
        weighted = 0.0
        decoupled = 0.0
        for item in self.items:
            life_ms = item.expires_ts_ms - item.published_ts_ms
            remaining = min(1.0, (item.expires_ts_ms - now_ms) / life_ms) if life_ms > 0 else 0.0
            weight = config.impact_weight[item.impact] * remaining
            total += weight
            weighted += weight * item.sentiment
            if item.alignment == "DECOUPLED":
                decoupled += weight
        score = weighted / max(total, config.saturation_weight)
        share = decoupled / total if total > 0 else 0.0
        return NewsPicture(
            score=round(max(-1.0, min(1.0, score)), 6),
            active=len(self.items),
            decoupled_share=round(share, 6),
        )
