"""Worker settings, read from environment variables: the one place defaults live.

Contract:
- ``Settings.from_env(environ)`` reads every setting below from ``environ`` (default
  ``os.environ``) and returns a frozen ``Settings``; a bad value raises ``ValueError``
  naming the variable, so a misconfigured worker fails at start, not on the first job.
- Nothing here imports torch or runpod, opens files or starts anything.

| variable            | default        | meaning                                                   |
|---------------------|----------------|-----------------------------------------------------------|
| MODEL_NAME          | ``tiny``       | ``tiny`` (built here), ``smollm2`` (from PyPI), a folder, or a hub id |
| DEVICE              | ``auto``       | auto, cpu or cuda (cuda falls back to cpu when absent)    |
| DTYPE               | ``auto``       | auto, float32, float16 or bfloat16                       |
| MAX_CONCURRENCY     | ``32``         | jobs one worker holds at once (``concurrency_modifier``)  |
| BATCH_SIZE          | ``8``          | jobs generated together in one batch (1: no batching)     |
| BATCH_WAIT_MS       | ``2``          | how long a batch waits for more jobs to join it           |
| STREAM_INTERVAL_MS  | ``100``        | text gathered into one stream chunk after the first (0: every piece) |
| MAX_PROMPT_CHARS    | ``100000``     | longest ``prompt`` (or all messages together)            |
| MAX_MESSAGES        | ``64``         | most chat messages per request                           |
| JOB_TIMEOUT_S       | ``300``        | generation time limit per job, seconds (0: none)          |
| WARMUP              | ``1``          | run one short generation at start-up                      |
| LOG_LEVEL           | ``INFO``       | DEBUG, INFO, WARNING, ERROR                              |
| LOG_FORMAT          | ``json``       | json (one object per line) or text                        |
| LOG_PROMPTS         | ``0``          | 1 logs prompt text; off by default (user data)            |
| REFRESH_WORKER      | ``0``          | 1 stops the worker after each job (a fresh process per job) |
| WORKER_CACHE_DIR    | see below      | where built and converted models are kept                 |

Why ``MAX_CONCURRENCY`` is well above ``BATCH_SIZE``: the SDK's take loop counts a
job it has just taken twice (in its queue and in progress) and sleeps a whole second
whenever that count reaches the concurrency it was given, so a worker whose
concurrency equals the jobs it can run pauses after almost every take. Jobs above
``BATCH_SIZE`` wait inside the worker for the next batch.

``WORKER_CACHE_DIR`` defaults to ``$XDG_CACHE_HOME/runpod-worker-lessons`` (or
``~/.cache/runpod-worker-lessons``). ``XDG_CACHE_HOME`` wins over ``HOME`` so that a
process started with a private ``HOME`` (the local endpoint's workers) still finds
the models.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("auto", "float32", "float16", "bfloat16")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("json", "text")

# The request limits that the input schema enforces; they are constants of the API
# (documented to clients), not per-deployment settings.
MAX_TOKENS_LIMIT = 4096
DEFAULT_MAX_TOKENS = 256  # stated in the schema and README; no hidden 16-token surprise
DEFAULT_TEMPERATURE = 0.7
DEFAULT_TOP_P = 1.0
MAX_STOP_SEQUENCES = 4
MAX_STOP_CHARS = 64


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The folder that holds the models this project builds or converts."""
    env = os.environ if environ is None else environ
    if env.get("WORKER_CACHE_DIR"):
        return Path(env["WORKER_CACHE_DIR"]).expanduser()
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "runpod-worker-lessons"


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def _int(name: str, raw: str, minimum: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _choice(name: str, raw: str, choices: tuple[str, ...], *, upper: bool = False) -> str:
    value = raw.strip().upper() if upper else raw.strip().lower()
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return value


@dataclass(frozen=True)
class Settings:
    """Every knob of the worker; see the module docstring for the variables."""

    model_name: str = "tiny"
    device: str = "auto"
    dtype: str = "auto"
    max_concurrency: int = 32
    batch_size: int = 8
    batch_wait_ms: int = 2
    stream_interval_ms: int = 100
    max_prompt_chars: int = 100_000
    max_messages: int = 64
    job_timeout_s: int = 300
    warmup: bool = True
    log_level: str = "INFO"
    log_format: str = "json"
    log_prompts: bool = False
    refresh_worker: bool = False
    cache_dir: Path = default_cache_dir({})

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        d = cls()

        def get(name: str, default: object) -> str:
            return env.get(name, str(default))

        return cls(
            model_name=get("MODEL_NAME", d.model_name).strip() or d.model_name,
            device=_choice("DEVICE", get("DEVICE", d.device), DEVICES),
            dtype=_choice("DTYPE", get("DTYPE", d.dtype), DTYPES),
            max_concurrency=_int("MAX_CONCURRENCY", get("MAX_CONCURRENCY", d.max_concurrency), 1),
            batch_size=_int("BATCH_SIZE", get("BATCH_SIZE", d.batch_size), 1),
            batch_wait_ms=_int("BATCH_WAIT_MS", get("BATCH_WAIT_MS", d.batch_wait_ms), 0),
            stream_interval_ms=_int("STREAM_INTERVAL_MS", get("STREAM_INTERVAL_MS", d.stream_interval_ms), 0),
            max_prompt_chars=_int("MAX_PROMPT_CHARS", get("MAX_PROMPT_CHARS", d.max_prompt_chars), 1),
            max_messages=_int("MAX_MESSAGES", get("MAX_MESSAGES", d.max_messages), 1),
            job_timeout_s=_int("JOB_TIMEOUT_S", get("JOB_TIMEOUT_S", d.job_timeout_s), 0),
            warmup=_bool("WARMUP", get("WARMUP", "1" if d.warmup else "0")),
            log_level=_choice("LOG_LEVEL", get("LOG_LEVEL", d.log_level), LOG_LEVELS, upper=True),
            log_format=_choice("LOG_FORMAT", get("LOG_FORMAT", d.log_format), LOG_FORMATS),
            log_prompts=_bool("LOG_PROMPTS", get("LOG_PROMPTS", "0")),
            refresh_worker=_bool("REFRESH_WORKER", get("REFRESH_WORKER", "0")),
            cache_dir=default_cache_dir(env),
        )


_CURRENT: Settings | None = None


def get_settings() -> Settings:
    """The process's settings: read from the environment on first call."""
    global _CURRENT
    if _CURRENT is None:
        _CURRENT = Settings.from_env()
    return _CURRENT


def use_settings(settings: Settings | None) -> None:
    """Replace the process's settings (``None``: read the environment again next time)."""
    global _CURRENT
    _CURRENT = settings
