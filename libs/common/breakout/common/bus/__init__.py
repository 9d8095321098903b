"""Bus: the port, the in-memory twin and the NATS JetStream implementation."""
