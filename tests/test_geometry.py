import math

import numpy as np
import pytest

from w2v import geometry
from w2v.errors import W2VError
from w2v.vectors import KeyedVectors


@pytest.fixture
def kv():
    rng = np.random.default_rng(0)
    words = ["the", "cat", "sat", "on", "mat", "dog", "ran"]
    counts = [1000, 50, 30, 400, 10, 40, 20]
    return KeyedVectors(words, rng.standard_normal((7, 4)), counts)


def test_mean_pooling_counts_unknown_tokens(kv):
    pooled = geometry.mean_vectors(kv, [["the", "cat", "zzz"], "dog ran ran", ["xx", "yy"], []])
    np.testing.assert_allclose(pooled.vectors[0], (kv["the"] + kv["cat"]) / 2, rtol=1e-6)
    np.testing.assert_allclose(pooled.vectors[1], (kv["dog"] + 2 * kv["ran"]) / 3, rtol=1e-6)
    np.testing.assert_array_equal(pooled.vectors[2], np.zeros(4))  # all unknown: zero vector
    np.testing.assert_array_equal(pooled.vectors[3], np.zeros(4))
    assert list(pooled.known) == [2, 3, 0, 0] and list(pooled.unknown) == [1, 0, 2, 0]
    assert pooled.n_unknown == 3
    unit = geometry.sentence_vector(kv, ["cat", "dog"], unit=True)
    np.testing.assert_allclose(unit, (kv.get_vector("cat", True) + kv.get_vector("dog", True)) / 2, rtol=1e-6)
    with pytest.raises(W2VError, match="unknown pooling method"):
        geometry.sentence_vectors(kv, [["cat"]], method="max")


def test_tfidf_from_documents(kv):
    docs = [["the", "cat", "sat"], ["the", "dog"], ["the", "mat", "cat"]]
    pooled = geometry.tfidf_vectors(kv, [["the", "cat", "cat", "unknown"]], documents=docs)
    idf_the = math.log(4 / 4) + 1
    idf_cat = math.log(4 / 3) + 1
    want = (idf_the * kv["the"] + 2 * idf_cat * kv["cat"]) / (idf_the + 2 * idf_cat)
    np.testing.assert_allclose(pooled.vectors[0], want, rtol=1e-6)
    assert pooled.unknown[0] == 1
    idf = geometry.idf_from_documents(kv, docs)
    assert idf[kv.get_index("ran")] == pytest.approx(math.log(4) + 1)  # in no document
    same = geometry.tfidf_vectors(kv, [["the", "cat", "cat"]], idf={"the": idf_the, "cat": idf_cat})
    np.testing.assert_allclose(same.vectors[0], want, rtol=1e-6)


def test_tfidf_from_counts(kv):
    idf = geometry.idf_from_counts(kv, doc_length=100)
    total = kv.counts.sum()
    n_docs = total / 100
    p = kv.counts / total
    want = np.log((1 + n_docs) / (1 + n_docs * (1 - np.exp(-100 * p)))) + 1
    np.testing.assert_allclose(idf, want)
    assert idf[kv.get_index("mat")] > idf[kv.get_index("cat")] > idf[kv.get_index("the")] >= 1
    pooled = geometry.sentence_vectors(kv, [["the", "mat"]], method="tfidf")
    w = idf[[0, 4]]
    np.testing.assert_allclose(pooled.vectors[0], (w[0] * kv["the"] + w[1] * kv["mat"]) / w.sum(), rtol=1e-6)
    no_counts = KeyedVectors(kv.index_to_key, kv.vectors)
    with pytest.raises(W2VError, match="needs word counts"):
        geometry.tfidf_vectors(no_counts, [["the"]])


def test_sif(kv):
    sentences = [["the", "cat", "sat"], ["on", "the", "mat"], ["dog", "ran"], ["cat", "ran", "zzz"], ["nothing"]]
    a = 1e-2
    pooled = geometry.sif_vectors(kv, sentences, a=a)
    p = kv.counts / kv.counts.sum()
    raw = np.zeros((5, 4))
    for s, tokens in enumerate(sentences):
        known = [t for t in tokens if t in kv]
        for t in known:
            raw[s] += a / (a + p[kv.get_index(t)]) * kv[t]
        if known:
            raw[s] /= len(known)
    u = np.linalg.svd(raw[:4], full_matrices=False)[2][0]
    want = raw - np.outer(raw @ u, u)
    np.testing.assert_allclose(pooled.vectors, want, atol=1e-5)
    np.testing.assert_allclose(pooled.vectors @ u, 0, atol=1e-5)
    np.testing.assert_array_equal(pooled.vectors[4], 0)
    assert pooled.components.shape == (1, 4) and list(pooled.unknown) == [0, 0, 0, 1, 1]
    one = geometry.sif_vectors(kv, [sentences[0]], a=a, components=pooled.components)
    np.testing.assert_allclose(one.vectors[0], want[0], atol=1e-5)
    with pytest.raises(W2VError, match="at least two sentences"):
        geometry.sentence_vector(kv, ["the", "cat"], method="sif")
    kept = geometry.sif_vectors(kv, sentences, a=a, remove_components=0)
    np.testing.assert_allclose(kept.vectors, raw, atol=1e-5)
    with pytest.raises(W2VError, match="SIF weighting needs word counts"):
        geometry.sif_vectors(KeyedVectors(kv.index_to_key, kv.vectors), sentences)


def test_anisotropy():
    rng = np.random.default_rng(1)
    iso = rng.standard_normal((2000, 300))
    assert abs(geometry.anisotropy(iso)) < 0.005
    assert abs(geometry.anisotropy(iso, sample=20000, seed=3)) < 0.01
    cone = rng.standard_normal((2000, 300)) * 0.1 + 3.0  # shifted far from the origin: a narrow cone
    assert geometry.anisotropy(cone) > 0.95
    assert geometry.anisotropy(cone, sample=5000) == pytest.approx(geometry.anisotropy(cone), abs=0.01)
    small = rng.standard_normal((30, 5)) + 0.5
    small[3] = 0
    u = small / np.maximum(np.linalg.norm(small, axis=1, keepdims=True), 1e-300)
    cos = u @ u.T
    brute = (cos.sum() - np.trace(cos)) / (30 * 29)
    assert geometry.anisotropy(small) == pytest.approx(brute)
    kv = KeyedVectors([f"w{i}" for i in range(30)], small)
    assert geometry.anisotropy(kv) == pytest.approx(brute, rel=1e-5)
    with pytest.raises(W2VError):
        geometry.anisotropy(small[:1])


def test_whiten_gives_identity_covariance():
    rng = np.random.default_rng(2)
    mix = rng.standard_normal((6, 6))
    x = rng.standard_normal((500, 6)) @ mix + 5
    w = geometry.whiten(x)
    assert w.dtype == np.float32 and w.shape == x.shape
    np.testing.assert_allclose(w.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(np.cov(w.T, bias=True), np.eye(6), atol=1e-4)
    top = geometry.whiten(x, k=3)
    assert top.shape == (500, 3)
    np.testing.assert_allclose(np.cov(top.T, bias=True), np.eye(3), atol=1e-4)
    # the top-k directions carry the largest variance of the original
    mu, wk = geometry.whitening_transform(x, k=3)
    lam = np.sort(np.linalg.eigvalsh(np.cov(x.T, bias=True)))[::-1]
    np.testing.assert_allclose(np.sort(1 / np.linalg.norm(wk, axis=0) ** 2)[::-1], lam[:3], rtol=1e-6)
    kv = KeyedVectors([f"w{i}" for i in range(500)], x, counts=np.arange(500))
    wkv = geometry.whiten(kv)
    assert isinstance(wkv, KeyedVectors) and wkv.index_to_key == kv.index_to_key
    np.testing.assert_allclose(wkv.vectors, w, atol=1e-4)
    np.testing.assert_array_equal(wkv.counts, kv.counts)
    with pytest.raises(W2VError, match="k must be"):
        geometry.whiten(x, k=7)


def test_whiten_rank_deficient_does_not_blow_up():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 10))  # fewer vectors than dimensions
    w = geometry.whiten(x)
    assert np.all(np.isfinite(w))


def test_procrustes_recovers_known_rotation():
    rng = np.random.default_rng(4)
    dim = 10
    q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    words = [f"w{i}" for i in range(200)]
    a = rng.standard_normal((200, dim))
    kv_a = KeyedVectors(words, a)
    # b has the words in another order, two words missing and one extra
    order = rng.permutation(200)[:198]
    b_words = [words[i] for i in order] + ["extra"]
    kv_b = KeyedVectors(b_words, np.vstack([a[order] @ q, rng.standard_normal((1, dim))]))
    r = geometry.procrustes_align(kv_a, kv_b)
    np.testing.assert_allclose(r.rotation, q, atol=1e-5)
    assert r.n_shared == 198 and r.residual < 1e-4 and r.relative_residual < 1e-5
    np.testing.assert_allclose(r.aligned[b_words[:5]], kv_b[b_words[:5]], atol=1e-5)
    assert r.aligned.index_to_key == words  # every word of a, including those b lacks
    rotation, aligned, residual, relative, n = r  # unpacks like a tuple
    noisy = KeyedVectors(b_words, kv_b.vectors + 0.1 * rng.standard_normal(kv_b.vectors.shape))
    rn = geometry.procrustes_align(kv_a, noisy)
    np.testing.assert_allclose(rn.rotation @ rn.rotation.T, np.eye(dim), atol=1e-6)
    assert 0.01 < rn.relative_residual < 0.2
    np.testing.assert_allclose(rn.rotation, q, atol=0.05)
    few = geometry.procrustes_align(kv_a, kv_b, words=words[:50])
    assert few.n_shared == 50
    np.testing.assert_allclose(few.rotation, q, atol=1e-5)
    with pytest.raises(W2VError, match="not in both"):
        geometry.procrustes_align(kv_a, kv_b, words=["extra"])
    with pytest.raises(W2VError, match="cannot align"):
        geometry.procrustes_align(kv_a, KeyedVectors(["w1"], np.ones((1, 3))))


def test_word_probabilities_counts_and_zipf(kv):
    p, source = geometry.word_probabilities(kv)
    assert source == "counts"
    np.testing.assert_allclose(p, np.array([1000, 50, 30, 400, 10, 40, 20]) / 1550)
    no_counts = KeyedVectors(kv.index_to_key, kv.vectors)
    with pytest.raises(W2VError, match="needs word counts"):
        geometry.word_probabilities(no_counts)
    z, source = geometry.word_probabilities(no_counts, fallback="zipf")
    assert source == "zipf"
    harmonic = sum(1 / r for r in range(1, 8))  # H_7
    np.testing.assert_allclose(z, [1 / (r * harmonic) for r in range(1, 8)])
    with pytest.raises(W2VError, match="unknown probability fallback"):
        geometry.word_probabilities(no_counts, fallback="uniform")


def test_sif_with_given_probabilities(kv):
    no_counts = KeyedVectors(kv.index_to_key, kv.vectors)
    p = np.array([0.4, 0.1, 0.1, 0.2, 0.05, 0.1, 0.05])
    a = 0.1
    pooled = geometry.sif_vectors(no_counts, [["the", "mat", "zzz"]], a=a, remove_components=0, probabilities=p)
    want = (a / (a + 0.4) * kv["the"] + a / (a + 0.05) * kv["mat"]) / 2
    np.testing.assert_allclose(pooled.vectors[0], want, rtol=1e-6)
    with pytest.raises(W2VError, match="one value per word"):
        geometry.sif_vectors(no_counts, [["the"]], probabilities=p[:3])


def test_all_but_the_top_removes_mean_and_dominant_directions():
    rng = np.random.default_rng(6)
    n, d = 3000, 20
    common = rng.standard_normal((2, d))
    x = rng.standard_normal((n, d)) + rng.standard_normal((n, 2)) * [8.0, 5.0] @ common + 4.0
    assert geometry.anisotropy(x) > 0.2
    out = geometry.all_but_the_top(x, n_components=2)
    assert out.dtype == np.float32 and out.shape == x.shape
    # independent reference: the top right singular vectors of the centred data
    centred = x - x.mean(axis=0)
    vt = np.linalg.svd(centred, full_matrices=False)[2][:2]
    np.testing.assert_allclose(out, centred - centred @ vt.T @ vt, atol=1e-4)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-4)
    assert abs(geometry.anisotropy(out)) < 0.01
    # the removed directions span the planted ones
    mu, u = geometry.all_but_the_top_transform(x, 2)
    planted = np.linalg.qr(common.T)[0]
    np.testing.assert_allclose(np.linalg.svd(u @ planted)[1], 1, atol=0.01)
    assert geometry.all_but_the_top_transform(np.ones((5, 250)) * np.arange(5)[:, None])[1].shape == (2, 250)
    kv = KeyedVectors([f"w{i}" for i in range(n)], x, counts=np.arange(n))
    akv = geometry.all_but_the_top(kv, 2)
    np.testing.assert_allclose(akv.vectors, out, atol=1e-5)
    np.testing.assert_array_equal(akv.counts, kv.counts)
    with pytest.raises(W2VError, match="n_components must be"):
        geometry.all_but_the_top(x, n_components=d)
