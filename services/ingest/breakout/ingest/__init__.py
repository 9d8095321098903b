"""The market-data ingest service.

Reads market data via ccxt / ccxt.pro and turns it into md.* events; one process per
symbol group.
"""
