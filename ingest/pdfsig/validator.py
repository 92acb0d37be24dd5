"""Digital signature validation of PDFs (R-CK-4): the public entry point.

Build one `SignatureValidator` per process and share it: the first use imports pyHanko
(about 0.7 s, `warm_up()` pays it early), later calls reuse the parsed trust anchors.
`validate_file` is thread-safe; see `ingest.pdfsig.check` for the gate's bounded pool.

    validator = SignatureValidator(settings)
    result = validator.validate_file(Path("quyet-dinh.pdf"), at=datetime(2026, 6, 1, tzinfo=VN_TZ))
    result.to_dict()["signatures"][0]["status"]      # "valid" | "invalid" | "indeterminate"

What is judged, per signature: integrity of the signed byte ranges, the signature value,
coverage (whole file / whole revision / partial), every later change under our strict
policy (only signatures, document timestamps and DSS/VRI may follow; appended bytes and a
metadata-only update are modifications), the chain to the trust anchors at the reference
time (trusted timestamp, else the claimed signing time, else `at`), key strength, digest
algorithm, and revocation from embedded data or, when allowed, OCSP/CRL with a short timeout.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from archive_core.settings import Settings
from ingest.pdfsig.results import FileSignatures
from ingest.pdfsig.trust import TrustStore

if TYPE_CHECKING:
    from ingest.pdfsig.engine import Engine


class SignatureValidator:
    def __init__(self, settings: Settings, *, trust: TrustStore | None = None) -> None:
        self.settings = settings
        self.trust = trust if trust is not None else TrustStore.from_folder(settings.trust_dir)
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Import pyHanko and parse the anchors now rather than on the first file."""
        self._get_engine()

    def validate_file(self, path: Path, *, at: datetime | None = None) -> FileSignatures:
        """Validate every signature of the PDF at `path`, judged at `at` (default: now).

        Never raises for a bad PDF: unreadable or encrypted files give `readable=False`
        with a coded `error`. Raises ValueError for a naive `at` and OSError when the
        file cannot be opened at all.
        """
        moment = at if at is not None else datetime.now(UTC)
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("validation time `at` must carry a time zone")
        return self._get_engine().validate_file(path, moment)

    def _get_engine(self) -> Engine:
        engine = self._engine
        if engine is None:
            with self._lock:
                if self._engine is None:
                    from ingest.pdfsig.engine import Engine, EngineConfig

                    policy = self.settings.signatures
                    self._engine = Engine(
                        self.trust,
                        EngineConfig(
                            min_rsa_bits=policy.min_rsa_bits,
                            min_ec_bits=policy.min_ec_bits,
                            fetch_revocation=policy.fetch_revocation,
                            revocation_timeout_seconds=policy.revocation_timeout_seconds,
                            revocation_mode=policy.revocation_mode,
                        ),
                    )
                engine = self._engine
        return engine
