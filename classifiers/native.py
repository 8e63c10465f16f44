"""The engine's hot modules compiled to C with mypyc, used only while they match their sources.

Classifying short texts is a few hundred Python steps per text around the RE2 and Hyperscan
calls (candidate checks, span searches, the address grammar, findings); mypyc compiles the
same type-annotated modules to C extensions, which run those steps in about three quarters of
the CPU time with the same results (tests/classifiers/test_native.py compares the two). No
library does this part for us: the work is our own code, so the tool that compiles our own
code (mypyc, part of mypy, as black and mypy itself ship) is the one that fits.

The compiled modules are built into ``_native/`` beside this file (``./dev native``; ``./dev
test`` does it when the sources changed), with a manifest of the SHA-256 of every source they
came from. ``activate`` puts them ahead of the
sources on the packages' search path only when every hash still matches and they were built
for this interpreter: an edited source is never shadowed by an old build, the pure-Python
modules run instead. They are all or nothing: the compiled modules call each other's classes
and functions directly.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent
TARGET = PACKAGE / "_native"
GROUP = "classifiers._compiled"  # the shared library: classifiers/_compiled__mypyc.*.so

# The modules on the classifying path that spend their time in Python steps. phones.py
# subclasses libphonenumber's matcher inside a function (mypyc compiles no nested class);
# ner.py spends its time in spaCy's and NumPy's code.
MODULES = (
    "classifiers/address.py",
    "classifiers/classifier.py",
    "classifiers/engine.py",
    "classifiers/masking.py",
    "classifiers/multiscan.py",
    "classifiers/validators/pii.py",
    "classifiers/validators/pii_ids.py",
    "classifiers/validators/secrets.py",
)


def _fingerprint() -> dict[str, Any]:
    """What a build must match: this interpreter's extension tag and every source's hash."""
    return {
        "ext_suffix": sysconfig.get_config_var("EXT_SUFFIX"),
        "sources": {m: hashlib.sha256((ROOT / m).read_bytes()).hexdigest() for m in MODULES},
    }


def status(target: Path = TARGET) -> str:
    """``compiled``, or why the pure-Python modules run: ``not built`` or ``stale``."""
    try:
        built = json.loads((target / "manifest.json").read_text())
    except (OSError, ValueError):
        return "not built"
    return "compiled" if built == _fingerprint() else "stale"


# CPython's ``str.lower``, for the compiled modules to call instead of ``.lower()``: mypyc's own
# lower (before Python 3.13) maps each character alone and so misses Unicode's final-sigma rule
# ("ΠΑΦΟΣ" -> "παφοσ", where CPython gives "παφος"), which changed fingerprints of Greek
# values. Called through this name, it is CPython's method (the test suite checks both alike).
lower = str.lower

_active = False


def _sources_forced() -> bool:
    return os.environ.get("PERIMETER_PURE_PYTHON") == "1"


def activate(package_path: list[str], package: str) -> None:
    """Put the compiled modules of ``package`` ahead of its sources, if they are current.

    Called by ``classifiers/__init__.py`` and ``classifiers/validators/__init__.py`` before
    any of their modules is imported; ``PERIMETER_PURE_PYTHON=1`` keeps the sources.
    """
    global _active
    if package == "classifiers":
        _active = not _sources_forced() and status() == "compiled"
    if _active:
        folder = TARGET.joinpath(*package.split("."))
        if str(folder) not in package_path:
            package_path.insert(0, str(folder))


def active() -> bool:
    """Whether this process classifies with the compiled modules."""
    return _active


def describe() -> str:
    """Which modules this process runs, for benchmark headers."""
    if _active:
        return "compiled"
    if _sources_forced():
        return "pure Python (PERIMETER_PURE_PYTHON=1)"
    return f"pure Python ({status()})"


def build(target: Path = TARGET, jobs: int = 2) -> None:
    """Compile ``MODULES`` with mypyc into ``target`` (replaced as a whole once built)."""
    from mypyc.build import mypycify  # the dev extra: mypy
    from setuptools import Distribution

    fingerprint = _fingerprint()  # the sources as they are now, before the minute of building
    with tempfile.TemporaryDirectory(prefix="perimeter-native-") as tmp:
        work, stage = Path(tmp), Path(tmp) / "stage"
        cwd = Path.cwd()
        os.chdir(ROOT)  # mypyc names modules by their paths from here
        try:
            # Our own settings, not the project's strict ones: the build needs the types,
            # and the third-party packages without stubs are typed Any, as mypy's check has it.
            config = work / "mypy.ini"
            config.write_text("[mypy]\nignore_missing_imports = True\n")
            # mypyc prints notes on constructs it handles its own way (a generator passed to
            # a call becomes a list, all consumed here): kept for an error message only.
            notes = io.StringIO()
            options = ["--config-file", str(config), "--cache-dir", str(work / "cache")]
            try:
                with contextlib.redirect_stdout(notes):
                    extensions = mypycify(
                        [*options, *MODULES],
                        opt_level="3",
                        group_name=GROUP,
                        target_dir=str(work / "c"),
                    )
            except SystemExit as exc:  # mypyc exits on a type error
                raise RuntimeError(f"mypyc: {notes.getvalue().strip()}") from exc
            dist = Distribution({"ext_modules": extensions, "script_name": "native"})
            dist.script_args = [
                "-q",
                "build_ext",
                "--build-lib",
                str(stage),
                "--build-temp",
                str(work / "o"),
                "--parallel",
                str(jobs),
            ]
            dist.parse_command_line()
            dist.run_commands()
        finally:
            os.chdir(cwd)
        (stage / "manifest.json").write_text(json.dumps(fingerprint, indent=1) + "\n")
        old = target.with_name(target.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if target.exists():
            target.rename(old)
        shutil.move(str(stage), target)
        shutil.rmtree(old, ignore_errors=True)


def main(argv: list[str]) -> int:
    usage = "usage: ./dev native [--if-stale | status]"
    if argv == ["status"]:
        print(status())
        return 0
    if set(argv) - {"--if-stale"}:
        print(usage, file=sys.stderr)
        return 2
    if "--if-stale" in argv and status() == "compiled":
        return 0
    try:
        build()
    except Exception as exc:  # no mypy, no C compiler, a compile error: the engine still runs
        kept = "an earlier build stays in use" if status() == "compiled" else "the sources run"
        print(f"native build failed ({exc}); {kept}", file=sys.stderr)
        return 1
    print(f"compiled {len(MODULES)} modules into {TARGET}")
    return 0
