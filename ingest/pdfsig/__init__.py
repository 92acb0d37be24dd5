"""Digital signature validation of PDF documents (R-CK-4).

- `SignatureValidator` (validator.py): validate one PDF; build once per process.
- `check_signatures` (check.py): the gate's check over every PDF document file.
- `TrustStore` (trust.py): trust anchors from `settings.trust_dir`.
- `signatures_json` (cli.py): the `earchive signatures` command's JSON.
- `testpki` (testpki.py): a test PKI shaped like the government PKI, and `sign_pdf`.

Importing this package does not import pyHanko; the first validation does.
"""

from ingest.pdfsig.results import (
    Coverage,
    FileSignatures,
    Kind,
    Modification,
    Reason,
    Revocation,
    SignatureResult,
    Status,
)
from ingest.pdfsig.trust import TrustStore
from ingest.pdfsig.validator import SignatureValidator

__all__ = [
    "Coverage",
    "FileSignatures",
    "Kind",
    "Modification",
    "Reason",
    "Revocation",
    "SignatureResult",
    "SignatureValidator",
    "Status",
    "TrustStore",
]
