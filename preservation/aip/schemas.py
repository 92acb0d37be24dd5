"""The `schemas/` folder of an AIP: everything needed to validate its XML without a network.

- METS 1.12, the XLink schema it imports, and the E-ARK CSIP / SIP METS
  extensions: copied from `ingest/schemas/` (see its README for sources and
  licences: CC0, public domain, CC BY 4.0 DILCIS Board);
- PREMIS 3.0: `archive_core/profiles/schemas/premis-v3-0.xsd` (Library of Congress);
- TT 05 `<simpledc>` schemas for the AIP variant (`EAD.xsd`, `EAD_doc.xsd`,
  `EAD_pic.xsd`, `EAD_media.xsd`): generated from the field lists in
  `archive_core.codes`, in the order our writer emits them. The published
  third-party transcriptions of the circular's schemas have no stated licence,
  so they are not redistributed; the tests validate our EAD against them too.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from archive_core.codes import Entity, field_specs
from archive_core.profiles import premis as premis_xml
from archive_core.profiles import tt05
from archive_core.profiles.mets import CSIP_NS, METS_NS, SIP_NS, SchemaFile

PREMIS_XSD = "premis.xsd"
METS_XSD = "METS.xsd"



EAD_SCHEMAS: dict[str, Entity] = {
    "EAD.xsd": Entity.DOSSIER, "EAD_doc.xsd": Entity.DOC, "EAD_pic.xsd": Entity.PIC, "EAD_media.xsd": Entity.MEDIA,
}


def ead_schemas(variant: tt05.Tt05Variant) -> list[SchemaFile]:
    return [
        SchemaFile(name, tt05.simpledc_xsd([s.tag for s in field_specs(variant, entity)], ordered=True))
        for name, entity in EAD_SCHEMAS.items()
    ]


def _shipped(name: str) -> bytes:
    return resources.files("ingest.schemas").joinpath(name).read_bytes()


@lru_cache(maxsize=1)
def _standard() -> tuple[SchemaFile, ...]:
    return (
        SchemaFile(METS_XSD, _shipped("mets.xsd"), METS_NS),
        SchemaFile("xlink.xsd", _shipped("xlink.xsd")),
        SchemaFile("DILCISExtensionMETS.xsd", _shipped("DILCISExtensionMETS.xsd"), CSIP_NS),
        SchemaFile("DILCISExtensionSIPMETS.xsd", _shipped("DILCISExtensionSIPMETS.xsd"), SIP_NS),
        SchemaFile(PREMIS_XSD, premis_xml.SCHEMA_PATH.read_bytes()),
    )


def aip_schemas(variant: tt05.Tt05Variant) -> list[SchemaFile]:
    return [*_standard(), *ead_schemas(variant)]
