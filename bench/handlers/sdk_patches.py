"""A patch for benchmarks ONLY: the SDK's job runner without its 0.1 s queue poll.

``rp_scale.JobScaler.run_jobs`` (runpod 1.12.0) looks at its queue, then waits up to
0.1 s (``asyncio.wait(..., timeout=0.1)`` or ``asyncio.sleep(0.1)``) before looking
again, so a taken job waits 0 to 100 ms before it starts. No configuration removes
it. ``apply()`` replaces that method, in the calling worker process only, with one
that wakes as soon as a job is queued, so the benchmarks can show what the poll
costs. It never runs in the worker this project ships; it exists to measure the gap
and report it upstream.
"""

from __future__ import annotations

import asyncio


async def _run_jobs_without_poll(self, session) -> None:
    tasks: set[asyncio.Task] = set()
    while self.is_alive() or not self.jobs_queue.empty():
        while len(tasks) < self.current_concurrency and not self.jobs_queue.empty():
            job = self.jobs_queue.get_nowait()
            task = asyncio.create_task(self.handle_job(session, job))
            tasks.add(task)
            self.jobs_tasks[job["id"]] = task
        queue = self.jobs_queue  # set_scale may swap it: re-read every round
        getter = asyncio.ensure_future(queue.get()) if len(tasks) < self.current_concurrency else None
        waiting = set(tasks) | ({getter} if getter else set())
        done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED, timeout=0.5)
        if getter is not None:
            if getter.done():
                job = getter.result()
                task = asyncio.create_task(self.handle_job(session, job))
                tasks.add(task)
                self.jobs_tasks[job["id"]] = task
            else:
                getter.cancel()
        tasks.difference_update(done)
    await asyncio.gather(*tasks, return_exceptions=True)


def apply() -> None:
    from runpod.serverless.modules import rp_scale

    rp_scale.JobScaler.run_jobs = _run_jobs_without_poll
