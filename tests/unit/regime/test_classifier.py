"""The keyword news classifier on a table of real-looking headlines."""

from __future__ import annotations

import typing

import pytest
from hypothesis import given
from hypothesis import strategies as st

from breakout.regime.classifier import Headline, KeywordNewsClassifier, NewsClassifier
from breakout.regime.keywords import KEYWORDS, NewsCategory

CLASSIFIER = KeywordNewsClassifier()

# title, category, sentiment sign, impact, alignment
TABLE: list[tuple[str, NewsCategory, int, str, str]] = [
    ("Fed cuts rates by 50 bps in surprise move", "MACRO_MONETARY", 1, "HIGH", "ALIGNED"),
    ("Powell turns hawkish, signals higher for longer", "MACRO_MONETARY", -1, "HIGH", "ALIGNED"),
    ("US CPI comes in hotter than expected in March", "MACRO_INFLATION", -1, "HIGH", "ALIGNED"),
    ("Inflation cools for a third month", "MACRO_INFLATION", 1, "HIGH", "ALIGNED"),
    ("Nonfarm payrolls miss as layoffs mount", "MACRO_EMPLOYMENT", -1, "HIGH", "ALIGNED"),
    ("Economists warn of recession as GDP shrinks", "MACRO_GROWTH", -1, "HIGH", "ALIGNED"),
    ("China unveils fresh stimulus package", "MACRO_GROWTH", 1, "HIGH", "ALIGNED"),
    ("New tariffs spark fears of a trade war", "MACRO_GEOPOLITICAL", -1, "HIGH", "ALIGNED"),
    ("Ceasefire agreed after weeks of talks", "MACRO_GEOPOLITICAL", 1, "MEDIUM", "ALIGNED"),
    (
        "Dollar strengthens to two-month high against the euro",
        "MACRO_DOLLAR",
        -1,
        "MEDIUM",
        "ALIGNED",
    ),
    ("Dollar weakens after soft retail data", "MACRO_DOLLAR", 1, "MEDIUM", "ALIGNED"),
    ("Wall Street sell-off deepens", "MACRO_MARKETS", -1, "MEDIUM", "ALIGNED"),
    (
        "SEC sues major exchange over unregistered securities",
        "CRYPTO_REGULATION",
        -1,
        "MEDIUM",
        "DECOUPLED",
    ),
    (
        "Regulators announce crackdown on offshore crypto venues",
        "CRYPTO_REGULATION",
        -1,
        "HIGH",
        "DECOUPLED",
    ),
    (
        "SEC approves spot bitcoin ETFs after decade-long fight",
        "CRYPTO_ETF",
        1,
        "HIGH",
        "DECOUPLED",
    ),
    ("Bitcoin ETF outflows hit record", "CRYPTO_ETF", -1, "HIGH", "DECOUPLED"),
    ("Nation adds bitcoin to strategic reserve", "CRYPTO_ADOPTION", 1, "HIGH", "DECOUPLED"),
    (
        "DeFi protocol exploited, $120M drained from pools",
        "CRYPTO_SECURITY",
        -1,
        "HIGH",
        "DECOUPLED",
    ),
    (
        "Exchange halts withdrawals amid insolvency rumours",
        "CRYPTO_SECURITY",
        -1,
        "HIGH",
        "DECOUPLED",
    ),
    ("Bitcoin soars to new all-time high", "CRYPTO_MARKET", 1, "MEDIUM", "DECOUPLED"),
    ("Crypto crash wipes out $1B in liquidations", "CRYPTO_MARKET", -1, "HIGH", "DECOUPLED"),
    ("Stablecoin depegs as reserves questioned", "CRYPTO_STABLECOIN", -1, "HIGH", "DECOUPLED"),
    ("Bitcoin halving is two weeks away", "CRYPTO_TECH", 1, "HIGH", "DECOUPLED"),
    ("Layer-1 network outage freezes transfers for hours", "CRYPTO_TECH", -1, "HIGH", "DECOUPLED"),
]


@pytest.mark.parametrize(("title", "category", "sign", "impact", "alignment"), TABLE)
def test_headline_table(title: str, category: str, sign: int, impact: str, alignment: str) -> None:
    reading = CLASSIFIER.classify(Headline(title=title))
    assert reading.category == category, reading
    assert (reading.sentiment > 0) - (reading.sentiment < 0) == sign, reading
    assert reading.impact == impact, reading
    assert reading.alignment == alignment, reading
    assert reading.matched_terms


def test_the_table_covers_every_category() -> None:
    categories = set(typing.get_args(NewsCategory)) - {"UNCLASSIFIED"}
    assert {row[1] for row in TABLE} == categories


def test_the_database_holds_over_a_hundred_terms_within_range() -> None:
    assert len(KEYWORDS) >= 100
    assert len({k[0] for k in KEYWORDS}) == len(KEYWORDS)
    assert all(-1.0 <= k[2] <= 1.0 for k in KEYWORDS)


def test_negation_flips_the_term_and_says_so() -> None:
    plain = CLASSIFIER.classify(Headline(title="Fed signals a rate hike in June"))
    negated = CLASSIFIER.classify(Headline(title="Fed signals no rate hike this year"))
    assert plain.sentiment < 0 < negated.sentiment
    assert negated.negated_terms == ["rate hike"]
    assert plain.negated_terms == []
    refused = CLASSIFIER.classify(Headline(title="SEC fails to approve the ETF application"))
    assert refused.sentiment < 0
    assert "approve" in refused.negated_terms


def test_negation_reaches_only_three_words_back() -> None:
    far = CLASSIFIER.classify(
        Headline(title="No comment from officials as markets price a rate hike")
    )
    assert far.negated_terms == []
    assert far.sentiment < 0


def test_mixed_sentiment_is_weighed_not_picked() -> None:
    reading = CLASSIFIER.classify(Headline(title="Bitcoin rallies despite hawkish Fed minutes"))
    assert {"rallies", "hawkish"} <= set(reading.matched_terms)
    # +0.5 (MEDIUM, weight 2) against -0.6 (HIGH, weight 3): mildly negative, not either extreme.
    assert reading.sentiment == pytest.approx((0.5 * 2 - 0.6 * 3) / 5)


def test_stated_alignment_wins_over_the_category() -> None:
    decoupled = CLASSIFIER.classify(Headline(title="Bitcoin decouples from stocks as a safe haven"))
    aligned = CLASSIFIER.classify(Headline(title="Bitcoin falls in lockstep with tech stocks"))
    assert decoupled.alignment == "DECOUPLED"
    assert aligned.alignment == "ALIGNED"


def test_inflections_match_but_other_words_do_not() -> None:
    assert "hack" in CLASSIFIER.classify(Headline(title="Bridge hacked overnight")).matched_terms
    assert "approve" in CLASSIFIER.classify(Headline(title="Court approved it")).matched_terms
    bank = CLASSIFIER.classify(Headline(title="Bank posts second-quarter results"))
    assert bank.matched_terms == []
    assert bank.category == "UNCLASSIFIED"


def test_the_longer_term_wins() -> None:
    reading = CLASSIFIER.classify(Headline(title="ETF inflows top $1B"))
    assert reading.matched_terms == ["etf inflows"]


def test_unmatched_headlines_are_neutral_and_low() -> None:
    reading = CLASSIFIER.classify(Headline(title="Local bakery wins national award"))
    assert (reading.category, reading.sentiment, reading.impact, reading.alignment) == (
        "UNCLASSIFIED",
        0.0,
        "LOW",
        "NEUTRAL",
    )


def test_description_counts_too() -> None:
    reading = CLASSIFIER.classify(
        Headline(title="Markets open the week", description="Traders brace for CPI and the FOMC")
    )
    assert reading.category == "MACRO_INFLATION"
    assert reading.impact == "HIGH"


def test_keyword_classifier_satisfies_the_port() -> None:
    port: NewsClassifier = CLASSIFIER
    assert port.name == "keywords-v1"


_WORDS = [k[0] for k in KEYWORDS] + ["not", "no", "the", "bitcoin", "and", "despite", "safe haven"]


@given(st.lists(st.sampled_from(_WORDS) | st.text(max_size=12), max_size=25))
def test_any_text_classifies_within_bounds_and_deterministically(words: list[str]) -> None:
    headline = Headline(title=" ".join(words))
    reading = CLASSIFIER.classify(headline)
    assert -1.0 <= reading.sentiment <= 1.0
    assert reading.impact in ("HIGH", "MEDIUM", "LOW")
    assert set(reading.negated_terms) <= set(reading.matched_terms)
    assert set(reading.matched_terms) <= {k[0] for k in KEYWORDS}
    assert CLASSIFIER.classify(headline) == reading
