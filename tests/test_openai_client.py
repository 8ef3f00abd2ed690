"""The official ``openai`` client against ``python -m local_endpoint`` and the real worker.

One server for the module (``python -m local_endpoint``, as a user starts it) with one
warm ``python -m worker`` on the tiny model: sync and async clients, chat and
completions plain and streamed, models, refused parameters, the HTTP-level errors and
cancel by hanging up.
"""

from __future__ import annotations

import asyncio
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2 as httpx
import openai
import pytest

ROOT = Path(__file__).resolve().parent.parent
KEY, EP = "oa-key", "oa-ep"
HELLO = [{"role": "user", "content": "Hello"}]


@pytest.fixture(scope="module")
def server():
    env = {**os.environ, "MODEL_NAME": "tiny", "RUNPOD_SKIP_AUTO_SYSTEM_CHECKS": "true"}
    cli = subprocess.Popen(
        [sys.executable, "-m", "local_endpoint", "--port", "0", "--endpoint-id", EP, "--api-key", KEY,
         "--min-workers", "1", "--max-workers", "1", "--execution-timeout", "60"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in cli.stdout], daemon=True).start()
    url = None
    try:
        while url is None:
            line = lines.get(timeout=60)
            if " at http://" in line:
                url = line.rsplit(" at ", 1)[1].strip()
        base = f"{url}/{EP}/openai/v1"  # the printed url ends in /v2
        client = openai.OpenAI(base_url=base, api_key=KEY, max_retries=0)
        deadline = time.monotonic() + 120
        while True:  # the worker's cold start: the first request waits in the queue
            try:
                client.models.list()
                break
            except openai.APIConnectionError:
                if time.monotonic() > deadline:
                    raise
        yield {"url": url, "base": base}
    finally:
        cli.terminate()
        cli.wait(timeout=30)


@pytest.fixture()
def client(server):
    return openai.OpenAI(base_url=server["base"], api_key=KEY, max_retries=0)


def test_models_list_shows_the_served_model(client):
    assert [m.id for m in client.models.list()] == ["tiny"]


def test_chat_streamed_deltas_join_to_exactly_the_plain_answer_and_usage_matches(client):
    args = dict(model="tiny", messages=HELLO, max_tokens=24, temperature=0)
    plain = client.chat.completions.create(**args)
    assert plain.object == "chat.completion" and plain.model == "tiny"
    chunks = list(client.chat.completions.create(**args, stream=True, stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content
    assert chunks[-1].choices == [] and chunks[-1].usage == plain.usage
    u = plain.usage
    assert u.total_tokens == u.prompt_tokens + u.completion_tokens and 0 < u.completion_tokens <= 24
    if plain.choices[0].finish_reason == "length":
        assert u.completion_tokens == 24
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == [plain.choices[0].finish_reason]


def test_completions_plain_and_streamed_agree(client):
    args = dict(model="tiny", prompt="def parse(", max_tokens=20, temperature=0)
    plain = client.completions.create(**args)
    assert plain.object == "text_completion" and 0 < plain.usage.completion_tokens <= 20
    text = "".join(c.choices[0].text for c in client.completions.create(**args, stream=True))
    assert text == plain.choices[0].text


def test_a_bad_parameter_raises_bad_request_naming_it_and_is_not_retried(client):
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="tiny", messages=HELLO, n=2)
    assert info.value.param == "n" and info.value.code == "unsupported_value"
    assert info.value.response.headers["x-should-retry"] == "false"
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="tiny", messages=HELLO, max_tokens=10**6, stream=True)
    assert info.value.param == "max_tokens"


def test_an_unknown_model_is_404_and_a_wrong_key_401(client, server):
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="gpt-4o", messages=HELLO)
    assert info.value.code == "model_not_found"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=server["base"], api_key="wrong", max_retries=0).models.list()


def test_unknown_paths_and_methods_keep_openais_error_shape(server):
    r = httpx.post(server["base"] + "/embeddings", json={}, headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_url"
    r = httpx.get(server["base"] + "/chat/completions", headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 405 and r.headers["Allow"] == "POST" and "message" in r.json()["error"]
    r = httpx.post(server["base"] + "/completions", content=b"{nope", headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 400 and r.headers["x-should-retry"] == "false"


def test_async_client_runs_several_requests_at_once(server):
    async def main():
        client = openai.AsyncOpenAI(base_url=server["base"], api_key=KEY, max_retries=0)
        prompts = ["def a(", "class B:", "import c"]
        plain = await asyncio.gather(*[client.completions.create(model="tiny", prompt=p, max_tokens=12,
                                                                 temperature=0) for p in prompts])
        stream = await client.chat.completions.create(model="tiny", messages=HELLO, max_tokens=12, temperature=0,
                                                      stream=True)
        streamed = "".join([c.choices[0].delta.content or "" async for c in stream])
        whole = await client.chat.completions.create(model="tiny", messages=HELLO, max_tokens=12, temperature=0)
        await client.close()
        return plain, streamed, whole
    plain, streamed, whole = asyncio.run(main())
    assert all(p.choices[0].text is not None and p.usage.completion_tokens > 0 for p in plain)
    assert streamed == whole.choices[0].message.content


def health(server):
    return httpx.get(f"{server['url']}/{EP}/health", headers={"Authorization": f"Bearer {KEY}"}).json()


def test_a_client_that_hangs_up_mid_stream_cancels_its_job(server, client):
    before = health(server)["jobs"]["completed"]
    stream = client.chat.completions.create(model="tiny", messages=HELLO, max_tokens=4000, temperature=0,
                                            stream=True)
    next(iter(stream))
    stream.close()
    deadline = time.monotonic() + 20
    while health(server)["jobs"]["inProgress"] and time.monotonic() < deadline:
        time.sleep(0.1)
    h = health(server)
    assert h["jobs"]["inProgress"] == 0 and h["jobs"]["completed"] == before, h


def test_a_timed_out_job_is_504_and_the_client_does_not_resubmit_it(local_endpoint_factory):
    slow = [sys.executable, str(ROOT / "tests" / "handlers" / "slow.py")]   # sleeps 5 s on any input
    ep = local_endpoint_factory(slow, min_workers=1, max_workers=1, execution_timeout=1.0,
                                min_execution_timeout=0.5)
    client = openai.OpenAI(base_url=f"{ep.url}/{ep.endpoint_id}/openai/v1", api_key=ep.api_key, max_retries=2)
    with pytest.raises(openai.InternalServerError) as info:
        client.completions.create(model="any", prompt="x")
    assert info.value.status_code == 504 and info.value.response.headers["x-should-retry"] == "false"
    assert ep.health()["jobs"]["failed"] == 1, "one job: the client did not send it again"
