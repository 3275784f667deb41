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
import sys
import threading
import time

import numpy as np

from . import _kernels
from .errors import W2VError
from .params import Params
from .vocab import EOS, Vocab, alias_table, keep_probabilities, scan


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

    @property
    def fraction(self):
        return self.words_done / self.words_total if self.words_total else 1.0


class Word2Vec:
    """A trained (or training) model: parameters, vocabulary, and both weight matrices.

    wv         the word vectors (KeyedVectors over syn0)
    syn0       input vectors, shape (V, dim)
    syn1neg    output vectors of negative sampling, shape (V, dim)
    """

    def __init__(self, params, vocab, syn0, syn1neg):
        self.params = params
        self.vocab = vocab
        self.syn0 = syn0
        self.syn1neg = syn1neg
        self.epochs_done = 0
        self.loss_history = []      # mean loss per positive example, per epoch
        self.timings = {}
        self.interrupted = False
        self.words_per_sec = 0.0
        self._wv = None

    @property
    def wv(self):
        from .vectors import KeyedVectors
        if self._wv is None:
            self._wv = KeyedVectors(self.vocab.words, self.syn0, counts=self.vocab.counts)
        return self._wv

    def __repr__(self):
        p = self.params
        return f"Word2Vec(model={p.model!r}, vocab={len(self.vocab)}, dim={p.dim}, epochs_done={self.epochs_done})"


def init_weights(vocab_size, dim, seed):
    """syn0 uniform in [-0.5/dim, 0.5/dim) as in word2vec.c; syn1neg zero."""
    rng = np.random.default_rng(seed)
    syn0 = rng.random((vocab_size, dim), dtype=np.float32)
    syn0 -= 0.5
    syn0 /= dim
    syn1neg = np.zeros((vocab_size, dim), dtype=np.float32)
    return syn0, syn1neg


def chunk_bounds(ids, chunk_words):
    """Start offsets of chunks of about chunk_words tokens, each ending at a sentence end."""
    n = len(ids)
    eos = []
    step = 1 << 24
    for i in range(0, n, step):
        eos.append(np.flatnonzero(np.asarray(ids[i:i + step]) == EOS) + i)
    eos = np.concatenate(eos) if eos else np.empty(0, dtype=np.int64)
    nominal = np.arange(chunk_words, n, chunk_words)
    k = np.searchsorted(eos, nominal)
    cuts = eos[k[k < len(eos)]] + 1
    return np.unique(np.concatenate([[0], cuts, [n]])).astype(np.int64)


def train(corpus, *, callbacks=(), quiet=True, cache_dir=None, **params):
    """Train word vectors on a corpus (a text file, a .gz file, or a directory of them).

    Parameters are those of w2v.params.Params (model, dim, window, negative, min_count,
    max_vocab, sample, epochs, alpha, min_alpha, threads, seed, ns_exponent). Returns a
    Word2Vec whose .wv are the vectors. Raises W2VError for bad parameters or input.
    """
    try:
        p = Params(**params).validate()
    except TypeError as exc:
        raise W2VError(f"unknown training parameter: {exc}") from None
    reporter = _Reporter(quiet)
    t0 = time.perf_counter()
    encoded = scan(corpus, min_count=p.min_count, max_vocab=p.max_vocab, cache_dir=cache_dir,
                   progress=reporter.scan_progress)
    t_scan = time.perf_counter() - t0
    reporter.scanned(encoded, t_scan)
    syn0, syn1neg = init_weights(len(encoded.vocab), p.dim, p.seed)
    model = Word2Vec(p, encoded.vocab, syn0, syn1neg)
    model.timings["scan"] = t_scan
    _run(model, encoded.ids, p.epochs, callbacks, reporter)
    return model


def _run(model, ids, epochs, callbacks, reporter):
    p = model.params
    vocab = model.vocab
    keep = keep_probabilities(vocab.counts, p.sample)
    prob, alias = alias_table(vocab.counts, p.ns_exponent)
    bounds = chunk_bounds(ids, p.chunk_words)
    train_words = vocab.train_words
    first = model.epochs_done
    total = train_words * (first + epochs)
    state = _kernels.TrainState(model.syn0, model.syn1neg, ids, keep, prob, alias, p.model == "cbow",
                                p.window, p.negative, p.alpha, p.min_alpha, total)
    t0 = time.perf_counter()
    words_run = 0
    try:
        for epoch in range(first, first + epochs):
            state.set_progress(epoch * train_words)
            loss, examples, words, stopped = _epoch(state, bounds, p, epoch, first + epochs, total,
                                                    callbacks, reporter, t0, words_run)
            words_run += words
            if examples:
                model.loss_history.append(loss / examples)
            if stopped:
                model.interrupted = True
                break
            model.epochs_done = epoch + 1
            info = _progress(state, "epoch_end", epoch, first + epochs, total, t0, words_run,
                             model.loss_history[-1] if model.loss_history else float("nan"))
            reporter.epoch_end(info)
            if _call(callbacks, info):
                model.interrupted = True
                break
    finally:
        elapsed = time.perf_counter() - t0
        model.timings["train"] = model.timings.get("train", 0.0) + elapsed
        model.words_per_sec = words_run / elapsed if elapsed > 0 else 0.0
        reporter.done(model, words_run, elapsed)
    return model


def _call(callbacks, info):
    """Call every callback; True if one asked to stop."""
    for cb in callbacks:
        try:
            cb(info)
        except StopTraining:
            return True
    return False


def _progress(state, event, epoch, epochs, total, t0, words_run, loss):
    elapsed = time.perf_counter() - t0
    return Progress(event=event, epoch=epoch, epochs=epochs, words_done=state.words_done, words_total=total,
                    words_per_sec=words_run / elapsed if elapsed > 0 else 0.0, alpha=state.alpha,
                    loss=loss, elapsed=elapsed)


def _epoch(state, bounds, p, epoch, epochs, total, callbacks, reporter, t0, words_before):
    """One pass over all chunks with p.threads workers. Returns (loss, examples, words, stopped)."""
    n_chunks = len(bounds) - 1
    cursor = iter(range(n_chunks))
    lock = threading.Lock()
    acc = {"loss": 0.0, "examples": 0, "words": 0}
    errors = []

    def worker():
        try:
            while True:
                with lock:
                    c = next(cursor, None)
                if c is None:
                    return
                words, examples, loss, status = state.train_chunk(int(bounds[c]), int(bounds[c + 1]), p.seed, epoch, c)
                with lock:
                    acc["loss"] += loss
                    acc["examples"] += examples
                    acc["words"] += words
                if status == _kernels.NAN:
                    raise W2VError(
                        f"training diverged (a score became NaN or infinite) at epoch {epoch + 1}; "
                        f"lower --alpha (now {p.alpha})")
                if status == _kernels.STOPPED:
                    return
        except BaseException as exc:   # relayed to the caller; the other workers stop
            errors.append(exc)
            state.request_stop()

    threads = [threading.Thread(target=worker, name=f"w2v-worker-{i}", daemon=True) for i in range(p.threads)]
    for t in threads:
        t.start()
    stopped = False
    try:
        next_tick = time.perf_counter() + 1.0
        for t in threads:
            while t.is_alive():
                t.join(0.1)
                now = time.perf_counter()
                if now >= next_tick and not errors:
                    next_tick = now + 1.0
                    with lock:
                        words_now = acc["words"]
                        loss = acc["loss"] / acc["examples"] if acc["examples"] else float("nan")
                    info = _progress(state, "progress", epoch, epochs, total, t0, words_before + words_now, loss)
                    reporter.tick(info)
                    if _call(callbacks, info):
                        stopped = True
                        state.request_stop()
    except BaseException:
        state.request_stop()
        for t in threads:
            t.join()
        raise
    if errors:
        raise errors[0]
    if stopped:
        state.clear_stop()
    return acc["loss"], acc["examples"], acc["words"], stopped


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
            extra.append(f"{enc.stats.cut_tokens} tokens longer than 64 KiB were cut")
        self._line(f"vocabulary: {len(v):,} words (of {v.distinct:,} distinct), {v.train_words:,} of "
                   f"{v.total_tokens:,} tokens in vocabulary; read in {seconds:.1f}s")
        for e in extra:
            self._line("note: " + e)

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
