"""validate_aip: check a built AIP bag on its own, offline (R-ST-1).

- the bag with bagit-python (completeness, every checksum, Payload-Oxum);
- every METS against METS 1.12 + the E-ARK CSIP and SIP extension schemas
  shipped in `ingest/schemas/` (a local resolver serves the XLink import);
- every PREMIS file against PREMIS 3.0;
- EAD.xml and each EAD_doc/pic/media against the TT 05 schemas in the AIP's
  own `schemas/` folder;
- the Circular 02 XML against `archive_core/profiles/schemas/circular02.xsd`.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import bagit
from lxml import etree

from archive_core.profiles import circular02
from archive_core.profiles import premis as premis_xml
from archive_core.profiles.mets import CSIP_NS, METS_NS, SIP_NS
from preservation.aip.schemas import EAD_SCHEMAS

_LOCK = threading.Lock()


def _parser() -> etree.XMLParser:
    return etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False, huge_tree=False)


class _ShippedSchemas(etree.Resolver):
    """Serve `xlink.xsd` (imported by mets.xsd from the Library of Congress URL) from ingest/schemas."""

    def resolve(self, system_url: str, public_id: str, context: object = None) -> Any:
        name = system_url.rsplit("/", 1)[-1]
        if name.endswith(".xsd"):
            local = resources.files("ingest.schemas").joinpath(name)
            if local.is_file():
                resolver: Any = self
                return resolver.resolve_string(local.read_bytes(), context)
        return None


@lru_cache(maxsize=1)
def mets_schema() -> etree.XMLSchema:
    """METS 1.12 with the csip: and sip: extension attributes, all from ingest/schemas, offline."""
    folder = resources.files("ingest.schemas")
    imports = "".join(
        f'<xs:import namespace="{ns}" schemaLocation="{name}"/>'
        for ns, name in ((METS_NS, "mets.xsd"), (CSIP_NS, "DILCISExtensionMETS.xsd"),
                         (SIP_NS, "DILCISExtensionSIPMETS.xsd"))
    )
    wrapper = (
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:earchive:aip:mets-wrapper">'
        f"{imports}</xs:schema>"
    ).encode()
    parser = _parser()
    parser.resolvers.add(_ShippedSchemas())
    base = str(Path(str(folder.joinpath("mets.xsd"))).parent) + "/"
    return etree.XMLSchema(etree.fromstring(wrapper, parser, base_url=base))


def _errors(schema: etree.XMLSchema, root: etree._Element, label: str) -> list[str]:
    with _LOCK:
        if schema.validate(root):
            return []
        log: Any = schema.error_log
        return [f"{label}: line {e.line}: {e.message}" for e in list(log)[:20]]


def _parse(path: Path, label: str, problems: list[str]) -> etree._Element | None:
    try:
        return etree.parse(str(path), _parser()).getroot()
    except (OSError, etree.XMLSyntaxError) as exc:
        problems.append(f"{label}: {exc}")
        return None


def _validate_bag(bag_dir: Path) -> list[str]:
    try:
        bag = bagit.Bag(str(bag_dir))
        bag.validate()
    except bagit.BagError as exc:
        details = getattr(exc, "details", None) or []
        return [f"bagit: {exc}", *(f"bagit: {d}" for d in details[:20])]
    return []


def _ead_schema(payload: Path, name: str) -> etree.XMLSchema | None:
    path = payload / "schemas" / name
    if not path.is_file():
        return None
    return etree.XMLSchema(etree.parse(str(path), _parser()))


def _ead_name(path: Path) -> str | None:
    if path.name == "EAD.xml":
        return "EAD.xsd"
    for prefix in ("EAD_doc_", "EAD_pic_", "EAD_media_"):
        if path.name.startswith(prefix):
            return f"{prefix[:-1]}.xsd"
    return None


def _validate_xml(payload: Path) -> list[str]:
    problems: list[str] = []
    ead_schemas = {name: _ead_schema(payload, name) for name in EAD_SCHEMAS}
    for path in sorted(payload.rglob("*.xml")):
        label = path.relative_to(payload.parent).as_posix()
        root = _parse(path, label, problems)
        if root is None:
            continue
        relative = path.relative_to(payload).as_posix()
        if path.name == "METS.xml":
            problems += _errors(mets_schema(), root, label)
        elif path.name.startswith("PREMIS") and "/preservation/" in f"/{relative}":
            problems += [f"{label}: {m}" for m in premis_xml.validate(root)[:20]]
        elif relative.startswith("metadata/dossier.xml") or relative.startswith("metadata/documents/"):
            kind: Literal["dossier", "document"] = "dossier" if relative == "metadata/dossier.xml" else "document"
            problems += [f"{label}: {m}" for m in circular02.validate_xsd(root, kind)[:20]]
        elif (name := _ead_name(path)) is not None:
            schema = ead_schemas.get(name)
            if schema is None:
                problems.append(f"{label}: no schemas/{name} in the AIP")
            else:
                problems += _errors(schema, root, label)
    return problems


def validate_aip(bag_dir: Path) -> list[str]:
    """Problems found in the AIP bag at `bag_dir` (empty when it validates)."""
    bag_dir = Path(bag_dir)
    problems = _validate_bag(bag_dir)
    payload = bag_dir / "data"
    if not (payload / "METS.xml").is_file():
        problems.append("data/METS.xml: missing")
    return problems + _validate_xml(payload)
