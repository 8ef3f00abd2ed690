"""Tooling for the lessons in ``notebooks/``: running them, keeping them clean, plotting.

Reusable worker code lives in ``worker/`` and the endpoint in ``local_endpoint/``;
this package holds only what serves the notebooks themselves. Importing it starts
nothing.
"""
