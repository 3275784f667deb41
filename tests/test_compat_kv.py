"""gensim 4's KeyedVectors API: w2v's KeyedVectors and w2v.compat against hand-computed cases,
and against gensim's own KeyedVectors on the same vectors (those tests skip when gensim is absent)."""
import math
import sys

import numpy as np
import pytest

import w2v.evaluate
from conftest import require_gensim
from w2v import compat
from w2v.errors import UnknownWordError, W2VError
from w2v.vectors import KeyedVectors

SQ2 = math.sqrt(2.0)


def hand_kv(cls=KeyedVectors):
    """2-D vectors whose cosines are easy by hand: a=(1,0) b=(0,1) c=(1,1) d=(-1,0) e=(3,4)."""
    words = ["a", "b", "c", "d", "e"]
    vecs = np.array([[1, 0], [0, 1], [1, 1], [-1, 0], [3, 4]], dtype=np.float32)
    return cls._from_parts(words, vecs)


def words_of(pairs):
    return [w for w, _ in pairs]


# ---- queries on hand-computed cases ---------------------------------------------------------------

def test_weighted_terms_and_raw_vectors():
    kv = hand_kv()
    # query = 2 * a - b (unit vectors; weight from the pair), direction (2, -1) / sqrt(5)
    got = kv.most_similar(positive=[("a", 2.0)], negative=["b"])
    assert words_of(got) == ["c", "e", "d"]
    np.testing.assert_allclose([s for _, s in got], [1 / math.sqrt(10), 2 / (5 * math.sqrt(5)), -2 / math.sqrt(5)],
                               rtol=1e-6)
    # a vector counts as given (its length is its weight): a + (0, 2) points along (1, 2), nearest e
    # (at unit length it would point along (1, 1), at c)
    got = kv.most_similar(positive=["a", np.array([0.0, 2.0])], topn=1)
    assert got[0][0] == "e" and got[0][1] == pytest.approx(11 / (5 * math.sqrt(5)), rel=1e-6)
    # a pair's weight is used as given, also in `negative` (as gensim does): the query is d itself
    assert kv.most_similar(negative=[("d", 1.0)], topn=1)[0][0] == "b"
    # a 2-D array is a list of rows; a vector in the query is not excluded
    assert kv.most_similar(positive=kv.vectors[[0, 1]], topn=1)[0][0] == "c"
    assert kv.similar_by_vector([1.0, 0.0], topn=1) == [("a", pytest.approx(1.0))]


def test_topn_and_candidate_range():
    kv = hand_kv()
    everything = kv.most_similar("a", topn=None)          # w2v: every candidate, ranked
    assert words_of(everything) == ["c", "e", "b", "d"]
    ckv = hand_kv(compat.KeyedVectors)
    sims = ckv.most_similar("a", topn=None)                # gensim: the array of all cosines
    np.testing.assert_allclose(sims, [1, 0, 1 / SQ2, -1, 0.6], atol=1e-6)
    assert ckv.most_similar("a", topn=0) == [] and ckv.most_similar("a", topn=np.uint8(0)) == []
    with pytest.raises(W2VError, match="topn"):
        kv.most_similar("a", topn=0)
    assert words_of(kv.most_similar("a", restrict_vocab=3)) == ["c", "b"]
    assert words_of(kv.most_similar("a", clip_start=2, clip_end=4)) == ["c", "d"]
    np.testing.assert_allclose(ckv.most_similar("a", topn=None, clip_start=3), [-1, 0.6], atol=1e-6)
    assert len(ckv.most_similar_cosmul("a", topn=None)) == 5 and ckv.most_similar_cosmul("a", topn=0) == []


def test_mean_vector():
    kv = hand_kv()
    got = kv.get_mean_vector(["a", "e", "zzz"], weights=[1, 2, 5])  # zzz skipped: total weight 3
    np.testing.assert_allclose(got, [(1 + 2 * 0.6) / 3, 2 * 0.8 / 3], rtol=1e-6)
    got = kv.get_mean_vector(["a", "e"], weights=[1, 2], pre_normalize=False)
    np.testing.assert_allclose(got, [7 / 3, 8 / 3], rtol=1e-6)
    got = kv.get_mean_vector(["a", "e"], weights=[1, 2], pre_normalize=False, post_normalize=True)
    np.testing.assert_allclose(got, np.array([7, 8]) / math.sqrt(113), rtol=1e-6)
    np.testing.assert_allclose(kv.get_mean_vector([np.array([2.0, 0.0]), "b"], [1, -1]), [1, -0.5], rtol=1e-6)
    with pytest.raises(UnknownWordError, match="zzz"):
        kv.get_mean_vector(["a", "zzz"], ignore_missing=False)
    with pytest.raises(W2VError, match="2 keys but 3 weights"):
        kv.get_mean_vector(["a", "b"], [1, 2, 3])


def test_pair_queries():
    kv = hand_kv()
    assert kv.similarity("a", "c") == pytest.approx(1 / SQ2)
    assert kv.distance("a", "c") == pytest.approx(1 - 1 / SQ2)
    assert kv.similarity("c", "c") == 1.0 and kv.distance("c", "c") == 0.0   # float32 unit c . c is 1 - 6e-8
    np.testing.assert_allclose(kv.distances("a"), [0, 1, 1 - 1 / SQ2, 2, 0.4], atol=1e-6)
    np.testing.assert_allclose(kv.distances(np.array([0.0, 2.0]), ["a", "e"]), [1, 0.2], atol=1e-6)
    assert kv.closer_than("a", "b") == ["c", "e"] and kv.rank("a", "b") == 3 and kv.rank("a", "c") == 1
    assert kv.closer_than("a", "a") == [] and kv.rank("a", "a") == 1
    # raw means: (a + e) / 2 = (2, 2), at 45 degrees to b (unit vectors would give (0.8, 0.4))
    assert kv.n_similarity(["a", "e"], ["b"]) == pytest.approx(1 / SQ2, rel=1e-6)
    with pytest.raises(UnknownWordError):
        kv.n_similarity(["a", "zzz"], ["b"])
    assert kv.most_similar_to_given("a", ["b", "c", "d"]) == "c"
    assert kv.relative_cosine_similarity("a", "c", topn=2) == pytest.approx((1 / SQ2) / (1 / SQ2 + 0.6), rel=1e-6)
    # centre of a, c, e (unit vectors); d is the odd one out
    ranked = kv.rank_by_centrality(["a", "c", "d", "e"])
    units = np.array([[1, 0], [1 / SQ2, 1 / SQ2], [-1, 0], [0.6, 0.8]])
    mean = units.mean(axis=0) / np.linalg.norm(units.mean(axis=0))
    want = sorted(zip((units @ mean).tolist(), ["a", "c", "d", "e"]), reverse=True)
    assert [w for _, w in ranked] == [w for _, w in want]
    np.testing.assert_allclose([s for s, _ in ranked], [s for s, _ in want], rtol=1e-6)
    assert kv.doesnt_match(["a", "c", "d", "e"]) == "d"
    with pytest.warns(UserWarning, match="zzz"):
        assert hand_kv(compat.KeyedVectors).doesnt_match(["a", "c", "zzz", "d"]) == "d"
    with pytest.raises(UnknownWordError):
        kv.doesnt_match(["a", "c", "zzz", "d"])


# ---- attributes, adding words ------------------------------------------------------------------

def test_counts_as_vecattr():
    kv = KeyedVectors(["x", "y", "z"], np.eye(3), counts=[7, 5, 1])
    assert kv.get_vecattr("y", "count") == 5
    kv.set_vecattr("y", "count", 9)
    assert kv.get_count("y") == 9
    with pytest.raises(W2VError, match="'sample_int'"):
        kv.get_vecattr("y", "sample_int")
    bare = KeyedVectors(["x", "y", "z"], np.eye(3))
    with pytest.raises(W2VError, match="no word counts"):
        bare.get_vecattr("x", "count")
    cbare = compat.KeyedVectors.from_w2v(bare)   # gensim's stand-in: V - row
    assert [cbare.get_vecattr(w, "count") for w in "xyz"] == [3, 2, 1]
    cbare.set_vecattr("z", "count", 10)
    assert list(cbare.counts) == [3, 2, 10]


def test_add_and_select():
    kv = compat.KeyedVectors(3)
    kv.add_vectors(["a", "b"], [[1, 0, 0], [0, 1, 0]])
    kv["c"] = np.array([0, 0, 1.0])
    assert kv.most_similar("b", topn=1)[0][0] in ("a", "c")  # norms cached before the next additions
    kv[["a", "d"]] = np.array([[2, 0, 0], [1, 1, 1.0]])    # replaces a, appends d
    assert kv.index_to_key == ["a", "b", "c", "d"] and kv.key_to_index["d"] == 3
    np.testing.assert_array_equal(kv["a"], [2, 0, 0])
    kv.add_vectors(["b", "e"], [[5, 5, 5], [0, 2, 0]])      # b is kept without replace=True
    np.testing.assert_array_equal(kv[["b", "e"]], [[0, 1, 0], [0, 2, 0]])
    assert kv.vectors.dtype == np.float32
    assert kv.most_similar("b", topn=1)[0][0] == "e"       # norms were recomputed
    assert kv.add_vector("f", [1, 2, 3]) == 5
    with pytest.raises(W2VError, match="duplicate key 'g'"):
        kv.add_vectors(["g", "g"], np.zeros((2, 3)))
    with pytest.raises(W2VError, match="2 x 3"):
        kv.add_vectors(["g", "h"], np.zeros((2, 4)))
    counted = KeyedVectors(["x"], np.ones((1, 3)), counts=[4])
    counted.add_vectors(["y", "z"], np.ones((2, 3)), extras={"count": np.array([2, 1])})
    counted.add_vectors(["w"], np.ones((1, 3)))
    assert list(counted.counts) == [4, 2, 1, 0]
    sub = counted.vectors_for_all(["z", "nope", "x", "z"], copy_vecattrs=True)
    assert sub.index_to_key == ["z", "x"] and list(sub.counts) == [1, 4]
    assert counted.vectors_for_all(["z"]).counts is None
    assert isinstance(kv.vectors_for_all(["a"]), compat.KeyedVectors)


# ---- files -----------------------------------------------------------------------------------------

def test_word2vec_format_files(tmp_path):
    kv = KeyedVectors(["low", "high", "mid"], np.arange(6, dtype=np.float32).reshape(3, 2) / 7, counts=[1, 5, 3])
    path, vocab = tmp_path / "v.txt", tmp_path / "v.vocab"
    kv.save_word2vec_format(path, fvocab=vocab, prefix="p_")
    assert vocab.read_text() == "p_high 5\np_mid 3\np_low 1\n"   # most frequent first, as gensim writes
    lines = path.read_text().splitlines()
    assert lines[0] == "3 2" and [line.split()[0] for line in lines[1:]] == ["p_high", "p_mid", "p_low"]
    back = KeyedVectors.load_word2vec_format(path, fvocab=vocab)
    assert back.index_to_key == ["p_high", "p_mid", "p_low"] and list(back.counts) == [5, 3, 1]
    np.testing.assert_array_equal(back.vectors, kv.vectors[[1, 2, 0]])
    kv.save_word2vec_format(path, sort_attr=None, write_header=False)
    back = KeyedVectors.load_word2vec_format(path, no_header=True, limit=2)
    assert back.index_to_key == ["low", "high"]
    np.testing.assert_array_equal(back.vectors, kv.vectors[:2])
    kv.save_word2vec_format(tmp_path / "v.bin", binary=True)
    back = compat.KeyedVectors.load_word2vec_format(tmp_path / "v.bin", binary=True)
    assert isinstance(back, compat.KeyedVectors) and back.index_to_key == ["high", "mid", "low"]
    with pytest.raises(W2VError, match="line 2: expected 2 values"):  # binary= is honoured, not guessed
        KeyedVectors.load_word2vec_format(tmp_path / "v.bin", binary=False)
    (tmp_path / "short.vocab").write_text("high 5\n")
    with pytest.raises(W2VError, match="no count for the word 'mid'"):
        KeyedVectors.load_word2vec_format(tmp_path / "v.bin", binary=True, fvocab=tmp_path / "short.vocab")


def test_binary_words_after_newlines(tmp_path):
    vec = np.array([1.5, -2.0], dtype="<f4").tobytes()
    (tmp_path / "v.bin").write_bytes(b"3 2\n" + b"ab " + vec + b"\n\ncd " + vec + b"\n\n\nef " + vec)
    kv = KeyedVectors.load_word2vec_format(tmp_path / "v.bin", binary=True)
    assert kv.index_to_key == ["ab", "cd", "ef"]


def test_unicode_errors(tmp_path):
    path = tmp_path / "v.txt"
    path.write_bytes(b"2 2\ncaf\xc3 1 2\nok 3 4\n")
    vocab = tmp_path / "v.vocab"
    vocab.write_bytes(b"caf\xc3 12\nok 3\n")
    with pytest.raises(UnicodeDecodeError, match="line 2: word b'caf\\\\xc3' is not valid UTF-8") as err:
        KeyedVectors.load_word2vec_format(path)
    assert isinstance(err.value, W2VError)
    with pytest.warns(UnicodeWarning, match="1 words .* removed"):
        kv = KeyedVectors.load_word2vec_format(path, fvocab=vocab, unicode_errors="ignore")
    assert kv.index_to_key == ["caf", "ok"] and kv.get_vecattr("caf", "count") == 12
    with pytest.warns(UnicodeWarning, match="replaced"):
        kv = KeyedVectors.load_word2vec_format(path, fvocab=vocab, unicode_errors="replace")
    assert kv.index_to_key == ["caf\ufffd", "ok"] and kv.get_count("caf\ufffd") == 12


def test_compat_save_load(tmp_path):
    kv = hand_kv(compat.KeyedVectors)
    kv.set_vecattr("a", "count", 3)
    kv.save(str(tmp_path / "kv.w2v"))
    back = compat.KeyedVectors.load(str(tmp_path / "kv.w2v"), mmap="r")
    assert isinstance(back, compat.KeyedVectors) and isinstance(back.vectors, np.memmap)
    assert back.index_to_key == kv.index_to_key and back.get_vecattr("a", "count") == 3
    np.testing.assert_array_equal(back.vectors, kv.vectors)
    (tmp_path / "gensim.kv").write_bytes(b"\x80\x04\x95" + bytes(40))
    with pytest.raises(W2VError, match="a Python pickle .* save_word2vec_format"):
        compat.KeyedVectors.load(str(tmp_path / "gensim.kv"))


@pytest.mark.parametrize("call,name", [
    (lambda kv, p: kv.most_similar("a", indexer=object()), "indexer="),
    (lambda kv, p: compat.KeyedVectors(3, count=10), "count="),
    (lambda kv, p: compat.KeyedVectors(3, dtype=np.float16), "dtype="),
    (lambda kv, p: compat.KeyedVectors(3, mapfile_path="x"), "mapfile_path="),
    (lambda kv, p: kv.load_word2vec_format(p, datatype=np.float64), "datatype="),
    (lambda kv, p: kv.load_word2vec_format(p, encoding="latin-1"), "encoding="),
    (lambda kv, p: kv.load_word2vec_format(p, binary=True, no_header=True), "no_header=True"),
    (lambda kv, p: kv.save_word2vec_format(p, append=True), "append=True"),
    (lambda kv, p: kv.save_word2vec_format(p, total_vec=9), "total_vec=9"),
    (lambda kv, p: kv.save_word2vec_format(p, sort_attr="rank"), "'rank'"),
    (lambda kv, p: kv.evaluate_word_analogies(p, similarity_function="cosmul"), "similarity_function="),
    (lambda kv, p: kv.save(p, pickle_protocol=2), "pickle_protocol="),
    (lambda kv, p: kv.save(p, separately=["vectors"]), "separately="),
    (lambda kv, p: compat.KeyedVectors.load(p, mmap="c"), "mmap='c'"),
    (lambda kv, p: kv.most_similar_cosmul([("a", 2.0)]), "(term, weight)"),
    (lambda kv, p: kv.set_vecattr("a", "lockf", 1.0), "'lockf'"),
])
def test_unsupported_arguments_are_errors(tmp_path, call, name):
    kv = hand_kv(compat.KeyedVectors)
    path = tmp_path / "v.txt"
    kv.save_word2vec_format(path)
    with pytest.raises(W2VError) as err:
        call(kv, path)
    message = str(err.value)
    assert name in message and "\n" not in message


# ---- evaluation, gensim's shapes -------------------------------------------------------------------

def planted_analogies(tmp_path):
    """x0 - x1 + x2 = x3 exactly and so on; the answers of a small questions file are known by construction."""
    rng = np.random.default_rng(3)
    words = ["king", "man", "woman", "queen", "paris", "france", "italy", "rome", "noise1", "noise2", "Queen"]
    vecs = {w: rng.standard_normal(8) for w in words}
    vecs["Queen"] = vecs["king"] - vecs["man"] + vecs["woman"]      # the best answer is this case variant
    vecs["queen"] = vecs["Queen"] + 0.1 * rng.standard_normal(8)
    vecs["rome"] = vecs["paris"] - vecs["france"] + vecs["italy"]
    kv = compat.KeyedVectors(8)
    kv.add_vectors(words, np.array([vecs[w] for w in words]))
    path = tmp_path / "questions.txt"
    path.write_text(": family\nman king woman queen\nMan King Woman noise1\nman king woman unicorn\n"
                    ": capitals\nfrance paris italy rome\n")
    return kv, path


def test_evaluate_word_analogies_shape(tmp_path):
    kv, path = planted_analogies(tmp_path)
    score, sections = kv.evaluate_word_analogies(path)
    assert score == pytest.approx(2 / 3)
    assert sections == [
        {"section": "family", "correct": [("MAN", "KING", "WOMAN", "QUEEN")],
         "incorrect": [("MAN", "KING", "WOMAN", "NOISE1")]},
        {"section": "capitals", "correct": [("FRANCE", "PARIS", "ITALY", "ROME")], "incorrect": []},
        {"section": "Total accuracy", "correct": [("MAN", "KING", "WOMAN", "QUEEN"), ("FRANCE", "PARIS", "ITALY", "ROME")],
         "incorrect": [("MAN", "KING", "WOMAN", "NOISE1")]},
    ]
    # with case, "Queen" is not "queen"; "Man King Woman" is unknown, and so is "unicorn"
    score, sections = kv.evaluate_word_analogies(path, dummy4unknown=True, case_insensitive=False)
    assert score == pytest.approx(1 / 4) and sections[0]["correct"] == []
    assert sections[0]["incorrect"] == [("man", "king", "woman", "queen"), ("Man", "King", "Woman", "noise1"),
                                        ("man", "king", "woman", "unicorn")]
    score, sections = kv.evaluate_word_analogies(path, restrict_vocab=4)   # only king..queen are known
    assert score == 1.0 and sections[-1]["incorrect"] == []


def test_evaluate_word_pairs_shape(tmp_path):
    kv = hand_kv(compat.KeyedVectors)
    path = tmp_path / "pairs.tsv"
    rows = [("a", "c", 7.0), ("a", "e", 5.0), ("A", "b", 4.0), ("b", "d", 1.0), ("a", "zzz", 9.0)]
    path.write_text("# word1\tword2\tscore\n" + "".join(f"{x}\t{y}\t{s}\n" for x, y, s in rows))
    (r, p_r), (rho, p_rho), oov = kv.evaluate_word_pairs(path)
    cos = [1 / SQ2, 0.6, 0.0, 0.0]
    human = [7.0, 5.0, 4.0, 1.0]
    assert r == pytest.approx(np.corrcoef(human, cos)[0, 1], rel=1e-6)
    assert rho == pytest.approx(np.corrcoef([4, 3, 2, 1], [4, 3, 1.5, 1.5])[0, 1], rel=1e-9)
    # 4 pairs: 2 degrees of freedom, where the two-sided p-value is exactly 1 - |r|
    assert p_r == pytest.approx(1 - abs(r), rel=1e-6) and p_rho == pytest.approx(1 - abs(rho), rel=1e-9)
    assert oov == pytest.approx(20.0)
    (r, _), _, oov = kv.evaluate_word_pairs(path, dummy4unknown=True)
    assert r == pytest.approx(np.corrcoef(human + [9.0], cos + [0.0])[0, 1], rel=1e-6) and oov == pytest.approx(20.0)
    _, _, oov = kv.evaluate_word_pairs(path, case_insensitive=False)
    assert oov == pytest.approx(40.0)
    path.write_text("".join(f"{x} 1;{y};{s}\n" for x, y, s in rows))   # the delimiter, not spaces, splits
    kv.add_vectors(["a 1", "A 1"], [[1, 0], [1, 0]])                    # (a word with a space)
    (r, _), _, oov = kv.evaluate_word_pairs(path, delimiter=";")       # ("b 1", "d") and ("a 1", "zzz") unknown
    assert r == pytest.approx(np.corrcoef([7.0, 5.0, 4.0], [1 / SQ2, 0.6, 0.0])[0, 1], rel=1e-6) and oov == 40.0


def t_two_sided_even_df(t, df):
    """P(|T| >= t) for Student's t with an even number of degrees of freedom (a finite sum)."""
    x = df / (df + t * t)
    return 1 - abs(t) / math.sqrt(df + t * t) * sum(math.comb(2 * j, j) / 4 ** j * x ** j for j in range(df // 2))


@pytest.mark.parametrize("df", [2, 4, 10, 100, 998])
@pytest.mark.parametrize("t", [0.05, 0.8, 1.9, 2.6])   # p-values from 0.96 down to 0.01
def test_correlation_pvalue_without_scipy(monkeypatch, df, t):
    r = t / math.sqrt(df + t * t)
    want = t_two_sided_even_df(t, df)
    monkeypatch.setitem(sys.modules, "scipy.special", None)   # `from scipy.special import ...` fails
    assert w2v.evaluate.correlation_pvalue(r, df + 2) == pytest.approx(want, rel=1e-9)
    assert w2v.evaluate.correlation_pvalue(-r, df + 2) == pytest.approx(want, rel=1e-9)


def test_incomplete_beta_odd_df_and_limits():
    # one degree of freedom (Cauchy): p = 1 - (2 / pi) * asin(|r|)
    for r in (0.05, 0.5, 0.95):
        assert w2v.evaluate._betainc_cf(0.5, 0.5, 1 - r * r) == pytest.approx(1 - 2 / math.pi * math.asin(r), rel=1e-12)
    assert w2v.evaluate.correlation_pvalue(1.0, 50) == 0.0
    assert math.isnan(w2v.evaluate.correlation_pvalue(None, 50))
    assert math.isnan(w2v.evaluate.correlation_pvalue(0.5, 2))


# ---- against gensim's own KeyedVectors ----------------------------------------------------------------

@pytest.fixture(scope="module")
def both():
    """gensim's and w2v.compat's KeyedVectors over the same vectors, with case variants and zero-free rows."""
    models = require_gensim()
    rng = np.random.default_rng(11)
    base = [f"w{i}" for i in range(200)]
    words = base[:50] + ["W3", "W7", "W10"] + base[50:]
    vecs = rng.standard_normal((len(words), 12)).astype(np.float32)
    for a, b, c, d in [(0, 1, 2, 3), (4, 5, 6, 7), (8, 9, 10, 11), (12, 13, 14, 15)]:
        vecs[d] = vecs[b] - vecs[a] + vecs[c] + 0.05 * rng.standard_normal(12)
    for variant in ("W3", "W7", "W10"):
        vecs[words.index(variant)] = vecs[words.index(variant.lower())] + 0.05 * rng.standard_normal(12)
    g = models.KeyedVectors(12)
    g.add_vectors(words, vecs)
    w = compat.KeyedVectors(12)
    w.add_vectors(words, vecs)
    return g, w


def assert_same_ranking(got, want, atol=1e-5):
    assert words_of(got) == words_of(want)
    np.testing.assert_allclose([s for _, s in got], [s for _, s in want], atol=atol)


QUERIES = [
    dict(positive="w5"),
    dict(positive=["w1", "w2"], negative=["w3"], topn=7),
    dict(positive=[("w1", 0.5), "w2"], negative=[("w3", -2.0), "w60"], topn=6),
    dict(positive=["w1", "VECTOR"], topn=5),
    dict(positive="w8", restrict_vocab=40),
    dict(positive="w8", clip_start=10, clip_end=120),
    dict(positive="w9", negative="w4", topn=3),
]


@pytest.mark.parametrize("query", QUERIES)
def test_most_similar_matches_gensim(both, query):
    g, w = both
    q = {k: ([g["w30"] * 4.0 if t == "VECTOR" else t for t in v] if isinstance(v, list) else v) for k, v in query.items()}
    assert_same_ranking(w.most_similar(**q), g.most_similar(**q))
    q["topn"] = None
    np.testing.assert_allclose(w.most_similar(**q), g.most_similar(**q), atol=1e-5)


@pytest.mark.filterwarnings("ignore:Call to deprecated `init_sims`")  # inside gensim's most_similar_cosmul
@pytest.mark.parametrize("pos,neg", [(["w1", "w2"], ["w3"]), ("w4", None), (["w5", "w6", "w7"], ["w8", "w9"])])
def test_cosmul_and_similar_by_match_gensim(both, pos, neg):
    g, w = both
    assert_same_ranking(w.most_similar_cosmul(pos, neg, topn=8), g.most_similar_cosmul(pos, neg, topn=8))
    np.testing.assert_allclose(w.most_similar_cosmul(pos, neg, topn=None), g.most_similar_cosmul(pos, neg, topn=None),
                               rtol=1e-5)
    assert_same_ranking(w.similar_by_word("w20", topn=6), g.similar_by_word("w20", topn=6))
    assert_same_ranking(w.similar_by_key("w21", topn=6, restrict_vocab=90), g.similar_by_key("w21", topn=6, restrict_vocab=90))
    v = g["w22"] * 0.3
    assert_same_ranking(w.similar_by_vector(v, topn=6), g.similar_by_vector(v, topn=6))


def test_pair_queries_match_gensim(both):
    g, w = both
    assert w.similarity("w1", "w2") == pytest.approx(float(g.similarity("w1", "w2")), abs=1e-6)
    assert w.distance("w1", "w9") == pytest.approx(float(g.distance("w1", "w9")), abs=1e-6)
    assert w.n_similarity(["w1", "w2"], ["w3", "W3"]) == pytest.approx(float(g.n_similarity(["w1", "w2"], ["w3", "W3"])),
                                                                       abs=1e-6)
    np.testing.assert_allclose(w.distances("w5"), g.distances("w5"), atol=1e-6)
    np.testing.assert_allclose(w.distances(g["w6"] * 2, ["w1", "w7"]), g.distances(g["w6"] * 2, ["w1", "w7"]), atol=1e-6)
    assert w.closer_than("w5", "w40") == g.closer_than("w5", "w40")
    assert [w.rank("w5", x) for x in ("w5", "w40", "w150")] == [g.rank("w5", x) for x in ("w5", "w40", "w150")]
    group = ["w1", "w2", "w3", "w4", "w5", "w100"]
    assert w.doesnt_match(group) == g.doesnt_match(group)
    ours, theirs = w.rank_by_centrality(group), g.rank_by_centrality(group)
    assert [x for _, x in ours] == [x for _, x in theirs]
    np.testing.assert_allclose([s for s, _ in ours], [s for s, _ in theirs], atol=1e-6)
    assert w.most_similar_to_given("w3", ["w1", "W3", "w9"]) == g.most_similar_to_given("w3", ["w1", "W3", "w9"])
    assert w.relative_cosine_similarity("w1", "w2", 5) == pytest.approx(g.relative_cosine_similarity("w1", "w2", 5),
                                                                        rel=1e-5)
    for kwargs in (dict(), dict(weights=[1, -2, 0.5, 3]), dict(pre_normalize=False, post_normalize=True)):
        keys = ["w1", "w2", g["w8"], "unknown"]
        np.testing.assert_allclose(w.get_mean_vector(keys, **kwargs), g.get_mean_vector(keys, **kwargs), atol=1e-6)
    np.testing.assert_allclose(w.get_vector("w4", norm=True), g.get_vector("w4", norm=True), atol=1e-7)
    np.testing.assert_array_equal(w[["w4", "W7"]], g[["w4", "W7"]])
    assert w.index_to_key == g.index_to_key and w.key_to_index == g.key_to_index and w.vector_size == g.vector_size
    assert w.has_index_for("W10") and "W10" in w and not w.has_index_for("w999")


def gensim_data(name):
    require_gensim()
    from gensim.test.utils import datapath
    return datapath(name)


@pytest.mark.parametrize("kwargs", [dict(), dict(restrict_vocab=120), dict(case_insensitive=False),
                                    dict(dummy4unknown=True, restrict_vocab=100)])
def test_analogies_match_gensim(both, tmp_path, kwargs):
    g, w = both
    rng = np.random.default_rng(5)
    base = [x for x in w.index_to_key if x.islower()]
    lines = []
    for name in ("capital-world", "gram1-adjective"):
        lines.append(f": {name}")
        lines += ["w0 w1 w2 w3", "w4 W5 w6 w7", "w8 w9 w10 W11", "w12 w13 w14 w15", "w1 w1 w3 W3", "w2 w2 w7 W7"]
        for _ in range(60):
            q = list(rng.choice(base[:160], 4, replace=False))
            if rng.random() < 0.1:
                q[rng.integers(4)] = "unknownword"
            lines.append(" ".join(x.upper() if rng.random() < 0.2 else x for x in q))
    path = tmp_path / "q.txt"
    path.write_text("\n".join(lines) + "\n")
    assert w.evaluate_word_analogies(str(path), **kwargs) == g.evaluate_word_analogies(str(path), **kwargs)


def test_gensim_test_data_match(tmp_path):
    GensimKeyedVectors = require_gensim().KeyedVectors
    vectors = gensim_data("euclidean_vectors.bin")
    g = GensimKeyedVectors.load_word2vec_format(vectors, binary=True)
    w = compat.KeyedVectors.load_word2vec_format(vectors, binary=True, limit=None)
    questions = gensim_data("questions-words.txt")
    assert w.evaluate_word_analogies(questions, restrict_vocab=1500) == g.evaluate_word_analogies(questions,
                                                                                                  restrict_vocab=1500)
    for name in ("wordsim353.tsv", "simlex999.txt"):
        for dummy in (False, True):
            ours, theirs = w.evaluate_word_pairs(gensim_data(name), dummy4unknown=dummy), \
                g.evaluate_word_pairs(gensim_data(name), dummy4unknown=dummy)
            np.testing.assert_allclose([*ours[0], *ours[1], ours[2]], [*theirs[0], *theirs[1], theirs[2]], rtol=2e-6)
    assert [w.get_vecattr(x, "count") for x in ("the", "war")] == [g.get_vecattr(x, "count") for x in ("the", "war")]


def test_files_interoperate_with_gensim(both, tmp_path):
    g, w = both
    GensimKeyedVectors = require_gensim().KeyedVectors
    counts = np.random.default_rng(2).integers(1, 1000, len(w))   # not sorted: both writers sort by count
    for i, key in enumerate(w.index_to_key):
        g.set_vecattr(key, "count", int(counts[i]))
    w.counts = counts.copy()
    for binary in (True, False):
        g.save_word2vec_format(str(tmp_path / "g"), fvocab=str(tmp_path / "g.vocab"), binary=binary)
        w.save_word2vec_format(str(tmp_path / "w"), fvocab=str(tmp_path / "w.vocab"), binary=binary)
        assert (tmp_path / "w.vocab").read_bytes() == (tmp_path / "g.vocab").read_bytes()
        ours = compat.KeyedVectors.load_word2vec_format(str(tmp_path / "g"), fvocab=str(tmp_path / "g.vocab"),
                                                        binary=binary, limit=150)
        theirs = GensimKeyedVectors.load_word2vec_format(str(tmp_path / "w"), fvocab=str(tmp_path / "w.vocab"),
                                                         binary=binary, limit=150)
        assert ours.index_to_key == theirs.index_to_key and len(ours) == 150
        np.testing.assert_array_equal(ours.vectors, theirs.vectors)
        assert [ours.get_vecattr(k, "count") for k in ours.index_to_key[:20]] == \
            [theirs.get_vecattr(k, "count") for k in ours.index_to_key[:20]]
    sub_w, sub_g = w.vectors_for_all(["w5", "zz", "W3", "w5"]), g.vectors_for_all(["w5", "zz", "W3", "w5"])
    assert sub_w.index_to_key == sub_g.index_to_key
    np.testing.assert_array_equal(sub_w.vectors, sub_g.vectors)


def test_evaluate_word_analogies_by_3cosmul_answers_as_most_similar_cosmul(tmp_path):
    """similarity_function='most_similar_cosmul': each question is right exactly when
    most_similar_cosmul(positive=[b, c], negative=[a]) ranks d first among the non-question words.
    Half the questions expect 3CosMul's answer and half 3CosAdd's, so the two rules score differently."""
    rng = np.random.default_rng(5)
    words = [f"w{i}" for i in range(60)]
    kv = compat.KeyedVectors(16)
    kv.add_vectors(words, rng.normal(size=(60, 16)).astype(np.float32))

    def first(ranked, q):
        return [w for w, _ in ranked if w not in q][0]

    questions, want_mul, want_add = [], [], []
    for k, (a, b, c) in enumerate(rng.choice(60, size=(200, 3))):
        if len({a, b, c}) < 3:
            continue
        q = (words[a], words[b], words[c])
        mul = first(kv.most_similar_cosmul(positive=[q[1], q[2]], negative=[q[0]], topn=6), q)
        add = first(kv.most_similar(positive=[q[1], q[2]], negative=[q[0]], topn=6), q)
        d = mul if k % 2 else add
        questions.append(q + (d,))
        want_mul.append(mul == d)
        want_add.append(add == d)
    path = tmp_path / "q.txt"
    path.write_text(": one\n" + "".join(" ".join(q) + "\n" for q in questions))
    score, sections = kv.evaluate_word_analogies(path, case_insensitive=False,
                                                 similarity_function="most_similar_cosmul")
    assert sections[0]["correct"] == [q for q, ok in zip(questions, want_mul) if ok]
    assert score == pytest.approx(sum(want_mul) / len(questions))
    cosadd, add_sections = kv.evaluate_word_analogies(path, case_insensitive=False)
    assert add_sections[0]["correct"] == [q for q, ok in zip(questions, want_add) if ok]
    assert want_mul != want_add
