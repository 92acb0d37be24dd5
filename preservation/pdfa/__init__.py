"""PDF/A (ISO 19005) validation, the text layer of digitised documents, and the validator choice."""

from preservation.pdfa.base import FailedRule, Flavour, PdfaReport, PdfaValidator, Verdict
from preservation.pdfa.builtin import BuiltinPdfaValidator
from preservation.pdfa.cli import pdfa_json
from preservation.pdfa.verapdf import VeraPdfValidator, make_validator

__all__ = [
    "BuiltinPdfaValidator",
    "FailedRule",
    "Flavour",
    "PdfaReport",
    "PdfaValidator",
    "VeraPdfValidator",
    "Verdict",
    "make_validator",
    "pdfa_json",
]
