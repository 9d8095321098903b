-- Consumer progress: a checkpoint commits in the same transaction as the consumer's outputs.
CREATE TABLE consumer_checkpoints (
    consumer    text        PRIMARY KEY,
    position    bigint      NOT NULL CHECK (position > 0),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The latest serialized state of a consumer, so a restart replays only the events after it.
CREATE TABLE snapshots (
    consumer  text        PRIMARY KEY,
    position  bigint      NOT NULL,
    state     bytea       NOT NULL,
    taken_at  timestamptz NOT NULL DEFAULT now()
);
