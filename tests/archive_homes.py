"""Data homes with archived dossiers, built once per test module and copied for each test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

from archive_core.settings import Location, Settings
from ingest.archive import Archive, ingest_package, open_archive
from ingest.generator import generate_dossier, write_tt05_sip


def make_settings(home: Path, locations: list[Location] | None = None) -> Settings:
    settings = Settings(home=home, workers=2)
    settings.virus.when_unavailable = "skip"
    if locations is not None:
        settings.storage.locations = locations
    return settings


def ingest_dossiers(settings: Settings, work: Path, count: int, first_seed: int = 100) -> list[str]:
    """Archive `count` generated dossiers (two documents each); their AIP ids."""
    archive = open_archive(settings)
    try:
        aips = []
        for seed in range(first_seed, first_seed + count):
            generated = generate_dossier(seed=seed, documents=2, doc_bytes=20_000)
            result = ingest_package(write_tt05_sip(generated, work / f"sip-{seed}"), archive)
            assert result.state == "archived" and result.aip_id is not None
            aips.append(result.aip_id)
        return aips
    finally:
        archive.close()


def open_copy(template_home: Path, tmp_path: Path) -> Iterator[Archive]:
    """The archive of a copy of `template_home` (for a fixture: yields it, closes it after)."""
    shutil.copytree(template_home, tmp_path / "home", symlinks=True)
    opened = open_archive(make_settings(tmp_path / "home"))
    yield opened
    opened.close()
