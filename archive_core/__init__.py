"""earchive domain core: model, metadata profiles, findings, settings."""
