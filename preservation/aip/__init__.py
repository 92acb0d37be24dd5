"""The AIP builder: an accepted submission becomes a BagIt bag holding the TT 05/2025 AIP tree.

```
<aip_id>/bagit.txt, bag-info.txt, manifest-sha256.txt, tagmanifest-sha256.txt
<aip_id>/data/METS.xml                                   root METS, OAISPACKAGETYPE="AIP", OBJID = aip id
<aip_id>/data/metadata/descriptive/EAD.xml               AIP_hoso / AIP_tailieu (arcFileCode)
<aip_id>/data/metadata/descriptive/earchive-extension.xml   values TT 05 cannot hold (when any)
<aip_id>/data/metadata/preservation/PREMIS.xml           entity, representations, events, agents
<aip_id>/data/metadata/dossier.xml                       Circular 02 XML (earchive BagIt profile)
<aip_id>/data/metadata/documents/<stem>.xml              Circular 02 XML, one per document
<aip_id>/data/representations/rep1/METS.xml
<aip_id>/data/representations/rep1/metadata/descriptive/EAD_doc_<name>.xml
<aip_id>/data/representations/rep1/metadata/preservation/PREMIS_rep1.xml
<aip_id>/data/representations/rep1/data/<originals>
<aip_id>/data/representations/rep2/…                     preservation copies (div TYPE="NORMALIZED")
<aip_id>/data/documentation/<other submitted content>    when the submission had any
<aip_id>/data/schemas/                                   METS, XLink, E-ARK extensions, PREMIS, TT 05 EAD XSDs
```

```python
result = check_package(path, settings, options=GateOptions(stage_files=True, keep_staging=True))
built = build_aip(result, settings.staging_dir / result.submission_id, settings, preservation_copies=copies)
assert not validate_aip(built.bag_dir)
export_zip(built.bag_dir, Path("out") / f"{built.aip_id}.zip")
```
"""

from preservation.aip.build import build_aip
from preservation.aip.export import export_zip
from preservation.aip.metadata import AIP_PROFILE
from preservation.aip.model import AipBuild, AipError, AipFile, DerivedFile, new_aip_id
from preservation.aip.validate import validate_aip

__all__ = [
    "AIP_PROFILE",
    "AipBuild",
    "AipError",
    "AipFile",
    "DerivedFile",
    "build_aip",
    "export_zip",
    "new_aip_id",
    "validate_aip",
]
