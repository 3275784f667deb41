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
import math
import mmap
import os
import warnings

import numpy as np

from ._io import atomic_write, describe_os_error
from .errors import TruncatedFileError, UnknownWordError, W2VError, WordEncodingError

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


def _as_list(items):
    """gensim's convention for query terms: None -> [], a single word or 1-D vector -> [it],
    a 2-D array -> its rows, any other iterable -> a list of its items."""
    if items is None:
        return []
    if isinstance(items, str):
        return [items]
    if isinstance(items, np.ndarray):
        if items.ndim == 1:
            return [items]
        if items.ndim == 2:
            return list(items)
        raise W2VError(f"expected words or vectors, got a {items.ndim}-D array")
    try:
        return list(items)
    except TypeError:
        raise W2VError(f"expected a word, a vector or a list of them, got {type(items).__name__}") from None


def _words_list(words):
    """A word or an iterable of words, as a list."""
    if words is None:
        return []
    return [words] if isinstance(words, str) else list(words)


def _weight(value):
    try:
        w = float(value)
    except (TypeError, ValueError):
        raise W2VError(f"a weight must be a number, got {value!r}") from None
    if not math.isfinite(w):
        raise W2VError(f"a weight must be finite, got {value!r}")
    return w


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

    def get_index(self, word, default=None):
        """Row of `word`; `default` if one is given and the word is unknown, else UnknownWordError
        (a KeyError and a W2VError)."""
        try:
            return self.key_to_index[word]
        except (KeyError, TypeError):
            if default is not None:
                return default
            raise UnknownWordError(word) from None

    def has_index_for(self, word):
        """True if `word` has a row (the same as ``word in kv``)."""
        return word in self

    def _indices(self, words):
        return np.array([self.get_index(w) for w in words], dtype=np.int64)

    def get_vector(self, word, norm=False):
        """The vector of `word` (a view into ``vectors``), or its unit-length copy with ``norm=True``."""
        i = self.get_index(word)
        if norm:
            return self.get_normed_vectors()[i]
        return self.vectors[i]

    def _count_array(self):
        """The counts the per-word attribute "count" reads (None when there are none)."""
        return self.counts

    def get_count(self, word):
        """Corpus count of `word`. W2VError if the vectors carry no counts (word2vec bin/txt files)."""
        i = self.get_index(word)
        counts = self._count_array()
        if counts is None:
            raise W2VError("these vectors have no word counts (the word2vec bin/txt formats do not store them)")
        return int(counts[i])

    @staticmethod
    def _check_attr(attr):
        if attr != "count":
            raise W2VError(f"unknown per-word attribute {attr!r}: w2v keeps one, 'count'")

    def get_vecattr(self, word, attr):
        """gensim's per-word attribute lookup; the one attribute here is "count" (see get_count)."""
        self._check_attr(attr)
        return self.get_count(word)

    def set_vecattr(self, word, attr, value):
        """Set the "count" of `word` (vectors without counts get counts: 0 for every other word)."""
        self._check_attr(attr)
        i = self.get_index(word)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise W2VError(f"a count must be a non-negative integer, got {value!r}")
        if self.counts is None:
            base = self._count_array()
            self.counts = np.zeros(len(self), dtype=np.int64) if base is None else np.array(base, dtype=np.int64)
        elif not self.counts.flags.writeable:
            self.counts = self.counts.copy()
        self.counts[i] = value

    @classmethod
    def _from_parts(cls, index_to_key, vectors, counts=None):
        """A `cls` built from words, vectors and counts (whatever the signature of cls.__init__)."""
        kv = cls.__new__(cls)
        KeyedVectors.__init__(kv, index_to_key, vectors, counts)
        return kv

    @classmethod
    def _adopt(cls, kv):
        """`kv` as a `cls`, sharing its arrays (no copy)."""
        if isinstance(kv, cls):
            return kv
        out = cls.__new__(cls)
        out.__dict__.update(kv.__dict__)
        return out

    # ---- adding and selecting words ------------------------------------------------------------

    def add_vectors(self, keys, weights, extras=None, replace=False):
        """Append words and their vectors (gensim's add_vectors). A word already present keeps its vector
        unless ``replace=True``. `extras` may give {"count": counts}; otherwise new words count 0 when the
        vectors have counts. The matrix is reallocated: add in batches, not one word at a time."""
        if isinstance(keys, str):
            keys = [keys]
            weights = np.asarray(weights).reshape(1, -1)
        keys = list(keys)
        for i, key in enumerate(keys):
            if not isinstance(key, str):
                raise W2VError(f"key {i} is {type(key).__name__} {key!r}, not a str")
        if len(set(keys)) != len(keys):
            dup = next(k for i, k in enumerate(keys) if k in keys[:i])
            raise W2VError(f"duplicate key {dup!r} in keys; give each word once")
        try:
            weights = np.asarray(weights, dtype=np.float32).reshape(len(keys), -1) if keys else \
                np.zeros((0, self.vector_size), dtype=np.float32)
        except (TypeError, ValueError) as exc:
            raise W2VError(f"weights must be {len(keys)} vectors of {self.vector_size} numbers: {exc}") from None
        if weights.shape != (len(keys), self.vector_size):
            raise W2VError(f"weights must be {len(keys)} x {self.vector_size}, got shape {weights.shape}")
        new_counts = None
        for attr, values in (extras or {}).items():
            self._check_attr(attr)
            new_counts = np.asarray(values).reshape(-1)
            if new_counts.shape != (len(keys),) or new_counts.dtype.kind not in "iu" or (new_counts < 0).any():
                raise W2VError(f"extras['count'] must be {len(keys)} non-negative integers, one per key")
        is_new = np.array([k not in self.key_to_index for k in keys], dtype=bool)
        old_rows = [self.key_to_index[k] for k, new in zip(keys, is_new) if not new]
        counts = self.counts
        if counts is not None or new_counts is not None:
            if counts is None:
                counts = self._count_array()
            counts = np.zeros(len(self), dtype=np.int64) if counts is None else np.asarray(counts, dtype=np.int64)
            add = new_counts[is_new] if new_counts is not None else np.zeros(int(is_new.sum()), dtype=np.int64)
            counts = np.concatenate([counts, add])
            if replace and new_counts is not None:
                counts[old_rows] = new_counts[~is_new]
        vectors = np.concatenate([self.vectors, weights[is_new]])  # a new array, also for a read-only memmap
        if replace:
            vectors[old_rows] = weights[~is_new]
        for key in (k for k, new in zip(keys, is_new) if new):
            self.key_to_index[key] = len(self.index_to_key)
            self.index_to_key.append(key)
        self.vectors = vectors
        self.counts = counts
        self.reset_norms()

    def add_vector(self, key, vector):
        """Add one word (see add_vectors; an existing word keeps its vector). Returns its row."""
        self.add_vectors([key], [vector])
        return self.key_to_index[key]

    def __setitem__(self, keys, weights):
        """``kv["word"] = vector`` or ``kv[["a", "b"]] = vectors``: add or replace."""
        if isinstance(keys, str):
            keys = [keys]
            weights = np.asarray(weights).reshape(1, -1)
        self.add_vectors(keys, weights, replace=True)

    def vectors_for_all(self, keys, allow_inference=True, copy_vecattrs=False):
        """New vectors holding the known words of `keys` (each once, in the order given); with
        ``copy_vecattrs`` their counts too. (Word2vec vectors infer nothing for unknown words.)"""
        words, seen = [], set()
        for key in keys:
            if key not in seen:
                seen.add(key)
                if key in self:
                    words.append(key)
        idx = self._indices(words)
        counts = self._count_array() if copy_vecattrs else None
        return self._from_parts(words, np.asarray(self.vectors[idx]).reshape(len(idx), self.vector_size),
                                None if counts is None else counts[idx])

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

    def fill_norms(self, force=False):
        """Compute the norms now (gensim's name); ``force=True`` recomputes them after ``vectors`` changed."""
        if force:
            self.reset_norms()
        return self.norms

    def unit_normalize_all(self):
        """Replace ``vectors`` by their unit-length copies (a new array: training weights are not touched)."""
        self.vectors = np.array(self.get_normed_vectors())
        self.reset_norms()

    # ---- similarity --------------------------------------------------------------------------
    #
    # Query terms follow gensim 4: `positive` and `negative` are lists (or a single item) of words, vectors
    # (1-D arrays; a 2-D array is a list of rows) or (term, weight) pairs. Weights default to +1 for positive
    # and -1 for negative terms; a pair's weight is used as given. The query is the weighted mean of the
    # terms, words by their unit vectors and vectors as given (gensim's get_mean_vector), then unit-normalised.

    def similarity(self, w1, w2):
        """Cosine similarity of two words (exactly 1 for a word and itself, 0 if either vector is zero)."""
        i1, i2 = self.get_index(w1), self.get_index(w2)
        if i1 == i2:  # exact, where the float32 dot product of a unit vector with itself is 1 +- 1e-7
            return 1.0 if self.norms[i1] > 0 else 0.0
        normed = self.get_normed_vectors()
        return float(np.dot(normed[i1], normed[i2]))

    def distance(self, w1, w2):
        """Cosine distance of two words: 1 - similarity."""
        return 1.0 - self.similarity(w1, w2)

    def _restrict(self, restrict_vocab):
        n = _check_positive_int(restrict_vocab, "restrict_vocab")
        return len(self) if n is None else min(n, len(self))

    def _vector(self, vec, what):
        v = np.asarray(vec, dtype=np.float32)
        if v.shape != (self.vector_size,):
            raise W2VError(f"{what} must be a word or a vector of {self.vector_size} values, got shape {v.shape}")
        return v

    def _unit(self, vec, what):
        v = self._vector(vec, what)
        n = float(np.linalg.norm(v))
        # a vector that is already of unit length (a word's normed vector) is taken as it is, so that
        # querying by a word and by its unit vector give the same scores to the last bit
        return v / n if n > 0 and abs(n - 1.0) > 1e-6 else v

    def _terms(self, positive, negative):
        """gensim's query terms as (terms, weights): each term a word or a vector."""
        terms, weights = [], []
        for items, sign in ((positive, 1.0), (negative, -1.0)):
            for item in _as_list(items):
                if (isinstance(item, (tuple, list)) and len(item) == 2
                        and isinstance(item[0], (str, np.ndarray))):  # (term, weight)
                    terms.append(item[0])
                    weights.append(_weight(item[1]))
                else:
                    terms.append(item)
                    weights.append(sign)
        return terms, weights

    def get_mean_vector(self, keys, weights=None, pre_normalize=True, post_normalize=False, ignore_missing=True):
        """Weighted mean of words and vectors, as gensim's get_mean_vector: sum(w_i * term_i) / sum(|w_i|).

        Words count by their unit vectors (``pre_normalize=True``) or raw ones; vectors as given.
        ``post_normalize=True`` returns the mean at unit length. An unknown word is skipped with
        ``ignore_missing=True`` (the default, as in gensim) and raises UnknownWordError otherwise.
        """
        keys = _as_list(keys)
        if not keys:
            raise W2VError("get_mean_vector needs at least one word or vector")
        if weights is None:
            weights = np.ones(len(keys))
        weights = [_weight(w) for w in np.asarray(weights, dtype=object).reshape(-1)]
        if len(weights) != len(keys):
            raise W2VError(f"{len(keys)} keys but {len(weights)} weights; give one weight per key")
        rows, row_w, vecs, vec_w = [], [], [], []
        for key, w in zip(keys, weights):
            if isinstance(key, str):
                i = self.get_index(key, -1)
                if i >= 0:
                    rows.append(i)
                    row_w.append(w)
                elif not ignore_missing:
                    raise UnknownWordError(key)
            else:
                vecs.append(self._vector(key, "each key"))
                vec_w.append(w)
        mean = np.zeros(self.vector_size, dtype=np.float64)
        if rows:
            source = self.get_normed_vectors() if pre_normalize else self.vectors
            mean += np.asarray(row_w) @ np.asarray(source[rows], dtype=np.float64)
        for v, w in zip(vecs, vec_w):
            mean += w * v
        total = sum(abs(w) for w in row_w + vec_w)
        if total > 0:
            mean /= total
        if post_normalize:
            n = float(np.linalg.norm(mean))
            if n > 0:
                mean /= n
        return mean.astype(np.float32)

    def _query(self, positive, negative):
        """The unit query vector of `positive` and `negative`, and the rows of the words in it."""
        terms, weights = self._terms(positive, negative)
        if not terms:
            raise W2VError("give at least one positive or negative word")
        query = self.get_mean_vector(terms, weights, pre_normalize=True, post_normalize=True, ignore_missing=False)
        return query, [self.key_to_index[t] for t in terms if isinstance(t, str)]

    def _clip(self, clip_start, clip_end, restrict_vocab):
        """Candidate rows [start, stop): the first `restrict_vocab` words, else gensim's clip_start:clip_end."""
        if restrict_vocab is not None:
            return 0, self._restrict(restrict_vocab)
        if isinstance(clip_start, bool) or not isinstance(clip_start, (int, np.integer)) or clip_start < 0:
            raise W2VError(f"clip_start must be a non-negative integer, got {clip_start!r}")
        stop = len(self) if clip_end is None else min(len(self), _check_positive_int(clip_end, "clip_end"))
        if clip_start >= stop:
            raise W2VError(f"clip_start {clip_start} leaves no candidates (clip_end {stop}, {len(self)} words)")
        return int(clip_start), stop

    def _similarities(self, positive, negative, clip_start=0, clip_end=None, restrict_vocab=None, indexer=None):
        """(cosines of the candidate rows with the query, first candidate row, rows to exclude)."""
        if indexer is not None:
            raise W2VError("indexer= is not supported: w2v searches all candidates exactly; drop the argument")
        query, exclude = self._query(positive, negative)
        start, stop = self._clip(clip_start, clip_end, restrict_vocab)
        return self.get_normed_vectors()[start:stop] @ query, start, exclude

    def most_similar(self, positive=None, negative=None, topn=10, clip_start=0, clip_end=None,
                     restrict_vocab=None, indexer=None):
        """Nearest words to the mean of `positive` minus `negative` terms, by cosine (3CosAdd).

        Terms are words, vectors or (term, weight) pairs (a single word or vector may be given alone); see
        get_mean_vector. Words used in the query are excluded from the answer. Candidates are the first
        `restrict_vocab` words (all by default; or rows clip_start:clip_end, as in gensim).
        Returns up to `topn` (word, cosine) pairs, best first; ``topn=None`` ranks every candidate.
        """
        scores, start, exclude = self._similarities(positive, negative, clip_start, clip_end, restrict_vocab, indexer)
        return self._pick(scores, exclude, self._topn(topn, len(scores)), start)

    def _cosmul_terms(self, items, what):
        vecs, idx = [], []
        for item in _as_list(items):
            if isinstance(item, str):
                i = self.get_index(item)
                vecs.append(self.get_normed_vectors()[i])
                idx.append(i)
            elif isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], (str, np.ndarray)):
                raise W2VError("most_similar_cosmul takes no (term, weight) pairs; give words or vectors")
            else:
                vecs.append(self._unit(item, what))
        return vecs, idx

    def _cosmul_scores(self, positive, negative, restrict_vocab):
        pos, pos_idx = self._cosmul_terms(positive, "a positive term")
        neg, neg_idx = self._cosmul_terms(negative, "a negative term")
        if not pos and not neg:
            raise W2VError("give at least one positive or negative word")
        normed = self.get_normed_vectors()[:self._restrict(restrict_vocab)]
        scores = np.ones(normed.shape[0], dtype=np.float64)
        for v in pos:
            scores *= (1.0 + normed @ v) / 2.0
        denom = np.ones(normed.shape[0], dtype=np.float64)
        for v in neg:
            denom *= (1.0 + normed @ v) / 2.0
        return scores / (denom + 1e-6), pos_idx + neg_idx

    def most_similar_cosmul(self, positive=None, negative=None, topn=10, restrict_vocab=None):
        """3CosMul (Levy and Goldberg 2014): argmax prod((1+cos(x,p))/2) / (prod((1+cos(x,n))/2) + 1e-6).

        Terms are words or vectors (each counts by its direction only: every factor is a cosine);
        otherwise the same arguments as most_similar. The score returned is that ratio, not a cosine.
        """
        scores, exclude = self._cosmul_scores(positive, negative, restrict_vocab)
        return self._pick(scores, exclude, self._topn(topn, len(scores)))

    def similar_by_vector(self, vector, topn=10, restrict_vocab=None):
        """Nearest words to a vector (by cosine); nothing is excluded."""
        return self.most_similar(positive=[self._vector(vector, "the query")], topn=topn,
                                 restrict_vocab=restrict_vocab)

    def similar_by_word(self, word, topn=10, restrict_vocab=None):
        """Nearest words to `word`, excluding itself."""
        return self.most_similar(positive=[word], topn=topn, restrict_vocab=restrict_vocab)

    similar_by_key = similar_by_word

    def distances(self, word_or_vector, other_words=()):
        """Cosine distances (1 - cosine) from a word or vector to `other_words`, or to every word
        (itself included) when `other_words` is empty. A float32 array."""
        if isinstance(word_or_vector, str):
            query = self.get_normed_vectors()[self.get_index(word_or_vector)]
        else:
            query = self._unit(word_or_vector, "word_or_vector")
        other_words = _words_list(other_words)
        normed = self.get_normed_vectors()
        if other_words:
            normed = normed[self._indices(other_words)]
        return np.float32(1) - normed @ query

    def closer_than(self, word1, word2):
        """Words closer to `word1` (by cosine) than `word2` is, in vocabulary order; `word1` left out."""
        i1, i2 = self.get_index(word1), self.get_index(word2)
        dist = self.distances(word1)
        return [self.index_to_key[i] for i in np.flatnonzero(dist < dist[i2]) if i != i1]

    def rank(self, word1, word2):
        """Rank of `word2` among the neighbours of `word1`: 1 + the number of words closer than it."""
        return len(self.closer_than(word1, word2)) + 1

    def n_similarity(self, words1, words2):
        """Cosine of the means of two word lists (raw vectors, as in gensim). Unknown words raise."""
        words1, words2 = _as_list(words1), _as_list(words2)
        if not words1 or not words2:
            raise W2VError("n_similarity needs at least one word in each list")
        m1 = self.get_mean_vector(words1, pre_normalize=False, post_normalize=True, ignore_missing=False)
        m2 = self.get_mean_vector(words2, pre_normalize=False, post_normalize=True, ignore_missing=False)
        return float(m1 @ m2)

    def most_similar_to_given(self, word, candidates):
        """The word of `candidates` most similar to `word`."""
        candidates = _words_list(candidates)
        if not candidates:
            raise W2VError("most_similar_to_given needs at least one candidate")
        normed = self.get_normed_vectors()
        sims = normed[self._indices(candidates)] @ normed[self.get_index(word)]
        return candidates[int(np.argmax(sims))]

    def relative_cosine_similarity(self, wa, wb, topn=10):
        """similarity(wa, wb) / the sum of the similarities of the `topn` nearest words of `wa`
        (Leeuwenberg et al. 2016, equation 1)."""
        sims = KeyedVectors.most_similar(self, positive=[wa], topn=topn)
        if not sims:
            raise W2VError(f"{wa!r} has no neighbours to compare with")
        return self.similarity(wa, wb) / sum(s for _, s in sims)

    def rank_by_centrality(self, words, use_norm=True):
        """(cosine, word) pairs, most central first: each word's cosine with the mean of the (unit, with
        ``use_norm``) vectors of `words`."""
        words = _words_list(words)
        if not words:
            raise W2VError("give at least one word")
        source = self.get_normed_vectors() if use_norm else self.vectors
        vecs = np.asarray(source[self._indices(words)], dtype=np.float32)
        mean = vecs.mean(axis=0)
        n = float(np.linalg.norm(mean))
        sims = vecs @ (mean / n if n > 0 else mean)
        return sorted(zip(sims.tolist(), words), reverse=True)

    def doesnt_match(self, words):
        """The word furthest (by cosine) from the mean of the unit vectors of `words`."""
        words = _words_list(words)
        if len(words) < 2:
            raise W2VError("doesnt_match needs at least two words")
        return self.rank_by_centrality(words)[-1][1]

    @staticmethod
    def cosine_similarities(vector_1, vectors_all):
        """Cosines of one vector with each row of `vectors_all` (any arrays, not only these vectors)."""
        v = np.asarray(vector_1, dtype=np.float64)
        m = np.asarray(vectors_all, dtype=np.float64)
        return (m @ v) / (np.linalg.norm(m, axis=-1) * np.linalg.norm(v))

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

    def _pick(self, scores, exclude, topn, start=0):
        """Best `topn` of a score vector over rows start, start + 1, ..., skipping rows in `exclude`."""
        scores = np.array(scores, dtype=np.float64)
        n = scores.shape[0]
        ex = [i - start for i in exclude if start <= i < start + n]
        scores[ex] = -np.inf
        k = min(n, topn + len(ex))
        if k <= 0:
            return []
        best = np.argpartition(-scores, k - 1)[:k] if k < n else np.arange(n)
        best = best[np.argsort(-scores[best], kind="stable")]
        keys = self.index_to_key
        return [(keys[start + i], float(scores[i])) for i in best if np.isfinite(scores[i])][:topn]

    # ---- files ---------------------------------------------------------------------------------

    def save(self, path, format="native", precision=9):
        """Write the vectors to `path` (atomically: a failed save leaves no partial file).

        `format` is "native" (keeps counts), "bin" (word2vec.c binary) or "txt" (word2vec text, like
        fastText .vec). `precision` is the number of significant digits in "txt" (9 round-trips float32 exactly).
        """
        fmt = _normalize_format(format)
        if fmt is None:
            raise W2VError("give a format: native, bin or txt")
        _check_words_for_save(self.index_to_key, fmt)
        with atomic_write(path) as fh:
            if fmt == "native":
                _write_native(fh, self)
            elif fmt == "bin":
                _write_bin(fh, self.index_to_key, self.vectors)
            else:
                _write_txt(fh, self.index_to_key, self.vectors,
                           _check_positive_int(precision, "precision", allow_none=False))

    def save_word2vec_format(self, fname, fvocab=None, binary=False, total_vec=None, write_header=True,
                             prefix="", append=False, sort_attr="count"):
        """word2vec.c's binary (``binary=True``) or text format, under gensim's name and arguments.

        Vectors with counts are written most frequent first (a stable sort by count, as gensim does;
        ``sort_attr=None`` keeps their order). `fvocab` also writes word2vec.c's vocabulary file
        ("word count" lines). `prefix` is put before every word; ``write_header=False`` leaves out the
        "count dim" line. Both files are written atomically. `append` and a `total_vec` other than the
        number of vectors (gensim's way of writing one file in two parts) are not supported.
        """
        if append:
            raise W2VError("append=True is not supported: w2v writes whole files atomically; write a new file")
        if total_vec is not None and total_vec != len(self):
            raise W2VError(f"total_vec={total_vec} would announce a different number of vectors than the "
                           f"{len(self)} written; leave it out")
        if sort_attr is not None:
            self._check_attr(sort_attr)
        if not isinstance(prefix, str):
            raise W2VError(f"prefix must be a str, got {type(prefix).__name__}")
        counts = self._count_array()
        if fvocab is not None and counts is None:
            raise W2VError("fvocab needs word counts, and these vectors have none")
        words, vectors = self.index_to_key, self.vectors
        if counts is not None and sort_attr is not None and np.any(np.diff(counts) > 0):
            order = np.argsort(-np.asarray(counts), kind="stable")
            words, vectors, counts = [words[i] for i in order], vectors[order], counts[order]
        if prefix:
            words = [prefix + w for w in words]
        _check_words_for_save(words, "bin" if binary else "txt")
        if fvocab is not None:
            with atomic_write(fvocab) as fh:
                fh.write("".join(f"{w} {int(c)}\n" for w, c in zip(words, counts)).encode("utf-8"))
        with atomic_write(fname) as fh:
            if binary:
                _write_bin(fh, words, vectors, header=bool(write_header))
            else:
                _write_txt(fh, words, vectors, 9, header=bool(write_header))

    @classmethod
    def load(cls, path, format=None, mmap=False, limit=None, unicode_errors="strict"):
        """Same as the module function ``load``."""
        return cls._adopt(_load(path, format, mmap, limit, unicode_errors))

    @classmethod
    def load_word2vec_format(cls, fname, fvocab=None, binary=False, encoding="utf8", unicode_errors="strict",
                             limit=None, datatype=np.float32, no_header=False):
        """Read word2vec.c's binary (``binary=True``) or text format, under gensim's name and arguments.

        `fvocab` reads the counts from word2vec.c's vocabulary file ("word count" lines; it must list
        every word). `limit` reads only the first words. `unicode_errors` is "strict" (an invalid word
        raises a W2VError that is also a UnicodeDecodeError), "replace" or "ignore" (both warn).
        ``no_header=True`` reads a text file without its "count dim" line (GloVe's format).
        Words are UTF-8 and vectors float32: another `encoding` or `datatype` is an error.
        """
        if str(encoding).lower().replace("-", "").replace("_", "") != "utf8":
            raise W2VError(f"encoding={encoding!r} is not supported: w2v reads UTF-8 word2vec files")
        try:
            float32 = np.dtype(datatype) == np.float32
        except TypeError:
            float32 = False
        if not float32:
            raise W2VError(f"datatype={datatype!r} is not supported: w2v keeps vectors as float32")
        if no_header and binary:
            raise W2VError("no_header=True works with text files only (binary=False)")
        kv = _load(fname, "bin" if binary else "txt", False, limit, unicode_errors, no_header=no_header)
        if fvocab is not None:
            kv.counts = _read_fvocab(fvocab, kv.index_to_key, unicode_errors)
        return cls._adopt(kv)


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


def _check_words_for_save(words, fmt):
    bad = "\n" if fmt == "native" else " \n"
    for word in words:
        if not word or any(ch in word for ch in bad):
            what = "an empty word" if not word else f"word {word!r} contains a space or newline"
            raise W2VError(f"cannot save in {fmt} format: {what}, which the format cannot represent")


def _write_bin(fh, words, vectors, header=True):
    dim = vectors.shape[1]
    if header:
        fh.write(f"{len(words)} {dim}\n".encode("ascii"))
    step = max(1, (8 << 20) // (4 * dim + 16))
    for start in range(0, len(words), step):
        block = np.ascontiguousarray(vectors[start:start + step], dtype="<f4")
        raw = memoryview(block).cast("B")
        nb = 4 * dim
        parts = []
        for j, word in enumerate(words[start:start + step]):
            parts.append(word.encode("utf-8") + b" ")
            parts.append(raw[j * nb:(j + 1) * nb])
            parts.append(b"\n")
        fh.write(b"".join(parts))


def _write_txt(fh, words, vectors, precision, header=True):
    dim = vectors.shape[1]
    if header:
        fh.write(f"{len(words)} {dim}\n".encode("ascii"))
    fmt = " ".join([f"%.{precision}g"] * dim)
    step = 4096
    for start in range(0, len(words), step):
        block = np.asarray(vectors[start:start + step], dtype=np.float32).astype(np.float64).tolist()
        chunk = words[start:start + step]
        lines = [w + " " + fmt % tuple(row) + "\n" for w, row in zip(chunk, block)]
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
        "strict" (default): a word that is not valid UTF-8 is an error (a W2VError that is also a
        UnicodeDecodeError). "replace": such bytes become U+FFFD; "ignore": they are dropped. Either way
        ``kv.replaced_words`` counts the words affected and a warning says how many.
    """
    return _load(path, format, mmap, limit, unicode_errors)


def _load(path, format, mmap, limit, unicode_errors, no_header=False):
    fmt = _normalize_format(format)
    limit = _check_positive_int(limit, "limit")
    if unicode_errors not in ("strict", "replace", "ignore"):
        raise W2VError(f"unicode_errors must be 'strict', 'replace' or 'ignore', not {unicode_errors!r}")
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
                kv = _read_txt(fh, path, limit, unicode_errors, no_header)
    except OSError as exc:
        raise W2VError(describe_os_error(exc, path, "read")) from None
    except MemoryError:
        raise W2VError(f"{path}: not enough memory to load it; try limit=N or the native format with mmap") from None
    kv.source_format = fmt
    if kv.replaced_words:
        done = "replaced by U+FFFD" if unicode_errors == "replace" else "removed"
        warnings.warn(f"{path}: {kv.replaced_words} words were not valid UTF-8; their bad bytes were {done}",
                      UnicodeWarning, stacklevel=3)
    return kv


def _read_fvocab(path, words, unicode_errors):
    """Counts of `words` from word2vec.c's vocabulary file ("word count" per line)."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise W2VError(describe_os_error(exc, path, "read")) from None
    counts = {}
    for line_no, line in enumerate(data.split(b"\n"), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or not parts[1].isdigit():
            raise W2VError(f"{path}: line {line_no}: expected 'word count', got {line[:60]!r}")
        (word,), _ = _decode_words([parts[0]], path, unicode_errors, lambda i: f"line {line_no}")
        counts.setdefault(word, int(parts[1]))
    missing = next((w for w in words if w not in counts), None)
    if missing is not None:
        raise W2VError(f"{path}: no count for the word {missing!r}; the vocabulary file must list every word")
    return np.array([counts[w] for w in words], dtype=np.int64)


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
    if head.startswith(b"\x80"):  # pickle protocol 2 or later: what gensim's save() writes
        raise W2VError(f"{path}: a Python pickle (gensim's save() writes these), which w2v does not read; "
                       "in gensim, write the vectors with save_word2vec_format(path, binary=True) and load that")
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
        raise TruncatedFileError(f"{path}: truncated or corrupt: no word after the header line")
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
    return TruncatedFileError(f"{path}: truncated or corrupt: {why}")


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
    """Decode a list of word bytes; returns (words, number of words with bad bytes)."""
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
        except UnicodeDecodeError as exc:
            if unicode_errors == "strict":
                raise WordEncodingError(
                    f"{path}: {where(i)}: word {raw[:40]!r} is not valid UTF-8 "
                    "(load with unicode_errors='replace' to replace the bad bytes)",
                    exc.object, exc.start, exc.end, exc.reason) from None
            words.append(raw.decode("utf-8", unicode_errors))
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
        while pos < end and data[pos] == 10:  # the newline word2vec.c writes after each vector (optional;
            pos += 1                          # gensim and word2vec.c's readers skip any number of them)
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


def _read_txt(fh, path, limit, unicode_errors, no_header=False):
    if no_header:  # GloVe's format: no "count dim" line; the lines give both
        return _read_txt_no_header(fh, path, limit, unicode_errors)
    first = fh.readline()
    if not first:
        raise W2VError(f"{path}: the file is empty")
    if not first.endswith(b"\n"):
        raise W2VError(f"{path}: not a word2vec file (no 'count dim' header line)")
    count, dim = _parse_header(first, path)
    n = count if limit is None else min(limit, count)
    if limit is None:
        lines = _read_lines(fh, path)
    else:
        lines = []
        for _ in range(n):
            line = fh.readline()
            if not line:
                break
            lines.append(line.rstrip(b"\n"))
    return _parse_txt_lines(lines, count, dim, n, limit, path, unicode_errors, 2)


def _read_lines(fh, path):
    """The rest of a text file as lines (without a blank last one)."""
    data = fh.read()
    if data.strip() and not data.rstrip(b" \t\r").endswith(b"\n"):
        # every writer ends the last line; without it the last value may be cut short
        raise _corrupt(path, "the last line has no newline (the file may be truncated)")
    lines = data.split(b"\n")
    if lines and not lines[-1].strip():
        lines.pop()  # text after the last newline, if blank
    return lines


def _read_txt_no_header(fh, path, limit, unicode_errors):
    lines = _read_lines(fh, path)
    if not lines:
        raise W2VError(f"{path}: the file is empty")
    dim = len(lines[0].split()) - 1
    if dim < 1:
        raise W2VError(f"{path}: line 1: expected a word and its values, got {lines[0][:60]!r}")
    count = len(lines)
    n = count if limit is None else min(limit, count)
    return _parse_txt_lines(lines, count, dim, n, limit, path, unicode_errors, 1)


def _parse_txt_lines(lines, count, dim, n, limit, path, unicode_errors, first):
    """Words and vectors of text-format `lines`; `first` is the file's line number of lines[0]."""
    for i, line in enumerate(lines[:n]):
        if not line.strip():
            raise W2VError(f"{path}: line {i + first} is empty; expected a word and {dim} values")
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
            raise W2VError(f"{path}: line {i + first}: expected a word and {dim} values, got {line[:60]!r}")
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
            _find_bad_line(chunk, start + first - 2, dim, path)
            raise W2VError(f"{path}: lines {start + first}-{start + len(chunk) + first - 1}: cannot read the values")
        vectors[start:start + len(chunk)] = values.reshape(-1, dim)
    words, bad = _decode_words(raw_words, path, unicode_errors, lambda i: f"line {i + first}")
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
