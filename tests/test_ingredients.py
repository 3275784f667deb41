"""Each ingredient of training checked against its definition, not against the kernel's own code path.

The kernels draw windows, subsampling and noise words from random streams; these tests never
replay those streams. Where a test needs an exact answer it removes the randomness by
construction (window 1 has no reduced window; a noise table with all its weight on one "sink"
word draws nothing else; hierarchical softmax draws nothing at all); elsewhere it compares a
count with its expectation under the algorithm's definition, with a tolerance stated in
standard deviations. (The Huffman tree itself: test_hs.py.)
"""
import heapq
import importlib
import math
import threading
import time

import numpy as np
import pytest

import w2v
from w2v.vocab import EOS, alias_table

train_module = importlib.import_module("w2v.train")     # the module (w2v.train is the function)


def ids_of(sentences):
    return np.concatenate([np.append(np.asarray(s, dtype=np.uint32), EOS) for s in sentences]).astype(np.uint32)


def only(word, vocab_size):
    """An alias table that draws `word` every time (all the weight on it)."""
    weights = np.zeros(vocab_size)
    weights[word] = 1.0
    return alias_table(weights, 1.0)


def sigmoid_w2v(f):
    """word2vec.c's sigmoid: 1 or 0 outside [-6, 6], else its 1000-entry table (float32 index)."""
    f = np.float32(f)
    if f >= 6:
        return 1.0
    if f <= -6:
        return 0.0
    i = int((f + np.float32(6)) * np.float32(1000 / 12))
    x = (i / 1000 * 2 - 1) * 6
    return 1 / (1 + math.exp(-x))


# ---------------------------------------------------------------------------------------
# the whole update, exactly, where nothing is random
# ---------------------------------------------------------------------------------------

def heap_huffman(counts):
    """A Huffman tree by the textbook heap algorithm (independent of the kernels' two-pointer
    build): {word: (codes, rows)} from the root, inner nodes numbered from the root (row 0) in
    the reverse of the order they were made."""
    V = len(counts)
    heap = [(int(c), i) for i, c in enumerate(counts)]
    heapq.heapify(heap)
    children, made = {}, V
    while len(heap) > 1:
        (c1, a), (c2, b) = heapq.heappop(heap), heapq.heappop(heap)
        children[made] = (a, b)
        heapq.heappush(heap, (c1 + c2, made))
        made += 1
    root, paths, stack = made - 1, {}, [(made - 1, [], [])]
    while stack:
        node, codes, rows = stack.pop()
        if node < V:
            paths[node] = (codes, rows)
            continue
        for bit, child in enumerate(children[node]):
            stack.append((child, codes + [bit], rows + [root - node]))
    return paths


def flat_tree(paths):
    """{word: (codes, rows)} as the kernels take a tree: (path, code_start), every entry of path
    row << 1 | code."""
    V = len(paths)
    lengths = [len(paths[w][0]) for w in range(V)]
    code_start = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    path = np.array([r << 1 | c for w in range(V) for c, r in zip(*paths[w])], dtype=np.uint32)
    return path, code_start


def reference_window_one(sentences, syn0, syn1neg, cbow, negative, alpha, sink, syn1=None, paths=None,
                         cbow_mean=True):
    """word2vec.c's training loop at window 1 (no reduced window) with every noise word `sink`.
    Skip-gram: each neighbour's input vector predicts the centre word; CBOW: their mean (or sum)
    does, and the error goes to every neighbour undivided. With syn1, hierarchical softmax
    first: at each node of the centre word's path, label 1 - code, nodes with |score| >= 6
    skipped; then negative sampling, into the same error. Returns the matrices and the loss."""
    syn0 = syn0.astype(np.float64)
    syn1neg = None if syn1neg is None else syn1neg.astype(np.float64)
    syn1 = None if syn1 is None else syn1.astype(np.float64)
    loss = [0.0]

    def step(h, row, label, err):
        f = np.dot(h, row)
        loss[0] += math.log1p(math.exp(-f if label else f))
        g = (label - sigmoid_w2v(f)) * alpha
        err += g * row
        row += g * h

    def update(h, word):
        err = np.zeros_like(h)
        if syn1 is not None:
            for code, node in zip(*paths[word]):
                if abs(np.dot(h, syn1[node])) >= 6:
                    loss[0] += math.log1p(math.exp(-abs(np.dot(h, syn1[node]))))
                    continue
                step(h, syn1[node], 1 - code, err)
        for target, label in ([(word, 1)] + [(sink, 0)] * negative) if negative else []:
            if label == 0 and target == word:
                continue
            step(h, syn1neg[target], label, err)
        return err

    for sen in sentences:
        for i, word in enumerate(sen):
            ctx = [sen[j] for j in (i - 1, i + 1) if 0 <= j < len(sen)]
            if not ctx:
                continue
            if cbow:
                h = np.sum([syn0[c] for c in ctx], axis=0)
                err = update(h / len(ctx) if cbow_mean else h, word)
                for c in ctx:
                    syn0[c] += err
            else:
                for c in ctx:
                    syn0[c] += update(syn0[c].copy(), word)
    return syn0, syn1neg, syn1, loss[0]


@pytest.mark.parametrize("mode", ["sg", "sg-per-pair", "cbow", "cbow-sum"])
@pytest.mark.parametrize("output", ["ns", "hs", "hs+ns"])
@pytest.mark.parametrize("hot", [0, 5])
@pytest.mark.parametrize("dim", [6, 45, 150])
def test_window_one_training_is_word2vec_exactly(mode, output, hot, dim, kernels):
    """Every neighbour of every word is trained, CBOW averages (or sums) its neighbours, the true
    word has label 1 and noise words label 0, hierarchical softmax follows the centre word's
    path with label 1 - code at each node, both add into one error, and a worker's own copies
    of the hot rows (merged every 7 words) train exactly as the shared rows would. Dim 45 takes
    every part of the 8-float vector code (32, 8 and 4 floats at a time, then one); dim 150 two
    blocks of the 16-float code (128 floats, then 22: one full register and one masked)."""
    rng = np.random.default_rng(11)
    V, alpha = 12, 0.05
    negative = 0 if output == "hs" else 2
    sink = V                                   # a word that is never in the text
    sentences = [rng.integers(0, V, size=rng.integers(1, 9)).tolist() for _ in range(40)]
    syn0 = rng.normal(0, 0.3, (V + 1, dim)).astype(np.float32)
    syn1neg = rng.normal(0, 0.3, (V + 1, dim)).astype(np.float32) if negative else None
    syn1 = paths = tree = None
    if output != "ns":
        counts = np.sort(rng.integers(1, 50, size=V + 1))[::-1]
        paths = heap_huffman(counts)
        tree = flat_tree(paths)
        syn1 = rng.normal(0, 0.3, (V, dim)).astype(np.float32)
    cbow = mode.startswith("cbow")
    initial = syn0.copy()
    want0, want1, want_hs, want_loss = reference_window_one(sentences, syn0, syn1neg, cbow, negative, alpha, sink,
                                                            syn1, paths, cbow_mean=(mode != "cbow-sum"))
    prob, alias = only(sink, V + 1)
    state = kernels.TrainState(syn0, syn1neg, ids_of(sentences), None, prob, alias, cbow, 1, negative,
                               alpha, alpha, 10**9, shared_negatives=(mode == "sg"), hot_rows=hot, hot_sync=7,
                               syn1=syn1, tree=tree, cbow_mean=(mode != "cbow-sum"))
    words, examples, loss, status, kept = state.train_chunk(0, len(ids_of(sentences)), 3, 0, 0)
    assert status == 0 and words == kept == sum(map(len, sentences))
    pairs = sum(2 * len(s) - 2 for s in sentences)
    assert examples == (sum(len(s) for s in sentences if len(s) > 1) if cbow else pairs)
    assert np.abs(want0 - initial).max() > 1e-2     # training moved the vectors
    np.testing.assert_allclose(syn0, want0, rtol=1e-4, atol=2e-5)
    if negative:
        np.testing.assert_allclose(syn1neg, want1, rtol=1e-4, atol=2e-5)
    if syn1 is not None:
        np.testing.assert_allclose(syn1, want_hs, rtol=1e-4, atol=2e-5)
    assert loss == pytest.approx(want_loss, rel=0.01)     # the loss comes from a 1000-cell table


@pytest.mark.parametrize("dim", [16, 150])
def test_a_node_saturated_for_one_pair_of_a_window_trains_for_the_next(dim, kernels):
    """Skip-gram trains a window's pairs one after the other along the same path: a node skipped for
    one context word (its score beyond 6) still gets its score, and its update, for the next one."""
    rng = np.random.default_rng(dim)
    V, alpha = 5, 0.05
    sentences = [[1, 0, 2], [3, 0, 4]]
    syn0 = rng.normal(0, 0.3, (V, dim)).astype(np.float32)
    counts = np.array([50, 20, 15, 10, 5])
    paths = heap_huffman(counts)
    codes, rows = paths[0]
    node = rows[0]
    syn1 = rng.normal(0, 0.3, (V - 1, dim)).astype(np.float32)
    # node's score: 40 against word 1 (saturated), 0.5 against word 2 (trained)
    syn1[node] = np.linalg.lstsq(syn0[[1, 2]].astype(np.float64), [40.0, 0.5], rcond=None)[0]
    want0, _, want_hs, want_loss = reference_window_one(sentences, syn0, None, False, 0, alpha, V, syn1, paths)
    prob, alias = only(4, V)
    before = syn1[node].copy()
    state = kernels.TrainState(syn0, None, ids_of(sentences), None, prob, alias, False, 1, 0, alpha, alpha, 10**9,
                               shared_negatives=True, syn1=syn1, tree=flat_tree(paths))
    words, examples, loss, status, kept = state.train_chunk(0, len(ids_of(sentences)), 3, 0, 0)
    assert status == 0 and examples == 8
    assert np.abs(want_hs[node] - before).max() > 1e-3       # the node did train (for word 2)
    np.testing.assert_allclose(syn0, want0, rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(syn1, want_hs, rtol=1e-4, atol=2e-5)
    assert loss == pytest.approx(want_loss, rel=0.01)


# ---------------------------------------------------------------------------------------
# the reduced window
# ---------------------------------------------------------------------------------------

def expected_pairs(lengths, window):
    """word2vec.c draws b uniformly from 0..window-1 for every centre word and trains the
    neighbours within window - b on each side. Mean and variance of the number of pairs."""
    mean = var = 0.0
    for n, times in zip(*np.unique(lengths, return_counts=True)):
        i = np.arange(n)[:, None]
        r = np.arange(1, window + 1)[None, :]           # the effective window, window - b
        k = (np.minimum(n - 1, i + r) - np.maximum(0, i - r)).astype(float)
        mean += times * k.mean(axis=1).sum()
        var += times * k.var(axis=1).sum()
    return mean, var


@pytest.mark.parametrize("shared", [True, False])
def test_reduced_window_trains_as_many_pairs_as_word2vec(shared, kernels):
    rng = np.random.default_rng(2)
    V, window = 50, 5
    lengths = rng.integers(1, 40, size=3000)
    sentences = [rng.integers(0, V, size=n) for n in lengths]
    ids = ids_of(sentences)
    prob, alias = only(V, V + 1)
    syn0 = rng.normal(0, 0.01, (V + 1, 4)).astype(np.float32)
    syn1neg = np.zeros_like(syn0)
    state = kernels.TrainState(syn0, syn1neg, ids, None, prob, alias, False, window, 1, 1e-4, 1e-4, 10**9,
                               shared_negatives=shared)
    words, examples, *_ = state.train_chunk(0, len(ids), 8, 0, 0)
    mean, var = expected_pairs(lengths, window)
    assert abs(examples - mean) < 5 * math.sqrt(var), (examples, mean, math.sqrt(var))
    full = sum(min(n - 1, i + window) - max(0, i - window) for n in lengths.tolist() for i in range(n))
    assert full - mean > 50 * math.sqrt(var)       # the full window would be far off
    # gensim's shrink_windows=False: every window at full width, so exactly every pair within `window`
    fixed = kernels.TrainState(syn0, syn1neg, ids, None, prob, alias, False, window, 1, 1e-4, 1e-4, 10**9,
                               shared_negatives=shared, shrink_windows=False)
    assert fixed.train_chunk(0, len(ids), 8, 0, 0)[1] == full


def test_trainer_hands_the_fixed_window_to_the_kernels(tmp_path):
    """shrink_windows=False (--fixed-window) reaches the kernels: one thread and one seed repeat a run
    bit for bit, so a different result can only come from the windows."""
    path = zipf_corpus(tmp_path / "zipf.txt", tokens=20_000)
    runs = [w2v.train(path, window=5, epochs=1, threads=1, min_count=1, dim=8, seed=3, shrink_windows=shrink)
            for shrink in (True, True, False)]
    assert np.array_equal(runs[0].syn0, runs[1].syn0)
    assert not np.array_equal(runs[0].syn0, runs[2].syn0)
    assert runs[2].params.shrink_windows is False


# ---------------------------------------------------------------------------------------
# subsampling
# ---------------------------------------------------------------------------------------

def zipf_corpus(path, words=400, tokens=600_000, line=20, seed=0):
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, words + 1)
    p /= p.sum()
    draws = rng.choice(words, size=tokens, p=p)
    vocab = np.array([f"w{i}" for i in range(words)])
    with open(path, "w") as fh:
        for start in range(0, tokens, line):
            fh.write(" ".join(vocab[draws[start:start + line]]) + "\n")
    return path


def test_subsampling_keeps_each_word_at_word2vecs_rate(tmp_path):
    """word2vec.c keeps a word of count c among T words with probability
    (sqrt(c / (s T)) + 1) (s T) / c; the words kept over an epoch match that in expectation."""
    path = zipf_corpus(tmp_path / "zipf.txt")
    sample = 1e-2
    m = w2v.train(path, sample=sample, epochs=1, threads=1, min_count=1, dim=8, seed=3)
    counts = m.vocab.counts.astype(np.float64)
    total = counts.sum()
    keep = np.minimum(1.0, (np.sqrt(counts / (sample * total)) + 1) * (sample * total) / counts)
    mean, sd = (counts * keep).sum(), math.sqrt((counts * keep * (1 - keep)).sum())
    assert m.raw_words == total
    assert abs(m.effective_words - mean) < 5 * sd, (m.effective_words, mean, sd)
    assert total - mean > 100 * sd              # the test has teeth: frequent words are dropped a lot
    off = w2v.train(path, sample=0, epochs=1, threads=1, min_count=1, dim=8, seed=3)
    assert off.effective_words == off.raw_words == total


# ---------------------------------------------------------------------------------------
# the learning rate, as the kernel applies it
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("start", [0, 30_000])
def test_kernel_learning_rate_falls_linearly_with_progress(start, kernels):
    """Sentences of two words of their own: the first update of a word's output row (zero before)
    is 0.5 * alpha * (its neighbour's input row), so every sentence shows the learning rate the
    kernel used. It must follow alpha0 - (alpha0 - min_alpha) * progress / total, refreshed at
    least every 10,000 words (word2vec.c refreshes every 10,000 too)."""
    S, dim, a0, a1 = 30_000, 4, 0.04, 0.0004
    V = 2 * S + 1
    total = start + 2 * S
    rng = np.random.default_rng(5)
    syn0 = rng.uniform(0.5, 1.0, (V, dim)).astype(np.float32)
    initial = syn0.copy()
    syn1neg = np.zeros((V, dim), dtype=np.float32)
    ids = ids_of([[2 * i, 2 * i + 1] for i in range(S)])
    prob, alias = only(V - 1, V)
    state = kernels.TrainState(syn0, syn1neg, ids, None, prob, alias, False, 1, 1, a0, a1, total)
    state.set_progress(start)
    state.train_chunk(0, len(ids), 1, 0, 0)
    first = np.arange(0, 2 * S, 2)
    used = 2 * np.einsum("ij,ij->i", syn1neg[first], initial[first + 1]) / np.einsum("ij,ij->i", initial[first + 1],
                                                                                       initial[first + 1])
    done = start + first                               # words before each sentence

    def schedule(words):
        return np.maximum(a1, a0 - (a0 - a1) * np.clip(words, 0, None) / total)

    assert np.all(used >= schedule(done) * (1 - 1e-4) - 1e-7)               # never ahead of progress ...
    assert np.all(used <= schedule(done - 10_000 - 2) * (1 + 1e-4) + 1e-7)  # ... nor more than 10,000 words behind
    assert used[-1] < 0.3 * a0 and state.words_done == start + 2 * S


def test_learning_rate_schedule_spans_the_epochs(planted_corpus):
    seen = []
    w2v.train(planted_corpus, dim=8, epochs=4, min_count=1, threads=2, alpha=0.04, min_alpha=0.0004,
              chunk_words=2000, callbacks=[lambda p: seen.append(p) if p.event == "epoch_end" else None])
    assert [p.epoch for p in seen] == [0, 1, 2, 3]
    for p in seen:
        fraction = p.words_done / p.words_total
        assert fraction == pytest.approx((p.epoch + 1) / 4)
        assert p.alpha == pytest.approx(0.04 - (0.04 - 0.0004) * fraction, rel=1e-4, abs=1e-6)


# ---------------------------------------------------------------------------------------
# noise words
# ---------------------------------------------------------------------------------------

def test_training_draws_noise_words_from_the_unigram_power(kernels):
    """Noise-only words (never in the text) receive only negative updates. With every input row
    along one vector e and a tiny learning rate, each draw of noise word n adds
    -sigmoid(f) * alpha * e to its output row (f stays in one table cell), so the rows count the
    draws. They must follow count ** 0.75 over the noise words."""
    rng = np.random.default_rng(9)
    C, counts = 10, np.array([1, 10, 100, 1000])
    V = C + len(counts)
    weights = np.concatenate([np.zeros(C), counts.astype(float)])
    prob, alias = alias_table(weights, 0.75)
    e = np.full(4, 0.05, dtype=np.float32)
    syn0 = np.tile(e, (V, 1))
    syn1neg = np.zeros((V, 4), dtype=np.float32)
    ids = ids_of(rng.integers(0, C, size=(50_000, 2)))
    alpha, negative = 1e-5, 2
    state = kernels.TrainState(syn0, syn1neg, ids, None, prob, alias, True, 1, negative, alpha, alpha, 10**9)
    words, examples, *_ = state.train_chunk(0, len(ids), 4, 0, 0)
    draws = negative * examples
    sig = sigmoid_w2v(-0.001)                           # the table cell just below 0
    got = -(syn1neg[C:] @ e) / (sig * alpha * float(e @ e))
    p = counts ** 0.75 / (counts ** 0.75).sum()
    want = draws * p
    assert got.sum() == pytest.approx(draws, rel=0.02)
    assert np.all(np.abs(got - want) < 4 * np.sqrt(want) + 0.02 * want), (got, want)


@pytest.mark.parametrize("exponent", [0.75, 0.5, 1.0])
def test_the_trainer_hands_the_kernel_count_to_the_power(planted_corpus, monkeypatch, exponent):
    """An alias table (prob, alias) draws i with probability (prob[i] + sum over j whose alias is i
    of (1 - prob[j])) / V (Vose). The table training uses must give count ** ns_exponent."""
    seen = []
    real = train_module._kernels.TrainState

    def recording(syn0, syn1neg, ids, keep, prob, alias, *args, **kwargs):
        seen.append((np.array(prob), np.array(alias)))
        return real(syn0, syn1neg, ids, keep, prob, alias, *args, **kwargs)

    monkeypatch.setattr(train_module._kernels, "TrainState", recording)
    text = " ".join(f"w{i} " * (i + 1) for i in range(30))      # counts 1..30
    path = planted_corpus.parent / f"ramp-{exponent}.txt"
    path.write_text(text + "\n")
    m = w2v.train(path, min_count=1, epochs=1, threads=1, dim=4, ns_exponent=exponent)
    prob, alias = seen[-1]
    V = len(prob)
    implied = prob.astype(np.float64).copy()
    np.add.at(implied, alias, 1.0 - prob)
    implied /= V
    want = m.vocab.counts.astype(np.float64) ** exponent
    np.testing.assert_allclose(implied, want / want.sum(), rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------------------------
# several workers at once
# ---------------------------------------------------------------------------------------

def run_two_workers(state, bounds):
    """Two threads claim chunks from a shared cursor, as the trainer's workers do. Returns the
    (start, end) time of every chunk, by worker. Each waits for the other to hold its first chunk
    before training it: on a busy machine the second thread could otherwise start only after the
    first had taken every chunk (a run of a few milliseconds)."""
    lock = threading.Lock()
    cursor = [0]
    spans = [[], []]
    both = threading.Barrier(2, timeout=60)

    def work(k):
        first = True
        while True:
            with lock:
                c = cursor[0]
                cursor[0] += 1
            if first:
                both.wait()
                first = False
            if c >= len(bounds) - 1:
                return
            t0 = time.perf_counter()
            assert state.train_chunk(int(bounds[c]), int(bounds[c + 1]), 1, 0, c)[3] == 0
            spans[k].append((t0, time.perf_counter()))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return spans


def overlap(spans):
    return sum(max(0.0, min(b1, b2) - max(a1, a2)) for a1, b1 in spans[0] for a2, b2 in spans[1])


@pytest.mark.parametrize("hot", [64, 0])
def test_two_workers_at_once_lose_no_updates(hot, kernels):
    """CBOW at window 1 on sentences of two words, every input row along one vector e, a tiny
    learning rate: each time a word is a centre word its output row gains 0.5 * alpha * e (its
    score stays in the table cell of 0), whoever trains it. Two workers train at the same time;
    the frequent words' rows are the workers' own hot copies (merged every 1,000 words), the
    others are shared. Every row must show every update: a lost merge or a lost worker shows."""
    rng = np.random.default_rng(1)
    C, sinks, dim, alpha = 1000, 2000, 8, 1e-5
    V = C + sinks
    p = 1.0 / np.arange(1, C + 1)
    sentences = rng.choice(C, size=(300_000, 2), p=p / p.sum())
    ids = ids_of(sentences)
    weights = np.concatenate([np.zeros(C), np.ones(sinks)])     # noise: rows of their own, never hot
    prob, alias = alias_table(weights, 1.0)
    e = np.full(dim, 0.05, dtype=np.float32)
    syn0 = np.tile(e, (V, 1))
    syn1neg = np.zeros((V, dim), dtype=np.float32)
    state = kernels.TrainState(syn0, syn1neg, ids, None, prob, alias, True, 1, 1, alpha, alpha, 10**9,
                               hot_rows=hot, hot_sync=1000)
    bounds = np.arange(0, len(ids) + 1, 3 * 5000)          # chunks of 5,000 sentences
    bounds[-1] = len(ids)
    spans = run_two_workers(state, bounds)
    assert spans[0] and spans[1] and overlap(spans) > 0, "the two workers never trained at the same time"
    times_centre = np.bincount(sentences.ravel(), minlength=C)
    got = (syn1neg[:C] @ e) / (0.5 * alpha * float(e @ e))
    shared = np.arange(C) >= 64
    if hot:     # the hot rows are the workers' own copies, merged under a lock: exact
        np.testing.assert_allclose(got[:64], times_centre[:64], rtol=0.005)
    # Shared rows race without locks (Hogwild, as in word2vec.c): the most frequent ones lose a
    # few percent of their updates when both workers write them at once (that is what the hot
    # rows are for), and a worker stalled in the middle of an update can lose a few more; over all
    # the rarer rows together, updates are complete.
    assert got[shared].sum() == pytest.approx(times_centre[shared].sum(), rel=0.01)
    seen = shared & (times_centre >= 200)
    np.testing.assert_allclose(got[seen], times_centre[seen], rtol=0.1)


@pytest.mark.parametrize("output", ["ns", "hs"])
@pytest.mark.parametrize("blocks", [32, 1, 64])
def test_many_workers_merging_at_once_lose_no_update(output, blocks, kernels):
    """Eight workers merge their hot rows into one model at the same time, over and over, with no
    training in between: before each of its merges worker k adds k + 1 to every float of its hot
    rows (its copies of syn0's first rows, and of syn1neg's or syn1's). Each shared hot float must
    end at its start plus merges x (1 + 2 + ... + 8), exactly (small integers are exact in float32):
    two workers merging one block at once would lose one of the additions. The other rows stay."""
    rng = np.random.default_rng(5)
    V, dim, hot, hot_nodes, workers, merges = 3000, 12, 2001, 1499, 8, 600
    syn0 = rng.integers(-50, 50, (V, dim)).astype(np.float32)
    ids = np.zeros(1, dtype=np.uint32)
    if output == "ns":
        syn1neg, syn1, tree, negative, hot_nodes = rng.integers(-50, 50, (V, dim)).astype(np.float32), None, None, 1, 0
        prob, alias = only(0, V)
    else:
        syn1neg, negative, prob, alias = None, 0, None, None
        syn1 = rng.integers(-50, 50, (V - 1, dim)).astype(np.float32)
        tree = kernels.build_huffman(np.arange(V, 0, -1, dtype=np.int64))
    out, rows = (syn1neg, hot) if output == "ns" else (syn1, hot_nodes)
    start0, start1 = syn0.copy(), out.copy()
    state = kernels.TrainState(syn0, syn1neg, ids, None, prob, alias, False, 1, negative, 0.025, 0.0001, 10**9,
                               hot_rows=hot, syn1=syn1, tree=tree, hot_nodes=hot_nodes, merge_blocks=blocks)
    results = [None] * workers
    barrier = threading.Barrier(workers)

    def work(k):
        barrier.wait()
        results[k] = state._merge_loop(merges, 0, float(k + 1))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r["merges"] == merges for r in results)
    events = sorted([(r["start_ns"], 1) for r in results] + [(r["end_ns"], -1) for r in results])
    running = np.cumsum([e[1] for e in events])
    assert running.max() >= workers // 2, "fewer than half of the workers ever merged at the same time"
    added = merges * sum(range(1, workers + 1))
    np.testing.assert_array_equal(syn0[:hot], start0[:hot] + added)
    np.testing.assert_array_equal(out[:rows], start1[:rows] + added)
    np.testing.assert_array_equal(syn0[hot:], start0[hot:])
    np.testing.assert_array_equal(out[rows:], start1[rows:])


@pytest.mark.parametrize("model", ["sg", "cbow"])
def test_trainer_runs_two_workers_over_every_chunk(tmp_path, monkeypatch, model):
    """w2v.train with two threads on a corpus of many chunks and more words than the workers'
    hot rows: both workers train at once, every chunk is trained exactly once per epoch, and the
    planted structure is learnt."""
    from conftest import neighbour_accuracy, write_planted_corpus
    path = write_planted_corpus(tmp_path / "c.txt", groups=100, per_group=8, sentences=12_000, length=12)
    real = train_module._kernels.TrainState
    log = []

    class Recording(real):
        def train_chunk(self, start, end, seed, epoch, chunk):
            t0 = time.perf_counter()
            out = super().train_chunk(start, end, seed, epoch, chunk)
            log.append((epoch, chunk, threading.get_ident(), t0, time.perf_counter(), out[0]))
            return out

    monkeypatch.setattr(train_module._kernels, "TrainState", Recording)
    m = w2v.train(path, model=model, dim=300, window=4, negative=5, min_count=1, sample=0, epochs=3,
                  threads=2, chunk_words=4000, seed=2)
    assert len(m.vocab) == 800 > train_module.hot_rows(2, 800, 300)
    n_chunks = max(c for _, c, *_ in log) + 1
    for epoch in range(3):
        chunks = sorted(c for ep, c, *_ in log if ep == epoch)
        assert chunks == list(range(n_chunks))
        assert sum(r[5] for r in log if r[0] == epoch) == m.vocab.train_words
        workers = sorted({r[2] for r in log if r[0] == epoch})
        assert len(workers) == 2
        spans = [[(r[3], r[4]) for r in log if r[2] == w and r[0] == epoch] for w in workers]
        assert overlap(spans) > 0, f"the two workers never trained at the same time in epoch {epoch}"
    assert n_chunks > 30
    assert neighbour_accuracy(m.vocab.words, m.syn0) >= 0.9
