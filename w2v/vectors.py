"""Word vectors after training: KeyedVectors, its file formats, and similarity queries.

Everything here is numpy; nothing is compiled.

File formats (``load(path, format=...)`` and ``KeyedVectors.save(path, format=...)``):

``native``
    One little-endian file: the magic ``b"W2VNATV1"``, a uint64 header length H, H bytes of UTF-8 JSON
    ({"format": "w2v-native", "version": 1, "count", "dim", "dtype": "<f4", "words_offset", "words_bytes",
    "counts_offset" (or null), "vectors_offset"}), the words (each UTF-8 followed by ``b"\\n"``), the word
    counts (V int64 at an 8-aligned offset, optional), and the V x D float32 matrix at a 64-aligned offset,
    ending exactly at the end of the file. It keeps the counts and can be memory-mapped (``mmap=True``).
``bin``
    word2vec.c's binary format: ``b"V D\\n"``, then per word the UTF-8 word, ``b" "``, D little-endian float32
    and a ``b"\\n"`` (optional when loading). No counts.
``txt``
    word2vec's text format, also fastText's ``.vec``: a ``"V D"`` line, then ``"word v1 ... vD"`` per line.
    No counts.

The word2vec formats keep the word order, which is frequency order for vectors from a trainer, so
``restrict_vocab`` and evaluation still work on them; only the counts themselves are lost.

Loading never returns a partial result silently: a truncated file, a header that disagrees with the data,
a wrong number of values on a line or undecodable words raise a W2VError that says what is wrong.
"""
import json
import mmap
import os
import warnings

import numpy as np

from ._io import atomic_write, describe_os_error
from .errors import UnknownWordError, W2VError

__all__ = ["KeyedVectors", "load", "detect_format", "FORMATS"]

NATIVE_MAGIC = b"W2VNATV1"
NATIVE_VERSION = 1
FORMATS = ("native", "bin", "txt")
_FORMAT_ALIASES = {
    "native": "native", "w2v": "native",
    "bin": "bin", "binary": "bin",
    "txt": "txt", "text": "txt", "vec": "txt",
}
# Bytes that may follow the first word of a text-format file (numbers, nan/inf, separators).
_TEXT_VALUE_BYTES = frozenset(b"0123456789+-.eE \t\r\nnaifNAIFty")
_MAX_WORD_BYTES = 1 << 16  # a "word" longer than this in a binary file means the file is corrupt
_CHUNK_BYTES = 32 << 20    # memory bound for one block of similarity scores


def _normalize_format(fmt):
    if fmt is None:
        return None
    key = str(fmt).lower()
    if key not in _FORMAT_ALIASES:
        raise W2VError(f"unknown vector format {fmt!r}; use one of: native, bin, txt")
    return _FORMAT_ALIASES[key]


def _check_positive_int(value, name, allow_none=True):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise W2VError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class KeyedVectors:
    """Words and their vectors, with similarity queries.

    ``KeyedVectors(index_to_key, vectors, counts=None)``: ``index_to_key`` is the list of words (row i of
    ``vectors`` belongs to ``index_to_key[i]``; a trainer stores them most frequent first), ``vectors`` a
    V x D array (kept as is when it already is C-contiguous float32, e.g. a read-only memmap; otherwise
    copied to that), ``counts`` optional corpus counts (V integers).

    Unit-normalised vectors are computed once, on the first query, and cached; a zero vector stays zero
    (its norm is treated as 1). If you modify ``vectors`` in place afterwards, call ``reset_norms()``.
    """

    def __init__(self, index_to_key, vectors, counts=None):
        keys = list(index_to_key)
        for i, word in enumerate(keys):
            if not isinstance(word, str):
                raise W2VError(f"word {i} is {type(word).__name__} {word!r}, not a str")
        arr = vectors
        if not (isinstance(arr, np.ndarray) and arr.dtype == np.float32 and arr.flags.c_contiguous):
            try:
                arr = np.ascontiguousarray(vectors, dtype=np.float32)
            except (TypeError, ValueError) as exc:
                raise W2VError(f"vectors must be a numeric V x D array: {exc}") from None
        if arr.ndim != 2:
            raise W2VError(f"vectors must be a 2-D array (words x dimensions), got shape {arr.shape}")
        if arr.shape[0] != len(keys):
            raise W2VError(f"{len(keys)} words but {arr.shape[0]} vectors; they must match")
        if counts is not None:
            counts = np.asarray(counts)
            if counts.ndim != 1 or counts.shape[0] != len(keys):
                raise W2VError(f"counts must be {len(keys)} integers (one per word), got shape {counts.shape}")
            if counts.size and counts.dtype.kind not in "iu":
                if counts.dtype.kind != "f" or not np.all(np.isfinite(counts)) or np.any(counts != np.round(counts)):
                    raise W2VError("counts must be whole numbers")
            counts = np.ascontiguousarray(counts, dtype=np.int64)
            if counts.size and counts.min() < 0:
                raise W2VError("counts must not be negative")
        key_to_index = {}
        for i, word in enumerate(keys):
            if key_to_index.setdefault(word, i) != i:
                raise W2VError(f"duplicate word {word!r} (at rows {key_to_index[word]} and {i}); words must be unique")
        self.index_to_key = keys
        self.key_to_index = key_to_index
        self.vectors = arr
        self.counts = counts
        self.source_format = None   # "native", "bin" or "txt" when loaded from a file
        self.replaced_words = 0     # words whose bytes were not UTF-8 (loaded with unicode_errors="replace")
        self._norms = None
        self._normed = None

    # ---- container protocol and lookup ------------------------------------------------------

    def __len__(self):
        return len(self.index_to_key)

    def __contains__(self, word):
        return isinstance(word, str) and word in self.key_to_index

    def __iter__(self):
        return iter(self.index_to_key)

    def __repr__(self):
        counts = "with counts" if self.counts is not None else "no counts"
        return f"<KeyedVectors: {len(self)} words x {self.vector_size} dims, {counts}>"

    def __getitem__(self, key):
        """``kv["word"]`` -> its vector; ``kv[["a", "b"]]`` -> a 2-D array, one row per word."""
        if isinstance(key, str):
            return self.vectors[self.get_index(key)]
        if isinstance(key, (list, tuple, np.ndarray)):
            idx = self._indices(key)
            return np.asarray(self.vectors[idx]).reshape(len(idx), self.vector_size)
        raise TypeError(f"KeyedVectors keys are words (str) or lists of words, not {type(key).__name__}")

    @property
    def vector_size(self):
        return int(self.vectors.shape[1])

    def get_index(self, word):
        """Row of `word`; UnknownWordError (a KeyError and W2VError) if it is not in the vocabulary."""
        try:
            return self.key_to_index[word]
        except (KeyError, TypeError):
            raise UnknownWordError(word) from None

    def _indices(self, words):
        return np.array([self.get_index(w) for w in words], dtype=np.int64)

    def get_vector(self, word, norm=False):
        """The vector of `word` (a view into ``vectors``), or its unit-length copy with ``norm=True``."""
        i = self.get_index(word)
        if norm:
            return self.get_normed_vectors()[i]
        return self.vectors[i]

    def get_count(self, word):
        """Corpus count of `word`. W2VError if the vectors carry no counts (word2vec bin/txt files)."""
        i = self.get_index(word)
        if self.counts is None:
            raise W2VError("these vectors have no word counts (the word2vec bin/txt formats do not store them)")
        return int(self.counts[i])

    # ---- normalisation -----------------------------------------------------------------------

    @property
    def norms(self):
        """L2 norm of every vector (float32, V); zero vectors have norm 0 here."""
        if self._norms is None:
            self._norms = _row_norms(self.vectors)
        return self._norms

    def get_normed_vectors(self):
        """V x D unit-length copy of ``vectors``, computed once; zero vectors stay zero."""
        if self._normed is None:
            out = np.empty(self.vectors.shape, dtype=np.float32)
            safe = np.where(self.norms > 0, self.norms, np.float32(1))
            step = max(1, _CHUNK_BYTES // max(1, 4 * self.vector_size))
            for start in range(0, len(self), step):  # chunked so a memmap is read once, in order
                stop = start + step
                np.divide(self.vectors[start:stop], safe[start:stop, None], out=out[start:stop])
            out.flags.writeable = False
            self._normed = out
        return self._normed

    def reset_norms(self):
        """Forget the cached norms (call after changing ``vectors`` in place)."""
        self._norms = None
        self._normed = None

    # ---- similarity --------------------------------------------------------------------------

    def similarity(self, w1, w2):
        """Cosine similarity of two words."""
        normed = self.get_normed_vectors()
        return float(np.dot(normed[self.get_index(w1)], normed[self.get_index(w2)]))

    def _restrict(self, restrict_vocab):
        n = _check_positive_int(restrict_vocab, "restrict_vocab")
        return len(self) if n is None else min(n, len(self))

    def _unit(self, vec, what):
        v = np.asarray(vec, dtype=np.float32)
        if v.shape != (self.vector_size,):
            raise W2VError(f"{what} must be a word or a vector of {self.vector_size} values, got shape {v.shape}")
        n = float(np.linalg.norm(v))
        return v / n if n > 0 else v

    def _terms(self, items, what):
        """Unit vectors and row indices (for words) of the query terms."""
        if items is None:
            return [], []
        if isinstance(items, str) or (isinstance(items, np.ndarray) and items.ndim == 1):
            items = [items]
        vecs, idx = [], []
        normed = None
        for item in items:
            if isinstance(item, str):
                i = self.get_index(item)
                if normed is None:
                    normed = self.get_normed_vectors()
                vecs.append(normed[i])
                idx.append(i)
            else:
                vecs.append(self._unit(item, what))
        return vecs, idx

    def _query(self, positive, negative):
        pos, pos_idx = self._terms(positive, "a positive term")
        neg, neg_idx = self._terms(negative, "a negative term")
        if not pos and not neg:
            raise W2VError("give at least one positive or negative word")
        query = np.zeros(self.vector_size, dtype=np.float32)
        for v in pos:
            query += v
        for v in neg:
            query -= v
        return query, pos, neg, pos_idx + neg_idx

    def most_similar(self, positive=None, negative=None, topn=10, restrict_vocab=None):
        """Nearest words to the sum of the unit vectors of `positive` minus those of `negative` (3CosAdd).

        Terms are words or vectors (a single word may be given as a string). Words used in the query are
        excluded from the answer. Candidates are the first `restrict_vocab` words (all by default).
        Returns up to `topn` (word, cosine) pairs, best first; ``topn=None`` ranks every candidate.
        """
        query, _, _, exclude = self._query(positive, negative)
        return self._rank_one(query, exclude, topn, restrict_vocab)

    def most_similar_cosmul(self, positive=None, negative=None, topn=10, restrict_vocab=None):
        """3CosMul (Levy and Goldberg 2014): argmax prod((1+cos(x,p))/2) / (prod((1+cos(x,n))/2) + 1e-6).

        Same arguments as most_similar; the score returned is that ratio, not a cosine.
        """
        _, pos, neg, exclude = self._query(positive, negative)
        n = self._restrict(restrict_vocab)
        topn = self._topn(topn, n)
        normed = self.get_normed_vectors()[:n]
        scores = np.ones(n, dtype=np.float64)
        for v in pos:
            scores *= (1.0 + normed @ v) / 2.0
        denom = np.ones(n, dtype=np.float64)
        for v in neg:
            denom *= (1.0 + normed @ v) / 2.0
        scores /= denom + 1e-6
        return self._pick(scores, exclude, topn)

    def similar_by_vector(self, vector, topn=10, restrict_vocab=None):
        """Nearest words to a vector (by cosine); nothing is excluded."""
        query = self._unit(vector, "the query")
        return self._rank_one(query, [], topn, restrict_vocab)

    def similar_by_word(self, word, topn=10, restrict_vocab=None):
        """Nearest words to `word`, excluding itself."""
        return self.most_similar(positive=[word], topn=topn, restrict_vocab=restrict_vocab)

    def doesnt_match(self, words):
        """The word furthest (by cosine) from the mean of the unit vectors of `words`."""
        words = [words] if isinstance(words, str) else list(words)
        if len(words) < 2:
            raise W2VError("doesnt_match needs at least two words")
        normed = self.get_normed_vectors()[self._indices(words)]
        mean = normed.mean(axis=0)
        return words[int(np.argmin(normed @ mean))]

    def analogy(self, a, b, c, topn=1, restrict_vocab=None):
        """"a is to b as c is to ?": most_similar(positive=[b, c], negative=[a]). Returns (word, cosine) pairs."""
        return self.most_similar(positive=[b, c], negative=[a], topn=topn, restrict_vocab=restrict_vocab)

    def analogy_batch(self, a, b, c, topn=1, restrict_vocab=None):
        """Many analogies at once, as a list (one per question) of lists of (word, cosine).

        `a`, `b`, `c` are equal-length sequences of words; question i is "a[i] is to b[i] as c[i] is to ?".
        The queries go through one matrix-matrix product per chunk of questions.
        """
        a, b, c = list(a), list(b), list(c)
        if not (len(a) == len(b) == len(c)):
            raise W2VError(f"analogy_batch needs equally many a, b, c words (got {len(a)}, {len(b)}, {len(c)})")
        idx, scores = self.analogy_rows(self._indices(a), self._indices(b), self._indices(c),
                                        topn=topn, restrict_vocab=restrict_vocab)
        return self._to_words(idx, scores)

    def most_similar_batch(self, queries, topn=10, restrict_vocab=None):
        """most_similar for many queries with one matrix-matrix product per chunk.

        Each query is a word, a list of positive words, or a ``(positive, negative)`` pair of word lists.
        Returns one list of (word, cosine) per query.
        """
        normed = self.get_normed_vectors()
        rows, excludes = [], []
        for q in queries:
            if isinstance(q, str):
                pos, neg = [q], []
            elif isinstance(q, tuple) and len(q) == 2 and not isinstance(q[0], str):
                pos, neg = list(q[0] or []), list(q[1] or [])
            else:
                pos, neg = list(q), []
            if not pos and not neg:
                raise W2VError("each query needs at least one word")
            ip, ineg = self._indices(pos), self._indices(neg)
            rows.append(normed[ip].sum(axis=0) - normed[ineg].sum(axis=0))
            excludes.append(np.concatenate([ip, ineg]))
        if not rows:
            return []
        width = max(len(e) for e in excludes)
        exclude = np.full((len(rows), width), -1, dtype=np.int64)
        for i, e in enumerate(excludes):
            exclude[i, :len(e)] = e
        idx, scores = self.nearest_rows(np.array(rows, dtype=np.float32), exclude, topn, restrict_vocab)
        return self._to_words(idx, scores)

    def nearest_rows(self, queries, exclude=None, topn=10, restrict_vocab=None, chunk_rows=None):
        """Top-`topn` rows by cosine for each row of `queries` (n x D), in chunks of one matmul each.

        `exclude` is an n x m integer array of rows to leave out per query (-1 pads). Returns
        ``(indices, cosines)``, both n x topn, best first; where fewer candidates exist the
        index is -1 and the cosine -inf.
        """
        n_cand = self._restrict(restrict_vocab)
        topn = _check_positive_int(topn, "topn", allow_none=False)
        queries = np.asarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.vector_size:
            raise W2VError(f"queries must be an n x {self.vector_size} array, got shape {queries.shape}")
        nq = queries.shape[0]
        if exclude is None:
            exclude = np.empty((nq, 0), dtype=np.int64)
        exclude = np.asarray(exclude, dtype=np.int64).reshape(nq, -1)
        qn = _row_norms(queries)
        queries = queries / np.where(qn > 0, qn, 1)[:, None]
        candidates = self.get_normed_vectors()[:n_cand]
        k = min(topn, n_cand)
        out_idx = np.full((nq, topn), -1, dtype=np.int64)
        out_sc = np.full((nq, topn), -np.inf, dtype=np.float32)
        if chunk_rows is None:
            chunk_rows = max(1, _CHUNK_BYTES // (4 * max(1, n_cand)))
        for start in range(0, nq, chunk_rows):
            stop = min(nq, start + chunk_rows)
            sims = queries[start:stop] @ candidates.T
            out_idx[start:stop, :k], out_sc[start:stop, :k] = _top_k(sims, exclude[start:stop], k)
        return out_idx, out_sc

    def analogy_rows(self, ia, ib, ic, exclude=None, topn=1, restrict_vocab=None):
        """Analogies given as row indices: the best rows for unit(b) - unit(a) + unit(c), by cosine.

        `exclude` (n x m, -1 pads) defaults to the three question rows. Returns ``(indices, cosines)``
        like nearest_rows. Question sets reuse few distinct words, so instead of one D-long dot product
        per question and candidate, the candidates' dot products with each distinct question word are
        computed once per block (one matmul) and every question's scores are sums of three of those rows.
        """
        n_cand = self._restrict(restrict_vocab)
        topn = _check_positive_int(topn, "topn", allow_none=False)
        abc = np.stack([np.asarray(ia, dtype=np.int64), np.asarray(ib, dtype=np.int64),
                        np.asarray(ic, dtype=np.int64)], axis=1)
        nq = abc.shape[0]
        if nq and (abc.min() < 0 or abc.max() >= len(self)):
            raise W2VError("analogy row indices out of range")
        if exclude is None:
            exclude = abc
        exclude = np.asarray(exclude, dtype=np.int64).reshape(nq, -1)
        normed = self.get_normed_vectors()
        candidates = normed[:n_cand]
        qnorm = _row_norms(normed[abc[:, 1]] - normed[abc[:, 0]] + normed[abc[:, 2]])
        qnorm[qnorm == 0] = 1
        k = min(topn, n_cand)
        out_idx = np.full((nq, topn), -1, dtype=np.int64)
        out_sc = np.full((nq, topn), -np.inf, dtype=np.float32)
        block = 4096
        sub = max(1, min(256, (8 << 20) // (4 * max(1, n_cand))))  # rows of scores that stay in cache
        for start in range(0, nq, block):
            stop = min(nq, start + block)
            words, inverse = np.unique(abc[start:stop], return_inverse=True)
            inverse = inverse.reshape(-1, 3)
            if len(words) > 0.8 * (stop - start) or len(words) * n_cand * 4 > 8 * _CHUNK_BYTES:
                queries = normed[abc[start:stop, 1]] - normed[abc[start:stop, 0]] + normed[abc[start:stop, 2]]
                idx, sc = self.nearest_rows(queries, exclude[start:stop], topn, n_cand)
                out_idx[start:stop], out_sc[start:stop] = idx, sc
                continue
            dots = normed[words] @ candidates.T  # distinct question words x candidates
            buf = np.empty((sub, n_cand), dtype=np.float32)
            for s0 in range(start, stop, sub):
                s1 = min(stop, s0 + sub)
                inv = inverse[s0 - start:s1 - start]
                sims = buf[:s1 - s0]
                np.take(dots, inv[:, 1], axis=0, out=sims)
                sims -= dots[inv[:, 0]]
                sims += dots[inv[:, 2]]
                idx, sc = _top_k(sims, exclude[s0:s1], k)
                out_idx[s0:s1, :k] = idx
                out_sc[s0:s1, :k] = sc / qnorm[s0:s1, None]
        return out_idx, out_sc

    def _to_words(self, idx, scores):
        keys = self.index_to_key
        return [[(keys[i], float(s)) for i, s in zip(row_i, row_s) if i >= 0] for row_i, row_s in zip(idx, scores)]

    @staticmethod
    def _topn(topn, n_cand):
        if topn is None:
            return n_cand
        return _check_positive_int(topn, "topn", allow_none=False)

    def _rank_one(self, query, exclude, topn, restrict_vocab):
        n = self._restrict(restrict_vocab)
        topn = self._topn(topn, n)
        qn = float(np.linalg.norm(query))
        if qn > 0:
            query = query / qn
        scores = self.get_normed_vectors()[:n] @ query
        return self._pick(scores, exclude, topn)

    def _pick(self, scores, exclude, topn):
        """Best `topn` of a score vector, skipping rows in `exclude`."""
        scores = np.array(scores, dtype=np.float64)
        n = scores.shape[0]
        ex = [i for i in exclude if i < n]
        scores[ex] = -np.inf
        k = min(n, topn + len(ex))
        if k <= 0:
            return []
        best = np.argpartition(-scores, k - 1)[:k] if k < n else np.arange(n)
        best = best[np.argsort(-scores[best], kind="stable")]
        keys = self.index_to_key
        return [(keys[i], float(scores[i])) for i in best if np.isfinite(scores[i])][:topn]

    # ---- files ---------------------------------------------------------------------------------

    def save(self, path, format="native", precision=9):
        """Write the vectors to `path` (atomically: a failed save leaves no partial file).

        `format` is "native" (keeps counts), "bin" (word2vec.c binary) or "txt" (word2vec text, like
        fastText .vec). `precision` is the number of significant digits in "txt" (9 round-trips float32 exactly).
        """
        fmt = _normalize_format(format)
        if fmt is None:
            raise W2VError("give a format: native, bin or txt")
        self._check_words_for_save(fmt)
        with atomic_write(path) as fh:
            if fmt == "native":
                _write_native(fh, self)
            elif fmt == "bin":
                _write_bin(fh, self)
            else:
                _write_txt(fh, self, _check_positive_int(precision, "precision", allow_none=False))

    def _check_words_for_save(self, fmt):
        bad = "\n" if fmt == "native" else " \n"
        for word in self.index_to_key:
            if not word or any(ch in word for ch in bad):
                what = "an empty word" if not word else f"word {word!r} contains a space or newline"
                raise W2VError(f"cannot save in {fmt} format: {what}, which the format cannot represent")

    @classmethod
    def load(cls, path, format=None, mmap=False, limit=None, unicode_errors="strict"):
        """Same as the module function ``load``."""
        return load(path, format=format, mmap=mmap, limit=limit, unicode_errors=unicode_errors)


def _top_k(sims, exclude, k):
    """Best k columns per row of a score block (modified in place: excluded columns become -inf).

    Returns (indices, scores), best first; -1 where a row has fewer than k finite scores."""
    n_cand = sims.shape[1]
    r, col = np.nonzero((exclude >= 0) & (exclude < n_cand))
    sims[r, exclude[r, col]] = -np.inf
    if k == 1:
        best = np.argmax(sims, axis=1)[:, None]
    else:
        if k < n_cand:
            best = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        else:
            best = np.tile(np.arange(n_cand), (sims.shape[0], 1))
        order = np.argsort(-np.take_along_axis(sims, best, axis=1), axis=1, kind="stable")
        best = np.take_along_axis(best, order, axis=1)
    scores = np.take_along_axis(sims, best, axis=1)
    return np.where(np.isfinite(scores), best, -1), scores


def _row_norms(matrix):
    out = np.empty(matrix.shape[0], dtype=np.float32)
    step = max(1, _CHUNK_BYTES // max(1, 4 * matrix.shape[1]))
    for start in range(0, matrix.shape[0], step):
        block = np.asarray(matrix[start:start + step], dtype=np.float32)
        out[start:start + step] = np.sqrt(np.einsum("ij,ij->i", block, block))
    return out


# ---------------------------------------------------------------------------------------------
# writers
# ---------------------------------------------------------------------------------------------

def _align(offset, alignment):
    return (offset + alignment - 1) // alignment * alignment


def _native_layout(count, dim, words_bytes, has_counts):
    header = {}
    prev = None
    offsets = (0, 0, 0)
    while offsets != prev:  # the header's own length moves the offsets; a few rounds reach a fixed point
        prev = offsets
        header = {
            "format": "w2v-native", "version": NATIVE_VERSION, "count": count, "dim": dim, "dtype": "<f4",
            "words_offset": offsets[0], "words_bytes": words_bytes,
            "counts_offset": offsets[1] if has_counts else None, "vectors_offset": offsets[2],
        }
        blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
        words_offset = 16 + len(blob)
        end = words_offset + words_bytes
        counts_offset = _align(end, 8)
        if has_counts:
            end = counts_offset + 8 * count
        offsets = (words_offset, counts_offset, _align(end, 64))
    return header, blob


def _write_native(fh, kv):
    words = "".join(w + "\n" for w in kv.index_to_key).encode("utf-8")
    has_counts = kv.counts is not None
    header, blob = _native_layout(len(kv), kv.vector_size, len(words), has_counts)
    fh.write(NATIVE_MAGIC)
    fh.write(np.uint64(len(blob)).astype("<u8").tobytes())
    fh.write(blob)
    fh.write(words)
    pos = header["words_offset"] + len(words)
    if has_counts:
        fh.write(b"\0" * (header["counts_offset"] - pos))
        fh.write(np.ascontiguousarray(kv.counts, dtype="<i8").tobytes())
        pos = header["counts_offset"] + 8 * len(kv)
    fh.write(b"\0" * (header["vectors_offset"] - pos))
    _write_rows(fh, kv.vectors)


def _write_rows(fh, vectors):
    step = max(1, _CHUNK_BYTES // max(1, 4 * vectors.shape[1]))
    for start in range(0, vectors.shape[0], step):
        block = np.ascontiguousarray(vectors[start:start + step], dtype="<f4")
        fh.write(memoryview(block).cast("B"))


def _write_bin(fh, kv):
    dim = kv.vector_size
    fh.write(f"{len(kv)} {dim}\n".encode("ascii"))
    step = max(1, (8 << 20) // (4 * dim + 16))
    for start in range(0, len(kv), step):
        block = np.ascontiguousarray(kv.vectors[start:start + step], dtype="<f4")
        raw = memoryview(block).cast("B")
        nb = 4 * dim
        parts = []
        for j, word in enumerate(kv.index_to_key[start:start + step]):
            parts.append(word.encode("utf-8") + b" ")
            parts.append(raw[j * nb:(j + 1) * nb])
            parts.append(b"\n")
        fh.write(b"".join(parts))


def _write_txt(fh, kv, precision):
    dim = kv.vector_size
    fh.write(f"{len(kv)} {dim}\n".encode("ascii"))
    fmt = " ".join([f"%.{precision}g"] * dim)
    step = 4096
    for start in range(0, len(kv), step):
        block = np.asarray(kv.vectors[start:start + step], dtype=np.float32).astype(np.float64).tolist()
        words = kv.index_to_key[start:start + step]
        lines = [w + " " + fmt % tuple(row) + "\n" for w, row in zip(words, block)]
        fh.write("".join(lines).encode("utf-8"))


# ---------------------------------------------------------------------------------------------
# readers
# ---------------------------------------------------------------------------------------------

def load(path, format=None, mmap=False, limit=None, unicode_errors="strict"):
    """Load word vectors from `path`.

    format
        "native", "bin" or "txt", or None to detect: the native magic, else word2vec binary or text
        (after the "count dim" line, text has only number characters where binary has raw float bytes).
    mmap
        Native format only: map the vectors read-only instead of reading them (near-instant).
    limit
        Load only the first `limit` words (the most frequent ones for trainer output). The rest of
        the file is not read, so it is not checked either.
    unicode_errors
        "strict" (default): a word that is not valid UTF-8 is an error. "replace": such bytes become
        U+FFFD, ``kv.replaced_words`` counts the words affected and a warning says how many.
    """
    fmt = _normalize_format(format)
    limit = _check_positive_int(limit, "limit")
    if unicode_errors not in ("strict", "replace"):
        raise W2VError(f"unicode_errors must be 'strict' or 'replace', not {unicode_errors!r}")
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(4096)
            if fmt is None:
                fmt = _sniff(head, fh, path)
            if mmap and fmt != "native":
                raise W2VError(f"{path}: mmap needs the native format (this is {fmt}); "
                               f"convert it with `w2v convert {path} OUT --format native`")
            fh.seek(0)
            if fmt == "native":
                kv = _read_native(fh, path, size, mmap, limit)
            elif fmt == "bin":
                kv = _read_bin(fh, path, limit, unicode_errors)
            else:
                kv = _read_txt(fh, path, limit, unicode_errors)
    except OSError as exc:
        raise W2VError(describe_os_error(exc, path, "read")) from None
    except MemoryError:
        raise W2VError(f"{path}: not enough memory to load it; try limit=N or the native format with mmap") from None
    kv.source_format = fmt
    if kv.replaced_words:
        warnings.warn(f"{path}: {kv.replaced_words} words were not valid UTF-8; "
                      "their bad bytes were replaced by U+FFFD", UnicodeWarning, stacklevel=2)
    return kv


def detect_format(path):
    """"native", "bin" or "txt", as load(path) would detect it; W2VError if it is none of them."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            return _sniff(fh.read(4096), fh, path)
    except OSError as exc:
        raise W2VError(describe_os_error(exc, path, "read")) from None


def _sniff(head, fh, path):
    if not head:
        raise W2VError(f"{path}: the file is empty")
    if head.startswith(NATIVE_MAGIC):
        return "native"
    nl = head.find(b"\n")
    if nl < 0:
        raise W2VError(f"{path}: not a vector file (no 'count dim' header line)")
    _, dim = _parse_header(head[:nl], path)
    fh.seek(nl + 1)
    sample = fh.read(min(_MAX_WORD_BYTES + 4 * dim + 1, 1 << 20))
    if not sample:
        return "txt"
    sp = sample.find(b" ")
    if sp < 0:
        raise W2VError(f"{path}: truncated or corrupt: no word after the header line")
    window = sample[sp + 1:sp + 1 + 4 * dim]
    window = window.split(b"\n", 1)[0]
    if window and all(ch in _TEXT_VALUE_BYTES for ch in window):
        return "txt"
    return "bin"


def _parse_header(line, path):
    parts = line.strip().split()
    try:
        if len(parts) != 2:
            raise ValueError
        count, dim = int(parts[0]), int(parts[1])
    except ValueError:
        shown = line[:60].decode("utf-8", "replace")
        raise W2VError(f"{path}: not a word2vec file: the first line should be 'count dim', got {shown!r}") from None
    if count < 0 or dim < 1:
        raise W2VError(f"{path}: bad header: count {count}, dim {dim}")
    return count, dim


def _corrupt(path, why):
    return W2VError(f"{path}: truncated or corrupt: {why}")


def _read_native(fh, path, size, mmap, limit):
    head = fh.read(16)
    if len(head) < 16 or not head.startswith(NATIVE_MAGIC):
        raise W2VError(f"{path}: not a native w2v file (bad magic)")
    hlen = int(np.frombuffer(head, dtype="<u8", count=1, offset=8)[0])
    if hlen > size - 16 or hlen > (64 << 20):
        raise _corrupt(path, f"header length {hlen} does not fit in a {size}-byte file")
    try:
        header = json.loads(fh.read(hlen).decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("not an object")
    except (ValueError, UnicodeDecodeError) as exc:
        raise _corrupt(path, f"unreadable header ({exc})") from None
    if header.get("format") != "w2v-native":
        raise _corrupt(path, "header does not say format w2v-native")
    if header.get("version") != NATIVE_VERSION:
        raise W2VError(f"{path}: native format version {header.get('version')!r} is not supported "
                       f"(this w2v reads version {NATIVE_VERSION})")
    if header.get("dtype") != "<f4":
        raise W2VError(f"{path}: unsupported dtype {header.get('dtype')!r} (expected '<f4')")
    fields = {}
    for name in ("count", "dim", "words_offset", "words_bytes", "vectors_offset"):
        value = header.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _corrupt(path, f"header field {name!r} is {value!r}")
        fields[name] = value
    count, dim = fields["count"], fields["dim"]
    counts_offset = header.get("counts_offset")
    if counts_offset is not None and (isinstance(counts_offset, bool) or not isinstance(counts_offset, int)):
        raise _corrupt(path, f"header field 'counts_offset' is {counts_offset!r}")
    w_off, w_len, v_off = fields["words_offset"], fields["words_bytes"], fields["vectors_offset"]
    expected = v_off + 4 * count * dim
    if dim < 1 or expected != size:
        raise _corrupt(path, f"the header describes {count} x {dim} vectors ending at byte {expected}, "
                             f"but the file has {size} bytes")
    blocks = [(w_off, w_off + w_len, "words")]
    if counts_offset is not None:
        blocks.append((counts_offset, counts_offset + 8 * count, "counts"))
    blocks.append((v_off, size, "vectors"))
    prev_end = 16 + hlen
    for start, end, name in sorted(blocks):
        if start < prev_end or end > size:
            raise _corrupt(path, f"the {name} block overlaps another block or the end of the file")
        prev_end = end
    if v_off % 64:
        raise _corrupt(path, "the vectors block is not 64-byte aligned")
    n = count if limit is None else min(limit, count)

    fh.seek(w_off)
    raw = fh.read(w_len)
    if len(raw) != w_len or (count and not raw.endswith(b"\n")) or raw.count(b"\n") != count:
        raise _corrupt(path, f"the words block does not hold {count} newline-terminated words")
    try:
        words = raw.decode("utf-8").split("\n")[:n]
    except UnicodeDecodeError as exc:
        raise _corrupt(path, f"a word is not valid UTF-8 (byte {w_off + exc.start})") from None

    counts = None
    if counts_offset is not None:
        fh.seek(counts_offset)
        counts = np.frombuffer(fh.read(8 * n), dtype="<i8").astype(np.int64)
    if mmap:
        if n == 0:
            vectors = np.zeros((0, dim), dtype=np.float32)
        else:
            vectors = np.memmap(path, dtype="<f4", mode="r", offset=v_off, shape=(n, dim))
    else:
        fh.seek(v_off)
        vectors = np.empty((n, dim), dtype=np.float32)
        got = fh.readinto(memoryview(vectors).cast("B"))
        if got != 4 * n * dim:
            raise _corrupt(path, "the vectors block is short")
    return KeyedVectors(words, vectors, counts)


def _decode_words(raw_words, path, unicode_errors, where):
    """Decode a list of word bytes; returns (words, number replaced)."""
    try:
        words = b"\n".join(raw_words).decode("utf-8").split("\n")
        if len(words) == len(raw_words):  # else a word held a newline: decode one by one
            return words, 0
    except UnicodeDecodeError:
        pass
    words, bad = [], 0
    for i, raw in enumerate(raw_words):
        try:
            words.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            if unicode_errors == "strict":
                raise W2VError(f"{path}: {where(i)}: word {raw[:40]!r} is not valid UTF-8 "
                               "(load with unicode_errors='replace' to replace the bad bytes)") from None
            words.append(raw.decode("utf-8", "replace"))
            bad += 1
    return words, bad


def _read_bin(fh, path, limit, unicode_errors):
    # Map the file instead of reading it: with `limit`, only the pages needed are read.
    try:
        data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except ValueError:  # an empty file cannot be mapped
        raise W2VError(f"{path}: the file is empty") from None
    try:
        return _parse_bin(data, path, limit, unicode_errors)
    finally:
        try:
            data.close()
        except BufferError:  # an exception left a view alive; the garbage collector will close it
            pass


def _parse_bin(data, path, limit, unicode_errors):
    nl = data.find(b"\n")
    if nl < 0:
        raise W2VError(f"{path}: not a word2vec file (no 'count dim' header line)")
    count, dim = _parse_header(data[:nl], path)
    n = count if limit is None else min(limit, count)
    nb = 4 * dim
    if len(data) - nl - 1 < n * (nb + 2):  # at least one byte of word and a space per vector
        raise _corrupt(path, f"the header announces {count} words of dimension {dim} "
                             f"but the file is only {len(data)} bytes")
    starts = np.empty(n, dtype=np.int64)  # where each vector's bytes begin
    raw_words = []
    find = data.find
    end = len(data)
    pos = nl + 1
    for i in range(n):
        if pos < end and data[pos] == 10:  # the newline word2vec.c writes after each vector (optional)
            pos += 1
        sp = find(b" ", pos, pos + _MAX_WORD_BYTES)
        if sp < 0:
            if find(b" ", pos) < 0 and end - pos < _MAX_WORD_BYTES:
                raise _corrupt(path, f"the file ends after {i} of the {count} words the header announces")
            raise _corrupt(path, f"word {i} (at byte {pos}) is not followed by a space")
        if sp == pos:
            raise _corrupt(path, f"word {i} (at byte {pos}) is empty")
        stop = sp + 1 + nb
        if stop > end:
            raise _corrupt(path, f"the file ends inside the vector of word {i} of the {count} "
                                 "the header announces")
        raw_words.append(data[pos:sp])
        starts[i] = sp + 1
        pos = stop
    if limit is None or limit > count:
        rest = data[pos:]
        if rest.strip(b"\n"):
            raise _corrupt(path, f"there are {len(rest)} bytes after the {count} words the header announces "
                                 "(the header count is too small, or the dimension is wrong)")
    words, bad = _decode_words(raw_words, path, unicode_errors, lambda i: f"word {i}")
    # Gather the vectors with one fancy index over a zero-copy sliding window of the bytes
    # (row j of the window is data[j:j + 4 * dim]), instead of a copy per word in Python.
    if n:
        window = np.lib.stride_tricks.sliding_window_view(np.frombuffer(data, dtype=np.uint8), nb)
        vectors = window[starts].view("<f4").astype(np.float32, copy=False)
        del window  # release the view of the mapped file
    else:
        vectors = np.zeros((0, dim), dtype=np.float32)
    kv = KeyedVectors(words, vectors)
    kv.replaced_words = bad
    return kv


def _read_txt(fh, path, limit, unicode_errors):
    first = fh.readline()
    if not first:
        raise W2VError(f"{path}: the file is empty")
    if not first.endswith(b"\n"):
        raise W2VError(f"{path}: not a word2vec file (no 'count dim' header line)")
    count, dim = _parse_header(first, path)
    n = count if limit is None else min(limit, count)
    if limit is None:
        data = fh.read()
        if data.strip() and not data.rstrip(b" \t\r").endswith(b"\n"):
            # every writer ends the last line; without it the last value may be cut short
            raise _corrupt(path, "the last line has no newline (the file may be truncated)")
        lines = data.split(b"\n")
        if lines and not lines[-1].strip():
            lines.pop()  # text after the last newline, if blank
    else:
        lines = []
        for _ in range(n):
            line = fh.readline()
            if not line:
                break
            lines.append(line.rstrip(b"\n"))
    for i, line in enumerate(lines[:n]):
        if not line.strip():
            raise W2VError(f"{path}: line {i + 2} is empty; expected a word and {dim} values")
    if len(lines) < n:
        raise _corrupt(path, f"the header announces {count} words but the file has {len(lines)}")
    if len(lines) > n and limit is None:
        extra = sum(1 for line in lines[n:] if line.strip())
        if extra:
            raise _corrupt(path, f"the header announces {count} words but the file has {count + extra} lines "
                                 "of vectors")
    lines = lines[:n]
    raw_words = []
    rests = []
    for i, line in enumerate(lines):
        word, sep, rest = line.partition(b" ")
        if not sep or not word:
            raise W2VError(f"{path}: line {i + 2}: expected a word and {dim} values, got {line[:60]!r}")
        raw_words.append(word)
        rests.append(rest)
    vectors = np.empty((n, dim), dtype=np.float32)
    step = 8192
    for start in range(0, n, step):
        chunk = rests[start:start + step]
        try:
            values = np.fromstring(b" ".join(chunk), dtype=np.float32, sep=" ")
            ok = values.size == len(chunk) * dim
        except ValueError:
            ok = False
        if ok:
            ok = all(_value_count(rest) == dim for rest in chunk)
        if not ok:
            _find_bad_line(chunk, start, dim, path)
            raise W2VError(f"{path}: lines {start + 2}-{start + len(chunk) + 1}: cannot read the values")
        vectors[start:start + len(chunk)] = values.reshape(-1, dim)
    words, bad = _decode_words(raw_words, path, unicode_errors, lambda i: f"line {i + 2}")
    kv = KeyedVectors(words, vectors)
    kv.replaced_words = bad
    return kv


def _value_count(rest):
    rest = rest.strip()
    count = rest.count(b" ") + 1 if rest else 0
    if b"  " in rest or b"\t" in rest:  # irregular spacing: count properly
        count = len(rest.split())
    return count


def _find_bad_line(chunk, start, dim, path):
    for j, rest in enumerate(chunk):
        tokens = rest.split()
        line_no = start + j + 2
        if len(tokens) != dim:
            raise W2VError(f"{path}: line {line_no}: expected {dim} values after the word, got {len(tokens)}")
        try:
            np.array([float(t) for t in tokens], dtype=np.float32)
        except ValueError:
            bad = next(t for t in tokens if not _is_float(t)).decode("utf-8", "replace")
            raise W2VError(f"{path}: line {line_no}: {bad[:30]!r} is not a number") from None


def _is_float(token):
    try:
        float(token)
        return True
    except ValueError:
        return False
