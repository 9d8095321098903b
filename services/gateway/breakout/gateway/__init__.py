"""The gateway service.

FastAPI REST and a WebSocket bridge of bus subjects, plus the web dashboard.
"""
