"""News classification: a `NewsClassifier` port and the keyword classifier behind it.

The port takes a headline and returns its category, sentiment, impact, alignment and the terms
that decided them; a trained model can replace the keyword classifier by implementing the same
`classify`. Expiry is not the classifier's business: the regime core derives it from the impact.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol

import msgspec

from breakout.common.events.regime import Alignment, Impact
from breakout.regime.keywords import (
    ALIGNMENT_TERMS,
    KEYWORDS,
    NEGATION_WINDOW,
    NEGATORS,
    Keyword,
    NewsCategory,
)

IMPACT_RANK: dict[Impact, int] = {"LOW": 1, "MEDIUM": 2, "HIGH": 3}


class Headline(msgspec.Struct, frozen=True, kw_only=True):
    """What a classifier reads: an article's title and its short description."""

    title: str
    description: str = ""


class Classification(msgspec.Struct, frozen=True, kw_only=True):
    """How one headline reads. `matched_terms` lists every term found, in text order."""

    category: NewsCategory
    sentiment: float
    impact: Impact
    alignment: Alignment
    matched_terms: list[str]
    negated_terms: list[str]


class NewsClassifier(Protocol):
    """Anything that classifies headlines; `name` goes into every classification event."""

    @property
    def name(self) -> str:
        """Identifier and version of the classifier (e.g. `keywords-v1`)."""
        ...

    def classify(self, headline: Headline) -> Classification:
        """Classify one headline (pure: the same headline always gives the same answer)."""
        ...


class _Match(msgspec.Struct, frozen=True):
    term: str
    category: NewsCategory
    sentiment: float
    impact: Impact
    negated: bool


_TOKEN = re.compile(r"[\w'&-]+")


def _term_pattern(term: str) -> str:
    # Plain inflections: -s/-es/-ed/-ing, and -d after a final e ("approve" -> "approved").
    suffix = "(?:s|es|ed|ing|d)?" if term.endswith("e") else "(?:s|es|ed|ing)?"
    return re.escape(term) + suffix


def _compile(terms: Iterable[str]) -> re.Pattern[str]:
    # Longest first: the alternation takes the first branch that matches at a position.
    ordered = sorted(set(terms), key=lambda t: (-len(t), t))
    body = "|".join(f"(?P<t{i}>{_term_pattern(t)})" for i, t in enumerate(ordered))
    return re.compile(rf"(?<![\w&-])(?:{body})(?![\w&-])")


class KeywordNewsClassifier:
    """Classifies headlines with the keyword database (`keywords.py`)."""

    def __init__(
        self,
        keywords: Iterable[Keyword] = KEYWORDS,
        alignment_terms: dict[str, Alignment] | None = None,
        *,
        name: str = "keywords-v1",
    ) -> None:
        self._name = name
        self._keywords = {k[0]: k for k in keywords}
        self._alignment: dict[str, Alignment] = dict(alignment_terms or ALIGNMENT_TERMS)
        terms = [*self._keywords, *self._alignment]
        ordered = sorted(set(terms), key=lambda t: (-len(t), t))
        self._group_terms = {f"t{i}": t for i, t in enumerate(ordered)}
        self._pattern = _compile(terms)

    @property
    def name(self) -> str:
        """Identifier and version of this classifier."""
        return self._name

    def classify(self, headline: Headline) -> Classification:
        """Category, sentiment, impact and alignment of one headline, with the terms behind them."""
        text = _normalise(f"{headline.title}. {headline.description}")
        matches, stated = self._scan(text)
        if not matches:
            return Classification(
                category="UNCLASSIFIED",
                sentiment=0.0,
                impact="LOW",
                alignment=stated or "NEUTRAL",
                matched_terms=[],
                negated_terms=[],
            )
        return Classification(
            category=_category(matches),
            sentiment=_sentiment(matches),
            impact=max((m.impact for m in matches), key=IMPACT_RANK.__getitem__),
            alignment=stated or _alignment(matches),
            matched_terms=_unique(m.term for m in matches),
            negated_terms=_unique(m.term for m in matches if m.negated),
        )

    def _scan(self, text: str) -> tuple[list[_Match], Alignment | None]:
        tokens = [(t.start(), t.group()) for t in _TOKEN.finditer(text)]
        matches: list[_Match] = []
        stated: Alignment | None = None
        for found in self._pattern.finditer(text):
            term = self._group_terms[str(found.lastgroup)]
            if term in self._alignment:
                stated = stated or self._alignment[term]
                continue
            _, category, sentiment, impact = self._keywords[term]
            negated = _negated(tokens, found.start())
            matches.append(
                _Match(term, category, -sentiment if negated else sentiment, impact, negated)
            )
        return matches, stated


def _normalise(text: str) -> str:
    return text.lower().replace("\u2019", "'").replace("\u2018", "'")


def _negated(tokens: list[tuple[int, str]], start: int) -> bool:
    before = [word for at, word in tokens if at < start][-NEGATION_WINDOW:]
    return any(word in NEGATORS for word in before)


def _category(matches: list[_Match]) -> NewsCategory:
    # The category with the most impact behind it (anchors count half: they name a topic but
    # say nothing about it); ties go to the one named first.
    weight: dict[NewsCategory, float] = {}
    for match in matches:
        share = IMPACT_RANK[match.impact] * (1.0 if match.sentiment != 0.0 else 0.5)
        weight[match.category] = weight.get(match.category, 0.0) + share
    return max(weight, key=weight.__getitem__)


def _sentiment(matches: list[_Match]) -> float:
    # Anchors (sentiment 0) place a headline but do not dilute what the other terms say.
    scored = [m for m in matches if m.sentiment != 0.0]
    if not scored:
        return 0.0
    total = sum(IMPACT_RANK[m.impact] for m in scored)
    value = sum(m.sentiment * IMPACT_RANK[m.impact] for m in scored) / total
    return round(max(-1.0, min(1.0, value)), 4)


def _alignment(matches: list[_Match]) -> Alignment:
    # Macro words tie the story to macro; crypto-only stories with a view move crypto on its own.
    if any(m.category.startswith("MACRO_") for m in matches):
        return "ALIGNED"
    if any(m.sentiment != 0.0 for m in matches):
        return "DECOUPLED"
    return "NEUTRAL"


def _unique(terms: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(terms))
