"""The risk service.

Sizing, limits, the kill switch and regime gating.
"""
