import math

import numpy as np
import pytest

from w2v.errors import W2VError
from w2v.evaluate import evaluate_analogies, evaluate_word_pairs, read_word_pairs, spearman
from w2v.vectors import KeyedVectors


def make_case(seed=0):
    """Random vectors over a vocabulary with case variants, and a questions file with OOV words."""
    rng = np.random.default_rng(seed)
    base = [f"w{i}" for i in range(40)]
    # less frequent case variants ("W3" of "w3"), and a word that is not one ("w7X")
    words = base[:25] + ["W3", "W7", "w7X", "W10", "W11"] + base[25:]
    kv = KeyedVectors(words, rng.standard_normal((len(words), 6)))
    # planted near-parallelograms make some answers right
    for a, b, c, d in [(0, 1, 2, 3), (4, 5, 6, 7), (8, 9, 10, 11), (12, 13, 14, 15)]:
        kv.vectors[d] = kv.vectors[b] - kv.vectors[a] + kv.vectors[c] + 0.1 * rng.standard_normal(6)
    for variant in ("W3", "W7", "W10", "W11"):  # variants close to their word: they compete with it
        kv.vectors[kv.get_index(variant)] = kv.vectors[kv.get_index(variant.lower())] + 0.05 * rng.standard_normal(6)
    kv.reset_norms()
    sections = {"capital": [], "gram1-things": [], "family": []}
    for name in sections:
        for _ in range(30):
            q = list(rng.choice(base, 4, replace=False))
            if rng.random() < 0.15:
                q[rng.integers(4)] = "unknownword"
            if rng.random() < 0.2:
                q = [w.upper() for w in q]
            sections[name].append(q)
    sections["capital"] += [["w0", "w1", "w2", "w3"], ["W4", "w5", "W6", "w7"], ["w8", "w9", "w10", "W11"],
                            ["w12", "w13", "w14", "w15"], ["w15", "w14", "w13", "w12"], ["w11", "w10", "w3", "w7"],
                            ["w16", "w16", "w3", nearest(kv, "w3")], ["w17", "w17", "W7", nearest(kv, "w7")]]
    # (in the last two the query is c itself: c's case variant is nearest, but must not be the answer)
    text = "".join(f": {name}\n" + "".join(" ".join(q) + "\n" for q in qs) for name, qs in sections.items())
    return kv, sections, text


def nearest(kv, word):
    """The nearest word to `word` that is not a case variant of it."""
    for w, _ in kv.most_similar(word, topn=len(kv) - 1):
        if w.lower() != word.lower():
            return w


def brute_force(kv, sections, restrict, case_insensitive):
    """One question at a time, in plain Python."""
    keys = kv.index_to_key[:restrict]
    norm = lambda w: w.lower() if case_insensitive else w  # noqa: E731
    first = {}
    for i, w in enumerate(keys):
        first.setdefault(norm(w), i)
    vecs = [np.asarray(kv.vectors[i], dtype=np.float64) for i in range(len(keys))]
    vecs = [v / np.linalg.norm(v) for v in vecs]
    out = {}
    for name, questions in sections.items():
        correct = answered = 0
        for q in questions:
            q = [norm(w) for w in q]
            if any(w not in first for w in q):
                continue
            answered += 1
            a, b, c = (vecs[first[w]] for w in q[:3])
            target = b - a + c
            best, best_score = None, -math.inf
            for i, w in enumerate(keys):
                if norm(w) in q[:3]:
                    continue
                score = float(vecs[i] @ target)
                if score > best_score:
                    best, best_score = w, score
            correct += norm(best) == q[3]
        out[name] = (correct, answered, len(questions))
    return out


@pytest.mark.parametrize("restrict,case_insensitive", [(30000, True), (30, True), (20, False), (35, False)])
def test_analogies_match_brute_force(tmp_path, restrict, case_insensitive):
    kv, sections, text = make_case()
    path = tmp_path / "q.txt"
    path.write_text(text)
    r = evaluate_analogies(kv, path, restrict_vocab=restrict, case_insensitive=case_insensitive)
    want = brute_force(kv, sections, restrict, case_insensitive)
    assert [s["name"] for s in r["sections"]] == list(sections)
    for s in r["sections"]:
        c, a, t = want[s["name"]]
        assert (s["correct"], s["answered"], s["total"], s["skipped"]) == (c, a, t, t - a)
        assert s["accuracy"] == (pytest.approx(c / a) if a else None)
    c, a, t = (sum(x[i] for x in want.values()) for i in range(3))
    assert (r["correct"], r["answered"], r["total"], r["skipped"]) == (c, a, t, t - a)
    assert r["skipped"] > 0 and r["correct"] > 0
    assert r["accuracy"] == pytest.approx(c / a)
    syn = want["gram1-things"]
    assert (r["syntactic"]["correct"], r["syntactic"]["answered"]) == syn[:2]
    assert r["semantic"]["answered"] == want["capital"][1] + want["family"][1]
    assert r["restrict_vocab"] == min(restrict, len(kv))


def test_planted_parallelograms_are_answered(tmp_path):
    rng = np.random.default_rng(3)
    dim = 50
    words, vecs, questions = [], [], []
    offset = rng.standard_normal(dim) * 2
    for i in range(20):
        x = rng.standard_normal(dim)
        words += [f"a{i}", f"b{i}"]
        vecs += [x, x + offset]
    for i in range(20):
        j = (i + 1) % 20
        questions.append(f"a{i} b{i} a{j} b{j}")
    path = tmp_path / "q.txt"
    path.write_text(": gram-plural\n" + "\n".join(questions) + "\n")
    r = evaluate_analogies(KeyedVectors(words, np.array(vecs)), path)
    assert r["accuracy"] == 1.0 and r["answered"] == 20
    assert r["semantic"]["answered"] == 0 and r["semantic"]["accuracy"] is None


def test_analogy_file_errors(tmp_path):
    kv = KeyedVectors(["a", "b"], np.eye(2))
    with pytest.raises(W2VError, match="cannot read the analogy file"):
        evaluate_analogies(kv, tmp_path / "missing.txt")
    (tmp_path / "bad.txt").write_text(": s\na b c\n")
    with pytest.raises(W2VError, match="line 2: expected 4 words"):
        evaluate_analogies(kv, tmp_path / "bad.txt")
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(W2VError, match="no analogy questions"):
        evaluate_analogies(kv, tmp_path / "empty.txt")
    (tmp_path / "latin1.txt").write_bytes(b": s\na b c \xe9\n")
    with pytest.raises(W2VError, match="line 2: not valid UTF-8"):
        evaluate_analogies(kv, tmp_path / "latin1.txt")


def rank_brute(x):
    return [sum(1 for y in x if y < v) + (sum(1 for y in x if y == v) + 1) / 2 for v in x]


def pearson_brute(x, y):
    mx, my = sum(x) / len(x), sum(y) / len(y)
    cov = sum((a - mx) * (b - my) for a, b in zip(x, y))
    return cov / math.sqrt(sum((a - mx) ** 2 for a in x) * sum((b - my) ** 2 for b in y))


def test_spearman_with_ties():
    x = [1, 2, 2, 3, 5, 5, 5, 0]
    y = [3, 1, 4, 1, 5, 9, 2, 6]
    assert spearman(x, y) == pytest.approx(pearson_brute(rank_brute(x), rank_brute(y)))
    assert spearman([1, 2, 3, 4], [10, 20, 30, 45]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 1, 1], [1, 2, 3]) is None
    assert spearman([1], [2]) is None


def test_word_pairs(tmp_path):
    rng = np.random.default_rng(5)
    words = [f"w{i}" for i in range(30)] + ["W1"]
    kv = KeyedVectors(words, rng.standard_normal((31, 5)))
    lines = ["# a comment", "Word 1\tWord 2\tHuman (mean)"]
    pairs = []
    for _ in range(40):
        a, b = rng.choice(30, 2, replace=False)
        score = float(rng.integers(0, 6))  # ties on purpose
        pairs.append((f"w{a}", f"w{b}", score))
    pairs += [("W2", "w3", 2.5), ("w4", "nope", 1.0), ("zzz", "w5", 3.0)]
    lines += [f"{a}\t{b}\t{s}" for a, b, s in pairs]
    path = tmp_path / "pairs.tsv"
    path.write_text("\n".join(lines) + "\n")
    r = evaluate_word_pairs(kv, path)
    known = [(a.lower(), b.lower(), s) for a, b, s in pairs if a.lower() in kv and b.lower() in kv]
    normed = kv.vectors / np.linalg.norm(kv.vectors, axis=1, keepdims=True)
    model = [float(normed[kv.get_index(a)] @ normed[kv.get_index(b)]) for a, b, _ in known]
    human = [s for _, _, s in known]
    assert (r["pairs"], r["known"], r["oov"]) == (43, 41, 2)
    assert r["oov_ratio"] == pytest.approx(2 / 43)
    assert r["spearman"] == pytest.approx(pearson_brute(rank_brute(human), rank_brute(model)), abs=1e-9)
    assert r["pearson"] == pytest.approx(pearson_brute(human, model), abs=1e-6)
    strict = evaluate_word_pairs(kv, path, case_insensitive=False)
    assert strict["known"] == 40  # "W2" is not a word when case matters


def test_word_pair_files(tmp_path):
    p = tmp_path / "p.txt"
    p.write_text("a b 1.5\n  c   d   2\n")  # whitespace-separated
    assert read_word_pairs(p) == [("a", "b", 1.5), ("c", "d", 2.0)]
    p.write_text("a b 1\nc d high\n")
    with pytest.raises(W2VError, match="line 2: score 'high' is not a number"):
        read_word_pairs(p)
    p.write_text("a b\n")
    with pytest.raises(W2VError, match="line 1: expected 'word1 word2 score'"):
        read_word_pairs(p)
    p.write_text("# nothing\n")
    with pytest.raises(W2VError, match="no word pairs"):
        read_word_pairs(p)
    with pytest.raises(W2VError, match="cannot read the word-pair file"):
        evaluate_word_pairs(KeyedVectors(["a"], np.ones((1, 2))), tmp_path / "missing.tsv")
