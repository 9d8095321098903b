-- Walking a decision's consequences (`breakout audit signal`: signal -> intent -> orders ->
-- positions) looks events up by the event that caused them. Domain events only: market data
-- carries no causation, and an index on its partitions would cost write throughput.
CREATE INDEX IF NOT EXISTS events_domain_causation_idx ON events_domain (causation_id)
    WHERE causation_id IS NOT NULL;
