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

``Word2Vec`` takes gensim 4's arguments with gensim's defaults (CBOW, alpha 0.025 for both models) and
trains with w2v's own training (w2v.train.Word2Vec); its docstring says what differs.
"""
import dataclasses
import logging
import numbers
import os
import warnings

import numpy as np

from . import evaluate as _evaluate
from . import vocab as _vocab
from .errors import EmptyVocabularyError, W2VError
from .params import Params
from .train import Word2Vec as _Word2Vec
from .vectors import KeyedVectors as _KeyedVectors
from .vectors import _words_list

__all__ = ["KeyedVectors", "Word2Vec", "CallbackAny2Vec", "RULE_DEFAULT", "RULE_DISCARD", "RULE_KEEP"]

logger = logging.getLogger(__name__)
logger.addHandler(logging.NullHandler())    # as gensim: its warnings show once logging is configured


class _EmptyListError(W2VError, ZeroDivisionError):
    """An empty word list where gensim divides by its length."""


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

    _tree = None                # a model's Huffman tree (hierarchical softmax), set by Word2Vec

    @property
    def expandos(self):
        """gensim's per-word attribute arrays: "count", and with hierarchical softmax "code" and "point"."""
        out = {"count": self._count_array()}
        if self._tree is not None:
            paths = [self._tree.path(i) for i in range(len(self))]
            out["code"], out["point"] = np.empty(len(self), dtype=object), np.empty(len(self), dtype=object)
            for i, (codes, points) in enumerate(paths):
                out["code"][i], out["point"][i] = codes, points
        return out

    def get_vecattr(self, key, attr):
        """gensim's per-word attributes: "count"; with hierarchical softmax also "code" (the branches of the
        word's path from the root, uint8) and "point" (the inner nodes on it: syn1's rows, uint32)."""
        if attr in ("code", "point") and self._tree is not None:
            codes, points = self._tree.path(self.get_index(key))
            return codes if attr == "code" else points
        return super().get_vecattr(key, attr)

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

    def n_similarity(self, ws1, ws2):
        """As w2v's; an empty list raises an error that is also a ZeroDivisionError, as in gensim."""
        if not len(_words_list(ws1)) or not len(_words_list(ws2)):
            raise _EmptyListError("n_similarity needs at least one word in each list")
        return super().n_similarity(ws1, ws2)

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
        methods = {"most_similar": "cosadd", "most_similar_cosmul": "cosmul"}
        if similarity_function not in methods:
            raise W2VError(f"similarity_function={similarity_function!r} is not supported: give 'most_similar' "
                           "(3CosAdd) or 'most_similar_cosmul' (3CosMul)")
        sections = _evaluate.read_analogies(analogies)
        _, known, correct = _evaluate.analogy_outcomes(self, sections, restrict_vocab, case_insensitive,
                                                       method=methods[similarity_function])
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

# gensim.utils' values for a trim_rule's answer
RULE_DEFAULT = 0
RULE_DISCARD = 1
RULE_KEEP = 2

MAX_WORDS_IN_BATCH = 10000      # gensim's default batch_words


class CompatValueError(W2VError, ValueError):
    """A bad argument where gensim raises ValueError."""


class CompatRuntimeError(W2VError, RuntimeError):
    """A call out of order (train before build_vocab, ...) where gensim raises RuntimeError."""


class CompatAttributeError(W2VError, AttributeError):
    """A file of another kind given to load(), where gensim raises AttributeError."""


class CompatTypeError(W2VError, TypeError):
    """A corpus argument of the wrong kind, where gensim raises TypeError."""


class CallbackAny2Vec:
    """gensim's callback base class: override any of the four methods; each receives the model.
    Any object with some of these methods works as a callback (the missing ones are skipped)."""

    def on_epoch_begin(self, model):
        pass

    def on_epoch_end(self, model):
        pass

    def on_train_begin(self, model):
        pass

    def on_train_end(self, model):
        pass


def _fire(callbacks, event, model):
    for cb in callbacks:
        method = getattr(cb, event, None)
        if method is not None:
            method(model)


# gensim's names for w2v's parameters, for the messages of Params.validate()
_GENSIM_NAMES = {"--dim": "vector_size", "--threads": "workers", "--prune-limit": "max_vocab_size",
                 "--chunk-words": "batch_words", "--min-count": "min_count", "--min-alpha": "min_alpha",
                 "--ns-exponent": "ns_exponent", "--model": "sg"}


def _validated(params):
    try:
        return params.validate()
    except W2VError as exc:
        text = str(exc)
        flag = text.split(" ", 1)[0]
        if flag.startswith("--"):
            text = _GENSIM_NAMES.get(flag, flag[2:].replace("-", "_")) + text[len(flag):]
        raise CompatValueError(text) from None


def _is_iterator(corpus):
    try:
        return iter(corpus) is corpus
    except TypeError:
        return False


def _keep_item(word, count, min_count, trim_rule):
    """gensim.utils.keep_vocab_item."""
    default = count >= min_count
    if trim_rule is None:
        return default
    rule = trim_rule(word, count, min_count)
    if rule == RULE_KEEP:
        return True
    if rule == RULE_DISCARD:
        return False
    return default


class Word2Vec:
    """gensim 4's Word2Vec over w2v's training: change ``from gensim.models import Word2Vec`` to
    ``from w2v.compat import Word2Vec`` and a script keeps its calls.

    The arguments, their defaults and the attributes are gensim's (``sg=0``: CBOW; ``alpha=0.025`` for
    both models; ``workers=3``). Training, vocabulary and vectors are w2v's: ``model.w2v`` is the
    w2v.Word2Vec underneath and ``model.wv`` a w2v.compat.KeyedVectors over its vectors (no copy).

    What differs from gensim:

    - A corpus is read once per call: ``Word2Vec(sentences)`` reads it once in all (gensim: epochs + 1
      times), ``build_vocab(c)`` then ``train(c)`` twice; every epoch trains on the token ids read then.
      So a one-shot generator works in the constructor, and an iterable that changes from pass to pass
      is trained on as it was when read.
    - The learning rate falls by the progress of all workers together (gensim's corpus_file mode: by each
      worker's own), and skip-gram draws one set of noise words per window (see the README).
    - ``train()`` returns (words trained after subsampling, words read including out-of-vocabulary ones),
      as gensim; ``corpus_count`` counts sentences with at least one token (as gensim's corpus_file mode).
    - ``max_vocab_size`` bounds the scan as w2v's prune_limit does (the rarest tokens are pruned after a
      block of text, to at most max_vocab_size distinct tokens), not after every sentence.
    - Words with the same count are ordered by first appearance.
    - ``save``/``load`` write and read w2v's model file (loadable by w2v.Word2Vec.load too), not a
      pickle; gensim's pickles cannot be read.
    - Hierarchical softmax builds gensim's tree (the same heap build: every word has gensim's "code"), but
      numbers its inner nodes from the root: gensim's "point" p is w2v's p' = V - 2 - p, and ``syn1`` has one
      row per inner node (V - 1), root first. ``score()`` is gensim's (full windows, no subsampling, at most 10,000 words a
      sentence) computed with an exact log-sigmoid, not gensim's table.
    - Not supported:
      ``sorted_vocab=0``, ``null_word=1``, a ``hashfxn`` other than ``hash``, and the threading and
      logging knobs (``queue_factor``, ``report_delay``, ``progress_per``) at other than their defaults.
    """

    def __init__(self, sentences=None, corpus_file=None, vector_size=100, alpha=0.025, window=5, min_count=5,
                 max_vocab_size=None, sample=1e-3, seed=1, workers=3, min_alpha=0.0001, sg=0, hs=0, negative=5,
                 ns_exponent=0.75, cbow_mean=1, hashfxn=hash, epochs=5, null_word=0, trim_rule=None,
                 sorted_vocab=1, batch_words=MAX_WORDS_IN_BATCH, compute_loss=False, callbacks=(),
                 comment=None, max_final_vocab=None, shrink_windows=True):
        self.vector_size = vector_size
        self.alpha = alpha
        self.window = window
        self.min_count = min_count
        self.max_vocab_size = max_vocab_size
        self.sample = sample
        self.seed = seed
        self.workers = workers
        self.min_alpha = min_alpha
        self.sg = sg
        self.hs = hs
        self.negative = negative
        self.ns_exponent = ns_exponent
        self.cbow_mean = cbow_mean
        self.hashfxn = hashfxn
        self.epochs = epochs
        self.null_word = null_word
        self.sorted_vocab = sorted_vocab
        self.batch_words = batch_words
        self.compute_loss = bool(compute_loss)
        self.comment = comment
        self.max_final_vocab = max_final_vocab
        self.shrink_windows = shrink_windows
        self.corpus_count = 0
        self.corpus_total_words = 0
        self.effective_min_count = min_count
        self.train_count = 0
        self.running_training_loss = 0.0
        self.min_alpha_yet_reached = float(alpha)
        self.w2v = None             # the w2v.Word2Vec underneath, once the vocabulary is built
        self._wv = None             # the gensim-shaped vectors (one object, refreshed after training)
        self._wv_given = None       # vectors assigned to model.wv by the user
        self._read = None           # an iterator build_vocab() read to its end
        self.load = _call_on_class_only     # as gensim: model = Word2Vec.load(path), not model.load(path)
        self._params()              # every argument is checked now, as gensim does
        if self.hs and self.negative:
            logger.warning("Both hierarchical softmax and negative sampling are activated. Both train into "
                           "one update of the input vectors, as in word2vec.c; set hs=0 or negative=0 for one.")
        if sentences is not None or corpus_file is not None:
            encoded = self._build_vocab(sentences, corpus_file, update=False, trim_rule=trim_rule)
            self._train(encoded, epochs=self.epochs, start_alpha=self.alpha, end_alpha=self.min_alpha,
                        callbacks=callbacks)
        elif trim_rule is not None or callbacks:
            what = "trim_rule" if trim_rule is not None else "callbacks"
            logger.warning("%s given to a model without a corpus is not kept: give it to build_vocab() / train()",
                           what)

    # ---- parameters ------------------------------------------------------------------------------

    def _params(self):
        """w2v's Params for gensim's arguments (validated; an argument w2v cannot honour is an error)."""
        if self.hs not in (0, 1, False, True):
            raise CompatValueError(f"hs must be 0 or 1, not {self.hs!r}")
        if not self.negative and not self.hs:
            raise CompatValueError("negative=0 with hs=0 leaves nothing to train: set negative=5, or hs=1 for "
                                   "hierarchical softmax")
        if self.cbow_mean not in (0, 1, False, True):
            raise CompatValueError(f"cbow_mean must be 0 (the sum of the context vectors) or 1 (their mean), "
                                   f"not {self.cbow_mean!r}")
        if self.shrink_windows not in (0, 1, False, True):
            raise CompatValueError(f"shrink_windows must be True or False, not {self.shrink_windows!r}")
        if self.sorted_vocab not in (1, True):
            raise W2VError("sorted_vocab=0 is not supported: w2v keeps the vocabulary sorted by descending count")
        if self.null_word not in (0, False):
            raise W2VError("null_word=1 is not supported: it pads gensim's concatenative models, which w2v has not")
        if self.hashfxn is not hash:
            raise W2VError("hashfxn= is not supported: w2v draws initial vectors from `seed` with numpy's generator")
        if self.sg not in (0, 1, False, True):
            raise CompatValueError(f"sg must be 0 (CBOW) or 1 (skip-gram), not {self.sg!r}")
        if self.max_final_vocab is not None and (isinstance(self.max_final_vocab, bool) or not isinstance(
                self.max_final_vocab, (int, np.integer)) or self.max_final_vocab < 1):
            raise CompatValueError(f"max_final_vocab must be a positive integer or None, not {self.max_final_vocab!r}")
        if isinstance(self.min_count, bool) or not isinstance(self.min_count, (int, np.integer)) or self.min_count < 0:
            raise CompatValueError(f"min_count must be a whole number >= 0, not {self.min_count!r}")
        fields = dict(model="sg" if self.sg else "cbow", dim=self.vector_size, window=self.window,
                      negative=self.negative, min_count=max(1, int(self.min_count)), sample=self.sample,
                      epochs=self.epochs if self.epochs else 1, alpha=self.alpha, min_alpha=self.min_alpha,
                      threads=self.workers, seed=self.seed, ns_exponent=self.ns_exponent, hs=bool(self.hs),
                      cbow_mean=bool(self.cbow_mean), shrink_windows=bool(self.shrink_windows))
        if self.max_vocab_size is not None:
            fields["prune_limit"] = self.max_vocab_size
        if self.batch_words != MAX_WORDS_IN_BATCH:     # gensim's job size; w2v's own default otherwise
            fields["chunk_words"] = self.batch_words
        return _validated(Params(**fields))

    @property
    def layer1_size(self):
        return self.vector_size

    # ---- vocabulary ------------------------------------------------------------------------------

    def _selector(self, trim_rule, known=()):
        """gensim's vocabulary choice, for vocab.scan(select=): min_count, raised by max_final_vocab
        (gensim's prepare_vocab), then trim_rule (keep_vocab_item); words already in the model
        (`known`, update=True) always have their counts added, as in gensim."""
        known = set(known)

        def select(words, counts):
            min_count = int(self.min_count)
            if self.max_final_vocab is not None and self.max_final_vocab < len(counts):
                # gensim: one more than the count of the first word past max_final_vocab
                cutoff = int(np.sort(counts)[::-1][self.max_final_vocab]) + 1
                min_count = max(min_count, cutoff)
            self.effective_min_count = min_count
            if trim_rule is None:
                keep = counts >= min_count
            else:
                keep = np.array([_keep_item(w, int(c), min_count, trim_rule) for w, c in zip(words, counts)],
                                dtype=bool)
            if known:
                keep |= np.array([w in known for w in words], dtype=bool)
            return keep

        return select

    def _check_corpus(self, corpus_iterable, corpus_file):
        if corpus_iterable is None and corpus_file is None:
            raise CompatTypeError("give a corpus: corpus_iterable (sentences) or corpus_file")
        if corpus_iterable is not None and corpus_file is not None:
            raise CompatTypeError("give corpus_iterable (sentences) or corpus_file, not both")
        if corpus_file is not None and not isinstance(corpus_file, (str, bytes, os.PathLike)):
            raise CompatTypeError(f"corpus_file must be a path, not {type(corpus_file).__name__}")
        return corpus_iterable if corpus_iterable is not None else corpus_file

    def _build_vocab(self, corpus_iterable, corpus_file, update, trim_rule):
        corpus = self._check_corpus(corpus_iterable, corpus_file)
        p = self._params()
        known = self.w2v.vocab.words if update and self.w2v is not None else ()
        if update and self.w2v is None:
            raise CompatRuntimeError("build_vocab(update=True) needs a vocabulary to update: call build_vocab() first")
        plain = trim_rule is None and self.max_final_vocab is None and not known and self.min_count >= 1
        try:
            encoded = _vocab.scan(corpus, min_count=int(self.min_count) if plain else 1, max_distinct=p.prune_limit,
                                  select=None if plain else self._selector(trim_rule, known))
        except EmptyVocabularyError as e:       # gensim: RuntimeError when there is nothing to train
            raise CompatRuntimeError(str(e)) from None
        if plain:
            self.effective_min_count = int(self.min_count)
        self._read = corpus if _is_iterator(corpus) else None
        self.corpus_count = _sentences(encoded.ids)
        self.corpus_total_words = encoded.vocab.total_tokens
        if update:
            self.w2v.grow_vocab(encoded.vocab.words, encoded.vocab.counts)
            self._refresh()
            return None
        self.w2v = _Word2Vec.create(p, encoded.vocab)
        self._wv_given = None
        self._refresh()
        return encoded

    def build_vocab(self, corpus_iterable=None, corpus_file=None, update=False, progress_per=10000,
                    keep_raw_vocab=False, trim_rule=None, **kwargs):
        """Read the corpus and choose the vocabulary (min_count, max_final_vocab, trim_rule), as gensim;
        the weights are initialised. ``update=True`` adds the corpus's words to a built vocabulary: the
        counts of known words grow, new words (chosen by min_count / trim_rule on this corpus's counts)
        are appended with new vectors, and the vectors already trained are kept."""
        _defaults(progress_per=(progress_per, 10000, "w2v reports no progress while reading"),
                  keep_raw_vocab=(keep_raw_vocab, False, "w2v keeps no table of the words it dropped"))
        _no_kwargs("build_vocab", kwargs)
        self._build_vocab(corpus_iterable, corpus_file, update, trim_rule)

    def build_vocab_from_freq(self, word_freq, keep_raw_vocab=False, corpus_count=None, trim_rule=None,
                              update=False):
        """The vocabulary from a {word: count} dict instead of a corpus (gensim's build_vocab_from_freq)."""
        _defaults(keep_raw_vocab=(keep_raw_vocab, False, "w2v keeps no table of the words it dropped"))
        p = self._params()
        words = list(word_freq)
        for w in words:
            if not isinstance(w, str):
                raise W2VError(f"word_freq keys must be words (str), got {type(w).__name__} {w!r}")
        counts = np.array([word_freq[w] for w in words], dtype=np.int64)
        if update and self.w2v is None:
            raise CompatRuntimeError("build_vocab_from_freq(update=True) needs a vocabulary to update")
        known = self.w2v.vocab.words if update else ()
        keep = self._selector(trim_rule, known)(words, counts)
        order = np.flatnonzero(keep)
        if not update:      # a new vocabulary is sorted by count; an update appends in the dict's order (gensim)
            order = order[np.argsort(-counts[order], kind="stable")]
        chosen, chosen_counts = [words[i] for i in order.tolist()], counts[order]
        self.corpus_count = int(corpus_count or 0)
        if update:
            self.w2v.grow_vocab(chosen, chosen_counts)
        else:
            if not chosen:
                raise CompatRuntimeError("no word of word_freq passes min_count / trim_rule: the vocabulary is empty")
            vocab = _vocab.Vocab(words=chosen, counts=chosen_counts, total_tokens=int(counts.sum()),
                                 distinct=len(words))
            self.w2v = _Word2Vec.create(p, vocab)
            self._wv_given = None
        self._refresh()

    # ---- training --------------------------------------------------------------------------------

    def train(self, corpus_iterable=None, corpus_file=None, total_examples=None, total_words=None, epochs=None,
              start_alpha=None, end_alpha=None, word_count=0, queue_factor=2, report_delay=1.0,
              compute_loss=False, callbacks=(), **kwargs):
        """Train `epochs` epochs on the corpus with the model's vocabulary (words outside it are skipped),
        the learning rate falling from start_alpha (default: alpha) to end_alpha (min_alpha) over this
        call, as gensim's train(). Returns (words trained after subsampling, words read).
        As gensim, it needs `epochs` and one of total_examples / total_words; w2v counts the corpus
        itself, so they only check it (a warning if total_examples differs)."""
        _defaults(word_count=(word_count, 0, "w2v trains on the whole corpus"),
                  queue_factor=(queue_factor, 2, "w2v's workers read the encoded corpus, not a job queue"),
                  report_delay=(report_delay, 1.0, "w2v's compat layer logs no progress"))
        _no_kwargs("train", kwargs)
        corpus = self._check_corpus(corpus_iterable, corpus_file)
        if epochs is None or isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs <= 0:
            raise CompatValueError("You must specify an explicit epochs count. The usual value is epochs=model.epochs.")
        if total_examples is None and total_words is None:
            raise CompatValueError("You must specify either total_examples or total_words (the usual value is "
                                   "total_examples=model.corpus_count)")
        self._trainable()
        if self._read is not None and corpus is self._read:
            raise CompatTypeError("build_vocab() read this iterator to its end (an iterator or a file object can be "
                                  "read once): give train() a new one, or a list or a restartable iterable")
        encoded = _vocab.encode(corpus, self.w2v.vocab)
        if total_examples is not None and total_examples != _sentences(encoded.ids):
            logger.warning("supplied example count (%i) did not equal expected count (%i)", total_examples,
                           _sentences(encoded.ids))
        self.compute_loss = bool(compute_loss)
        return self._train(encoded, epochs=int(epochs), start_alpha=start_alpha, end_alpha=end_alpha,
                           callbacks=callbacks)

    def _trainable(self):
        if self._wv_given is not None:
            raise CompatRuntimeError("these vectors were assigned to model.wv, not trained by it: there are no "
                                     "output weights to train; build_vocab() first")
        if self.w2v is None:
            raise CompatRuntimeError("you must first build vocabulary before training the model")

    def _train(self, encoded, epochs, start_alpha, end_alpha, callbacks):
        self.alpha = start_alpha or self.alpha
        self.min_alpha = end_alpha or self.min_alpha
        self.epochs = epochs
        p = self._params()
        if self.alpha > self.min_alpha_yet_reached:
            logger.warning("Effective 'alpha' higher than previous training cycles")
        model = self.w2v
        # gensim reads these attributes at every train(): they may have changed since the vocabulary
        model.params = dataclasses.replace(p, dim=model.params.dim, seed=model.params.seed)
        self.running_training_loss = 0.0
        bridge = _CallbackBridge(self, callbacks)
        _fire(callbacks, "on_train_begin", self)
        _fire(callbacks, "on_epoch_begin", self)
        try:
            model.train(encoded, epochs=epochs, callbacks=[bridge], alpha=self.alpha, min_alpha=self.min_alpha)
        finally:
            self._refresh()
        if self.compute_loss:
            self.running_training_loss = model.train_loss
        self.min_alpha_yet_reached = self.min_alpha if not model.interrupted else bridge.alpha
        self.train_count += 1
        _fire(callbacks, "on_train_end", self)
        oov = encoded.oov_tokens if encoded.corpus_counts is not None else \
            encoded.vocab.total_tokens - encoded.vocab.train_words
        raw = model.raw_words + round(oov * model.raw_words / max(1, encoded.train_words))
        return model.effective_words, raw

    def reset_from(self, other_model):
        """Take `other_model`'s vocabulary (shared, as in gensim: grow neither afterwards) and corpus_count,
        with new, untrained weights."""
        if other_model.w2v is None:
            raise CompatRuntimeError("the other model has no vocabulary yet")
        self.w2v = _Word2Vec.create(self._params(), other_model.w2v.vocab)
        self.corpus_count = other_model.corpus_count
        self._wv_given = None
        self._refresh()

    def get_latest_training_loss(self):
        """The summed loss of every example (the positive word and the noise words) of the latest train()
        call so far, as gensim reports it; 0.0 unless compute_loss=True."""
        return self.running_training_loss

    # ---- vectors and queries -------------------------------------------------------------------

    def _refresh(self):
        """Point model.wv (the same object throughout) at the current vectors and vocabulary (and drop
        the unit vectors it cached)."""
        if self.w2v is None:
            return
        fresh = KeyedVectors.from_w2v(self.w2v.wv)
        fresh._tree = self.w2v.tree             # hierarchical softmax: the words' "code" and "point"
        if self._wv is None:
            self._wv = fresh
        elif self._wv is not fresh:
            self._wv.__dict__.update(fresh.__dict__)

    @property
    def wv(self):
        """The word vectors: a w2v.compat.KeyedVectors sharing the model's arrays."""
        if self._wv_given is not None:
            return self._wv_given
        if self._wv is None:
            self._wv = KeyedVectors(self.vector_size)
        return self._wv

    @wv.setter
    def wv(self, kv):
        self._wv_given = kv

    @property
    def syn1(self):
        """The output vectors of hierarchical softmax (one row per inner node of the Huffman tree)."""
        if self.w2v is None or self._wv_given is not None or self.w2v.syn1 is None:
            raise AttributeError("this model has no syn1: train with hs=1")
        return self.w2v.syn1

    @property
    def syn1neg(self):
        """The output vectors of negative sampling (one row per word)."""
        if self.w2v is None or self._wv_given is not None:
            raise AttributeError("this model has no syn1neg: build_vocab() first")
        return self.w2v.syn1neg

    def predict_output_word(self, context_words_list, topn=10):
        """The `topn` most probable centre words for these context words, as gensim computes them: the
        softmax over every word of syn1neg . h, h the mean (cbow_mean=1) of the context vectors. Returns
        [(word, probability)], or None (with a warning) when no context word is in the vocabulary."""
        if not self.negative:
            raise CompatRuntimeError("predict_output_word needs negative sampling (negative > 0)")
        if self.w2v is None or self._wv_given is not None:
            raise CompatRuntimeError("Parameters required for predicting the output words not found.")
        wv = self.wv
        indices = []
        for w in context_words_list:
            if isinstance(w, (int, np.integer)) and not isinstance(w, bool):
                if 0 <= w < len(wv):
                    indices.append(int(w))
            elif w in wv:
                indices.append(wv.get_index(w))
        if not indices:
            logger.warning("All the input context words are out-of-vocabulary for the current model.")
            return None
        h = np.sum(wv.vectors[indices], axis=0)
        if self.cbow_mean:
            h /= len(indices)
        scores = self.syn1neg @ h
        probs = np.exp(scores - scores.max())       # gensim's softmax, shifted against overflow
        probs /= probs.sum()
        top = np.argsort(-probs, kind="stable")[:topn]
        return [(wv.index_to_key[i], probs[i]) for i in top.tolist()]

    def score(self, sentences, total_sentences=int(1e6), chunksize=100, queue_factor=2, report_delay=1):
        """The log probability of each sentence under the model's hierarchical softmax (hs=1), as gensim's
        score(): for skip-gram the sum over the in-vocabulary words and every other word of their full
        window of log p(word | other word); for CBOW the sum over the words of log p(word | its window's
        context vector, mean or sum as cbow_mean). Words outside the vocabulary are dropped first; a
        sentence counts its first 10,000 in-vocabulary words. Returns float32 scores, one per sentence
        (at most total_sentences)."""
        if self.w2v is None or self._wv_given is not None:
            raise CompatRuntimeError("you must first build vocabulary before scoring new data")
        if not self.hs:
            raise CompatRuntimeError("We have currently only implemented score for the hierarchical softmax scheme, "
                                     "so you need to have run word2vec with hs=1 and negative=0 for this to work.")
        model = self.w2v
        tree, syn0, syn1 = model.tree, model.syn0, model.syn1
        index = self.wv.key_to_index
        window = int(self.window)
        out = np.zeros(int(total_sentences), dtype=np.float32)
        n = 0
        for sentence in sentences:
            if n >= total_sentences:
                break
            if isinstance(sentence, str):
                raise CompatValueError("score() takes sentences as lists of tokens, not strings")
            ids = [index[w] for w in sentence if w in index][:10_000]
            total = 0.0
            for i, w in enumerate(ids):
                codes, points = tree.path(w)
                if not len(codes):
                    continue
                lo, hi = max(0, i - window), min(len(ids), i + window + 1)
                others = [ids[j] for j in range(lo, hi) if j != i]
                if self.sg:
                    if not others:
                        continue
                    f = syn0[others].astype(np.float64) @ syn1[points].T.astype(np.float64)     # (others, nodes)
                else:
                    # a word alone in its sentence has a zero context vector (every branch 1/2), as in gensim
                    h = syn0[others].astype(np.float64).sum(axis=0)
                    if self.cbow_mean and others:
                        h /= len(others)
                    f = (syn1[points].astype(np.float64) @ h)[None, :]
                f = np.where(codes == 1, -f, f)              # the probability of the branch taken
                live = np.abs(f) < 6.0                       # saturated nodes are skipped, as in training
                total += float(-np.logaddexp(0.0, -f[live]).sum())
            out[n] = total
            n += 1
        return out[:n]

    def __str__(self):
        return f"Word2Vec<vocab={len(self.wv)}, vector_size={self.vector_size}, alpha={self.alpha}>"

    # ---- files ---------------------------------------------------------------------------------

    _SAVED = ("alpha", "min_alpha", "window", "min_count", "max_vocab_size", "sample", "workers", "sg", "hs",
              "negative", "ns_exponent", "cbow_mean", "epochs", "null_word", "sorted_vocab", "batch_words",
              "compute_loss", "comment", "max_final_vocab", "shrink_windows", "corpus_count", "corpus_total_words",
              "effective_min_count", "train_count", "running_training_loss", "min_alpha_yet_reached")

    def save(self, fname_or_handle, separately=None, sep_limit=10 * 1024 ** 2, ignore=frozenset(),
             pickle_protocol=None):
        """Save the whole model (vectors, output weights, vocabulary with counts, gensim's settings) in
        w2v's model format, atomically; Word2Vec.load() (or w2v.Word2Vec.load) reads it back."""
        for name, value, default in (("separately", separately, None), ("sep_limit", sep_limit, 10 * 1024 ** 2),
                                     ("ignore", ignore, frozenset()), ("pickle_protocol", pickle_protocol, None)):
            if value != default:
                raise W2VError(f"{name}= is not supported: w2v saves its own file format, not a pickle; drop it")
        if not isinstance(fname_or_handle, (str, os.PathLike)):
            raise W2VError("give save() a file name: w2v writes files atomically, not into open handles")
        if self.w2v is None or self._wv_given is not None:
            raise CompatRuntimeError("nothing to save: build_vocab() or train first")
        self.w2v.extra["gensim"] = {name: getattr(self, name) for name in self._SAVED}
        self.w2v.save(fname_or_handle)

    @classmethod
    def load(cls, fname, mmap=None):
        """Load a model saved by save() (or by w2v.Word2Vec.save). gensim's pickles cannot be read."""
        if mmap is not None:
            raise W2VError(f"mmap={mmap!r} is not supported for whole models (they are read into memory); "
                           f"memory-map the vectors with KeyedVectors.load(path, mmap='r')")
        try:
            with open(fname, "rb") as fh:
                pickled = fh.read(1) == b"\x80"
        except OSError:
            pickled = False
        if pickled:
            raise W2VError(f"{os.fspath(fname)} is a gensim (pickle) model, which w2v cannot read: save its vectors "
                           f"from gensim with model.wv.save_word2vec_format(path) and load those")
        try:
            inner = _Word2Vec.load(fname)
        except W2VError:
            if _vectors_file(fname):
                raise CompatAttributeError(f"{os.fspath(fname)} holds word vectors, not a model: load it with "
                                           f"KeyedVectors.load") from None
            raise
        p = inner.params
        model = cls.__new__(cls)
        cls.__init__(model, vector_size=p.dim, alpha=p.alpha, window=p.window, min_count=p.min_count,
                     sample=p.sample, seed=p.seed, workers=p.threads, min_alpha=p.min_alpha,
                     sg=int(p.model == "sg"), negative=p.negative, ns_exponent=p.ns_exponent, epochs=p.epochs,
                     hs=int(p.hs), cbow_mean=int(p.cbow_mean), shrink_windows=bool(p.shrink_windows))
        for name, value in (inner.extra.get("gensim") or {}).items():
            if name in cls._SAVED:
                setattr(model, name, value)
        model.w2v = inner
        model._refresh()
        return model


def _vectors_file(path):
    from .vectors import detect_format
    try:
        return detect_format(path) == "native"
    except W2VError:
        return False


def _call_on_class_only(*args, **kwargs):
    raise AttributeError("load() is called on the class: model = Word2Vec.load(path)")


def _sentences(ids, step=1 << 22):
    """Sentences in an encoded corpus: its sentence ends."""
    return sum(int(np.count_nonzero(np.asarray(ids[i:i + step]) == _vocab.EOS)) for i in range(0, len(ids), step))


def _defaults(**checks):
    """Arguments gensim has and w2v cannot honour: an error unless left at their defaults."""
    for name, (value, default, why) in checks.items():
        if value != default:
            raise W2VError(f"{name}={value!r} is not supported ({why}); drop it")


def _no_kwargs(method, kwargs):
    if kwargs:
        raise W2VError(f"{method}() got arguments w2v does not know: {', '.join(sorted(kwargs))}")


class _CallbackBridge:
    """w2v's Progress callbacks as gensim's: on_epoch_end at each epoch's end, then on_epoch_begin of
    the next; the running loss (compute_loss=True) is kept up to date for get_latest_training_loss()."""

    def __init__(self, model, callbacks):
        self.model = model
        self.callbacks = list(callbacks)
        self.alpha = model.alpha

    def __call__(self, info):
        self.alpha = info.alpha
        if self.model.compute_loss:
            self.model.running_training_loss = info.loss_sum
        if info.event != "epoch_end" or not self.callbacks:
            return
        self.model._refresh()
        _fire(self.callbacks, "on_epoch_end", self.model)
        if info.epoch + 1 < info.epochs:
            _fire(self.callbacks, "on_epoch_begin", self.model)
