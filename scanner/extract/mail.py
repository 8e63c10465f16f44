"""Email: .eml (RFC 5322/MIME) and .mbox; headers, text and HTML bodies, attachments recursed."""

from __future__ import annotations

from collections.abc import Iterator
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser

from scanner.extract.archive import nested
from scanner.extract.base import Chunk, Context, SegmentBuilder
from scanner.extract.markup import html_chunks
from scanner.extract.text import text_chunks

_HEADERS = ("From", "To", "Cc", "Bcc", "Reply-To", "Sender", "Subject", "Delivered-To")


def eml_chunks(data: bytes, ctx: Context) -> Iterator[Chunk]:
    msg = BytesParser(policy=policy.default).parsebytes(data)
    builder = SegmentBuilder()
    for header in _HEADERS:
        for value in msg.get_all(header) or []:
            builder.add(f"{header}: ", str(value), ctx.at(part="headers", field=header))
    yield from builder.finish()
    bodies = 0
    attachments = 0
    for part in msg.walk():
        ctx.tick()
        if part.is_multipart():
            continue
        ctx.count_member()
        filename = part.get_filename()
        ctype = part.get_content_type()
        if filename or part.get_content_disposition() == "attachment":
            attachments += 1
            name = filename or f"attachment-{attachments}"
            payload = _payload(part)
            if payload:
                yield from nested(payload, name, ctx.child(part=name))
        elif ctype in ("text/plain", "text/html"):
            bodies += 1
            label = "body" if bodies == 1 else f"body {bodies}"
            text = _text(part)
            inner = Context(ctx.budget, ctx.loc(part=label), ctx.depth)
            yield from (
                html_chunks(text, inner) if ctype == "text/html" else text_chunks(text, inner)
            )
        elif ctype == "message/rfc822":
            payload = _payload(part)
            if payload:
                yield from nested(payload, "message.eml", ctx.child(part="forwarded message"))


def _payload(part: Message) -> bytes:
    raw = part.get_payload(decode=True)
    return raw if isinstance(raw, bytes) else b""


def _text(part: Message) -> str:
    if isinstance(part, EmailMessage):
        try:
            content = part.get_content()
            if isinstance(content, str):
                return content
        except (LookupError, ValueError, AssertionError):
            pass  # an unknown or lying charset: fall back to the raw bytes below
    return _payload(part).decode("utf-8", errors="replace")


def mbox_chunks(data: bytes, ctx: Context) -> Iterator[Chunk]:
    """Messages split at ``From `` lines; each located by its 1-based record number."""
    for record, message in enumerate(_split_mbox(data), start=1):
        ctx.tick()
        inner = Context(ctx.budget, ctx.loc(record=record), ctx.depth)
        yield from eml_chunks(message, inner)


def _split_mbox(data: bytes) -> Iterator[bytes]:
    start = 0
    while start < len(data):
        end = data.find(b"\nFrom ", start + 1)
        end = len(data) if end < 0 else end + 1
        block = data[start:end]
        first, _, rest = block.partition(b"\n")
        if first.startswith(b"From "):
            block = rest
        if block.strip():
            yield block.replace(b"\n>From ", b"\nFrom ")
        start = end
