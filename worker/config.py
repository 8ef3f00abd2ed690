"""Worker settings: each declared once below, with its type, default, range and help.

Contract:
- ``Settings`` (pydantic-settings) declares every setting once: the environment
  variable is the field name in capitals (``cache_dir`` is ``WORKER_CACHE_DIR``), the
  help line is the field's ``description``. ``python -m worker --help``, the settings
  table of the README and of ``worker/README.md`` come from ``settings_table()``
  (``tests/test_config.py`` checks that both READMEs hold it).
- ``Settings.from_env(environ)`` reads the variables from ``environ`` (default
  ``os.environ``) and returns a frozen ``Settings``; a bad value raises ``ValueError``
  naming the variable, so a misconfigured worker fails at start, not on the first job.
- ``Settings(model_name=..., batch_size=...)`` is the defaults plus those keywords,
  validated the same way; it never reads the environment, so code that builds its own
  settings means the same on every machine. ``settings.replace(**changes)`` is a
  validated copy with some values changed.
- One accessor rule for the whole worker: a function given settings uses them; one not
  given them uses the process's active settings, ``get_settings()`` (set by
  ``use_settings``, or read from the environment on first use), never bare defaults.
- Nothing here imports torch or runpod, opens files or starts anything.

Why ``MAX_CONCURRENCY`` is well above ``BATCH_SIZE``: the SDK's take loop counts a
job it has just taken twice (in its queue and in progress) and sleeps a whole second
whenever that count reaches the concurrency it was given, so a worker whose
concurrency equals the jobs it can run pauses after almost every take. Jobs above
``BATCH_SIZE`` wait inside the worker for the next batch (``worker.sdk``).

``WORKER_CACHE_DIR`` defaults to ``$XDG_CACHE_HOME/runpod-worker-lessons`` (or
``~/.cache/runpod-worker-lessons``). ``XDG_CACHE_HOME`` wins over ``HOME`` so that a
process started with a private ``HOME`` (the local endpoint's workers) still finds
the models.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, Mapping

from pydantic import Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

DEVICES = ("auto", "cpu", "cuda")
DTYPES = ("auto", "float32", "float16", "bfloat16")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("json", "text")
CACHE_ENV = "WORKER_CACHE_DIR"

# The request limits that the input schema enforces; they are constants of the API
# (documented to clients), not per-deployment settings.
MAX_TOKENS_LIMIT = 4096
DEFAULT_MAX_TOKENS = 256  # stated in the schema and README; no hidden 16-token surprise
DEFAULT_TEMPERATURE = 0.7
DEFAULT_TOP_P = 1.0
MAX_STOP_SEQUENCES = 4
MAX_STOP_CHARS = 64

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off", "")


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The folder that holds the models ``demo_models`` builds (``WORKER_CACHE_DIR``)."""
    env = os.environ if environ is None else environ
    if env.get(CACHE_ENV):
        return Path(env[CACHE_ENV]).expanduser()
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "runpod-worker-lessons"


def env_name(field_name: str) -> str:
    """The environment variable of a setting."""
    return CACHE_ENV if field_name == "cache_dir" else field_name.upper()


class Settings(BaseSettings):
    """Every knob of the worker, declared once; see the module docstring."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid", validate_default=True)

    model_name: str = Field("tiny", description="`tiny` or `smollm2` (folders under WORKER_CACHE_DIR, "
                            "built by demo_models), a model folder, or a hub id")
    served_model_name: str = Field("", description="the model name OpenAI clients see and send (empty: the short "
                                   "name, a folder's own name or the hub id; worker.openai_compat)")
    device: Literal[DEVICES] = Field("auto", description="where the model runs (cuda falls back to cpu, with a warning, where absent)")
    dtype: Literal[DTYPES] = Field("auto", description="auto: bfloat16 (or float16) on a GPU, float32 on CPU")
    max_concurrency: int = Field(32, ge=1, description="jobs one worker holds at once (the SDK's "
                                 "`concurrency_modifier`); keep it well above BATCH_SIZE")
    batch_size: int = Field(8, ge=1, description="jobs generated together in one `model.generate` (1: no batching)")
    batch_wait_ms: int = Field(2, ge=0, description="how long a batch waits for more jobs to join it")
    stream_interval_ms: int = Field(100, ge=0, description="after the first chunk (sent at once), text "
                                    "gathered into one chunk per interval (0: every piece)")
    max_prompt_chars: int = Field(100_000, ge=1, description="longest `prompt` (or all messages together)")
    max_messages: int = Field(64, ge=1, description="most chat messages per request")
    job_timeout_s: int = Field(300, ge=0, description="generation time limit per job, seconds (0: none)")
    warmup: bool = Field(True, description="run one short generation at start-up")
    log_level: Literal[LOG_LEVELS] = Field("INFO", description="the worker's structured logs (on stderr)")
    log_format: Literal[LOG_FORMATS] = Field("json", description="json (one object per line) or text (for a terminal)")
    log_prompts: bool = Field(False, description="1 logs prompt text; off by default (user data)")
    max_result_bytes: int = Field(20 * 1024 * 1024, ge=1, description="the platform's limit on a job's "
                                  "result (20 MB): the JSON of everything the job yields; larger goes to "
                                  "the request's `s3Config` (worker.large_output)")
    max_chunk_bytes: int = Field(1024 * 1024, ge=1, description="the platform's limit on one stream chunk "
                                 "(1 MB); every item this worker yields is posted as one")
    refresh_worker: bool = Field(False, description="1 stops the worker after each job (a fresh process per job)")
    volume_dir: Path = Field(Path("/runpod-volume"), description="the network volume's root: a hub id is "
                             "loaded from its `huggingface-cache/hub` (RunPod's cached models) when there")
    sdk_model_cache: Path = Field(Path("/runpod/cache"), description="the SDK's model-cache root "
                                   "(`{root}/{org}/{name}/{revision}`), tried after the volume")
    cache_dir: Path = Field(default_factory=lambda: default_cache_dir({}),
                            description="where the demo models' folders are (default "
                            "`$XDG_CACHE_HOME/runpod-worker-lessons`)")

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   **others: PydanticBaseSettingsSource) -> tuple[PydanticBaseSettingsSource, ...]:
        # Keywords only: the environment is read by from_env, once, at start.
        return (init_settings,)

    @field_validator("served_model_name", mode="before")
    @classmethod
    def _served_name(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("model_name", mode="before")
    @classmethod
    def _model_name(cls, value: Any) -> Any:
        return (value.strip() or "tiny") if isinstance(value, str) else value

    @field_validator("device", "dtype", "log_format", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("warmup", "log_prompts", "refresh_worker", mode="before")
    @classmethod
    def _boolean(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        word = value.strip().lower()
        if word in TRUE_WORDS or word in FALSE_WORDS:
            return word in TRUE_WORDS
        raise ValueError("must be a boolean (1/0, true/false)")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "Settings":
        """The settings in ``environ`` (default ``os.environ``); see the module docstring."""
        env = os.environ if environ is None else environ
        values = _Environ(cls, env)()
        values["cache_dir"] = default_cache_dir(env)  # XDG_CACHE_HOME and HOME count too
        try:
            return cls(**values)
        except ValidationError as exc:
            raise ValueError(_explain(exc)) from None

    def replace(self, **changes: Any) -> "Settings":
        """A copy with ``changes`` applied, validated like any construction."""
        try:
            return type(self)(**{**self.__dict__, **changes})
        except ValidationError as exc:
            raise ValueError(_explain(exc)) from None


class _Environ(PydanticBaseSettingsSource):
    """pydantic-settings source: each field from its variable in a given mapping."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.environ = environ

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.environ.get(env_name(field_name)), field_name, False

    def __call__(self) -> dict[str, Any]:
        found = {}
        for name, field in self.settings_cls.model_fields.items():
            value, key, _ = self.get_field_value(field, name)
            if value is not None:
                found[key] = value
        return found


def _explain(exc: ValidationError) -> str:
    """One line per bad setting, named by its environment variable."""
    lines = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "?"
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{env_name(name)}: {message[:1].lower()}{message[1:]} (got {error.get('input')!r})")
    return "; ".join(lines)


def _values(field: FieldInfo) -> str:
    """A field's type and range, in words."""
    if field.annotation is bool:
        return "0 or 1"
    if field.annotation is int:
        low = next((m.ge for m in field.metadata if getattr(m, "ge", None) is not None), None)
        return "integer" if low is None else f"integer >= {low}"
    if field.annotation is Path:
        return "folder"
    choices = getattr(field.annotation, "__args__", ())
    return " / ".join(choices) if choices else "text"


def settings_table() -> str:
    """The settings as a Markdown table, generated from the declaration."""
    rows = ["| variable | default | values | meaning |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        if field.default_factory is not None:
            default = "see meaning"
        elif isinstance(field.default, bool):
            default = f"`{int(field.default)}`"
        else:
            default = f"`{field.default}`"
        rows.append(f"| `{env_name(name)}` | {default} | {_values(field)} | {field.description} |")
    return "\n".join(rows)


_CURRENT: Settings | None = None


def get_settings() -> Settings:
    """The process's active settings: read from the environment on first call."""
    global _CURRENT
    if _CURRENT is None:
        _CURRENT = Settings.from_env()
    return _CURRENT


def use_settings(settings: Settings | None) -> None:
    """Make ``settings`` the active ones (``None``: read the environment again next time)."""
    global _CURRENT
    _CURRENT = settings
