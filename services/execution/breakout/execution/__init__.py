"""The execution service.

Orders and positions: paper and live brokers, and exits (stops, take-profits, trailing,
time-stop, panic).
"""
