"""Webhooks: which URLs are allowed, and delivering a job's final status to one.

Contract:
- ``webhook_refusal(url)`` returns None for an http(s) URL whose host is a loopback
  address (127.0.0.0/8, ::1) or ``localhost``, and otherwise a sentence saying why it
  is refused. No name is resolved: a development tool must not send job data off the
  machine, whatever a DNS answer says.
- ``deliver(session, url, body, attempts=, interval=)`` POSTs ``body`` as JSON,
  retrying on a connection error or a non-2xx answer ``interval`` seconds apart,
  ``attempts`` times in all; it never raises (a failed webhook is logged, as the job
  itself is already final). The platform tries three times in all, 10 s apart
  (RunPod's documentation, send requests, "Webhook notifications":
  https://docs.runpod.io/serverless/endpoints/send-requests); those are
  ``EndpointConfig``'s defaults.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from urllib.parse import urlsplit

import aiohttp

log = logging.getLogger("local_endpoint.webhooks")


def webhook_refusal(url: object) -> str | None:
    if not isinstance(url, str) or not url:
        return "webhook must be a URL string"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"webhook must be an http or https URL, not {parts.scheme or 'no scheme'!r}"
    host = parts.hostname or ""
    if host == "localhost":
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    return (f"webhook host {host!r} is not a loopback address: the local endpoint "
            f"only calls 127.0.0.1, ::1 or localhost, so no job data leaves this machine")


async def deliver(session: aiohttp.ClientSession, url: str, body: dict, *,
                  attempts: int, interval: float) -> bool:
    for attempt in range(1, attempts + 1):
        try:
            async with session.post(url, json=body,
                                    timeout=aiohttp.ClientTimeout(total=10)) as response:
                if 200 <= response.status < 300:
                    return True
                problem = f"HTTP {response.status}"
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:
            problem = f"{type(error).__name__}: {error}"
        log.warning("webhook %s for job %s, attempt %d of %d: %s",
                    url, body.get("id"), attempt, attempts, problem)
        if attempt < attempts:
            await asyncio.sleep(interval)
    return False
