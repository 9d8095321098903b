"""Infrastructure settings from the environment: a service's own NATS user, never printed."""

from __future__ import annotations

import pytest

from breakout.common.config import InfraSettings


def test_nats_user_and_password_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NATS_USER", "features")
    monkeypatch.setenv("NATS_PASSWORD", "s3cret-nats-password")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:pg-s3cret@db:5432/breakout")
    settings = InfraSettings.from_env()
    assert (settings.nats_user, settings.nats_password) == ("features", "s3cret-nats-password")
    shown = repr(settings) + str(settings)
    assert "s3cret-nats-password" not in shown and "pg-s3cret" not in shown
    assert "features" in shown


def test_without_a_user_the_url_alone_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NATS_USER", raising=False)
    monkeypatch.delenv("NATS_PASSWORD", raising=False)
    settings = InfraSettings.from_env()
    assert settings.nats_user is None and settings.nats_password is None
