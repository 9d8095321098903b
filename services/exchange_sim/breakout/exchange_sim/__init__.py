"""The exchange simulator service.

A Binance-protocol exchange emulator, market simulator and macro/news feeds on loopback:
the offline default and the test double for the outside world.
"""
