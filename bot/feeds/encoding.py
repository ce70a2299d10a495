"""Bytes to text, the way Korean newsrooms' servers actually label them.

Order of evidence: a byte-order mark, then the HTTP `charset`, then the XML
declaration, then `<meta charset>`. Labels are only claims: EUC-KR is read as CP949
(its superset, which holds syllables such as 똠 햏 뷁 that real feeds use); a body
that is valid UTF-8 with multibyte characters is UTF-8 whatever its label says,
because legacy-encoded Korean is practically never valid UTF-8 by accident; and a
Latin-1 label, the servers' default, is the weakest claim of all. With no usable
label: UTF-8, then CP949.
"""

from __future__ import annotations

import codecs
import re

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

#: Labels browsers and CMSes use for Korean, all read as CP949.
_KOREAN = frozenset(
    {
        "euc-kr",
        "euckr",
        "euc_kr",
        "ks_c_5601-1987",
        "ks_c_5601",
        "ksc5601",
        "ksc_5601",
        "korean",
        "cp949",
        "ms949",
        "uhc",
        "windows-949",
        "x-windows-949",
        "csksc56011987",
        "iso-ir-149",
    }
)
#: Latin-1 labels mean windows-1252 on the web (the WHATWG encoding standard).
_LATIN1 = frozenset({"iso-8859-1", "iso8859-1", "latin1", "latin-1", "us-ascii", "ascii"})

_HTTP_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.IGNORECASE)


def decode(body: bytes, content_type: str | None = None) -> str:
    """Return `body` as text, choosing the encoding from the evidence above.

    Never raises: bytes that fit no candidate are decoded as UTF-8 with U+FFFD for
    the broken sequences, which a reader sees as a gap, never as mojibake.
    """
    for bom, name in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(name, errors="replace")
    if body.isascii():
        return body.decode("ascii")
    if body[:2] in (b"<\x00", b"\x00<"):
        return body.decode("utf-16-le" if body[0] else "utf-16-be", errors="replace")
    return _decode_declared(body, declared_encodings(body, content_type))


def declared_encoding(body: bytes, content_type: str | None = None) -> str | None:
    """The codec the strongest evidence claims, normalized; None if none usable."""
    names = declared_encodings(body, content_type)
    return names[0] if names else None


def declared_encodings(body: bytes, content_type: str | None = None) -> list[str]:
    """Every usable codec the header and body claim, strongest evidence first.

    Windows-1252 goes last: it decodes any bytes, and servers send "iso-8859-1" as a
    default for documents that declare their real encoding inside.
    """
    names: list[str] = []
    for label in _labels(body, content_type):
        name = normalize_label(label)
        if name is not None and name not in names:
            names.append(name)
    names.sort(key=lambda name: name == "cp1252")
    return names


def normalize_label(label: str) -> str | None:
    """Map a charset label to the Python codec we read it with; None if unknown."""
    label = label.strip().lower()
    if label in _KOREAN:
        return "cp949"
    if label in _LATIN1:
        return "cp1252"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _labels(body: bytes, content_type: str | None) -> list[str]:
    labels: list[str] = []
    if content_type:
        match = _HTTP_CHARSET.search(content_type)
        if match:
            labels.append(match.group(1))
    head = body[:4096]
    for pattern in (_XML_DECL, _META):
        found = pattern.search(head)
        if found:
            labels.append(found.group(1).decode("ascii"))
    return labels


def _decode_declared(body: bytes, declared: list[str]) -> str:
    # The bytes win: non-ASCII text that is valid UTF-8 is UTF-8, whatever the label.
    text = _try(body, "utf-8")
    if text is not None:
        return text
    for name in declared:
        if name.startswith(("utf-16", "utf-32")):
            continue  # a body with `<` as a single byte was not written in UTF-16
        if name == "cp1252":
            korean = _korean(body)
            if korean is not None:
                return korean
        text = _try(body, name)
        if text is not None:
            return text
    text = _try(body, "cp949")
    if text is not None:
        return text
    # A few broken bytes: keep the best label and mark only the gaps.
    usable = [name for name in declared if not name.startswith(("utf-16", "utf-32"))]
    return body.decode(usable[0] if usable else "utf-8", errors="replace")


def _korean(body: bytes) -> str | None:
    """The body as CP949 if it reads as Korean text (Hangul, not symbol soup)."""
    text = _try(body, "cp949")
    if text is None:
        return None
    hangul = len(_HANGUL.findall(text))
    return text if hangul and hangul >= 0.9 * len(_NON_ASCII.findall(text)) else None


def _try(body: bytes, name: str) -> str | None:
    try:
        return body.decode(name)
    except UnicodeDecodeError:
        return None
