"""Serve a local endpoint with any ``EndpointConfig`` in its own process, until SIGTERM.

``python tests/serve_endpoint.py '<json of EndpointConfig fields>'`` prints what
``python -m local_endpoint`` prints; for tests that need settings the CLI has no flag
for (retention, holds) and the endpoint's own memory, apart from its clients'.
"""

import asyncio
import json
import sys

from local_endpoint.cli import serve
from local_endpoint.config import EndpointConfig

if __name__ == "__main__":
    asyncio.run(serve(EndpointConfig(**json.loads(sys.argv[1]))))
