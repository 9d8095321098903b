"""The keyword database of the news classifier, as data.

Each term maps to a category (`MACRO_*` or `CRYPTO_*`), a sentiment from the point of view of
risk assets and crypto (a rate cut is good, a hack is bad) and an impact. Terms with sentiment 0
are anchors: they place a headline in a category and set its impact, but do not move its
sentiment. Matching is case-insensitive on word boundaries and accepts plain inflections
(`-s`, `-es`, `-ed`, `-ing`, and `-d` after a final `e`); longer terms win over the words they
contain ("rate cut" over "cut").

`ALIGNMENT_TERMS` say outright whether crypto moves with macro or on its own; `NEGATORS` flip the
sentiment of a term that follows within `NEGATION_WINDOW` words.
"""

from __future__ import annotations

from typing import Final, Literal

from breakout.common.events.regime import Impact

NewsCategory = Literal[
    "MACRO_MONETARY",
    "MACRO_INFLATION",
    "MACRO_EMPLOYMENT",
    "MACRO_GROWTH",
    "MACRO_GEOPOLITICAL",
    "MACRO_DOLLAR",
    "MACRO_MARKETS",
    "CRYPTO_REGULATION",
    "CRYPTO_ETF",
    "CRYPTO_ADOPTION",
    "CRYPTO_SECURITY",
    "CRYPTO_MARKET",
    "CRYPTO_STABLECOIN",
    "CRYPTO_TECH",
    "UNCLASSIFIED",
]

# (term, category, sentiment, impact)
Keyword = tuple[str, NewsCategory, float, Impact]

_MONETARY: list[Keyword] = [
    ("fed", "MACRO_MONETARY", 0.0, "MEDIUM"),
    ("federal reserve", "MACRO_MONETARY", 0.0, "MEDIUM"),
    ("fomc", "MACRO_MONETARY", 0.0, "HIGH"),
    ("powell", "MACRO_MONETARY", 0.0, "MEDIUM"),
    ("ecb", "MACRO_MONETARY", 0.0, "MEDIUM"),
    ("interest rates", "MACRO_MONETARY", 0.0, "MEDIUM"),
    ("rate cut", "MACRO_MONETARY", 0.7, "HIGH"),
    ("cuts rates", "MACRO_MONETARY", 0.7, "HIGH"),
    ("emergency cut", "MACRO_MONETARY", 0.5, "HIGH"),
    ("rate hike", "MACRO_MONETARY", -0.7, "HIGH"),
    ("hikes rates", "MACRO_MONETARY", -0.7, "HIGH"),
    ("raises rates", "MACRO_MONETARY", -0.7, "HIGH"),
    ("rate pause", "MACRO_MONETARY", 0.3, "MEDIUM"),
    ("dovish", "MACRO_MONETARY", 0.6, "HIGH"),
    ("hawkish", "MACRO_MONETARY", -0.6, "HIGH"),
    ("pivot", "MACRO_MONETARY", 0.5, "MEDIUM"),
    ("higher for longer", "MACRO_MONETARY", -0.5, "HIGH"),
    ("quantitative easing", "MACRO_MONETARY", 0.6, "HIGH"),
    ("quantitative tightening", "MACRO_MONETARY", -0.5, "HIGH"),
    ("liquidity injection", "MACRO_MONETARY", 0.5, "MEDIUM"),
    ("treasury yields", "MACRO_MONETARY", 0.0, "MEDIUM"),
    ("yields surge", "MACRO_MONETARY", -0.5, "MEDIUM"),
    ("yields fall", "MACRO_MONETARY", 0.4, "MEDIUM"),
    ("bond selloff", "MACRO_MONETARY", -0.5, "MEDIUM"),
]

_INFLATION: list[Keyword] = [
    ("inflation", "MACRO_INFLATION", 0.0, "MEDIUM"),
    ("cpi", "MACRO_INFLATION", 0.0, "HIGH"),
    ("ppi", "MACRO_INFLATION", 0.0, "MEDIUM"),
    ("pce", "MACRO_INFLATION", 0.0, "MEDIUM"),
    ("hotter than expected", "MACRO_INFLATION", -0.6, "HIGH"),
    ("cooler than expected", "MACRO_INFLATION", 0.6, "HIGH"),
    ("inflation cools", "MACRO_INFLATION", 0.6, "HIGH"),
    ("inflation eases", "MACRO_INFLATION", 0.5, "HIGH"),
    ("inflation surges", "MACRO_INFLATION", -0.6, "HIGH"),
    ("sticky inflation", "MACRO_INFLATION", -0.5, "MEDIUM"),
    ("disinflation", "MACRO_INFLATION", 0.5, "MEDIUM"),
    ("price pressures", "MACRO_INFLATION", -0.3, "LOW"),
]

_EMPLOYMENT: list[Keyword] = [
    ("payrolls", "MACRO_EMPLOYMENT", 0.0, "HIGH"),
    ("nonfarm", "MACRO_EMPLOYMENT", 0.0, "HIGH"),
    ("jobs report", "MACRO_EMPLOYMENT", 0.0, "HIGH"),
    ("labor market", "MACRO_EMPLOYMENT", 0.0, "MEDIUM"),
    ("unemployment", "MACRO_EMPLOYMENT", -0.2, "MEDIUM"),
    ("jobless claims", "MACRO_EMPLOYMENT", -0.1, "MEDIUM"),
    ("layoffs", "MACRO_EMPLOYMENT", -0.4, "MEDIUM"),
    ("hiring", "MACRO_EMPLOYMENT", 0.2, "LOW"),
]

_GROWTH: list[Keyword] = [
    ("gdp", "MACRO_GROWTH", 0.0, "MEDIUM"),
    ("recession", "MACRO_GROWTH", -0.7, "HIGH"),
    ("contraction", "MACRO_GROWTH", -0.5, "MEDIUM"),
    ("slowdown", "MACRO_GROWTH", -0.4, "MEDIUM"),
    ("soft landing", "MACRO_GROWTH", 0.5, "MEDIUM"),
    ("hard landing", "MACRO_GROWTH", -0.6, "HIGH"),
    ("stimulus", "MACRO_GROWTH", 0.6, "HIGH"),
    ("economic growth", "MACRO_GROWTH", 0.3, "LOW"),
    ("debt ceiling", "MACRO_GROWTH", -0.3, "MEDIUM"),
    ("government shutdown", "MACRO_GROWTH", -0.3, "MEDIUM"),
    ("sovereign default", "MACRO_GROWTH", -0.7, "HIGH"),
    ("bank failure", "MACRO_GROWTH", -0.7, "HIGH"),
    ("banking crisis", "MACRO_GROWTH", -0.7, "HIGH"),
]

_GEOPOLITICAL: list[Keyword] = [
    ("war", "MACRO_GEOPOLITICAL", -0.6, "HIGH"),
    ("invasion", "MACRO_GEOPOLITICAL", -0.7, "HIGH"),
    ("missile", "MACRO_GEOPOLITICAL", -0.5, "MEDIUM"),
    ("sanctions", "MACRO_GEOPOLITICAL", -0.4, "MEDIUM"),
    ("tariff", "MACRO_GEOPOLITICAL", -0.5, "HIGH"),
    ("trade war", "MACRO_GEOPOLITICAL", -0.6, "HIGH"),
    ("trade deal", "MACRO_GEOPOLITICAL", 0.5, "MEDIUM"),
    ("ceasefire", "MACRO_GEOPOLITICAL", 0.5, "MEDIUM"),
    ("geopolitical tensions", "MACRO_GEOPOLITICAL", -0.5, "MEDIUM"),
    ("oil spikes", "MACRO_GEOPOLITICAL", -0.4, "MEDIUM"),
    ("election", "MACRO_GEOPOLITICAL", 0.0, "LOW"),
]

_DOLLAR: list[Keyword] = [
    ("dollar", "MACRO_DOLLAR", 0.0, "LOW"),
    ("greenback", "MACRO_DOLLAR", 0.0, "LOW"),
    ("dxy", "MACRO_DOLLAR", 0.0, "MEDIUM"),
    ("dollar index", "MACRO_DOLLAR", 0.0, "MEDIUM"),
    ("dollar strengthens", "MACRO_DOLLAR", -0.5, "MEDIUM"),
    ("dollar rallies", "MACRO_DOLLAR", -0.5, "MEDIUM"),
    ("strong dollar", "MACRO_DOLLAR", -0.4, "MEDIUM"),
    ("dollar weakens", "MACRO_DOLLAR", 0.5, "MEDIUM"),
    ("dollar slides", "MACRO_DOLLAR", 0.5, "MEDIUM"),
    ("weak dollar", "MACRO_DOLLAR", 0.4, "MEDIUM"),
]

_MARKETS: list[Keyword] = [
    ("wall street", "MACRO_MARKETS", 0.0, "LOW"),
    ("s&p 500", "MACRO_MARKETS", 0.0, "LOW"),
    ("nasdaq", "MACRO_MARKETS", 0.0, "LOW"),
    ("stocks rally", "MACRO_MARKETS", 0.5, "MEDIUM"),
    ("stocks slump", "MACRO_MARKETS", -0.5, "MEDIUM"),
    ("risk-on", "MACRO_MARKETS", 0.6, "MEDIUM"),
    ("risk-off", "MACRO_MARKETS", -0.6, "MEDIUM"),
    ("selloff", "MACRO_MARKETS", -0.5, "MEDIUM"),
    ("sell-off", "MACRO_MARKETS", -0.5, "MEDIUM"),
    ("volatility spikes", "MACRO_MARKETS", -0.4, "MEDIUM"),
    ("record high", "MACRO_MARKETS", 0.5, "MEDIUM"),
]

_REGULATION: list[Keyword] = [
    ("sec", "CRYPTO_REGULATION", 0.0, "MEDIUM"),
    ("cftc", "CRYPTO_REGULATION", 0.0, "MEDIUM"),
    ("regulation", "CRYPTO_REGULATION", 0.0, "MEDIUM"),
    ("regulatory clarity", "CRYPTO_REGULATION", 0.6, "HIGH"),
    ("lawsuit", "CRYPTO_REGULATION", -0.5, "MEDIUM"),
    ("sues", "CRYPTO_REGULATION", -0.5, "MEDIUM"),
    ("crackdown", "CRYPTO_REGULATION", -0.6, "HIGH"),
    ("ban", "CRYPTO_REGULATION", -0.7, "HIGH"),
    ("banned", "CRYPTO_REGULATION", -0.7, "HIGH"),
    ("enforcement action", "CRYPTO_REGULATION", -0.5, "MEDIUM"),
    ("charges", "CRYPTO_REGULATION", -0.4, "MEDIUM"),
    ("subpoena", "CRYPTO_REGULATION", -0.4, "MEDIUM"),
    ("wells notice", "CRYPTO_REGULATION", -0.5, "MEDIUM"),
    ("settlement", "CRYPTO_REGULATION", 0.3, "MEDIUM"),
    ("rejects", "CRYPTO_REGULATION", -0.6, "HIGH"),
    ("delays", "CRYPTO_REGULATION", -0.3, "MEDIUM"),
    ("legal tender", "CRYPTO_REGULATION", 0.7, "HIGH"),
    ("license", "CRYPTO_REGULATION", 0.3, "LOW"),
]

_ETF: list[Keyword] = [
    ("etf", "CRYPTO_ETF", 0.2, "MEDIUM"),
    ("spot etf", "CRYPTO_ETF", 0.3, "MEDIUM"),
    ("etf approval", "CRYPTO_ETF", 0.8, "HIGH"),
    ("approval", "CRYPTO_ETF", 0.6, "HIGH"),
    ("approve", "CRYPTO_ETF", 0.6, "HIGH"),
    ("approving", "CRYPTO_ETF", 0.6, "HIGH"),
    ("etf inflows", "CRYPTO_ETF", 0.6, "HIGH"),
    ("etf outflows", "CRYPTO_ETF", -0.6, "HIGH"),
    ("inflows", "CRYPTO_ETF", 0.4, "MEDIUM"),
    ("outflows", "CRYPTO_ETF", -0.4, "MEDIUM"),
]

_ADOPTION: list[Keyword] = [
    ("adoption", "CRYPTO_ADOPTION", 0.5, "MEDIUM"),
    ("institutional", "CRYPTO_ADOPTION", 0.3, "MEDIUM"),
    ("strategic reserve", "CRYPTO_ADOPTION", 0.7, "HIGH"),
    ("treasury reserve", "CRYPTO_ADOPTION", 0.6, "HIGH"),
    ("buys bitcoin", "CRYPTO_ADOPTION", 0.5, "MEDIUM"),
    ("accumulation", "CRYPTO_ADOPTION", 0.4, "LOW"),
    ("partnership", "CRYPTO_ADOPTION", 0.3, "LOW"),
    ("mainstream", "CRYPTO_ADOPTION", 0.3, "LOW"),
]

_SECURITY: list[Keyword] = [
    ("hack", "CRYPTO_SECURITY", -0.8, "HIGH"),
    ("exploit", "CRYPTO_SECURITY", -0.7, "HIGH"),
    ("breach", "CRYPTO_SECURITY", -0.6, "HIGH"),
    ("stolen", "CRYPTO_SECURITY", -0.6, "HIGH"),
    ("drained", "CRYPTO_SECURITY", -0.7, "HIGH"),
    ("rug pull", "CRYPTO_SECURITY", -0.6, "MEDIUM"),
    ("fraud", "CRYPTO_SECURITY", -0.5, "MEDIUM"),
    ("scam", "CRYPTO_SECURITY", -0.4, "LOW"),
    ("insolvency", "CRYPTO_SECURITY", -0.8, "HIGH"),
    ("bankruptcy", "CRYPTO_SECURITY", -0.8, "HIGH"),
    ("halts withdrawals", "CRYPTO_SECURITY", -0.8, "HIGH"),
    ("withdrawals halted", "CRYPTO_SECURITY", -0.8, "HIGH"),
]

_MARKET: list[Keyword] = [
    ("bitcoin", "CRYPTO_MARKET", 0.0, "LOW"),
    ("btc", "CRYPTO_MARKET", 0.0, "LOW"),
    ("crypto", "CRYPTO_MARKET", 0.0, "LOW"),
    ("ethereum", "CRYPTO_MARKET", 0.0, "LOW"),
    ("altcoin", "CRYPTO_MARKET", 0.0, "LOW"),
    ("rally", "CRYPTO_MARKET", 0.5, "MEDIUM"),
    ("rallies", "CRYPTO_MARKET", 0.5, "MEDIUM"),
    ("surge", "CRYPTO_MARKET", 0.5, "MEDIUM"),
    ("soars", "CRYPTO_MARKET", 0.6, "MEDIUM"),
    ("all-time high", "CRYPTO_MARKET", 0.6, "MEDIUM"),
    ("bull market", "CRYPTO_MARKET", 0.5, "MEDIUM"),
    ("short squeeze", "CRYPTO_MARKET", 0.4, "MEDIUM"),
    ("alt season", "CRYPTO_MARKET", 0.4, "MEDIUM"),
    ("crash", "CRYPTO_MARKET", -0.7, "HIGH"),
    ("plunge", "CRYPTO_MARKET", -0.6, "MEDIUM"),
    ("tumble", "CRYPTO_MARKET", -0.5, "MEDIUM"),
    ("dump", "CRYPTO_MARKET", -0.5, "MEDIUM"),
    ("liquidation", "CRYPTO_MARKET", -0.5, "MEDIUM"),
    ("capitulation", "CRYPTO_MARKET", -0.6, "MEDIUM"),
    ("bear market", "CRYPTO_MARKET", -0.5, "MEDIUM"),
    ("open interest", "CRYPTO_MARKET", 0.0, "LOW"),
    ("funding rate", "CRYPTO_MARKET", 0.0, "LOW"),
]

_STABLECOIN: list[Keyword] = [
    ("stablecoin", "CRYPTO_STABLECOIN", 0.0, "LOW"),
    ("tether", "CRYPTO_STABLECOIN", 0.0, "LOW"),
    ("usdc", "CRYPTO_STABLECOIN", 0.0, "LOW"),
    ("depeg", "CRYPTO_STABLECOIN", -0.8, "HIGH"),
    ("depegged", "CRYPTO_STABLECOIN", -0.8, "HIGH"),
    ("loses peg", "CRYPTO_STABLECOIN", -0.8, "HIGH"),
    ("stablecoin supply", "CRYPTO_STABLECOIN", 0.3, "LOW"),
]

_TECH: list[Keyword] = [
    ("halving", "CRYPTO_TECH", 0.5, "HIGH"),
    ("upgrade", "CRYPTO_TECH", 0.3, "MEDIUM"),
    ("hard fork", "CRYPTO_TECH", 0.0, "MEDIUM"),
    ("mainnet", "CRYPTO_TECH", 0.3, "LOW"),
    ("network outage", "CRYPTO_TECH", -0.6, "HIGH"),
    ("outage", "CRYPTO_TECH", -0.5, "MEDIUM"),
    ("bug", "CRYPTO_TECH", -0.3, "LOW"),
]

KEYWORDS: Final[tuple[Keyword, ...]] = tuple(
    _MONETARY
    + _INFLATION
    + _EMPLOYMENT
    + _GROWTH
    + _GEOPOLITICAL
    + _DOLLAR
    + _MARKETS
    + _REGULATION
    + _ETF
    + _ADOPTION
    + _SECURITY
    + _MARKET
    + _STABLECOIN
    + _TECH
)

ALIGNMENT_TERMS: Final[dict[str, Literal["ALIGNED", "DECOUPLED"]]] = {
    "decouple": "DECOUPLED",
    "decoupling": "DECOUPLED",
    "uncorrelated": "DECOUPLED",
    "safe haven": "DECOUPLED",
    "digital gold": "DECOUPLED",
    "diverges": "DECOUPLED",
    "on its own": "DECOUPLED",
    "risk assets": "ALIGNED",
    "correlation": "ALIGNED",
    "in lockstep": "ALIGNED",
    "tracks stocks": "ALIGNED",
    "tech stocks": "ALIGNED",
    "moves with": "ALIGNED",
}

NEGATORS: Final[frozenset[str]] = frozenset(
    {
        "not",
        "no",
        "never",
        "without",
        "nor",
        "deny",
        "denies",
        "denied",
        "isn't",
        "wasn't",
        "won't",
        "doesn't",
        "didn't",
        "don't",
        "fails",
        "failed",
        "unlikely",
        "avoids",
        "avoided",
        "averts",
        "averted",
    }
)
NEGATION_WINDOW: Final[int] = 3
