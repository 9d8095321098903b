"""Read models: in-memory projections of the event store that the API and the dashboard query.

Each read model is a `ReadModel` core run as its own process application (its own consumer
name, so its own checkpoint): on start the runtime replays the log up to the checkpoint into
it, catches up from the store, then follows the bus. Nothing is recorded, so a read model is
always rebuildable from the log, and a new one is one small module plus a line in `registry`.
"""
