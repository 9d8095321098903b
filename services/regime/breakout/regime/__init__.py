"""The regime service.

Macro regime (DXY, BTC dominance), news classification and capital flow.
"""
