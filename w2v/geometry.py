"""Geometry of word vectors: sentence vectors, anisotropy, whitening, Procrustes alignment (numpy only).

Sentence vectors pool the vectors of a sentence's known tokens:

- ``mean``: the plain average.
- ``tfidf``: the average weighted by tf-idf, idf = ln((1 + N) / (1 + df)) + 1 (the smoothed form). The
  document frequencies df come from `documents` (a collection of tokenised documents) when given, else
  they are approximated from the training counts by assuming the corpus was N = total / doc_length
  documents of `doc_length` tokens in which words occur independently: df(w) = N (1 - exp(-doc_length p(w))),
  p(w) = count(w) / total. Rare words then get df ~ count, very frequent words df ~ N (idf ~ 1).
- ``sif``: smooth inverse frequency (Arora, Liang and Ma 2017): weight a / (a + p(w)), then the projection
  on the first principal component (uncentred, as in the paper) of the batch's sentence vectors is removed.
  p(w) comes from the vectors' counts, or is given (``probabilities=``; see word_probabilities for the
  Zipf fallback used when vectors have no counts).

Unknown tokens are ignored and counted (``PooledVectors.unknown``); a sentence with no known token gets a
zero vector.
"""
import math
from dataclasses import dataclass
from typing import NamedTuple, Optional

import numpy as np

from .errors import W2VError
from .vectors import KeyedVectors

__all__ = [
    "PooledVectors", "sentence_vectors", "sentence_vector", "mean_vectors", "tfidf_vectors", "sif_vectors",
    "idf_from_counts", "idf_from_documents", "word_probabilities", "anisotropy", "whitening_transform", "whiten",
    "all_but_the_top_transform", "all_but_the_top", "kmeans", "word_classes", "write_classes",
    "ProcrustesResult", "procrustes_align",
]


@dataclass
class PooledVectors:
    """Result of sentence pooling.

    vectors: n x D float32, one row per sentence (zero for a sentence with no known token).
    known, unknown: per sentence, how many tokens were used / ignored as out of vocabulary.
    components: for SIF, the principal direction(s) removed (k x D), to reuse on new sentences.
    """
    vectors: np.ndarray
    known: np.ndarray
    unknown: np.ndarray
    components: Optional[np.ndarray] = None

    @property
    def n_unknown(self):
        return int(self.unknown.sum())


def _tokens(sentence):
    if isinstance(sentence, str):
        return sentence.split()
    return list(sentence)


def _pool(kv, sentences, weight_of, unit=False, by_length=False):
    """Weighted sum of the known token vectors of each sentence, divided by the sum of the weights
    (or by the number of known tokens with by_length=True); weight_of(row indices) -> weights."""
    sentences = [_tokens(s) for s in sentences]
    dim = kv.vector_size
    out = np.zeros((len(sentences), dim), dtype=np.float32)
    known = np.zeros(len(sentences), dtype=np.int64)
    unknown = np.zeros(len(sentences), dtype=np.int64)
    matrix = kv.get_normed_vectors() if unit else kv.vectors
    k2i = kv.key_to_index
    for s, tokens in enumerate(sentences):
        idx = [k2i[t] for t in tokens if t in k2i]
        known[s] = len(idx)
        unknown[s] = len(tokens) - len(idx)
        if not idx:
            continue
        idx = np.asarray(idx, dtype=np.int64)
        w = weight_of(idx)
        total = float(len(idx)) if by_length else float(w.sum())
        if total > 0:
            out[s] = (w @ np.asarray(matrix[idx], dtype=np.float64)) / total
    return PooledVectors(out, known, unknown)


def mean_vectors(kv, sentences, unit=False):
    """Average of the word vectors of each sentence (of the unit-normalised ones with unit=True)."""
    return _pool(kv, sentences, lambda idx: np.ones(len(idx)), unit)


def _probabilities(kv, what):
    if kv.counts is None:
        raise W2VError(f"{what} needs word counts, and these vectors have none (the word2vec bin/txt formats "
                       "do not store them); use vectors saved in the native format")
    counts = kv.counts.astype(np.float64)
    total = counts.sum()
    if total <= 0:
        raise W2VError(f"{what} needs word counts, and all counts are zero")
    return counts / total, total


def word_probabilities(kv, fallback=None):
    """Unigram probability of each word (array aligned with kv's rows) and where it came from.

    Returns (p, source): p = count / total and source "counts" when kv has counts; otherwise, with
    fallback="zipf", Zipf's law over the row order, p(rank r) = 1 / (r H_V) for r = 1..V (H_V the V-th
    harmonic number), which assumes the rows are sorted most frequent first, as trainers store them
    (the word2vec bin/txt formats keep that order but not the counts), and source "zipf".
    Without counts and without a fallback it raises W2VError.
    """
    has_counts = kv.counts is not None and float(kv.counts.sum()) > 0
    if has_counts or fallback is None:
        return _probabilities(kv, "word probabilities")[0], "counts"
    if fallback != "zipf":
        raise W2VError(f"unknown probability fallback {fallback!r}; use 'zipf' or None")
    inv_rank = 1.0 / np.arange(1, len(kv) + 1, dtype=np.float64)
    return inv_rank / inv_rank.sum(), "zipf"


def idf_from_counts(kv, doc_length=100):
    """Per-word idf (array aligned with kv's rows) from the training counts; see the module docstring."""
    if not doc_length or doc_length <= 0:
        raise W2VError(f"doc_length must be positive, got {doc_length!r}")
    p, total = _probabilities(kv, "tf-idf weighting from counts")
    n_docs = max(1.0, total / doc_length)
    df = n_docs * -np.expm1(-doc_length * p)
    return np.log((1.0 + n_docs) / (1.0 + df)) + 1.0


def idf_from_documents(kv, documents):
    """Per-word idf (array aligned with kv's rows) from a collection of tokenised documents.

    A word that occurs in none of them gets the largest idf, ln(1 + N) + 1.
    """
    df = np.zeros(len(kv), dtype=np.float64)
    n_docs = 0
    k2i = kv.key_to_index
    for doc in documents:
        n_docs += 1
        rows = {k2i[t] for t in _tokens(doc) if t in k2i}
        if rows:
            df[list(rows)] += 1
    if n_docs == 0:
        raise W2VError("documents is empty; give at least one tokenised document")
    return np.log((1.0 + n_docs) / (1.0 + df)) + 1.0


def tfidf_vectors(kv, sentences, documents=None, idf=None, doc_length=100, unit=False):
    """tf-idf weighted average of word vectors per sentence.

    idf: an array aligned with kv's rows or a dict word -> idf (missing words get the largest given
    value); else computed from `documents`, else from kv.counts (see the module docstring).
    Each occurrence of a word adds its idf, so a word repeated tf times weighs tf * idf.
    """
    if idf is None:
        idf = idf_from_documents(kv, documents) if documents is not None else idf_from_counts(kv, doc_length)
    elif isinstance(idf, dict):
        default = max(idf.values()) if idf else 1.0
        idf = np.array([idf.get(w, default) for w in kv.index_to_key], dtype=np.float64)
    else:
        idf = np.asarray(idf, dtype=np.float64)
        if idf.shape != (len(kv),):
            raise W2VError(f"idf must have one value per word ({len(kv)}), got shape {idf.shape}")
    return _pool(kv, sentences, lambda idx: idf[idx], unit)


def sif_vectors(kv, sentences, a=1e-3, remove_components=1, components=None, unit=False, probabilities=None):
    """SIF sentence vectors (Arora et al. 2017): average of a / (a + p(w)) * v_w, then remove the
    projection on the first `remove_components` principal directions of the batch.

    To embed new sentences consistently with an earlier batch, pass that batch's ``components``.
    p(w) = count(w) / total count, from kv.counts, unless ``probabilities`` (one per row) are given,
    e.g. word_probabilities(kv, fallback="zipf")[0] for vectors without counts.
    """
    if a <= 0:
        raise W2VError(f"a must be positive, got {a!r}")
    if probabilities is None:
        p, _ = _probabilities(kv, "SIF weighting")
    else:
        p = np.asarray(probabilities, dtype=np.float64)
        if p.shape != (len(kv),):
            raise W2VError(f"probabilities must have one value per word ({len(kv)}), got shape {p.shape}")
    weights = a / (a + p)
    # Arora et al. divide by the sentence length (known tokens), not by the sum of the weights.
    pooled = _pool(kv, sentences, lambda idx: weights[idx], unit, by_length=True)
    if components is None and remove_components:
        x = pooled.vectors[pooled.known > 0].astype(np.float64)
        if x.shape[0] < 2:
            raise W2VError("removing the principal component needs at least two sentences with known words; "
                           "pass components= from a larger batch, or remove_components=0")
        _, _, vt = np.linalg.svd(x, full_matrices=False)
        components = vt[:int(remove_components)]
    if components is not None:
        components = np.atleast_2d(np.asarray(components, dtype=np.float64))
        if components.shape[1] != kv.vector_size:
            raise W2VError(f"components must have {kv.vector_size} columns, got shape {components.shape}")
        x = pooled.vectors.astype(np.float64)
        pooled.vectors = (x - (x @ components.T) @ components).astype(np.float32)
        pooled.components = components
    return pooled


_METHODS = {"mean": mean_vectors, "tfidf": tfidf_vectors, "sif": sif_vectors}


def sentence_vectors(kv, sentences, method="mean", **options):
    """Pool word vectors into one vector per sentence: method "mean", "tfidf" or "sif".

    Sentences are lists of tokens or strings (split on whitespace). Returns PooledVectors;
    the options are those of mean_vectors, tfidf_vectors and sif_vectors.
    """
    if method not in _METHODS:
        raise W2VError(f"unknown pooling method {method!r}; use one of: {', '.join(_METHODS)}")
    return _METHODS[method](kv, sentences, **options)


def sentence_vector(kv, sentence, method="mean", **options):
    """One sentence's vector (1-D). SIF on a single sentence needs ``components=`` from a batch."""
    return sentence_vectors(kv, [sentence], method, **options).vectors[0]


# ---------------------------------------------------------------------------------------------
# anisotropy and whitening
# ---------------------------------------------------------------------------------------------

def _matrix(vectors):
    if isinstance(vectors, KeyedVectors):
        return vectors.vectors
    m = np.asarray(vectors)
    if m.ndim != 2:
        raise W2VError(f"expected a 2-D array of vectors, got shape {m.shape}")
    return m


def anisotropy(vectors, sample=None, seed=0):
    """Average cosine similarity between distinct vectors (0 for isotropic directions, near 1 for a narrow cone).

    sample=None: exact, over all pairs i != j, using sum_{i != j} u_i . u_j = |sum u|^2 - sum |u|^2 for the
    unit vectors u (O(n D), no n x n matrix). sample=k: the mean over k random distinct pairs (seeded).
    Zero vectors count as cosine 0.
    """
    m = _matrix(vectors)
    n = m.shape[0]
    if n < 2:
        raise W2VError("anisotropy needs at least two vectors")
    norms = np.linalg.norm(m.astype(np.float64), axis=1)
    unit = m / np.where(norms > 0, norms, 1.0)[:, None]
    if sample is None:
        s = unit.sum(axis=0)
        sq = float((norms > 0).sum())
        return float((s @ s - sq) / (n * (n - 1)))
    if isinstance(sample, bool) or not isinstance(sample, (int, np.integer)) or sample < 1:
        raise W2VError(f"sample must be a positive number of pairs, got {sample!r}")
    rng = np.random.default_rng(seed)
    i = rng.integers(n, size=int(sample))
    j = rng.integers(n - 1, size=int(sample))
    j += j >= i  # uniform over j != i
    return float(np.einsum("ij,ij->i", unit[i], unit[j]).mean())


def whitening_transform(vectors, k=None, eps=1e-10):
    """Mean mu and matrix W with cov((v - mu) W) = I (covariance with 1/n).

    k=None: W = Sigma^(-1/2) (ZCA: D dimensions, the closest whitened space to the original).
    k: W = U_k Lambda_k^(-1/2), the top-k principal directions (output has k dimensions).
    Directions with variance below eps times the largest are dropped (rank-deficient data: fewer
    vectors than dimensions); their output is zero.
    """
    m = np.asarray(_matrix(vectors), dtype=np.float64)
    n, d = m.shape
    if n < 2:
        raise W2VError("whitening needs at least two vectors")
    if k is not None and (isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= d):
        raise W2VError(f"k must be between 1 and the dimension {d}, got {k!r}")
    mu = m.mean(axis=0)
    x = m - mu
    cov = (x.T @ x) / n
    lam, u = np.linalg.eigh(cov)
    lam, u = lam[::-1], u[:, ::-1]  # descending
    keep = lam > eps * max(lam[0], np.finfo(np.float64).tiny)
    inv_sqrt = np.where(keep, 1.0 / np.sqrt(np.where(keep, lam, 1.0)), 0.0)
    if k is None:
        w = (u * inv_sqrt) @ u.T
    else:
        w = u[:, :k] * inv_sqrt[:k]
    return mu, w


def whiten(vectors, k=None, eps=1e-10, transform=None):
    """Whitened copy: (v - mu) Sigma^(-1/2), or the top-k PCA-whitened components with `k`.

    Given an array, returns a float32 array; given a KeyedVectors, returns a new KeyedVectors with
    the same words and counts. transform=(mu, W) from whitening_transform applies a map fitted on other
    vectors (e.g. on the whole vocabulary) instead of fitting one here.
    """
    mu, w = whitening_transform(vectors, k, eps) if transform is None else transform
    out = ((np.asarray(_matrix(vectors), dtype=np.float64) - mu) @ w).astype(np.float32)
    if isinstance(vectors, KeyedVectors):
        return KeyedVectors(vectors.index_to_key, out, vectors.counts)
    return out


def all_but_the_top_transform(vectors, n_components=None):
    """Mean mu and the top principal directions U (n_components x D) of the centred vectors, for
    all-but-the-top (Mu and Viswanath 2018): v' = (v - mu) - ((v - mu) U^T) U.

    n_components=None takes the paper's rule of thumb, D / 100 directions (at least 1).
    """
    m = np.asarray(_matrix(vectors), dtype=np.float64)
    n, d = m.shape
    if n < 2:
        raise W2VError("all-but-the-top needs at least two vectors")
    if n_components is None:
        n_components = max(1, round(d / 100))
    if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)) \
            or not 0 <= n_components < d:
        raise W2VError(f"n_components must be between 0 and the dimension - 1 ({d - 1}), got {n_components!r}")
    mu = m.mean(axis=0)
    x = m - mu
    lam, u = np.linalg.eigh(x.T @ x)
    components = u[:, ::-1][:, :int(n_components)].T  # top directions first
    return mu, components


def all_but_the_top(vectors, n_components=None, transform=None):
    """All-but-the-top copy (Mu and Viswanath 2018): remove the mean, then the projections on the top
    `n_components` principal directions (default D / 100). Array in, float32 array out; KeyedVectors
    in, KeyedVectors out (same words and counts). transform=(mu, U) from all_but_the_top_transform
    applies a map fitted on other vectors instead of fitting one here."""
    mu, u = all_but_the_top_transform(vectors, n_components) if transform is None else transform
    x = np.asarray(_matrix(vectors), dtype=np.float64) - mu
    out = (x - (x @ u.T) @ u).astype(np.float32)
    if isinstance(vectors, KeyedVectors):
        return KeyedVectors(vectors.index_to_key, out, vectors.counts)
    return out


def kmeans(vectors, k, seed=0, iterations=100, restarts=4):
    """Lloyd's k-means with k-means++ seeding (Arthur and Vassilvitskii 2007), the best of `restarts` runs by
    the within-cluster sum of squares. Returns each row's cluster (int64, 0..k-1). A cluster left empty is
    moved to the point farthest from its centre. Seeded: the same input and seed give the same clusters.
    """
    x = np.asarray(_matrix(vectors), dtype=np.float64)
    n = x.shape[0]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise W2VError(f"k must be between 1 and the number of vectors ({n}), got {k!r}")
    rng = np.random.default_rng(seed)
    sq = np.einsum("ij,ij->i", x, x)
    rows = np.arange(n)
    best, best_cost = None, math.inf
    for _ in range(max(1, int(restarts))):
        centres = np.empty((k, x.shape[1]))
        centres[0] = x[rng.integers(n)]
        d2 = np.maximum(sq - 2 * x @ centres[0] + centres[0] @ centres[0], 0.0)
        for j in range(1, k):  # k-means++: the next centre with probability proportional to d^2
            total = d2.sum()
            i = rng.choice(n, p=d2 / total) if total > 0 else rng.integers(n)
            centres[j] = x[i]
            d2 = np.minimum(d2, np.maximum(sq - 2 * x @ x[i] + sq[i], 0.0))
        labels = None
        for _ in range(iterations):
            dist = sq[:, None] - 2 * x @ centres.T + np.einsum("ij,ij->i", centres, centres)[None, :]
            new = dist.argmin(axis=1)
            if labels is not None and np.array_equal(new, labels):
                break
            labels = new
            for j in range(k):
                members = labels == j
                if members.any():
                    centres[j] = x[members].mean(axis=0)
                else:
                    far = int(dist[rows, labels].argmax())
                    centres[j] = x[far]
                    labels[far] = j
        cost = float(np.maximum(dist[rows, labels], 0.0).sum())
        if cost < best_cost:
            best, best_cost = labels.copy(), cost
    return best.astype(np.int64)


def word_classes(kv, k, iterations=10, init="kmeans++", seed=1, block_rows=8192):
    """Cluster the words into k classes as word2vec.c's `-classes` does: spherical k-means, each
    class's centre the normalised sum of its members' vectors, each word assigned to the centre
    with the largest dot product (the largest cosine), for `iterations` rounds (word2vec.c: 10).

    init "word2vec" starts as word2vec.c (word i in class i mod k: deterministic); "kmeans++"
    (the default) seeds the centres by k-means++ on the unit vectors with `seed`, which starts
    far closer to a good clustering. A class left empty takes the word farthest from its centre
    (word2vec.c's centre would become NaN). Returns int64 classes, one per word, in kv's order;
    the same input, init and seed give the same classes.
    """
    x = np.asarray(kv.vectors if isinstance(kv, KeyedVectors) else _matrix(kv), dtype=np.float32)
    n, dim = x.shape
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise W2VError(f"the number of classes must be between 1 and the number of words ({n:,}), not {k!r}")
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 1:
        raise W2VError(f"iterations must be a positive whole number, not {iterations!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise W2VError(f"seed must be a whole number >= 0, not {seed!r}")
    if init == "word2vec":
        labels = np.arange(n, dtype=np.int64) % k
        centres = _class_centres(x, labels, k)
    elif init == "kmeans++":
        centres = _kmeanspp_unit(x, k, seed, block_rows)
        labels = None
    else:
        raise W2VError(f"init must be 'kmeans++' or 'word2vec', not {init!r}")
    for it in range(iterations):
        labels, score = _assign(x, centres, block_rows)
        centres = _class_centres(x, labels, k, score)
    return labels


def _unit_rows(a):
    norms = np.sqrt(np.einsum("ij,ij->i", a, a, dtype=np.float64)).astype(np.float32)
    norms[norms == 0] = 1.0
    return a / norms[:, None]


def _assign(x, centres, block_rows):
    """Each row's centre of largest dot product, and that dot product."""
    labels = np.empty(len(x), dtype=np.int64)
    score = np.empty(len(x), dtype=np.float32)
    ct = np.ascontiguousarray(centres.T)
    for start in range(0, len(x), block_rows):
        sims = x[start:start + block_rows] @ ct
        best = sims.argmax(axis=1)
        labels[start:start + len(best)] = best
        score[start:start + len(best)] = sims[np.arange(len(best)), best]
    return labels, score


def _class_centres(x, labels, k, score=None):
    """Normalised sums of each class's vectors; an empty class is centred on a word of lowest score
    (the dot product with its own centre), which the next assignment then gives it."""
    order = np.argsort(labels, kind="stable")
    counts = np.bincount(labels, minlength=k)
    sums = np.zeros((k, x.shape[1]), dtype=np.float64)
    filled = np.flatnonzero(counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])[filled]
    sums[filled] = np.add.reduceat(x[order].astype(np.float64), starts, axis=0)
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        if score is None:
            score = np.zeros(len(x), dtype=np.float32)
        worst = np.argsort(score, kind="stable")[:len(empty)]
        sums[empty] = x[worst]
    return _unit_rows(sums.astype(np.float32))


def _kmeanspp_unit(x, k, seed, block_rows):
    """k-means++ seeding on the unit vectors (squared distance 2 - 2 cos)."""
    rng = np.random.default_rng(seed)
    u = _unit_rows(x)
    n = len(u)
    centres = np.empty((k, u.shape[1]), dtype=np.float32)
    first = int(rng.integers(n))
    centres[0] = u[first]
    d2 = np.maximum(2.0 - 2.0 * (u @ u[first]), 0.0).astype(np.float64)
    for j in range(1, k):
        total = d2.sum()
        i = int(np.searchsorted(np.cumsum(d2), rng.random() * total, side="right")) if total > 0 else int(rng.integers(n))
        i = min(i, n - 1)
        centres[j] = u[i]
        np.minimum(d2, np.maximum(2.0 - 2.0 * (u @ u[i]), 0.0), out=d2)
    return centres


def write_classes(kv, labels, path):
    """word2vec.c's classes file: `word class` per line, in the vectors' order; written atomically."""
    from ._io import atomic_write
    words = kv.index_to_key
    if len(labels) != len(words):
        raise W2VError(f"{len(labels)} classes for {len(words)} words")
    with atomic_write(path) as fh:
        fh.write("".join(f"{w} {int(c)}\n" for w, c in zip(words, labels)).encode("utf-8"))


# ---------------------------------------------------------------------------------------------
# Procrustes
# ---------------------------------------------------------------------------------------------

class ProcrustesResult(NamedTuple):
    rotation: np.ndarray        # D x D orthogonal R minimising |A R - B| over the shared words
    aligned: KeyedVectors       # all of kv_a's words, vectors @ R
    residual: float             # Frobenius norm of (A R - B) over the shared words
    relative_residual: float    # residual / |B|
    n_shared: int


def procrustes_align(kv_a, kv_b, words=None, normalize=False):
    """Rotate kv_a onto kv_b (orthogonal Procrustes) using the words both contain (or `words`).

    R = U V^T from the SVD U S V^T = A^T B, the orthogonal matrix minimising |A R - B|_F.
    normalize=True fits on unit-normalised vectors (the usual choice for embeddings trained separately).
    """
    if kv_a.vector_size != kv_b.vector_size:
        raise W2VError(f"cannot align {kv_a.vector_size}-dimensional vectors onto {kv_b.vector_size}-dimensional ones")
    if words is None:
        shared = [w for w in kv_a.index_to_key if w in kv_b.key_to_index]
    else:
        shared = list(words)
        missing = [w for w in shared if w not in kv_a or w not in kv_b]
        if missing:
            raise W2VError(f"{len(missing)} anchor words are not in both vocabularies, e.g. {missing[0]!r}")
    if not shared:
        raise W2VError("the two vocabularies share no words; nothing to align on")
    ia = np.array([kv_a.key_to_index[w] for w in shared])
    ib = np.array([kv_b.key_to_index[w] for w in shared])
    if normalize:
        src_all = kv_a.get_normed_vectors().astype(np.float64)
        b = kv_b.get_normed_vectors()[ib].astype(np.float64)
    else:
        src_all = np.asarray(kv_a.vectors, dtype=np.float64)
        b = np.asarray(kv_b.vectors[ib], dtype=np.float64)
    a = src_all[ia]
    u, _, vt = np.linalg.svd(a.T @ b)
    rotation = u @ vt
    residual = float(np.linalg.norm(a @ rotation - b))
    scale = float(np.linalg.norm(b))
    aligned = KeyedVectors(kv_a.index_to_key, (src_all @ rotation).astype(np.float32), kv_a.counts)
    return ProcrustesResult(rotation, aligned, residual, residual / scale if scale > 0 else math.nan, len(shared))
