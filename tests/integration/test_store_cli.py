"""`breakout db migrate` and `breakout store stats` against a real database."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from breakout.common.store.cli import db_app, store_app
from tests.integration.store_support import store_dsn

__all__ = ["store_dsn"]  # fixture, imported for pytest

pytestmark = pytest.mark.integration


def test_migrate_reports_up_to_date_and_stats_show_the_log(store_dsn: str) -> None:
    runner = CliRunner()
    migrated = runner.invoke(db_app, ["migrate", "--database-url", store_dsn])
    assert migrated.exit_code == 0, migrated.output
    assert "up to date" in migrated.output
    stats = runner.invoke(store_app, ["stats", "--exact", "--database-url", store_dsn])
    assert stats.exit_code == 0, stats.output
    assert "head position" in stats.output
    assert "events_domain" in stats.output
