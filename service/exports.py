"""Findings as JSON Lines, CSV, OCSF Data Security Finding (class 2006) and SARIF 2.1.0.

All exporters are generators over the store, so an export of millions of findings streams in
constant memory. None of them ever holds a raw value: they see masked evidence only.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

PRODUCT = {"name": "Perimeter", "vendor_name": "Perimeter project", "uid": "perimeter"}
OCSF_VERSION = "1.8.0"

CSV_COLUMNS = (
    "id",
    "source",
    "item_uri",
    "container",
    "level",
    "exposure",
    "type",
    "category",
    "score",
    "detector",
    "evidence",
    "location",
    "fingerprint",
    "scanned_at",
)


def jsonl(findings: Iterable[dict[str, Any]]) -> Iterator[str]:
    for f in findings:
        yield json.dumps(f) + "\n"


def csv_rows(findings: Iterable[dict[str, Any]]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for f in findings:
        writer.writerow([json.dumps(f[c]) if c == "location" else f.get(c) for c in CSV_COLUMNS])
        if buf.tell() > 64 * 1024:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


# --- OCSF -----------------------------------------------------------------------------------

_GOVERNMENT = {"US_SSN", "US_PASSPORT", "US_DRIVER_LICENSE", "US_ITIN", "UK_NINO", "UK_NHS"}
_FINANCIAL = {"CREDIT_CARD", "IBAN_CODE", "US_BANK_NUMBER", "ABA_ROUTING_NUMBER", "CRYPTO"}
# OCSF data_security.category_id: 1 Personal, 2 Governmental, 3 Financial, 6 Security.
_CATEGORY = {1: "Personal", 2: "Governmental", 3: "Financial", 6: "Security"}
# Our levels on OCSF confidentiality_id (no "internal" there: Other, with our caption).
_CONFIDENTIALITY = {
    "public": (1, "Not Confidential"),
    "internal": (99, "Internal"),
    "confidential": (2, "Confidential"),
    "restricted": (6, "Restricted"),
}
_SEVERITY = {
    "public": (1, "Informational"),
    "internal": (2, "Low"),
    "confidential": (3, "Medium"),
    "restricted": (4, "High"),
}


def _category(finding: dict[str, Any]) -> int:
    if finding["category"] == "secret":
        return 6
    if finding["type"] in _GOVERNMENT:
        return 2
    if finding["type"] in _FINANCIAL:
        return 3
    return 1


def _ms(iso: str | None) -> int | None:
    if not iso:
        return None
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def _occurrence(location: dict[str, Any]) -> dict[str, Any]:
    occ: dict[str, Any] = {}
    if "line" in location:
        occ["start_line"] = occ["end_line"] = location["line"]
    if "row" in location:
        occ["row_number"] = location["row"]
    if "field" in location:
        occ["column_name"] = str(location["field"])
    if "json_path" in location:
        occ["json_path"] = location["json_path"]
    if "record" in location:
        occ["record_index_in_array"] = location["record"] - 1
    if "page" in location:
        occ["page_number"] = location["page"]
    if "cell" in location:
        occ["cell_name"] = str(location["cell"])
    return occ


def ocsf_event(item: dict[str, Any], findings: list[dict[str, Any]]) -> dict[str, Any]:
    """One Data Security Finding per item: its level, and every finding grouped by type."""
    level = item["level"]
    conf_id, conf = _CONFIDENTIALITY[level]
    sev_id, sev = _SEVERITY[level]
    if level == "restricted" and item.get("exposure") == "public":
        sev_id, sev = 5, "Critical"
    top = max(findings, key=lambda f: (f["category"] == "secret", f["score"]))
    cat_id = _category(top)
    score = max(f["score"] for f in findings)
    conf_level = (3, "High") if score >= 0.85 else (2, "Medium") if score >= 0.6 else (1, "Low")
    by_type: dict[str, list[dict[str, Any]]] = {}
    for f in findings:
        by_type.setdefault(f["type"], []).append(f)
    counts = Counter(f["type"] for f in findings)
    scanned = _ms(item.get("scanned_at")) or int(datetime.now(UTC).timestamp() * 1000)
    uri = item["item_uri"]
    parts = urlsplit(uri)
    name = PurePosixPath(parts.path).name or uri
    types_text = ", ".join(f"{t} x{n}" for t, n in counts.most_common())
    event: dict[str, Any] = {
        "activity_id": 1,
        "activity_name": "Create",
        "category_uid": 2,
        "category_name": "Findings",
        "class_uid": 2006,
        "class_name": "Data Security Finding",
        "type_uid": 200601,
        "type_name": "Data Security Finding: Create",
        "severity_id": sev_id,
        "severity": sev,
        "status_id": 1,
        "status": "New",
        "time": scanned,
        "message": f"{level.capitalize()} data in {uri}: {types_text}",
        "confidence_id": conf_level[0],
        "confidence": conf_level[1],
        "confidence_score": round(score * 100),
        "metadata": {
            "version": OCSF_VERSION,
            "product": PRODUCT,
            "uid": f"perimeter-{item['item_id']}-{item['scan_id']}",
            "logged_time": scanned,
        },
        "finding_info": {
            "uid": f"perimeter-item-{item['item_id']}",
            "title": f"{level.capitalize()} data found in {name}",
            "desc": f"{len(findings)} finding(s): {types_text}.",
            "types": ["Sensitive Data Exposure"],
            "last_seen_time": scanned,
            "data_sources": [f"{item['source_kind']} scan: {item['source']}"],
        },
        "data_security": {
            "category_id": cat_id,
            "category": _CATEGORY[cat_id],
            "confidentiality_id": conf_id,
            "confidentiality": conf,
            "data_lifecycle_state_id": 1,
            "data_lifecycle_state": "Data at-Rest",
            "detection_system_id": 4,
            "detection_system": "Data Discovery & Classification",
            "pattern_match": top["evidence"],
            "classifier_details": {"type": "Regex", "name": top["type"], "uid": top["detector"]},
            "status_id": 1,
            "status": "Complete",
            "total": len(findings),
            "discovery_details": [
                {
                    "type": data_type,
                    "count": len(group),
                    "occurrences": [o for f in group if (o := _occurrence(f["location"]))] or None,
                }
                for data_type, group in by_type.items()
            ],
        },
        "resources": [
            {
                "uid": uri,
                "name": item.get("path") or name,
                "type": item["source_kind"],
                "role_id": 1,
                "role": "Target",
            }
        ],
        "unmapped": {
            "perimeter": {
                "level": level,
                "exposure": item.get("exposure"),
                "source": item["source"],
            }
        },
    }
    for detail in event["data_security"]["discovery_details"]:
        if detail["occurrences"] is None:
            del detail["occurrences"]
    file_obj: dict[str, Any] = {
        "name": name,
        "type_id": 1,
        "type": "Regular File",
        "uri": uri,
        "path": item.get("path") or name,
    }
    if item.get("size") is not None:
        file_obj["size"] = item["size"]
    if item.get("content_type"):
        file_obj["mime_type"] = item["content_type"]
    if item.get("modified"):
        file_obj["modified_time"] = _ms(item["modified"])
    event["file"] = file_obj
    if item["source_kind"] == "s3":
        bucket = parts.netloc
        event["databucket"] = {
            "type_id": 1,
            "type": "S3",
            "name": bucket,
            "uid": f"s3://{bucket}",
            "is_public": item.get("exposure") == "public",
        }
    return event


def ocsf(groups: Iterable[tuple[dict[str, Any], list[dict[str, Any]]]]) -> Iterator[str]:
    for item, findings in groups:
        yield json.dumps(ocsf_event(item, findings)) + "\n"


# --- SARIF ----------------------------------------------------------------------------------


def sarif(findings: Iterable[dict[str, Any]]) -> Iterator[str]:
    """SARIF 2.1.0: one result per finding, a rule per detector, line/column where known.

    Streamed: results are written as they come and the tool (with its rules) after them; JSON
    object members have no order, so the document is the same as one built in memory.
    """
    rules: dict[str, dict[str, Any]] = {}
    yield '{"version": "2.1.0", "$schema": "https://json.schemastore.org/sarif-2.1.0.json", '
    yield '"runs": [{"results": ['
    first = True
    for f in findings:
        rules.setdefault(
            f["detector"],
            {
                "id": f["detector"],
                "name": f["type"],
                "shortDescription": {"text": f"{f['type']} ({f['category']})"},
            },
        )
        region: dict[str, Any] = {}
        if "line" in f["location"]:
            region["startLine"] = f["location"]["line"]
            if "column" in f["location"]:
                region["startColumn"] = f["location"]["column"]
        physical: dict[str, Any] = {"artifactLocation": {"uri": f["item_uri"]}}
        if region:
            physical["region"] = region
        result = {
            "ruleId": f["detector"],
            "level": "error" if f["level"] == "restricted" else "warning",
            "message": {"text": f"{f['type']} found: {f['evidence']}"},
            "locations": [{"physicalLocation": physical}],
            "partialFingerprints": {"perimeter/v1": f["fingerprint"]},
            "properties": {"category": f["category"], "score": f["score"]},
        }
        yield ("" if first else ", ") + json.dumps(result)
        first = False
    tool = {"driver": {"name": "Perimeter", "rules": list(rules.values())}}
    yield f'], "tool": {json.dumps(tool)}}}]}}\n'
