"""The load run: many symbols at the simulator's calibrated rates through the whole pipeline.

    exchange_sim -> ingest (3 symbol groups) -> Postgres -> relay -> NATS -> features -> signals
                                                                     -> risk -> execution (paper)

The very processes `make run` starts (`breakout run`), on a database and a bus prefix of the
run's own. After a warm-up it samples, every `--sample-s`, the store's head, the relay's cursor,
every consumer's checkpoint and the resident memory of every service; at the end it reads the
latencies from the store itself: each recorded event keeps the exchange time of the market event
it descends from (`occurred_at`) beside the time it was committed (`recorded_at`), so
`recorded_at - occurred_at` of a features or signals event is the end-to-end latency from the
exchange's event to that decision, through every hop.

    uv run breakout dev run -- python -m bench.load --symbols 300 --duration-s 600

Figures (merged into bench/results.json): `load.*` and `e2e.latency_*`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from bench.__main__ import write
from breakout.common.config import InfraSettings
from breakout.exchange_sim.specs import default_symbols, make_spec

SERVICES = "exchange-sim,relay,ingest,features,regime,signals,risk,execution"
GROUPS = 3


def groups_option(symbols: list[str]) -> str:
    """`g1=A,D;g2=B,E;…`: the symbols dealt into GROUPS ingest groups, like cards, so that
    the busiest markets (listed first) are shared out rather than all in the first group."""
    parts = [symbols[i::GROUPS] for i in range(min(GROUPS, len(symbols)))]
    return ";".join(f"g{n}={','.join(part)}" for n, part in enumerate(parts, start=1))


def descendants(root: int) -> list[int]:
    """Every live process below `root` (by the parent ids in /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            out.append(child)
            todo.append(child)
    return out


def service_name(pid: int) -> str | None:
    """The service a process runs (its console script; ingest by group, features by group), or
    None for the supervisor's helpers and shells."""
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    script = Path(argv[1].decode() if len(argv) > 1 else argv[0].decode()).name
    if not script.startswith("breakout"):
        return None
    name = script + (f":{argv[3].decode()}" if script == "breakout-ingest" else "")
    if script == "breakout-features":  # one process per group: named by its group
        name += _features_group(pid)
    return name


def rss_mb(pids: list[int]) -> dict[str, float]:
    """Resident memory per service."""
    out: dict[str, float] = {}
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            if (name := service_name(pid)) is None:
                continue
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out[name] = out.get(name, 0.0) + int(line.split()[1]) / 1024
    return out


def cpu_s(pids: list[int]) -> dict[str, float]:
    """CPU seconds (user + system) each service has used since it started."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError):
            if (name := service_name(pid)) is None:
                continue
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def cpu_cores(before: dict[str, float], after: dict[str, float], wall_s: float
              ) -> dict[str, float]:  # fmt: skip
    """Cores each service kept busy over `wall_s` (a restarted one counts from its restart),
    busiest first, with `all` their sum."""
    # A counter below its start value belongs to a process restarted in the window.
    used = {
        name: (t - before.get(name, 0.0) if t >= before.get(name, 0.0) else t) / wall_s
        for name, t in after.items()
    }
    cores = {name: round(c, 3) for name, c in sorted(used.items(), key=lambda kv: -kv[1])}
    return cores | {"all": round(sum(used.values()), 3)}


def _features_group(pid: int) -> str:
    """`:<group>` of a features process started per group (its `FEATURES_GROUP`), or ''."""
    for entry in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
        if entry.startswith(b"FEATURES_GROUP="):
            return ":" + entry.partition(b"=")[2].decode()
    return ""


@contextlib.contextmanager
def system(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`breakout run` in its own process group; Ctrl-C to the group at the end."""
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
        try:
            yield process
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


async def until_flowing(conn: asyncpg.Connection, process: subprocess.Popen[bytes],
                        symbols: int, args: argparse.Namespace) -> float:  # fmt: skip
    """Seconds until the store holds trades of `--ready-share` of the symbols (the simulator
    has built its markets, ingest has loaded them and subscribed); the measurement starts
    after that. Not every symbol: the quietest print a trade every few simulated minutes."""
    started = time.monotonic()
    while True:
        flowing = await conn.fetchval(
            "SELECT count(DISTINCT stream) FROM events WHERE category = 'md.trade'"
        )
        elapsed = time.monotonic() - started
        if flowing >= args.ready_share * symbols:
            return elapsed
        if process.poll() is not None or elapsed > args.start_timeout_s:
            raise RuntimeError(f"trades of {flowing}/{symbols} symbols after {elapsed:.0f} s")
        print(f"{elapsed:5.0f} s  trades of {flowing}/{symbols} symbols", file=sys.stderr)
        await asyncio.sleep(10)


def machine(before: tuple[float, float, float], after: tuple[float, float, float]) -> str:
    """Cores, memory and model of this machine, and its load averages around the run."""
    model = next((line.split(":", 1)[1].strip()
                  for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown CPU")  # fmt: skip
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))  # fmt: skip
    loads = "load averages (1/5/15 min) {:.2f}/{:.2f}/{:.2f} before, {:.2f}/{:.2f}/{:.2f} after"
    return (f"{os.cpu_count()} cores ({model}), {mem_kb / 2**20:.0f} GB RAM, shared with other "
            f"jobs; " + loads.format(*before, *after))  # fmt: skip


def offered(symbols: list[str]) -> dict[str, object]:
    """What the simulator offers: base trade rates of the symbols (regimes scale them)."""
    rates = sorted((make_spec(s).trades_per_s for s in symbols), reverse=True)
    return {
        "load.offered_trades_per_s_base": sum(rates),
        "load.offered_trades_per_s_top10": sum(rates[:10]),
        "load.offered_trades_per_s_median_symbol": statistics.median(rates),
    }


def slope_per_min(samples: list[dict[str, object]], lag: Callable[[dict[str, object]], float]
                  ) -> float:  # fmt: skip
    """Least-squares growth of a backlog (or memory), per minute (0 for fewer than 2 samples)."""
    if len(samples) < 2:
        return 0.0
    xs = [float(s["at"]) for s in samples]  # type: ignore[arg-type]
    ys = [float(lag(s)) for s in samples]
    return statistics.linear_regression(xs, ys).slope * 60


async def sample(conn: asyncpg.Connection, relay: str) -> dict[str, object]:
    """The store's head, the relay's cursor and every consumer's checkpoint."""
    head = await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
    rows = await conn.fetch("SELECT consumer, position FROM consumer_checkpoints")
    checkpoints = {r["consumer"]: r["position"] for r in rows}
    return {"at": time.monotonic(), "head": head, "relay": checkpoints.pop(relay, 0),
            "consumers": checkpoints}  # fmt: skip


LATENCY = """
SELECT count(*) AS n,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99
FROM (SELECT extract(epoch FROM recorded_at - occurred_at) * 1000 AS ms
      FROM events WHERE category = ANY($1::text[]) AND recorded_at >= $2 AND recorded_at < $3) t
"""

# From the moment ingest received the market event (wall clock) rather than the exchange's own
# time: the simulator's clock falls behind the wall on a loaded machine, and a real exchange's
# clock is not ours either. The market event is the output's cause (features) or its cause's
# cause (signals, whose inputs are features); both share the output's occurred_at.
LATENCY_FROM_RECEIVE = """
SELECT count(*) AS n,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY ms) AS p99
FROM (SELECT extract(epoch FROM o.recorded_at) * 1000
             - coalesce(c.data->>'received_ts_ms', m.data->>'received_ts_ms')::bigint AS ms
      FROM events o
      JOIN events c ON c.event_id = o.causation_id AND c.occurred_at = o.occurred_at
      LEFT JOIN events m ON m.event_id = c.causation_id AND m.occurred_at = c.occurred_at
      WHERE o.category = ANY($1::text[]) AND o.recorded_at >= $2 AND o.recorded_at < $3) t
WHERE ms IS NOT NULL
"""

# Built candles that disagree with the exchange's kline (docs/ingest.md, "Candles"): by field,
# with how far apart (relative to the kline's value).
MISMATCHES = """
SELECT data->>'timeframe' || ' ' || (data->>'field') AS what, count(*) AS n,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY off) AS off_p50, max(off) AS off_max
FROM (SELECT data, abs((data->>'built')::float8 - (data->>'fetched')::float8)
                   / nullif(abs((data->>'fetched')::float8), 0) AS off
      FROM events
      WHERE category = 'md.candle_mismatch' AND recorded_at >= $1 AND recorded_at < $2) t
GROUP BY 1 ORDER BY 2 DESC
"""

COUNTS = """
SELECT category, count(*) AS n FROM events
WHERE recorded_at >= $1 AND recorded_at < $2 GROUP BY category
"""


@dataclass
class Window:
    """What was sampled over the measured window."""

    samples: list[dict[str, object]] = field(default_factory=list)
    memory: list[dict[str, float]] = field(default_factory=list)
    started_db: object = None
    ended_db: object = None
    cpu_cores: dict[str, float] = field(default_factory=dict)
    loads: tuple[tuple[float, float, float], tuple[float, float, float]] = ((0, 0, 0), (0, 0, 0))


async def window(conn: asyncpg.Connection, process: subprocess.Popen[bytes], prefix: str,
                 args: argparse.Namespace) -> Window:  # fmt: skip
    """Sample the store, the consumers and every service's memory each `--sample-s` for
    `--duration-s`, and the CPU each service used over the whole window."""
    out = Window()
    load_before = os.getloadavg()
    cpu_before = cpu_s(descendants(process.pid))
    out.started_db = await conn.fetchval("SELECT now()")
    started = time.monotonic()
    while True:
        out.samples.append(await sample(conn, f"relay:{prefix}"))
        out.memory.append(rss_mb(descendants(process.pid)))
        elapsed = time.monotonic() - started
        if elapsed >= args.duration_s:
            break
        print(f"{elapsed:5.0f} s  head {out.samples[-1]['head']}", file=sys.stderr)
        await asyncio.sleep(args.sample_s)
    out.ended_db = await conn.fetchval("SELECT now()")
    used = cpu_s(descendants(process.pid))
    out.cpu_cores = cpu_cores(cpu_before, used, time.monotonic() - started)
    out.loads = (load_before, os.getloadavg())
    return out


async def measure(args: argparse.Namespace) -> dict[str, object]:
    infra = InfraSettings.from_env()
    run = uuid.uuid4().hex[:8]
    database = f"bk_load_{run}"
    base = infra.database_url.rpartition("/")[0]
    admin = await asyncpg.connect(base + "/postgres")
    dsn = f"{base}/{database}"
    prefix = f"load{run}"
    symbols = default_symbols(args.symbols)
    workdir = Path(tempfile.mkdtemp(prefix="breakout-load-"))
    env = {**os.environ, "DATABASE_URL": dsn, "BREAKOUT_BUS_PREFIX": prefix,
           "NATS_URL": infra.nats_url, "GATEWAY_PORT": "0"}  # fmt: skip
    argv = [str(Path(sys.executable).parent / "breakout"), "run", "--workdir", str(workdir),
            "--groups", groups_option(symbols), "--only", SERVICES, "--no-summary",
            "--sim-seed", str(args.seed), "--preset", args.preset]  # fmt: skip
    if args.features_per_group:
        argv.append("--features-per-group")
    try:
        with system(argv, env, workdir / "run.log") as process:
            deadline = time.monotonic() + 180
            while b"Ctrl-C stops everything." not in (workdir / "run.log").read_bytes():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the system did not start: see {workdir / 'run.log'}")
                await asyncio.sleep(1)
            conn = await asyncpg.connect(dsn)
            try:
                startup_s = await until_flowing(conn, process, len(symbols), args)
                print(f"trades flowing after {startup_s:.0f} s; warming up "
                      f"{args.warmup_s:.0f} s", file=sys.stderr)  # fmt: skip
                await asyncio.sleep(args.warmup_s)
                measured = await window(conn, process, prefix, args)
            finally:
                await conn.close()
        out = await figures(
            dsn, args, samples=measured.samples, memory=measured.memory,
            start=measured.started_db, end=measured.ended_db,
        )  # fmt: skip
        out["load.startup_s"] = round(startup_s)
        out["load.cpu_cores_by_service"] = measured.cpu_cores
        out["load.machine"] = machine(*measured.loads)
        out |= offered(symbols)
        return out
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


async def latencies(conn: asyncpg.Connection, counts: dict[str, int], start: object,
                    end: object) -> dict[str, object]:  # fmt: skip
    """End-to-end latencies (p50/p99) of market data, features and signals: over the whole
    run, and over its first and last thirds (the last third being the steady state)."""
    third = (end - start) / 3  # type: ignore[operator]
    out: dict[str, object] = {}
    for name, categories in (
        ("market_data", ("md.trade",)),
        ("feature", FEATURES),
        ("signal", SIGNALS),
    ):
        cats = [c for c in counts if c.startswith(categories)]
        whole = await conn.fetchrow(LATENCY, cats, start, end)
        first = await conn.fetchrow(LATENCY, cats, start, start + third)  # type: ignore[operator]
        last = await conn.fetchrow(LATENCY, cats, end - third, end)  # type: ignore[operator]
        out[f"e2e.latency_{name}_p50_ms"] = whole["p50"]
        out[f"e2e.latency_{name}_p99_ms"] = whole["p99"]
        out[f"e2e.latency_{name}_events"] = whole["n"]
        out[f"load.latency_{name}_p50_first_third_ms"] = first["p50"]
        out[f"load.latency_{name}_p50_last_third_ms"] = last["p50"]
        out[f"load.latency_{name}_p99_last_third_ms"] = last["p99"]
        if name != "market_data":
            received = await conn.fetchrow(LATENCY_FROM_RECEIVE, cats, start, end)
            out[f"e2e.latency_{name}_from_receive_p50_ms"] = received["p50"]
            out[f"e2e.latency_{name}_from_receive_p99_ms"] = received["p99"]
            out[f"e2e.latency_{name}_from_receive_events"] = received["n"]
            # Steady state: the start-up backlog is drained by then in a long enough run.
            settled = await conn.fetchrow(LATENCY_FROM_RECEIVE, cats, end - third, end)  # type: ignore[operator]
            out[f"load.latency_{name}_from_receive_p50_last_third_ms"] = settled["p50"]
            out[f"load.latency_{name}_from_receive_p99_last_third_ms"] = settled["p99"]
            out[f"load.latency_{name}_from_receive_last_third_events"] = settled["n"]
    return out


async def figures(dsn: str, args: argparse.Namespace, *, samples: list[dict[str, object]],
                  memory: list[dict[str, float]], start: object, end: object,
                  ) -> dict[str, object]:  # fmt: skip
    conn = await asyncpg.connect(dsn)
    try:
        counts = {r["category"]: r["n"] for r in await conn.fetch(COUNTS, start, end)}
        out = await latencies(conn, counts, start, end)
        out["load.candle_mismatches"] = {
            r["what"]: {"n": r["n"], "off_p50": r["off_p50"], "off_max": r["off_max"]}
            for r in await conn.fetch(MISMATCHES, start, end)
        }
    finally:
        await conn.close()
    wall = float(samples[-1]["at"]) - float(samples[0]["at"])  # type: ignore[arg-type]
    md = sum(n for c, n in counts.items() if c.startswith("md."))
    out["load.symbols"] = args.symbols
    out["load.duration_s"] = round(wall)
    out["load.md_events_per_s"] = md / wall
    out["load.events_per_s"] = sum(counts.values()) / wall
    out["load.events_by_category"] = dict(sorted(counts.items()))
    relay_lag = [int(s["head"]) - int(s["relay"]) for s in samples]  # type: ignore[call-overload]
    out["load.relay_lag_max_events"] = max(relay_lag)
    third_n = max(1, len(samples) // 3)
    out["load.relay_lag_first_third_median"] = statistics.median(relay_lag[:third_n])
    out["load.relay_lag_last_third_median"] = statistics.median(relay_lag[-third_n:])
    out["load.relay_lag_slope_events_per_min"] = slope_per_min(
        samples,
        lambda s: int(s["head"]) - int(s["relay"]),  # type: ignore[call-overload]
    )
    consumers = sorted(samples[-1]["consumers"])  # type: ignore[call-overload]
    lags: dict[str, dict[str, float]] = {}
    for name in consumers:

        def lag(s: dict[str, object], name: str = name) -> int:
            return int(s["head"]) - int(s["consumers"].get(name, 0))  # type: ignore[attr-defined,call-overload]

        series = [lag(s) for s in samples]
        lags[name] = {
            "last_third_median": statistics.median(series[-third_n:]),
            "max": max(series),
            "slope_events_per_min": round(slope_per_min(samples, lag), 1),
        }
    out["load.consumer_lag"] = lags
    total = [sum(m.values()) for m in memory]
    out["load.rss_mb_first"] = total[0]
    out["load.rss_mb_last"] = total[-1]
    out["load.rss_growth_ratio"] = total[-1] / total[0]
    out["load.rss_mb_by_service_first"] = {k: round(v, 1) for k, v in sorted(memory[0].items())}
    out["load.rss_mb_by_service_last"] = {k: round(v, 1) for k, v in sorted(memory[-1].items())}
    out |= memory_figures(samples, memory)
    return out


def memory_figures(samples: list[dict[str, object]], memory: list[dict[str, float]]
                   ) -> dict[str, object]:  # fmt: skip
    """Resident memory per service in the first and the last third of the samples (medians),
    and its growth over the last third (least squares, MB/min): a plateau is a slope near 0
    once the windows have filled, whatever the level (`all` sums the services)."""
    third_n = max(2, len(memory) // 3)
    names = [*sorted({name for m in memory for name in m}), "all"]

    def rss(m: dict[str, float], name: str) -> float:
        return sum(m.values()) if name == "all" else m.get(name, 0.0)

    first, last, slope = {}, {}, {}
    tail = list(zip(samples[-third_n:], memory[-third_n:], strict=True))
    for name in names:
        first[name] = round(statistics.median(rss(m, name) for m in memory[:third_n]), 1)
        last[name] = round(statistics.median(rss(m, name) for m in memory[-third_n:]), 1)
        points: list[dict[str, object]] = [{"at": s["at"], "mb": rss(m, name)} for s, m in tail]
        slope[name] = round(slope_per_min(points, lambda p: p["mb"]), 2)  # type: ignore[arg-type,return-value]
    return {
        "load.rss_mb_by_service_first_third": first,
        "load.rss_mb_by_service_last_third": last,
        "load.memory_slope_mb_per_min": slope,
    }


FEATURES = ("feat.",)
SIGNALS = ("signal", "scan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=300)
    parser.add_argument("--duration-s", type=float, default=600.0)
    parser.add_argument("--warmup-s", type=float, default=60.0)
    parser.add_argument("--sample-s", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--preset", default="breakout_v1")
    parser.add_argument("--ready-share", type=float, default=0.95,
                        help="Share of the symbols trading before the warm-up.")  # fmt: skip
    parser.add_argument("--start-timeout-s", type=float, default=900.0,
                        help="How long the system may take until they trade.")  # fmt: skip
    parser.add_argument("--features-per-group", action=argparse.BooleanOptionalAction,
                        default=True, help="One features process per ingest group.")  # fmt: skip
    parser.add_argument("--no-write", action="store_true",
                        help="Print the figures only; leave bench/results.json alone.")  # fmt: skip
    args = parser.parse_args()
    results = asyncio.run(measure(args))
    if not args.no_write:
        write(results)
    print(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
