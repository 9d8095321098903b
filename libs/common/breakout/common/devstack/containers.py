"""Start NATS and Postgres in Docker via testcontainers, when a Docker engine answers.

testcontainers (and the docker client it brings) is a dev dependency, so it is imported
only on this path: the library must import without it.
"""

from __future__ import annotations

from contextlib import ExitStack


def docker_answers() -> bool:
    """True when testcontainers is installed and a Docker engine replies to a ping."""
    try:
        import docker  # noqa: PLC0415
        from docker.errors import DockerException  # noqa: PLC0415
    except ImportError:
        return False
    try:
        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (DockerException, OSError):
        return False


def start_postgres_container(stack: ExitStack) -> str:
    """Run Postgres in a container that `stack` removes; return its URL (database `postgres`)."""
    from testcontainers.community.postgres import PostgresContainer  # noqa: PLC0415

    container = PostgresContainer(
        "postgres:16-alpine",
        username="postgres",
        password="postgres",
        dbname="postgres",
        driver=None,
    )
    stack.enter_context(container)
    return str(container.get_connection_url())


def start_nats_container(stack: ExitStack) -> str:
    """Run NATS with JetStream in a container that `stack` removes; return its URL."""
    from testcontainers.community.nats import NatsContainer  # noqa: PLC0415

    container = NatsContainer("nats:2.10-alpine", jetstream=True)
    stack.enter_context(container)
    return str(container.nats_uri())
