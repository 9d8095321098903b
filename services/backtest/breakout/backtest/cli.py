"""`breakout backtest`: run a preset over market data; `ab` and `walk-forward` beside it.

    breakout backtest --preset breakout_v1 --data sim:BTCUSDT,ETHUSDT --seed 7 \
        --start 2026-01-01T00:00 --end 2026-01-01T02:00
    breakout backtest --preset breakout_v1 --data ../shared/data/ETH_BTC-5m.feather
    breakout backtest --preset breakout_v1 --data postgresql://… --start … --end …
    breakout backtest ab --preset breakout_v1 --data …          # with / without microstructure
    breakout backtest walk-forward --preset breakout_v1 --data … --is-hours 24 --oos-hours 8

Mounted on `breakout` through the `breakout.cli` entry point `backtest`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

import msgspec
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from breakout.backtest.artifacts import save_run
from breakout.backtest.inputs import MarketData, from_files, from_sim, from_store
from breakout.backtest.report import Performance, build_report
from breakout.backtest.run import DEFAULT_EQUITY, RunOptions, RunOutput, run_backtest
from breakout.backtest.simgen import SimSession
from breakout.backtest.vector.run import load_bars, run_vector
from breakout.backtest.walkforward import stability, walk_forward
from breakout.common.presets import Preset, load_preset
from breakout.common.store.port import StreamAppend
from breakout.common.store.postgres import PostgresEventStore

app = typer.Typer(help="Backtests: the live cores over recorded, file or simulated market data.")
console = Console()
PresetOpt = Annotated[str, typer.Option("--preset", help="Preset name or file.")]
DataOpt = Annotated[str, typer.Option("--data", help="sim[:SYMBOLS], a file/folder, or a DSN.")]
StartOpt = Annotated[str | None, typer.Option("--start", help="ISO time or epoch ms.")]
EndOpt = Annotated[str | None, typer.Option("--end", help="ISO time or epoch ms.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the sim generator.")]
OutOpt = Annotated[Path, typer.Option("--out", help="Folder of runs/<run id>/.")]
LatencyOpt = Annotated[float, typer.Option("--latency-ms", help="Order placement latency.")]
SIM_DEFAULT_S = 3_600
Engine = Literal["event", "vector"]


def parse_time(text: str | None) -> int | None:
    """Epoch milliseconds from an ISO time (UTC if unzoned) or a number of milliseconds."""
    if text is None:
        return None
    if text.isdigit():
        return int(text)
    when = datetime.fromisoformat(text)
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def load_data(options: RunOptions) -> MarketData:
    """The market data `options.data` names (see `breakout.backtest.inputs`)."""
    source = options.data
    if source == "sim" or source.startswith("sim:"):
        symbols = tuple(s for s in source.removeprefix("sim").lstrip(":").split(",") if s)
        start = options.start_ms or SimSession().start_ms
        end = options.end_ms or start + SIM_DEFAULT_S * 1000
        session = SimSession(
            symbols=symbols or SimSession().symbols,
            seed=options.seed or 1,
            start_ms=start,
            duration_s=(end - start) // 1000,
        )
        return from_sim(session)
    if source.startswith(("postgresql://", "postgres://")):
        if options.start_ms is None or options.end_ms is None:
            raise typer.BadParameter("a store source needs --start and --end")
        return asyncio.run(from_store(source, options.start_ms, options.end_ms))
    return from_files(data_files(source), start_ms=options.start_ms, end_ms=options.end_ms)


def data_files(source: str) -> list[Path]:
    """The data files `--data` names: the file, or the folder's files of a known format."""
    path = Path(source)
    if not path.exists():
        raise typer.BadParameter(f"--data {source}: no such file or folder")
    files = [p for p in sorted(path.iterdir()) if p.is_file()] if path.is_dir() else [path]
    return [p for p in files if p.suffix.lower() in (".feather", ".parquet", ".csv", ".gz", ".zip")]


def _run(preset: Preset, data: MarketData, options: RunOptions) -> RunOutput:
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=len(data.inputs) < 50_000,
    ) as progress:
        task = progress.add_task("market events", total=len(data.inputs))

        def advance(done: int) -> None:
            progress.update(task, completed=done)

        return asyncio.run(run_backtest(preset, data, options, on_progress=advance))


def _equity(options: RunOptions, output: RunOutput) -> float:
    balances = options.balances or {}
    return float(balances.get(output.quote, "0") or 0) or _default_equity(output.quote)


def _default_equity(quote: str) -> float:
    return float(DEFAULT_EQUITY.get(quote, "100000"))


@app.callback(invoke_without_command=True)
def backtest(  # noqa: PLR0917 - typer maps each option to a parameter
    ctx: typer.Context,
    preset: PresetOpt = "breakout_v1",
    data: DataOpt = "sim",
    start: StartOpt = None,
    end: EndOpt = None,
    seed: SeedOpt = 1,
    out: OutOpt = Path("runs"),
    latency_ms: LatencyOpt = 50.0,
    record: Annotated[
        str | None, typer.Option("--record", help="Also record the run in this store (DSN).")
    ] = None,
    engine: Annotated[
        Engine, typer.Option("--engine", help="event: every live core; vector: candle screen.")
    ] = "event",
) -> None:
    """Run PRESET over DATA; write runs/<run id>/ (report.json, trades.csv, PNGs, report.html)."""
    if ctx.invoked_subcommand is not None:
        return
    options = _options(data, start, end, seed, latency_ms)
    loaded = load_preset(preset)
    if engine == "vector":
        _vector(loaded, options, out)
        return
    output = _run(loaded, load_data(options), options)
    report = build_report(output.events, _equity(options, output))
    folder = save_run(output, report, out)
    _print_summary(output, {"run": report.overall})
    console.print(
        f"sharpe {report.sharpe}  sortino {report.sortino}  "
        f"max drawdown {report.max_drawdown_frac:.2%}  exposure {report.exposure:.1%}"
    )
    if output.no_input:
        console.print("filters without input: " + ", ".join(output.no_input))
    console.print(f"written: {folder}")
    if record:
        asyncio.run(record_run(record, output))
        console.print(f"recorded {len(output.events)} events in the store")


def _vector(preset: Preset, options: RunOptions, out: Path) -> None:
    """The `--engine vector` run: candle files only, the same report and files."""
    if options.data.startswith(("sim", "postgres")):
        raise typer.BadParameter("--engine vector runs on candle files (--data FILE|FOLDER)")
    try:
        bars = load_bars(data_files(options.data), options.start_ms, options.end_ms)
        output, report = run_vector(preset, bars, options)
    except ValueError as refused:  # not candles, or a preset it cannot run: say why
        raise typer.BadParameter(str(refused)) from refused
    folder = save_run(output, report, out)
    _print_summary(output, {"vector": report.overall})
    console.print("not modelled by the vector engine (the event engine computes them):")
    for item in output.adaptations:
        console.print(f"  {item.setting} = {item.was} ({item.reason})")
    console.print(f"written: {folder}")


def _options(
    data: str, start: str | None, end: str | None, seed: int, latency_ms: float = 50.0
) -> RunOptions:
    """The command line's data, window (parsed), seed and latency as run options."""
    return RunOptions(
        data=data,
        start_ms=parse_time(start),
        end_ms=parse_time(end),
        seed=seed,
        latency_ms=latency_ms,
    )


async def record_run(database_url: str, output: RunOutput) -> None:
    """Append every event of the run to the store at `database_url`, under `bt<run id>.`
    streams (producer `backtest-<run id>/<consumer>`), ids as the run derived them."""
    store = await PostgresEventStore.connect(database_url)
    try:
        batch: list[StreamAppend] = []
        for event in output.events:
            new = event.as_new(producer=f"backtest-{output.run_id}/{event.producer}")
            batch.append(StreamAppend(stream=f"bt{output.run_id}.{event.stream}", events=[new]))
            if len(batch) >= 1000:
                await store.append_bulk(batch)
                batch = []
        if batch:
            await store.append_bulk(batch)
    finally:
        await store.close()


def _print_summary(output: RunOutput, columns: dict[str, Performance]) -> None:
    table = Table(title=f"{output.preset.ref()}  ({output.run_id})")
    table.add_column("")
    for name in columns:
        table.add_column(name, justify="right")
    rows = ("trades", "win_rate", "average_r", "expectancy_quote", "profit_factor", "net_quote")
    for row in rows:
        values = [getattr(perf, row) for perf in columns.values()]
        table.add_row(row, *["-" if v is None else f"{v:.4g}" for v in values])
    console.print(table)


@app.command("ab")
def ab(  # noqa: PLR0917 - typer maps each option to a parameter
    preset: PresetOpt = "breakout_v1",
    data: DataOpt = "sim",
    start: StartOpt = None,
    end: EndOpt = None,
    seed: SeedOpt = 1,
    out: OutOpt = Path("runs"),
    latency_ms: LatencyOpt = 50.0,
) -> None:
    """The same period with and without the microstructure filters, side by side."""
    loaded = load_preset(preset)
    base = _options(data, start, end, seed, latency_ms)
    market = load_data(base)
    columns: dict[str, Performance] = {}
    last: RunOutput | None = None
    for arm, on in (("with", True), ("without", False)):
        options = msgspec.structs.replace(base, microstructure=on)
        output = _run(loaded, market, options)
        report = build_report(output.events, _equity(options, output))
        save_run(output, report, out)
        columns[f"{arm} microstructure ({output.run_id})"] = report.overall
        last = output
    assert last is not None
    _print_summary(last, columns)
    if "modelled" in market.kinds:
        console.print("candles only: the microstructure filters have no input in either arm")


@app.command("walk-forward")
def walk_forward_command(  # noqa: PLR0917 - typer maps each option to a parameter
    preset: PresetOpt = "breakout_v1",
    data: DataOpt = "sim",
    start: StartOpt = None,
    end: EndOpt = None,
    seed: SeedOpt = 1,
    is_hours: Annotated[float, typer.Option(help="In-sample window.")] = 24.0,
    oos_hours: Annotated[float, typer.Option(help="Out-of-sample window (and the step).")] = 8.0,
    param: Annotated[
        list[str] | None, typer.Option(help="section.field to search (repeatable).")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Processes (default: all cores).")] = None,
    is_engine: Annotated[
        Engine, typer.Option("--is-engine", help="In-sample search: event, or vector (candles).")
    ] = "event",
) -> None:
    """Rolling IS/OOS windows, grid search in-sample, out-of-sample results and stability."""
    loaded = load_preset(preset)
    options = _options(data, start, end, seed)
    start_ms, end_ms = options.start_ms, options.end_ms
    if start_ms is None or end_ms is None:  # else only the workers load the data
        market = load_data(options)
        start_ms = market.inputs[0].ts_ms if start_ms is None else start_ms
        end_ms = market.inputs[-1].ts_ms + 1 if end_ms is None else end_ms
    kwargs = {"params": tuple(param)} if param else {}
    results = walk_forward(
        loaded,
        options,
        start_ms=start_ms,
        end_ms=end_ms,
        is_ms=int(is_hours * 3_600_000),
        oos_ms=int(oos_hours * 3_600_000),
        workers=workers,
        is_engine=is_engine,
        **kwargs,  # type: ignore[arg-type]
    )
    table = Table(title="walk-forward")
    for name in ("window (IS start)", "params", "IS net", "IS trades", "OOS net", "OOS trades"):
        table.add_column(name)
    for r in results:
        when = datetime.fromtimestamp(r.is_start_ms / 1000, tz=UTC).isoformat(timespec="minutes")
        params = ", ".join(f"{k.split('.')[-1]}={v:.3g}" for k, v in r.params.items())
        table.add_row(
            when,
            params,
            f"{r.is_net_quote:.4g}",
            str(r.is_trades),
            f"{r.oos_net_quote:.4g}",
            str(r.oos_trades),
        )
    console.print(table)
    console.print(msgspec.json.format(msgspec.json.encode(stability(results))).decode())
