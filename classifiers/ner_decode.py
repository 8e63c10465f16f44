"""spaCy's greedy NER decoding, done over whole arrays instead of one transition at a time.

Why by hand: spaCy's parser loop (``transition_parser.pyx`` ``_parseC``) advances every
document of a batch one token per step and, at each step, takes and releases the GIL and calls
BLAS on matrices of a few dozen rows, and spends its time there rather than in arithmetic: on
pii-dev's 1,216 texts with a capitalised word, spaCy's pipe takes 1.04 s of CPU and this
decoder 0.51 s, with the same tokenizer and model (numpy BLAS), and the same entities (all 6,284
of those texts and of their windows, see ``classifiers.ner._windows``). No library decodes a
spaCy transition model otherwise, so this module does, with the same model and arithmetic.

What makes it cheap is the shape of the NER transition system (``_parser_internals/ner.pyx``):

- every move (Begin, In, Last, Unit, Out) consumes exactly one token, so the state at token ``t``
  is only "no entity open", or "an entity of label ``l`` open since token ``s``";
- with no entity open the model's features are (token ``t``, padding, padding)
  (``_state.pxd`` ``set_context_tokens`` with three features), which does not depend on what
  came before: the choice there is computed for all tokens at once, in one matrix product;
- with an entity open only In and Last of its label are valid, and the features are
  (``t``, ``s``, ``t - 1``): for entities of up to ``_PRECOMPUTED`` tokens so far these too are
  computed for all tokens at once; longer ones (rare) one token at a time.

A short Python walk then follows each document from one non-Out choice to the next. The
arithmetic is spaCy's, in its order: the three feature rows of the precomputed table are added
in feature order, then the bias; maxout takes the largest piece; the scores come from the same
BLIS ``sgemm`` spaCy's loop calls, plus the bias; the first best valid move wins ties. The
validity rules are those of ``ner.pyx`` for documents with no preset entities and no sentence
boundaries (Begin needs a next token and no whitespace token, Unit no whitespace token, Out no
open entity, In a next token and the open entity's label, Last the open entity's label).

``Decoder.supported`` is False for any model or pipeline not of that shape (other pipes before
``ner``, beam search, no upper layer, a feature count other than 3, maxout with fewer than 2
pieces, unseen classes, moves of a label without In and Last): ``entities`` then runs spaCy's
own ``nlp.pipe``, so an unexpected model is slower but never wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
from thinc.api import NumpyOps

# An entity open for this many tokens or fewer is scored from precomputed tables; longer ones
# are scored one token at a time (entities of more than four tokens are rare in text).
_PRECOMPUTED = 3
_BEGIN, _IN, _LAST, _UNIT, _OUT = 1, 2, 3, 4, 5  # spaCy's ner.pyx move numbers

Entity = tuple[int, int, str]  # start and end character offsets, label
# The scores are multiplied as spaCy's loop multiplies them, with BLIS, whatever ops the model
# was built with: other BLAS libraries sum in other orders, and a last-bit difference could
# turn a tie the other way.
_BLIS = NumpyOps(use_blis=True)


class Decoder:
    """The ``ner`` pipe of ``nlp``, decoded here when its model has the shape described above."""

    def __init__(self, nlp: Any) -> None:
        self.nlp = nlp
        self.ner = nlp.get_pipe("ner")
        self.supported = _supported(nlp, self.ner)
        if not self.supported:
            return
        model = self.ner.model
        self.tok2vec = model.get_ref("tok2vec")
        self.lower = model.get_ref("lower")
        upper = model.get_ref("upper")
        self.n_hidden = self.lower.get_dim("nO")
        self.n_pieces = self.lower.get_dim("nP")
        self.bias = np.ascontiguousarray(self.lower.get_param("b"), dtype="f").reshape(-1)
        self.upper_w = np.ascontiguousarray(upper.get_param("W"), dtype="f")
        self.upper_b = np.ascontiguousarray(upper.get_param("b"), dtype="f")
        self.kinds, self.labels = _moves(self.ner)
        kinds = np.array(self.kinds)
        self.out_class = self.kinds.index(_OUT)
        # Begin and Unit of no label ("U-") are only for preset entities, never valid here;
        # classes past the moves (the upper layer may have more outputs) are never valid.
        named = np.array([lab != "" for lab in self.labels])
        n_out = self.upper_w.shape[0]
        self.is_begin = np.zeros(n_out, dtype=bool)
        self.is_unit = np.zeros(n_out, dtype=bool)
        self.is_begin[: len(kinds)] = (kinds == _BEGIN) & named
        self.is_unit[: len(kinds)] = (kinds == _UNIT) & named
        # For each label an entity can have: its In and Last classes, in one order.
        self.entity_labels = sorted(
            {lab for lab, k in zip(self.labels, self.kinds, strict=True) if k == _BEGIN and lab}
        )
        self.label_index = {lab: i for i, lab in enumerate(self.entity_labels)}
        pairs = list(enumerate(zip(self.labels, self.kinds, strict=True)))
        in_of = {lab: i for i, (lab, k) in pairs if k == _IN}
        last_of = {lab: i for i, (lab, k) in pairs if k == _LAST}
        self.in_classes = np.array([in_of[lab] for lab in self.entity_labels], dtype="i")
        self.last_classes = np.array([last_of[lab] for lab in self.entity_labels], dtype="i")
        # The first best valid move wins (spaCy's arg_max_if_valid): In on a tie if it comes first.
        self.in_first = self.in_classes < self.last_classes

    def entities(self, texts: Iterable[str], batch_chars: int) -> Iterator[list[Entity]]:
        """The entities of each text, as spaCy's ``nlp.pipe(texts)`` would find them.

        Texts are decoded in batches of about ``batch_chars`` characters (one text at least).
        """
        if not self.supported:
            for doc in self.nlp.pipe(texts):
                yield [(e.start_char, e.end_char, e.label_) for e in doc.ents]
            return
        docs: list[Any] = []
        size = 0
        for text in texts:
            if docs and size + len(text) > batch_chars:
                yield from self._batch(docs)
                docs, size = [], 0
            docs.append(self.nlp.make_doc(text))
            size += len(text)
        if docs:
            yield from self._batch(docs)

    def _batch(self, docs: list[Any]) -> Iterator[list[Entity]]:
        from spacy.attrs import IS_SPACE

        lengths = [len(doc) for doc in docs]
        n = sum(lengths)
        if n == 0:
            yield from ([] for _ in docs)
            return
        tokvecs = self.tok2vec.predict(docs)
        # (tokens + 1, features, hidden * pieces); row 0 is the padding of each feature.
        table = self.lower.predict(tokvecs).reshape(n + 1, 3, -1)
        space = np.concatenate([doc.to_array(IS_SPACE) for doc in docs if len(doc)]).astype(bool)
        ends = np.cumsum(lengths)
        last = np.zeros(n, dtype=bool)
        last[ends[np.array(lengths) > 0] - 1] = True
        # No entity open: features (t, padding, padding).
        scores = self._scores(table[1:, 0] + table[0, 1] + table[0, 2])
        can_begin = ~space & ~last
        valid = (self.is_begin & can_begin[:, None]) | (self.is_unit & ~space[:, None])
        valid[:, self.out_class] = True
        closed = np.where(valid, scores, -np.inf).argmax(axis=1)
        events = np.where(closed != self.out_class, np.arange(n), n)
        following = [*np.minimum.accumulate(events[::-1])[::-1].tolist(), n]
        # An entity open since d tokens: features (t, t - d, t - 1), for d = 1.._PRECOMPUTED,
        # scored where a Begin was chosen d tokens before (rows past a document's end unread).
        begun = np.flatnonzero(self.is_begin[closed])
        choose_in = []
        for d in range(1, _PRECOMPUTED + 1):
            tokens = begun[begun + d < n] + d
            choice = np.zeros((n, len(self.entity_labels)), dtype=bool)
            if len(tokens):
                rows = tokens + 1
                unmaxed = table[rows, 0] + table[rows - d, 1] + table[rows - 1, 2]
                choice[tokens] = self._prefers_in(self._scores(unmaxed))
            choose_in.append(choice)
        closed_list = closed.tolist()
        start = 0
        for doc, length in zip(docs, lengths, strict=True):
            end = start + length
            found: list[Entity] = []
            t = following[start]
            while t < end:
                move = closed_list[t]
                label = self.labels[move]
                if self.kinds[move] == _UNIT:
                    span = doc[t - start : t + 1 - start]
                    found.append((span.start_char, span.end_char, label))
                    t = following[t + 1]
                    continue
                first, k = t, self.label_index[label]  # Begin
                t += 1
                while t < end - 1:  # In needs a next token: on the last one, Last it is
                    d = t - first
                    if d <= _PRECOMPUTED:
                        stays = bool(choose_in[d - 1][t, k])
                    else:
                        stays = bool(self._open_prefers_in(table, t + 1, first + 1)[k])
                    if not stays:
                        break
                    t += 1
                span = doc[first - start : t + 1 - start]
                found.append((span.start_char, span.end_char, label))
                t = following[t + 1]
            yield found
            start = end

    def _scores(self, unmaxed: Any) -> Any:
        """Maxout, then the upper layer: (rows, hidden * pieces) -> (rows, classes)."""
        unmaxed += self.bias
        pieces = unmaxed.reshape(-1, self.n_hidden, self.n_pieces)
        # The largest piece, as .max(axis=2) but much faster on so short an axis.
        hidden = pieces[:, :, 0].copy()
        for p in range(1, self.n_pieces):
            np.maximum(hidden, pieces[:, :, p], out=hidden)
        out = _BLIS.gemm(hidden, self.upper_w, trans2=True)
        out += self.upper_b
        return out

    def _prefers_in(self, scores: Any) -> Any:
        """(rows, labels): In rather than Last, for an entity of each label."""
        s_in, s_last = scores[:, self.in_classes], scores[:, self.last_classes]
        return (s_in > s_last) | ((s_in == s_last) & self.in_first)

    def _open_prefers_in(self, table: Any, row: int, first: int) -> Any:
        unmaxed = (table[row, 0] + table[first, 1] + table[row - 1, 2])[None, :]
        return self._prefers_in(self._scores(unmaxed))[0]


def _supported(nlp: Any, ner: Any) -> bool:
    """The model is the one this decoder knows (see the module docstring); else spaCy decodes."""
    from spacy.pipeline._parser_internals.ner import BiluoPushDown

    model = ner.model
    if nlp.pipe_names != ["ner"] or ner.cfg.get("beam_width", 1) != 1 or ner.postprocesses:
        return False
    if not isinstance(ner.moves, BiluoPushDown) or not isinstance(model.ops, NumpyOps):
        return False
    if not model.attrs.get("has_upper") or model.attrs.get("unseen_classes"):
        return False
    if not all(model.has_ref(r) for r in ("tok2vec", "lower", "upper")):
        return False
    lower = model.get_ref("lower")
    if lower.name != "precomputable_affine" or lower.get_dim("nF") != 3 or lower.get_dim("nP") < 2:
        return False
    if model.get_ref("upper").get_dim("nO") < ner.moves.n_moves:
        return False
    kinds, labels = _moves(ner)
    by_kind: dict[int, set[str]] = {}
    for kind, label in zip(kinds, labels, strict=True):
        by_kind.setdefault(kind, set()).add(label)
    begins = by_kind.get(_BEGIN, set()) - {""}
    return (
        _OUT in by_kind
        and begins <= by_kind.get(_IN, set())
        and begins <= by_kind.get(_LAST, set())
    )


def _moves(ner: Any) -> tuple[list[int], list[str]]:
    """Each class's move (ner.pyx's numbering) and label, from its name ("B-ORG", "O")."""
    from spacy.pipeline._parser_internals.ner import MOVE_NAMES

    names = [ner.moves.get_class_name(i) for i in range(ner.moves.n_moves)]
    kinds = [MOVE_NAMES.index(name.partition("-")[0]) for name in names]
    return kinds, [name.partition("-")[2] for name in names]
