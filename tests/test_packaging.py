"""What can be checked of the set-up without building it: conda env, Dockerfile, commands.

No Docker engine runs on these machines, so the image is checked from the outside:
every path it copies exists, the tree it copies is enough to run the worker, its
command's module exists, and it installs ``worker/requirements.txt``, which lists the
same requirements as ``pyproject.toml``. ``environment.yml`` must list the same packages as the pip set-up.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def normalise(req: str) -> str:
    return re.sub(r"\s+", "", req.split("#")[0]).lower()


def test_environment_yml_lists_exactly_the_pip_setups_packages():
    project = pyproject()["project"]
    wanted = {normalise(r) for r in project["dependencies"] if not r.startswith("torch")}
    for extra in project["optional-dependencies"].values():
        wanted |= {normalise(r) for r in extra}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]
    (pip_section,) = [d for d in env["dependencies"] if isinstance(d, dict)]
    listed = {normalise(r) for r in pip_section["pip"]}
    assert "-e." in listed, "the project itself is installed"
    assert "torch==2.13.0" in listed, "the same torch pin as the Makefile"
    assert listed - {"-e.", "torch==2.13.0"} == wanted


def test_makefile_pins_the_cpu_torch_and_installs_every_extra():
    make = (ROOT / "Makefile").read_text()
    assert "torch==2.13.0" in make
    extras = set(pyproject()["project"]["optional-dependencies"])
    (spec,) = re.findall(r"-e '\.\[([a-z0-9,]+)\]'", make)
    assert set(spec.split(",")) == extras


def dockerfile() -> list[list[str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [line.split(None, 1) for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def copy_sources() -> list[tuple[list[str], str]]:
    out = []
    for op, rest in dockerfile():
        if op.upper() == "COPY":
            *sources, dest = shlex.split(rest)
            out.append((sources, dest))
    return out


def test_every_path_the_dockerfile_copies_exists_and_is_not_dockerignored():
    ignored = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    for sources, _ in copy_sources():
        for src in sources:
            assert (ROOT / src).exists(), f"COPY {src}: no such path"
            assert src.split("/")[0].rstrip("/") not in ignored, f"COPY {src} is excluded by .dockerignore"


def test_dockerfile_command_runs_the_workers_entry_point_unbuffered():
    (cmd,) = [rest for op, rest in dockerfile() if op.upper() == "CMD"]
    assert json.loads(cmd) == ["python", "-u", "-m", "worker"]
    assert (ROOT / "worker" / "__main__.py").exists()


def worker_requirements() -> list[str]:
    lines = (ROOT / "worker" / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_pyproject_dependencies_are_exactly_the_workers_requirements_file():
    listed = {normalise(r) for r in worker_requirements()}
    declared = {normalise(r) for r in pyproject()["project"]["dependencies"]}
    assert declared == listed, (f"pyproject.toml only: {sorted(declared - listed)}; "
                                f"worker/requirements.txt only: {sorted(listed - declared)}")


def test_dockerfile_installs_the_workers_requirements_and_prefetches_the_build_arg_model():
    runs = " ".join(rest for op, rest in dockerfile() if op.upper() == "RUN")
    assert "pip install -r worker/requirements.txt" in runs, "the requirements come from worker/requirements.txt"
    assert "pip install ." not in runs and "uninstall" not in runs, "the project itself is not installed"
    assert "python -m demo_models.prefetch" in runs and (ROOT / "demo_models" / "prefetch.py").exists()
    args = [rest for op, rest in dockerfile() if op.upper() == "ARG"]
    assert any(a.startswith("MODEL_NAME=") for a in args)
    envs = " ".join(rest for op, rest in dockerfile() if op.upper() == "ENV")
    assert "MODEL_NAME=${MODEL_NAME}" in envs and "HF_HUB_OFFLINE=1" in envs


def image_tree(tmp_path: Path) -> Path:
    """The files the Dockerfile copies, laid out as its WORKDIR /app would hold them."""
    app = tmp_path / "app"
    for sources, dest in copy_sources():
        for src in sources:
            origin = ROOT / src
            if origin.is_dir():  # a folder's contents go into dest
                shutil.copytree(origin, app / dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
            else:  # a file goes into dest/ or becomes dest
                target = app / dest / origin.name if dest.endswith("/") else app / dest
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target)
    return app


def test_the_requirements_layer_installs_from_the_file_copied_before_it():
    # The layer that runs `pip install -r` sees only what was copied before it: the
    # requirements file must be among those, and nothing else of the project.
    ops = [(op.upper(), rest) for op, rest in dockerfile()]
    install = next(i for i, (op, rest) in enumerate(ops) if op == "RUN" and "pip install -r" in rest)
    copied_before = [src for op, rest in ops[:install] if op == "COPY" for src in shlex.split(rest)[:-1]]
    assert copied_before == ["worker/requirements.txt"]


def test_the_copied_tree_alone_runs_the_worker(tmp_path, tiny_lm):
    app = image_tree(tmp_path)
    probe = ("import worker, sys; assert worker.__file__.startswith(sys.argv[1]), worker.__file__")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",) and not k.startswith("RUNPOD_WEBHOOK")}
    subprocess.run([sys.executable, "-c", probe, str(app)], cwd=app, env=env, check=True, timeout=60)
    done = subprocess.run([sys.executable, "-m", "worker", "--test_input",
                           json.dumps({"input": {"prompt": "Hello", "max_tokens": 4}})],
                          cwd=app, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "COMPLETED" in done.stdout


def test_ci_runs_the_readmes_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make demo" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    make = (ROOT / "Makefile").read_text()
    for target in re.findall(r"`make ([a-z0-9-]+)", readme):
        assert re.search(rf"^{target}:", make, re.M), f"README names `make {target}`, the Makefile has no such target"
