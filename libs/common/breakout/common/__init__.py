"""Breakout shared library: events, store, bus, relay and the process runtime."""
