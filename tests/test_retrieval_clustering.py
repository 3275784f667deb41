"""Retrieval (Recall@k, MRR, nDCG@k) and clustering (NMI, ARI, k-means) metrics against hand-worked cases."""
import itertools
import math

import numpy as np
import pytest

from w2v import geometry
from w2v.errors import W2VError
from w2v.evaluate import (ari, contingency_table, evaluate_retrieval, evaluate_word_clusters, ndcg_at_k, nmi,
                          read_judgements, read_texts, recall_at_k, reciprocal_rank, retrieval_metrics)
from w2v.vectors import KeyedVectors


# ---- retrieval ------------------------------------------------------------------------------

def test_recall_at_k_by_hand():
    relevance = {"a": 1, "b": 2, "c": 1, "x": 0}      # x is judged not relevant
    ranking = ["a", "x", "b", "y", "c"]
    assert recall_at_k(ranking, relevance, 1) == pytest.approx(1 / 3)
    assert recall_at_k(ranking, relevance, 2) == pytest.approx(1 / 3)
    assert recall_at_k(ranking, relevance, 3) == pytest.approx(2 / 3)
    assert recall_at_k(ranking, relevance, 5) == pytest.approx(1.0)
    assert recall_at_k(ranking, relevance, 50) == pytest.approx(1.0)
    assert recall_at_k(ranking, {"x": 0}, 3) is None


def test_reciprocal_rank_and_mrr_by_hand():
    assert reciprocal_rank(["d", "e", "a"], {"a": 1, "b": 1}) == pytest.approx(1 / 3)
    assert reciprocal_rank(["b", "a"], {"a": 1, "b": 1}) == 1.0
    assert reciprocal_rank(["d", "e"], {"a": 1}) == 0.0            # the relevant document is not ranked
    assert reciprocal_rank(["x", "a"], {"x": 0, "a": 2}) == 0.5    # grade 0 is not relevant
    rankings = {"q1": ["a", "b"], "q2": ["c", "d", "a"], "q3": ["c"], "q4": ["a"]}
    judgements = {"q1": {"a": 1}, "q2": {"a": 1}, "q3": {"a": 1}, "q4": {"a": 0}}
    m = retrieval_metrics(rankings, judgements, ks=(1, 3))
    assert m["mrr"] == pytest.approx((1 + 1 / 3 + 0) / 3)          # q4 has no relevant document: not averaged
    assert (m["queries"], m["without_relevant"]) == (3, 1)
    assert m["recall@1"] == pytest.approx(1 / 3) and m["recall@3"] == pytest.approx(2 / 3)


def test_ndcg_by_hand():
    relevance = {"d1": 3, "d2": 2, "d3": 0}
    dcg = 0 / math.log2(2) + 3 / math.log2(3) + 2 / math.log2(4)
    ideal = 3 / math.log2(2) + 2 / math.log2(3) + 0 / math.log2(4)
    assert ndcg_at_k(["d3", "d1", "d2"], relevance, 3) == pytest.approx(dcg / ideal)   # 0.6788
    assert ndcg_at_k(["d3", "d1", "d2"], relevance, 1) == 0.0
    assert ndcg_at_k(["d3", "d1"], relevance, 2) == pytest.approx((3 / math.log2(3)) / (3 + 2 / math.log2(3)))
    # an unjudged document counts as grade 0 and still takes its rank
    assert ndcg_at_k(["u", "d1", "d2"], relevance, 3) == pytest.approx(dcg / ideal)
    assert ndcg_at_k(["d1"], {"d1": 1, "d2": 1}, 5) == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert ndcg_at_k(["d1"], {"d9": 0}, 5) is None


def test_ndcg_perfect_ranking_is_one_and_any_other_less():
    rng = np.random.default_rng(0)
    grades = {f"d{i}": float(g) for i, g in enumerate(rng.integers(0, 4, size=12))}
    grades["d0"] = 3.0
    perfect = sorted(grades, key=lambda d: -grades[d])
    for k in (1, 3, 5, 12, 20):
        assert ndcg_at_k(perfect, grades, k) == pytest.approx(1.0)
    worse = list(perfect)
    worse[0], worse[-1] = worse[-1], worse[0]        # the best document swapped with a grade-0 one
    for k in (1, 3, 12):
        assert ndcg_at_k(worse, grades, k) < 1.0
    for perm in itertools.islice(itertools.permutations(perfect[:6]), 200):
        assert ndcg_at_k(list(perm) + perfect[6:], grades, 6) <= 1.0 + 1e-12


def test_relevance_files(tmp_path):
    qrels = tmp_path / "qrels.txt"
    qrels.write_text("# query document grade\nq1\td1\t2\nq1\td2\t0\nq2 0 d3 1\n\nq3 d1 1.5\n")
    assert read_judgements(qrels) == {"q1": {"d1": 2.0, "d2": 0.0}, "q2": {"d3": 1.0}, "q3": {"d1": 1.5}}
    for text, message in [("q1 d1\n", "line 1: expected 'query_id document_id grade'"),
                          ("q1 d1 high\n", "line 1: grade 'high' is not a number >= 0"),
                          ("q1 d1 -1\n", "grade '-1' is not a number >= 0"),
                          ("q1 d1 1\nq1 0 d1 2\n", "line 2: query 'q1' and document 'd1' are judged twice"),
                          ("# nothing\n", "no relevance judgements found")]:
        qrels.write_text(text)
        with pytest.raises(W2VError, match=message):
            read_judgements(qrels)
    texts = tmp_path / "docs.tsv"
    texts.write_text("d1\tThe cat sat.\nd2\tA dog ran\tfast.\n")
    assert read_texts(texts) == {"d1": "The cat sat.", "d2": "A dog ran\tfast."}
    texts.write_text("d1\tx\nd1\ty\n")
    with pytest.raises(W2VError, match="line 2: id 'd1' appears twice"):
        read_texts(texts)
    texts.write_text("d1 no tab\n")
    with pytest.raises(W2VError, match="line 1: expected 'id<TAB>text'"):
        read_texts(texts)


def retrieval_case(tmp_path):
    """Ten topics with their own words; document i uses topic i's words, query i paraphrases it with other
    words of the same topic, so it should be found first. Query q9 is judged against d0 only (another topic):
    d0 can only come after d9 (same topic) and the others."""
    rng = np.random.default_rng(1)
    dim, topics, per_topic = 30, 10, 6
    centres = rng.standard_normal((topics, dim)) * 3
    words = [f"t{t}w{i}" for t in range(topics) for i in range(per_topic)]
    vectors = np.repeat(centres, per_topic, axis=0) + rng.standard_normal((topics * per_topic, dim))
    kv = KeyedVectors(words, vectors, counts=np.full(len(words), 100))
    docs = {f"d{t}": " ".join(f"t{t}w{i}" for i in range(3)) + " the unknown" for t in range(topics)}
    queries = {f"q{t}": " ".join(f"T{t}W{i}" for i in range(3, 6)) + "?" for t in range(topics)}
    queries["q-empty"] = "nothing known"
    judgements = {f"q{t}": {f"d{t}": 1} for t in range(9)}
    judgements["q9"] = {"d0": 1, "d9": 0}
    (tmp_path / "q.tsv").write_text("".join(f"{k}\t{v}\n" for k, v in queries.items()))
    (tmp_path / "d.tsv").write_text("".join(f"{k}\t{v}\n" for k, v in docs.items()))
    (tmp_path / "j.txt").write_text("".join(f"{q}\t{d}\t{g}\n" for q, rel in judgements.items() for d, g in rel.items()))
    return kv, vectors, queries, docs, judgements


@pytest.mark.parametrize("method", ["mean", "tfidf", "sif"])
def test_evaluate_retrieval_on_planted_topics(tmp_path, method):
    kv, vectors, queries, docs, judgements = retrieval_case(tmp_path)
    m = evaluate_retrieval(kv, tmp_path / "q.tsv", tmp_path / "d.tsv", tmp_path / "j.txt", method=method, ks=(1, 9, 10))
    # q9's relevant document is another topic's: it ranks below d9; where exactly, recompute by hand
    q9 = vectors[[kv.get_index(f"t9w{i}") for i in range(3, 6)]].mean(axis=0)
    cos = {d: float(q9 @ v / np.linalg.norm(q9) / np.linalg.norm(v)) for d, v in
           ((d, vectors[[kv.get_index(w) for w in text.split() if w in kv]].mean(axis=0)) for d, text in docs.items())}
    rank_d0 = 1 + sum(c > cos["d0"] for c in cos.values())
    assert rank_d0 > 1
    if method == "mean":   # the hand computation is mean pooling
        assert m["mrr"] == pytest.approx((9 + 1 / rank_d0) / 10)
    assert m["queries"] == 10 and m["documents"] == 10 and m["no_known_word"] == 1
    assert m["recall@1"] == pytest.approx(0.9)
    assert m["recall@10"] == pytest.approx(1.0)
    assert m["ndcg@1"] == pytest.approx(0.9)
    assert m["oov_token_share"] == pytest.approx((10 * 2 + 2) / (10 * 5 + 10 * 3 + 2))
    with_dicts = evaluate_retrieval(kv, queries, docs, judgements, method=method, ks=(1, 9, 10))
    assert with_dicts == m


def test_evaluate_retrieval_errors(tmp_path):
    kv, _, queries, docs, judgements = retrieval_case(tmp_path)
    with pytest.raises(W2VError, match="query 'q99' has relevance judgements but is not among the queries"):
        evaluate_retrieval(kv, queries, docs, {"q99": {"d1": 1}})
    with pytest.raises(W2VError, match="judged against document 'd99'"):
        evaluate_retrieval(kv, queries, docs, {"q1": {"d99": 1}})
    with pytest.raises(W2VError, match="k must be a positive integer"):
        evaluate_retrieval(kv, queries, docs, judgements, ks=(0,))


# ---- clustering -----------------------------------------------------------------------------

def brute_ari(a, b):
    """The pair-counting form: over all pairs of items, agreements and disagreements of the two partitions."""
    same_same = same_diff = diff_same = diff_diff = 0
    for i, j in itertools.combinations(range(len(a)), 2):
        sa, sb = a[i] == a[j], b[i] == b[j]
        same_same += sa and sb
        same_diff += sa and not sb
        diff_same += sb and not sa
        diff_diff += not sa and not sb
    num = 2 * (same_same * diff_diff - same_diff * diff_same)
    den = (same_same + same_diff) * (same_diff + diff_diff) + (same_same + diff_same) * (diff_same + diff_diff)
    return num / den


def brute_nmi(a, b):
    n = len(a)
    pa = {x: a.count(x) / n for x in set(a)}
    pb = {y: b.count(y) / n for y in set(b)}
    pab = {}
    for x, y in zip(a, b):
        pab[x, y] = pab.get((x, y), 0) + 1 / n
    mi = sum(p * math.log(p / (pa[x] * pb[y])) for (x, y), p in pab.items())
    h = lambda d: -sum(p * math.log(p) for p in d.values())
    return mi / ((h(pa) + h(pb)) / 2)


def test_nmi_ari_by_hand():
    # pred splits class 1 in two: contingency [[2, 0, 0], [0, 1, 1]]
    truth, pred = [0, 0, 1, 1], [0, 0, 1, 2]
    np.testing.assert_array_equal(contingency_table(truth, pred), [[2, 0, 0], [0, 1, 1]])
    # sum C(n_ij,2) = 1, rows 2, columns 1, C(4,2) = 6: E = 1/3, ARI = (1 - 1/3) / (3/2 - 1/3) = 4/7
    assert ari(truth, pred) == pytest.approx(4 / 7)
    # I = H(truth) = ln 2 (pred refines truth), H(pred) = 1.5 ln 2: NMI = ln 2 / (1.25 ln 2) = 0.8
    assert nmi(truth, pred) == pytest.approx(0.8)
    assert ari(pred, truth) == pytest.approx(4 / 7) and nmi(pred, truth) == pytest.approx(0.8)
    rng = np.random.default_rng(2)
    for _ in range(5):
        a = list(rng.integers(0, 4, size=40))
        b = list(rng.integers(0, 3, size=40))
        assert ari(a, b) == pytest.approx(brute_ari(a, b), abs=1e-12)
        assert nmi(a, b) == pytest.approx(brute_nmi(a, b), abs=1e-12)


def test_identical_and_random_clusterings():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 6, size=3000)
    renamed = np.array(["abcdef"[x] for x in (labels + 2) % 6])   # same partition, other names
    assert ari(labels, renamed) == pytest.approx(1.0) and nmi(labels, renamed) == pytest.approx(1.0)
    randoms = [ari(labels, rng.integers(0, 6, size=3000)) for _ in range(5)]
    assert max(abs(r) for r in randoms) < 0.01            # chance-adjusted: about 0
    assert max(nmi(labels, rng.integers(0, 6, size=3000)) for _ in range(5)) < 0.01
    assert ari([1, 1, 1], [0, 0, 0]) == 1.0 and nmi([1, 1, 1], [0, 0, 0]) == 1.0
    assert ari([1, 2, 3], [4, 5, 6]) == 1.0
    assert nmi([0, 0, 1, 1], [0, 0, 0, 0]) == 0.0
    assert ari([0, 0, 1, 1], [0, 1, 0, 1]) < 0                # worse than chance
    with pytest.raises(W2VError, match="same length"):
        ari([0, 1], [0, 1, 2])


def test_kmeans_recovers_planted_clusters():
    rng = np.random.default_rng(4)
    centres = rng.standard_normal((5, 8)) * 10
    truth = rng.integers(0, 5, size=500)
    x = centres[truth] + rng.standard_normal((500, 8))
    labels = geometry.kmeans(x, 5, seed=1)
    assert ari(truth, labels) == pytest.approx(1.0)
    assert labels.min() == 0 and labels.max() == 4
    np.testing.assert_array_equal(geometry.kmeans(x, 5, seed=1), labels)
    assert len(set(geometry.kmeans(x[:10], 10).tolist())) == 10   # k = n: every point its own cluster
    with pytest.raises(W2VError, match="k must be between 1"):
        geometry.kmeans(x, 501)


def test_kmeans_ends_at_a_lloyd_fixed_point():
    """Without planted clusters: every point is nearest to the mean of its own cluster, which no seeding alone gives."""
    x = np.random.default_rng(5).random((400, 2))
    for seed in range(3):
        labels = geometry.kmeans(x, 6, seed=seed, restarts=1)
        means = np.array([x[labels == j].mean(axis=0) for j in range(6)])
        nearest = ((x[:, None, :] - means[None]) ** 2).sum(axis=2).argmin(axis=1)
        np.testing.assert_array_equal(nearest, labels)


def test_kmeans_keeps_the_best_restart():
    x = np.random.default_rng(7).random((300, 2))

    def cost(labels):
        return sum(((x[labels == j] - x[labels == j].mean(axis=0)) ** 2).sum() for j in np.unique(labels))
    singles = sorted(cost(geometry.kmeans(x, 12, seed=s, restarts=1)) for s in range(100, 120))
    assert singles[0] < singles[-1]                 # the runs do end in different local optima
    best = cost(geometry.kmeans(x, 12, seed=0, restarts=20))
    assert best <= singles[3]                       # best of 20 beats the 4th of 20 other single runs


def test_kmeans_plus_plus_seeding_finds_every_small_far_cluster():
    """Ten tight clusters far apart: seeding by squared distance picks one centre in each (uniform seeding almost
    never does: 10! / 10^10), and Lloyd's steps cannot move a centre from one cluster to another."""
    rng = np.random.default_rng(6)
    truth = np.repeat(np.arange(10), 30)
    x = rng.standard_normal((10, 5))[truth] * 100 + rng.standard_normal((300, 5))
    for seed in range(10):
        assert ari(truth, geometry.kmeans(x, 10, seed=seed, restarts=1)) == pytest.approx(1.0)


def test_word_clusters_against_analogy_sections(tmp_path):
    rng = np.random.default_rng(5)
    groups = {"capitals": ["paris", "france", "rome", "italy"], "gram-plural": ["cat", "cats", "dog", "dogs"],
              "family": ["boy", "girl", "brother", "sister"]}
    centres = rng.standard_normal((3, 10)) * 4
    words, vecs = [], []
    for centre, members in zip(centres, groups.values()):
        for w in members:
            words.append(w)
            vecs.append(centre + rng.standard_normal(10) * 0.3)
    words.append("king")
    vecs.append(centres[2] + rng.standard_normal(10) * 0.3)
    kv = KeyedVectors(words, np.array(vecs))
    path = tmp_path / "questions.txt"
    path.write_text(": capitals\nParis France Rome Italy\n: gram-plural\ncat cats dog dogs\n"
                    ": family\nboy girl brother sister\nboy girl king queen\n")  # king also in capitals below
    r = evaluate_word_clusters(kv, path)
    assert (r["nmi"], r["ari"]) == (pytest.approx(1.0), pytest.approx(1.0))
    assert (r["words"], r["ambiguous"], r["unknown"], r["sections"], r["k"]) == (13, 0, 1, 3, 3)
    path.write_text(path.read_text() + ": more\nparis king rome italy\n")
    r = evaluate_word_clusters(kv, path)   # paris, rome, italy and king now belong to two sections: left out
    assert (r["words"], r["ambiguous"], r["sections"]) == (9, 4, 3)
    assert r["ari"] == pytest.approx(1.0)
