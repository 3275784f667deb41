"""The compiled kernels against small numpy references."""
import math

import numpy as np
import pytest

from w2v.vocab import alias_table, keep_probabilities

MAX_EXP = 6.0


def ref_sigmoid_table(f):
    """word2vec.c: clipped outside [-6, 6], table of 1000 entries inside."""
    if f >= MAX_EXP:
        return 1.0
    if f <= -MAX_EXP:
        return 0.0
    i = int((np.float32(f) + np.float32(MAX_EXP)) * np.float32(1000 / MAX_EXP / 2))   # float32, as compiled
    x = (i / 1000 * 2 - 1) * MAX_EXP
    return 1 / (1 + math.exp(-x))


def ref_step(syn0, syn1neg, context, word, negs, alpha, cbow):
    """One negative-sampling example in numpy (word2vec.c's update order)."""
    syn0 = syn0.astype(np.float64)
    syn1neg = syn1neg.astype(np.float64)
    if cbow:
        h = syn0[context].mean(axis=0)
    else:
        h = syn0[context[0]].copy()
    err = np.zeros_like(h)
    loss = 0.0
    for k, (target, label) in enumerate([(word, 1)] + [(n, 0) for n in negs]):
        if k > 0 and target == word:
            continue
        f = float(np.dot(h.astype(np.float32), syn1neg[target].astype(np.float32)))
        g = (label - ref_sigmoid_table(f)) * alpha
        loss += math.log1p(math.exp(-f if label else f))
        err += g * syn1neg[target]
        syn1neg[target] += g * h
    for c in (context if cbow else context[:1]):
        syn0[c] += err
    return syn0, syn1neg, loss


@pytest.mark.parametrize("cbow", [False, True])
@pytest.mark.parametrize("dim", [1, 7, 16, 100])
def test_one_step_matches_numpy(cbow, dim, kernels):
    rng = np.random.default_rng(dim)
    V = 12
    syn0 = rng.normal(0, 0.5, (V, dim)).astype(np.float32)
    syn1neg = rng.normal(0, 0.5, (V, dim)).astype(np.float32)
    context = np.array([3, 5, 7] if cbow else [3], dtype=np.uint32)
    word = 4
    negs = np.array([1, 4, 9, 9, 2], dtype=np.uint32)   # includes the centre word: skipped
    e0, e1, eloss = ref_step(syn0, syn1neg, context, word, negs, 0.1, cbow)
    s0, s1 = syn0.copy(), syn1neg.copy()
    loss = kernels._step_py(s0, s1, context, word, negs, 0.1, cbow)
    assert not np.array_equal(s0, syn0)                 # something was updated
    np.testing.assert_allclose(s0, e0, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(s1, e1, rtol=1e-4, atol=1e-5)
    assert loss == pytest.approx(eloss, rel=0.02, abs=0.02)  # the loss comes from a table too
    untouched = [i for i in range(V) if i not in set(context) | {word} | set(negs)]
    np.testing.assert_array_equal(s0[untouched], syn0[untouched])
    np.testing.assert_array_equal(s1[untouched], syn1neg[untouched])


def ref_step_hs(syn0, syn1neg, syn1, path, context, word, negs, alpha, cbow, cbow_mean=True):
    """One example with hierarchical softmax (word2vec.c): along the centre word's path
    (codes, rows), label 1 - code, a node with |score| >= 6 skipped; then negative sampling;
    both into one error for the input vectors."""
    syn0, syn1 = syn0.astype(np.float64), syn1.astype(np.float64)
    syn1neg = None if syn1neg is None else syn1neg.astype(np.float64)
    h = (syn0[context].mean(axis=0) if cbow_mean else syn0[context].sum(axis=0)) if cbow else syn0[context[0]].copy()
    err, loss = np.zeros_like(h), 0.0
    hs = [(syn1[r], 1 - c, True) for c, r in zip(*path)]
    ns = [(syn1neg[t], lab, False) for t, lab in [(word, 1)] + [(n, 0) for n in negs] if lab or t != word] \
        if len(negs) else []
    for row, label, skip_saturated in hs + ns:
        f = float(np.dot(h.astype(np.float32), row.astype(np.float32)))
        loss += math.log1p(math.exp(-f if label else f))
        if skip_saturated and abs(f) >= MAX_EXP:
            continue
        g = (label - ref_sigmoid_table(f)) * alpha
        err += g * row
        row += g * h
    for c in (context if cbow else context[:1]):
        syn0[c] += err
    return syn0, syn1neg, syn1, loss


@pytest.mark.parametrize("mode", ["sg", "cbow", "cbow-sum"])
@pytest.mark.parametrize("negative", [0, 3])
@pytest.mark.parametrize("dim, length", [(1, 5), (7, 5), (16, 5), (100, 5), (100, 40), (300, 20)])
def test_one_hierarchical_softmax_step_matches_numpy(mode, negative, dim, length, kernels):
    """A path of `length` nodes (40: longer than the kernel's block of 32), codes 0 and 1, one
    node's score far above 6 where its code is 1 and one's far below -6 where its code is 0 (so
    they would change if they were not skipped), alone or with negative sampling."""
    rng = np.random.default_rng(dim + length)
    V, word, sd = 50, 4, 1.0 / dim ** 0.25     # scores of order 1: only the planted node saturates
    syn0 = rng.normal(0, sd, (V, dim)).astype(np.float32)
    syn1neg = rng.normal(0, sd, (V, dim)).astype(np.float32)
    syn1 = rng.normal(0, sd, (V - 1, dim)).astype(np.float32)
    context = np.array([3, 5, 7] if mode != "sg" else [3], dtype=np.uint32)
    points = rng.choice(V - 1, size=length, replace=False).tolist()
    codes = rng.integers(0, 2, size=length).tolist()
    codes[length // 2] = 1
    codes[length // 2 + 1] = 0
    h = syn0[context].sum(0) / (len(context) if mode == "cbow" else 1)
    saturated = points[length // 2]
    syn1[saturated] = 40 * h / np.dot(h, h)          # score 40: saturated, code 1
    below = points[length // 2 + 1]
    syn1[below] = -40 * h / np.dot(h, h)             # score -40: saturated, code 0
    tree = (np.array([r << 1 | c for c, r in zip(codes, points)], np.uint32),
            np.array([0] * (word + 1) + [length] * (V - word), np.int64))
    negs = np.array([1, 4, 9][:negative], dtype=np.uint32)
    want0, want1, want_hs, want_loss = ref_step_hs(syn0, syn1neg if negative else None, syn1, (codes, points),
                                                   context, word, negs, 0.1, mode != "sg", mode == "cbow")
    s0, s1, shs = syn0.copy(), syn1neg.copy(), syn1.copy()
    loss = kernels._step_py(s0, s1, context, word, negs, 0.1, mode != "sg", syn1=shs, tree=tree,
                            cbow_mean=(mode == "cbow"))
    np.testing.assert_allclose(s0, want0, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(shs, want_hs, rtol=1e-4, atol=1e-5)
    changed = np.any(shs != syn1, axis=1)
    np.testing.assert_array_equal(changed, np.any(want_hs != syn1, axis=1))   # the nodes word2vec.c trains ...
    assert not changed[saturated] and not changed[below]                     # ... not the saturated ones
    assert changed[points].sum() >= (length - 2) // 2
    assert set(np.flatnonzero(changed)) <= set(points)                       # only the path's nodes
    if negative:
        np.testing.assert_allclose(s1, want1, rtol=1e-4, atol=1e-5)
    else:
        np.testing.assert_array_equal(s1, syn1neg)
    assert loss == pytest.approx(want_loss, rel=0.02, abs=0.02)


def test_step_rejects_non_finite_scores(kernels):
    syn0 = np.full((3, 4), np.nan, dtype=np.float32)
    syn1neg = np.ones((3, 4), dtype=np.float32)
    with pytest.raises(FloatingPointError):
        kernels._step_py(syn0, syn1neg, np.array([0], np.uint32), 1, np.array([2], np.uint32), 0.1, False)


@pytest.mark.parametrize("cbow", [False, True])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_hierarchical_softmax_step_rejects_non_finite_scores(cbow, bad, kernels):
    """A path score that is NaN or infinite (in any node: here the 20th of 24) stops the example."""
    V, dim, length = 30, 16, 24
    syn0 = np.full((V, dim), 0.1, dtype=np.float32)
    syn1 = np.full((V - 1, dim), 0.1, dtype=np.float32)
    syn1[19, 3] = bad
    tree = (np.array([r << 1 for r in range(length)], np.uint32), np.array([0] * 6 + [length] * (V - 5), np.int64))
    with pytest.raises(FloatingPointError):
        kernels._step_py(syn0, None, np.array([0, 1] if cbow else [0], np.uint32), 5, np.array([], np.uint32),
                         0.1, cbow, syn1=syn1, tree=tree)


def test_sigmoid_table_close_to_exact_and_clipped(kernels):
    xs = np.linspace(-8, 8, 2001)
    got = np.array([kernels._sigmoid_py(x) for x in xs])
    exact = 1 / (1 + np.exp(-xs))
    inside = np.abs(xs) < MAX_EXP
    assert np.max(np.abs(got[inside] - exact[inside])) < 0.01
    assert np.all(got[xs >= MAX_EXP] == 1.0) and np.all(got[xs <= -MAX_EXP] == 0.0)
    assert np.all(np.diff(got) >= 0)
    nll = np.array([kernels._neg_log_sigmoid_py(x) for x in xs])
    assert np.max(np.abs(nll - np.log1p(np.exp(-xs)))) < 0.05


def chi_square(observed, expected):
    return float(np.sum((observed - expected) ** 2 / expected))


@pytest.mark.parametrize("exponent", [0.75, 1.0, 0.0])
def test_alias_sampler_matches_unigram_power(exponent, kernels):
    rng = np.random.default_rng(3)
    counts = np.sort(rng.zipf(1.3, 300).astype(np.int64))[::-1]
    prob, alias = alias_table(counts, exponent)
    n = 2_000_000
    draws = kernels._draw_py(prob, alias, n, 11)
    assert draws.max() < len(counts)
    observed = np.bincount(draws, minlength=len(counts))
    p = counts.astype(np.float64) ** exponent
    p /= p.sum()
    expected = p * n
    # pool the tail so every cell expects at least 20 draws
    order = np.argsort(expected)
    cum = np.cumsum(expected[order])
    tail = order[: np.searchsorted(cum, 20.0) + 1]
    head = np.setdiff1d(np.arange(len(counts)), tail)
    obs = np.append(observed[head], observed[tail].sum())
    exp = np.append(expected[head], expected[tail].sum())
    df = len(obs) - 1
    stat = chi_square(obs, exp)
    # chi-square upper tail at p ~ 1e-4: df + 4 * sqrt(2 df) + 10 is a safe bound for df in 10..300
    assert stat < df + 4 * math.sqrt(2 * df) + 10, (stat, df)


def test_alias_sampler_detects_a_wrong_distribution(kernels):
    """The chi-square check above has teeth: a different exponent fails it."""
    counts = np.array([1000, 300, 100, 30, 10, 3, 1] * 5, dtype=np.int64)
    prob, alias = alias_table(counts, 0.75)
    draws = kernels._draw_py(prob, alias, 500_000, 5)
    observed = np.bincount(draws, minlength=len(counts))
    wrong = counts.astype(np.float64) / counts.sum() * len(draws)
    df = len(counts) - 1
    assert chi_square(observed, wrong) > df + 4 * math.sqrt(2 * df) + 10


def test_alias_rejects_bad_weights(kernels):
    with pytest.raises(ValueError):
        kernels.build_alias(np.array([0.0, 0.0]))
    with pytest.raises(ValueError):
        kernels.build_alias(np.array([1.0, -1.0]))


def test_keep_probabilities_match_word2vec_c():
    counts = np.array([50_000, 20_000, 5_000, 100, 7, 5], dtype=np.int64)
    sample = 1e-3
    train_words = counts.sum()
    # word2vec.c: ran = (sqrt(cn / (sample * train_words)) + 1) * (sample * train_words) / cn
    ran = (np.sqrt(counts / (sample * train_words)) + 1) * (sample * train_words) / counts
    got = keep_probabilities(counts, sample)
    np.testing.assert_allclose(got, np.minimum(ran, 1.0), rtol=1e-6)
    assert got[0] < 0.5 and got[-1] == 1.0
    assert keep_probabilities(counts, 0) is None


def test_uniform_stream_is_uniform(kernels):
    u = kernels._uniform_py(200_000, 1)
    assert 0.0 <= u.min() and u.max() < 1.0
    hist = np.bincount((u * 20).astype(int), minlength=20)
    assert chi_square(hist, np.full(20, len(u) / 20)) < 19 + 4 * math.sqrt(38) + 10


def test_dispatch_picks_a_build_and_can_be_forced(tmp_path):
    import os
    import subprocess
    import sys

    from w2v import _kernels
    builds = _kernels.variants()
    assert _kernels.VARIANT in builds
    best = next(name for name in ("avx512", "avx2", "generic") if name in builds)
    code = ("from w2v import _kernels; print(_kernels.VARIANT, "
            "_kernels.TrainState.__module__, _kernels.use_avx512())")

    def chosen(wanted):
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={**os.environ, "W2V_KERNELS": wanted}, cwd=tmp_path)

    module = {"generic": "w2v._kernels_generic", "avx2": "w2v._kernels_avx2", "avx512": "w2v._kernels_avx2"}
    for wanted in ("auto", *builds):
        name = best if wanted == "auto" else wanted
        assert chosen(wanted).stdout.split() == [name, module[name], str(name == "avx512")]
    if "avx512" not in builds:
        missing = chosen("avx512")
        assert missing.returncode != 0 and "W2V_KERNELS=avx512: this CPU or build has no avx512" in missing.stderr
    bad = chosen("sse9")
    assert bad.returncode != 0 and "W2V_KERNELS must be auto, generic, avx2 or avx512" in bad.stderr


def test_the_avx512_build_trains_paths_in_its_own_form():
    """Where the CPU has AVX-512, a trainer made with it on (skip-gram or CBOW) sums its path scores in
    16-float registers: the same training to float precision, not to the bit (another order of
    additions)."""
    from w2v import _kernels
    if "avx512" not in _kernels.variants():
        pytest.skip("no AVX-512 on this CPU")
    rng = np.random.default_rng(8)
    V, dim = 40, 100
    sentences = [rng.integers(0, V, size=12).tolist() for _ in range(30)]
    ids = np.array([w for s in sentences for w in s + [0xFFFFFFFF]], dtype=np.uint32)
    counts = np.sort(rng.integers(1, 100, size=V))[::-1]
    from w2v.vocab import HuffmanTree
    tree = HuffmanTree(counts)
    prob, alias = np.ones(V, np.float32), np.arange(V, dtype=np.int32)
    start0 = rng.normal(0, 0.3, (V, dim)).astype(np.float32)
    start1 = rng.normal(0, 0.3, (V - 1, dim)).astype(np.float32)
    out = {}
    try:
        for build in ("avx2", "avx512"):
            for cbow in (False, True):
                k = _kernels.select(build)
                syn0, syn1 = start0.copy(), start1.copy()
                state = k.TrainState(syn0, None, ids, None, prob, alias, cbow, 3, 0, 0.05, 0.05, 10**9,
                                     shared_negatives=True, syn1=syn1, tree=tree)
                assert state.train_chunk(0, len(ids), 5, 0, 0)[3] == 0
                out[build, cbow] = syn0, syn1
    finally:
        _kernels.select(_kernels.VARIANT)
    for cbow in (False, True):
        for a, b in zip(out["avx2", cbow], out["avx512", cbow]):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
            assert not np.array_equal(a, b)


def test_sigmoid_at_the_table_edge_is_finite(kernels):
    """A score just below MAX_EXP rounds to the last table index; it must not read past it."""
    for x in (np.nextafter(np.float32(6), np.float32(0)), np.float32(5.99999), np.float32(-5.999999)):
        s = kernels._sigmoid_py(x)
        nll = kernels._neg_log_sigmoid_py(x)
        assert np.isfinite(s) and 0.0 <= s <= 1.0
        assert np.isfinite(nll) and nll >= 0.0


def test_sentence_limit_agrees_with_the_reader(kernels):
    from w2v.params import MAX_SENTENCE
    assert kernels.MAX_SENTENCE_LENGTH == MAX_SENTENCE
