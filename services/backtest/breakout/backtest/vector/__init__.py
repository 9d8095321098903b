"""The vectorised candle engine: one breakout rule over whole arrays of candles (a screen).

`rules` (what it computes, and what of a preset it cannot), `bars` (the arrays and their
indicators), `engine` (signals, the trade loop and the candle fills), `run` (a preset over
candle files, the report). The event engine (`breakout.backtest.engine`) stays the authority:
this one is for fast screens and parameter searches on candle data (docs/backtest.md).
"""
