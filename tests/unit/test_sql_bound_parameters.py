"""SQL gets its values only through bound parameters ($1, $2, ...): no SQL text is built from a
variable, except the few identifiers and constant fragments listed here, each with the reason
it cannot be a parameter (Postgres binds values, not names).

Every f-string, `.format()` and `%` on a string whose literal text reads as SQL is found in the
source of every package; an interpolation is allowed when it only numbers a placeholder
(`${len(args) + 2}`) or is listed below. A new one fails this test until it is a parameter."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCES = [REPO / "libs" / "common" / "breakout", *(REPO / "services").glob("*/breakout")]
SQL = re.compile(
    r"\b(SELECT\s|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|DATABASE|INDEX)"
    r"|DROP\s+(TABLE|DATABASE|INDEX)|ALTER\s+TABLE|WHERE\s|COPY\s)"
)
# (file, interpolated expression) -> why it is not a bound parameter.
ALLOWED = {
    ("libs/common/breakout/common/store/postgres_sql.py", "_CURRENT_VERSIONS"):
        "a constant subquery of this module",
    ("libs/common/breakout/common/store/postgres_sql.py", "ENVELOPE"):
        "the constant column list of this module",
    ("libs/common/breakout/common/store/postgres_sql.py", "' AND '.join(where)"):
        "conditions from constant fragments whose values are placeholders",
    ("services/backtest/breakout/backtest/auditlog.py", "ENVELOPE"):
        "the store's constant column list (postgres_sql.ENVELOPE)",
    ("libs/common/breakout/common/store/archive.py", "partition"):
        "a partition name read from pg_inherits (an identifier, quoted)",
    ("libs/common/breakout/common/store/archive.py", "_COLUMNS"):
        "the constant column list of this module",
    ("libs/common/breakout/common/devstack/probe.py", "name"):
        "CREATE DATABASE takes no parameter: the name is quoted, its quotes doubled",
}  # fmt: skip


def _interpolations(path: Path) -> list[tuple[int, str]]:
    """(line, expression) of every value interpolated into SQL text in `path`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.JoinedStr):
            literal = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
            if not SQL.search(literal):
                continue
            previous: ast.expr | None = None
            for value in node.values:
                placeholder = isinstance(previous, ast.Constant) and str(previous.value).endswith(
                    "$"
                )
                if isinstance(value, ast.FormattedValue) and not placeholder:
                    found.append((node.lineno, ast.unparse(value.value)))
                previous = value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            template = node.func.value
            if node.func.attr == "format" and _sql_constant(template):
                found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod | ast.Add):
            sql = _sql_constant(node.left) or _sql_constant(node.right)
            if sql and not (_constant(node.left) and _constant(node.right)):
                found.append((node.lineno, ast.unparse(node)))
    return found


def _constant(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str)


def _sql_constant(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and bool(SQL.search(node.value))
    )


def _all() -> dict[tuple[str, str], list[int]]:
    seen: dict[tuple[str, str], list[int]] = {}
    for root in SOURCES:
        for path in sorted(root.rglob("*.py")):
            relative = str(path.relative_to(REPO))
            for line, expression in _interpolations(path):
                seen.setdefault((relative, expression), []).append(line)
    return seen


def test_sql_takes_values_only_through_bound_parameters() -> None:
    seen = _all()
    built = {key: lines for key, lines in seen.items() if key not in ALLOWED}
    assert not built, "SQL built from variables (bind them as $n parameters):\n" + "\n".join(
        f"  {path}:{lines} {expression}" for (path, expression), lines in built.items()
    )
    assert not set(ALLOWED) - set(seen), "stale entries in ALLOWED"


def test_the_scan_finds_sql_built_from_a_value(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text(
        "def q(conn, symbol, n):\n"
        "    conn.fetch(f\"SELECT * FROM events WHERE stream = '{symbol}'\")\n"
        '    conn.fetch("DELETE FROM events WHERE id = %s" % symbol)\n'
        '    conn.fetch("SELECT * FROM t WHERE a = {}".format(symbol))\n'
        '    conn.fetch("SELECT * FROM t WHERE a = \'" + symbol + "\'")\n'
        '    conn.fetch(f"SELECT * FROM t WHERE a = ${n + 1}", symbol)\n'
    )
    assert [line for line, _ in _interpolations(sample)] == [2, 3, 4, 5]
