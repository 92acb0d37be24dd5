"""Metadata profiles: Circular 02/2019 XML and TT 05/2025 EAD simpledc."""
