"""The compiled corpus loop (windows, subsampling, noise draws, learning rate) against a
line-by-line Python re-implementation that uses the same random number stream."""
import numpy as np
import pytest

from w2v.vocab import EOS, alias_table

M64 = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def rng_seed(a, b, c):
    s, out = splitmix64(a)
    s ^= (b * 0xD1B54A32D192ED03) & M64
    s, o = splitmix64(s)
    out ^= o
    s ^= (c * 0x8CB92BA72F3D8DD7) & M64
    s, o = splitmix64(s)
    out ^= o
    return out or 0x2545F4914F6CDD1D


class Rng:
    def __init__(self, seed, epoch, chunk):
        self.x = rng_seed(seed, epoch, chunk)

    def next(self):
        x = self.x
        x ^= x >> 12
        x ^= (x << 25) & M64
        x ^= x >> 27
        self.x = x
        return (x * 0x2545F4914F6CDD1D) & M64

    def below(self, n):
        return ((self.next() >> 32) * n) >> 32

    def uniform(self):
        return np.float32(self.next() >> 40) * np.float32(1.0 / 16777216.0)


def sigmoid_table(f):
    f = np.float32(f)
    if f >= 6:
        return np.float32(1.0)
    if f <= -6:
        return np.float32(0.0)
    i = int((f + np.float32(6)) * np.float32(1000 / 12))
    x = (i / 1000 * 2 - 1) * 6
    return np.float32(1 / (1 + np.exp(-x)))


NOISE_SEED = 0x6A09E667F3BCC909


def ref_train(ids, syn0, syn1neg, keep, prob, alias, cbow, shared, window, negative, alpha, seed):
    rng = Rng(seed, 0, 0)
    noise = Rng(seed ^ NOISE_SEED, 0, 0)     # noise words come from their own stream
    V = len(prob)

    def draw():
        r = noise.next()
        i = ((r >> 32) * V) >> 32
        u = np.float32(r & 0xFFFFFF) * np.float32(1.0 / 16777216.0)
        return i if u < prob[i] else int(alias[i])

    def example(h, word, negs, err):
        for k, target in enumerate([word] + negs):
            if k and target == word:
                continue
            f = np.float32(np.dot(h, syn1neg[target]))
            g = np.float32((1.0 if k == 0 else 0.0) - sigmoid_table(f)) * np.float32(alpha)
            err += g * syn1neg[target]
            syn1neg[target] += g * h

    sentences, cur = [], []
    for i in ids:
        if i == EOS:
            sentences.append(cur)
            cur = []
        else:
            cur.append(int(i))
    pending = None
    for raw in sentences:
        sen = [w for w in raw if keep is None or keep[w] >= 1.0 or not (rng.uniform() >= keep[w])]
        n = len(sen)
        for i, w in enumerate(sen):
            b = rng.below(window)
            lo, hi = max(0, i - window + b), min(n, i + window - b + 1)
            ctx = [sen[j] for j in range(lo, hi) if j != i]
            if cbow or shared:
                if not ctx:
                    continue
                # the kernel draws each centre word's noise words one centre ahead (to prefetch them)
                if pending is None:
                    pending = [draw() for _ in range(negative)]
                negs = pending
                pending = [draw() for _ in range(negative)]
                if cbow:
                    h = syn0[ctx].mean(axis=0, dtype=np.float32)
                    err = np.zeros_like(h)
                    example(h, w, negs, err)
                    for c in ctx:
                        syn0[c] += err
                else:
                    for c in ctx:
                        err = np.zeros_like(syn0[c])
                        example(syn0[c].copy(), w, negs, err)
                        syn0[c] += err
            else:
                for c in ctx:
                    negs = [draw() for _ in range(negative)]
                    err = np.zeros_like(syn0[c])
                    example(syn0[c].copy(), w, negs, err)
                    syn0[c] += err


@pytest.mark.parametrize("cbow, shared", [(False, False), (False, True), (True, False)])
@pytest.mark.parametrize("subsample", [False, True])
@pytest.mark.parametrize("hot", [0, 4, 9])
def test_chunk_matches_python_reference(cbow, shared, subsample, hot, kernels):
    """hot > 0: the worker trains its own copies of the first `hot` rows, merged every 7 words
    and at the end; with no other worker that is the same training (up to rounding)."""
    rng = np.random.default_rng(5)
    V, dim, window, negative, alpha = 9, 6, 3, 3, 0.05
    sents = [rng.integers(0, V, size=rng.integers(1, 12)) for _ in range(6)]
    ids = np.concatenate([np.append(s, EOS) for s in sents]).astype(np.uint32)
    counts = np.bincount(ids[ids != EOS], minlength=V) + 1
    prob, alias = alias_table(counts, 0.75)
    keep = (rng.random(V) * 1.2).astype(np.float32) if subsample else None
    syn0 = rng.normal(0, 0.3, (V, dim)).astype(np.float32)
    syn1neg = rng.normal(0, 0.3, (V, dim)).astype(np.float32)
    initial = syn0.copy()
    e0, e1 = syn0.copy(), syn1neg.copy()
    ref_train(ids, e0, e1, keep, prob, alias, cbow, shared, window, negative, alpha, seed=42)
    state = kernels.TrainState(syn0, syn1neg, ids, keep, prob, alias, cbow, window, negative,
                                alpha, alpha, 10**9, shared_negatives=shared, hot_rows=hot, hot_sync=7)
    words, examples, loss, status = state.train_chunk(0, len(ids), 42, 0, 0)
    assert status == 0 and words == sum(len(s) for s in sents)
    assert not np.allclose(e0, initial, atol=1e-3)      # the reference did train
    np.testing.assert_allclose(syn0, e0, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(syn1neg, e1, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cbow, shared", [(False, False), (False, True), (True, False)])
@pytest.mark.parametrize("hot", [0, 4, 9])
def test_padded_rows_train_exactly_as_contiguous_ones(cbow, shared, hot, kernels):
    """Rows a stride apart (views of a wider matrix, as training lays them out): the same
    vectors bit for bit as contiguous rows, and the padding (NaN here) is never read or changed."""
    rng = np.random.default_rng(7)
    V, dim, stride, window, negative, alpha = 9, 6, 16, 3, 3, 0.05
    sents = [rng.integers(0, V, size=rng.integers(1, 12)) for _ in range(8)]
    ids = np.concatenate([np.append(s, EOS) for s in sents]).astype(np.uint32)
    counts = np.bincount(ids[ids != EOS], minlength=V) + 1
    prob, alias = alias_table(counts, 0.75)
    syn0 = rng.normal(0, 0.3, (V, dim)).astype(np.float32)
    syn1neg = rng.normal(0, 0.3, (V, dim)).astype(np.float32)
    wide0 = np.full((V, stride), np.nan, dtype=np.float32)
    wide1 = np.full((V, stride), np.nan, dtype=np.float32)
    wide0[:, :dim], wide1[:, :dim] = syn0, syn1neg
    p0, p1 = wide0[:, :dim], wide1[:, :dim]
    initial = syn0.copy()
    results = []
    for a, b in ((syn0, syn1neg), (p0, p1)):
        state = kernels.TrainState(a, b, ids, None, prob, alias, cbow, window, negative, alpha, alpha, 10**9,
                                   shared_negatives=shared, hot_rows=hot, hot_sync=7)
        results.append(state.train_chunk(0, len(ids), 42, 0, 0))
    assert results[0] == results[1] and results[0][3] == 0
    assert not np.allclose(syn0, initial, atol=1e-3)      # it did train
    np.testing.assert_array_equal(p0, syn0)
    np.testing.assert_array_equal(p1, syn1neg)
    assert np.isnan(wide0[:, dim:]).all() and np.isnan(wide1[:, dim:]).all()


def test_train_state_rejects_rows_that_are_not_contiguous(kernels):
    V, dim = 5, 4
    ids = np.array([0, 1, 2, EOS], dtype=np.uint32)
    prob, alias = alias_table(np.ones(V, dtype=np.int64), 0.75)
    wide = np.zeros((V, 2 * dim), dtype=np.float32)
    ok = np.zeros((V, dim), dtype=np.float32)
    for a, b in ((wide[:, ::2], ok), (wide[:, :dim], ok), (ok, wide[:, :dim])):
        with pytest.raises(ValueError, match="contiguous rows and the same row stride"):
            kernels.TrainState(a, b, ids, None, prob, alias, False, 2, 2, 0.025, 0.0001, 100)


def test_hot_merge_adds_this_workers_changes_to_the_shared_rows(kernels):
    """Between a worker's merges another worker changed the shared rows: the merge keeps those
    changes, adds this worker's own (copy - snapshot), and restarts copy and snapshot from the result."""
    rng = np.random.default_rng(3)
    V, dim, hot = 7, 5, 3
    syn0 = rng.normal(size=(V, dim)).astype(np.float32)
    syn1neg = rng.normal(size=(V, dim)).astype(np.float32)
    snap = np.concatenate([syn0[:hot], syn1neg[:hot]])                # taken at the last merge
    hot0 = snap[:hot] + rng.normal(size=(hot, dim)).astype(np.float32)  # this worker's training since
    hot1 = snap[hot:] + rng.normal(size=(hot, dim)).astype(np.float32)
    syn0[:hot] += 0.5
    syn1neg[:hot] -= 0.25                                             # another worker's merge
    before0, before1 = syn0.copy(), syn1neg.copy()
    want0 = before0[:hot] + (hot0 - snap[:hot])
    want1 = before1[:hot] + (hot1 - snap[hot:])
    kernels._hot_merge_py(syn0, syn1neg, hot0, hot1, snap)
    np.testing.assert_allclose(syn0[:hot], want0, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(syn1neg[:hot], want1, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(syn0[hot:], before0[hot:])           # rows past the hot ones untouched
    np.testing.assert_array_equal(syn1neg[hot:], before1[hot:])
    for copy, shared in ((hot0, syn0[:hot]), (hot1, syn1neg[:hot]), (snap[:hot], syn0[:hot]), (snap[hot:], syn1neg[:hot])):
        np.testing.assert_array_equal(copy, shared)


def test_hot_rows_only_with_several_workers():
    from w2v.train import HOT_BYTES, hot_rows
    assert hot_rows(1, 100_000, 100) == 0
    assert hot_rows(2, 100_000, 100) == HOT_BYTES // 400
    assert hot_rows(2, 100_000, 300) == HOT_BYTES // 1200
    assert hot_rows(4, 50, 100) == 50           # never more rows than words
    assert hot_rows(2, 100_000, 10_000) == 64   # at least a few rows, however wide


def test_subsampling_keeps_words_at_their_keep_probability(kernels):
    """Over many words the kernel keeps each word with its keep probability (CBOW trains one
    example per kept centre word here, since every sentence keeps plenty of context)."""
    rng = np.random.default_rng(0)
    V, dim = 4, 8
    sentences = [rng.permutation(np.repeat(np.arange(V), 25)) for _ in range(400)]
    ids = np.concatenate([np.append(s, EOS) for s in sentences]).astype(np.uint32)
    keep = np.array([0.3, 1.0, 0.6, 1.0], dtype=np.float32)
    prob, alias = alias_table(np.ones(V), 0.75)
    results = {}
    for name, kp in (("all", None), ("sampled", keep)):
        syn0 = rng.normal(0, 0.1, (V, dim)).astype(np.float32)
        syn1neg = np.zeros((V, dim), dtype=np.float32)
        state = kernels.TrainState(syn0, syn1neg, ids, kp, prob, alias, True, 3, 2, 0.01, 0.01, 10**9)
        results[name] = state.train_chunk(0, len(ids), 1, 0, 0)
    n_words = 400 * 100
    assert results["all"][0] == results["sampled"][0] == n_words     # words read, before sampling
    assert results["all"][1] == n_words
    expected = 400 * 25 * keep.sum()
    assert abs(results["sampled"][1] - expected) < 0.02 * expected, (results["sampled"][1], expected)


def test_learning_rate_falls_linearly_with_global_progress(planted_corpus):
    import w2v
    seen = []
    w2v.train(planted_corpus, dim=8, epochs=4, min_count=1, threads=2, alpha=0.04, min_alpha=0.0004,
              callbacks=[lambda p: seen.append(p) if p.event == "epoch_end" else None])
    assert [p.epoch for p in seen] == [0, 1, 2, 3]
    for p in seen:
        fraction = p.words_done / p.words_total
        assert fraction == pytest.approx((p.epoch + 1) / 4)
        assert p.alpha == pytest.approx(0.04 - (0.04 - 0.0004) * fraction, rel=1e-4, abs=1e-6)
