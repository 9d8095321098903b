"""Backtests, replays and audits: the live cores over recorded or file market data."""
