"""A local RunPod endpoint: the platform's queue service, played on 127.0.0.1.

The unmodified SDK worker (``runpod.serverless.start`` in a subprocess) and the
unmodified SDK client (``runpod.Endpoint``, ``runpod.AsyncioEndpoint``) talk through
it exactly as they would through RunPod, so the whole request lifecycle (queue, cold
start, streaming, progress, cancel, timeouts, retries, scale to zero) runs on one
machine. It is a development tool, as LocalStack is for AWS; production is RunPod.

Importing this package starts nothing and does not import ``runpod``.

Three ways in:
- ``python -m local_endpoint`` (``cli``): a server until Ctrl-C or SIGTERM.
- ``with LocalEndpoint(worker_command=...) as ep:`` (``endpoint``), for notebooks.
- the ``local_endpoint`` pytest fixtures (``pytest_plugin``).

Modules, one concern each:
- ``config``: every setting and its default.
- ``jobs``: job records and the state machine (pure, no I/O).
- ``workers``: worker processes: spawn, watch, stop by process group.
- ``worker_env``: the environment a worker starts with (no keys of the developer).
- ``scaling``: when to start and stop workers (pure).
- ``webhooks``: loopback-only webhooks and their delivery.
- ``httputil``: auth, body limits, the error shape.
- ``client_api`` / ``worker_api``: the routes each side of the SDK calls.
- ``server``: the app, the supervisor, start and stop.
- ``endpoint``: the context manager; ``cli``: the command line.
"""

from .config import EndpointConfig
from .endpoint import LocalEndpoint

__all__ = ["EndpointConfig", "LocalEndpoint"]
