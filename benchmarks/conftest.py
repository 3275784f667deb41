"""Shared inputs for the micro-benchmarks: a token-id stream (a chunk of wiki1m when ../shared is there,
else a synthetic Zipfian stream), and a generated text file for the vocabulary scan."""
import dataclasses
import os
import sys

import numpy as np
import pytest

try:
    import w2v  # noqa: F401
except ImportError:   # running from a source checkout with an in-place build
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import w2v  # noqa: F401

from w2v.vocab import EOS

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WIKI1M = os.path.join(os.path.dirname(REPO), "shared", "corpora", "wiki1m.txt.gz")
CHUNK_TOKENS = 200_000      # tokens (EOS included) per kernel benchmark round
SYNTH_VOCAB = 30_000


@dataclasses.dataclass
class IdStream:
    ids: np.ndarray         # uint32 token ids, EOS between sentences
    counts: np.ndarray      # int64 count per vocabulary word (all > 0)
    source: str

    @property
    def words(self):
        return int(np.count_nonzero(self.ids != EOS))


def zipf_ids(n_tokens, vocab_size, seed=0, mean_sentence=20):
    """Word ids with P(rank r) ~ 1/r (id 0 most frequent), sentences of geometric length."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, vocab_size + 1)
    ids = rng.choice(vocab_size, size=n_tokens, p=p / p.sum()).astype(np.uint32)
    ends = np.cumsum(rng.geometric(1.0 / mean_sentence, size=n_tokens // mean_sentence + 1))
    ids[ends[ends < n_tokens]] = EOS
    counts = np.bincount(ids[ids != EOS], minlength=vocab_size).astype(np.int64) + 1
    return ids, counts


def _real_chunk():
    from w2v.vocab import scan
    enc = scan(WIKI1M, min_count=5)
    ids = np.asarray(enc.ids)
    eos = np.flatnonzero(ids[:CHUNK_TOKENS] == EOS)
    end = int(eos[-1]) + 1 if len(eos) else min(len(ids), CHUNK_TOKENS)
    return IdStream(np.ascontiguousarray(ids[:end]), np.asarray(enc.vocab.counts, dtype=np.int64),
                    f"wiki1m (first {end:,} tokens, vocabulary {len(enc.vocab):,})")


@pytest.fixture(scope="session")
def id_stream():
    if os.path.isfile(WIKI1M) and not os.environ.get("W2V_BENCH_SYNTHETIC"):
        return _real_chunk()
    ids, counts = zipf_ids(CHUNK_TOKENS, SYNTH_VOCAB)
    return IdStream(ids, counts, f"synthetic Zipf (1/rank, {CHUNK_TOKENS:,} tokens, vocabulary {SYNTH_VOCAB:,})")


@pytest.fixture(scope="session")
def text_corpus(tmp_path_factory):
    """A generated ~1M-token text file: Zipfian words over a 50,000-word vocabulary."""
    n_tokens, vocab_size = 1_000_000, 50_000
    ids, _ = zipf_ids(n_tokens, vocab_size, seed=1)
    words = np.array([f"w{i}" for i in range(vocab_size)] + ["\n"], dtype=object)
    ids = ids.astype(np.int64)
    ids[ids == EOS] = vocab_size
    path = tmp_path_factory.mktemp("scan") / "corpus.txt"
    text = " ".join(words[ids]).replace(" \n ", "\n")
    path.write_text(text + "\n")
    return path, n_tokens - int(np.count_nonzero(ids == vocab_size))


_RATES = []   # (benchmark name, unit, per second over the median round), printed after the run


@pytest.fixture
def record_rate(request):
    """record_rate(benchmark, amount, unit): put amount / round time (median and best round) in extra_info."""
    def record(benchmark, amount, unit):
        stats = getattr(benchmark, "stats", None)
        if stats is None:       # --benchmark-disable: nothing was timed
            return
        s = stats.stats
        benchmark.extra_info[f"{unit}_per_sec"] = round(amount / s.median)
        benchmark.extra_info[f"{unit}_per_sec_best"] = round(amount / s.min)
        _RATES.append((request.node.name, unit, amount / s.median))
    return record


def pytest_terminal_summary(terminalreporter):
    if not _RATES:
        return
    terminalreporter.section("rates (median round)")
    width = max(len(name) for name, _, _ in _RATES)
    for name, unit, rate in _RATES:
        terminalreporter.write_line(f"{name:{width}s}  {rate:16,.0f} {unit}/s")
