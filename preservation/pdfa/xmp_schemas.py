"""XMP schemas that PDF/A accepts without an extension schema description.

ISO 19005-1 6.7.9 admits the schemas predefined in the XMP Specification of
January 2004, ISO 19005-2/-3 6.6.2.3.1 those of September 2005. The property
names and value types below come from those specifications (Dublin Core, XMP
Basic, Rights, Media Management, Basic Job Ticket, Paged-Text, Dynamic Media,
Adobe PDF, Photoshop, Camera Raw, TIFF, EXIF) and from ISO 19005 itself (PDF/A
identification). The choice of which schemas count as predefined for each part,
and the few value patterns for closed choices, follow the veraPDF reference
validator so that both validators judge the same metadata the same way.

A value type is written the way extension schemas write it: `Text`, `Integer`,
`bag ProperName`, `seq ResourceEvent`, `Lang Alt`, `Closed Choice of Integer` …
"""

from __future__ import annotations

from dataclasses import dataclass, field

NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
NS_XML = "http://www.w3.org/XML/1998/namespace"
NS_X = "adobe:ns:meta/"
NS_PDFAID = "http://www.aiim.org/pdfa/ns/id/"
NS_PDFA_EXTENSION = "http://www.aiim.org/pdfa/ns/extension/"
NS_PDFA_SCHEMA = "http://www.aiim.org/pdfa/ns/schema#"
NS_PDFA_PROPERTY = "http://www.aiim.org/pdfa/ns/property#"
NS_PDFA_TYPE = "http://www.aiim.org/pdfa/ns/type#"
NS_PDFA_FIELD = "http://www.aiim.org/pdfa/ns/field#"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_XMP = "http://ns.adobe.com/xap/1.0/"
NS_XMP_RIGHTS = "http://ns.adobe.com/xap/1.0/rights/"
NS_XMP_MM = "http://ns.adobe.com/xap/1.0/mm/"
NS_XMP_BJ = "http://ns.adobe.com/xap/1.0/bj/"
NS_XMP_TPG = "http://ns.adobe.com/xap/1.0/t/pg/"
NS_XMP_DM = "http://ns.adobe.com/xmp/1.0/DynamicMedia/"
NS_PDF = "http://ns.adobe.com/pdf/1.3/"
NS_PHOTOSHOP = "http://ns.adobe.com/photoshop/1.0/"
NS_CRS = "http://ns.adobe.com/camera-raw-settings/1.0/"
NS_TIFF = "http://ns.adobe.com/tiff/1.0/"
NS_EXIF = "http://ns.adobe.com/exif/1.0/"
NS_AUX = "http://ns.adobe.com/exif/1.0/aux/"
NS_ST_DIM = "http://ns.adobe.com/xap/1.0/sType/Dimensions#"
NS_XAP_GIMG = "http://ns.adobe.com/xap/1.0/g/img/"
NS_XAP_G = "http://ns.adobe.com/xap/1.0/g/"
NS_ST_EVT = "http://ns.adobe.com/xap/1.0/sType/ResourceEvent#"
NS_ST_REF = "http://ns.adobe.com/xap/1.0/sType/ResourceRef#"
NS_ST_VER = "http://ns.adobe.com/xap/1.0/sType/Version#"
NS_ST_JOB = "http://ns.adobe.com/xap/1.0/sType/Job#"
NS_ST_FNT = "http://ns.adobe.com/xap/1.0/sType/Font#"

EXTENSION_NAMESPACES = frozenset({NS_PDFA_EXTENSION, NS_PDFA_SCHEMA, NS_PDFA_PROPERTY, NS_PDFA_TYPE, NS_PDFA_FIELD})
"""The PDF/A extension schema description schemas (ISO 19005-1 6.7.8, -2 6.6.2.3.3)."""

_PERCENT = r"^[+]?(\d{1,2}(\.\d*)?|\d{0,2}\.\d+|100(\.0*)?)$"
_BYTE = r"^[+]?([01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5])$"
_SIGNED_BYTE = r"^([+-]?[0]?[0-9]{1,2}|[+-]?1[01][0-9]|[+-]?12[0-7]|-128)$"


@dataclass(frozen=True)
class StructType:
    """A structured value type: its fields' namespace, names and types, closed-choice patterns."""

    namespace: str
    fields: dict[str, str]
    closed: dict[str, str] = field(default_factory=dict)


def _parse(table: str) -> dict[str, str]:
    """`name: type` lines → {name: type}."""
    result: dict[str, str] = {}
    for line in table.strip().splitlines():
        name, _, value_type = line.strip().partition(":")
        result[name.strip()] = value_type.strip()
    return result


# --- structured types ------------------------------------------------------

_COMMON_STRUCTS: dict[str, StructType] = {
    "dimensions": StructType(NS_ST_DIM, _parse("w: Real\nh: Real\nunit: Text")),
    "thumbnail": StructType(
        NS_XAP_GIMG, _parse("height: Integer\nwidth: Integer\nimage: Text\nformat: Text"), {"format": r"^JPEG$"}
    ),
    "resourceevent": StructType(
        NS_ST_EVT,
        _parse("action: Text\ninstanceID: URI\nparameters: Text\nsoftwareAgent: AgentName\nwhen: Date"),
    ),
    "resourceref": StructType(
        NS_ST_REF,
        _parse(
            """
            instanceID: URI
            documentID: URI
            versionID: Text
            renditionClass: RenditionClass
            renditionParams: Text
            manager: AgentName
            managerVariant: Text
            manageTo: URI
            manageUI: URI
            """
        ),
    ),
    "version": StructType(
        NS_ST_VER,
        _parse("comments: Text\nevent: ResourceEvent\nmodifyDate: Date\nmodifier: ProperName\nversion: Text"),
    ),
    "job": StructType(NS_ST_JOB, _parse("name: Text\nid: Text\nurl: URL")),
    "flash": StructType(
        NS_EXIF,
        _parse("Fired: Boolean\nFunction: Boolean\nRedEyeMode: Boolean\nReturn: Integer\nMode: Integer"),
        {"Return": r"^[023]$", "Mode": r"^[0-3]$"},
    ),
    "oecf/sfr": StructType(NS_EXIF, _parse("Columns: Integer\nRows: Integer\nNames: seq Text\nValues: seq Rational")),
    "cfapattern": StructType(NS_EXIF, _parse("Columns: Integer\nRows: Integer\nValues: seq Integer")),
    "devicesettings": StructType(NS_EXIF, _parse("Columns: Integer\nRows: Integer\nSettings: seq Text")),
}

_STRUCTS_2005: dict[str, StructType] = {
    "colorant": StructType(
        NS_XAP_G,
        _parse(
            """
            swatchName: Text
            mode: Text
            type: Text
            cyan: Real
            magenta: Real
            yellow: Real
            black: Real
            red: Integer
            green: Integer
            blue: Integer
            L: Real
            A: Integer
            B: Integer
            """
        ),
        {
            "mode": r"^(CMYK|RGB|LAB)$",
            "type": r"^(PROCESS|SPOT)$",
            "cyan": _PERCENT,
            "magenta": _PERCENT,
            "yellow": _PERCENT,
            "black": _PERCENT,
            "red": _BYTE,
            "green": _BYTE,
            "blue": _BYTE,
            "L": _PERCENT,
            "A": _SIGNED_BYTE,
            "B": _SIGNED_BYTE,
        },
    ),
    "font": StructType(
        NS_ST_FNT,
        _parse(
            """
            fontName: Text
            fontFamily: Text
            fontFace: Text
            fontType: Text
            versionString: Text
            composite: Boolean
            fontFileName: Text
            childFontFiles: seq Text
            """
        ),
    ),
    "beatsplicestretch": StructType(
        NS_XMP_DM, _parse("useFileBeatsMarker: Boolean\nriseInDecibel: Real\nriseInTimeDuration: Time")
    ),
    "marker": StructType(
        NS_XMP_DM,
        _parse("startTime: Any\nduration: Any\ncomment: Text\nname: Text\nlocation: URI\ntarget: Text\ntype: Text"),
        {"type": r"^(Chapter|Cue|Beat|Track|Index)$"},
    ),
    "media": StructType(
        NS_XMP_DM,
        _parse("path: URI\ntrack: Text\nstartTime: Time\nduration: Time\nmanaged: Boolean\nwebStatement: URI"),
    ),
    "projectlink": StructType(NS_XMP_DM, _parse("path: URI\ntype: Text"), {"type": r"^(movie|still|audio|custom)$"}),
    "resamplestretch": StructType(NS_XMP_DM, _parse("quality: Text"), {"quality": r"^(High|Medium|Low)$"}),
    "time": StructType(NS_XMP_DM, _parse("value: Integer\nscale: Rational")),
    "timecode": StructType(
        NS_XMP_DM,
        _parse("timeValue: Text\ntimeFormat: Text"),
        {
            "timeValue": r"^\d{2}((:\d{2}){3}|(;\d{2}){3})$",
            "timeFormat": r"^(24|25|2997Drop|2997NonDrop|30|50|5994Drop|5994NonDrop|60|23976)(Timecode)$",
        },
    ),
    "timescalestretch": StructType(
        NS_XMP_DM,
        _parse("frameSize: Real\nframeOverlappingPercentage: Real\nquality: Text"),
        {"quality": r"^(High|Medium|Low)$"},
    ),
}

# --- properties ------------------------------------------------------------

_COMMON_PROPERTIES: dict[str, str] = {
    NS_PDFAID: "part: Integer\namd: Text\nconformance: Text",
    NS_DC: """
        contributor: bag ProperName
        coverage: Text
        creator: seq ProperName
        date: seq Date
        description: Lang Alt
        format: MIMEType
        identifier: Text
        language: bag Locale
        publisher: bag ProperName
        relation: bag Text
        rights: Lang Alt
        source: Text
        subject: bag Text
        title: Lang Alt
        type: bag Text
        """,
    NS_XMP: """
        Advisory: bag Text
        BaseURL: URL
        CreateDate: Date
        CreatorTool: AgentName
        Identifier: bag Text
        MetadataDate: Date
        ModifyDate: Date
        Nickname: Text
        Thumbnails: alt Thumbnail
        """,
    NS_XMP_RIGHTS: """
        Certificate: URL
        Marked: Boolean
        Owner: bag ProperName
        UsageTerms: Lang Alt
        WebStatement: URL
        """,
    NS_XMP_MM: """
        DerivedFrom: ResourceRef
        DocumentID: URI
        History: seq ResourceEvent
        InstanceID: URI
        ManagedFrom: ResourceRef
        Manager: AgentName
        ManageTo: URI
        ManageUI: URI
        ManagerVariant: Text
        RenditionClass: RenditionClass
        RenditionParams: Text
        VersionID: Text
        Versions: seq Version
        LastURL: URL
        RenditionOf: ResourceRef
        SaveID: Integer
        """,
    NS_XMP_BJ: "JobRef: bag Job",
    NS_XMP_TPG: "MaxPageSize: Dimensions\nNPages: Integer",
    NS_PDF: "Keywords: Text\nPDFVersion: Text\nProducer: AgentName",
    NS_PHOTOSHOP: """
        AuthorsPosition: Text
        CaptionWriter: ProperName
        Category: Text
        City: Text
        Country: Text
        Credit: Text
        DateCreated: Date
        Headline: Text
        Instructions: Text
        Source: Text
        State: Text
        TransmissionReference: Text
        Urgency: Integer
        """,
    NS_TIFF: """
        ImageWidth: Integer
        ImageLength: Integer
        BitsPerSample: seq Integer
        SamplesPerPixel: Integer
        XResolution: Rational
        YResolution: Rational
        TransferFunction: seq Integer
        WhitePoint: seq Rational
        PrimaryChromaticities: seq Rational
        YCbCrCoefficients: seq Rational
        ReferenceBlackWhite: seq Rational
        DateTime: Date
        ImageDescription: Lang Alt
        Make: ProperName
        Model: ProperName
        Software: AgentName
        Artist: ProperName
        Copyright: Lang Alt
        Compression: Integer
        PhotometricInterpretation: Integer
        Orientation: Integer
        PlanarConfiguration: Integer
        YCbCrPositioning: Integer
        ResolutionUnit: Integer
        YCbCrSubSampling: seq Integer
        """,
    NS_EXIF: """
        CompressedBitsPerPixel: Rational
        PixelXDimension: Integer
        PixelYDimension: Integer
        UserComment: Lang Alt
        RelatedSoundFile: Text
        DateTimeOriginal: Date
        DateTimeDigitized: Date
        ExposureTime: Rational
        FNumber: Rational
        SpectralSensitivity: Text
        ISOSpeedRatings: seq Integer
        OECF: OECF/SFR
        ShutterSpeedValue: Rational
        ApertureValue: Rational
        BrightnessValue: Rational
        ExposureBiasValue: Rational
        MaxApertureValue: Rational
        SubjectDistance: Rational
        Flash: Flash
        FocalLength: Rational
        SubjectArea: seq Integer
        FlashEnergy: Rational
        SpatialFrequencyResponse: OECF/SFR
        FocalPlaneXResolution: Rational
        FocalPlaneYResolution: Rational
        SubjectLocation: seq Integer
        ExposureIndex: Rational
        CFAPattern: CFAPattern
        DigitalZoomRatio: Rational
        FocalLengthIn35mmFilm: Integer
        DeviceSettingDescription: DeviceSettings
        ImageUniqueID: Text
        GPSVersionID: Text
        GPSLatitude: GPSCoordinate
        GPSLongitude: GPSCoordinate
        GPSAltitude: Rational
        GPSTimeStamp: Date
        GPSSatellites: Text
        GPSDOP: Rational
        GPSSpeed: Rational
        GPSTrack: Rational
        GPSImgDirection: Rational
        GPSMapDatum: Text
        GPSDestLatitude: GPSCoordinate
        GPSDestLongitude: GPSCoordinate
        GPSDestBearing: Rational
        GPSDestDistance: Rational
        GPSProcessingMethod: Text
        GPSAreaInformation: Text
        ExposureProgram: Integer
        MeteringMode: Integer
        FocalPlaneResolutionUnit: Integer
        SensingMethod: Integer
        FileSource: Integer
        SceneType: Integer
        CustomRendered: Integer
        ExposureMode: Integer
        WhiteBalance: Integer
        SceneCaptureType: Integer
        GainControl: Integer
        Contrast: Integer
        Saturation: Integer
        Sharpness: Integer
        SubjectDistanceRange: Integer
        GPSAltitudeRef: Integer
        GPSStatus: Text
        GPSSpeedRef: Text
        GPSTrackRef: Text
        GPSImgDirectionRef: Text
        GPSDestBearingRef: Text
        GPSDestDistanceRef: Text
        GPSDifferential: Integer
        ComponentsConfiguration: seq Integer
        ColorSpace: Integer
        LightSource: Integer
        """,
}

_PART1_PROPERTIES: dict[str, str] = {
    NS_PHOTOSHOP: "SupplementalCategories: Text",
    NS_EXIF: "MakerNote: Text\nExifVersion: Text\nFlashpixVersion: Text\nGPSMeasureMode: Integer",
}

_PART23_PROPERTIES: dict[str, str] = {
    NS_PDFAID: "corr: Text",
    NS_XMP: "Label: Text\nRating: Real",
    NS_XMP_TPG: "Fonts: bag Font\nColorants: seq Colorant\nPlateNames: seq Text",
    NS_XMP_DM: """
        projectRef: ProjectLink
        videoFrameRate: Text
        videoFrameSize: Dimensions
        videoPixelAspectRatio: Rational
        videoPixelDepth: Text
        videoColorSpace: Text
        videoAlphaMode: Text
        videoAlphaPremultipleColor: Colorant
        videoAlphaUnityIsTransparent: Boolean
        videoCompressor: Text
        videoFieldOrder: Text
        pullDown: Text
        audioSampleRate: Integer
        audioSampleType: Text
        audioChannelType: Text
        audioCompressor: Text
        speakerPlacement: Text
        fileDataRate: Rational
        tapeName: Text
        altTapeName: Text
        startTimecode: Timecode
        altTimecode: Timecode
        duration: Time
        scene: Text
        shotName: Text
        shotDate: Date
        shotLocation: Text
        logComment: Text
        markers: seq Marker
        contributedMedia: bag Media
        absPeakAudioFilePath: URI
        relativePeakAudioFilePath: URI
        videoModDate: Date
        audioModDate: Date
        metadataModDate: Date
        artist: Text
        album: Text
        trackNumber: Integer
        genre: Text
        copyright: Text
        releaseDate: Date
        composer: Text
        engineer: Text
        tempo: Real
        instrument: Text
        introTime: Time
        outCue: Time
        relativeTimestamp: Time
        loop: Boolean
        numberOfBeats: Real
        key: Text
        stretchMode: Text
        timeScaleParams: TimeScaleStretch
        resampleParams: ResampleStretch
        beatSpliceParams: BeatSpliceStretch
        timeSignature: Text
        scaleType: Text
        """,
    NS_PHOTOSHOP: "SupplementalCategories: bag Text",
    NS_CRS: """
        AutoBrightness: Boolean
        AutoContrast: Boolean
        AutoExposure: Boolean
        AutoShadows: Boolean
        BlueHue: Integer
        BlueSaturation: Integer
        Brightness: Integer
        CameraProfile: Text
        ChromaticAberrationB: Integer
        ChromaticAberrationR: Integer
        ColorNoiseReduction: Integer
        Contrast: Integer
        CropTop: Real
        CropLeft: Real
        CropBottom: Real
        CropRight: Real
        CropAngle: Real
        CropWidth: Real
        CropHeight: Real
        CropUnits: Integer
        Exposure: Real
        GreenHue: Integer
        GreenSaturation: Integer
        HasCrop: Boolean
        HasSettings: Boolean
        LuminanceSmoothing: Integer
        RawFileName: Text
        RedHue: Integer
        RedSaturation: Integer
        Saturation: Integer
        Shadows: Integer
        ShadowTint: Integer
        Sharpness: Integer
        Temperature: Integer
        Tint: Integer
        ToneCurve: seq Text
        ToneCurveName: Text
        Version: Text
        VignetteAmount: Integer
        VignetteMidpoint: Integer
        WhiteBalance: Text
        """,
    NS_EXIF: "ExifVersion: Text\nFlashpixVersion: Text\nGPSMeasureMode: Text",
    NS_AUX: "Lens: Text\nSerialNumber: Text",
}

# Closed choices of predefined simple properties: (namespace, name) → pattern.
_COMMON_CLOSED: dict[tuple[str, str], str] = {
    (NS_TIFF, "Compression"): r"^[16]$",
    (NS_TIFF, "PhotometricInterpretation"): r"^[26]$",
    (NS_TIFF, "Orientation"): r"^[1-8]$",
    (NS_TIFF, "PlanarConfiguration"): r"^[12]$",
    (NS_TIFF, "YCbCrPositioning"): r"^[12]$",
    (NS_TIFF, "ResolutionUnit"): r"^[23]$",
    (NS_EXIF, "ExposureProgram"): r"^[0-8]$",
    (NS_EXIF, "MeteringMode"): r"^([0-6]|255)$",
    (NS_EXIF, "FocalPlaneResolutionUnit"): r"^[23]$",
    (NS_EXIF, "SensingMethod"): r"^[1-8]$",
    (NS_EXIF, "FileSource"): r"^3$",
    (NS_EXIF, "SceneType"): r"^1$",
    (NS_EXIF, "CustomRendered"): r"^[01]$",
    (NS_EXIF, "ExposureMode"): r"^[0-2]$",
    (NS_EXIF, "WhiteBalance"): r"^[01]$",
    (NS_EXIF, "SceneCaptureType"): r"^[0-3]$",
    (NS_EXIF, "GainControl"): r"^[0-4]$",
    (NS_EXIF, "Contrast"): r"^[0-2]$",
    (NS_EXIF, "Saturation"): r"^[0-2]$",
    (NS_EXIF, "Sharpness"): r"^[0-2]$",
    (NS_EXIF, "SubjectDistanceRange"): r"^[0-3]$",
    (NS_EXIF, "GPSAltitudeRef"): r"^[01]$",
    (NS_EXIF, "GPSStatus"): r"^[AV]$",
    (NS_EXIF, "GPSSpeedRef"): r"^[KMN]$",
    (NS_EXIF, "GPSTrackRef"): r"^[TM]$",
    (NS_EXIF, "GPSImgDirectionRef"): r"^[TM]$",
    (NS_EXIF, "GPSDestBearingRef"): r"^[TM]$",
    (NS_EXIF, "GPSDestDistanceRef"): r"^[KMN]$",
    (NS_EXIF, "GPSDifferential"): r"^[01]$",
}

_PART1_CLOSED: dict[tuple[str, str], str] = {
    (NS_PDFAID, "conformance"): r"^[AB]$",
    (NS_EXIF, "ExifVersion"): r"^0210$",
    (NS_EXIF, "FlashpixVersion"): r"^0100$",
    (NS_EXIF, "ColorSpace"): r"^(1|-32786)$",
    (NS_EXIF, "LightSource"): r"^([0-3]|1[7-9]|2[0-2]|255)$",
    (NS_EXIF, "GPSMeasureMode"): r"^[23]$",
}

_PART23_CLOSED: dict[tuple[str, str], str] = {
    (NS_PDFAID, "conformance"): r"^[AUB]$",
    (NS_EXIF, "ColorSpace"): r"^(1|65535)$",
    (NS_EXIF, "LightSource"): r"^([0-4]|9|1[0-5]|1[7-9]|2[0-4]|255)$",
    (NS_XMP_DM, "videoPixelDepth"): r"^(8Int|16Int|32Int|32Float)$",
    (NS_XMP_DM, "videoColorSpace"): r"^(sRGB|CCIR-601|CCIR-709)$",
    (NS_XMP_DM, "videoAlphaMode"): r"^(straight|pre-multiplied)$",
    (NS_XMP_DM, "videoFieldOrder"): r"^(Upper|Lower|Progressive)$",
    (NS_XMP_DM, "pullDown"): r"^(WSSW|SSWWW|SWWWS|WWWSS|WWSSW)(_24p)?$",
    (NS_XMP_DM, "audioSampleType"): r"^(8Int|16Int|32Int|32Float)$",
    (NS_XMP_DM, "audioChannelType"): r"^(Mono|Stereo|5\.1|7\.1)$",
    (NS_XMP_DM, "key"): r"^([ACDFG]#?|[BE])$",
    (NS_XMP_DM, "stretchMode"): r"^(Fixed length|Time-Scale|Resample|Beat Splice|Hybrid)$",
    (NS_XMP_DM, "timeSignature"): r"^([2-57]/4|[69]/8|12/8|other)$",
    (NS_XMP_DM, "scaleType"): r"^(Major|Minor|Both|Neither)$",
    (NS_CRS, "WhiteBalance"): r"^(As Shot|Auto|Daylight|Cloudy|Shade|Tungsten|Fluorescent|Flash|Custom)$",
}

# Closed choices of predefined sequences: (namespace, name) → allowed item lists.
SEQ_CHOICES: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {
    (NS_TIFF, "YCbCrSubSampling"): (("2", "1"), ("2", "2")),
    (NS_EXIF, "ComponentsConfiguration"): (("4", "5", "6", "0"), ("1", "2", "3", "0")),
}
SEQ_ITEM_PATTERNS: dict[tuple[str, str], str] = {(NS_CRS, "ToneCurve"): r"^\([+-]?\d+, [+-]?\d+\)$"}

SIMPLE_PATTERNS_COMMON: dict[str, str] = {
    "boolean": r"^True$|^False$",
    "integer": r"^[+-]?\d+$",
    "real": r"^[+-]?\d+\.?\d*$|^[+-]?\d*\.?\d+$",
    "mimetype": r"^[-\w+.]+/[-\w+.]+$",
}
SIMPLE_PATTERNS_PART1: dict[str, str] = {
    "gpscoordinate": r"^\d{2},\d{2}[,.]\d{2}[NSEW]$",
    "locale": r"^([a-zA-Z]{1,8})((-[a-zA-Z]{1,8})*)$",
}
SIMPLE_PATTERNS_PART23: dict[str, str] = {
    "gpscoordinate": r"^\d{1,3},\d{1,2}(,\d{1,2}|\.\d+)[NSEW]$",
    "locale": r"^([a-zA-Z]{1,8})((-[a-zA-Z0-9]{1,8})*)$",
}
FREE_TEXT_TYPES = frozenset(
    {"text", "propername", "agentname", "rational", "renditionclass", "uri", "url", "xpath"}
)


@dataclass(frozen=True)
class Predefined:
    """The predefined schemas of one PDF/A part."""

    properties: dict[tuple[str, str], str]
    """(namespace, property name) → value type."""
    closed: dict[tuple[str, str], str]
    structs: dict[str, StructType]
    simple_patterns: dict[str, str]


def _properties(*tables: dict[str, str]) -> dict[tuple[str, str], str]:
    result: dict[tuple[str, str], str] = {}
    for table in tables:
        for namespace, text in table.items():
            for name, value_type in _parse(text).items():
                result[namespace, name] = value_type
    return result


def predefined(part: int) -> Predefined:
    if part == 1:
        return _PART1
    return _PART23


_PART1 = Predefined(
    properties=_properties(_COMMON_PROPERTIES, _PART1_PROPERTIES),
    closed={**_COMMON_CLOSED, **_PART1_CLOSED},
    structs=dict(_COMMON_STRUCTS),
    simple_patterns={**SIMPLE_PATTERNS_COMMON, **SIMPLE_PATTERNS_PART1},
)
_PART23 = Predefined(
    properties=_properties(_COMMON_PROPERTIES, _PART23_PROPERTIES),
    closed={**_COMMON_CLOSED, **_PART23_CLOSED},
    structs={**_COMMON_STRUCTS, **_STRUCTS_2005},
    simple_patterns={**SIMPLE_PATTERNS_COMMON, **SIMPLE_PATTERNS_PART23},
)
