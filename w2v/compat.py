"""gensim 4's API over w2v: change ``from gensim.models import KeyedVectors`` to
``from w2v.compat import KeyedVectors`` and the rest of a script stays as it is.

This module only translates: gensim's constructor, argument conventions and return shapes on one side,
w2v's own functions on the other. Every query and evaluation runs in w2v.vectors / w2v.evaluate; nothing
here computes a similarity or trains.

Where it differs from gensim (each difference fails loudly or is documented here):

- ``save``/``load`` use w2v's native file format, not a pickle: gensim's pickles cannot be read (save them
  from gensim with ``save_word2vec_format`` and load that). Pickle-tuning arguments are errors.
- Keys are words (str); gensim's integer keys and pre-allocated empty slots (``count=``) are not supported.
- Vectors are float32, words UTF-8: another ``dtype``/``datatype``/``encoding`` is an error.
- Vectors without counts (read from word2vec files) report ``V - index`` as the count of the word at row
  ``index``, as gensim does, so that sorting by count keeps their order.
- ``most_similar_cosmul`` honours ``restrict_vocab`` and counts a vector term by its direction;
  ``n_similarity`` raises for unknown words (gensim 4 skips them); ``doesnt_match`` skips unknown words
  with a warning, as gensim does.
- ``evaluate_word_analogies`` excludes every case variant of the question words from the answer (gensim
  looks at its 5 best answers only); ``evaluate_word_pairs`` returns plain (statistic, p-value) tuples.
  Words are matched case-insensitively by lower-casing (gensim upper-cases; they differ only for a few
  letters such as "ß"); answers are reported upper-cased, as gensim reports them.
- ``indexer=`` (approximate nearest neighbours) is not supported: searches are exact.
"""
import numbers
import os
import warnings

import numpy as np

from . import evaluate as _evaluate
from .errors import W2VError
from .vectors import KeyedVectors as _KeyedVectors
from .vectors import _words_list

__all__ = ["KeyedVectors"]


def _no_results(topn):
    """gensim returns [] for an integer topn below 1."""
    return isinstance(topn, numbers.Integral) and topn < 1


class KeyedVectors(_KeyedVectors):
    """w2v's KeyedVectors with gensim 4's constructor and return shapes.

    ``KeyedVectors(vector_size)`` starts empty; fill it with ``add_vectors(keys, vectors)`` or
    ``kv[keys] = vectors``, or use ``KeyedVectors.load_word2vec_format`` / ``KeyedVectors.load``.
    ``KeyedVectors.from_w2v(kv)`` wraps w2v's own vectors (such as a trained ``model.wv``) without a copy.
    """

    def __init__(self, vector_size, count=0, dtype=np.float32, mapfile_path=None):
        if isinstance(vector_size, bool) or not isinstance(vector_size, (int, np.integer)) or vector_size < 1:
            raise W2VError(f"vector_size must be a positive integer, got {vector_size!r}")
        if count:
            raise W2VError("count= (pre-allocated empty slots) is not supported: start empty and call "
                           "add_vectors(keys, vectors)")
        if np.dtype(dtype) != np.float32:
            raise W2VError(f"dtype={dtype!r} is not supported: w2v keeps vectors as float32")
        if mapfile_path is not None:
            raise W2VError("mapfile_path= is not supported: memory-map a saved file with KeyedVectors.load(path, "
                           "mmap='r')")
        super().__init__([], np.zeros((0, int(vector_size)), dtype=np.float32))

    @classmethod
    def from_w2v(cls, kv):
        """These gensim-shaped vectors over w2v's KeyedVectors `kv` (the arrays are shared, not copied)."""
        if not isinstance(kv, _KeyedVectors):
            raise W2VError(f"from_w2v needs w2v KeyedVectors, got {type(kv).__name__}")
        return cls._adopt(kv)

    def __str__(self):
        return f"{type(self).__name__}<vector_size={self.vector_size}, {len(self)} keys>"

    def _count_array(self):
        if self.counts is not None:
            return self.counts
        # gensim's stand-in for files without counts (_add_word_to_kv): the word at row i counts V - i
        return np.arange(len(self), 0, -1, dtype=np.int64)

    # ---- queries: gensim's return shapes -----------------------------------------------------

    def most_similar(self, positive=None, negative=None, topn=10, clip_start=0, clip_end=None,
                     restrict_vocab=None, indexer=None):
        """As w2v's most_similar; an integer topn < 1 gives [], ``topn=None`` the array of cosines of
        every candidate row (query words included), as in gensim."""
        if _no_results(topn):
            return []
        if topn is None:
            return self._similarities(positive, negative, clip_start, clip_end, restrict_vocab, indexer)[0]
        return super().most_similar(positive, negative, topn, clip_start, clip_end, restrict_vocab, indexer)

    def most_similar_cosmul(self, positive=None, negative=None, topn=10, restrict_vocab=None):
        """As w2v's most_similar_cosmul; an integer topn < 1 gives [], ``topn=None`` all the scores."""
        if _no_results(topn):
            return []
        if topn is None:
            return self._cosmul_scores(positive, negative, restrict_vocab)[0].astype(np.float32)
        return super().most_similar_cosmul(positive, negative, topn, restrict_vocab)

    def _known_words(self, words, stacklevel):
        words = _words_list(words)
        known = [w for w in words if w in self]
        if len(known) < len(words):
            missing = [w for w in words if w not in self]
            warnings.warn(f"ignoring {len(missing)} words not in the vocabulary: {missing[:5]!r}",
                          UserWarning, stacklevel=stacklevel)
        if not known:
            raise W2VError("none of the words is in the vocabulary")
        return known

    def rank_by_centrality(self, words, use_norm=True):
        """As w2v's, skipping unknown words with a warning (as gensim does)."""
        return super().rank_by_centrality(self._known_words(words, 3), use_norm)

    def doesnt_match(self, words):
        """The word furthest from the mean of the others; unknown words are skipped with a warning."""
        return super().rank_by_centrality(self._known_words(words, 3))[-1][1]

    def init_sims(self, replace=False):
        """gensim 3's name: fill_norms(), and unit_normalize_all() with ``replace=True``."""
        warnings.warn("init_sims() is deprecated (gensim 4): use fill_norms()", DeprecationWarning, stacklevel=2)
        self.fill_norms()
        if replace:
            self.unit_normalize_all()

    # ---- evaluation: gensim's tuples over w2v.evaluate ---------------------------------------

    def evaluate_word_analogies(self, analogies, restrict_vocab=300000, case_insensitive=True,
                                dummy4unknown=False, similarity_function="most_similar"):
        """Analogy accuracy as gensim returns it: ``(score, sections)``, each section a dict with
        "section", "correct" and "incorrect" (lists of (a, b, c, expected) tuples), the last one
        "Total accuracy". Questions with a word outside the first `restrict_vocab` words are left out,
        or count as incorrect with ``dummy4unknown=True``. The evaluation is w2v.evaluate's."""
        if similarity_function != "most_similar":
            raise W2VError(f"similarity_function={similarity_function!r} is not supported: analogies are "
                           "answered by most_similar (3CosAdd)")
        sections = _evaluate.read_analogies(analogies)
        _, known, correct = _evaluate.analogy_outcomes(self, sections, restrict_vocab, case_insensitive)
        out = []
        k = 0
        for name, questions in sections:
            section = {"section": name, "correct": [], "incorrect": []}
            for _, *words in questions:
                quad = tuple(w.upper() for w in words) if case_insensitive else tuple(words)
                if correct[k]:
                    section["correct"].append(quad)
                elif known[k] or dummy4unknown:
                    section["incorrect"].append(quad)
                k += 1
            out.append(section)
        total = {
            "section": "Total accuracy",
            "correct": [q for s in out for q in s["correct"]],
            "incorrect": [q for s in out for q in s["incorrect"]],
        }
        answered = len(total["correct"]) + len(total["incorrect"])
        out.append(total)
        return (len(total["correct"]) / answered if answered else 0.0), out

    def evaluate_word_pairs(self, pairs, delimiter="\t", encoding="utf8", restrict_vocab=300000,
                            case_insensitive=True, dummy4unknown=False):
        """Word-pair similarity as gensim returns it: ``((pearson_r, p), (spearman_rho, p), oov_ratio)``,
        oov_ratio in percent. Pairs with a word outside the first `restrict_vocab` words are left out, or
        scored 0 with ``dummy4unknown=True``. The p-values are two-sided (see w2v.evaluate.correlation_pvalue)."""
        data = _evaluate.read_word_pairs(pairs, delimiter=delimiter, encoding=encoding)
        sims = _evaluate.pair_similarities(self, data, restrict_vocab, case_insensitive)
        known = ~np.isnan(sims)
        human = np.array([score for _, _, score in data])
        if dummy4unknown:
            gold, model = human, np.where(known, sims, 0.0)
        else:
            gold, model = human[known], sims[known]
        if not len(gold):
            raise W2VError(f"{pairs}: no pair has both words among the first {restrict_vocab} words")
        results = []
        for stat in (_evaluate.pearson, _evaluate.spearman):
            r = stat(gold, model)
            results.append((np.nan if r is None else r, _evaluate.correlation_pvalue(r, len(gold))))
        oov_ratio = 100.0 * int((~known).sum()) / len(data)
        return results[0], results[1], oov_ratio

    # ---- files ---------------------------------------------------------------------------------

    def save(self, fname_or_handle, separately=None, sep_limit=10 * 1024 ** 2, ignore=frozenset(),
             pickle_protocol=None):
        """Save in w2v's native format (words, counts, vectors; memory-mappable), written atomically.
        gensim's pickle options do not apply and are errors."""
        for name, value, default in (("separately", separately, None), ("sep_limit", sep_limit, 10 * 1024 ** 2),
                                     ("ignore", ignore, frozenset()), ("pickle_protocol", pickle_protocol, None)):
            if value != default:
                raise W2VError(f"{name}= is not supported: w2v saves its own file format, not a pickle; drop it")
        if not isinstance(fname_or_handle, (str, os.PathLike)):
            raise W2VError("give save() a file name: w2v writes files atomically, not into open handles")
        super().save(fname_or_handle, format="native")

    @classmethod
    def load(cls, fname, mmap=None):
        """Load vectors saved by save() (or any file w2v.load reads); ``mmap='r'`` maps them read-only."""
        if mmap not in (None, "r"):
            raise W2VError(f"mmap={mmap!r} is not supported: use mmap='r' (read-only) or None")
        return super().load(fname, mmap=mmap == "r")


# ---- Word2Vec ----------------------------------------------------------------------------------
# gensim's Word2Vec class (constructor, build_vocab, train, callbacks, ...) goes here: a translation of
# its arguments onto w2v.train / w2v.Word2Vec, with `wv` as KeyedVectors.from_w2v(model.wv).
