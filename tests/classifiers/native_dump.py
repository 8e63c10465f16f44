"""Classify a fixed corpus and write every finding, with its trace, as JSON lines.

Run by ``test_native.py`` once with the compiled modules and once with the sources
(``PERIMETER_PURE_PYTHON=1``): the two files must be the same byte for byte.

Usage: python tests/classifiers/native_dump.py OUT CACHE_DIR [EVAL_DIR]
"""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from lookalikes import generate as lookalikes  # noqa: E402
from secrets_speed import _chunks  # noqa: E402
from secrets_speed import generate as mixed_text  # noqa: E402

from classifiers import native  # noqa: E402
from classifiers.classifier import Classifier  # noqa: E402
from classifiers.engine import DetectorEngine  # noqa: E402
from classifiers.policy import Policy  # noqa: E402


def corpus(engine: DetectorEngine, scratch: Path, eval_dir: Path | None) -> list[str]:
    texts = [t for s in engine.specs for t in (*s.examples.positive, *s.examples.negative)]
    texts += [r["text"] for r in lookalikes(40, 7)]
    logs = scratch / "mixed.txt"
    mixed_text(logs, 1, 7)  # 1 MB of chat, JSON exports, code and logs with planted secrets
    texts += _chunks(logs.read_text())
    texts += ["", " ", "\u00e9" * 3, "Ünïcödé DOB 1987-04-12 ✓ ssn 536221234\r\n\t" * 40]
    for name in ("pii-dev.jsonl", "secrets-dev.jsonl"):
        path = eval_dir / name if eval_dir else None
        if path and path.exists():
            texts += [json.loads(x)["text"] for x in path.read_text().splitlines() if x.strip()]
    return texts


def main() -> None:
    out, cache = Path(sys.argv[1]), Path(sys.argv[2])
    eval_dir = Path(sys.argv[3]) if len(sys.argv) > 3 else None
    engine = DetectorEngine.builtin(cache_dir=cache)
    # As the scanner hands it to worker processes: pickled, built again on the other side.
    classifier = pickle.loads(pickle.dumps(Classifier(engine, Policy.load(), b"native-key" * 4)))
    texts = corpus(engine, out.parent, eval_dir)
    with out.open("w") as fh:
        fh.write(json.dumps({"compiled": native.active(), "texts": len(texts)}) + "\n")
        for start in range(0, len(texts), 200):
            batch = texts[start : start + 200]
            found_batch = classifier.findings_batch(batch, explain=True)
            for text, found in zip(batch, found_batch, strict=True):
                fh.write(json.dumps([text[:80], [f.model_dump(mode="json") for f in found]]))
                fh.write("\n")


if __name__ == "__main__":
    main()
