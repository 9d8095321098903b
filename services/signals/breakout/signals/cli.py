"""`breakout presets …`: the preset commands on the main CLI (`breakout scan` is in scan_cli).

Mounted by `breakout.common.cli` through `breakout.cli` entry points (`presets`, `scan`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.table import Table

from breakout.common.presets import (
    PresetError,
    available_presets,
    load_preset,
    load_preset_file,
    presets_dir,
)
from breakout.signals.console import console

presets_app = typer.Typer(no_args_is_help=True, help="Strategy presets: list, show, validate.")


DirOption = Annotated[
    Path | None, typer.Option("--dir", help="Presets folder (default: BREAKOUT_PRESETS_DIR).")
]


@presets_app.command("list")
def presets_list(directory: DirOption = None) -> None:
    """Every preset file: name, version, market, side, universe, entries, reference."""
    folder = directory or presets_dir()
    table = Table(title=f"presets in {folder}")
    for column in ("name", "version", "market", "side", "universe", "entries", "ref"):
        table.add_column(column)
    failed = False
    for name in available_presets(folder):
        try:
            preset = load_preset_file(folder / f"{name}.json")
        except PresetError as exc:
            failed = True
            table.add_row(name, "-", "-", "-", "-", f"[red]invalid: {exc.field or ''}[/]", "")
            continue
        table.add_row(
            preset.name,
            str(preset.version),
            preset.market,
            preset.side,
            preset.scanner.universe,
            ",".join(preset.signal_config.strategies),
            preset.ref(),
        )
    console().print(table)
    if failed:
        raise typer.Exit(1)


@presets_app.command("show")
def presets_show(name: str, directory: DirOption = None) -> None:
    """The preset with every default filled in (JSON), and its reference."""
    try:
        preset = load_preset(name, directory)
    except PresetError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"# {preset.ref()}", err=True)
    encoded = msgspec.json.encode(msgspec.to_builtins(preset))
    typer.echo(msgspec.json.format(encoded, indent=2).decode())


@presets_app.command("validate")
def presets_validate(files: list[Path]) -> None:
    """Check preset files; each error names the field and what is allowed (exit 1 if any)."""
    bad = 0
    for path in files:
        try:
            preset = load_preset_file(path)
        except PresetError as exc:
            bad += 1
            typer.echo(f"INVALID {path}: {exc.field or '(document)'}: {exc.reason}")
            continue
        except OSError as exc:
            bad += 1
            typer.echo(f"INVALID {path}: cannot read: {exc.strerror}")
            continue
        typer.echo(f"ok {path}: {preset.ref()}")
    if bad:
        raise typer.Exit(1)
