"""Where a hub-id MODEL_NAME loads from: the volume's hub cache, the SDK's /runpod/cache
path, the image's own hub cache, then the hub; each found on temporary layouts. (A real
load from the volume's cache, and its log line naming the source and load time, is in
tests/test_fitness.py, through the local endpoint.)"""

from __future__ import annotations

import pytest

from demo_models.layouts import hub_cache_layout, runpod_cache_layout
from worker.config import Settings
from worker.model_source import VOLUME_HUB, find_source, runpod_cache_path

REPO = "demo-org/tiny-model"


@pytest.fixture
def places(tmp_path, settings):
    """Empty volume, SDK cache root and image hub cache, and settings pointing at them."""
    volume, sdk, baked = tmp_path / "volume", tmp_path / "runpod-cache", tmp_path / "baked-hub"
    for folder in (volume, sdk, baked):
        folder.mkdir()
    return settings.replace(volume_dir=volume, sdk_model_cache=sdk), volume, sdk, baked


def tiny_folder(settings: Settings):
    from worker.model import resolve_source

    return resolve_source("tiny", settings.cache_dir)


def test_with_no_copy_anywhere_a_hub_id_goes_to_the_hub(places):
    s, _, _, baked = places
    found = find_source(REPO, s, baked_hub=baked)
    assert (found.kind, found.target, found.load_kwargs()) == ("hub", REPO, {})


def test_the_volumes_hub_cache_wins_over_every_other_source_and_loads_offline(places):
    s, volume, sdk, baked = places
    snapshot = hub_cache_layout(tiny_folder(s), volume / VOLUME_HUB, REPO)
    runpod_cache_layout(tiny_folder(s), sdk, REPO)
    hub_cache_layout(tiny_folder(s), baked, REPO)
    found = find_source(REPO, s, baked_hub=baked)
    assert found.kind == "volume cache" and found.target == REPO
    assert found.load_kwargs() == {"cache_dir": str(volume / VOLUME_HUB), "local_files_only": True,
                                   "revision": snapshot.name}


def test_the_sdk_cache_path_comes_next_with_its_revision(places):
    s, _, sdk, baked = places
    folder = runpod_cache_layout(tiny_folder(s), sdk, REPO, revision="v2")
    hub_cache_layout(tiny_folder(s), baked, REPO)
    assert find_source(REPO, s, baked_hub=baked).kind == "baked", "revision main is not there"
    found = find_source(REPO + ":v2", s, baked_hub=baked)
    assert (found.kind, found.target) == ("runpod cache", str(folder))


def test_the_image_hub_cache_comes_before_the_hub(places):
    s, _, _, baked = places
    snapshot = hub_cache_layout(tiny_folder(s), baked, REPO)
    found = find_source(REPO, s, baked_hub=baked)
    assert found.kind == "baked" and found.load_kwargs()["revision"] == snapshot.name


def test_an_interrupted_copy_without_config_is_passed_over(places):
    s, volume, _, baked = places
    snapshot = hub_cache_layout(tiny_folder(s), volume / VOLUME_HUB, REPO)
    (snapshot / "config.json").unlink()
    assert find_source(REPO, s, baked_hub=baked).kind == "hub"


def test_short_names_and_folders_keep_their_meaning(places):
    s, _, _, baked = places
    assert find_source("tiny", s, baked_hub=baked).kind == "short name"
    assert find_source(tiny_folder(s), s, baked_hub=baked).kind == "folder"


@pytest.mark.parametrize("name", ["org/model", "org/model:v1", "model:dev", "model"])
def test_the_sdk_cache_path_is_the_one_the_sdks_helper_names(tmp_path, name):
    from runpod.serverless.utils.rp_model_cache import resolve_model_cache_path_from_hugginface_repository as sdk

    template = str(tmp_path) + "/{model}/{revision}"
    assert str(runpod_cache_path(tmp_path, name)) == sdk(name, path_template=template)
