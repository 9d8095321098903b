"""Serve exchange_sim in its own process for a benchmark; print its URL, serve until killed."""

from __future__ import annotations

import argparse
import asyncio

from breakout.exchange_sim.testing import running_sim


async def _serve(symbols: list[str], rate: float, seed: int) -> None:
    async with running_sim(symbols, seed=seed, trade_rate_multiplier=rate, history_days=0.2) as sim:
        print(sim.base_url, flush=True)
        await asyncio.Event().wait()


def main() -> None:
    """`python -m bench.sim_server --symbols A,B --rate 10`."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--symbols", required=True)
    parser.add_argument("--rate", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args()
    asyncio.run(_serve(args.symbols.split(","), args.rate, args.seed))


if __name__ == "__main__":
    main()
