"""The reconcile service.

Compares the exchange's truth with the log and emits corrections.
"""
