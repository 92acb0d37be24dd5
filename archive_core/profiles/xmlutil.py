"""Small helpers for reading metadata elements from parsed (trusted-parser) XML trees."""

from __future__ import annotations

from collections.abc import Iterable

from lxml import etree


def local_name(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return etree.QName(element).localname
    return tag.rpartition("}")[2]


def element_text(element: etree._Element) -> str | None:
    """The element's text without surrounding white space; None when empty."""
    leaf = len(element) == 0
    text = (element.text or "") if leaf else "".join(t for t in element.itertext() if isinstance(t, str))
    text = text.strip(" \t\r\n")
    return text or None


def field_children(root: etree._Element) -> Iterable[etree._Element]:
    """Child elements (comments and processing instructions skipped)."""
    return (child for child in root if isinstance(child.tag, str))


def tagged_children(root: etree._Element) -> list[tuple[str, etree._Element]]:
    """(local name, element) of each child element, comments and PIs skipped."""
    children = []
    for child in root:
        tag = child.tag
        if isinstance(tag, str):
            children.append((tag.rpartition("}")[2], child))
    return children
