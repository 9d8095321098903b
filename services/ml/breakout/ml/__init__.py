"""The ML filter: training data from backtests, the ensemble, its artifact and drift."""
