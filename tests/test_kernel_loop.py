"""The compiled corpus loop: padded rows, the hot-row merge, subsampling inside the loop.
(Each ingredient against its definition: test_ingredients.py.)"""
import numpy as np
import pytest

from w2v.vocab import EOS, alias_table


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


@pytest.mark.parametrize("cbow", [False, True])
def test_one_worker_trains_the_same_whatever_the_merge_blocks(cbow, kernels):
    """A worker alone, with hot rows merged every 7 words (syn0, syn1neg and syn1's): the same
    vectors bit for bit whether its hot rows are merged in one piece or in 7 or 64 blocks of rows
    (each float's merge is the same arithmetic: shared + (copy - snapshot))."""
    rng = np.random.default_rng(8)
    V, dim, window, negative, alpha = 40, 10, 3, 3, 0.05
    sents = [rng.integers(0, V, size=rng.integers(1, 15)) for _ in range(60)]
    ids = np.concatenate([np.append(s, EOS) for s in sents]).astype(np.uint32)
    counts = np.sort(np.bincount(ids[ids != EOS], minlength=V) + 1)[::-1].astype(np.int64)
    prob, alias = alias_table(counts, 0.75)
    tree = kernels.build_huffman(counts)
    start = [rng.normal(0, 0.3, (n, dim)).astype(np.float32) for n in (V, V, V - 1)]
    results = []
    for blocks in (1, 7, 64):
        syn0, syn1neg, syn1 = (a.copy() for a in start)
        state = kernels.TrainState(syn0, syn1neg, ids, None, prob, alias, cbow, window, negative, alpha, alpha,
                                   10**9, hot_rows=23, hot_sync=7, syn1=syn1, tree=tree, hot_nodes=11,
                                   merge_blocks=blocks)
        assert state.train_chunk(0, len(ids), 42, 0, 0)[3] == 0
        results.append((syn0, syn1neg, syn1))
    assert not np.allclose(results[0][0], start[0], atol=1e-3)      # it did train
    for got in results[1:]:
        for a, b in zip(results[0], got):
            np.testing.assert_array_equal(a, b)


def test_train_state_rejects_a_number_of_merge_blocks_out_of_range(kernels):
    ids = np.array([0, 1, EOS], dtype=np.uint32)
    prob, alias = alias_table(np.ones(3, dtype=np.int64), 0.75)
    a, b = np.zeros((3, 4), dtype=np.float32), np.zeros((3, 4), dtype=np.float32)
    for blocks in (0, 65):
        with pytest.raises(ValueError, match="merge_blocks must be between 1 and 64"):
            kernels.TrainState(a, b, ids, None, prob, alias, False, 2, 2, 0.025, 0.0001, 100, hot_rows=2,
                               merge_blocks=blocks)


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
