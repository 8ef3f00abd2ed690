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

Modules, one concern each (each imports only those listed after it, never back):
- ``endpoint``: the context manager; ``cli``: the command line; ``pytest_plugin``.
- ``server``: one endpoint's life: socket, temporary folders, start, stop, reports.
- ``app``: assembles the routes into the HTTP app.
- ``client_api`` / ``worker_api``: the routes each side of the SDK calls.
- ``supervisor``: what happens by the clock (dead and silent workers, timeouts,
  ttl, retention, scaling, start-up failures).
- ``dispatch``: where jobs meet workers: the named operations the routes and the
  supervisor call, and the waiting room of held requests.
- ``reports``: the /health body and the timeline.
- ``job_store``: the queue and the job state machine (pure, no I/O).
- ``jobs``: a job's record, statuses and status body.
- ``worker_pool``: worker processes: spawn, watch, stop by process group.
- ``processes``: process-group signals and checks; ``worker_env``: the environment
  a worker starts with (no keys of the developer).
- ``workers``: a worker's record; the only module that changes it.
- ``scaling``: when to start and stop workers (pure).
- ``webhooks``: loopback-only webhooks and their delivery.
- ``httputil``: auth, body limits, the error shape; ``config``: every setting.
"""

from .config import EndpointConfig
from .endpoint import LocalEndpoint

__all__ = ["EndpointConfig", "LocalEndpoint"]
