"""XML and HTML: text and attribute values, with no entity expansion and no external fetches."""

from __future__ import annotations

import io
from collections.abc import Iterator
from html.parser import HTMLParser
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from models.errors import ExtractionError
from scanner.extract.base import Chunk, Context, SegmentBuilder

# Attribute values worth reading: the rest (ids, styles, namespaces) is markup, not content.
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template"})


def local(tag: str) -> str:
    """An element name without its namespace: ``{uri}t`` -> ``t``."""
    return tag.rsplit("}", 1)[-1]


def xml_chunks(data: bytes, ctx: Context) -> Iterator[Chunk]:
    """Leaf text, tails and attribute values, each located by its element path."""
    builder = SegmentBuilder()
    stack: list[str] = []
    try:
        events = iterparse(io.BytesIO(data), events=("start", "end"), forbid_dtd=False)
        for n, (event, elem) in enumerate(events):
            if n % 1000 == 0:
                ctx.tick()
            name = local(elem.tag) if isinstance(elem.tag, str) else "?"
            if event == "start":
                stack.append(name)
                path = "/" + "/".join(stack)
                for key, value in elem.attrib.items():
                    if value.strip():
                        builder.add(f"{local(key)}: ", value, ctx.at(field=f"{path}/@{local(key)}"))
                continue
            path = "/" + "/".join(stack)
            if elem.text and elem.text.strip():
                builder.add(f"{name}: ", elem.text.strip(), ctx.at(field=path))
            stack.pop()
            if elem.tail and elem.tail.strip():
                builder.add("", elem.tail.strip(), ctx.at(field="/" + "/".join(stack)))
            elem.clear()  # keep memory flat on big documents
            yield from builder.drain()
    except DefusedXmlException as exc:
        raise ExtractionError(
            f"XML refused: {type(exc).__name__} (entities are not expanded)"
        ) from exc
    except ParseError as exc:
        raise ExtractionError(f"malformed XML: {exc}") from exc
    yield from builder.finish()


class _HtmlText(HTMLParser):
    def __init__(self, ctx: Context, builder: SegmentBuilder) -> None:
        super().__init__(convert_charrefs=True)
        self.ctx, self.builder, self.skip = ctx, builder, 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skip += 1
        for key, value in attrs:
            if key in ("href", "title", "alt", "value", "content", "placeholder") and value:
                line, _ = self.getpos()
                self.builder.add(f"{key}: ", value, self.ctx.at(line=line))

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS and self.skip:
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip and data.strip():
            line, _ = self.getpos()
            self.builder.add("", data.strip(), self.ctx.at(line=line))


def html_chunks(text: str, ctx: Context) -> Iterator[Chunk]:
    """Visible text and a few content-bearing attributes, located by source line."""
    builder = SegmentBuilder()
    parser = _HtmlText(ctx, builder)
    step = 64 * 1024
    for start in range(0, len(text), step):
        ctx.tick()
        parser.feed(text[start : start + step])
        yield from builder.drain()
    parser.close()
    yield from builder.finish()
