"""Symbol groups: which ingest process owns which symbol.

Every process reads the same group table, so they agree on ownership without talking to each
other. A symbol listed in a group belongs to that group. A symbol no group lists (one the
scanner asks for at run time) goes to the group that wins rendezvous hashing over the group
names: stable across processes and restarts, and adding a group moves only the symbols that
group wins. A Postgres advisory lock per group (in the shell) keeps a second process of the
same group a standby, so two processes never ingest one symbol.

Features split the same way (`FEATURES_GROUP`): one process per listed group, filtered on that
group's symbols, and one for `UNLISTED`, the symbols no group lists, whichever ingest group
hashing gave them to. A consumer's subject filter must be known when it starts, and hashing
only names a symbol's owner once the symbol is asked for, so the run-time symbols get a process
of their own rather than a filter no group could write in advance.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

# The features group of the symbols no group lists (`FEATURES_GROUP=unlisted`).
UNLISTED = "unlisted"


class GroupConfigError(ValueError):
    """The group table is malformed or lists a symbol twice."""


def parse_groups(spec: str) -> dict[str, tuple[str, ...]]:
    """Parse `majors=BTCUSDT,ETHUSDT;alts=SOLUSDT` into a group table (validated)."""
    groups: dict[str, tuple[str, ...]] = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        name, sep, symbols = part.partition("=")
        name = name.strip()
        if not sep or not name:
            raise GroupConfigError(f"group entry {part!r} must look like 'name=SYM1,SYM2'")
        if name in groups:
            raise GroupConfigError(f"group {name!r} is defined twice")
        groups[name] = tuple(s.strip().upper() for s in symbols.split(",") if s.strip())
    validate_groups(groups)
    return groups


def validate_groups(groups: Mapping[str, Sequence[str]]) -> None:
    """Refuse an empty table and any symbol listed by two groups."""
    if not groups:
        raise GroupConfigError("no symbol group is defined")
    if UNLISTED in groups:
        raise GroupConfigError(f"{UNLISTED!r} names the symbols no group lists; pick another name")
    seen: dict[str, str] = {}
    for name, symbols in groups.items():
        for symbol in symbols:
            if symbol in seen:
                other = seen[symbol]
                raise GroupConfigError(f"{symbol} is listed by groups {other!r} and {name!r}")
            seen[symbol] = name


def _weight(group: str, symbol: str) -> bytes:
    return hashlib.blake2b(f"{group}\x00{symbol}".encode(), digest_size=8).digest()


def owner_of(symbol: str, groups: Mapping[str, Sequence[str]]) -> str:
    """The group that ingests `symbol`: the one listing it, else the rendezvous-hash winner."""
    for name, symbols in groups.items():
        if symbol in symbols:
            return name
    return max(groups, key=lambda name: _weight(name, symbol))


def owned(symbols: Sequence[str], group: str, groups: Mapping[str, Sequence[str]]) -> list[str]:
    """The subset of `symbols` that `group` owns, order kept."""
    return [s for s in symbols if owner_of(s, groups) == group]


def listed(groups: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """Every symbol some group lists, in group order."""
    return tuple(symbol for symbols in groups.values() for symbol in symbols)
