"""Generation: a whole completion or a stream of text chunks, the same text either way.

Contract:
- ``render_prompt(lm, request)``: ``prompt`` as is; ``messages`` through the model's
  chat template, or, where the model has none, a plain join (``"role: content"``
  lines, then ``"assistant:"``).
- ``complete(lm, request, ...)`` returns a ``Completion``; ``stream(lm, request,
  ...)`` returns a ``TokenStream`` that yields non-empty text chunks (from
  transformers' ``TextIteratorStreamer``) and then holds the ``Completion``. For the
  same request and seed, the chunks join to exactly ``complete``'s text.
- Temperature 0 is greedy decoding; a ``seed`` makes sampling repeatable (generation
  holds the model's lock, so no other job moves the RNG in between).
- ``stop`` strings end the text and are not part of it, in both paths; ``stream``
  holds back text that might be the start of a stop string.
- A prompt whose tokens plus ``max_tokens`` exceed the model's context raises
  ``RequestRejected``; passing ``deadline`` (a ``time.monotonic()`` value) stops
  generation there and raises ``GenerationTimeout``; setting ``cancel`` (a
  ``threading.Event``) stops it early, quietly.
- ``on_tokens(n)`` is called with the running count of generated tokens.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from worker.errors import GenerationTimeout, RequestRejected
from worker.model import LoadedModel
from worker.schema import GenerationRequest


@dataclass
class Completion:
    """What one generation produced, with its token counts and timings."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # "stop" (end of text or a stop string) or "length"
    seconds: float
    first_token_seconds: float | None = None

    @property
    def usage(self) -> dict[str, int]:
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "total_tokens": self.prompt_tokens + self.completion_tokens}

    @property
    def tokens_per_second(self) -> float:
        return self.completion_tokens / self.seconds if self.seconds > 0 else 0.0


def render_prompt(lm: LoadedModel, request: GenerationRequest) -> tuple[str, bool]:
    """The text to tokenize, and whether it already carries special tokens."""
    if request.prompt is not None:
        return request.prompt, False
    messages = [m.model_dump() for m in request.messages]
    if lm.has_chat_template:
        return lm.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False), True
    lines = [f"{m['role']}: {m['content']}" for m in messages]
    return "\n".join(lines) + "\nassistant:", False


class StopTrimmer:
    """Cuts text at the first stop string, holding back what might begin one."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = [s for s in stops if s]
        self.pending = ""
        self.stopped = False

    def feed(self, chunk: str) -> str:
        if self.stopped:
            return ""
        if not self.stops:
            return chunk
        self.pending += chunk
        hits = [i for i in (self.pending.find(s) for s in self.stops) if i >= 0]
        if hits:
            out, self.pending, self.stopped = self.pending[: min(hits)], "", True
            return out
        hold = 0
        for s in self.stops:
            for k in range(min(len(s) - 1, len(self.pending)), hold, -1):
                if self.pending.endswith(s[:k]):
                    hold = k
                    break
        cut = len(self.pending) - hold
        out, self.pending = self.pending[:cut], self.pending[cut:]
        return out

    def finish(self) -> str:
        out, self.pending = ("" if self.stopped else self.pending), ""
        return out


class _Limits:
    """Stopping criteria for cancel and deadline, usable by ``generate``."""

    def __init__(self, cancel: threading.Event | None, deadline: float | None) -> None:
        self.cancel = cancel
        self.deadline = deadline
        self.timed_out = False

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        stop = False
        if self.cancel is not None and self.cancel.is_set():
            stop = True
        elif self.deadline is not None and time.monotonic() >= self.deadline:
            self.timed_out = stop = True
        return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)


def _counting_streamer(inner: Any, on_tokens: Callable[[int], None] | None, clock: dict[str, float]):
    """A streamer that counts generated tokens (skipping the prompt) and forwards."""
    from transformers.generation.streamers import BaseStreamer

    class Counter(BaseStreamer):
        def __init__(self) -> None:
            self.count = 0
            self.seen_prompt = False

        def put(self, value) -> None:
            if not self.seen_prompt:
                self.seen_prompt = True
            else:
                self.count += int(value.numel())
                clock.setdefault("first_token", time.perf_counter())
                if on_tokens is not None:
                    on_tokens(self.count)
            if inner is not None:
                inner.put(value)

        def end(self) -> None:
            if inner is not None:
                inner.end()

    return Counter()


@dataclass
class _Prepared:
    inputs: Any
    prompt_tokens: int
    kwargs: dict[str, Any] = field(default_factory=dict)


def _prepare(lm: LoadedModel, request: GenerationRequest, limits: _Limits) -> _Prepared:
    from transformers import StoppingCriteriaList

    text, templated = render_prompt(lm, request)
    inputs = lm.tokenizer(text, return_tensors="pt", add_special_tokens=not templated).to(lm.device)
    prompt_tokens = int(inputs["input_ids"].shape[1])
    if prompt_tokens + request.max_tokens > lm.context_length:
        raise RequestRejected(
            f"the prompt has {prompt_tokens} tokens; with max_tokens={request.max_tokens} that exceeds "
            f"the model's context of {lm.context_length} tokens"
        )
    kwargs: dict[str, Any] = {
        "max_new_tokens": request.max_tokens,
        "pad_token_id": lm.pad_token_id,
        "stopping_criteria": StoppingCriteriaList([limits]),
    }
    if request.temperature > 0:
        kwargs.update(do_sample=True, temperature=request.temperature, top_p=request.top_p)
    else:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    if request.stop_sequences:
        kwargs.update(stop_strings=request.stop_sequences, tokenizer=lm.tokenizer)
    return _Prepared(inputs=inputs, prompt_tokens=prompt_tokens, kwargs=kwargs)


def _acquire(lm: LoadedModel, deadline: float | None) -> None:
    timeout = -1 if deadline is None else max(0.0, deadline - time.monotonic())
    if not lm.lock.acquire(timeout=timeout):
        raise GenerationTimeout("the job's time limit passed while it waited for the model")


def _generate_locked(lm: LoadedModel, request: GenerationRequest, prepared: _Prepared, streamer) -> Any:
    import torch

    if request.seed is not None:
        torch.manual_seed(request.seed)  # also seeds CUDA's generators
    with torch.inference_mode():
        return lm.model.generate(**prepared.inputs, **prepared.kwargs, streamer=streamer)


def _finish_reason(lm: LoadedModel, request: GenerationRequest, last_token: int | None, count: int,
                   stopped_by_string: bool) -> str:
    if stopped_by_string or (last_token is not None and last_token in lm.eos_token_ids):
        return "stop"
    return "length" if count >= request.max_tokens else "stop"


def complete(lm: LoadedModel, request: GenerationRequest, *, cancel: threading.Event | None = None,
             deadline: float | None = None, on_tokens: Callable[[int], None] | None = None) -> Completion:
    """Generate the whole text at once; see the module docstring."""
    start = time.perf_counter()
    limits = _Limits(cancel, deadline)
    prepared = _prepare(lm, request, limits)
    clock: dict[str, float] = {}
    counter = _counting_streamer(None, on_tokens, clock) if on_tokens is not None else None
    _acquire(lm, deadline)
    try:
        output = _generate_locked(lm, request, prepared, counter)
    finally:
        lm.lock.release()
    if limits.timed_out:
        raise GenerationTimeout(f"generation ran past the job's time limit")
    new_ids = output[0, prepared.prompt_tokens:].tolist()
    trimmer = StopTrimmer(request.stop_sequences)
    text = trimmer.feed(lm.tokenizer.decode(new_ids, skip_special_tokens=True)) + trimmer.finish()
    seconds = time.perf_counter() - start
    return Completion(
        text=text, prompt_tokens=prepared.prompt_tokens, completion_tokens=len(new_ids),
        finish_reason=_finish_reason(lm, request, new_ids[-1] if new_ids else None, len(new_ids), trimmer.stopped),
        seconds=seconds,
        first_token_seconds=(clock["first_token"] - start) if "first_token" in clock else None,
    )


class TokenStream:
    """Iterates non-empty text chunks; ``completion`` is set once it is exhausted."""

    def __init__(self, lm: LoadedModel, request: GenerationRequest, *, cancel: threading.Event | None,
                 deadline: float | None, on_tokens: Callable[[int], None] | None) -> None:
        from transformers import TextIteratorStreamer

        self._lm, self._request = lm, request
        self._start = time.perf_counter()
        self._limits = _Limits(cancel, deadline)
        self._prepared = _prepare(lm, request, self._limits)
        self._clock: dict[str, float] = {}
        self._text_streamer = TextIteratorStreamer(lm.tokenizer, skip_prompt=True, skip_special_tokens=True)
        self._counter = _counting_streamer(self._text_streamer, on_tokens, self._clock)
        self._error: BaseException | None = None
        self._output = None
        self._pieces: list[str] = []
        self.completion: Completion | None = None
        _acquire(lm, deadline)  # raise a lock-wait timeout here, in the caller's thread
        self._thread = threading.Thread(target=self._run, name="generate", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._output = _generate_locked(self._lm, self._request, self._prepared, self._counter)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._error = exc
            self._text_streamer.end()  # unblock the consumer
        finally:
            self._lm.lock.release()

    def __iter__(self) -> Iterator[str]:
        trimmer = StopTrimmer(self._request.stop_sequences)
        for raw in self._text_streamer:
            piece = trimmer.feed(raw)
            if piece:
                self._pieces.append(piece)
                yield piece
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._limits.timed_out:
            raise GenerationTimeout("generation ran past the job's time limit")
        tail = trimmer.finish()
        if tail:
            self._pieces.append(tail)
            yield tail
        new_ids = self._output[0, self._prepared.prompt_tokens:].tolist()
        self.completion = Completion(
            text="".join(self._pieces), prompt_tokens=self._prepared.prompt_tokens,
            completion_tokens=len(new_ids),
            finish_reason=_finish_reason(self._lm, self._request, new_ids[-1] if new_ids else None,
                                         len(new_ids), trimmer.stopped),
            seconds=time.perf_counter() - self._start,
            first_token_seconds=(self._clock["first_token"] - self._start) if "first_token" in self._clock else None,
        )


def stream(lm: LoadedModel, request: GenerationRequest, *, cancel: threading.Event | None = None,
           deadline: float | None = None, on_tokens: Callable[[int], None] | None = None) -> TokenStream:
    """Generate as a stream of text chunks; see the module docstring."""
    return TokenStream(lm, request, cancel=cancel, deadline=deadline, on_tokens=on_tokens)
