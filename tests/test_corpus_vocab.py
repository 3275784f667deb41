"""Reading corpora, counting, choosing the vocabulary, and encoding."""
import collections
import gzip

import numpy as np
import pytest

from w2v import W2VError
from w2v import corpus as corpus_mod
from w2v.corpus import ReadStats, iter_sentences
from w2v.vocab import EOS, scan


def decode(enc):
    """The encoded corpus back as lists of words."""
    words = enc.vocab.words
    out, cur = [], []
    for i in enc.ids:
        if i == EOS:
            out.append(cur)
            cur = []
        else:
            cur.append(words[i])
    assert cur == []
    return out


def test_counts_order_and_min_count(tmp_path):
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(60)]
    lines = [" ".join(rng.choice(vocab, size=rng.integers(1, 30), p=None)) for _ in range(400)]
    path = tmp_path / "c.txt"
    path.write_text("\n".join(lines) + "\n")
    enc = scan(path, min_count=3)
    expect = collections.Counter(w for line in lines for w in line.split())
    kept = {w: c for w, c in expect.items() if c >= 3}
    assert dict(zip(enc.vocab.words, enc.vocab.counts.tolist())) == kept
    assert list(enc.vocab.counts) == sorted(enc.vocab.counts, reverse=True)
    assert enc.vocab.total_tokens == sum(expect.values())
    # the encoded corpus is the text minus the out-of-vocabulary words
    assert decode(enc) == [[w for w in line.split() if w in kept] for line in lines]


def test_ties_keep_first_appearance_and_max_vocab(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("b a c\nc a b\nd d d d\n")
    enc = scan(path, min_count=1)
    assert enc.vocab.words == ["d", "b", "a", "c"]
    enc = scan(path, min_count=1, max_vocab=2)
    assert enc.vocab.words == ["d", "b"]
    assert decode(enc) == [["b"], ["b"], ["d", "d", "d", "d"]]


def test_gzip_and_directory(tmp_path):
    text = "the cat sat\nthe dog sat\n"
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text(text)
    with gzip.open(tmp_path / "d" / "b.txt.gz", "wt") as fh:
        fh.write(text)
    (tmp_path / "d" / ".hidden").write_text("zzz zzz zzz\n")
    enc = scan(tmp_path / "d", min_count=1)
    assert dict(zip(enc.vocab.words, enc.vocab.counts.tolist())) == {"the": 4, "sat": 4, "cat": 2, "dog": 2}
    assert enc.stats.files == 2


def test_long_line_split_not_dropped(tmp_path):
    n = 25_003
    tokens = [f"t{i % 7}" for i in range(n)]
    path = tmp_path / "long.txt"
    path.write_text("a b\n" + " ".join(tokens) + "\nc d")    # no final newline
    stats = ReadStats()
    sents = list(iter_sentences(path, stats))
    assert [len(s) for s in sents] == [2, 10_000, 10_000, 5_003, 2]
    assert [t.decode() for s in sents[1:4] for t in s] == tokens
    assert stats.split_lines == 1


def test_huge_line_is_streamed_in_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus_mod, "BLOCK_BYTES", 64)
    tokens = [f"w{i % 13}" for i in range(3_000)]
    path = tmp_path / "one.txt"
    path.write_bytes(" ".join(tokens).encode())
    sents = list(iter_sentences(path, max_len=1_000))
    assert [len(s) for s in sents] == [1_000, 1_000, 1_000]
    assert [t.decode() for s in sents for t in s] == tokens


def test_invalid_utf8_and_nul_bytes(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"caf\xe9 ok\x00ok caf\xe9\nok caf\xe9\n")
    enc = scan(path, min_count=1)
    counts = dict(zip(enc.vocab.words, enc.vocab.counts.tolist()))
    assert counts == {"ok": 3, "caf\ufffd": 3}
    assert enc.vocab.bad_utf8 == 1
    assert enc.stats.nul_bytes == 1


def test_pruning_bounds_the_table_and_is_reported(tmp_path):
    rng = np.random.default_rng(1)
    common = ["a", "b", "c", "d"]
    lines = []
    for i in range(3000):
        lines.append(" ".join(list(rng.choice(common, 5)) + [f"rare{i}"]))
    path = tmp_path / "c.txt"
    path.write_text("\n".join(lines))
    import w2v.vocab as vocab_mod
    old = vocab_mod._FLUSH
    vocab_mod._FLUSH = 100
    try:
        enc = scan(path, min_count=1, max_distinct=200)
    finally:
        vocab_mod._FLUSH = old
    assert enc.vocab.pruned > 0
    assert set(common) <= set(enc.vocab.words)
    full = scan(path, min_count=1)
    assert full.vocab.pruned == 0 and len(full.vocab) == 3004
    for w in common:
        assert enc.vocab.counts[enc.vocab.words.index(w)] == full.vocab.counts[full.vocab.words.index(w)]


def test_cache_dir_gives_the_same_ids(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("x y z x\n" * 50 + "y y\n")
    mem = scan(path, min_count=1)
    (tmp_path / "cache").mkdir()
    disk = scan(path, min_count=1, cache_dir=tmp_path / "cache")
    assert isinstance(disk.ids, np.memmap)
    np.testing.assert_array_equal(np.asarray(disk.ids), mem.ids)
    assert list((tmp_path / "cache").iterdir()) == []      # nothing left behind


@pytest.mark.parametrize("content, message", [
    (b"", "contains no words"),
    (b"  \n\n \t \n", "contains no words"),
    (b"a b c\n", "no word occurs at least 5 times"),
])
def test_empty_or_too_small(tmp_path, content, message):
    path = tmp_path / "c.txt"
    path.write_bytes(content)
    with pytest.raises(W2VError, match=message):
        scan(path, min_count=5)


def test_missing_and_bad_gzip(tmp_path):
    with pytest.raises(W2VError, match="corpus not found"):
        scan(tmp_path / "nope.txt")
    bad = tmp_path / "bad.gz"
    data = gzip.compress(b"hello world\n" * 1000)
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(W2VError, match="not a valid gzip"):
        scan(bad, min_count=1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(W2VError, match="holds no files"):
        scan(tmp_path / "empty")
