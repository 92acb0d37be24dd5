"""XSD files for the `schemas/` folder of a generated TT 05 SIP.

The TT 05 EAD schemas are taken at generation time from the shared corpus
(`shared/corpus/tt05/schemas/…`, third-party transcriptions of the circular's
annexes) and the METS / CSIP extension schemas from `shared/corpus/eark-ip/`.
Without the shared folder, minimal `<simpledc>` schemas are built from the
field lists in `archive_core.codes` (same elements, `xs:all` of strings) and
the METS schemas are left out (the root METS then does not point to them).
No schema is copied into this repository.
"""

from __future__ import annotations

from pathlib import Path

from archive_core.codes import Entity, field_specs
from archive_core.profiles import tt05
from archive_core.profiles.mets import CSIP_NS, METS_NS, SIP_NS, SchemaFile
from ingest.generator.texts import shared_root

_TT05 = Path("corpus/tt05/schemas/Ynap9_ksts.web/kssm.be")
_CSIP = Path("corpus/eark-ip/reference/E-ARK-CSIP-v2.0.4/schema")
_SIP = Path("corpus/eark-ip/reference/E-ARK-SIP-v2.0.4/schema")




def _read(relative: Path, shared: Path) -> bytes | None:
    path = shared / relative
    return path.read_bytes() if path.is_file() else None


def _tags(variant: str, entity: Entity) -> list[str]:
    return [spec.tag for spec in field_specs(variant, entity)]


def sip_schemas(*, tailieu: bool, real_world: bool = False, shared: Path | None = None) -> list[SchemaFile]:
    """The schemas of a SIP; `real_world` names them in lower case, as one producer does.

    That producer's `ead_doc.xsd` declares `arcDocCode` where the data say
    `docCode`; the real-world set reproduces that mismatch.
    """
    root = shared or shared_root()
    variant = "sip-tailieu" if tailieu else "sip-hoso"
    package = None if tailieu else _read(_TT05 / "kssm.be.shared/Templates/schemas/SIP/ead.xsd", root)
    doc = _read(_TT05 / "kssm.be.api/Templates/schemas/ead_doc.xsd", root)
    pic = _read(_TT05 / "kssm.be.api/Templates/schemas/ead_pic.xsd", root)
    media = _read(_TT05 / "kssm.be.api/Templates/schemas/ead_media.xsd", root)
    ead = {
        "EAD": package or tt05.simpledc_xsd(_tags(variant, Entity.DOSSIER), ordered=False),
        "EAD_doc": doc or tt05.simpledc_xsd(_tags("sip-hoso", Entity.DOC), ordered=False),
        "EAD_pic": pic or tt05.simpledc_xsd(_tags("sip-hoso", Entity.PIC), ordered=False),
        "EAD_media": media or tt05.simpledc_xsd(_tags("sip-hoso", Entity.MEDIA), ordered=False),
    }
    if real_world:
        ead["EAD_doc"] = ead["EAD_doc"].replace(b'name="docCode"', b'name="arcDocCode"')
    files = [SchemaFile(f"{name.lower() if real_world else name}.xsd", data) for name, data in ead.items()]
    mets = _read(_CSIP / "mets.xsd", root)
    if mets is not None:
        files.append(SchemaFile("mets1_12.xsd" if real_world else "METS.xsd", mets, METS_NS))
    csip = _read(_CSIP / "DILCISExtensionMETS.xsd", root)
    if csip is not None:
        files.append(SchemaFile("DILCISExtensionMETS.xsd", csip, CSIP_NS))
    sip = _read(_SIP / "DILCISExtensionSIPMETS.xsd", root)
    if sip is not None:
        files.append(SchemaFile("DILCISExtensionSIPMETS.xsd", sip, SIP_NS))
    return files
