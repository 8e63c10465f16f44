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

The tokens' vectors (the model's ``tok2vec``) are computed by ``_Embed``: thinc's layers, the
same products and arithmetic, without thinc's bookkeeping, once its vectors have matched thinc's
bit for bit when the model is loaded.

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
# What the decoder reads of each token besides the model's features: whether it is whitespace
# (no entity starts there) and its character offset and length.
_TOKEN_ATTRS = ("IS_SPACE", "IDX", "LENGTH")
# The layers of the small English model's token embedding, in depth-first order (see _Embed).
_EMBED_LAYERS = (
    "extract_features", "list2ragged", *("ints-getitem", "hashembed") * 4,
    "maxout", "layernorm", "dropout", "ragged2list",
    *("expand_window", "maxout", "layernorm", "dropout") * 4, "list2array", "linear",
)  # fmt: skip


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
        self.embed = _Embed.of(self.tok2vec)
        if self.embed is not None and not self.embed.permutes_exactly():
            # This BLAS gives other bits for the reordered weights (numpy's OpenBLAS on AMD
            # EPYC, seen): the maxouts keep thinc's weights and take the pieces strided.
            self.embed.keep_thinc_order()
        if self.embed is not None and not self.embed.agrees(nlp, self.tok2vec):
            self.embed = None
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
        lengths = [len(doc) for doc in docs]
        n = sum(lengths)
        if n == 0:
            yield from ([] for _ in docs)
            return
        if self.embed is not None:
            tokvecs, attrs = self.embed.predict(docs, lengths)
        else:
            tokvecs = self.tok2vec.predict(docs)
            attrs = np.concatenate([doc.to_array(_TOKEN_ATTRS) for doc in docs])
        # Each token's character offsets in its document (Span.start_char and end_char).
        token_starts = attrs[:, 1].tolist()
        token_ends = (attrs[:, 1] + attrs[:, 2]).tolist()
        space = attrs[:, 0].astype(bool)
        # (tokens + 1, features, hidden * pieces); row 0 is the padding of each feature.
        table = self.lower.predict(tokvecs).reshape(n + 1, 3, -1)
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
        for length in lengths:
            end = start + length
            found: list[Entity] = []
            t = following[start]
            while t < end:
                move = closed_list[t]
                label = self.labels[move]
                if self.kinds[move] == _UNIT:
                    found.append((token_starts[t], token_ends[t], label))
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
                found.append((token_starts[first], token_ends[t], label))
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


class _Embed:
    """The model's token embedding (its ``tok2vec``), computed as thinc computes it, leaner.

    The same products (the maxouts' weight rows in another order, see ``_MaxoutNorm``) and the
    same element-wise arithmetic in the same order; what goes is thinc's bookkeeping around
    them, about a quarter of the embedding's CPU time on pii-dev's windows: the arg-max of each
    maxout (only needed to learn), the mean each layer norm computes twice, arrays split per
    document and joined again between layers, and the features read from each document in a
    second pass for the decoder's whitespace test. The maxout is taken with ``np.maximum``
    (ties give the same value; only a zero's sign could differ, which no later sum or
    comparison sees). Used only for the architecture of spaCy's small English pipelines
    (``_EMBED_LAYERS``), and only once it has given bit for bit thinc's own output on sample
    documents (``agrees``); otherwise thinc's ``predict`` runs. Where the reordered products
    are not thinc's (``permutes_exactly``), the maxouts keep thinc's order
    (``keep_thinc_order``).
    """

    def __init__(self, layers: list[Any], pad: int) -> None:
        from spacy.attrs import IDS

        # The features, then the decoder's token attributes, read in one pass per document.
        self.columns = [IDS[name] for name in (*layers[0].attrs["columns"], *_TOKEN_ATTRS)]
        self.n_features = len(layers[0].attrs["columns"])
        self.tables = [
            (column, hashembed.attrs["seed"], hashembed.get_param("E"))
            for column, hashembed in enumerate(layers[3:10:2])  # after getters of columns 0-3
        ]
        self.hash_ops = layers[3].ops
        self.mix = _MaxoutNorm(layers[10], layers[11])
        self.pad = pad
        self.convolutions = [_MaxoutNorm(layers[k + 1], layers[k + 2]) for k in (14, 18, 22, 26)]
        self.window_ops = layers[14].ops
        self.linear = layers[31]

    @classmethod
    def of(cls, tok2vec: Any) -> _Embed | None:
        """This for ``tok2vec`` when it has the known architecture; else None."""
        nodes = list(tok2vec.walk(order="dfs_pre"))
        layers = [node for node in nodes if not node.layers]
        pads = [node.attrs.get("pad") for node in nodes if node.name.startswith("with_array(")]
        if tuple(node.name for node in layers) != _EMBED_LAYERS or pads[:2] != [0, 0]:
            return None
        residuals = [node for node in nodes if node.name.startswith("residual(")]
        if sum(")>>" not in node.name for node in residuals) != 4 or len(pads) != 3:
            return None
        getters = layers[2:10:2]
        columns = [(slice(0, None), k) for k in range(4)]  # every row, column k
        if [g.attrs.get("index") for g in getters] != columns:
            return None
        if any(layers[k].attrs.get("window_size") != 1 for k in (14, 18, 22, 26)):
            return None
        if any(not isinstance(node.ops, NumpyOps) for node in layers):
            return None
        return cls(layers, pads[2])

    def permutes_exactly(self) -> bool:
        """Every maxout's reordered weights give thinc's products (``_MaxoutNorm``)."""
        return all(layer.permutes_exactly() for layer in (self.mix, *self.convolutions))

    def keep_thinc_order(self) -> None:
        for layer in (self.mix, *self.convolutions):
            layer.keep_thinc_order()

    def agrees(self, nlp: Any, tok2vec: Any) -> bool:
        """The same vectors as thinc's forward, bit for bit, on a few documents."""
        texts = ["Hello, I am Jane Doe.", "Maika van de Noort\n\nflew to ESPOO", "x", "  ", "ok"]
        docs = [nlp.make_doc(text) for text in texts]
        expected = tok2vec.predict(docs)
        got, _ = self.predict(docs, [len(doc) for doc in docs])
        return bool(
            expected.dtype == got.dtype
            and expected.shape == got.shape
            and np.array_equal(expected.view("u4"), got.view("u4"))
        )

    def predict(self, docs: list[Any], lengths: list[int]) -> tuple[Any, Any]:
        """The vectors of all tokens of ``docs`` (n, width), and their ``_TOKEN_ATTRS`` (n, 3)."""
        features = np.concatenate([doc.to_array(self.columns) for doc in docs])
        ops = self.hash_ops
        embedded = [
            ops.gather_add(table, ops.hash(ops.as_contig(features[:, column]), seed) % len(table))
            for column, seed, table in self.tables
        ]
        mixed = self.mix(np.hstack(embedded))
        # The convolutions read the documents one after another with ``pad`` zero rows before,
        # between and after them (thinc's ``with_array(pad=...)``).
        sizes = [size for size in lengths if size]
        n, pad = len(mixed), self.pad
        rows = np.arange(n) + pad * np.repeat(np.arange(1, len(sizes) + 1), sizes)
        X = np.zeros((n + pad * (len(sizes) + 1), mixed.shape[1]), dtype=mixed.dtype)
        X[rows] = mixed
        for convolution in self.convolutions:
            X = X + convolution(self.window_ops.seq2col(X, 1))
        return self.linear.predict(X[rows]), features[:, self.n_features :]


class _MaxoutNorm:
    """thinc's ``Maxout >> LayerNorm`` in prediction, as described for ``_Embed``.

    thinc's maxout weights give each output its pieces side by side, so the largest piece is
    taken over strided columns; here the rows of the weights (and the bias) are put in piece
    order once, so that each piece's outputs are one contiguous block of columns and the
    maximum is taken between blocks. A matrix product computes each output from one row of
    the weights and one of the inputs, wherever that row is, so the values are the same, only
    in other columns: ``permutes_exactly`` checks that with this BLAS before it is used (and
    ``_Embed.agrees`` then checks the whole embedding against thinc's). A BLAS may choose its
    kernel by the order of the rows too: then ``keep_thinc_order`` keeps thinc's weights (the
    same product as thinc's) and the pieces are compared as strided columns.
    """

    def __init__(self, maxout: Any, norm: Any) -> None:
        self.ops = maxout.ops
        self.n_out, self.n_pieces = maxout.get_dim("nO"), maxout.get_dim("nP")
        n_in = maxout.get_dim("nI")
        W = self.ops.reshape2f(maxout.get_param("W"), self.n_out * self.n_pieces, n_in)
        b = self.ops.reshape1f(maxout.get_param("b"), self.n_out * self.n_pieces)
        # thinc's row o * n_pieces + p becomes row p * n_out + o.
        self.order = np.arange(len(W)).reshape(self.n_out, self.n_pieces).T.reshape(-1)
        self.W_thinc, self.b_thinc = W, b
        self.W_pieces = np.ascontiguousarray(W[self.order])
        self.W, self.b = self.W_pieces, np.ascontiguousarray(b[self.order])
        self.strided = False  # the pieces of an output side by side (thinc's order)
        self.G, self.beta = norm.get_param("G"), norm.get_param("b")
        # numpy's var divides by the count of items as an intp (``_count_reduce_items``).
        self.count = np.intp(self.n_out)

    def permutes_exactly(self, rows: tuple[int, ...] = (1, 7, 64, 700)) -> bool:
        """The product with the reordered weights is thinc's product, columns reordered, bit for
        bit, on random inputs of several heights (BLAS kernels differ with the shape)."""
        rng = np.random.default_rng(0)
        for n in rows:
            X = rng.standard_normal((n, self.W.shape[1])).astype(self.W.dtype)
            thinc = self.ops.gemm(X, self.W_thinc, trans2=True)[:, self.order]
            ours = self.ops.gemm(X, self.W_pieces, trans2=True)
            if not np.array_equal(thinc.view("u4"), ours.view("u4")):
                return False
        return True

    def keep_thinc_order(self) -> None:
        self.W, self.b, self.strided = self.W_thinc, self.b_thinc, True

    def __call__(self, X: Any) -> Any:
        n_out = self.n_out
        Y = self.ops.gemm(X, self.W, trans2=True)
        Y += self.b
        # The largest piece, the pieces compared in thinc's order: pieces[:, p] is piece p of
        # every output, a block of columns, or every n_pieces-th column in thinc's order.
        if self.strided:
            pieces = Y.reshape(len(Y), n_out, self.n_pieces).transpose(0, 2, 1)
        else:
            pieces = Y.reshape(len(Y), self.n_pieces, n_out)
        best = pieces[:, 0].copy()
        for p in range(1, self.n_pieces):
            np.maximum(best, pieces[:, p], out=best)
        # LayerNorm: numpy's mean, then its var's own steps (_methods._var: the deviations, their
        # squares, their sum, divided by the count), keeping the deviations, which the
        # normalisation subtracts again.
        mu = best.mean(axis=1, keepdims=True)
        out = np.subtract(best, mu)
        squares = np.square(out, out=best)
        var = np.add.reduce(squares, axis=1, keepdims=True)
        np.true_divide(var, self.count, out=var, casting="unsafe")
        var += 1e-08
        out *= var ** (-1.0 / 2.0)
        out *= self.G
        out += self.beta
        return out


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
