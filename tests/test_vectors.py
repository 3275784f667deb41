import json
import warnings

import numpy as np
import pytest

import w2v.vectors
from w2v.errors import UnknownWordError, W2VError
from w2v.vectors import KeyedVectors, load


def random_kv(n=50, dim=8, seed=0, counts=True, words=None):
    rng = np.random.default_rng(seed)
    words = words or [f"w{i}" for i in range(n)]
    c = np.arange(len(words), 0, -1) * 10 if counts else None
    return KeyedVectors(words, rng.standard_normal((len(words), dim)), c)


def unit(m):
    m = np.asarray(m, dtype=np.float64)
    n = np.linalg.norm(m, axis=-1, keepdims=True)
    return m / np.where(n > 0, n, 1)


def brute_most_similar(kv, pos, neg, topn, restrict=None):
    n = restrict or len(kv)
    normed = unit(kv.vectors)
    q = np.zeros(kv.vector_size)
    for w in pos:
        q += normed[kv.get_index(w)]
    for w in neg:
        q -= normed[kv.get_index(w)]
    q = unit(q)
    skip = {kv.get_index(w) for w in pos + neg}
    scored = [(float(normed[i] @ q), kv.index_to_key[i]) for i in range(n) if i not in skip]
    scored.sort(key=lambda t: -t[0])
    return [(w, s) for s, w in scored[:topn]]


# ---- construction and lookup ---------------------------------------------------------------

def test_constructor_casts_and_validates():
    kv = KeyedVectors(["a", "b"], [[1, 2], [3, 4]], counts=[5, 3])
    assert kv.vectors.dtype == np.float32 and kv.vectors.flags.c_contiguous
    assert kv.counts.dtype == np.int64
    assert kv.vector_size == 2 and len(kv) == 2
    with pytest.raises(W2VError, match="duplicate word 'a'"):
        KeyedVectors(["a", "b", "a"], np.zeros((3, 2)))
    with pytest.raises(W2VError, match="2 words but 3 vectors"):
        KeyedVectors(["a", "b"], np.zeros((3, 2)))
    with pytest.raises(W2VError, match="2-D"):
        KeyedVectors(["a", "b"], np.zeros(2))
    with pytest.raises(W2VError, match="counts"):
        KeyedVectors(["a", "b"], np.zeros((2, 2)), counts=[1, 2, 3])
    with pytest.raises(W2VError, match="not a str"):
        KeyedVectors(["a", 3], np.zeros((2, 2)))


def test_lookup():
    kv = random_kv()
    assert "w3" in kv and "nope" not in kv and 3 not in kv
    assert kv.index_to_key[3] == "w3" and kv.key_to_index["w3"] == 3
    np.testing.assert_array_equal(kv["w3"], kv.vectors[3])
    np.testing.assert_array_equal(kv[["w3", "w1"]], kv.vectors[[3, 1]])
    assert kv[[]].shape == (0, kv.vector_size)
    assert kv.get_index("w7") == 7
    assert kv.get_count("w0") == 500
    np.testing.assert_allclose(np.linalg.norm(kv.get_vector("w2", norm=True)), 1, rtol=1e-6)
    with pytest.raises(UnknownWordError, match="'nope'") as err:
        kv["nope"]
    assert isinstance(err.value, KeyError) and isinstance(err.value, W2VError)
    with pytest.raises(UnknownWordError, match="'nope'"):
        kv.most_similar("nope")
    with pytest.raises(W2VError, match="no word counts"):
        random_kv(counts=False).get_count("w1")


def test_zero_vector_normalises_without_nan():
    kv = KeyedVectors(["a", "zero", "b"], [[3, 4], [0, 0], [1, 0]])
    normed = kv.get_normed_vectors()
    assert np.all(np.isfinite(normed))
    np.testing.assert_allclose(normed[0], [0.6, 0.8], rtol=1e-6)
    np.testing.assert_array_equal(normed[1], [0, 0])
    assert kv.norms[1] == 0 and kv.norms[0] == pytest.approx(5)
    assert kv.similarity("a", "zero") == 0
    sims = kv.most_similar("zero", topn=None)
    assert all(np.isfinite(s) for _, s in sims)


# ---- similarity ---------------------------------------------------------------------------------

def test_most_similar_matches_brute_force():
    kv = random_kv(n=200, dim=16, seed=3)
    got = kv.most_similar(positive=["w1", "w2"], negative=["w3"], topn=7)
    want = brute_most_similar(kv, ["w1", "w2"], ["w3"], 7)
    assert [w for w, _ in got] == [w for w, _ in want]
    np.testing.assert_allclose([s for _, s in got], [s for _, s in want], atol=1e-5)
    got = kv.most_similar("w5", topn=5, restrict_vocab=50)
    assert [w for w, _ in got] == [w for w, _ in brute_most_similar(kv, ["w5"], [], 5, restrict=50)]
    assert all(kv.get_index(w) < 50 for w, _ in got)
    everything = kv.most_similar("w5", topn=None)
    assert len(everything) == len(kv) - 1 and "w5" not in dict(everything)


def test_most_similar_accepts_vectors_and_similar_by_vector():
    kv = random_kv(n=100, dim=10, seed=4)
    by_word = kv.most_similar("w9", topn=5)
    by_vec = kv.similar_by_vector(kv["w9"] * 3.0, topn=6)
    assert by_vec[0][0] == "w9" and by_vec[0][1] == pytest.approx(1.0, abs=1e-5)
    assert [w for w, _ in by_vec[1:]] == [w for w, _ in by_word]
    mixed = kv.most_similar(positive=[kv["w9"]], topn=1)  # a vector is not excluded
    assert mixed[0][0] == "w9"
    with pytest.raises(W2VError, match="vector of 10"):
        kv.most_similar(positive=[np.zeros(3)])
    with pytest.raises(W2VError, match="at least one"):
        kv.most_similar(positive=[], negative=[])
    with pytest.raises(W2VError, match="topn"):
        kv.most_similar("w1", topn=0)


def parallelogram_kv():
    # king - man + woman = queen exactly; distractors elsewhere
    rng = np.random.default_rng(7)
    dim = 20
    male, royal, base = rng.standard_normal((3, dim))
    vecs = {
        "man": base + male, "woman": base - male,
        "king": base + male + 2 * royal, "queen": base - male + 2 * royal,
    }
    for i in range(30):
        vecs[f"x{i}"] = 3 * rng.standard_normal(dim)
    words = list(vecs)
    return KeyedVectors(words, np.array([vecs[w] for w in words]))


def test_analogy_on_parallelogram():
    kv = parallelogram_kv()
    answer = kv.analogy("man", "king", "woman")
    assert answer[0][0] == "queen"
    assert kv.most_similar(positive=["king", "woman"], negative=["man"], topn=1)[0][0] == "queen"
    assert kv.most_similar_cosmul(positive=["king", "woman"], negative=["man"], topn=1)[0][0] == "queen"
    assert kv.analogy_batch(["man", "woman"], ["king", "queen"], ["woman", "man"])[1][0][0] == "king"


def test_cosmul_matches_formula():
    kv = random_kv(n=80, dim=6, seed=5)
    got = kv.most_similar_cosmul(positive=["w1", "w2"], negative=["w3"], topn=4)
    normed = unit(kv.vectors)
    s = lambda w: (1 + normed @ normed[kv.get_index(w)]) / 2  # noqa: E731
    score = s("w1") * s("w2") / (s("w3") + 1e-6)
    score[[1, 2, 3]] = -np.inf
    order = np.argsort(-score)[:4]
    assert [w for w, _ in got] == [kv.index_to_key[i] for i in order]
    np.testing.assert_allclose([v for _, v in got], score[order], rtol=1e-5)


def test_doesnt_match_and_similarity():
    kv = KeyedVectors(["a", "b", "c", "odd"], [[1, 0.1], [1, 0], [1, -0.1], [0, 1]])
    assert kv.doesnt_match(["a", "b", "c", "odd"]) == "odd"
    assert kv.similarity("b", "odd") == pytest.approx(0.0)
    assert kv.similarity("a", "a") == pytest.approx(1.0)
    with pytest.raises(W2VError):
        kv.doesnt_match(["a"])


@pytest.mark.parametrize("n_questions", [3, 300])  # few questions: matmul path; many over few words: gathered dots
def test_analogy_batch_matches_single_queries(n_questions):
    kv = random_kv(n=120, dim=12, seed=6)
    rng = np.random.default_rng(1)
    vocab = kv.index_to_key[:15] if n_questions > 10 else kv.index_to_key
    q = [list(rng.choice(vocab, 3, replace=False)) for _ in range(n_questions)]
    a, b, c = zip(*q)
    batch = kv.analogy_batch(a, b, c, topn=3, restrict_vocab=90)
    for (x, y, z), got in zip(q, batch):
        want = kv.analogy(x, y, z, topn=3, restrict_vocab=90)
        assert [w for w, _ in got] == [w for w, _ in want]
        np.testing.assert_allclose([s for _, s in got], [s for _, s in want], atol=1e-5)


def test_most_similar_batch_and_nearest_rows():
    kv = random_kv(n=60, dim=8, seed=8)
    queries = ["w1", ["w2", "w3"], (["w4"], ["w5"])]
    batch = kv.most_similar_batch(queries, topn=4)
    singles = [kv.most_similar("w1", topn=4), kv.most_similar(["w2", "w3"], topn=4),
               kv.most_similar(["w4"], ["w5"], topn=4)]
    for got, want in zip(batch, singles):
        assert [w for w, _ in got] == [w for w, _ in want]
    idx, sc = kv.nearest_rows(kv.vectors[:2], exclude=[[0], [1]], topn=5, restrict_vocab=3)
    assert idx.shape == (2, 5)
    assert list(idx[0, 2:]) == [-1, -1, -1] and np.all(np.isneginf(sc[0, 2:]))
    assert 0 not in idx[0] and 1 not in idx[1]


# ---- file formats --------------------------------------------------------------------------------

WORDS = ["the", "café", "日本", "naïve", "Ελλάδα", "emoji🙂", "a-b", "x"]


@pytest.fixture
def kv_unicode():
    rng = np.random.default_rng(11)
    return KeyedVectors(WORDS, rng.standard_normal((len(WORDS), 5)) * 3, counts=[80, 70, 60, 50, 40, 30, 20, 10])


@pytest.mark.parametrize("fmt", ["native", "bin", "txt"])
def test_round_trip(tmp_path, kv_unicode, fmt):
    path = tmp_path / f"v.{fmt}"
    kv_unicode.save(path, format=fmt)
    for format_arg in (None, fmt):
        kv = load(path, format=format_arg)
        assert kv.source_format == fmt
        assert kv.index_to_key == WORDS
        if fmt == "txt":
            np.testing.assert_allclose(kv.vectors, kv_unicode.vectors, rtol=1e-6, atol=1e-6)
        else:
            np.testing.assert_array_equal(kv.vectors, kv_unicode.vectors)
        if fmt == "native":
            np.testing.assert_array_equal(kv.counts, kv_unicode.counts)
        else:
            assert kv.counts is None
    small = load(path, limit=3)
    assert small.index_to_key == WORDS[:3] and small.vectors.shape == (3, 5)
    np.testing.assert_allclose(small.vectors, kv_unicode.vectors[:3], rtol=1e-6, atol=1e-6)
    assert len(load(path, limit=100)) == len(WORDS)
    assert len(KeyedVectors.load(path)) == len(WORDS)


def test_native_layout_and_mmap(tmp_path, kv_unicode):
    path = tmp_path / "v.w2v"
    kv_unicode.save(path)
    data = path.read_bytes()
    assert data[:8] == b"W2VNATV1"
    hlen = int.from_bytes(data[8:16], "little")
    header = json.loads(data[16:16 + hlen])
    assert header["format"] == "w2v-native" and header["version"] == 1 and header["dtype"] == "<f4"
    assert (header["count"], header["dim"]) == (8, 5)
    assert header["counts_offset"] % 8 == 0 and header["vectors_offset"] % 64 == 0
    words = data[header["words_offset"]:header["words_offset"] + header["words_bytes"]]
    assert words.decode("utf-8").split("\n")[:-1] == WORDS
    assert header["vectors_offset"] + 8 * 5 * 4 == len(data)
    np.testing.assert_array_equal(np.frombuffer(data, "<i8", 8, header["counts_offset"]), kv_unicode.counts)
    np.testing.assert_array_equal(np.frombuffer(data, "<f4", 40, header["vectors_offset"]).reshape(8, 5),
                                  kv_unicode.vectors)
    mapped = load(path, mmap=True)
    assert isinstance(mapped.vectors, np.memmap) and not mapped.vectors.flags.writeable
    np.testing.assert_array_equal(mapped.vectors, kv_unicode.vectors)
    assert mapped.most_similar("the", topn=2) == kv_unicode.most_similar("the", topn=2)
    assert load(path, mmap=True, limit=2).vectors.shape == (2, 5)
    no_counts = KeyedVectors(WORDS, kv_unicode.vectors)
    no_counts.save(path)
    assert load(path).counts is None
    with pytest.raises(W2VError, match="native format"):
        kv_unicode.save(tmp_path / "v.bin", "bin")
        load(tmp_path / "v.bin", mmap=True)


def test_binary_without_newlines_and_text_variants(tmp_path):
    vecs = np.array([[1.5, -2.0], [0.25, 3.0]], dtype="<f4")
    raw = b"2 2\n" + b"ab " + vecs[0].tobytes() + "é ".encode() + vecs[1].tobytes()
    (tmp_path / "v.bin").write_bytes(raw)
    kv = load(tmp_path / "v.bin")
    assert kv.source_format == "bin" and kv.index_to_key == ["ab", "é"]
    np.testing.assert_array_equal(kv.vectors, vecs)
    # word2vec.c's text output: trailing spaces; Windows line ends; a word with a non-breaking space
    text = "2 2\r\nab 1.5 -2 \r\nx\u00a0y 0.25  3\r\n"
    (tmp_path / "v.txt").write_bytes(text.encode())
    kv = load(tmp_path / "v.txt")
    assert kv.source_format == "txt" and kv.index_to_key == ["ab", "x\u00a0y"]
    np.testing.assert_array_equal(kv.vectors, vecs)


def test_save_refuses_unrepresentable_words(tmp_path):
    kv = KeyedVectors(["a b", "c"], np.zeros((2, 2)))
    with pytest.raises(W2VError, match="space or newline"):
        kv.save(tmp_path / "v.bin", "bin")
    kv.save(tmp_path / "v.w2v", "native")  # a space is fine in native
    assert load(tmp_path / "v.w2v").index_to_key == ["a b", "c"]
    with pytest.raises(W2VError, match="newline"):
        KeyedVectors(["a\nb"], np.zeros((1, 2))).save(tmp_path / "x.w2v")
    with pytest.raises(W2VError, match="empty word"):
        KeyedVectors([""], np.zeros((1, 2))).save(tmp_path / "x.txt", "txt")
    assert not (tmp_path / "x.w2v").exists() and not (tmp_path / "x.txt").exists()
    with pytest.raises(W2VError, match="does not exist"):
        KeyedVectors(["a"], np.zeros((1, 2))).save(tmp_path / "missing" / "v.w2v")
    with pytest.raises(W2VError, match="unknown vector format"):
        KeyedVectors(["a"], np.zeros((1, 2))).save(tmp_path / "v.x", "hdf5")


# ---- corrupt files -------------------------------------------------------------------------------

def write_bin(path, words, vecs, header=None, newline=b"\n"):
    vecs = np.asarray(vecs, dtype="<f4")
    out = (header or f"{len(words)} {vecs.shape[1]}").encode() + b"\n"
    for w, v in zip(words, vecs):
        out += (w if isinstance(w, bytes) else w.encode()) + b" " + v.tobytes() + newline
    path.write_bytes(out)
    return out


@pytest.fixture
def good_bin(tmp_path):
    path = tmp_path / "good.bin"
    data = write_bin(path, ["alpha", "beta", "gamma"], np.arange(12).reshape(3, 4) + 0.5)
    return path, data


def test_truncated_binary(tmp_path, good_bin):
    path, data = good_bin
    for cut in (len(data) - 5, len(data) - 20, 20):
        (tmp_path / "cut.bin").write_bytes(data[:cut])
        with pytest.raises(W2VError, match="truncated or corrupt"):
            load(tmp_path / "cut.bin", format="bin")
        with pytest.raises(W2VError, match="truncated or corrupt"):
            load(tmp_path / "cut.bin")


def test_binary_header_disagrees(tmp_path):
    vecs = np.arange(12).reshape(3, 4) + 0.5
    write_bin(tmp_path / "more.bin", ["a", "b", "c"], vecs, header="5 4")
    with pytest.raises(W2VError, match="truncated or corrupt.*5 words"):
        load(tmp_path / "more.bin")
    write_bin(tmp_path / "fewer.bin", ["a", "b", "c"], vecs, header="2 4")
    with pytest.raises(W2VError, match="after the 2 words"):
        load(tmp_path / "fewer.bin")
    assert load(tmp_path / "fewer.bin", limit=2).index_to_key == ["a", "b"]  # limit does not read further
    write_bin(tmp_path / "dim.bin", ["a", "b", "c"], vecs, header="3 3")
    with pytest.raises(W2VError, match="truncated or corrupt"):
        load(tmp_path / "dim.bin", format="bin")


def test_text_errors(tmp_path):
    p = tmp_path / "v.txt"
    p.write_text("3 3\na 1 2 3\nb 1 2\nc 1 2 3\n")
    with pytest.raises(W2VError, match="line 3: expected 3 values after the word, got 2"):
        load(p)
    p.write_text("2 3\na 1 2 3\nb 1 2 3 4\n")
    with pytest.raises(W2VError, match="line 3: expected 3 values after the word, got 4"):
        load(p)
    p.write_text("2 3\na 1 2 3\nb 1 x 3\n")
    with pytest.raises(W2VError, match="line 3: 'x' is not a number"):
        load(p)
    p.write_text("4 3\na 1 2 3\nb 1 2 3\n")
    with pytest.raises(W2VError, match="truncated or corrupt: the header announces 4 words but the file has 2"):
        load(p)
    p.write_text("1 3\na 1 2 3\nb 1 2 3\n")
    with pytest.raises(W2VError, match="announces 1 words but the file has 2"):
        load(p)
    p.write_text("2 3\na 1 2 3\n\nb 1 2 3\n")
    with pytest.raises(W2VError, match="line 3"):
        load(p)
    p.write_text("hello world and more\n")
    with pytest.raises(W2VError, match="first line should be 'count dim'"):
        load(p)


def test_garbage_and_empty_files(tmp_path):
    rng = np.random.default_rng(0)
    p = tmp_path / "garbage"
    p.write_bytes(rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(W2VError):
        load(p)
    for fmt in (None, "bin", "txt", "native"):
        (tmp_path / "empty").write_bytes(b"")
        with pytest.raises(W2VError, match="empty|magic"):
            load(tmp_path / "empty", format=fmt)
    with pytest.raises(W2VError, match="cannot read .*missing.*no such file"):
        load(tmp_path / "missing.bin")
    with pytest.raises(W2VError, match="directory"):
        load(tmp_path)


def test_corrupt_native(tmp_path, kv_unicode):
    path = tmp_path / "v.w2v"
    kv_unicode.save(path)
    data = path.read_bytes()
    (tmp_path / "cut.w2v").write_bytes(data[:-7])
    with pytest.raises(W2VError, match="truncated or corrupt"):
        load(tmp_path / "cut.w2v")
    (tmp_path / "long.w2v").write_bytes(data + b"\0" * 4)
    with pytest.raises(W2VError, match="truncated or corrupt"):
        load(tmp_path / "long.w2v", mmap=True)
    (tmp_path / "head.w2v").write_bytes(data[:40])
    with pytest.raises(W2VError, match="truncated or corrupt"):
        load(tmp_path / "head.w2v")
    bad_json = bytearray(data)
    bad_json[17] = ord("#")
    (tmp_path / "json.w2v").write_bytes(bytes(bad_json))
    with pytest.raises(W2VError, match="unreadable header"):
        load(tmp_path / "json.w2v")
    with pytest.raises(W2VError, match="bad magic"):
        (tmp_path / "magic").write_bytes(b"W2VNATV0" + data[8:])
        load(tmp_path / "magic", format="native")


def test_non_utf8_words(tmp_path):
    vecs = np.ones((2, 3))
    write_bin(tmp_path / "v.bin", [b"ok", b"bad\xff\xfe"], vecs)
    (tmp_path / "v.txt").write_bytes(b"2 3\nok 1 1 1\nbad\xff 1 1 1\n")
    for name, where in (("v.bin", "word 1"), ("v.txt", "line 3")):
        with pytest.raises(W2VError, match=f"{where}: word .* is not valid UTF-8"):
            load(tmp_path / name)
        with pytest.warns(UnicodeWarning, match="1 words were not valid UTF-8"):
            kv = load(tmp_path / name, unicode_errors="replace")
        assert kv.replaced_words == 1 and kv.index_to_key[0] == "ok" and kv.index_to_key[1].startswith("bad\ufffd")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert load(tmp_path / "v.bin", limit=1).replaced_words == 0


def test_detect_format(tmp_path, kv_unicode):
    for fmt in ("native", "bin", "txt"):
        kv_unicode.save(tmp_path / f"v.{fmt}", fmt)
        assert w2v.vectors.detect_format(tmp_path / f"v.{fmt}") == fmt
    # binary vectors whose first bytes are all digits would still be binary: their float bytes are not text
    one = KeyedVectors(["w"], np.zeros((1, 1)))
    one.save(tmp_path / "z.bin", "bin")
    assert load(tmp_path / "z.bin").source_format == "bin"


def test_large_binary_parses_with_numpy(tmp_path):
    rng = np.random.default_rng(2)
    words = [f"w{i}" + "x" * (i % 7) for i in range(3000)]
    kv = KeyedVectors(words, rng.standard_normal((3000, 16)))
    kv.save(tmp_path / "v.bin", "bin")
    back = load(tmp_path / "v.bin")
    assert back.index_to_key == words
    np.testing.assert_array_equal(back.vectors, kv.vectors)


# ---- interoperability ------------------------------------------------------------------------------

def test_gensim_interop(tmp_path, kv_unicode):
    from conftest import require_gensim
    gensim_models = require_gensim()
    gkv_cls = gensim_models.KeyedVectors
    for fmt, binary in (("bin", True), ("txt", False)):
        path = tmp_path / f"ours.{fmt}"
        kv_unicode.save(path, fmt)
        g = gkv_cls.load_word2vec_format(str(path), binary=binary)
        assert list(g.index_to_key) == WORDS
        np.testing.assert_allclose(g.vectors, kv_unicode.vectors, rtol=1e-6, atol=1e-6)
    g = gkv_cls(vector_size=5)
    g.add_vectors(WORDS, kv_unicode.vectors)
    for fmt, binary in (("bin", True), ("txt", False)):
        path = tmp_path / f"gensim.{fmt}"
        g.save_word2vec_format(str(path), binary=binary)
        ours = load(path)
        assert ours.source_format == fmt and ours.index_to_key == WORDS
        np.testing.assert_allclose(ours.vectors, kv_unicode.vectors, rtol=1e-6, atol=1e-6)
