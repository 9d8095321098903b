"""The template bank of the simulated news wire: real-looking headlines per market mood.

Each mood draws from its own templates, which between them cover every news category of the
regime classifier (monetary policy, inflation, jobs, growth, geopolitics, the dollar, equities,
regulation, ETFs, adoption, security, crypto markets, stablecoins, network events). Placeholders
are filled from the small lists below with the world's seeded random generator.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Final, Literal

import msgspec

Mood = Literal["risk_on", "risk_off", "calm", "crypto_bull", "crypto_bear"]

# (title, description)
Template = tuple[str, str]

TEMPLATES: Final[dict[Mood, tuple[Template, ...]]] = {
    "risk_on": (
        (
            "Fed cuts rates by {bps} bps, signals more easing ahead",
            "Policymakers pointed to cooling prices and a softer labor market.",
        ),
        (
            "Inflation cools more than forecast, lifting rate cut bets",
            "Core prices rose at the slowest pace in two years.",
        ),
        (
            "Dollar weakens as Treasury yields fall",
            "The greenback slipped against major peers for a third session.",
        ),
        (
            "Stocks rally as soft landing hopes grow",
            "Wall Street extended gains led by technology shares.",
        ),
        (
            "{country} unveils stimulus package to support growth",
            "The measures include tax relief and infrastructure spending.",
        ),
        (
            "Dovish Fed minutes lift risk assets",
            "Officials saw room to ease policy if inflation keeps falling.",
        ),
        (
            "Ceasefire agreed after weeks of talks",
            "Oil prices eased as traders priced lower supply risk.",
        ),
        (
            "Payrolls beat estimates while wage growth slows",
            "Hiring stayed steady as unemployment held near record lows.",
        ),
    ),
    "risk_off": (
        (
            "Powell turns hawkish: rates to stay higher for longer",
            "The Fed chair pushed back against expectations of cuts this year.",
        ),
        (
            "CPI comes in hotter than expected for a second month",
            "Shelter and services costs kept price pressures elevated.",
        ),
        (
            "Dollar strengthens as traders price another rate hike",
            "The dollar index climbed to its highest level in months.",
        ),
        (
            "Stocks slump as recession fears mount",
            "Investors fled to safety after weak manufacturing data.",
        ),
        (
            "New tariffs spark fears of a trade war",
            "Exporters warned of higher costs and retaliation.",
        ),
        ("Bond selloff deepens as inflation surges", "Ten-year yields hit a fresh high."),
        (
            "Missile strikes raise geopolitical tensions",
            "Safe-haven demand lifted the dollar and gold.",
        ),
        (
            "Layoffs spread as the labor market cools",
            "Jobless claims rose for a fourth straight week.",
        ),
    ),
    "calm": (
        (
            "Markets drift ahead of {weekday} data",
            "Trading volumes were light across asset classes.",
        ),
        (
            "Bitcoin trades in a tight range",
            "Derivatives positioning was little changed on the day.",
        ),
        (
            "Analysts split on the outlook for the second half",
            "Strategists published mixed year-end targets.",
        ),
        ("{coin} volume thins over the holiday", "Order books were quiet on major venues."),
        ("Investors await earnings season", "Guidance from large caps is expected next week."),
    ),
    "crypto_bull": (
        (
            "SEC approves spot {coin} ETF after long review",
            "Trading is expected to begin later this week.",
        ),
        (
            "Record ETF inflows as institutions pile into {coin}",
            "Funds took in ${amount}M on the day.",
        ),
        (
            "{country} adds bitcoin to strategic reserve",
            "The purchase was funded from existing reserves.",
        ),
        (
            "Bitcoin decouples from stocks, hailed as digital gold",
            "Correlation with equities fell to a two-year low.",
        ),
        (
            "{coin} soars to new all-time high",
            "Short sellers were squeezed as the rally accelerated.",
        ),
        (
            "Major bank announces crypto custody partnership",
            "The move marks a step toward mainstream adoption.",
        ),
    ),
    "crypto_bear": (
        (
            "{exchange} hacked, ${amount}M drained from hot wallets",
            "The exchange said customer funds would be covered.",
        ),
        (
            "SEC sues {exchange} over unregistered securities",
            "The complaint names the firm and two executives.",
        ),
        (
            "{country} announces crackdown on crypto trading",
            "Local exchanges were ordered to suspend new sign-ups.",
        ),
        (
            "Stablecoin depegs as reserves questioned",
            "Redemptions surged as the token slipped below a dollar.",
        ),
        (
            "{exchange} halts withdrawals amid insolvency fears",
            "Users reported pending transfers for several hours.",
        ),
        (
            "{coin} crash triggers ${amount}M in liquidations",
            "Leveraged longs were wiped out across venues.",
        ),
        ("Network outage halts {coin} transfers", "Validators worked to restart the chain."),
    ),
}

PUBLISHERS: Final[tuple[tuple[str | None, str, str], ...]] = (
    ("reuters", "Reuters", "www.reuters.com"),
    ("bloomberg", "Bloomberg", "www.bloomberg.com"),
    (None, "CoinDesk", "www.coindesk.com"),
    (None, "The Block", "www.theblock.co"),
    ("financial-times", "Financial Times", "www.ft.com"),
    ("cnbc", "CNBC", "www.cnbc.com"),
    (None, "Decrypt", "decrypt.co"),
    (None, "Cointelegraph", "cointelegraph.com"),
)

_FILL: Final[dict[str, tuple[str, ...]]] = {
    "bps": ("25", "50"),
    "country": ("Japan", "Germany", "Brazil", "El Salvador", "Canada", "Singapore"),
    "weekday": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"),
    "coin": ("Bitcoin", "Ether", "Solana", "XRP"),
    "exchange": ("CoinVault", "Bitmarket", "HexTrade", "NovaEx"),
    "amount": ("45", "120", "310", "600"),
}


class SimArticle(msgspec.Struct, frozen=True, kw_only=True):
    """One article of the simulated wire."""

    source_id: str | None
    source_name: str
    author: str | None
    title: str
    description: str
    url: str
    published_ts_ms: int
    content: str


def _slug(title: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in title.lower()).split()
    return "-".join(words[:8])


def draw_article(rng: random.Random, mood: Mood, published_ts_ms: int, serial: str) -> SimArticle:
    """One article of `mood` published at `published_ts_ms` (`serial` makes its url unique)."""
    title_template, description = rng.choice(TEMPLATES[mood])
    fills = {key: rng.choice(values) for key, values in _FILL.items()}
    title = title_template.format(**fills)
    source_id, source_name, domain = rng.choice(PUBLISHERS)
    author = rng.choice((None, "Staff", "Markets Desk", "A. Reporter"))
    day = datetime.fromtimestamp(published_ts_ms / 1000, UTC).strftime("%Y/%m/%d")
    return SimArticle(
        source_id=source_id,
        source_name=source_name,
        author=author,
        title=title,
        description=description.format(**fills),
        url=f"https://{domain}/markets/{day}/{_slug(title)}-{serial}",
        published_ts_ms=published_ts_ms,
        content=f"{description.format(**fills)} [+{rng.randint(800, 4000)} chars]",
    )
