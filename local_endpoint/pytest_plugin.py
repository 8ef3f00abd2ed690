"""pytest fixtures that give a test a running local endpoint, and check it left nothing.

Enable with ``pytest_plugins = ["local_endpoint.pytest_plugin"]`` in a conftest.

Contract:
- ``local_endpoint``: a started ``LocalEndpoint`` for one test, configured by the
  test's marker, e.g. ``@pytest.mark.local_endpoint(worker_command=[...],
  max_workers=2)`` (without a marker: the defaults, i.e. ``python -m worker``).
- ``local_endpoint_factory`` / ``module_local_endpoint_factory``: call them with
  ``LocalEndpoint`` arguments to start as many endpoints as a test (or a module)
  needs; they are closed when the test (or the module) ends.
- Every endpoint these fixtures start is closed at teardown, and the teardown fails,
  naming the PIDs, if any process of its workers is still running afterwards.
"""

from __future__ import annotations

import threading
from typing import Any, Iterator

import pytest

from .endpoint import LocalEndpoint


class EndpointFactory:
    """Starts endpoints on demand; ``close_all()`` stops them and checks for leftovers."""

    def __init__(self) -> None:
        self.started: list[LocalEndpoint] = []

    def __call__(self, worker_command: Any = None, **settings: Any) -> LocalEndpoint:
        endpoint = LocalEndpoint(worker_command, **settings)
        endpoint.start()
        self.started.append(endpoint)
        return endpoint

    def close_all(self) -> None:
        # Side by side: each close waits about a second for the SDK worker to exit.
        errors: list[BaseException] = []

        def close(endpoint: LocalEndpoint) -> None:
            try:
                endpoint.close()
            except BaseException as error:
                errors.append(error)

        closers = [threading.Thread(target=close, args=(ep,)) for ep in self.started]
        for closer in closers:
            closer.start()
        for closer in closers:
            closer.join()
        if errors:
            raise errors[0]
        leftovers = {}
        for endpoint in self.started:
            pids = endpoint.leftover_processes()
            if pids:
                leftovers[repr(endpoint)] = pids
        self.started.clear()
        if leftovers:
            pytest.fail(f"worker processes left behind after the endpoint stopped: {leftovers}",
                        pytrace=False)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "local_endpoint(worker_command=None, **settings): configure the local_endpoint "
        "fixture (settings are EndpointConfig fields)",
    )


@pytest.fixture
def local_endpoint_factory() -> Iterator[EndpointFactory]:
    factory = EndpointFactory()
    yield factory
    factory.close_all()


@pytest.fixture(scope="module")
def module_local_endpoint_factory() -> Iterator[EndpointFactory]:
    factory = EndpointFactory()
    yield factory
    factory.close_all()


@pytest.fixture
def local_endpoint(request: pytest.FixtureRequest,
                   local_endpoint_factory: EndpointFactory) -> LocalEndpoint:
    marker = request.node.get_closest_marker("local_endpoint")
    args = marker.args if marker else ()
    kwargs = dict(marker.kwargs) if marker else {}
    return local_endpoint_factory(*args, **kwargs)
