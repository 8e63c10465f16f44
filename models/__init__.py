"""Domain types shared by every layer. Pure data: no I/O, no imports from other project folders."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Exposure(StrEnum):
    """Who can reach an item, from narrowest to widest."""

    PRIVATE = "private"
    INTERNAL = "internal"
    EXTERNAL = "external"
    PUBLIC = "public"


class Level(StrEnum):
    """Sensitivity level of an item, from lowest to highest."""

    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"

    @property
    def rank(self) -> int:
        return _LEVEL_RANK[self]


_LEVEL_RANK = {Level.PUBLIC: 0, Level.INTERNAL: 1, Level.CONFIDENTIAL: 2, Level.RESTRICTED: 3}


class Category(StrEnum):
    PII = "pii"
    SECRET = "secret"


class Likelihood(StrEnum):
    """How likely a finding is what its type says (the scale of Google Cloud DLP)."""

    VERY_UNLIKELY = "VERY_UNLIKELY"
    UNLIKELY = "UNLIKELY"
    POSSIBLE = "POSSIBLE"
    LIKELY = "LIKELY"
    VERY_LIKELY = "VERY_LIKELY"


class ItemStatus(StrEnum):
    """Outcome of scanning one item."""

    OK = "ok"
    PARTIAL = "partial"  # read or parsed only in part (byte cap, limit hit); reason in `error`
    SKIPPED = "skipped"  # deliberately not read (unsupported type, empty); reason in `error`
    FAILED = "failed"  # could not be read or parsed; message in `error`


class ScanStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Model):
    """A system Perimeter scans: its connector kind, a name, and the connector settings."""

    kind: str
    name: str
    uri: str
    settings: dict[str, Any] = Field(default_factory=dict)


class Asset(_Model):
    """A container of items: a directory, a bucket, a channel, a drive, a table."""

    uri: str
    name: str
    kind: str
    exposure: Exposure = Exposure.PRIVATE
    owner: str | None = None


class Item(_Model):
    """One unit of content: a file, an object, a message, a row batch."""

    uri: str
    container: str
    path: str
    size: int | None = None
    content_type: str | None = None
    created: datetime | None = None
    modified: datetime | None = None
    owner: str | None = None
    exposure: Exposure = Exposure.PRIVATE
    etag: str | None = None
    version: str | None = None
    web_url: str | None = None  # where a person opens it (SaaS sources); never carries a token


class Location(_Model):
    """Where in an item a finding is. Only the fields that apply to the format are set."""

    line: int | None = None  # 1-based line in a text file
    column: int | None = None  # 1-based character column in that line
    row: int | None = None  # 1-based data row of a table (header excluded)
    field: str | None = None  # column name (from the header) or 1-based column index
    json_path: str | None = None  # JSONPath of the value, e.g. $.users[3].email
    record: int | None = None  # 1-based record number in JSON Lines
    member: str | None = None  # path inside an archive; nested ones joined by "!/": a.zip!/b.csv
    part: str | None = None  # email part: "headers", "body", or an attachment's file name
    page: int | None = None  # 1-based page of a PDF, slide of a presentation
    sheet: str | None = None  # worksheet name of a spreadsheet
    cell: str | None = None  # A1-style cell reference in that sheet
    section: str | None = None  # part of a document: body, table, header, footer, comments, notes
    paragraph: int | None = None  # 1-based paragraph within that section

    def describe(self) -> str:
        # The container path reads like the issue's `bundle.zip!/hr/payroll.xlsx!Sheet1!C7`.
        address = "".join(
            f"!{p}"
            for p in (f"/{self.member}" if self.member else None, self.sheet, self.cell)
            if p
        )
        parts: list[str] = [address] if address else []
        if self.part is not None:
            parts.append(f"part {self.part}")
        if self.page is not None:
            parts.append(f"page {self.page}")
        if self.section is not None:
            parts.append(self.section)
        if self.paragraph is not None:
            parts.append(f"paragraph {self.paragraph}")
        if self.record is not None:
            parts.append(f"record {self.record}")
        if self.json_path is not None:
            parts.append(self.json_path)
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.field is not None:
            parts.append(f"column {self.field}")
        if self.line is not None:
            parts.append(f"line {self.line}" + (f":{self.column}" if self.column else ""))
        return ", ".join(parts)


class Finding(_Model):
    """One detected value. Never carries the raw value: only masked evidence and a keyed hash."""

    type: str
    category: Category
    score: float = Field(ge=0.0, le=1.0)
    detector: str
    evidence: str
    fingerprint: str
    location: Location = Field(default_factory=Location)
    start: int | None = None  # offset in the text handed to the classifier
    end: int | None = None
    likelihood: Likelihood | None = None  # the score on the Cloud DLP scale
    trace: dict[str, Any] | None = None  # decision trace, only when asked (classify --explain)


class Reason(_Model):
    """Why a classification was reached: the policy rule and the findings that triggered it."""

    rule: str
    level: Level
    description: str
    types: list[str] = Field(default_factory=list)
    count: int = 0


class Classification(_Model):
    level: Level
    reasons: list[Reason] = Field(default_factory=list)


class ItemResult(_Model):
    """What the scanner learnt about one item."""

    item: Item
    status: ItemStatus
    error: str | None = None
    bytes_read: int = 0
    findings: list[Finding] = Field(default_factory=list)
    classification: Classification


class ScanCounters(BaseModel):
    """Progress of a scan; mutable, updated as items complete."""

    items_seen: int = 0
    items_sampled: int = 0
    items_scanned: int = 0
    items_partial: int = 0
    items_skipped: int = 0
    items_failed: int = 0
    bytes_read: int = 0
    findings: int = 0


class Scan(_Model):
    id: str
    source: str
    target: str
    status: ScanStatus
    started: datetime
    finished: datetime | None = None
    counters: ScanCounters = Field(default_factory=ScanCounters)
    error: str | None = None


__all__ = [
    "Asset",
    "Category",
    "Classification",
    "Exposure",
    "Finding",
    "Item",
    "ItemResult",
    "ItemStatus",
    "Level",
    "Location",
    "Reason",
    "Scan",
    "ScanCounters",
    "ScanStatus",
    "Source",
]
