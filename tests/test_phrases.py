"""Phrases: counting against a plain-Python count, scores against word2phrase's and gensim's formulas,
left-to-right joining against a reference joiner, passes, pruning, files, the command line and training."""
import collections
import math
import os
import re

import numpy as np
import pytest

import w2v
from w2v import phrases as ph
from w2v.cli import main
from w2v.errors import W2VError

from conftest import require_gensim

WS = b" \t\r\x0b\x0c\x00"           # the scanner's whitespace within a line
_TOKEN = re.compile(rb"([ \t\r\x0b\x0c\x00]*)([^ \t\r\x0b\x0c\x00\n]+)")


# ---- references, written from the definitions ---------------------------------------------

def ref_lines(files):
    """Token lists of every line of every file (bytes)."""
    return [line.replace(b"\0", b" ").split() for data in files for line in data.split(b"\n")]


def ref_counts(files):
    uni, bi = collections.Counter(), collections.Counter()
    for toks in ref_lines(files):
        uni.update(toks)
        bi.update(zip(toks, toks[1:]))        # pairs within a line only
    return uni, bi, sum(uni.values())


def ref_word2phrase(uni, bi, total, min_count, delta, threshold):
    """word2phrase.c: (pab - min_count) / pa / pb * train_words > threshold, every count >= min_count."""
    out = {}
    for (a, b), c in bi.items():
        if c >= min_count and uni[a] >= min_count and uni[b] >= min_count:
            s = (c - delta) / uni[a] / uni[b] * total
            if s > threshold:
                out[(a, b)] = s
    return out


def ref_npmi(uni, bi, total, min_count, threshold):
    """gensim's npmi_scorer: ln(pab / (pa * pb)) / -ln(pab), bigram count >= min_count."""
    out = {}
    for (a, b), c in bi.items():
        if c >= min_count:
            pa, pb, pab = uni[a] / total, uni[b] / total, c / total
            s = math.log(pab / (pa * pb)) / -math.log(pab)
            if s > threshold:
                out[(a, b)] = s
    return out


def ref_join(data, pairs):
    """One file's bytes with `pairs` joined from left to right (word2phrase: after a join, the next
    word starts a new candidate pair); only the whitespace between joined words changes."""
    lines = []
    for line in data.split(b"\n"):
        out, prev, end = b"", None, 0
        for m in _TOKEN.finditer(line):
            gap, tok = m.group(1), m.group(2)
            if prev is not None and (prev, tok) in pairs:
                out += b"_" + tok
                prev = None
            else:
                out += gap + tok
                prev = tok
            end = m.end()
        lines.append(out + line[end:])
    joined = b"\n".join(lines)
    return joined + b"\n" if data and not data.endswith(b"\n") else joined


def random_files(seed, n_files=3, lines=120):
    """Text with repeated pairs, every kind of whitespace, blank lines, CRLF, words longer than small
    blocks, and files with and without a final newline."""
    rng = np.random.default_rng(seed)
    words = [b"a", b"bb", b"new", b"york", b"times", b"x", b"of", b"the", b"supercalifragilistic",
             b"\xc3\xa9t\xc3\xa9", b"q\xffz", b"longwordlongwordlongwordlongword"]
    weights = 1.0 / np.arange(1, len(words) + 1)
    weights /= weights.sum()
    gaps = [b" ", b"  ", b"\t", b" \r ", b"\x0b", b"\x0c", b"\0", b" \t "]
    files = []
    for f in range(n_files):
        out = []
        for _ in range(lines):
            n = int(rng.integers(0, 14))
            toks = [words[i] for i in rng.choice(len(words), size=n, p=weights)]
            if rng.random() < 0.2:      # a frequent phrase
                toks[n // 2:n // 2] = [b"new", b"york", b"times"]
            if rng.random() < 0.1:      # a rare token longer than any phrase word
                toks.insert(int(rng.integers(len(toks) + 1)), b"L" * int(rng.integers(40, 100)))
            line = b"".join(gaps[rng.integers(len(gaps))] + t for t in toks)
            if rng.random() < 0.3:
                line = gaps[rng.integers(len(gaps))] + line + gaps[rng.integers(len(gaps))]
            out.append(line + (b"\r" if rng.random() < 0.1 else b""))
        data = b"\n".join(out) + (b"\n" if f % 2 == 0 else b"")
        files.append(data)
    return files


def write_corpus(tmp_path, files):
    d = tmp_path / "corpus"
    d.mkdir()
    for i, data in enumerate(files):
        (d / f"part{i}.txt").write_bytes(data)
    return d


def model_from_pairs(*passes):
    """A phrase model whose pass k joins exactly the pairs passes[k] (tuples of str), written in the
    documented file format."""
    lines = [b"w2v-phrases 1"]
    infos = [{"total_words": 0, "words": 0, "pairs": 0, "pruned": 0, "prune_threshold": 0,
              "peak_entries": 0, "phrases": len(p)} for p in passes]
    import json
    lines.append(json.dumps({"scoring": "word2phrase", "min_count": 5, "threshold": 100.0, "delta": 5.0,
                             "max_entries": 1000, "passes": infos}).encode())
    for k, p in enumerate(passes, 1):
        for a, b in p:
            lines.append(f"{k} {a} {b} 10 200.0".encode())
    return ph.Phrases.loads(b"\n".join(lines) + b"\n")


# ---- counting and scoring ----------------------------------------------------------------

@pytest.mark.parametrize("block_bytes", [1, 2, 3, 7, 64, 1000, None])
def test_counts_match_python_at_any_block_size(tmp_path, block_bytes):
    files = random_files(1)
    corpus = write_corpus(tmp_path, files)
    uni, bi, total = ref_counts(files)
    # min_count 1, delta 0, threshold 0: every pair scores count(ab) / (count(a) count(b)) * N > 0
    model = ph.learn(corpus, min_count=1, delta=0, threshold=0, block_bytes=block_bytes)
    info = model.info[0]
    assert info.total_words == total
    assert info.words == len(uni) and info.pairs == len(bi)
    got = {(a.encode("utf-8", "surrogateescape"), b.encode("utf-8", "surrogateescape")): (c, s)
           for a, b, c, s in model.table(0)}
    assert {k: c for k, (c, _) in got.items()} == dict(bi)
    for (a, b), (c, s) in got.items():
        assert s == pytest.approx(c / uni[a] / uni[b] * total, rel=1e-12)


@pytest.mark.parametrize("min_count,delta", [(3, None), (3, 0.0), (2, 7.5), (1, 1.0)])
def test_word2phrase_score_and_threshold(tmp_path, min_count, delta):
    files = random_files(2)
    corpus = write_corpus(tmp_path, files)
    uni, bi, total = ref_counts(files)
    d = float(min_count) if delta is None else delta       # word2phrase: delta is min_count
    every = ref_word2phrase(uni, bi, total, min_count, d, -math.inf)
    scores = sorted(every.values())
    # a threshold equal to one pair's score exactly: that pair is not joined (score > threshold)
    threshold = scores[len(scores) // 2]
    expected = ref_word2phrase(uni, bi, total, min_count, d, threshold)
    assert 0 < len(expected) < len(every)
    model = ph.learn(corpus, min_count=min_count, delta=delta, threshold=threshold)
    got = {(a.encode("utf-8", "surrogateescape"), b.encode("utf-8", "surrogateescape")): s
           for a, b, _, s in model.table(0)}
    assert got.keys() == expected.keys()
    for k, s in expected.items():
        assert got[k] == pytest.approx(s, rel=1e-12)


def test_npmi_score_and_threshold(tmp_path):
    files = random_files(3)
    corpus = write_corpus(tmp_path, files)
    uni, bi, total = ref_counts(files)
    every = ref_npmi(uni, bi, total, 3, -math.inf)
    threshold = sorted(every.values())[len(every) // 3]
    expected = ref_npmi(uni, bi, total, 3, threshold)
    assert 0 < len(expected) < len(every)
    model = ph.learn(corpus, scoring="npmi", min_count=3, threshold=threshold)
    got = {(a.encode("utf-8", "surrogateescape"), b.encode("utf-8", "surrogateescape")): s
           for a, b, _, s in model.table(0)}
    assert got.keys() == expected.keys()
    for k, s in expected.items():
        assert got[k] == pytest.approx(s, rel=1e-12)


def test_npmi_phrases_and_joins_equal_gensims(tmp_path):
    models = require_gensim()
    rng = np.random.default_rng(4)
    words = [f"w{i}" for i in range(40)]
    lines = []
    for _ in range(3000):
        toks = list(rng.choice(words, size=int(rng.integers(1, 12)), p=np.r_[[0.3], np.full(39, 0.7 / 39)]))
        if rng.random() < 0.3:
            toks[1:1] = ["new", "york"]
        lines.append(" ".join(toks))
    path = tmp_path / "c.txt"
    path.write_text("\n".join(lines) + "\n")
    sentences = [line.split() for line in lines]
    theirs = models.phrases.Phrases(sentences, min_count=5, threshold=0.1, scoring="npmi",
                                    connector_words=frozenset())
    ours = ph.learn(path, scoring="npmi", min_count=5, threshold=0.1)
    frozen = theirs.freeze().phrasegrams
    assert len(frozen) > 5
    assert set(ours.phrasegrams) == set(frozen)
    for k, s in frozen.items():
        assert ours.phrasegrams[k] == pytest.approx(s, rel=1e-9)
    out = tmp_path / "joined.txt"
    ours.write(path, out)
    assert out.read_text().split("\n")[:-1] == [" ".join(theirs[s]) for s in sentences]


# ---- joining -----------------------------------------------------------------------------

def test_joins_left_to_right():
    # ("a_b", "c"): a token "a_b" of the text before this pass; a pair joined now never joins again
    model = model_from_pairs([("a", "b"), ("b", "c"), ("c", "d"), ("x", "y"), ("a_b", "c")])
    assert model.apply("a b c d".split()) == ["a_b", "c_d"]
    assert model.apply("b c d".split()) == ["b_c", "d"]
    assert model.apply("a b c".split()) == ["a_b", "c"]
    assert model.apply("q a b x y".split()) == ["q", "a_b", "x_y"]
    assert model.apply("y x".split()) == ["y", "x"]
    assert model.apply("a_b c".split()) == ["a_b_c"]


def test_compiled_joiner_joins_left_to_right(tmp_path):
    model = model_from_pairs([("a", "b"), ("b", "c"), ("c", "d"), ("a_b", "c")])
    (tmp_path / "c.txt").write_bytes(b"a b c d\nb  c d\n a\tb c\nd c\na_b c\n")
    model.write(tmp_path / "c.txt", tmp_path / "out.txt")
    assert (tmp_path / "out.txt").read_bytes() == b"a_b c_d\nb_c d\n a_b c\nd c\na_b_c\n"


def test_enormous_whitespace_after_a_phrase_word(tmp_path):
    # whitespace held back after a word that may start a pair is bounded: past 1 MiB it is kept as
    # one space, which splits the tokens the same way
    model = model_from_pairs([("new", "york")])
    gap = b" \t" * (1 << 20)
    (tmp_path / "c.txt").write_bytes(b"new" + gap + b"york\nnew" + gap + b"x\nnew" + gap + b"\nnew" + b" " * 100 + b"x\n")
    model.write(tmp_path / "c.txt", tmp_path / "out.txt", block_bytes=65536)
    assert (tmp_path / "out.txt").read_bytes() == b"new_york\nnew x\nnew \nnew" + b" " * 100 + b"x\n"


@pytest.mark.parametrize("block_bytes", [1, 2, 5, 31, None])
@pytest.mark.parametrize("seed", [5, 6])
def test_written_corpus_equals_reference_join(tmp_path, block_bytes, seed):
    files = random_files(seed)
    corpus = write_corpus(tmp_path, files)
    model = ph.learn(corpus, min_count=3, threshold=1.0, passes=2)
    assert len(model.tables[0]) > 3 and len(model.tables[1]) > 0
    out = tmp_path / "out.txt"
    joins = model.write(corpus, out, block_bytes=block_bytes)
    expected = b""
    for data in files:
        for t in model.tables:
            data = ref_join(data, set(zip(t.first, t.second)))
        expected += data
    assert out.read_bytes() == expected
    assert sum(int(j.sum()) for j in joins) == expected.count(b"_") > 0       # one "_" per join


def test_apply_equals_written_corpus(tmp_path):
    files = random_files(7, n_files=1)
    corpus = write_corpus(tmp_path, files)
    model = ph.learn(corpus, min_count=3, threshold=1.0, passes=2)
    out = tmp_path / "out.txt"
    model.write(corpus, out)
    written = [line.split() for line in out.read_bytes().replace(b"\0", b" ").split(b"\n")]
    applied = [model.apply([t.decode("utf-8", "surrogateescape") for t in toks]) for toks in ref_lines(files)]
    assert [[t.decode("utf-8", "surrogateescape") for t in toks] for toks in written] == applied


def test_two_passes_join_trigrams(tmp_path):
    rng = np.random.default_rng(8)
    filler = [f"w{i}" for i in range(1000)]
    lines = []
    for i in range(2000):
        toks = list(rng.choice(filler, size=10))
        if i % 40 == 0:
            toks[3:3] = ["new", "york", "times"]
        elif i % 40 == 1:
            toks[3:3] = ["new", "york"]
        lines.append(" ".join(toks))
    path = tmp_path / "c.txt"
    path.write_text("\n".join(lines) + "\n")
    one = ph.learn(path, passes=1)
    two = ph.learn(path, passes=2)
    assert ("new", "york") in {(a, b) for a, b, _, _ in one.table(0)}
    assert one.apply("the new york times".split()) == ["the", "new_york", "times"]
    assert two.apply("the new york times".split()) == ["the", "new_york_times"]
    assert [(a, b) for a, b, _, _ in two.table(1)] == [("new_york", "times")]
    out = tmp_path / "out.txt"
    two.write(path, out)
    text = out.read_text()
    assert text.count("new_york_times") == 50 and text.count("new_york ") == 50


# ---- pruning -----------------------------------------------------------------------------

def test_pruning_bounds_memory_and_is_reported(tmp_path, capsys):
    rng = np.random.default_rng(9)
    lines = []
    for i in range(3000):        # a frequent pair in every line, among many distinct rare tokens
        lines.append(" ".join(["new", "york"] + [f"r{rng.integers(10**9)}" for _ in range(4)]))
    path = tmp_path / "c.txt"
    path.write_text("\n".join(lines) + "\n")
    block = 256
    per_block = 2 * (block // 2 + 1)      # at most block/2 + 1 tokens, each one new word and one new pair
    free = ph.learn(path, min_count=1, delta=0, threshold=0, block_bytes=block)
    assert free.info[0].pruned == 0 and free.info[0].peak_entries > 20000
    limit = 2000
    bounded = ph.learn(path, min_count=1, delta=0, threshold=0, block_bytes=block, max_entries=limit)
    info = bounded.info[0]
    assert info.pruned > 0 and info.prune_threshold >= 1
    assert info.peak_entries <= limit + per_block
    assert info.total_words == free.info[0].total_words
    full = {(a, b): c for a, b, c, _ in free.table(0)}
    kept = {(a, b): c for a, b, c, _ in bounded.table(0)}
    assert all(c <= full[k] for k, c in kept.items())      # pruned counts restart: never more than the truth
    assert kept[("new", "york")] >= 3000 - info.prune_threshold * info.pruned
    assert main(["phrases", str(path), "-o", str(tmp_path / "out.txt"), "--max-entries", str(limit)]) == 0
    assert "pruned" in capsys.readouterr().out


# ---- files -------------------------------------------------------------------------------

def test_save_load_round_trip(tmp_path):
    files = random_files(10)
    corpus = write_corpus(tmp_path, files)
    model = ph.learn(corpus, min_count=3, threshold=1.0, passes=2, delta=2.5)
    path = tmp_path / "model.txt"
    model.save(path)
    back = ph.load(path)
    assert back.dumps() == path.read_bytes() == model.dumps()
    assert (back.scoring, back.min_count, back.threshold, back.delta, back.max_entries) == \
        (model.scoring, model.min_count, model.threshold, model.delta, model.max_entries)
    assert back.table() == model.table() and back.info == model.info
    for toks in ref_lines(files)[:50]:
        s = [t.decode("utf-8", "surrogateescape") for t in toks]
        assert back.apply(s) == model.apply(s)
    assert not path.read_bytes().startswith(b"\x80")       # not a pickle


def test_damaged_model_files_are_one_line_errors(tmp_path):
    model = model_from_pairs([("new", "york"), ("a", "b")])
    good = model.dumps()
    cases = {
        "empty": (b"", "not a w2v phrase model"),
        "other": (b"hello\n", "not a w2v phrase model"),
        "version": (good.replace(b"w2v-phrases 1", b"w2v-phrases 9", 1), "version"),
        "header": (good.replace(b'"min_count": 5', b'"min_count": "x"'), "line 2"),
        "row": (good.replace(b"1 a b 10 200.0", b"1 a b ten 200.0"), "line 4"),
        "pass": (good.replace(b"1 a b 10 200.0", b"3 a b 10 200.0"), "line 4"),
        "truncated": (good[:good.rindex(b"1 a b")], "should have 2 phrases"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(W2VError, match=message):
            ph.load(path)


# ---- parameters and command line ---------------------------------------------------------

@pytest.mark.parametrize("kwargs,message", [
    (dict(scoring="pmi"), "--scoring"),
    (dict(min_count=0), "--min-count"),
    (dict(scoring="npmi", threshold=2.0), "between -1 and 1"),
    (dict(scoring="npmi", delta=1.0), "--delta applies to word2phrase"),
    (dict(delta=-1.0), "--delta"),
    (dict(threshold=float("nan")), "--threshold"),
    (dict(passes=0), "--passes"),
    (dict(max_entries=0), "--max-entries"),
])
def test_bad_parameters(tmp_path, kwargs, message):
    path = tmp_path / "c.txt"
    path.write_text("a b\n")
    with pytest.raises(W2VError, match=message):
        ph.learn(path, **kwargs)


def _one_line_error(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("w2v: error: ") and message in err, err


def test_cli_writes_joined_corpus_and_reports(tmp_path, capsys):
    files = random_files(11, n_files=1)
    corpus = write_corpus(tmp_path, files)
    out, saved = tmp_path / "out.txt", tmp_path / "model.txt"
    assert main(["phrases", str(corpus), "-o", str(out), "--min-count", "3", "--threshold", "1", "--passes", "2",
                 "--save-model", str(saved), "--top", "3"]) == 0
    text = capsys.readouterr().out
    model = ph.load(saved)
    assert model.passes == 2 and model.min_count == 3 and model.threshold == 1.0
    expected = files[0]
    for t in model.tables:
        expected = ref_join(expected, set(zip(t.first, t.second)))
    assert out.read_bytes() == expected
    n_joined = int(re.search(r"([\d,]+) phrases joined", text).group(1).replace(",", ""))
    assert n_joined == expected.count(b"_") > 0       # one "_" per join; the words hold none
    listed = text.split("most often joined:\n")[1].strip().splitlines()
    assert len(listed) == 3
    # --model applies a saved model: the same output
    again = tmp_path / "again.txt"
    assert main(["phrases", str(corpus), "-o", str(again), "--model", str(saved), "-q"]) == 0
    assert again.read_bytes() == expected
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".part")]


def test_cli_default_output_never_replaces_a_file(tmp_path, capsys, monkeypatch):
    (tmp_path / "c.txt").write_text("new york\n" * 10)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "joined.txt").write_text("keep me")
    _one_line_error(capsys, ["phrases", "c.txt"], "already exists")
    assert (tmp_path / "joined.txt").read_text() == "keep me"
    assert main(["phrases", "c.txt", "-o", "joined.txt", "--threshold", "0.5", "-q"]) == 0     # named: replaced
    assert (tmp_path / "joined.txt").read_text() == "new_york\n" * 10


@pytest.mark.parametrize("argv,message", [
    (["phrases", "{d}/missing.txt", "-o", "{d}/o"], "corpus not found"),
    (["phrases", "{d}/empty.txt", "-o", "{d}/no/such/dir/o"], "does not exist"),     # before reading
    (["phrases", "{d}/c.txt", "-o", "{d}/o", "--scoring", "npmi", "--threshold", "5"], "between -1 and 1"),
    (["phrases", "{d}/c.txt", "-o", "{d}/o", "--passes", "0"], "--passes"),
    (["phrases", "{d}/c.txt", "-o", "{d}/o", "--min-count", "0"], "--min-count"),
    (["phrases", "{d}/c.txt", "-o", "{d}/o", "--model", "{d}/c.txt"], "not a w2v phrase model"),
    (["phrases", "{d}/c.txt", "-o", "{d}/o", "--model", "{d}/m", "--threshold", "3"], "--threshold applies"),
    (["phrases", "{d}/c.txt", "-o", "{d}/o", "--save-model", "{d}/o"], "same file"),
    (["phrases", "{d}/empty.txt", "-o", "{d}/o"], "contains no words"),
    (["phrases", "{d}", "-o", "{d}/o"], "inside the corpus directory"),
    (["train", "{d}/c.txt", "-o", "{d}/v", "--phrases", "0"], "--phrases"),
    (["train", "{d}/c.txt", "-o", "{d}/v", "--phrases", "{d}/missing"], "cannot read the phrase model"),
    (["train", "{d}/c.txt", "-o", "{d}/v", "--phrases", "{d}/c.txt"], "not a w2v phrase model"),
    (["train", "{d}/c.txt", "--resume", "{d}/ck", "--phrases", "1"], "leave --phrases out"),
])
def test_cli_errors_are_one_line(tmp_path, capsys, argv, message):
    (tmp_path / "c.txt").write_text("new york\n" * 10)
    (tmp_path / "empty.txt").write_text(" \n\n")
    model_from_pairs([("new", "york")]).save(tmp_path / "m")
    _one_line_error(capsys, [a.format(d=tmp_path) for a in argv], message)
    assert not (tmp_path / "o").exists()


# ---- training on joined text -------------------------------------------------------------

def phrase_corpus(path, seed=12):
    rng = np.random.default_rng(seed)
    filler = [f"w{i}" for i in range(300)]
    with open(path, "w") as fh:
        for i in range(3000):
            toks = list(rng.choice(filler, size=8))
            if i % 30 == 0:
                toks[2:2] = ["new", "york"]
            fh.write(" ".join(toks) + "\n")
    return path


def test_train_with_phrases_equals_training_on_the_written_corpus(tmp_path):
    corpus = phrase_corpus(tmp_path / "c.txt")
    model = ph.learn(corpus)
    joined = tmp_path / "joined.txt"
    model.write(corpus, joined)
    params = dict(dim=16, epochs=1, threads=1, seed=3, min_count=5)
    a = w2v.train(corpus, phrases=model, **params)
    b = w2v.train(joined, **params)
    assert "new_york" in a.vocab.words
    assert a.vocab.words == b.vocab.words and np.array_equal(a.vocab.counts, b.vocab.counts)
    assert np.array_equal(a.syn0, b.syn0)       # one thread, same seed, same ids: the same run
    c = w2v.train(corpus, phrases=1, **params)     # learned on the fly with the defaults
    assert c.vocab.words == a.vocab.words and c.phrases.table() == model.table()


def test_phrases_are_kept_with_the_model_and_used_again(tmp_path):
    corpus = phrase_corpus(tmp_path / "c.txt")
    model = w2v.train(corpus, phrases=1, dim=16, epochs=1, threads=1, min_count=5)
    path = tmp_path / "model.w2vm"
    model.save(path)
    back = w2v.Word2Vec.load(path)
    assert back.phrases.table() == model.phrases.table()
    back.train(corpus, epochs=1)
    # the corpus is read with the phrases joined again: every word of it is in the vocabulary
    assert back.raw_words == model.vocab.train_words


def test_cli_train_with_phrases(tmp_path, capsys):
    corpus = phrase_corpus(tmp_path / "c.txt")
    saved = tmp_path / "m.txt"
    ph.learn(corpus, passes=1).save(saved)
    for spec in ("1", str(saved)):
        out = tmp_path / f"v{len(spec)}.w2v"
        assert main(["train", str(corpus), "-o", str(out), "--dim", "8", "--epochs", "1", "--phrases", spec]) == 0
        assert "phrases: 1 in 1 pass" in capsys.readouterr().err
        assert "new_york" in w2v.load(out).index_to_key


def test_phrase_analogies_are_scored(tmp_path):
    # a corpus joined by a phrases pass is lowercased as the corpus is; the questions are mixed-case
    cities = ["new_york", "chicago", "boston", "los_angeles"]
    papers = ["new_york_times", "chicago_tribune", "boston_globe", "los_angeles_times"]
    rng = np.random.default_rng(13)
    base = rng.normal(size=(len(cities), 20))
    offset = rng.normal(size=20) * 3
    words = cities + papers + [f"w{i}" for i in range(30)]
    vectors = np.vstack([base, base + offset, rng.normal(size=(30, 20))]).astype(np.float32)
    kv = w2v.KeyedVectors(words, vectors)
    q = tmp_path / "questions-phrases.txt"
    q.write_text(": newspapers\nNew_York New_York_Times Chicago Chicago_Tribune\n"
                 "Boston Boston_Globe Los_Angeles Los_Angeles_Times\nBoston Boston_Globe Nowhere Nowhere_Post\n")
    r = w2v.evaluate.evaluate_analogies(kv, q)
    assert (r["correct"], r["answered"], r["skipped"]) == (2, 2, 1)
