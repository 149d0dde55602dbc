"""Shared pytest configuration."""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "shotpack",
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("shotpack")


# --- local IQM server (shotpack.server) over real loopback HTTP ---------------------------------

import pytest  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "iqm_server(**kwargs): LocalServer options for the iqm_server fixture "
        "(token, faults, qubits, seed, readout_error, job_delay, ...)",
    )


@pytest.fixture
def iqm_server_factory():
    """Start LocalServers on 127.0.0.1 with ephemeral ports: ``factory(**LocalServer kwargs)``.

    Every server started through the factory is stopped at teardown.
    """
    from shotpack.server import LocalServer

    started: list[LocalServer] = []

    def factory(**kwargs):
        kwargs.setdefault("seed", 1234)
        server = LocalServer("127.0.0.1", 0, **kwargs).start()
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture
def iqm_server(request: pytest.FixtureRequest, iqm_server_factory):
    """A running LocalServer (5 qubits, seed 1234); ``server.url`` is its root URL.

    Options come from ``@pytest.mark.iqm_server(token="t", faults="503:0.2", ...)``.
    """
    marker = request.node.get_closest_marker("iqm_server")
    options = dict(marker.kwargs) if marker is not None else {}
    return iqm_server_factory(**options)
