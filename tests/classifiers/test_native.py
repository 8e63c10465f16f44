"""The compiled engine modules (classifiers/native.py): the sources' findings, never stale."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from classifiers import native

ROOT = Path(__file__).resolve().parents[2]
EVAL = ROOT.parent / "shared" / "eval"  # the shared development sets, where they are beside us


def _dump(out: Path, cache: Path, pure: bool) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "PERIMETER_PURE_PYTHON"}
    if pure:
        env["PERIMETER_PURE_PYTHON"] = "1"
    subprocess.run(
        [sys.executable, str(ROOT / "tests/classifiers/native_dump.py"), str(out), str(cache)]
        + ([str(EVAL)] if EVAL.is_dir() else []),
        env=env,
        check=True,
        timeout=600,
    )
    return out.read_text().splitlines()


def test_compiled_modules_find_exactly_what_the_sources_find(tmp_path: Path) -> None:
    """Every finding, score, mask, fingerprint and trace, over the rule examples, 1,120
    look-alikes, 1 MB of mixed SaaS text with planted secrets and the shared dev sets."""
    if native.status() != "compiled":
        pytest.skip(f"compiled modules {native.status()}: `./dev native` builds them")
    (tmp_path / "compiled").mkdir()
    (tmp_path / "pure").mkdir()
    compiled = _dump(tmp_path / "compiled" / "out.jsonl", tmp_path / "cache", pure=False)
    pure = _dump(tmp_path / "pure" / "out.jsonl", tmp_path / "cache", pure=True)
    assert json.loads(compiled[0])["compiled"] is True
    assert json.loads(pure[0])["compiled"] is False
    assert json.loads(compiled[0])["texts"] > 3000
    assert sum('"detector"' in line for line in pure) > 1000  # texts with findings
    for line, (ours, theirs) in enumerate(zip(compiled, pure, strict=True)):
        if line:
            assert json.loads(ours) == json.loads(theirs), f"line {line}"


def test_a_build_is_used_only_while_it_matches_its_sources(tmp_path: Path) -> None:
    assert native.status(tmp_path) == "not built"
    manifest = tmp_path / "manifest.json"
    current = native._fingerprint()
    manifest.write_text(json.dumps(current))
    assert native.status(tmp_path) == "compiled"
    edited = json.loads(json.dumps(current))
    edited["sources"]["classifiers/engine.py"] = "0" * 64
    manifest.write_text(json.dumps(edited))
    assert native.status(tmp_path) == "stale"
    other_python = {**current, "ext_suffix": ".cpython-399-x86_64-linux-gnu.so"}
    manifest.write_text(json.dumps(other_python))
    assert native.status(tmp_path) == "stale"
    manifest.write_text("{not json")
    assert native.status(tmp_path) == "not built"


def test_pure_python_is_chosen_by_the_environment() -> None:
    code = "import classifiers.engine as e, classifiers.native as n; print(n.active(), e.__file__)"
    env = {**os.environ, "PERIMETER_PURE_PYTHON": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["False", str(ROOT / "classifiers" / "engine.py")]


def test_compiled_modules_call_cpythons_lower() -> None:
    """mypyc's ``str.lower`` misses the final-sigma rule; ``native.lower`` is CPython's."""
    assert native.lower("ΠΑΦΟΣ") == "παφος"
    for module in native.MODULES:
        tree = ast.parse((ROOT / module).read_text())
        calls = [
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("lower", "casefold")
        ]
        assert not calls, f"{module}: lines {calls} call .lower(); use classifiers.native.lower"
