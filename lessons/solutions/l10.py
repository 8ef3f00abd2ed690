"""Lesson 10's solutions and wrong answers (graded by tests/test_exercises.py)."""

from pathlib import Path


def cached_model_folder(volume, model_id):
    return Path(volume) / "huggingface-cache" / "hub" / ("models--" + model_id.replace("/", "--"))


def cached_model_folder_keeps_slash(volume, model_id):   # models--org/name: a folder per org
    return Path(volume) / "huggingface-cache" / "hub" / ("models--" + model_id)


def cached_model_folder_as_text(volume, model_id):       # a str, not a Path
    return f"{volume}/huggingface-cache/hub/models--{model_id.replace('/', '--')}"


def model_files_check(folder):
    def model_files_present() -> None:
        for name in ("config.json", "model.safetensors"):
            if not (Path(folder) / name).is_file():
                raise RuntimeError(f"{name} is missing from {folder}")

    return model_files_present


def model_files_check_config_only(folder):               # misses a half-copied weights file
    def check() -> None:
        if not (Path(folder) / "config.json").is_file():
            raise RuntimeError("config.json is missing")

    return check


def model_files_check_returns_false(folder):             # a False result is not a failure to the SDK
    def check() -> bool:
        return all((Path(folder) / n).is_file() for n in ("config.json", "model.safetensors"))

    return check


SOLUTIONS = {"10.cached_model_folder": cached_model_folder, "10.model_files_check": model_files_check}
WRONG = {
    "10.cached_model_folder": [cached_model_folder_keeps_slash, cached_model_folder_as_text],
    "10.model_files_check": [model_files_check_config_only, model_files_check_returns_false],
}
