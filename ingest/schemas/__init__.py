"""Schemas and vocabularies shipped with earchive (data only; see README.md for their licences)."""
