"""Shared fixtures: a throw-away data home and the external corpus in ../shared."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from archive_core.settings import Settings
from tests.services import Clamd, clamd_server

REPO = Path(__file__).resolve().parent.parent


def shared_root() -> Path:
    return Path(os.environ.get("EARCHIVE_SHARED", REPO.parent / "shared")).resolve()


def corpus_dir(name: str) -> Path:
    """A corpus folder under ../shared/corpus; skips the test when it is absent."""
    path = shared_root() / "corpus" / name
    if not path.is_dir():
        pytest.skip(f"external corpus {path} is absent (set EARCHIVE_SHARED to the shared/ folder)")
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", workers=2)


@pytest.fixture
def seed_texts() -> Path:
    path = shared_root() / "samples" / "seed-texts"
    if not path.is_dir():
        pytest.skip(f"seed texts {path} are absent")
    return path


@pytest.fixture(scope="session")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Clamd]:
    """A real ClamAV daemon for the whole session (one per xdist worker)."""
    with clamd_server(tmp_path_factory.mktemp("clamd")) as server:
        yield server
