"""The `breakout` command line: local stack (`dev`), store (`db`, `store`) and the `relay`.

Services add their own commands without this library importing them: a package declares an
entry point in the `breakout.cli` group, whose name is the command and whose object is a
`typer.Typer` (mounted as a group: `breakout diag l2 ...`) or a function (a single command:
`breakout scan ...`). Loading is lazy per process and a broken plugin is reported, not fatal.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from breakout.common.config import InfraSettings
from breakout.common.devstack import Stack, open_stack
from breakout.common.devstack.run import run_command
from breakout.common.logging import configure_logging
from breakout.common.relay import DEFAULT_BATCH_SIZE
from breakout.common.runtime.bootstrap import run_relay
from breakout.common.store.cli import db_app, store_app

app = typer.Typer(name="breakout", no_args_is_help=True, add_completion=False)
dev_app = typer.Typer(no_args_is_help=True, help="Local stack: reuse or start NATS and Postgres.")
app.add_typer(dev_app, name="dev")
app.add_typer(db_app, name="db")
app.add_typer(store_app, name="store")
app.command("run")(run_command)

WorkdirOption = Annotated[
    Path, typer.Option(help="Where started servers keep their data and logs.")
]
DEFAULT_WORKDIR = Path(".dev/stack")


def _stack_env(stack: Stack) -> dict[str, str]:
    return {"DATABASE_URL": stack.settings.database_url, "NATS_URL": stack.settings.nats_url}


def _report(stack: Stack) -> None:
    for component in stack.components:
        how = "reused" if component.origin == "reused" else f"started ({component.origin})"
        typer.echo(f"# {component.name}: {how}", err=True)
    for key, value in _stack_env(stack).items():
        typer.echo(f"export {key}={value}")


def _migrate(env: dict[str, str]) -> None:
    # A child process, so `db migrate` runs exactly as an operator would run it.
    argv = [sys.executable, "-m", "breakout.common.cli", "db", "migrate"]
    if subprocess.run(argv, env=env, check=False).returncode != 0:
        raise typer.Exit(1)


@dev_app.command("up")
def dev_up(
    workdir: WorkdirOption = DEFAULT_WORKDIR,
    migrate: Annotated[bool, typer.Option(help="Apply store migrations.")] = True,
) -> None:
    """Ensure NATS and Postgres, print their URLs, and keep them up until Ctrl-C or SIGTERM."""
    # SIGTERM and SIGINT (even if inherited as ignored, as in a background job) take the
    # path of Ctrl-C, so the `with` below stops what it started.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        with open_stack(InfraSettings.from_env(), workdir) as stack:
            _report(stack)
            if migrate:
                _migrate({**os.environ, **_stack_env(stack)})
            typer.echo("# stack is up; Ctrl-C to stop what was started", err=True)
            sys.stdout.flush()
            while True:
                signal.pause()
    except KeyboardInterrupt:
        typer.echo("# stopped", err=True)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


@dev_app.command("run", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def dev_run(
    command: Annotated[list[str], typer.Argument(help="The command to run, after `--`.")],
    workdir: WorkdirOption = DEFAULT_WORKDIR,
) -> None:
    """Ensure NATS and Postgres, run COMMAND with DATABASE_URL/NATS_URL set, exit with its code."""
    with open_stack(InfraSettings.from_env(), workdir) as stack:
        code = _run_child(command, {**os.environ, **_stack_env(stack)})
    raise typer.Exit(code)


def _run_child(command: list[str], env: dict[str, str]) -> int:
    child = subprocess.Popen(command, env=env)
    # Ctrl-C reaches the child directly (same process group): let it decide how to stop,
    # and stop the stack only once it has exited. A SIGTERM aimed at us is passed on.
    previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
    previous_term = signal.signal(signal.SIGTERM, lambda signum, _frame: child.send_signal(signum))
    try:
        code = child.wait()
    finally:
        signal.signal(signal.SIGINT, previous_int)
        signal.signal(signal.SIGTERM, previous_term)
    return code if code >= 0 else 128 - code


@app.command("relay")
def relay(
    batch_size: Annotated[
        int, typer.Option(help="Most events per published batch.")
    ] = DEFAULT_BATCH_SIZE,
    health_port: Annotated[
        int | None, typer.Option(help="Serve /health and /metrics on this port.")
    ] = None,
    event_module: Annotated[
        list[str] | None,
        typer.Option(help="Extra module defining event types to route (plugins, tests)."),
    ] = None,
) -> None:
    """Publish every stored event to its bus subject, in store order (leader-elected)."""
    for module in event_module or []:
        importlib.import_module(module)
    asyncio.run(run_relay(InfraSettings.from_env(), batch_size=batch_size, health_port=health_port))


@app.command("nats-permissions")
def nats_permissions(
    prefix: Annotated[str, typer.Option(help="Bus subject prefix ('' in production).")] = "",
) -> None:
    """Print the NATS `authorization` block: one least-privilege user per service."""
    from breakout.common.bus.permissions import render_authorization  # noqa: PLC0415

    typer.echo(render_authorization(prefix=prefix), nl=False)


def mount_plugins(target: typer.Typer) -> list[str]:
    """Mount every `breakout.cli` entry point on `target`; return the problems, if any."""
    problems = []
    entries = importlib.metadata.entry_points(group="breakout.cli")
    for entry in sorted(entries, key=lambda e: e.name):
        try:
            loaded = entry.load()
        except Exception as exc:  # a broken plugin must not take the whole CLI down
            problems.append(f"{entry.name} ({entry.value}): {type(exc).__name__}: {exc}")
            continue
        if isinstance(loaded, typer.Typer):
            target.add_typer(loaded, name=entry.name)
        elif callable(loaded):
            target.command(entry.name)(loaded)
        else:
            problems.append(f"{entry.name} ({entry.value}): neither a Typer nor a function")
    return problems


def main() -> None:
    """Entry point of the `breakout` script."""
    # Logs go to stderr, so stdout carries only what a command prints (e.g. `export` lines).
    configure_logging("cli", json=not sys.stderr.isatty())
    # The plugins import every service (ccxt, polars…): tens of seconds on a loaded machine.
    # The built-in commands need none of them, so `breakout run` (what `make run` runs) and
    # the other built-ins start without; `--help` and the plugin commands load them all.
    if not _builtin_command(sys.argv[1:]):
        for problem in mount_plugins(app):
            typer.echo(f"# plugin not loaded: {problem}", err=True)
    app()


def _builtin_command(args: list[str]) -> bool:
    """Whether `args` name a command of `app` itself (not a plugin's, not `--help`)."""
    if not args or args[0].startswith("-"):
        return False
    names = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    names |= {g.name for g in app.registered_groups if g.name}
    return args[0] in names


if __name__ == "__main__":
    main()
