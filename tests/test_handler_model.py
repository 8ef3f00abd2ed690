"""The handler on the real embedded model: plain, streaming, determinism, stops, limits.

In-process, through ``lessons.inprocess.handler`` (what lessons call) and through
``async_handler`` driven by the SDK's own ``run_job_generator`` (what the production
loop runs). No network.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from lessons import inprocess
from worker import generation
from worker.errors import parse_job_error
from lessons.inprocess import handler
from worker.handler import async_handler
from worker.schema import parse_request

PROMPT = "The Python language"


def run(inp: dict, job_id: str = "t"):
    result = handler({"id": job_id, "input": inp})
    return list(result) if not isinstance(result, dict) else result


def test_plain_result_has_text_usage_and_timings(tiny_lm):
    r = run({"prompt": PROMPT, "max_tokens": 16, "temperature": 0})
    assert isinstance(r["text"], str) and r["text"]
    assert r["usage"]["completion_tokens"] <= 16 and r["usage"]["prompt_tokens"] >= 1
    assert r["usage"]["total_tokens"] == r["usage"]["prompt_tokens"] + r["usage"]["completion_tokens"]
    assert r["finish_reason"] in ("stop", "length") and r["model"] == "tiny"
    assert r["timings"]["generate_s"] > 0 and r["timings"]["tokens_per_s"] > 0


def test_greedy_output_is_deterministic(tiny_lm):
    a = run({"prompt": PROMPT, "max_tokens": 32, "temperature": 0})
    b = run({"prompt": PROMPT, "max_tokens": 32, "temperature": 0})
    assert a["text"] == b["text"] and a["usage"] == b["usage"]


def test_sampling_with_a_seed_is_repeatable_and_the_seed_matters(tiny_lm):
    inp = {"prompt": PROMPT, "max_tokens": 32, "temperature": 1.0, "seed": 1234}
    a, b = run(inp)["text"], run(inp)["text"]
    others = {run({**inp, "seed": s})["text"] for s in (1, 2, 3)}
    assert a == b
    assert len(others | {a}) > 1, "different seeds should not all give the same text"


@pytest.mark.parametrize("inp", [
    {"prompt": PROMPT, "max_tokens": 40, "temperature": 0},
    {"prompt": "def main():\n", "max_tokens": 60, "temperature": 0},
    {"prompt": PROMPT, "max_tokens": 40, "temperature": 0.9, "seed": 7},
    {"messages": [{"role": "user", "content": "Tell me about lists."}], "max_tokens": 30, "temperature": 0},
])
def test_streamed_chunks_join_to_the_plain_output(tiny_lm, inp):
    plain = run(inp)
    chunks = run({**inp, "stream": True})
    body, last = chunks[:-1], chunks[-1]
    assert all(c["finished"] is False and c["token"] for c in body), "no empty chunks, none finished early"
    assert last["finished"] is True and last["token"] == ""
    assert "".join(c["token"] for c in body) == plain["text"]
    assert last["usage"] == plain["usage"] and last["finish_reason"] == plain["finish_reason"]
    assert len(body) > 1, "a 30+ token answer arrives in more than one chunk"


def test_max_tokens_limits_the_completion(tiny_lm):
    r = run({"prompt": PROMPT, "max_tokens": 3, "temperature": 0})
    assert r["usage"]["completion_tokens"] <= 3
    if r["usage"]["completion_tokens"] == 3:
        assert r["finish_reason"] == "length"


def test_stop_strings_end_the_text_and_are_not_included(tiny_lm):
    free = run({"prompt": PROMPT, "max_tokens": 60, "temperature": 0})["text"]
    # pick a stop string that does occur in the free text, past its start
    stop = free.strip().split(" ")[min(3, len(free.split()) - 1)]
    cut = free.index(stop)
    r = run({"prompt": PROMPT, "max_tokens": 60, "temperature": 0, "stop": stop})
    assert r["text"] == free[:cut] and r["finish_reason"] == "stop"
    streamed = run({"prompt": PROMPT, "max_tokens": 60, "temperature": 0, "stop": stop, "stream": True})
    assert "".join(c["token"] for c in streamed) == free[:cut]


def test_stop_trimmer_holds_back_a_partial_stop_across_chunks():
    t = generation.StopTrimmer(["END"])
    out = t.feed("abc E") + t.feed("N") + t.feed("D more")
    assert out + t.finish() == "abc "
    t = generation.StopTrimmer(["END"])
    assert t.feed("abc E") == "abc " and t.feed("x") == "Ex" and t.finish() == ""


def test_messages_without_a_chat_template_use_the_documented_plain_join(tiny_lm):
    assert not tiny_lm.has_chat_template
    req = parse_request({"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]})
    assert generation.render_prompt(tiny_lm, req) == ("system: S\nuser: U\nassistant:", False)


def test_a_prompt_longer_than_the_context_is_a_validation_error(tiny_lm):
    words = " ".join(["word"] * (tiny_lm.context_length))
    r = run({"prompt": words, "max_tokens": 4096})
    assert r["status"] == "VALIDATION_ERROR" and "context" in r["error"]


def test_job_timeout_stops_generation_as_a_retryable_timeout(tiny_lm, settings):
    from worker.config import Settings, use_settings

    # 4096 tokens take several seconds on a CPU (one decoder step is about a millisecond
    # at best), so a one-second limit is reached mid-generation.
    use_settings(Settings(**{**settings.__dict__, "job_timeout_s": 1}))
    try:
        started = time.perf_counter()
        r = run({"prompt": PROMPT, "max_tokens": 4096, "temperature": 0})
        elapsed = time.perf_counter() - started
    finally:
        use_settings(settings)
    assert r["status"] == "TIMEOUT" and r["retry"] is True
    assert elapsed < 3, "generation stopped near the limit, not at max_tokens"


def test_cancelling_a_stream_stops_generation_and_frees_the_model(tiny_lm):
    req = parse_request({"prompt": PROMPT, "max_tokens": 4096, "temperature": 0})
    cancel = threading.Event()
    counted: list[int] = []
    tokens = inprocess.stream(tiny_lm, req, cancel=cancel, on_tokens=counted.append)
    it = iter(tokens)
    next(it)
    cancel.set()
    with pytest.raises(generation.GenerationCancelled):
        list(it)
    assert counted[-1] < 4096, "generation stopped soon after the cancel"
    assert tiny_lm.lock.acquire(timeout=5), "the model lock is released after a cancel"
    tiny_lm.lock.release()


def sdk_run(job: dict) -> list[dict]:
    """Drive async_handler with the SDK's own generator runner, as production does."""
    from runpod.serverless.modules.rp_job import run_job_generator

    async def go():
        return [part async for part in run_job_generator(async_handler, job)]

    return asyncio.run(go())


def test_sdk_runner_streams_chunks_and_they_join_to_the_plain_output(tiny_lm):
    inp = {"prompt": PROMPT, "max_tokens": 30, "temperature": 0}
    plain = sdk_run({"id": "s-1", "input": inp})
    streamed = sdk_run({"id": "s-2", "input": {**inp, "stream": True}})
    assert len(plain) == 1 and "text" in plain[0]["output"]
    assert "".join(p["output"]["token"] for p in streamed) == plain[0]["output"]["text"]
    assert streamed[-1]["output"]["finished"] is True


def test_sdk_runner_sees_a_failure_as_an_error_it_reports_failed(tiny_lm):
    parts = sdk_run({"id": "s-3", "input": {"prompt": "x", "max_tokens": 99999}})
    (part,) = parts
    error = part["output"]["error"]
    assert isinstance(error, str), "the SDK keeps only a string error for a failed stream"
    parsed = parse_job_error(error)
    assert parsed["status"] == "VALIDATION_ERROR" and parsed["retry"] is False


def test_async_handler_runs_concurrent_jobs_without_blocking_the_event_loop(tiny_lm):
    async def go():
        ticks = 0
        stop = asyncio.Event()

        async def ticker():
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.005)

        async def job(i):
            return [c async for c in async_handler({"id": f"c-{i}", "input": {
                "prompt": PROMPT, "max_tokens": 40, "temperature": 0, "stream": True}})]

        t = asyncio.create_task(ticker())
        results = await asyncio.gather(*(job(i) for i in range(3)))
        stop.set()
        await t
        return ticks, results

    ticks, results = asyncio.run(go())
    texts = {"".join(c["token"] for c in r) for r in results}
    assert len(texts) == 1, "the same greedy request gives the same text under concurrency"
    assert ticks > 5, "the event loop kept ticking while the jobs generated"
