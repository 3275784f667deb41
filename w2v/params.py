"""Training parameters: defined once here, validated once here.

Every default lives in `Params`; the CLI and `w2v.train()` both build a Params and call
`validate()`, which raises W2VError with a message that says what to fix.
"""
import dataclasses
import os

import numpy as np

from .errors import W2VError

MAX_SENTENCE = 10_000  # longer lines are split into chunks of this many tokens (never dropped)
HS_TREES = ("gensim", "word2vec")   # hierarchical softmax's Huffman trees (vocab.HuffmanTree)
MAX_PRUNE_LIMIT = 4_000_000_000  # the scanner's ids are 32-bit: the limit + one block's new tokens must fit


def usable_cores():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


@dataclasses.dataclass(frozen=True)
class Params:
    model: str = "sg"            # "sg" (skip-gram) or "cbow"
    dim: int = 100               # vector size
    window: int = 5              # maximum context distance; the effective window is drawn from 1..window
    negative: int = 5            # noise words per positive example (0: none; needs hs)
    min_count: int = 5           # words seen fewer times are dropped from the vocabulary
    max_vocab: int = 0           # keep only the most frequent words (0: no limit)
    sample: float = 1e-3         # subsampling threshold t of frequent words (0 disables)
    epochs: int = 5
    alpha: float = None          # starting learning rate: 0.025 for skip-gram and CBOW with a sum, 0.05 for CBOW (mean)
    min_alpha: float = 0.0001    # learning rate at the end of training (linear decay)
    threads: int = None          # worker threads: the usable cores by default
    seed: int = 1
    ns_exponent: float = 0.75    # noise distribution: count ** ns_exponent
    chunk_words: int = 100_000   # tokens a worker claims at a time
    shared_negatives: bool = True  # skip-gram: draw one set of noise words per window (HogBatch)
    prune_limit: int = 20_000_000  # the scan prunes the rarest tokens when it holds more distinct ones
    hs: bool = False             # hierarchical softmax (word2vec.c's -hs 1), alone (negative=0) or with negative sampling
    cbow_mean: bool = True       # CBOW: the mean of the context vectors (False: their sum, gensim's cbow_mean=0)
    shrink_windows: bool = True  # each window's width drawn from 1..window (False: always `window`, gensim's shrink_windows=False)
    hs_tree: str = "gensim"      # hierarchical softmax's Huffman tree: gensim's, or word2vec.c's (see vocab.HuffmanTree)

    def resolved(self):
        """A copy with the model-dependent defaults filled in."""
        alpha = self.alpha if self.alpha is not None else (0.05 if self.model == "cbow" and self.cbow_mean else 0.025)
        threads = self.threads if self.threads is not None else usable_cores()
        return dataclasses.replace(self, alpha=alpha, threads=threads)

    def validate(self):
        p = dataclasses.replace(self, hs=_as_bool("hs", self.hs), cbow_mean=_as_bool("cbow_mean", self.cbow_mean),
                                shrink_windows=_as_bool("shrink_windows", self.shrink_windows))
        p = p.resolved()
        if p.model not in ("sg", "cbow"):
            raise W2VError(f"model must be 'sg' or 'cbow', not {p.model!r}")
        if p.hs_tree not in HS_TREES:
            raise W2VError(f"{_flag('hs_tree')} must be one of {', '.join(repr(t) for t in HS_TREES)}, "
                           f"not {p.hs_tree!r}")
        _check_int("dim", p.dim, 1, 10_000)
        _check_int("window", p.window, 1, 1_000)
        _check_int("negative", p.negative, 0, 1_000)
        if p.negative == 0 and not p.hs:
            raise W2VError("--negative 0 leaves nothing to train: add --hs (hierarchical softmax) "
                           "or give --negative N of at least 1")
        _check_int("min_count", p.min_count, 1, None)
        _check_int("max_vocab", p.max_vocab, 0, None)
        _check_int("epochs", p.epochs, 1, 100_000)
        _check_int("threads", p.threads, 1, 1_024)
        _check_int("seed", p.seed, 0, 2**63 - 1)
        _check_int("chunk_words", p.chunk_words, 1_000, None)
        _check_int("prune_limit", p.prune_limit, 1, MAX_PRUNE_LIMIT)
        _check_float("sample", p.sample, 0.0, 1.0)
        _check_float("alpha", p.alpha, 0.0, 10.0, low_open=True)
        _check_float("min_alpha", p.min_alpha, 0.0, 10.0)
        _check_float("ns_exponent", p.ns_exponent, -10.0, 10.0)
        if p.min_alpha > p.alpha:
            raise W2VError(f"min_alpha ({p.min_alpha}) must not exceed alpha ({p.alpha})")
        return p


def _flag(name):
    return "--" + name.replace("_", "-")


def _check_int(name, value, low, high):
    if isinstance(value, bool) or not isinstance(value, int):
        raise W2VError(f"{_flag(name)} must be a whole number, not {value!r}")
    if value < low or (high is not None and value > high):
        rng = f"at least {low}" if high is None else f"between {low} and {high}"
        raise W2VError(f"{_flag(name)} must be {rng}, not {value}")


def _as_bool(name, value):
    if isinstance(value, (bool, int, np.bool_, np.integer)) and value in (0, 1):
        return bool(value)
    raise W2VError(f"{_flag(name)} must be True or False (1 or 0), not {value!r}")


def _check_float(name, value, low, high, low_open=False):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise W2VError(f"{_flag(name)} must be a number, not {value!r}") from None
    if value != value or value < low or value > high or (low_open and value == low):
        op = ">" if low_open else ">="
        raise W2VError(f"{_flag(name)} must be {op} {low} and <= {high}, not {value}")
