"""The signals service.

The scanner (filters and scoring) and entry signals per preset.
"""
