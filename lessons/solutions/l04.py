"""Lesson 4's exercise solutions and the wrong answers their checkers must refuse."""

import asyncio
import time


def slow_lookup(key):
    time.sleep(0.2)
    return key.upper()


async def free_the_loop(job):
    return list(await asyncio.gather(*(asyncio.to_thread(slow_lookup, k) for k in job["input"]["keys"])))


async def blocks_the_loop(job):
    return [slow_lookup(k) for k in job["input"]["keys"]]


async def one_after_another(job):
    return [await asyncio.to_thread(slow_lookup, k) for k in job["input"]["keys"]]


def choose(burst, service_limit):
    return service_limit, 2 * burst + 2


SOLUTIONS = {"04.free_the_loop": free_the_loop, "04.choose_concurrency": choose}
WRONG = {
    "04.free_the_loop": [blocks_the_loop, one_after_another],
    "04.choose_concurrency": [lambda burst, limit: (limit, limit),        # the stock way: hold = run
                              lambda burst, limit: (burst, 2 * burst + 2),  # runs more than the service allows
                              lambda burst, limit: (limit, 1000)],          # holds far too many
}
