"""`breakout ml`: train, evaluate and watch the ML filter.

    breakout ml train --data sim --seeds 11,12,13 --minutes 30 --out models --version 1
    breakout ml train --data .ml-data/ --out models --version 2      # saved samples (JSON lines)
    breakout ml evaluate breakout_ml@1 --data .ml-data/sim-19.jsonl
    breakout ml drift breakout_ml@1 --dsn postgresql://… --since 2026-01-02T00:00

Mounted on `breakout` through the `breakout.cli` entry point `ml` (docs/ml.md).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from breakout.backtest.cli import parse_time
from breakout.backtest.simgen import SimSession
from breakout.common.clock import LiveClock
from breakout.common.presets import PresetError, load_preset
from breakout.ml import dataset
from breakout.ml.artifact import save_artifact
from breakout.ml.dataset import Sample
from breakout.ml.drift import PSI_ALERT, drift, stored_signals
from breakout.ml.models import MODEL_NAMES, ModelSize, fit_ensemble, matrix, scores, walk_forward
from breakout.signals.mlmodel import MlModelError, load_model

app = typer.Typer(no_args_is_help=True, help="The ML filter: train, evaluate, drift.")
console = Console()
SIM_START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z, the backtest's sim default

DataOpt = Annotated[
    str, typer.Option("--data", help="`sim`, or JSON-lines sample files / a folder of them.")
]
SeedsOpt = Annotated[str, typer.Option("--seeds", help="Sim seeds, one session each.")]
SymbolsOpt = Annotated[str, typer.Option("--symbols", help="Sim symbols.")]
MinutesOpt = Annotated[int, typer.Option(min=1, help="Length of each sim session.")]
RateOpt = Annotated[float, typer.Option(help="Sim trade-rate multiplier.")]
ScriptOpt = Annotated[bool, typer.Option(help="Script breakouts and reversals (docs/ml.md).")]
PresetOpt = Annotated[str, typer.Option(help="Preset the sim backtests run (loosened).")]


def _ints(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a comma-separated list of integers") from None


def _sample_files(data: str) -> list[Path]:
    files: list[Path] = []
    for part in data.split(","):
        path = Path(part)
        if path.is_dir():
            files += sorted(path.glob("*.jsonl"))
        elif path.is_file():
            files.append(path)
        else:
            raise typer.BadParameter(f"--data {part}: no such file or folder")
    if not files:
        raise typer.BadParameter(f"--data {data}: no .jsonl sample files")
    return files


def collect(  # noqa: PLR0917 - the options `train` and `evaluate` share, as typed
    data: str,
    preset: str,
    seeds_text: str,
    symbols_text: str,
    minutes: int,
    trade_rate: float,
    script: bool,
) -> tuple[list[Sample], dict[str, Any]]:
    """Samples from sim backtests (seed k's session starts k session lengths after the sim
    start, so sessions do not overlap in time) or from saved files."""
    seeds = _ints(seeds_text)
    symbols = [s for s in symbols_text.split(",") if s]
    if data != "sim":
        files = _sample_files(data)
        return dataset.load(files), {"data": [str(f) for f in files]}
    try:
        loosened, changes = dataset.loosen(load_preset(preset))
    except PresetError as exc:
        raise typer.BadParameter(str(exc)) from None
    samples: list[Sample] = []
    for seed in seeds:
        start = SIM_START_MS + seed * minutes * 60_000
        session = SimSession(
            symbols=tuple(symbols),
            seed=seed,
            start_ms=start,
            duration_s=minutes * 60,
            trade_rate_multiplier=trade_rate,
        )
        scripts = (
            {s: dataset.random_script(seed * 10 + i, minutes * 60) for i, s in enumerate(symbols)}
            if script
            else None
        )
        found = dataset.simulate(loosened, session, scripts=scripts)
        console.print(f"seed {seed}: {len(found)} labelled signals")
        samples += found
    training = {
        "data": "sim",
        "preset": loosened.ref(),
        "loosened": [f"{c.setting}: {c.was} -> {c.now}" for c in changes],
        "seeds": seeds,
        "symbols": symbols,
        "minutes": minutes,
        "trade_rate": trade_rate,
        "scripted": script,
    }
    return samples, training


def _fold_table(evaluation: dict[str, Any]) -> Table:
    table = Table(title="walk-forward (expanding window): AUC / precision / Brier")
    table.add_column("fold")
    table.add_column("train/test", justify="right")
    for name in MODEL_NAMES:
        table.add_column(name, justify="right")
    for row in evaluation["folds"]:
        cells = [_cell(row.get(name)) for name in MODEL_NAMES]
        table.add_row(str(row["fold"]), f"{row['train']}/{row['test']}", *cells)
    means = evaluation["mean"]
    table.add_row("mean", "", *[_cell(means.get(name)) for name in MODEL_NAMES])
    return table


def _cell(values: dict[str, Any] | None) -> str:
    if not values:
        return "-"
    auc = values.get("auc")
    text = "n/a" if auc is None else f"{auc:.3f}"
    return f"{text} / {values['precision']:.2f} / {values['brier']:.3f}"


@app.command()
def train(  # noqa: PLR0917 - typer maps each option to a parameter
    data: DataOpt = "sim",
    seeds: SeedsOpt = "11,12,13,14",
    symbols: SymbolsOpt = "BTCUSDT,ETHUSDT",
    minutes: MinutesOpt = 20,
    trade_rate: RateOpt = 0.5,
    script: ScriptOpt = True,
    preset: PresetOpt = "demo",
    out: Annotated[Path, typer.Option(help="Models folder.")] = Path("models"),
    name: Annotated[str, typer.Option(help="Model name.")] = "breakout_ml",
    version: Annotated[int, typer.Option(min=1, help="Model version (never overwritten).")] = 1,
    folds: Annotated[int, typer.Option(min=1, help="Walk-forward folds.")] = 4,
    seed: Annotated[int, typer.Option(help="random_state of every model.")] = 7,
    trees: Annotated[int, typer.Option(min=1, help="Random forest trees.")] = 200,
    rounds: Annotated[int, typer.Option(min=1, help="Boosting rounds (GB, XGBoost).")] = 150,
    save_samples: Annotated[
        Path | None, typer.Option(help="Also write the samples here (JSON lines).")
    ] = None,
    created_at: Annotated[
        str | None, typer.Option(help="Creation time for the manifest (default: now).")
    ] = None,
) -> None:
    """Label backtest signals, cross-validate walk-forward, fit and save the ensemble."""
    samples, training = collect(data, preset, seeds, symbols, minutes, trade_rate, script)
    if save_samples is not None:
        dataset.save(dataset.ordered(samples), save_samples)
    positives = sum(s.label for s in samples)
    console.print(f"{len(samples)} samples, {positives} reached +1 R first")
    size = ModelSize(trees=trees, boosting_rounds=rounds)
    try:
        evaluation = walk_forward(samples, folds=folds, seed=seed, size=size)
        model = fit_ensemble(samples, seed=seed, size=size)
    except ValueError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    console.print(_fold_table(evaluation))
    when = _when(created_at)
    training |= {"folds": folds, "seed": seed, "trees": trees, "rounds": rounds}
    folder = save_artifact(
        model,
        samples,
        out=out,
        name=name,
        version=version,
        created_at=when,
        evaluation=evaluation,
        training=training,
    )
    top = list(evaluation["importance"].items())[:10]
    if top:
        console.print(
            "top features (permutation, AUC drop): " + ", ".join(f"{k} {v:+.3f}" for k, v in top)
        )
    console.print(f"saved {folder}")


def _when(text: str | None) -> datetime:
    if text is None:
        return LiveClock().now()
    ms = parse_time(text)
    assert ms is not None
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


@app.command()
def evaluate(  # noqa: PLR0917 - typer maps each option to a parameter
    model: Annotated[str, typer.Argument(help="`name@version` or an artifact folder.")],
    data: DataOpt = "sim",
    seeds: SeedsOpt = "21",
    symbols: SymbolsOpt = "BTCUSDT,ETHUSDT",
    minutes: MinutesOpt = 20,
    trade_rate: RateOpt = 0.5,
    script: ScriptOpt = True,
    preset: PresetOpt = "demo",
    models_dir: Annotated[Path | None, typer.Option(help="Models folder.")] = None,
) -> None:
    """Score a saved model on labelled signals (held-out seeds or sample files)."""
    loaded = _load(model, models_dir)
    samples, _ = collect(data, preset, seeds, symbols, minutes, trade_rate, script)
    if not samples:
        console.print("[red]error:[/] no labelled signals in the data")
        raise typer.Exit(2)
    x, y = matrix(samples)
    p = np.asarray(loaded.probabilities(x.tolist()))
    result = scores(y, p)
    table = Table(title=f"{loaded.ref} on {len(y)} signals")
    for key in result:
        table.add_column(key, justify="right")
    table.add_row(*("n/a" if v is None else f"{v:.3f}" for v in result.values()))
    console.print(table)


@app.command("drift")
def drift_command(  # noqa: PLR0917 - typer maps each option to a parameter
    model: Annotated[str, typer.Argument(help="`name@version` or an artifact folder.")],
    dsn: Annotated[str, typer.Option("--dsn", envvar="DATABASE_URL", help="The event store.")],
    since: Annotated[str, typer.Option(help="ISO time or epoch ms (signal time).")],
    until: Annotated[str | None, typer.Option(help="ISO time or epoch ms.")] = None,
    preset: Annotated[str | None, typer.Option(help="Only this preset's signals.")] = None,
    threshold: Annotated[float, typer.Option(help="PSI alert threshold.")] = PSI_ALERT,
    models_dir: Annotated[Path | None, typer.Option(help="Models folder.")] = None,
) -> None:
    """PSI of each feature, stored signals vs the training reference; exit 1 above threshold."""
    loaded = _load(model, models_dir)
    since_ms = parse_time(since)
    assert since_ms is not None
    signals = asyncio.run(stored_signals(dsn, since_ms, parse_time(until), preset))
    try:
        rows = drift(loaded.manifest, signals, threshold)
    except ValueError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    table = Table(
        title=f"feature drift of {loaded.ref}: {len(signals)} signals, alert > {threshold}"
    )
    table.add_column("feature")
    table.add_column("PSI", justify="right")
    table.add_column("", justify="left")
    for row in rows:
        style = "red" if row.alert else "green"
        table.add_row(row.feature, f"[{style}]{row.psi:.4f}[/]", "ALERT" if row.alert else "")
    console.print(table)
    alerts = [r.feature for r in rows if r.alert]
    if alerts:
        console.print(f"[red]{len(alerts)} feature(s) drifted:[/] {', '.join(alerts)}")
        raise typer.Exit(1)


def _load(model: str, directory: Path | None) -> Any:
    try:
        return load_model(model, directory)
    except MlModelError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
