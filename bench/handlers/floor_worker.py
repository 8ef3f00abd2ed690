"""The loopback floor: the worker side of the protocol in a few lines, no SDK, no sleeps.

It long-polls the job-take URL and posts ``{"output": {"ok": true}}`` to the job-done
URL at once, with ``FLOOR_CONCURRENCY`` such loops, using the same environment the
SDK worker gets (``RUNPOD_WEBHOOK_GET_JOB``, ``RUNPOD_WEBHOOK_POST_OUTPUT``,
``RUNPOD_AI_API_KEY``, ``RUNPOD_POD_ID``). What a job costs here is what the protocol
itself costs on this machine: client -> server -> worker -> server -> client.
"""

import asyncio
import json
import os
import signal

import aiohttp


async def take_loop(session: aiohttp.ClientSession, take_url: str, done_url: str) -> None:
    while True:
        async with session.get(take_url + "&job_in_progress=0") as response:
            if response.status != 200:
                continue
            job = await response.json()
        url = done_url.replace("$ID", job["id"]) + "&isStream=false"
        async with session.post(url, data=json.dumps({"output": {"ok": True}})) as response:
            await response.read()


async def main() -> None:
    worker = os.environ.get("RUNPOD_POD_ID", "floor")
    take = os.environ["RUNPOD_WEBHOOK_GET_JOB"].replace("$ID", worker)
    done = os.environ["RUNPOD_WEBHOOK_POST_OUTPUT"].replace("$RUNPOD_POD_ID", worker)
    headers = {"Authorization": os.environ.get("RUNPOD_AI_API_KEY", "")}
    loops = int(os.environ.get("FLOOR_CONCURRENCY", "1"))
    async with aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=None)) as session:
        await asyncio.gather(*(take_loop(session, take, done) for _ in range(loops)))


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    asyncio.run(main())
