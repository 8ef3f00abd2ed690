"""Tooling for the lessons in ``notebooks/``: running them, keeping them clean, plotting.

Reusable worker code lives in ``worker/`` and the endpoint in ``local_endpoint/``;
this package holds only what serves the notebooks (and the tests and benchmarks that
call the worker in-process): ``client`` (client-side helpers over ``runpod.Endpoint``),
``inprocess`` (the worker's handler and generation run without the SDK),
``concurrency`` (a cap on jobs running at once), ``setup``, ``run``, ``timeline``,
``results``, ``exercises``. Importing it starts nothing.
"""
