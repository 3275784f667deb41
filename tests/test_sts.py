"""Sentence similarity (STS): file layouts, the tokeniser, and the scores against a plain numpy re-derivation."""
import json
import math

import numpy as np
import pytest

from w2v.cli import main
from w2v.errors import W2VError
from w2v.evaluate import (evaluate_sentence_pairs, evaluate_sentence_table, read_sentence_pairs, spearman,
                          tokenize)
from w2v.vectors import KeyedVectors


# ---- an independent re-derivation (no w2v code) ---------------------------------------------

def ref_tokens(text, lowercase=True):
    text = text.lower() if lowercase else text
    return "".join(c if c.isalnum() else " " for c in text).split()


def ref_ranks(x):
    """Average ranks (1-based) with ties sharing the mean of their positions, by counting."""
    x = np.asarray(x, dtype=np.float64)
    less = (x[None, :] < x[:, None]).sum(axis=1)
    equal = (x[None, :] == x[:, None]).sum(axis=1)
    return less + (equal + 1) / 2


def ref_pearson(x, y):
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    dx, dy = x - x.mean(), y - y.mean()
    return float((dx * dy).sum() / math.sqrt((dx * dx).sum() * (dy * dy).sum()))


def ref_spearman(x, y):
    return ref_pearson(ref_ranks(x), ref_ranks(y))


def ref_zca(x, k=None):
    """Whitening by the SVD of the centred data: cov = V S^2 V^T / n, so Sigma^-1/2 = V diag(sqrt(n) / S) V^T."""
    mu = x.mean(axis=0)
    _, s, vt = np.linalg.svd(x - mu, full_matrices=False)
    # a direction without variance (e.g. the one SIF removed) is dropped, not blown up from rounding noise
    scale = np.where(s > 1e-5 * s[0], math.sqrt(len(x)) / np.maximum(s, 1e-300), 0.0)
    if k is None:
        return mu, (vt.T * scale) @ vt
    return mu, vt[:k].T * scale[:k]


def ref_abtt(x, d):
    c = x - x.mean(axis=0)
    vt = np.linalg.svd(c, full_matrices=False)[2][:d]
    return c - c @ vt.T @ vt


def ref_sts(words, vectors, counts, pairs, method="mean", whiten=None, k=None, d=1, a=1e-3):
    """Spearman and Pearson of the gold scores against the cosines, written from the definitions."""
    vectors = np.asarray(vectors, dtype=np.float64)
    if whiten == "words":
        mu, w = ref_zca(vectors, k)
        vectors = (vectors - mu) @ w
    elif whiten == "abtt":
        vectors = ref_abtt(vectors, d)
    row = {w: i for i, w in enumerate(words)}
    p = np.asarray(counts, dtype=np.float64) / np.sum(counts)
    sents = [ref_tokens(s) for _, s1, s2 in pairs for s in (s1, s2)]
    pooled, has_word = [], []
    for tokens in sents:
        rows = [row[t] for t in tokens if t in row]
        has_word.append(bool(rows))
        if not rows:
            pooled.append(np.zeros(vectors.shape[1]))
        elif method == "mean":
            pooled.append(vectors[rows].mean(axis=0))
        elif method == "tfidf":  # idf from counts: N = total / 100 documents of 100 words, df = N (1 - e^(-100 p))
            n_docs = np.sum(counts) / 100
            idf = np.log((1 + n_docs) / (1 + n_docs * (1 - np.exp(-100 * p)))) + 1
            pooled.append(sum(idf[r] * vectors[r] for r in rows) / sum(idf[r] for r in rows))
        else:  # SIF: sum of a / (a + p) v over the known words, divided by their number
            pooled.append(sum(a / (a + p[r]) * vectors[r] for r in rows) / len(rows))
    pooled = np.array(pooled)
    if method == "sif":  # remove the first (uncentred) principal component of the sentences with a known word
        u = np.linalg.svd(pooled[has_word], full_matrices=False)[2][0]
        pooled = pooled - np.outer(pooled @ u, u)
    both = [has_word[2 * i] and has_word[2 * i + 1] for i in range(len(pairs))]
    first = pooled[0::2][both]
    second = pooled[1::2][both]
    if whiten == "sentences":
        mu, w = ref_zca(np.vstack([first, second]), k)
        first, second = (first - mu) @ w, (second - mu) @ w
    cos = [float(x @ y / np.linalg.norm(x) / np.linalg.norm(y)) for x, y in zip(first, second)]
    gold = [g for (g, _, _), keep in zip(pairs, both) if keep]
    return ref_spearman(gold, cos), ref_pearson(gold, cos), sum(both)


# ---- a synthetic STS set --------------------------------------------------------------------

def make_sts(tmp_path, n_pairs=80, seed=0, dim=20):
    """Vectors with a common offset (a cone), sentences that share more words when their gold score is higher,
    capitals and punctuation, unknown words, one pair without known words and some malformed lines."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(150)]
    vectors = rng.standard_normal((150, dim)) + 1.5 * rng.standard_normal(dim)
    # words the file never uses: whitening and all-but-the-top are fitted on the whole vocabulary, them included
    unused = 3 * rng.standard_normal((100, dim)) * rng.random(dim) - 2 * rng.standard_normal(dim)
    counts = np.sort(rng.integers(5, 5000, size=250))[::-1]
    order = rng.permutation(250)
    kv = KeyedVectors([(words + [f"x{i}" for i in range(100)])[i] for i in order],
                      np.vstack([vectors, unused])[order], counts)
    pairs = []
    for _ in range(n_pairs):
        first = list(rng.choice(words, size=8))
        changed = int(rng.integers(0, 9))
        second = list(first)
        for i in rng.choice(8, size=changed, replace=False):
            second[i] = words[rng.integers(150)]
        gold = round(5 * (8 - changed) / 8)   # 0..5: many ties
        decorate = lambda ws: " ".join(w.upper() if rng.random() < 0.2 else w for w in ws) + rng.choice([".", "!", "?"])
        s1, s2 = decorate(first), decorate(second)
        if rng.random() < 0.3:
            s2 = s2.replace(" ", ", unknownword ", 1)
        pairs.append((float(gold), s1, s2))
    pairs.append((3.0, "Nothing known here.", "xyzzy plugh"))
    lines = []
    for i, (g, s1, s2) in enumerate(pairs):
        lines.append(f"main-forums\tanswer-answer\t2016\t{i:04d}\t{g:g}\t{s1}\t{s2}\tsource A\tsource B")
    bad = ["main-forums\tanswer-answer\t2016\t9999\tfive\tA b.\tC d.",      # score is not a number
           "main-forums\tanswer-answer\t2016\t9998\t3.0\tonly one sentence",  # too few columns
           "main-forums\tanswer-answer\t2016\t9997\tnan\tw1 w2\tw1 w2",       # not a finite score
           "main-forums\tanswer-answer\t2016\t9996\t2\t \tw1 w2"]             # an empty sentence
    for j, line in enumerate(bad):
        lines.insert(10 + 7 * j, line)
    lines.insert(5, "")                     # blank lines and comments are not malformed
    lines.insert(6, "# a comment")
    path = tmp_path / "sts.tsv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return kv, pairs, path


def test_tokenize():
    assert tokenize("There's a U.S.-based Wi-Fi café!") == ["there", "s", "a", "u", "s", "based", "wi", "fi", "café"]
    assert tokenize("snake_case 3.14 (x)") == ["snake", "case", "3", "14", "x"]
    assert tokenize("Hello, World", lowercase=False) == ["Hello", "World"]
    assert tokenize(" \t--\u00a0") == []


def test_mean_pooling_agrees_with_independent_computation(tmp_path):
    kv, pairs, path = make_sts(tmp_path)
    r = evaluate_sentence_pairs(kv, path)
    want_s, want_p, scored = ref_sts(kv.index_to_key, kv.vectors, kv.counts, pairs)
    assert abs(r["spearman"] - want_s) < 0.005
    assert r["pearson"] == pytest.approx(want_p, abs=1e-5)
    assert 0.5 < want_s < 0.99   # the synthetic set has a real, imperfect signal
    assert (r["pairs"], r["scored"], r["no_known_word"]) == (len(pairs), scored, 1) and scored == len(pairs) - 1
    tokens = [t for _, s1, s2 in pairs for t in ref_tokens(s1) + ref_tokens(s2)]
    unknown = [t for t in tokens if t not in kv]
    assert (r["tokens"], r["unknown_tokens"]) == (len(tokens), len(unknown)) and len(unknown) > 20
    assert r["oov_token_share"] == pytest.approx(len(unknown) / len(tokens))
    assert r["malformed"] == 4 and r["malformed_lines"] == [13, 20, 27, 34]
    assert (r["layout"], r["header"], r["method"], r["whiten"]) == ("stsb", False, "mean", None)


@pytest.mark.parametrize("method,whiten,k", [
    ("mean", "words", None), ("mean", "words", 5), ("mean", "sentences", None), ("mean", "sentences", 5),
    ("mean", "abtt", None), ("tfidf", None, None), ("tfidf", "abtt", None), ("sif", None, None), ("sif", "words", None), ("sif", "sentences", None),
    ("sif", "abtt", None),
])
def test_pooling_and_post_processing_agree_with_reference(tmp_path, method, whiten, k):
    kv, pairs, path = make_sts(tmp_path, seed=1)
    r = evaluate_sentence_pairs(kv, path, method=method, whiten=whiten, whiten_dims=k, sif_a=0.01)
    want_s, want_p, _ = ref_sts(kv.index_to_key, kv.vectors, kv.counts, pairs, method, whiten, k, a=0.01)
    assert abs(r["spearman"] - want_s) < 0.005
    assert r["pearson"] == pytest.approx(want_p, abs=1e-4)


def test_table_and_anisotropy(tmp_path):
    kv, pairs, path = make_sts(tmp_path, seed=2)
    t = evaluate_sentence_table(kv, path, abtt_components=2)
    assert [(x["method"], x["whiten"]) for x in t["rows"]] == [
        (m, w) for m in ("mean", "tfidf", "sif") for w in (None, "words", "sentences", "abtt")]
    for x in t["rows"]:  # each cell is the single evaluation with the same options
        one = evaluate_sentence_pairs(kv, path, x["method"], x["whiten"], abtt_components=2)
        assert one["spearman"] == pytest.approx(x["spearman"], abs=1e-12)
    cell = {(x["method"], x["whiten"]): x for x in t["rows"]}
    # the vectors lie in a cone: mean-pooled sentences too; whitening the sentences makes their cosines average ~0
    assert cell["mean", None]["anisotropy_before"] == cell["mean", None]["anisotropy_after"] > 0.5
    assert abs(cell["mean", "sentences"]["anisotropy_after"]) < 0.05
    assert cell["mean", "words"]["anisotropy_after"] < 0.4 and cell["mean", "abtt"]["anisotropy_after"] < 0.2
    assert cell["sif", "words"]["anisotropy_before"] == cell["sif", None]["anisotropy_after"]
    rows = sorted({kv.get_index(w) for _, s1, s2 in pairs for w in ref_tokens(s1 + " " + s2) if w in kv})
    u = kv.vectors[rows] / np.linalg.norm(kv.vectors[rows], axis=1, keepdims=True)
    cos = u @ u.T
    assert t["word_anisotropy"] == pytest.approx((cos.sum() - len(rows)) / (len(rows) * (len(rows) - 1)), abs=1e-6)
    assert abs(cell["mean", "words"]["word_anisotropy_after"]) < 0.05
    assert cell["mean", None]["word_anisotropy_after"] is None
    assert (t["probabilities"], t["idf"], t["abtt_components"]) == ("counts", "counts", 2)


def test_without_counts_sif_uses_zipf_and_tfidf_the_sentences(tmp_path):
    kv, pairs, path = make_sts(tmp_path, seed=3)
    bare = KeyedVectors(kv.index_to_key, kv.vectors)
    r = evaluate_sentence_table(bare, path, methods=("tfidf", "sif"), whitenings=(None,))
    assert (r["probabilities"], r["idf"]) == ("zipf", "sentences")
    zipf = 1 / np.arange(1, len(kv) + 1)  # rank r gets 1 / r: the same weights as counts 1 / r
    want_s, want_p, _ = ref_sts(kv.index_to_key, kv.vectors, zipf, pairs, "sif")
    assert r["rows"][1]["pearson"] == pytest.approx(want_p, abs=1e-4)


def write(tmp_path, name, text, mode="w"):
    path = tmp_path / name
    if mode == "wb":
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text,layout,header", [
    ("g\tf\t2012\t1\t4.5\tA cat sat.\tA dog sat.\textra\tmore\n"
     "g\tf\t2012\t2\t0\tRed.\tBlue.\n", "stsb", False),
    ("genre\tfile\tyear\tid\tscore\tsentence1\tsentence2\n"
     "g\tf\t2012\t1\t4.5\tA cat sat.\tA dog sat.\n"
     "g\tf\t2012\t2\t0\tRed.\tBlue.\n", "stsb", True),
    ("\ufeffcol1\tcol2\tcol3\tcol4\tgold\tfirst\tsecond\r\n"    # unnamed columns: a header by its score
     "g\tf\t2012\t1\t4.5\tA cat sat.\tA dog sat.\r\n"
     "g\tf\t2012\t2\t0\tRed.\tBlue.\r\n", "stsb", True),
    ("pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\n"
     "1\tA cat sat.\tA dog sat.\t4.5\tNEUTRAL\n"
     "2\tRed.\tBlue.\t0\tCONTRADICTION\n", "sick", True),
    ("1\tA cat sat.\tA dog sat.\t4.5\tNEUTRAL\n"
     "2\tRed.\tBlue.\t0\tCONTRADICTION\n", "sick", False),
    ("pair_ID\tsentence_A\tsentence_B\tentailment_label\trelatedness_score\n"
     "1\tA cat sat.\tA dog sat.\tNEUTRAL\t4.5\n"
     "2\tRed.\tBlue.\tCONTRADICTION\t0\n", "header", True),
    ("4.5\tA cat sat.\tA dog sat.\n0\tRed.\tBlue.\n", "plain", False),
    ("\ufeff4.5\tA cat sat.\tA dog sat.\n0\tRed.\tBlue.\n", "plain", False),   # a byte-order mark
    ("score\tsentence1\tsentence2\n4.5\tA cat sat.\tA dog sat.\n0\tRed.\tBlue.\n", "plain", True),
])
def test_layouts(tmp_path, text, layout, header):
    pairs = read_sentence_pairs(write(tmp_path, "p.tsv", text))
    assert (pairs.layout, pairs.header, pairs.malformed) == (layout, header, [])
    assert pairs.scores == [4.5, 0.0]
    assert pairs.first == ["A cat sat.", "Red."] and pairs.second == ["A dog sat.", "Blue."]


def test_malformed_lines_are_counted_not_fatal(tmp_path):
    text = (b"4\tA b.\tC d.\n"
            b"x\tA b.\tC d.\n"            # 2: score is not a number
            b"3\tonly one\n"               # 3: too few columns
            b"\n# comment\n"               # 4, 5: skipped, not malformed
            b"2\tcaf\xe9\tC d.\n"          # 6: not UTF-8
            b"inf\tA b.\tC d.\n"           # 7: not finite
            b"1\tA b.\t\n"                 # 8: empty sentence
            b"5\tE f.\tG h.\n")
    pairs = read_sentence_pairs(write(tmp_path, "p.tsv", text, "wb"))
    assert pairs.layout == "plain" and pairs.scores == [4.0, 5.0] and pairs.lines == [1, 9]
    assert pairs.malformed == [2, 3, 6, 7, 8]
    with pytest.raises(W2VError, match=r"no sentence pairs found \(2 malformed lines\)"):
        read_sentence_pairs(write(tmp_path, "bad.tsv", "a b c\nd e f\n"))
    with pytest.raises(W2VError, match="no sentence pairs found"):
        read_sentence_pairs(write(tmp_path, "p.tsv", "4.5\tA cat.\tA dog.\n"), layout="stsb")
    with pytest.raises(W2VError, match="unknown sentence-pair layout"):
        read_sentence_pairs(tmp_path / "p.tsv", layout="csv")
    with pytest.raises(W2VError, match="cannot read the sentence-pair file"):
        read_sentence_pairs(tmp_path / "missing.tsv")


def test_evaluation_errors(tmp_path):
    kv, _, path = make_sts(tmp_path)
    with pytest.raises(W2VError, match="unknown pooling method 'max'"):
        evaluate_sentence_pairs(kv, path, method="max")
    with pytest.raises(W2VError, match="unknown post-processing 'pca'"):
        evaluate_sentence_pairs(kv, path, whiten="pca")
    few = write(tmp_path, "few.tsv", "4\tw1 w2\tw3\n3\tw1\tnothing\n2\tnone\tw4\n")
    with pytest.raises(W2VError, match="only 1 of 3 sentence pairs have a known word in both"):
        evaluate_sentence_pairs(kv, few)


def test_tokenizer_is_configurable(tmp_path):
    kv = KeyedVectors(["Cat", "cat", "dog", "Dog"], [[1, 0, 0], [0, 1, 0], [0, 0.6, 0.8], [0.8, 0.6, 0]],
                      counts=[4, 3, 2, 1])
    path = write(tmp_path, "p.tsv", "5\tcat cat\tcat\n1\tcat\tdog\n3\tCat\tCat dog\n4\tDog\tdog\n")
    gold = [5, 1, 3, 4]
    lower = evaluate_sentence_pairs(kv, path)
    # lower-cased: cat-cat, cat-dog, cat-(cat+dog)/2, dog-dog
    assert lower["pearson"] == pytest.approx(ref_pearson(gold, [1, 0.6, 0.8 / math.sqrt(0.8), 1]), abs=1e-6)
    exact = evaluate_sentence_pairs(kv, path, tokenizer=lambda s: tokenize(s, lowercase=False))
    # exact case: cat-cat, cat-dog, Cat-(Cat+dog)/2, Dog-dog
    assert exact["pearson"] == pytest.approx(ref_pearson(gold, [1, 0.6, 0.5 / math.sqrt(0.5), 0.36]), abs=1e-6)
    split_on_space = evaluate_sentence_pairs(kv, path, tokenizer=str.split)
    assert split_on_space["unknown_tokens"] == 0 and split_on_space["pearson"] == pytest.approx(exact["pearson"])


# ---- the command line ---------------------------------------------------------------------

def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_table_and_json(tmp_path, capsys):
    kv, pairs, path = make_sts(tmp_path)
    vec = tmp_path / "v.w2v"
    kv.save(vec)
    code, out, err = run(capsys, "eval", vec, "--sts", path)
    assert code == 0, err
    table = evaluate_sentence_table(kv, path)
    cell = {(x["method"], x["whiten"]): x for x in table["rows"]}
    lines = out.splitlines()
    assert "stsb layout" in lines[0] and "4 malformed lines (lines 13, 20, 27, 34)" in lines[1]
    spearman_rows = lines[lines.index("  spearman") + 2:][:3]
    for line, method in zip(spearman_rows, ("mean", "tfidf", "sif")):
        fields = line.split()
        assert fields[0] == method
        assert [float(v) for v in fields[1:]] == pytest.approx(
            [cell[method, w]["spearman"] for w in (None, "words", "sentences", "abtt")], abs=5e-5)
    assert "anisotropy of the sentence vectors" in out and "all-but-the-top removes 1 direction" in out
    code, out, err = run(capsys, "eval", vec, "--sts", path, "--json", "--whiten-dims", "4")
    assert code == 0, err
    result = json.loads(out)["sts"]
    assert result["pairs"] == len(pairs) and result["whiten_dims"] == 4 and len(result["rows"]) == 12
    want = evaluate_sentence_pairs(kv, path, "sif", "sentences", whiten_dims=4)["spearman"]
    assert result["rows"][10]["spearman"] == pytest.approx(want)
    code, out, err = run(capsys, "eval", vec, "--sts", path, "--json", "--case-sensitive")
    exact = evaluate_sentence_pairs(kv, path, tokenizer=lambda s: tokenize(s, lowercase=False))
    assert json.loads(out)["sts"]["unknown_tokens"] == exact["unknown_tokens"] > result["unknown_tokens"]


@pytest.mark.parametrize("extra,message", [
    (["--sts", "{missing}"], "cannot read the sentence-pair file"),
    (["--sts", "{vec}"], "no sentence pairs found"),
    (["--sts", "{sts}", "--whiten-dims", "0"], "--whiten-dims must be a positive integer"),
    (["--sts", "{sts}", "--whiten-dims", "21"], "--whiten-dims 21 is more than the 20 dimensions"),
    (["--sts", "{sts}", "--abtt-components", "20"], "--abtt-components must be less than the 20 dimensions"),
    (["--sts", "{sts}", "--sif-a", "0"], "--sif-a must be a positive number"),
])
def test_cli_errors_are_one_line(tmp_path, capsys, extra, message):
    kv, _, sts = make_sts(tmp_path)
    vec = tmp_path / "v.w2v"
    kv.save(vec)
    names = {"missing": tmp_path / "missing.tsv", "vec": vec, "sts": sts}
    code, out, err = run(capsys, "eval", vec, *[a.format(**names) for a in extra])
    assert code == 2
    assert err.startswith("w2v: error: ") and message in err and err.count("\n") == 1


def test_the_table_runs_on_one_blas_thread_and_restores_the_count(monkeypatch):
    """The STS table's many small BLAS calls run on one OpenBLAS thread (on busy cores the default
    thread count made the table 5-10x slower), and the count is restored afterwards."""
    from w2v import _blas
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    before = _blas.threads()
    if before is None:      # numpy without OpenBLAS: nothing to set, the block still runs
        with _blas.one_thread():
            pass
        return
    seen = []
    import w2v.evaluate as ev
    real = ev._sentence_table
    monkeypatch.setattr(ev, "_sentence_table", lambda *a, **k: seen.append(_blas.threads()) or {})
    ev.evaluate_sentence_table(None, "unused")
    monkeypatch.setattr(ev, "_sentence_table", real)
    assert seen == [1] and _blas.threads() == before
