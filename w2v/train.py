"""The training driver: encode the corpus, start the workers, schedule, report, save.

Worker threads claim chunks of whole sentences from a shared cursor and run each chunk in
the compiled kernel without the GIL. The learning rate falls linearly with global progress
(words processed over words planned), shared by all workers. The coordinating thread only
waits, reports progress, calls callbacks and relays errors: an error in any worker, a NaN
in the weights, a callback's StopTraining or Ctrl-C raises the shared stop flag, and every
worker returns within a few thousand words.

Determinism: with threads=1 and a fixed seed, training is bit-for-bit repeatable (every
chunk's random stream is derived from (seed, epoch, chunk)). With several threads updates
race by design (Hogwild), so results vary slightly from run to run.
"""
import dataclasses
import math
import os
import signal
import sys
import tempfile
import threading
import time

import numpy as np

from . import _kernels
from . import checkpoint as _ckpt
from .errors import DivergedError, W2VError
from .params import Params
from .corpus import BLOCK_BYTES, fingerprint_mismatch, open_corpus
from .phrases import Phrases, resolve as resolve_phrases
from .vocab import EOS, Encoded, HuffmanTree, Spill, Vocab, alias_table, encode, keep_probabilities, scan
from .vocab import read_vocab as load_vocab_file, save_vocab as write_vocab_file


class StopTraining(Exception):
    """Raise from a callback to end training early; the model trained so far is kept."""


@dataclasses.dataclass
class Progress:
    """What callbacks receive. event is "progress" (about once a second) or "epoch_end"."""
    event: str
    epoch: int                  # 0-based
    epochs: int
    words_done: int             # corpus words processed so far, over all epochs
    words_total: int            # words planned over all epochs
    words_per_sec: float
    alpha: float
    loss: float                 # mean loss per positive example so far in this epoch
    elapsed: float
    loss_sum: float = 0.0       # summed loss of every example (positive and noise words) so far in this call

    @property
    def fraction(self):
        return self.words_done / self.words_total if self.words_total else 1.0


class Word2Vec:
    """A trained (or training) model: parameters, vocabulary, and the weight matrices.

    wv         the word vectors (KeyedVectors over syn0)
    syn0       input vectors, shape (V, dim)
    syn1neg    output vectors of negative sampling, shape (V, dim); None when negative is 0
    syn1       output vectors of hierarchical softmax, one per inner node of the Huffman tree,
               shape (V - 1, dim), root first; None unless hs
    tree       the Huffman tree (vocab.HuffmanTree) over the vocabulary's counts, when hs
    """

    def __init__(self, params, vocab, syn0, syn1neg, syn1=None):
        self.params = params
        self.vocab = vocab
        self.syn0 = syn0
        self.syn1neg = syn1neg
        self.syn1 = syn1
        self._tree = None
        self.epochs_done = 0
        self.loss_history = []      # mean loss per positive example, per epoch
        self.timings = {}
        self.interrupted = False
        self.words_per_sec = 0.0
        self.raw_words = 0          # corpus words the last train()/resume() call read ...
        self.effective_words = 0    # ... and those of them that subsampling kept
        self.train_loss = 0.0       # the summed loss of all its examples (positive and noise words)
        self.schedule = None        # a Schedule while a training run is unfinished (see resume())
        self.fingerprint = None     # of the corpus the schedule runs over (see corpus.fingerprint_mismatch)
        self.extra = {}             # saved with the model (the command line keeps its options here)
        self.phrases = None         # a phrases.Phrases joined into the corpus before counting, or None
        self._wv = None

    @classmethod
    def create(cls, params, vocab):
        """A new, untrained model over `vocab`, its weights initialised as w2v.train does."""
        params = params.validate()
        return cls(params, vocab, *model_weights(len(vocab), params))

    @property
    def wv(self):
        from .vectors import KeyedVectors
        # while training, syn0 may be a view with padded rows, which KeyedVectors copies: such a copy
        # is a snapshot, never kept
        if self._wv is None or self._wv.vectors is not self.syn0:
            self._wv = KeyedVectors(self.vocab.words, self.syn0, counts=self.vocab.counts)
        return self._wv

    @property
    def tree(self):
        """The Huffman tree of hierarchical softmax (built from the counts once, when first
        asked for), or None when the model has no hierarchical softmax."""
        if not self.params.hs:
            return None
        if self._tree is None:
            self._tree = HuffmanTree(self.vocab.counts, self.params.hs_tree)
        return self._tree

    def __repr__(self):
        p = self.params
        return f"Word2Vec(model={p.model!r}, vocab={len(self.vocab)}, dim={p.dim}, epochs_done={self.epochs_done})"

    # -- saving and loading the whole model (a checkpoint when training is unfinished) --

    def save(self, path):
        """Write the whole model (its weight matrices, vocabulary with counts, parameters, loss
        history and, if training is unfinished, where it stands) to one file, atomically.
        Load it with Word2Vec.load(); save only the vectors with model.wv.save()."""
        v = self.vocab
        meta = {
            "params": dataclasses.asdict(self.params),
            "vocab": {"total_tokens": v.total_tokens, "distinct": v.distinct, "pruned": v.pruned,
                      "prune_threshold": v.prune_threshold, "bad_utf8": v.bad_utf8,
                      "block_bytes": v.block_bytes},
            "epochs_done": self.epochs_done,
            "loss_history": self.loss_history,
            "schedule": dataclasses.asdict(self.schedule) if self.schedule is not None else None,
            "fingerprint": self.fingerprint,
            "extra": self.extra,
            "phrases": self.phrases.to_dict() if self.phrases is not None else None,
        }
        _ckpt.save(path, meta, v.words, v.counts, self.syn0, self.syn1neg, self.syn1)

    @classmethod
    def load(cls, path):
        """Read a file written by save() (or a --checkpoint file). W2VError if it is damaged."""
        meta, words, counts, syn0, syn1neg, syn1 = _ckpt.load(path)
        try:
            # files written before hs_tree was a parameter trained word2vec.c's tree
            params = Params(**{"hs_tree": "word2vec", **meta["params"]}).validate()
            vocab = Vocab(words=words, counts=np.array(counts, dtype=np.int64), **meta["vocab"])
            if params.dim != syn0.shape[1]:
                raise ValueError(f"dim {params.dim} but vectors of {syn0.shape[1]}")
            if (syn1neg is not None) != (params.negative > 0):
                raise ValueError(f"negative {params.negative} but {'a' if syn1neg is not None else 'no'} syn1neg")
            if (syn1 is not None) != params.hs:
                raise ValueError(f"hs {params.hs} but {'a' if syn1 is not None else 'no'} syn1")
            model = cls(params, vocab, np.ascontiguousarray(syn0),
                        None if syn1neg is None else np.ascontiguousarray(syn1neg),
                        None if syn1 is None else np.ascontiguousarray(syn1))
            model.epochs_done = int(meta["epochs_done"])
            model.loss_history = [float(x) for x in meta["loss_history"]]
            model.schedule = Schedule(**meta["schedule"]) if meta["schedule"] is not None else None
            model.fingerprint = meta["fingerprint"]
            model.extra = dict(meta.get("extra") or {})
            if meta.get("phrases") is not None:
                model.phrases = Phrases.from_dict(meta["phrases"])
        except (KeyError, TypeError, ValueError, W2VError) as exc:
            raise W2VError(f"{os.fspath(path)} is damaged: bad model description ({exc})") from None
        return model

    # -- more training --

    def train(self, corpus, epochs=None, *, callbacks=(), quiet=True, cache_dir=None, threads=None,
              checkpoint=None, checkpoint_every=None, alpha=None, min_alpha=None):
        """Train `epochs` more epochs (default: params.epochs) on a corpus, the same or another
        one, with this model's vocabulary: words not in it are ignored (and counted in the
        report). The learning rate restarts where a schedule over all epochs would stand; with
        `alpha` or `min_alpha` it falls instead from alpha to min_alpha over this call's epochs
        (the other from params; gensim's train() does this). `corpus` may also be the Encoded
        that vocab.scan() returned when it built this model's vocabulary: then it is not read again.
        An unfinished run's remaining chunks are not trained; use resume() for that.
        The corpus is anything w2v.train() takes; it is read once (a generator will do)."""
        if epochs is None:
            epochs = self.params.epochs
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise W2VError(f"epochs must be a positive whole number, not {epochs!r}")
        if alpha is not None or min_alpha is not None:
            rates = dataclasses.replace(self.params, alpha=self.params.alpha if alpha is None else alpha,
                                        min_alpha=self.params.min_alpha if min_alpha is None else min_alpha)
            rates = rates.validate()
            alpha, min_alpha = rates.alpha, rates.min_alpha
        self._set_threads(threads)
        checkpointer = Checkpointer.create(checkpoint, checkpoint_every)
        reporter = _Reporter(quiet)
        if isinstance(corpus, Encoded):
            if corpus.vocab is not self.vocab:
                raise W2VError("an encoded corpus can be trained on only by the model built from its vocabulary")
            encoded, self.fingerprint = corpus, None
        else:
            encoded = self._encode(open_corpus(corpus), cache_dir, reporter)
            self.fingerprint = encoded.fingerprint
        self.schedule = Schedule.begin(self, encoded.train_words, epochs, alpha=alpha, min_alpha=min_alpha)
        return _run(self, encoded.ids, callbacks, reporter, checkpointer)

    def grow_vocab(self, words, counts):
        """Online vocabulary growth (gensim's build_vocab(update=True)): the counts of words
        already in the vocabulary are added to; new words are appended with new input vectors,
        drawn as init_weights draws them (from a stream of their own: the seed and the old
        vocabulary size), and zero output vectors. The vectors of the words already there are
        kept. Returns the number of new words; the next train() trains them."""
        if self.schedule is not None:
            raise W2VError("this model's training run is unfinished: resume() it before growing the vocabulary")
        old = len(self.vocab)
        added = self.vocab.extend(list(words), counts)
        if added:
            self.syn0 = np.concatenate([self.syn0, input_weights(added, self.params.dim, [self.params.seed, old])])
            if self.syn1neg is not None:
                self.syn1neg = np.concatenate([self.syn1neg, output_weights(added, self.params.dim)])
            if self.syn1 is not None:    # hierarchical softmax: one more inner node a word
                self.syn1 = np.concatenate([self.syn1, np.zeros((added, self.params.dim), dtype=np.float32)])
                self._tree = None
        self._wv = None
        return added

    def resume(self, corpus, *, callbacks=(), quiet=True, cache_dir=None, threads=None,
               checkpoint=None, checkpoint_every=None):
        """Finish an interrupted run (a model loaded from a checkpoint, or one that was stopped)
        on the same corpus. With one thread, the result is bit-for-bit that of a run that was
        never interrupted (with several threads, updates race, as in any multi-thread run).

        The corpus is encoded again with the model's vocabulary; if the run is the one that built
        the vocabulary and its scan pruned rare tokens, the scan is repeated instead (same prune
        limit and block size, so the same ids: a word pruned early and seen again later lost its
        early occurrences), and its vocabulary must equal the model's word for word.

        The corpus must be the same text again, of any kind: the same files (checked by their
        names and sizes before reading, and by a hash of their ends and of the tokens after), or
        the same tokens from standard input, a file object or an iterable (a generator must
        yield the same sentences again; checked by the count and a hash of the tokens)."""
        s = self.schedule
        if s is None:
            raise W2VError("this model's training is complete; use model.train(corpus, epochs=N) to train more")
        if "distributed" in self.extra:
            raise W2VError("this run was trained across Dask workers; resume it with w2v.distributed.resume(model, "
                           "corpus, ...) or `w2v train CORPUS --resume STATE --distributed ADDRESS`")
        self._set_threads(threads)
        checkpointer = Checkpointer.create(checkpoint, checkpoint_every)
        reporter = _Reporter(quiet)
        source = open_corpus(corpus)

        def not_the_same(why):
            return W2VError(f"corpus {source.name} is not the one this training run started on ({why}); "
                            f"resume with the same corpus, or use model.train() to train on another")

        why = source.precheck(self.fingerprint) if self.fingerprint is not None else None
        if why:
            raise not_the_same(why)
        encoded = self._encode(source, cache_dir, reporter, rescan=s.scanned and self.vocab.pruned > 0)
        why = fingerprint_mismatch(self.fingerprint, encoded.fingerprint) if self.fingerprint is not None else None
        if why:
            raise not_the_same(why)
        if encoded.train_words != s.train_words:
            raise W2VError(f"corpus {source.name} has {encoded.train_words:,} words of the vocabulary, but "
                           f"the run being resumed had {s.train_words:,}; resume with the same corpus")
        if not s.exact:
            reporter.note("note: the run was stopped in the middle of a chunk; resuming continues "
                          "after it, so the result will differ slightly from an uninterrupted run")
        reporter.note(f"resuming at epoch {s.epoch + 1}/{s.end_epoch}, chunk {s.next_chunk}")
        return _run(self, encoded.ids, callbacks, reporter, checkpointer)

    def _set_threads(self, threads):
        if threads is not None:
            self.params = dataclasses.replace(self.params, threads=threads).validate()

    def _encode(self, corpus, cache_dir, reporter, rescan=False):
        t0 = time.perf_counter()
        if rescan:
            encoded = self._rescan(corpus, cache_dir, reporter)
        else:
            encoded = encode(corpus, self.vocab, cache_dir=cache_dir, progress=reporter.scan_progress,
                             transform=self._transform())
        seconds = time.perf_counter() - t0
        self.timings["scan"] = self.timings.get("scan", 0.0) + seconds
        note = f", {encoded.oov_tokens:,} tokens not in the vocabulary were ignored" if encoded.oov_tokens else ""
        reporter.note(f"corpus: {encoded.train_words:,} words of the vocabulary ({len(self.vocab):,} words)"
                      f"{note}; read in {seconds:.1f}s")
        return encoded

    def _transform(self):
        """What the corpus's text goes through before counting: the phrases joined, if any."""
        return self.phrases.joined_blocks if self.phrases is not None else None

    def _rescan(self, corpus, cache_dir, reporter):
        """The ids of the scan that built this vocabulary, by scanning the corpus again the same way."""
        v, p = self.vocab, self.params
        enc = scan(corpus, min_count=p.min_count, max_vocab=p.max_vocab, max_distinct=p.prune_limit,
                   cache_dir=cache_dir, progress=reporter.scan_progress, block_bytes=v.block_bytes or None,
                   transform=self._transform())
        if enc.vocab.words != v.words or not np.array_equal(enc.vocab.counts, v.counts):
            raise W2VError(f"corpus {corpus.name} does not give this run's vocabulary when scanned again with "
                           f"its prune limit ({p.prune_limit:,}); resume with the same corpus and the w2v version "
                           f"that started the run")
        return Encoded(vocab=v, ids=enc.ids, stats=enc.stats, oov_tokens=enc.vocab.total_tokens - v.train_words,
                       corpus_counts=v.counts, fingerprint=enc.fingerprint)


def row_stride(dim, lines=False):
    """Floats from one weight row to the next while training: dim rounded up to a whole number of
    64-byte cache lines when that costs at most 1/16 more memory (dim 300 -> 304, dim 200 -> 208),
    else dim. With the matrices 64-byte aligned, a padded row never shares a cache line with its
    neighbours and no vector load straddles two lines. In interleaved runs on wiki17m at dim 300,
    skip-gram gained 7-9 % (medians of paired runs) and CBOW stayed within noise (0.99-1.02x);
    at dim 100 the padding (to 112, 12 % more memory) did not pay.

    lines=True pads at any dim: hierarchical softmax (hs_lines), which loads and stores a whole
    path of rows for each skip-gram pair or CBOW example; there a row straddling cache lines costs
    split loads and stores. Padding dim 100 to 112 gained skip-gram about 10 % (medians of five
    alternating runs on 5M words of wiki17m, 1 thread); CBOW, with its path in 16-float registers
    (AVX-512), 14 % (benchmarks/results/hs-cbow-avx512/)."""
    padded = -(-dim // 16) * 16
    return padded if lines or (padded - dim) * 16 <= dim else dim


def hs_lines(p):
    """Whether parameters p train with rows padded to whole cache lines (see row_stride)."""
    return bool(p.hs)


def _aligned_rows(vocab_size, dim, lines=False):
    """A zeroed float32 (vocab_size, dim) view with rows row_stride(dim, lines) apart, the first
    at a 64-byte boundary."""
    stride = row_stride(dim, lines)
    raw = np.zeros(vocab_size * stride + 16, dtype=np.float32)
    off = (-raw.ctypes.data % 64) // 4
    return raw[off:off + vocab_size * stride].reshape(vocab_size, stride)[:, :dim]


def input_weights(vocab_size, dim, seed, lines=False):
    """syn0 uniform in [-1/dim, 1/dim) (gensim's range; word2vec.c's is half as wide, which
    measured 0.6-1.1 analogy points lower after one epoch on wiki17m), a view with rows
    row_stride(dim) apart (see there); compact_rows() makes it a plain array again. The values
    do not depend on the stride."""
    rng = np.random.default_rng(seed)
    syn0 = _aligned_rows(vocab_size, dim, lines)
    block = max(1, (1 << 20) // dim)      # rows drawn at a time: the same stream as one big draw
    for start in range(0, vocab_size, block):
        rows = rng.random((min(block, vocab_size - start), dim), dtype=np.float32)
        rows -= 0.5
        rows *= 2.0 / dim
        syn0[start:start + len(rows)] = rows
    return syn0


def output_weights(rows, dim, lines=False):
    """An output matrix (syn1neg: V rows; syn1: V - 1), zero as in word2vec.c, laid out as syn0."""
    return _aligned_rows(rows, dim, lines)


def init_weights(vocab_size, dim, seed):
    """(syn0, syn1neg): see input_weights and output_weights."""
    return input_weights(vocab_size, dim, seed), output_weights(vocab_size, dim)


def model_weights(vocab_size, p):
    """(syn0, syn1neg, syn1) for parameters p: syn1neg only with negative sampling, syn1 only
    with hierarchical softmax; what is not used is not allocated (None)."""
    lines = hs_lines(p)
    return (input_weights(vocab_size, p.dim, p.seed, lines),
            output_weights(vocab_size, p.dim, lines) if p.negative else None,
            output_weights(vocab_size - 1, p.dim, lines) if p.hs else None)


def compact_rows(a):
    """A C-contiguous array with a's values, moved within a's own buffer (rows only move towards
    its start, so no row is overwritten before it is read): no second copy of the matrix."""
    if a.flags.c_contiguous:
        return a
    base = a.base
    while base is not None and base.base is not None:
        base = base.base
    v, dim = a.shape
    stride = a.strides[0] // a.itemsize
    if (not isinstance(base, np.ndarray) or a.strides[1] != a.itemsize or stride < dim
            or not base.flags.c_contiguous or not base.flags.writeable):
        return np.ascontiguousarray(a)
    flat = base.reshape(-1)
    start = (a.__array_interface__["data"][0] - flat.__array_interface__["data"][0]) // a.itemsize
    out = flat[start:start + v * dim].reshape(v, dim)
    block = max(1, (1 << 18) // dim)
    for r in range(0, v, block):
        out[r:r + block] = a[r:r + block]     # the two overlap: numpy copies through a buffer of one block
    return out


DIVERGED = 10.0          # training whose loss per example passes this many times an untrained model's has
                         # diverged, though no score has become infinite yet (healthy negative sampling stays
                         # below the untrained loss: 2.2-2.8 against 4.16 at negative 5; hierarchical softmax
                         # can sit up to about 1.5x above it, subsampling keeping more of the rare words, whose
                         # paths are longer than the mean)


def untrained_loss(model):
    """The loss per example of a model whose every score is 0: ln 2 for each output of an example, the
    centre word and its noise words, and with hierarchical softmax the nodes of its path (their number
    averaged over the corpus's words)."""
    p = model.params
    outputs = (1 + p.negative) if p.negative else 0
    if p.hs:
        # integers, not np.dot: numpy's BLAS would run a dot product this long on threads that then spin for a
        # while on the cores training is about to use
        counts = np.asarray(model.vocab.counts, dtype=np.int64)
        lengths = np.diff(np.asarray(model.tree.code_start)).astype(np.int64)
        outputs += int((counts * lengths).sum()) / max(int(counts.sum()), 1)
    return outputs * math.log(2.0)


def diverged_message(untrained, loss, where, alpha):
    """The error for training whose loss per example `loss` rose past DIVERGED x `untrained` (that of
    untrained_loss), or None while it has not."""
    if loss <= DIVERGED * untrained:
        return None
    return (f"training diverged {where}: the loss per example rose to {loss:.3g} (an untrained model's is "
            f"{untrained:.2f}); lower --alpha (now {alpha:g})")


HOT_BYTES = 512 * 1024   # per worker and matrix: the rows of the most frequent words it keeps a copy of
HOT_SYNC_WORDS = 10_000  # corpus words between two merges of a worker's copies into the shared rows
HOT_NODES = True         # hierarchical softmax: workers also keep copies of syn1's first hot_rows() rows
MERGE_BLOCKS = 32        # the hot rows are merged in this many blocks, each under its own lock, so that
                         # many workers merge at once (benchmarks/merge_lock.py, benchmarks/scale.md)


def hot_rows(threads, vocab_size, dim):
    """How many of the most frequent words' rows each worker keeps its own copy of.

    With one worker, none: every update goes straight to the shared rows. With several, all
    of them would otherwise write the rows of "the", "of", "," ... all the time (as centre
    words, context words and, most of all, noise words), and each write takes the cache line
    away from the other cores: 2-thread CBOW ran at 0.72x the 1-thread speed per thread. Each
    worker trains on its own copies of the top rows and adds its changes to the shared rows
    every HOT_SYNC_WORDS corpus words and at the end of each chunk.
    """
    if threads < 2:
        return 0
    return min(vocab_size, max(64, HOT_BYTES // (4 * dim)))


def chunk_bounds(ids, chunk_words, step=1 << 20):
    """Start offsets of chunks of about chunk_words tokens, and len(ids) at the end: a chunk ends
    at the first sentence end at or after each multiple of chunk_words (or at the end of ids).
    Reads ids `step` at a time, so besides the result (8 bytes a chunk) it needs memory for
    the sentence ends of one step only, not of the whole corpus."""
    n = len(ids)
    cuts = [np.zeros(1, dtype=np.int64)]
    nominal = chunk_words           # the next multiple of chunk_words still without its cut
    for i in range(0, n, step):
        if nominal >= n:
            break
        eos = np.flatnonzero(np.asarray(ids[i:i + step]) == EOS)
        if not len(eos) or i + int(eos[-1]) < nominal:
            continue
        eos += i
        due = np.arange(nominal, int(eos[-1]) + 1, chunk_words)      # multiples up to this step's last end
        cuts.append(eos[np.searchsorted(eos, due)] + 1)
        nominal = int(due[-1]) + chunk_words
    cuts.append(np.array([n], dtype=np.int64))
    return np.unique(np.concatenate(cuts)).astype(np.int64)


def train(corpus, *, callbacks=(), quiet=True, cache_dir=None, checkpoint=None, checkpoint_every=None,
          check_memory=True, extra=None, read_vocab=None, save_vocab=None, phrases=None, memory_limit=None,
          spill_dir=None, **params):
    """Train word vectors on a corpus: a path (a text file, a .gz, .bz2 or .xz file, a directory of
    them), an open file object (binary or text), or an iterable of sentences, each a list of
    tokens (str, or bytes) or a string split as a line of a file is (list, generator, ...).
    The corpus is read once: its tokens are encoded as ids in compiled code as they come, and
    epochs run over the ids, so a one-shot generator is enough and the sentences are never held.

    Parameters are those of w2v.params.Params (model, dim, window, negative, min_count,
    max_vocab, sample, epochs, alpha, min_alpha, threads, seed, ns_exponent, hs, hs_tree, cbow_mean, shrink_windows,
    chunk_words, shared_negatives, prune_limit: while reading, the rarest tokens are pruned whenever
    more distinct ones are held, which bounds the scan's memory; see w2v.vocab). Returns a
    Word2Vec whose .wv are the vectors. Raises W2VError for bad parameters or input.

    callbacks: callables receiving a Progress about once a second and at each epoch's end,
    from the coordinating thread; raising StopTraining ends training (the model is kept).
    checkpoint, checkpoint_every: write the full training state to the file `checkpoint`
    every N epochs (2, "2e") or every so often ("30s", "10m", "1h"); see Word2Vec.resume().
    check_memory: estimate the memory needed and fail early (W2VError) if it is not there. When the
    encoded corpus would not fit beside the model, it goes to a memory-mapped file (in cache_dir if
    given, else in spill_dir, else the temporary directory; removed when training ends) and a note
    says so; this is decided before reading when the corpus's size is known, and while reading
    otherwise (the ids move to the file when they outgrow the memory left for them).
    memory_limit: bytes (or a size like "4G", "500M") to plan with instead of all the available memory.
    extra: a JSON-able dict saved with the model and its checkpoints (model.extra).
    read_vocab: take the vocabulary (words, order and counts) from this file of `word count`
    lines instead of counting the corpus (word2vec.c's -read-vocab); min_count and max_vocab
    still apply. save_vocab: write the vocabulary to this file before training (-save-vocab).
    phrases: train on the corpus with phrases joined ("new york" -> "new_york"; see w2v.phrases):
    a number of passes to learn them with word2phrase's defaults, the path of a saved phrase
    model, or a phrases.Phrases. The joined text is never written out; model.phrases keeps them.
    Ctrl-C stops training at the next chunk boundary and returns the model with
    .interrupted set; a second Ctrl-C raises KeyboardInterrupt at once.
    """
    try:
        p = Params(**params).validate()
    except TypeError as exc:
        raise W2VError(f"unknown training parameter: {exc}") from None
    checkpointer = Checkpointer.create(checkpoint, checkpoint_every)
    reporter = _Reporter(quiet)
    given = load_vocab_file(read_vocab, min_count=p.min_count, max_vocab=p.max_vocab) if read_vocab is not None else None
    source = open_corpus(corpus)
    available = available_memory(memory_limit)
    capacity = spill = None
    if check_memory:
        estimate = estimate_memory(source, p, cache_dir, available=available)
        if estimate is not None and cache_dir is None and estimate.corpus_bytes > estimate.room_for_corpus():
            cache_dir = spill_dir or tempfile.gettempdir()
            reporter.note(f"the encoded corpus (about {_fmt_bytes(estimate.corpus_bytes)}) will not fit in the memory "
                          f"left beside the model: it goes to a memory-mapped file in {cache_dir} (removed when "
                          f"training ends)")
            estimate = estimate_memory(source, p, cache_dir, available=available)
        if estimate is not None:        # a stream's size is not known before reading it
            reporter.note(estimate.describe())
            estimate.check(margin=1.25)     # a rough estimate: fail now only when clearly too large
            capacity = int(estimate.tokens * 1.25) + (1 << 16)   # the corpus is sampled once, not twice
        if cache_dir is None and available is not None:
            # the estimate can be wrong, and a stream has none: the ids move to a file if they outgrow this
            room = estimate.room_for_corpus() if estimate is not None else available // 2
            spill = Spill(spill_dir or tempfile.gettempdir(), max(room, 1 << 20))
    t_phrases = None
    if phrases is not None:
        t0 = time.perf_counter()
        phrases = resolve_phrases(phrases, corpus, progress=lambda k, nbytes: reporter.scan_progress(nbytes))
        t_phrases = time.perf_counter() - t0
        reporter.phrases(phrases, t_phrases)
    t0 = time.perf_counter()
    transform = phrases.joined_blocks if phrases is not None else None
    if given is not None:
        encoded = encode(source, given, cache_dir=cache_dir, progress=reporter.scan_progress, transform=transform,
                         spill=spill)
        t_scan = time.perf_counter() - t0
        note = f"; {encoded.oov_tokens:,} tokens not in it were left out" if encoded.oov_tokens else ""
        reporter.note(f"vocabulary: {len(given):,} words read from {os.fspath(read_vocab)}, {encoded.train_words:,} "
                      f"words of the corpus in it{note}; read in {t_scan:.1f}s")
    else:
        encoded = scan(source, min_count=p.min_count, max_vocab=p.max_vocab, max_distinct=p.prune_limit,
                       cache_dir=cache_dir, progress=reporter.scan_progress, capacity=capacity, transform=transform,
                       spill=spill)
        t_scan = time.perf_counter() - t0
        reporter.scanned(encoded, t_scan)
    if spill is not None and spill.at is not None:
        cache_dir = spill.directory
        reporter.note(f"the encoded corpus outgrew the memory left for it ({_fmt_bytes(spill.budget)}) after "
                      f"{spill.at:,} tokens: it is in a memory-mapped file in {cache_dir} (removed when training ends)")
    if save_vocab is not None:
        write_vocab_file(encoded.vocab, save_vocab, sentence_ends=len(encoded.ids) - encoded.train_words)
        reporter.note(f"vocabulary written to {os.fspath(save_vocab)}")
    tree = HuffmanTree(encoded.vocab.counts, p.hs_tree) if p.hs else None
    if check_memory:
        exact = MemoryEstimate.after_scan(encoded, p, cache_dir, available=available_memory(memory_limit),
                                          tree_bytes=tree.nbytes if tree else 0)
        reporter.note(exact.describe())
        exact.check()
    model = Word2Vec(p, encoded.vocab, *model_weights(len(encoded.vocab), p))
    model._tree = tree
    model.timings["scan"] = t_scan
    if t_phrases is not None:
        model.timings["phrases"] = t_phrases
    model.fingerprint = encoded.fingerprint
    model.extra = dict(extra or {})
    model.phrases = phrases
    model.schedule = Schedule.begin(model, encoded.train_words, p.epochs, scanned=given is None)
    _run(model, encoded.ids, callbacks, reporter, checkpointer)
    return model


@dataclasses.dataclass
class Schedule:
    """Where an unfinished training run stands; enough to continue it exactly.

    The learning rate falls linearly over `first_epoch`..`end_epoch`; chunks [0, next_chunk) of
    `epoch` are done; `words_done` is the progress counter that drives the learning rate.
    """
    first_epoch: int
    end_epoch: int
    train_words: int            # in-vocabulary words per epoch of the corpus being trained on
    epoch: int
    next_chunk: int = 0
    words_done: int = 0
    epoch_loss: float = 0.0     # sums over the chunks done in this epoch
    epoch_examples: int = 0
    epoch_words: int = 0
    exact: bool = True          # False once a stop cut a chunk short (resuming is then not bit-exact)
    scanned: bool = False       # the ids are those of the scan that built the vocabulary (w2v.train), not encode()'s
    alpha: float = None         # set: the rate falls from alpha to min_alpha over first_epoch..end_epoch
    min_alpha: float = None     # (None: params' rates over epochs 0..end_epoch)

    @classmethod
    def begin(cls, model, train_words, epochs, scanned=False, alpha=None, min_alpha=None):
        first = model.epochs_done
        if alpha is not None:
            min_alpha = model.params.min_alpha if min_alpha is None else min_alpha
        s = cls(first_epoch=first, end_epoch=first + epochs, train_words=int(train_words), epoch=first,
                scanned=scanned, alpha=alpha, min_alpha=min_alpha)
        s.words_done = (first - s.base_epoch) * s.train_words
        return s

    @property
    def base_epoch(self):
        """The epoch where the learning rate starts at alpha."""
        return self.first_epoch if self.alpha is not None else 0

    @property
    def total_words(self):
        """The progress at which the learning rate reaches min_alpha."""
        return self.train_words * (self.end_epoch - self.base_epoch)

    def rates(self, params):
        """(alpha, min_alpha) of this run."""
        return (params.alpha, params.min_alpha) if self.alpha is None else (self.alpha, self.min_alpha)

    def next_epoch(self, words_done):
        self.epoch += 1
        self.next_chunk = 0
        self.words_done = words_done
        self.epoch_loss = 0.0
        self.epoch_examples = 0
        self.epoch_words = 0


class Checkpointer:
    """Writes the training state to `path` every `epochs` epochs or every `seconds` seconds
    (at a chunk boundary, from the coordinating thread, with the workers paused)."""

    def __init__(self, path, epochs=None, seconds=None):
        self.path = os.fspath(path)
        self.epochs = epochs
        self.seconds = seconds
        self.next_time = time.monotonic() + seconds if seconds else None
        self.saves = 0
        self.failures = []
        self.last_seconds = 0.0

    @classmethod
    def create(cls, path, every):
        if every is None:
            if path is not None:
                raise W2VError("checkpoint needs checkpoint_every too (epochs like 2 or '1e', or a time like '10m')")
            return None
        if path is None:
            raise W2VError("checkpoint_every needs a checkpoint file (checkpoint=PATH)")
        epochs, seconds = parse_every(every)
        return cls(path, epochs, seconds)

    def time_due(self):
        return self.next_time is not None and time.monotonic() >= self.next_time

    def epoch_due(self, epochs_done):
        return self.epochs is not None and epochs_done % self.epochs == 0

    def save(self, model, reporter=None):
        """Write a checkpoint. A failure (a full disk) is reported and training goes on: the
        run in memory is worth more than the checkpoint; the next one tries again."""
        t0 = time.perf_counter()
        if self.seconds:
            self.next_time = time.monotonic() + self.seconds
        try:
            model.save(self.path)
        except W2VError as exc:
            self.failures.append(str(exc))
            (reporter or _Reporter(False)).note(f"warning: checkpoint not written: {exc}; training goes on")
            return
        self.last_seconds = time.perf_counter() - t0
        self.saves += 1
        if reporter is not None:
            s = model.schedule
            reporter.note(f"checkpoint written to {self.path} (epoch {s.epoch + 1}, chunk {s.next_chunk}; "
                          f"{self.last_seconds:.2f}s)")


def parse_every(every):
    """'2' or '2e' -> (2, None) epochs; '30s', '10m', '1.5h' -> (None, seconds)."""
    if isinstance(every, bool):
        every = str(every)
    if isinstance(every, int):
        every = str(every)
    text = str(every).strip().lower()
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    try:
        if text.endswith("e"):
            value = int(text[:-1])
        elif text and text[-1] in units:
            seconds = float(text[:-1]) * units[text[-1]]
            if not (seconds > 0 and math.isfinite(seconds)):
                raise ValueError
            return None, seconds
        else:
            value = int(text)
        if value < 1:
            raise ValueError
        return value, None
    except ValueError:
        raise W2VError(f"--checkpoint-every must be a number of epochs (like 2 or 1e) or a time "
                       f"(like 30s, 10m or 1h), not {every!r}") from None


# ---------------------------------------------------------------------------------------
# memory
# ---------------------------------------------------------------------------------------

def parse_size(value, what="--memory-limit"):
    """Bytes from a number of bytes or a size like '500M', '4G', '1.5T' (powers of 1024)."""
    if value is None:
        return None
    if isinstance(value, bool):
        value = str(value)
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    text = str(value).strip().lower().removesuffix("b").removesuffix("i")
    try:
        n = float(text[:-1]) * units[text[-1]] if text and text[-1] in units else float(text)
    except (ValueError, IndexError):
        n = float("nan")
    if not (n >= 1 << 20 and math.isfinite(n)):
        raise W2VError(f"{what} must be a size of at least 1M (like 500M, 4G or a number of bytes), not {value!r}")
    return int(n)


def available_memory(limit=None):
    """MemAvailable from /proc/meminfo in bytes, or None where there is no such file; at most
    `limit` (bytes or a size like '4G') if given."""
    limit = parse_size(limit)
    found = _meminfo_available()
    if limit is None:
        return found
    return limit if found is None else min(found, limit)


def _meminfo_available():
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _fmt_bytes(n):
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1000


WORD_BYTES = 64     # a vocabulary word as a Python string in a list (measured: 63-64 bytes for 3-9 characters)
INDEX_BYTES = 88    # its share of the vectors' word -> row dict and list of words (measured: 67-80 bytes)


@dataclasses.dataclass
class MemoryEstimate:
    vocab_size: int
    dim: int
    tokens: int                 # encoded tokens (with sentence ends)
    cache_dir: object
    exact: bool
    available: int = None
    scan_bytes: int = 0         # extra memory while reading (the table of distinct tokens)
    threads: int = 1
    chunk_words: int = Params.chunk_words
    negative: bool = True       # syn1neg and the alias table are allocated
    hs: bool = False            # syn1 and the Huffman tree are allocated
    tree_bytes: int = None      # the Huffman tree's arrays, when known (else HuffmanTree.estimate_bytes)
    lines: bool = False         # rows padded to whole cache lines at any dim (row_stride, hs_lines)

    @property
    def rows(self):             # weight rows: syn0, syn1neg (V each), syn1 (V - 1)
        return self.vocab_size * (1 + bool(self.negative)) + (self.vocab_size - 1) * bool(self.hs)

    @property
    def hot_bytes(self):        # each worker's copies of the hot rows (its own and a snapshot, every matrix)
        hot = hot_rows(self.threads, self.vocab_size, self.dim)
        rows = hot * (1 + bool(self.negative)) + (min(hot, self.vocab_size - 1) if self.hs and HOT_NODES else 0)
        return self.threads * 2 * rows * row_stride(self.dim, self.lines) * 4

    @property
    def table_bytes(self):      # counts and keep probabilities (12 bytes a word), alias table (8), Huffman tree
        tree = 0
        if self.hs:
            tree = self.tree_bytes if self.tree_bytes is not None else HuffmanTree.estimate_bytes(self.vocab_size)
        return self.vocab_size * (12 + 8 * bool(self.negative)) + tree

    @property
    def model_bytes(self):      # the weight matrices (rows padded, see row_stride), the tables, the hot rows
        return self.rows * row_stride(self.dim, self.lines) * 4 + self.table_bytes + self.hot_bytes

    @property
    def corpus_bytes(self):     # the encoded corpus, unless it lives in --cache-dir files
        return 0 if self.cache_dir is not None else 4 * self.tokens

    @property
    def bounds_bytes(self):     # the chunks' start offsets (8 bytes a chunk, and as much again while they are found)
        return 16 * (self.tokens // self.chunk_words + 2)

    @property
    def words_bytes(self):      # the words as Python strings, and the index the vectors (model.wv) build over them
        return (WORD_BYTES + INDEX_BYTES) * self.vocab_size

    @property
    def needed(self):
        return self.model_bytes + self.corpus_bytes + self.bounds_bytes + self.words_bytes + self.scan_bytes

    def room_for_corpus(self):
        """Bytes the encoded corpus may take in memory: what is available beyond everything else
        the run needs, with a margin of a fifth (None: unknown, take it as enough)."""
        if self.available is None:
            return float("inf")
        other = self.model_bytes + self.bounds_bytes + self.words_bytes + (self.scan_bytes - 4 * self.tokens
                                                                            if self.cache_dir is None else self.scan_bytes)
        return int(0.8 * (self.available - other))

    @classmethod
    def after_scan(cls, encoded, p, cache_dir, available=None, tree_bytes=None):
        # the encoded corpus is already in memory, so MemAvailable no longer includes it
        return cls(vocab_size=len(encoded.vocab), dim=p.dim, tokens=len(encoded.ids), cache_dir=cache_dir,
                   exact=True, available=available, threads=p.threads, chunk_words=p.chunk_words,
                   negative=p.negative > 0, hs=p.hs, tree_bytes=tree_bytes, lines=hs_lines(p))

    def describe(self):
        what = "memory" if self.exact else "memory (estimated before reading)"
        corpus = (f"encoded corpus {_fmt_bytes(self.corpus_bytes)} ({self.tokens:,} tokens)"
                  if self.cache_dir is None else f"encoded corpus in {self.cache_dir} (memory-mapped)")
        hot = f", and {_fmt_bytes(self.hot_bytes)} of frequent words' rows copied by {self.threads} workers" \
            if self.hot_bytes else ""
        stride = row_stride(self.dim, self.lines)
        dims = f"{self.dim} dims" if stride == self.dim else f"{self.dim} dims (rows padded to {stride})"
        words = f"{1 + bool(self.negative)} x {self.vocab_size:,} words"
        if self.hs:
            words = f"({words} + {self.vocab_size - 1:,} inner nodes)"
        tree = f", Huffman tree {_fmt_bytes(self.table_bytes - self.vocab_size * (12 + 8 * bool(self.negative)))}" \
            if self.hs else ""
        text = (f"{what}: model {_fmt_bytes(self.model_bytes)} ({words} x {dims} "
                f"x 4 bytes{tree}{hot}), {corpus}")
        text += f", chunk table {_fmt_bytes(self.bounds_bytes)}, words {_fmt_bytes(self.words_bytes)}"
        if self.scan_bytes:
            text += f", reading {_fmt_bytes(self.scan_bytes)}"
        if self.available is not None:
            text += f"; {_fmt_bytes(self.available)} available"
        return text

    def check(self, margin=1.0):
        # after the scan, the encoded corpus and the words' strings are already in memory
        need = self.model_bytes + self.bounds_bytes + INDEX_BYTES * self.vocab_size if self.exact else self.needed
        if self.available is None or need <= margin * self.available:
            return
        fixes = [f"a smaller --dim (now {self.dim})", "--max-vocab N or a higher --min-count"]
        if self.cache_dir is None and self.corpus_bytes > self.model_bytes:
            fixes.insert(0, "--cache-dir DIR to keep the encoded corpus on disk")
        elif self.cache_dir is None:
            fixes.append("--cache-dir DIR to keep the encoded corpus on disk")
        raise W2VError(f"not enough memory: {self.describe()}; use " + ", ".join(fixes))


def estimate_memory(corpus, p, cache_dir=None, available=None):
    """A cheap estimate before reading the corpus: tokens from the file sizes and a sample of the
    first few MB; vocabulary from Heaps' law and Zipf's law (words seen at least min_count times
    are about distinct / min_count). The scanner's table holds at most p.prune_limit + half a
    block of distinct tokens (see vocab), about 100 bytes each. None for a corpus whose size
    cannot be known before reading it (a pipe, an iterable): train() then checks after the scan."""
    est = open_corpus(corpus).estimate()
    if est is None:
        return None
    vocab = max(1, est.distinct // p.min_count)
    if p.max_vocab:
        vocab = min(vocab, p.max_vocab)
    tokens = int(est.tokens * 1.05)    # sentence ends
    table = 100 * min(est.distinct, p.prune_limit + BLOCK_BYTES // 2 + 18)
    scan_bytes = 4 * tokens + table if cache_dir is None else table
    return MemoryEstimate(vocab_size=vocab, dim=p.dim, tokens=tokens, cache_dir=cache_dir, exact=False,
                          available=available if available is not None else available_memory(),
                          scan_bytes=scan_bytes, threads=p.threads,
                          chunk_words=p.chunk_words, negative=p.negative > 0, hs=p.hs, lines=hs_lines(p))


# ---------------------------------------------------------------------------------------
# the training loop
# ---------------------------------------------------------------------------------------

DRAIN_SECONDS = 2.0     # after Ctrl-C or StopTraining, chunks in flight may finish for this long
POLL_SECONDS = 0.1      # how often the coordinating thread looks at the clock, errors and Ctrl-C


class _Abort(KeyboardInterrupt):
    """A second Ctrl-C: give up at once."""


class _CtrlC:
    """While training runs in the main thread: the first Ctrl-C only sets `pressed` (the
    coordinator sees it and stops cleanly at the next chunk boundary); the second raises _Abort.
    A flag rather than an exception, so the first press can never land in the middle of the
    driver's bookkeeping (starting threads, updating the schedule)."""

    def __init__(self):
        self.pressed = False
        self.previous = None

    def __enter__(self):
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.pressed:
            raise _Abort()
        self.pressed = True

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


class _RunStats:
    def __init__(self):
        self.ctrl_c = None
        self.t0 = time.perf_counter()
        self.words = 0          # words trained by this call (for words/s)
        self.kept = 0           # of those, the words subsampling kept
        self.loss = 0.0         # their summed loss
        self.next_tick = self.t0 + 1.0      # progress callbacks: about once a second


def train_state(model, ids, total_words):
    """The compiled kernels' state for training `model` (its parameters, vocabulary and weight
    matrices, trained in place) on the encoded corpus `ids`; the learning rate falls from alpha to
    min_alpha as the progress counter goes from 0 to total_words."""
    p = model.params
    vocab = model.vocab
    keep = keep_probabilities(vocab.counts, p.sample)
    prob, alias = alias_table(vocab.counts, p.ns_exponent) if p.negative else (None, None)
    rates = model.schedule.rates(p) if model.schedule is not None else (p.alpha, p.min_alpha)
    hot = hot_rows(p.threads, len(vocab), p.dim)
    return _kernels.TrainState(model.syn0, model.syn1neg, ids, keep, prob, alias, p.model == "cbow",
                               p.window, p.negative, *rates, total_words,
                               shared_negatives=p.shared_negatives, hot_rows=hot, hot_sync=HOT_SYNC_WORDS,
                               syn1=model.syn1, tree=model.tree, cbow_mean=p.cbow_mean, shrink_windows=p.shrink_windows,
                               hot_nodes=hot if HOT_NODES else 0, merge_blocks=MERGE_BLOCKS)


def _run(model, ids, callbacks, reporter, checkpointer=None):
    p = model.params
    s = model.schedule
    bounds = chunk_bounds(ids, p.chunk_words)
    total = s.total_words
    state = train_state(model, ids, total)
    run = _RunStats()
    model.interrupted = False
    model._wv = None            # the weights change: cached unit vectors would go stale
    try:
        with _CtrlC() as run.ctrl_c:
            _epochs(model, state, bounds, callbacks, reporter, checkpointer, run, total)
    except _Abort:
        raise
    except KeyboardInterrupt:   # Ctrl-C between chunks where no handler is installed (not the main thread)
        model.interrupted = True
    finally:
        # the workers have returned: the padded rows become plain arrays, in place
        model.syn0 = compact_rows(model.syn0)
        if model.syn1neg is not None:
            model.syn1neg = compact_rows(model.syn1neg)
        if model.syn1 is not None:
            model.syn1 = compact_rows(model.syn1)
        elapsed = time.perf_counter() - run.t0
        model.timings["train"] = model.timings.get("train", 0.0) + elapsed
        model.words_per_sec = run.words / elapsed if elapsed > 0 else 0.0
        model.raw_words, model.effective_words, model.train_loss = run.words, run.kept, run.loss
        reporter.done(model, run.words, elapsed)
    if not model.interrupted:
        model.schedule = None
    return model


def _epochs(model, state, bounds, callbacks, reporter, checkpointer, run, total):
    """Epochs until the schedule ends or training stops (sets model.interrupted)."""
    s = model.schedule
    while s.epoch < s.end_epoch:
        if run.ctrl_c.pressed:
            model.interrupted = True
            break
        fresh = s.next_chunk == 0 and s.epoch_words == 0
        state.set_progress((s.epoch - s.base_epoch) * s.train_words if fresh else s.words_done)
        if _epoch(model, state, bounds, callbacks, reporter, checkpointer, run):
            model.interrupted = True
            break
        loss = s.epoch_loss / s.epoch_examples if s.epoch_examples else float("nan")
        if s.epoch_examples:
            model.loss_history.append(loss)
        info = _progress(state, "epoch_end", s.epoch, s.end_epoch, total, run, loss)
        model.epochs_done = s.epoch + 1
        s.next_epoch(state.words_done)
        reporter.epoch_end(info)
        if checkpointer is not None and s.epoch < s.end_epoch and checkpointer.epoch_due(model.epochs_done):
            checkpointer.save(model, reporter)
        if _call(callbacks, info):
            model.interrupted = True
            break


def _call(callbacks, info):
    """Call every callback; True if one asked to stop."""
    for cb in callbacks:
        try:
            cb(info)
        except StopTraining:
            return True
    return False


def _progress(state, event, epoch, epochs, total, run, loss):
    elapsed = time.perf_counter() - run.t0
    return Progress(event=event, epoch=epoch, epochs=epochs, words_done=state.words_done, words_total=total,
                    words_per_sec=run.words / elapsed if elapsed > 0 else 0.0, alpha=state.alpha,
                    loss=loss, elapsed=elapsed, loss_sum=run.loss)


def _epoch(model, state, bounds, callbacks, reporter, checkpointer, run):
    """The rest of the current epoch, in segments between checkpoints. True if training stopped."""
    n_chunks = len(bounds) - 1
    s = model.schedule
    while s.next_chunk < n_chunks:
        outcome = _segment(model, state, bounds, callbacks, reporter, checkpointer, run)
        if outcome == "stop":
            return True
        if outcome == "pause":
            try:
                checkpointer.save(model, reporter)
            except _Abort:
                raise
            except KeyboardInterrupt:   # the save was cancelled (nothing half-written): a stop
                return True
            if run.ctrl_c.pressed:
                return True
    return False


def _segment(model, state, bounds, callbacks, reporter, checkpointer, run, end_chunk=None):
    """Run p.threads workers over the chunks from s.next_chunk until the epoch ends ("done"),
    a checkpoint is due ("pause": no new chunks are handed out and those in flight finish), or
    Ctrl-C or a callback stops training ("stop", the same way; chunks still running after
    DRAIN_SECONDS are cut short). A second Ctrl-C raises _Abort once the workers have returned.
    end_chunk: stop before this chunk instead of at the epoch's end (a distributed round)."""
    p = model.params
    s = model.schedule
    n_chunks = len(bounds) - 1 if end_chunk is None else end_chunk
    epoch = s.epoch
    untrained = untrained_loss(model)
    lock = threading.Lock()
    ctl = {"pause": False, "running": p.threads}
    finished = threading.Event()
    errors = []

    def worker():
        try:
            while True:
                with lock:
                    if ctl["pause"] or s.next_chunk >= n_chunks:
                        return
                    c = s.next_chunk
                    s.next_chunk += 1
                words, examples, loss, status, kept = state.train_chunk(
                    int(bounds[c]), int(bounds[c + 1]), p.seed, epoch, c)
                with lock:
                    s.epoch_loss += loss
                    s.epoch_examples += examples
                    s.epoch_words += words
                    run.words += words
                    run.kept += kept
                    run.loss += loss
                if status == _kernels.NAN:
                    raise DivergedError(
                        f"training diverged (a score became NaN or infinite) at epoch {epoch + 1}; "
                        f"lower --alpha (now {p.alpha})")
                why = examples and diverged_message(untrained, loss / examples, f"at epoch {epoch + 1}", p.alpha)
                if why:
                    raise DivergedError(why)
                if status == _kernels.STOPPED:
                    s.exact = False
                    return
        except BaseException as exc:   # relayed to the caller; the other workers stop
            errors.append(exc)
            state.request_stop()
        finally:
            with lock:
                ctl["running"] -= 1
                if ctl["running"] == 0:
                    finished.set()

    # The coordinator waits on `finished`, not on Thread.join: on some Pythons a Ctrl-C that
    # interrupts join() marks a thread that is still running as stopped.
    threads = [threading.Thread(target=worker, name=f"w2v-worker-{i}", daemon=True) for i in range(p.threads)]
    for t in threads:
        t.start()
    outcome = "done"
    by_user = False
    deadline = None
    total = s.total_words

    def pause(why):
        nonlocal outcome, deadline
        with lock:
            ctl["pause"] = True
        if why == "stop" and outcome != "stop":
            deadline = time.perf_counter() + DRAIN_SECONDS
        outcome = why

    try:
        while not finished.is_set():
            try:
                finished.wait(POLL_SECONDS)
                now = time.perf_counter()
                if run.ctrl_c.pressed and not by_user:
                    raise KeyboardInterrupt     # handled just below, as if it had interrupted the wait
                if deadline is not None and now >= deadline:
                    state.request_stop()          # chunks still running: cut them short
                    deadline = None
                if errors or outcome == "stop":
                    continue
                if outcome == "done" and checkpointer is not None and checkpointer.time_due():
                    pause("pause")
                if now >= run.next_tick:
                    run.next_tick = now + 1.0
                    with lock:
                        loss = s.epoch_loss / s.epoch_examples if s.epoch_examples else float("nan")
                    info = _progress(state, "progress", epoch, s.end_epoch, total, run, loss)
                    reporter.tick(info)
                    if _call(callbacks, info):
                        pause("stop")
            except _Abort:
                raise
            except KeyboardInterrupt:
                if by_user:
                    raise _Abort() from None
                by_user = True
                if outcome != "stop":
                    pause("stop")
                reporter.note("stopping: letting the chunks in progress finish (Ctrl-C again to abort)")
    except BaseException:
        state.request_stop()
        finished.wait()
        state.clear_stop()
        raise
    for t in threads:
        t.join()
    state.clear_stop()
    s.words_done = state.words_done
    if errors:
        raise errors[0]
    if outcome == "pause" and not s.exact:
        outcome = "stop"
    return outcome


class _Reporter:
    """A progress line on a terminal; a line per epoch otherwise; nothing when quiet."""

    def __init__(self, quiet, stream=None):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_scan = 0.0

    def _line(self, text, final=True):
        if self.quiet:
            return
        if self.tty:
            self.stream.write("\r\033[K" + text + ("\n" if final else ""))
        elif final:
            self.stream.write(text + "\n")
        self.stream.flush()

    def note(self, text):
        self._line(text)

    def scan_progress(self, nbytes):
        now = time.perf_counter()
        if self.tty and now - self._last_scan > 0.5:
            self._last_scan = now
            self._line(f"reading corpus: {nbytes / 1e6:,.0f} MB", final=False)

    def scanned(self, enc, seconds):
        v = enc.vocab
        extra = []
        if v.pruned:
            extra.append(f"rare tokens pruned {v.pruned}x during the scan to bound memory "
                         f"(threshold {v.prune_threshold}); counts of rare words are approximate")
        if enc.stats.split_lines:
            extra.append(f"{enc.stats.split_lines} long lines split into chunks of 10,000 tokens")
        if v.bad_utf8:
            extra.append(f"{v.bad_utf8} words had invalid UTF-8 (replaced by U+FFFD)")
        if enc.stats.nul_bytes:
            extra.append(f"{enc.stats.nul_bytes} NUL bytes read as spaces")
        if enc.stats.cut_tokens:
            extra.append(f"{enc.stats.cut_tokens} pieces of 64 KiB were cut from runs of over 1 MiB without whitespace")
        self._line(f"vocabulary: {len(v):,} words (of {v.distinct:,} distinct), {v.train_words:,} of "
                   f"{v.total_tokens:,} tokens in vocabulary; read in {seconds:.1f}s")
        for e in extra:
            self._line("note: " + e)

    def phrases(self, phrases, seconds):
        info = phrases.info
        self._line(f"phrases: {len(phrases):,} in {len(info)} pass{'es' if len(info) != 1 else ''} "
                   f"({phrases.scoring} scoring, threshold {phrases.threshold:g}, min-count {phrases.min_count})"
                   f"; {seconds:.1f}s")
        for k, i in enumerate(info, 1):
            if i.pruned:
                self._line(f"note: phrases pass {k}: rare words and pairs pruned {i.pruned}x to hold at most "
                           f"{phrases.max_entries:,} (threshold {i.prune_threshold}); their counts are approximate")

    def tick(self, info):
        if not self.tty or self.quiet:
            return
        rate = info.words_per_sec
        left = (info.words_total - info.words_done) / rate if rate > 0 else float("nan")
        self._line(f"epoch {info.epoch + 1}/{info.epochs}  {100 * info.fraction:5.1f}%  "
                   f"{rate / 1e3:,.0f}k words/s  lr {info.alpha:.5f}  loss {info.loss:.4f}  "
                   f"ETA {_fmt_time(left)}", final=False)

    def epoch_end(self, info):
        self._line(f"epoch {info.epoch + 1}/{info.epochs} done: loss {info.loss:.4f}, "
                   f"{info.words_per_sec / 1e3:,.0f}k words/s, {_fmt_time(info.elapsed)} elapsed")

    def done(self, model, words, seconds):
        if model.interrupted:
            self._line(f"training stopped early after {words:,} words")


def _fmt_time(s):
    if not math.isfinite(s):
        return "--:--"
    s = int(s)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
