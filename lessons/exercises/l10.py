"""Lesson 10's exercises: where RunPod's cached models live, and a fitness check of your own.

- ``10.cached_model_folder``: ``cached_model_folder(volume, model_id)`` returns the folder
  of ``model_id`` in the hub cache of a volume:
  ``{volume}/huggingface-cache/hub/models--{org}--{name}`` (a ``Path``).
- ``10.model_files_check``: ``model_files_check(folder)`` returns a fitness check (a
  function of no arguments) that raises ``RuntimeError`` naming the missing file when
  ``folder`` lacks ``config.json`` or ``model.safetensors``, and returns quietly otherwise.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from lessons.exercises import exercise


@exercise("10.cached_model_folder")
def cached_model_folder(fn) -> None:
    cases = {("/runpod-volume", "HuggingFaceTB/SmolLM2-135M-Instruct"):
             "/runpod-volume/huggingface-cache/hub/models--HuggingFaceTB--SmolLM2-135M-Instruct",
             ("/mnt/v", "gensyn/qwen2.5-0.5b-instruct"): "/mnt/v/huggingface-cache/hub/models--gensyn--qwen2.5-0.5b-instruct"}
    for (volume, model_id), want in cases.items():
        got = fn(Path(volume), model_id)
        assert isinstance(got, Path), f"return a pathlib.Path, not {type(got).__name__}"
        assert str(got) == want, (f"for {model_id!r} on {volume} expected {want}, got {got} (the hub cache "
                                  "writes 'models--' and replaces each '/' of the id with '--')")


@exercise("10.model_files_check")
def model_files_check(make_check) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in ("config.json", "model.safetensors"):
            (folder / name).write_text("{}")
        check = make_check(folder)
        assert callable(check), "return the check itself (a function of no arguments), not its result"
        try:
            check()
        except NotImplementedError:
            raise
        except Exception as exc:
            raise AssertionError(f"a complete folder must pass, but the check raised {type(exc).__name__}: {exc}")
        for name in ("config.json", "model.safetensors"):
            (folder / name).rename(folder / (name + ".partial"))
            try:
                make_check(folder)()
            except RuntimeError as exc:
                assert name in str(exc), f"the error should name the missing file {name}, got: {exc}"
            except NotImplementedError:
                raise
            except Exception as exc:
                raise AssertionError(f"raise RuntimeError for a missing {name}, not {type(exc).__name__}") from None
            else:
                raise AssertionError(f"without {name} the check must raise RuntimeError: the worker would "
                                     "otherwise take jobs it cannot serve")
            (folder / (name + ".partial")).rename(folder / name)
