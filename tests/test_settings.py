"""Settings: defaults, TOML file, environment, precedence."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from archive_core.settings import load_settings


def test_toml_file_and_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "earchive.toml"
    config.write_text(
        'home = "/srv/x"\nworkers = 3\n[limits]\nmax_entries = 7\n[policy]\nmax_file_bytes = 99\n',
        encoding="utf-8",
    )
    monkeypatch.delenv("EARCHIVE_CONFIG", raising=False)
    monkeypatch.setenv("EARCHIVE_WORKERS", "5")
    monkeypatch.setenv("EARCHIVE_POLICY__FILE_NAME_SEVERITY", "error")
    settings = load_settings(config)
    assert settings.home == Path("/srv/x")
    assert settings.workers == 5, "environment wins over the file"
    assert settings.limits.max_entries == 7
    assert settings.policy.max_file_bytes == 99
    assert settings.policy.file_name_severity == "error"
    assert settings.limits.max_xml_depth == 200, "unset values keep their defaults"
    assert "EARCHIVE_CONFIG" not in os.environ, "the file is for these settings, not for the process"
    assert load_settings().limits.max_entries != 7


def test_keyword_overrides_win(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("EARCHIVE_CONFIG", raising=False)
    monkeypatch.setenv("EARCHIVE_HOME", "/from/env")
    assert load_settings(home=tmp_path).home == tmp_path
    assert load_settings().home == Path("/from/env")
