"""Sign a generated dossier's PDFs with the test PKI (root → "CA phục vụ các cơ quan Nhà nước" → signer).

Signing costs about 0.1 s a file, so each PDF is rendered and signed once into a
cache folder; the package writers then stream the signed bytes from there.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path

from archive_core.storage.base import file_sha256
from ingest.generator.model import GeneratedDossier, GeneratedFile, file_ref


def sign_dossier(
    generated: GeneratedDossier,
    pki_dir: Path,
    cache_dir: Path,
    *,
    signer: str = "org",
) -> GeneratedDossier:
    """A copy of `generated` whose PDFs carry a signature by `signer` of the test PKI in `pki_dir`."""
    from ingest.pdfsig.testpki import ensure_test_pki, sign_pdf

    pki = ensure_test_pki(pki_dir)
    who = pki.signer(signer)
    result = copy.deepcopy(generated)
    cache_dir.mkdir(parents=True, exist_ok=True)
    for document in result.documents:
        document.files = [
            _signed(f, who, cache_dir, sign_pdf) if f.spec is not None and f.data is None else f
            for f in document.files
        ]
        document.document.files = [file_ref(f) for f in document.files]
    return result


def _signed(file: GeneratedFile, signer: object, cache_dir: Path, sign: object) -> GeneratedFile:
    assert callable(sign)
    target = cache_dir / file.name
    with tempfile.NamedTemporaryFile(dir=cache_dir, suffix=".pdf", delete=False) as unsigned:
        for block in file.chunks():
            unsigned.write(block)
    source = Path(unsigned.name)
    try:
        sign(source, target, signer, reason="Phát hành văn bản", location="Việt Nam")
    finally:
        source.unlink(missing_ok=True)
    size, sha256 = file_sha256(target)
    return GeneratedFile(
        name=file.name,
        size=size,
        sha256=sha256,
        mimetype=file.mimetype,
        created=file.created,
        path=target,
    )
