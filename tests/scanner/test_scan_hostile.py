"""A whole scan through the process pool and the store: hostile files end with reasons, and
findings inside containers keep their location all the way to the data map."""

from __future__ import annotations

import asyncio
from pathlib import Path

from data import docgen, hostile

from classifiers.classifier import ClassifierSettings
from connectors.local import LocalConfig, LocalConnector
from models import ScanStatus, Source
from scanner.sampling import SamplingOptions
from service.runner import run_scan
from service.store import Store

SSN = hostile.SSN


def test_hostile_corpus_scan_completes_with_a_reason_per_item(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    kinds = hostile.build(root)
    payroll = docgen.xlsx({"Sheet1": [["name", "ssn"], ["Ann", SSN]]})
    (root / "bundle.zip").write_bytes(docgen.zip_of({"hr/payroll.xlsx": payroll}))
    store = Store.open(tmp_path / "p.db")
    try:
        scan = asyncio.run(
            run_scan(
                store,
                LocalConnector(LocalConfig(root=root)),
                Source(kind="local", name="hostile", uri=root.as_uri()),
                ClassifierSettings(key=b"k" * 32),
                SamplingOptions(),
                workers=2,
            )
        )
        items = {Path(r["path"]).name: r for r in store.items(with_findings=True)}
    finally:
        store.close()
    assert scan.status is ScanStatus.COMPLETED
    for name, kind in kinds.items():
        item = items[name]
        if kind == "limited":
            assert item["status"] in ("partial", "skipped", "failed"), name
            assert item["error"], name
        else:
            assert item["status"] == "ok", (name, item["status"], item["error"])
    (ssn,) = [f for f in items["bundle.zip"]["findings"] if f["type"] == "US_SSN"]
    assert ssn["location"] == {
        "member": "hr/payroll.xlsx",
        "sheet": "Sheet1",
        "cell": "B2",
        "field": "ssn",
    }
