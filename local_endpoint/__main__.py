"""Entry point of ``python -m local_endpoint``; see ``local_endpoint.cli``."""

import sys

from .cli import main

sys.exit(main())
