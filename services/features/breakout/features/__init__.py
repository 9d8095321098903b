"""The features service.

Microstructure features: density, activity, book depth, levels, indicators, order flow,
structure and session levels.
"""
