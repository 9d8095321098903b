"""The local stack starts its own NATS and Postgres when none answers, and reuses what answers."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import nats
import pytest

from breakout.common.config import InfraSettings
from breakout.common.devstack import containers, open_stack
from breakout.common.devstack.probe import host_port, tcp_open

pytestmark = pytest.mark.integration

NOTHING_LISTENS = InfraSettings(
    database_url="postgresql://postgres@127.0.0.1:1/breakout", nats_url="nats://127.0.0.1:1"
)
WORKDIR = Path(__file__).resolve().parents[2] / ".dev" / "test-stack" / "devstack-test"


async def _select_1(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT 1"))
    finally:
        await conn.close()


async def _publish_acked(url: str) -> int:
    """Publish one message to a throwaway JetStream stream; return the acked sequence."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        name = f"devstack_{uuid.uuid4().hex[:8]}"
        await js.add_stream(name=name, subjects=[f"{name}.>"])
        try:
            ack = await js.publish(f"{name}.ping", b"ping")
            return int(ack.seq)
        finally:
            await js.delete_stream(name)
    finally:
        await nc.close()


def _pids_running_in(workdir: Path) -> set[int]:
    """Pids of processes whose command line mentions `workdir` (the servers we started)."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue  # exited while we looked
        if str(workdir).encode() in cmdline:
            pids.add(int(entry.name))
    return pids


async def test_starts_its_own_servers_and_stops_them(monkeypatch: pytest.MonkeyPatch) -> None:
    # The Docker path needs an engine; this test pins the local-process path.
    monkeypatch.setattr(containers, "docker_answers", lambda: False)
    # A relative workdir, as `make` passes it, must work although the servers run elsewhere.
    monkeypatch.chdir(WORKDIR.parent.parent)
    relative = WORKDIR.relative_to(WORKDIR.parent.parent)
    with open_stack(NOTHING_LISTENS, relative) as stack:
        assert {c.origin for c in stack.components} == {"process"}
        settings = stack.settings
        assert settings.database_url.endswith("/breakout")
        assert await _select_1(settings.database_url) == 1
        assert await _publish_acked(settings.nats_url) == 1
        started = _pids_running_in(WORKDIR)
        assert len(started) >= 2  # nats-server and the postmaster (plus its children)
    assert all(_gone(pid) for pid in started)
    assert not tcp_open(*host_port(settings.database_url, 5432))
    assert not tcp_open(*host_port(settings.nats_url, 4222))


def _gone(pid: int) -> bool:
    """True when the process has exited (a zombie awaiting its reaper counts as exited)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


async def test_reuses_servers_that_answer(infra: InfraSettings, tmp_path: Path) -> None:
    with open_stack(infra, tmp_path) as stack:
        assert {c.origin for c in stack.components} == {"reused"}
        assert stack.settings.database_url == infra.database_url
        assert stack.settings.nats_url == infra.nats_url
    # Leaving a reused stack stops nothing.
    assert await _select_1(infra.database_url) == 1
    assert await _publish_acked(infra.nats_url) >= 1
    assert _empty(tmp_path)  # nothing was started there


def _empty(directory: Path) -> bool:
    return not any(directory.iterdir())
