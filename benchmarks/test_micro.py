"""Micro-benchmarks of the compiled kernels and the numpy query path (pytest-benchmark).

    pytest benchmarks/test_micro.py                       # all of them, about a minute
    pytest benchmarks/test_micro.py -k kernel --benchmark-json out.json

Rates (words/s, draws/s, tokens/s) are in each benchmark's extra_info: over the median round and the
best round. The calls into w2v internals are kept to one helper each, so they are easy to adapt.
"""
import threading

import numpy as np
import pytest

from w2v import _kernels
from w2v.train import HOT_SYNC_WORDS, hot_rows, init_weights
from w2v.vectors import KeyedVectors
from w2v.vocab import EOS, alias_table, keep_probabilities, scan

ROUNDS = 3


def make_state(stream, model, dim, window=5, negative=5, sample=1e-3, hot=0):
    """A fresh TrainState over the stream (new weights each round, so rounds do the same work).
    hot: rows of the most frequent words each worker keeps its own copy of (training uses
    w2v.train.hot_rows(threads, ...): none for 1 thread)."""
    syn0, syn1neg = init_weights(len(stream.counts), dim, seed=1)
    prob, alias = alias_table(stream.counts, 0.75)
    alpha = 0.025 if model == "sg" else 0.05
    # total_words far beyond the chunk: the learning rate stays near alpha for the whole round
    return _kernels.TrainState(syn0, syn1neg, stream.ids, keep_probabilities(stream.counts, sample), prob, alias,
                               model == "cbow", window, negative, alpha, 1e-4, 100 * len(stream.ids),
                               hot_rows=hot, hot_sync=HOT_SYNC_WORDS)


def split_at_sentences(ids, parts):
    """[start, end) ranges of about len/parts tokens each, cut after an EOS."""
    eos = np.flatnonzero(ids == EOS)
    cuts = [0]
    for k in range(1, parts):
        i = np.searchsorted(eos, k * len(ids) // parts)
        if i < len(eos) and eos[i] + 1 > cuts[-1]:
            cuts.append(int(eos[i]) + 1)
    cuts.append(len(ids))
    return list(zip(cuts[:-1], cuts[1:]))


def train_threads(state, ranges):
    """Train each range in its own thread (the kernel releases the GIL); total words trained."""
    words = [0] * len(ranges)

    def work(i, start, end):
        words[i] = state.train_chunk(start, end, 1, 0, i)[0]

    threads = [threading.Thread(target=work, args=(i, s, e)) for i, (s, e) in enumerate(ranges)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(words)


@pytest.mark.parametrize("model,dim,threads,hot", [
    ("sg", 100, 1, True), ("sg", 300, 1, True), ("cbow", 100, 1, True), ("cbow", 300, 1, True),
    # thread scaling, with and without the workers' own copies of the most frequent rows
    ("sg", 100, 2, True), ("cbow", 100, 2, True), ("cbow", 300, 2, True),
    ("sg", 100, 2, False), ("cbow", 100, 2, False), ("cbow", 300, 2, False),
])
def test_kernel_throughput(benchmark, record_rate, id_stream, model, dim, threads, hot):
    ranges = split_at_sentences(id_stream.ids, threads)
    rows = hot_rows(threads, len(id_stream.counts), dim) if hot else 0
    benchmark.group = f"kernel {model}"
    benchmark.extra_info.update(corpus=id_stream.source, model=model, dim=dim, threads=threads, hot_rows=rows)
    benchmark.pedantic(train_threads, setup=lambda: ((make_state(id_stream, model, dim, hot=rows), ranges), {}),
                       rounds=ROUNDS, iterations=1)
    # corpus words (in-vocabulary tokens, before subsampling) per second, as training reports them
    record_rate(benchmark, id_stream.words, "words")


@pytest.mark.parametrize("hot", [False, True])
def test_chunk_overhead(benchmark, record_rate, id_stream, hot):
    """The fixed cost of one chunk, measured on empty chunks: the worker loop's Python (lock, bookkeeping,
    the call), the kernel's per-chunk set-up (random streams, buffers) and, with hot rows (several
    workers), copying and merging the worker's copies of the most frequent rows. Training claims chunks of
    100,000 tokens (Params.chunk_words); extra_info gives the cost per chunk in microseconds."""
    n_chunks = 1_000
    rows = hot_rows(2, len(id_stream.counts), 100) if hot else 0
    state = make_state(id_stream, "cbow", 100, hot=rows)
    lock = threading.Lock()
    totals = {"words": 0, "next": 0}

    def loop():
        # the body of w2v.train's worker loop, over chunks that hold no tokens
        for c in range(n_chunks):
            with lock:
                totals["next"] += 1
            words, examples, loss, status, kept = state.train_chunk(0, 0, 1, 0, c)
            with lock:
                totals["words"] += words

    benchmark.group = "chunk overhead"
    benchmark.extra_info.update(hot_rows=rows, chunks=n_chunks)
    benchmark.pedantic(loop, rounds=5, iterations=1, warmup_rounds=1)
    assert totals["words"] == 0 and totals["next"] >= n_chunks
    record_rate(benchmark, n_chunks, "chunks")     # 1e6 / chunks_per_sec: microseconds per chunk


def test_alias_draws(benchmark, record_rate):
    n, vocab_size = 2_000_000, 100_000
    counts = (1e7 / np.arange(1, vocab_size + 1)).astype(np.int64) + 1
    prob, alias = alias_table(counts, 0.75)
    benchmark.group = "alias"
    benchmark.extra_info.update(vocab=vocab_size, draws=n)
    out = benchmark.pedantic(_kernels._draw_py, args=(prob, alias, n, 1), rounds=5, iterations=1)
    assert len(out) == n and out.max() < vocab_size
    record_rate(benchmark, n, "draws")


@pytest.mark.parametrize("max_distinct", [20_000_000, 5_000], ids=["no-pruning", "pruning"])
def test_scan(benchmark, record_rate, text_corpus, max_distinct):
    """The default prune limit, and one that prunes after most blocks of 64 KiB."""
    path, n_words = text_corpus
    benchmark.group = "scan"
    benchmark.extra_info.update(words=n_words, mb=round(path.stat().st_size / 1e6, 1), max_distinct=max_distinct)
    kwargs = {"min_count": 5, "max_distinct": max_distinct}
    if max_distinct < 50_000:
        kwargs["block_bytes"] = 1 << 16
    enc = benchmark.pedantic(scan, args=(str(path),), kwargs=kwargs, rounds=ROUNDS, iterations=1)
    assert enc.vocab.total_tokens == n_words and (enc.vocab.pruned > 0) == (max_distinct < 50_000)
    record_rate(benchmark, n_words, "tokens")
    record_rate(benchmark, path.stat().st_size / 1e6, "mb")


@pytest.fixture(scope="module")
def random_vectors():
    rng = np.random.default_rng(0)
    n, dim = 100_000, 300
    kv = KeyedVectors([f"w{i}" for i in range(n)], rng.standard_normal((n, dim), dtype=np.float32))
    kv.most_similar("w0", topn=1)   # normalise once, outside the timing
    return kv


def test_most_similar(benchmark, random_vectors):
    benchmark.group = "query"
    benchmark.extra_info.update(vocab=len(random_vectors), dim=random_vectors.vector_size)
    words = iter([f"w{i}" for i in range(1, 10_000)])
    result = benchmark.pedantic(lambda: random_vectors.most_similar(next(words), topn=10), rounds=30, iterations=1,
                                warmup_rounds=2)
    assert len(result) == 10
