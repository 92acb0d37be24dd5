"""Settings from `EARCHIVE_*` environment variables and an optional TOML file.

Precedence (highest first): explicit keyword arguments, environment variables,
the TOML file named by `EARCHIVE_CONFIG` (or passed as `config_file`), defaults.
Nested groups use a double underscore: `EARCHIVE_LIMITS__MAX_ENTRIES=500`.
"""

from __future__ import annotations

import os
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from archive_core.destruction_policy import DestructionPolicy


class Limits(BaseModel):
    """Hard limits on anything read from a submission (hostile-input bounds)."""

    max_entries: int = 200_000
    max_total_bytes: int = 200 * 1024**3
    max_entry_bytes: int = 20 * 1024**3
    max_compression_ratio: float = 200.0
    """Per entry and for the whole archive: uncompressed / compressed."""
    min_ratio_check_bytes: int = 1024 * 1024
    """Entries smaller than this are not judged by ratio (tiny XML compresses well)."""
    max_path_chars: int = 1024
    max_path_depth: int = 32
    max_name_chars: int = 255
    max_xml_bytes: int = 64 * 1024**2
    max_xml_depth: int = 200
    max_xml_nodes: int = 1_000_000
    """Elements, comments and PIs per XML file: bounds the parsed tree's memory (~170 MB at 1M)."""
    max_field_chars: int = 100_000
    """No single metadata value may be longer than this (TT 05 maximum is 2000)."""
    max_tag_file_bytes: int = 512 * 1024**2
    """BagIt manifests and tag files (a manifest line is about 100 bytes per file)."""


class Policy(BaseModel):
    """Business rules that agencies may tune (R-CK-2, R-CK-6)."""

    allowed_extensions: list[str] = Field(
        default_factory=lambda: [
            "txt", "rtf", "doc", "docx", "odt", "pdf", "csv", "xls", "xlsx", "ods",
            "jpg", "jpeg", "png", "tif", "tiff", "gif",
            "mp3", "wav", "mp4", "avi", "mpg", "mpeg", "mov", "wmv", "wma",
        ]
    )
    disallowed_format_severity: str = "error"
    """`error` rejects a package carrying a format outside the list; `warning` only flags it."""
    max_file_bytes: int = 50 * 1024**2
    file_size_severity: str = "warning"
    """R-CK-6: 50 MB applies to QLVB attachments; archives of scans may be larger."""
    max_file_name_chars: int = 50
    file_name_pattern: str = r"^[A-Za-z0-9._-]+$"
    file_name_severity: str = "warning"
    reject_secret_marks: bool = True


class SignaturePolicy(BaseModel):
    """R-CK-4: how digital signatures are judged."""

    trust_dir: Path | None = None
    """Folder of trust anchors (PEM/DER roots and intermediates); default `<home>/trust`."""
    fetch_revocation: bool = True
    """Ask OCSP/CRL servers when the signature carries no revocation data."""
    revocation_timeout_seconds: float = 3.0
    revocation_mode: Literal["soft", "hard"] = "soft"
    """soft: unreachable revocation info is recorded as unknown; hard: it makes the signature indeterminate."""
    min_rsa_bits: int = 2048
    min_ec_bits: int = 256
    unsigned_severity: Literal["error", "warning", "info"] = "info"
    """An unsigned document is for reference only (Đắk Lắk Điều 3); agencies may require signatures."""
    invalid_severity: Literal["error", "warning", "info"] = "error"
    untrusted_severity: Literal["error", "warning", "info"] = "warning"
    modified_severity: Literal["error", "warning", "info"] = "error"


class PdfaPolicy(BaseModel):
    """R-CK-3: PDF/A conformance and preservation copies."""

    validator: Literal["auto", "builtin", "verapdf"] = "auto"
    """auto: veraPDF when installed (`verapdf_cli` on PATH or `verapdf_url`), else the built-in checker."""
    verapdf_cli: str | None = None
    verapdf_url: str | None = None
    non_pdfa_severity: Literal["error", "warning", "info"] = "warning"
    make_preservation_copy: bool = True
    max_copy_bytes: int = 256 * 1024**2
    """Larger files get no automatic preservation copy: the converters hold a document in memory."""
    ocr: bool = False
    """Make a two-layer copy of digitised documents with OCRmyPDF (about 2.5 s a page)."""
    min_scan_dpi: int = 200
    min_scan_dpi_maps: int = 300


class VirusPolicy(BaseModel):
    """R-CK-7: ClamAV daemon."""

    enabled: bool = True
    clamd_socket: str | None = None
    clamd_host: str = "127.0.0.1"
    clamd_port: int = 3310
    timeout_seconds: float = 30.0
    when_unavailable: Literal["reject", "hold", "skip"] = "reject"


class Location(BaseModel):
    """One independent place that holds a full copy of every AIP (R-ST-2)."""

    id: str
    kind: Literal["local", "s3"] = "local"
    path: Path | None = None
    """local: the folder (default `<home>/storage/<id>`)."""
    bucket: str | None = None
    endpoint_url: str | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    prefix: str = ""


class Storage(BaseModel):
    locations: list[Location] = Field(
        default_factory=lambda: [Location(id="copy-1"), Location(id="copy-2")]
    )
    min_copies: int = 2
    master_key_file: Path | None = None
    """Default `<home>/keys/master.key`; `EARCHIVE_MASTER_KEY` (base64) takes precedence."""
    catalog_url: str | None = None
    """SQLAlchemy URL; default `sqlite:///<home>/catalog.sqlite`."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="EARCHIVE_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    home: Path = Path("./var")
    """Data home: staging, storage, catalog, logs."""
    log_level: str = "INFO"
    log_json: bool = True
    workers: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1))
    """Size of the bounded pool used to check files in parallel."""
    chunk_bytes: int = 1024 * 1024
    content_worker: Literal["auto", "always", "never"] = "auto"
    """Where the gate's content pass reads the bytes: a warm worker process or this one (ingest/content_worker.py)."""
    content_worker_min_files: int = 64
    """`auto`: packages with at least this many files use the worker when it is running."""
    content_worker_start_files: int = 1000
    """`auto`: packages with at least this many files start the worker if it is not running."""
    limits: Limits = Field(default_factory=Limits)
    policy: Policy = Field(default_factory=Policy)
    signatures: SignaturePolicy = Field(default_factory=SignaturePolicy)
    pdfa: PdfaPolicy = Field(default_factory=PdfaPolicy)
    virus: VirusPolicy = Field(default_factory=VirusPolicy)
    storage: Storage = Field(default_factory=Storage)
    destruction: DestructionPolicy = Field(default_factory=DestructionPolicy)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config = _CONFIG_FILE.get() or os.environ.get("EARCHIVE_CONFIG")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if config:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config)))
        return tuple(sources)

    @property
    def staging_dir(self) -> Path:
        return self.home / "staging"

    @property
    def quarantine_dir(self) -> Path:
        return self.home / "quarantine"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def catalog_url(self) -> str:
        return self.storage.catalog_url or f"sqlite:///{self.home / 'catalog.sqlite'}"

    @property
    def master_key_file(self) -> Path:
        return self.storage.master_key_file or self.home / "keys" / "master.key"

    def location_path(self, location: Location) -> Path:
        return location.path or self.home / "storage" / location.id

    @property
    def trust_dir(self) -> Path:
        return self.signatures.trust_dir or self.home / "trust"


_CONFIG_FILE: ContextVar[Path | None] = ContextVar("earchive_config_file", default=None)
"""The TOML file of the `Settings` being built by `load_settings` (the environment stays untouched)."""


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Build settings; `config_file` takes the place of `EARCHIVE_CONFIG` for these settings only."""
    token = _CONFIG_FILE.set(config_file)
    try:
        return Settings(**overrides)
    finally:
        _CONFIG_FILE.reset(token)
