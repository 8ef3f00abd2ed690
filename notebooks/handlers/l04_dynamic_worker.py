import asyncio
import runpod

MIN_CONCURRENCY, MAX_CONCURRENCY = 1, 8
running = 0  # jobs this worker is running now: the load signal

def adjust_concurrency(current):
    if running >= current:  # every slot busy: allow one more
        return min(current + 1, MAX_CONCURRENCY)
    if running < current // 2:  # mostly idle: allow one fewer
        return max(current - 1, MIN_CONCURRENCY)
    return current

async def handler(job):
    global running
    running += 1
    try:
        await asyncio.sleep(job["input"].get("seconds", 0.5))
        return {"ran_beside": running - 1}
    finally:
        running -= 1

if __name__ == "__main__":
    runpod.serverless.start({"handler": handler, "concurrency_modifier": adjust_concurrency})
