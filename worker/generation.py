"""Generation: one ``model.generate`` for one request or a batch of them, streamed per row.

Contract:
- ``GenerationTask(request, on_text=..., on_tokens=..., on_done=..., cancel=...,
  deadline=...)`` is one request's share of a run. ``run_batch(lm, tasks)`` generates
  for all of them in one ``model.generate`` call (left-padded; a batch of one is the
  solo case) and ends every task with a ``completion`` or an ``error``, calling
  ``on_done()`` once. Tasks in one batch must share ``batch_key()``; a task whose key is
  ``None`` (sampling with its own seed) must run alone.
- Text comes out of transformers' ``TextStreamer`` decoding, one per row, fed by a
  batch streamer that splits each step's tokens by row: ``on_text(piece)`` gets every
  non-empty piece as it is decoded, in the generating thread, and the pieces join to
  exactly ``completion.text``. A row is finished, and its task done, as soon as it
  ends (end of text, stop string, its own ``max_tokens``, cancel or deadline), not when
  the longest row of its batch ends.
- ``render_prompt``: ``prompt`` as is; ``messages`` through the model's chat template,
  or, where the model has none, a plain join (``"role: content"`` lines, then
  ``"assistant:"``).
- Temperature 0 is greedy decoding; a ``seed`` makes sampling repeatable (runs hold the
  model's lock, so nothing moves the RNG in between).
- ``stop`` strings end the text and are not part of it; text that might be the start
  of a stop string is held back until it is not.
- Errors: a prompt whose tokens plus ``max_tokens`` exceed the context:
  ``RequestRejected``; past ``deadline``: ``GenerationTimeout``; ``cancel`` set:
  ``GenerationCancelled``. A failure of the whole run fails every unfinished task.
- The worker goes through ``worker.batching``; ``lessons.inprocess`` runs one request
  directly (``complete``, ``stream``) for lessons and tests.
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from worker.errors import GenerationTimeout, RequestRejected
from worker.model import LoadedModel
from worker.schema import GenerationRequest


class GenerationCancelled(Exception):
    """The task was cancelled (its client or the platform gave up on it)."""


@dataclass
class Completion:
    """What one generation produced, with its token counts and timings."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # "stop" (end of text or a stop string) or "length"
    seconds: float
    first_token_seconds: float | None = None
    batch_size: int = 1

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


class GenerationTask:
    """One request in a generation run: its inputs, limits, callbacks and outcome."""

    def __init__(self, request: GenerationRequest, *, on_text: Callable[[str], None] | None = None,
                 on_tokens: Callable[[int], None] | None = None, on_done: Callable[[], None] | None = None,
                 cancel: threading.Event | None = None, deadline: float | None = None) -> None:
        self.request = request
        self.on_text = on_text
        self.on_tokens = on_tokens
        self.on_done = on_done
        self.cancel = cancel or threading.Event()
        self.deadline = deadline
        self.completion: Completion | None = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        self.submitted = time.perf_counter()
        self.prompt_ids: list[int] = []

    def batch_key(self) -> tuple | None:
        """Tasks with equal keys can share a batch; None means this one runs alone."""
        r = self.request
        sampling = r.temperature > 0
        if sampling and r.seed is not None:
            return None  # its own RNG stream: a shared batch would not reproduce it
        return (sampling, r.temperature if sampling else 0.0, r.top_p if sampling else 1.0, tuple(r.stop_sequences))

    def finish(self, completion: Completion | None = None, error: BaseException | None = None) -> None:
        if self.done.is_set():
            return
        self.completion, self.error = completion, error
        self.done.set()
        if self.on_done is not None:
            self.on_done()

    def result(self) -> Completion:
        """The completion, or the task's error raised."""
        self.done.wait()
        if self.error is not None:
            raise self.error
        assert self.completion is not None
        return self.completion


def _prepare(lm: LoadedModel, task: GenerationTask) -> None:
    text, templated = render_prompt(lm, task.request)
    ids = lm.tokenizer(text, add_special_tokens=not templated)["input_ids"]
    if task.request.max_tokens + len(ids) > lm.context_length:
        raise RequestRejected(
            f"the prompt has {len(ids)} tokens; with max_tokens={task.request.max_tokens} that exceeds "
            f"the model's context of {lm.context_length} tokens")
    if not ids:
        raise RequestRejected("the prompt has no tokens")
    task.prompt_ids = list(ids)


@functools.lru_cache(maxsize=32)
def _stop_string_criteria(tokenizer: Any, stops: tuple[str, ...]):
    # Building it scans the vocabulary: done once per tokenizer and stop set.
    from transformers import StopStringCriteria

    return StopStringCriteria(tokenizer=tokenizer, stop_strings=list(stops))


class _Row:
    """The decoding state of one task within a batch."""

    def __init__(self, lm: LoadedModel, task: GenerationTask, emit: Callable[[str], None]) -> None:
        from transformers import TextStreamer

        self.task = task
        self.count = 0
        self.pieces: list[str] = []
        self.trimmer = StopTrimmer(task.request.stop_sequences)
        self.first_token: float | None = None
        self.finished_step: int | None = None
        self.reason: str | None = None
        self.pending: list[int] = []  # tokens not decoded yet
        self.decoded_at = 0.0
        row = self

        class RowText(TextStreamer):  # transformers' incremental decoding, text handed to us
            def on_finalized_text(self, text: str, stream_end: bool = False) -> None:
                piece = row.trimmer.feed(text) if text else ""
                if stream_end:
                    piece += row.trimmer.finish()
                if piece:
                    row.pieces.append(piece)
                    emit(piece)

        self.text = RowText(lm.tokenizer, skip_prompt=False, skip_special_tokens=True)

    def mark(self, step: int, reason: str) -> None:
        if self.finished_step is None:
            self.finished_step, self.reason = step, reason


class _Limits:
    """Per-row stopping: stop strings, each row's max_tokens, cancel, deadline.

    (End of text is seen where the tokens arrive, in ``_BatchStreamer.put``; generate()
    itself stops a row at its end-of-text token.)
    """

    def __init__(self, lm: LoadedModel, rows: list[_Row], prompt_len: int, stops: tuple[str, ...]) -> None:
        self.rows = rows
        self.prompt_len = prompt_len
        self.stop_strings = _stop_string_criteria(lm.tokenizer, stops) if stops else None

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        step = input_ids.shape[1] - self.prompt_len
        hit_stop = self.stop_strings(input_ids, scores).tolist() if self.stop_strings is not None else None
        now = time.monotonic()
        for i, row in enumerate(self.rows):
            if row.finished_step is not None:
                continue
            task = row.task
            if hit_stop is not None and hit_stop[i]:
                row.mark(step, "stop")
            elif step >= task.request.max_tokens:
                row.mark(step, "length")
            elif task.cancel.is_set():
                row.mark(step, "cancelled")
            elif task.deadline is not None and now >= task.deadline:
                row.mark(step, "timeout")
        done = [row.finished_step is not None for row in self.rows]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


DECODE_EVERY_S = 0.01  # a row's tokens are decoded together at most this often (the first at once)


class _BatchStreamer:
    """Receives each step's tokens for the whole batch and feeds every live row.

    Tokens are handed to a row's decoder at most every ``DECODE_EVERY_S`` (the first
    one at once, and whatever is left when the row ends): decoding per token costs a
    small model a few per cent of its speed, and the text comes out the same.
    """

    def __init__(self, lm: LoadedModel, rows: list[_Row], started: float, batch_size: int) -> None:
        self.rows = rows
        self.eos = lm.eos_token_ids
        self.started = started
        self.batch_size = batch_size
        self.step = 0
        self.seen_prompt = False

    def put(self, value) -> None:
        if not self.seen_prompt:  # generate() hands over the prompt first
            self.seen_prompt = True
            return
        self.step += 1
        now = time.perf_counter()
        tokens = value.tolist()
        for row, token in zip(self.rows, tokens):
            if row.finished_step is not None and row.finished_step < self.step:
                continue  # a finished row: what follows is padding
            row.count += 1
            row.pending.append(token)
            if token in self.eos:
                row.mark(self.step, "stop")
            if row.first_token is None:
                row.first_token = now
            if row.finished_step == self.step:
                self.close(row)
            elif now - row.decoded_at >= DECODE_EVERY_S:
                self._decode(row, now)
            if row.task.on_tokens is not None:
                row.task.on_tokens(row.count)

    def _decode(self, row: _Row, now: float) -> None:
        import torch

        if row.pending:
            row.text.put(torch.tensor(row.pending))
            row.pending = []
        row.decoded_at = now

    def close(self, row: _Row) -> None:
        """Flush a finished row and end its task, while the rest of the batch goes on."""
        if row.task.done.is_set():
            return
        self._decode(row, time.perf_counter())
        row.text.end()
        if row.reason == "timeout":
            row.task.finish(error=GenerationTimeout("generation ran past the job's time limit"))
            return
        if row.reason == "cancelled":
            row.task.finish(error=GenerationCancelled("cancelled"))
            return
        now = time.perf_counter()
        reason = "stop" if row.trimmer.stopped else (row.reason or "length")
        row.task.finish(Completion(
            text="".join(row.pieces), prompt_tokens=len(row.task.prompt_ids), completion_tokens=row.count,
            finish_reason=reason, seconds=now - self.started,
            first_token_seconds=None if row.first_token is None else row.first_token - self.started,
            batch_size=self.batch_size))

    def end(self) -> None:
        for row in self.rows:
            if row.finished_step is None:
                row.mark(self.step, "length")
            self.close(row)


def _generate(lm: LoadedModel, tasks: list[GenerationTask]) -> None:
    import torch

    started = time.perf_counter()
    prompt_len = max(len(t.prompt_ids) for t in tasks)
    pad = lm.pad_token_id if lm.pad_token_id is not None else 0
    # Left padding: every row's next token lands in the same column.
    ids = torch.full((len(tasks), prompt_len), pad, dtype=torch.long)
    mask = torch.zeros((len(tasks), prompt_len), dtype=torch.long)
    for i, t in enumerate(tasks):
        n = len(t.prompt_ids)
        ids[i, prompt_len - n:] = torch.tensor(t.prompt_ids, dtype=torch.long)
        mask[i, prompt_len - n:] = 1
    rows = [_Row(lm, t, t.on_text or (lambda piece: None)) for t in tasks]
    first = tasks[0].request
    limits = _Limits(lm, rows, prompt_len, tuple(first.stop_sequences))
    streamer = _BatchStreamer(lm, rows, started, len(tasks))
    kwargs: dict[str, Any] = {"max_new_tokens": max(t.request.max_tokens for t in tasks),
                              "pad_token_id": pad, "stopping_criteria": [limits]}
    if first.temperature > 0:
        kwargs.update(do_sample=True, temperature=first.temperature, top_p=first.top_p)
        if first.seed is not None:
            torch.manual_seed(first.seed)  # also seeds CUDA's generators
    else:
        kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    from transformers import StoppingCriteriaList

    kwargs["stopping_criteria"] = StoppingCriteriaList([limits])
    with torch.inference_mode():
        lm.model.generate(input_ids=ids.to(lm.device), attention_mask=mask.to(lm.device), streamer=streamer,
                          **kwargs)
    streamer.end()


def run_batch(lm: LoadedModel, tasks: list[GenerationTask]) -> None:
    """Generate for ``tasks`` together; see the module docstring."""
    live: list[GenerationTask] = []
    for task in tasks:
        if task.cancel.is_set():
            task.finish(error=GenerationCancelled("cancelled before it started"))
            continue
        if task.deadline is not None and time.monotonic() >= task.deadline:
            task.finish(error=GenerationTimeout("the job's time limit passed while it waited for the model"))
            continue
        try:
            _prepare(lm, task)
        except Exception as exc:
            task.finish(error=exc)
            continue
        live.append(task)
    if not live:
        return
    try:
        with lm.lock:
            _generate(lm, live)
    except BaseException as exc:
        for task in live:
            task.finish(error=exc)
        if not isinstance(exc, Exception):
            raise
