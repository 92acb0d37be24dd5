"""Realistic test data: dossiers of Vietnamese administrative documents as TT 05 SIPs and BagIt bags.

Used by tests, benchmarks and `earchive demo`. Everything is deterministic for
a seed: the same call gives the same model and the same package bytes.

```python
from ingest.generator import Fault, generate_dossier, write_tt05_sip, write_bagit

dossier = generate_dossier(seed=7, documents=20, doc_bytes=300_000)
sip = write_tt05_sip(dossier, tmp_path)                       # 1uuid-….zip
bad = write_tt05_sip(dossier, tmp_path, faults=[Fault.WRONG_CHECKSUM])
bag = write_bagit(dossier, tmp_path, form="tar.gz")
```

PDFs are rendered while a package is written (and once by `generate_dossier`
to learn size, page count and SHA-256), never all held in memory. Lower-level
knobs (fault options such as the BIG_FILE size, the victim document, a forced
digitised dossier) are in `model.build_dossier`, `sip.write_sip` and
`bag.write_bag`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from archive_core.model import DossierKind
from ingest.generator.bag import write_bag
from ingest.generator.faults import Fault, FaultOptions, UnsupportedFaultError
from ingest.generator.model import GeneratedDocument, GeneratedDossier, GeneratedFile, build_dossier
from ingest.generator.signing import sign_dossier
from ingest.generator.sip import write_sip

__all__ = [
    "DossierKind",
    "Fault",
    "FaultOptions",
    "GeneratedDocument",
    "GeneratedDossier",
    "GeneratedFile",
    "UnsupportedFaultError",
    "build_demo_set",
    "generate_dossier",
    "sign_dossier",
    "write_bagit",
    "write_tt05_sip",
]


def generate_dossier(
    *,
    seed: int = 0,
    documents: int = 5,
    doc_bytes: int = 60_000,
    kind: DossierKind = DossierKind.HOSO,
    agency: str = "000.00.00.H12",
    year: int = 2024,
    seed_texts: Path | None = None,
) -> GeneratedDossier:
    """A dossier of `documents` PDFs of about `doc_bytes` each (exactly, when larger than the text)."""
    return build_dossier(
        seed=seed, documents=documents, doc_bytes=doc_bytes, kind=kind, agency=agency, year=year,
        seed_texts=seed_texts,
    )


def write_tt05_sip(
    dossier: GeneratedDossier,
    out_dir: Path,
    *,
    as_zip: bool = True,
    faults: Iterable[Fault] = (),
    sequence: int = 1,
) -> Path:
    """A TT 05 SIP_hoso / SIP_tailieu: `[sequence][OBJID].zip`, or the `<OBJID>` folder."""
    return write_sip(dossier, out_dir, as_zip=as_zip, faults=faults, sequence=sequence)


def write_bagit(
    dossier: GeneratedDossier,
    out_dir: Path,
    *,
    form: Literal["folder", "zip", "tar.gz"] = "zip",
    faults: Iterable[Fault] = (),
) -> Path:
    """An earchive Circular 02 BagIt bag as a folder, ZIP or tar.gz."""
    return write_bag(dossier, out_dir, form=form, faults=faults)


DEMO_DEVIATIONS = (Fault.REAL_WORLD_DEVIATIONS, Fault.DOCCODE_WRONG_YEAR, Fault.PAPER_FILE_CODE_MISSING)
"""What the published third-party SIP does: accepted, with warnings."""
DEMO_FAULTS = (Fault.WRONG_CHECKSUM, Fault.SECRET_MODE, Fault.BAD_DATE)
"""Errors: the package is rejected."""


def build_demo_set(out_dir: Path, seed_texts: Path | None = None, pki_dir: Path | None = None) -> list[Path]:
    """Five small packages for `earchive demo`, in this order:

    1. a clean SIP_hoso of born-digital documents (signed with the test PKI when `pki_dir` is given);
    2. a clean SIP_hoso of digitised documents (scan-like pages, paper file code);
    3. a clean Circular 02 BagIt bag (ZIP; signed like 1);
    4. a SIP with the deviations of a real third-party producer (accepted with warnings);
    5. a SIP with faults (wrong checksum, secret mode, impossible date: rejected).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    born_digital = build_dossier(seed=101, documents=4, doc_bytes=80_000, seed_texts=seed_texts, digitised=False)
    digitised = build_dossier(seed=102, documents=3, doc_bytes=120_000, seed_texts=seed_texts, digitised=True)
    bagged = build_dossier(seed=103, documents=3, doc_bytes=70_000, seed_texts=seed_texts, digitised=False)
    real_world = build_dossier(seed=104, documents=4, doc_bytes=70_000, seed_texts=seed_texts, digitised=False)
    faulty = build_dossier(seed=105, documents=3, doc_bytes=60_000, seed_texts=seed_texts, digitised=False)
    if pki_dir is not None:
        cache = out_dir / ".signed"
        born_digital = sign_dossier(born_digital, pki_dir, cache / "born-digital", signer="person")
        bagged = sign_dossier(bagged, pki_dir, cache / "bag", signer="org")
    return [
        write_sip(born_digital, out_dir, sequence=1),
        write_sip(digitised, out_dir, sequence=2),
        write_bag(bagged, out_dir, form="zip"),
        write_sip(real_world, out_dir, sequence=3, faults=DEMO_DEVIATIONS),
        write_sip(faulty, out_dir, sequence=4, faults=DEMO_FAULTS),
    ]
