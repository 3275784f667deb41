"""Reading corpora, counting, choosing the vocabulary, and encoding."""
import collections
import gzip

import numpy as np
import pytest

from w2v import W2VError
from w2v import corpus as corpus_mod
from w2v._scan import CUT_BYTES, LONG_RUN, TokenTable
from w2v.vocab import EOS, encode, scan


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


def reference_sentences(data, max_len):
    """What the scanner must produce for one file's bytes, in plain Python."""
    lines = data.replace(b"\0", b" ").split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    out = []
    for line in lines:
        tokens = []
        for t in line.split():
            if len(t) > LONG_RUN:
                tokens += [t[i:i + CUT_BYTES] for i in range(0, len(t), CUT_BYTES)]
            else:
                tokens.append(t)
        out += [tokens[i:i + max_len] for i in range(0, len(tokens), max_len)]
    return out


def scanner_sentences(data, max_len, block):
    """The scanner's sentences for `data` fed in blocks of `block` bytes."""
    table = TokenTable(max_len)
    out = np.empty(3 * block + 64, dtype=np.uint32)
    ids = []
    for i in range(0, len(data), block):
        n = table.feed(data[i:i + block], out)
        ids += out[:n].tolist()
    n = table.end_file(out)
    ids += out[:n].tolist()
    live, tokens, _ = table.items()
    token = dict(zip(live.tolist(), tokens))
    counts = collections.Counter(ids)
    assert all(table.counts()[i] == c for i, c in counts.items())
    sents, cur = [], []
    for i in ids:
        if i == 0:
            sents.append(cur)
            cur = []
        else:
            cur.append(token[i])
    assert cur == []
    return sents, table


def test_scanner_matches_python_splitting_at_any_block_size():
    rng = np.random.default_rng(0)
    pieces = [b"a", b"b", b"ab", b"word", b"abcdefgh", b"abcdefghi", b"longer-token-x", b"caf\xe9",
              b" ", b"  ", b"\t", b"\r", b"\x0b", b"\x0c", b"\0", b"\n", b"\n\n", b"\x1c", b"\xc2\xa0"]
    for _ in range(2000):
        data = b"".join(pieces[j] for j in rng.integers(0, len(pieces), rng.integers(0, 50)))
        max_len = int(rng.integers(1, 6))
        block = int(rng.integers(1, 12))
        got, table = scanner_sentences(data, max_len, block)
        assert got == reference_sentences(data, max_len), (data, max_len, block)
        assert table.lines == data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


@pytest.mark.parametrize("run", [LONG_RUN, LONG_RUN + 1, 3 * LONG_RUN + 5])
@pytest.mark.parametrize("block", [100_000, 1 << 20, 5 << 20])
def test_scanner_cuts_only_runs_longer_than_the_limit(run, block):
    data = b"a " + b"x" * run + b" b\nc"
    got, table = scanner_sentences(data, 3, block)
    assert got == reference_sentences(data, 3)
    assert table.cut_tokens == (run // CUT_BYTES if run > LONG_RUN else 0)


def test_scanner_flags_exactly_the_tokens_python_cannot_decode():
    rng = np.random.default_rng(3)
    alphabet = [b for b in range(256) if b not in b" \t\n\r\x0b\x0c\0"]
    samples = [bytes(rng.choice(alphabet, rng.integers(1, 12)).tolist()) for _ in range(3000)]
    samples += ["é€𝄞".encode(), b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\xe2\x82"]
    table = TokenTable(10)
    out = np.empty(3 * 200_000, dtype=np.uint32)
    table.feed(b" ".join(samples) + b"\n", out)
    ids, tokens, bad = table.items()
    for token, flagged in zip(tokens, bad.tolist()):
        try:
            token.decode("utf-8")
            ok = True
        except UnicodeDecodeError:
            ok = False
        assert flagged == (not ok), token
    assert table.find(samples[0]) and table.find(b"never-seen") == 0


def test_scanner_prune_keeps_frequent_and_seeded_tokens():
    table = TokenTable(100)
    seeded = table.seed([b"s1", b"s2"])
    assert seeded.tolist() == [1, 2]
    out = np.empty(1000, dtype=np.uint32)
    table.feed(b"a a a b c a longtoken-rare longtoken-often longtoken-often\n", out)
    # ids: s1 1, s2 2, a 3, b 4, c 5, longtoken-rare 6, longtoken-often 7
    survivors = table.prune(1)
    assert np.flatnonzero(np.unpackbits(survivors, bitorder="little")).tolist() == [0, 1, 2, 3, 7]
    ids, tokens, _ = table.items()
    # the survivors are renumbered in their order, seeded tokens keep their ids, counts move along
    assert dict(zip(tokens, ids.tolist())) == {b"s1": 1, b"s2": 2, b"a": 3, b"longtoken-often": 4}
    assert table.counts().tolist() == [1, 0, 0, 4, 2] and table.next_id == 5
    n = table.feed(b"b a longtoken-often\n", out)
    ids, tokens, _ = table.items()
    new = dict(zip(tokens, ids.tolist()))
    assert new[b"b"] == 5       # a pruned token that comes back is new: the next free id, counted afresh
    assert out[:n].tolist() == [5, 3, 4, 0]
    assert table.counts().tolist() == [2, 0, 0, 5, 3, 1]
    assert table.find(b"longtoken-often") == 4 and table.find(b"c") == 0


def test_long_line_split_not_dropped(tmp_path):
    n = 25_003
    tokens = [f"t{i % 7}" for i in range(n)]
    path = tmp_path / "long.txt"
    path.write_text("a b\n" + " ".join(tokens) + "\nc d")    # no final newline
    enc = scan(path, min_count=1)
    sents = decode(enc)
    assert [len(s) for s in sents] == [2, 10_000, 10_000, 5_003, 2]
    assert [t for s in sents[1:4] for t in s] == tokens
    assert enc.stats.split_lines == 1 and enc.stats.lines == 3


def test_huge_line_is_streamed_in_blocks(tmp_path):
    tokens = [f"w{i % 13}" for i in range(30_000)]
    path = tmp_path / "one.txt"
    path.write_bytes(" ".join(tokens).encode())
    enc = scan(path, min_count=1, block_bytes=64)
    sents = decode(enc)
    assert [len(s) for s in sents] == [10_000, 10_000, 10_000]
    assert [t for s in sents for t in s] == tokens


def test_encode_matches_scan_and_maps_replaced_words(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes(b"caf\xe9 ok x y\nok caf\xe9 z\n" * 5 + b"other caf\xe8 ok\n")
    enc = scan(path, min_count=2)
    # caf\xe8 decodes to the same replaced word as caf\xe9: it counts as that word, although
    # by itself it is below min_count
    assert enc.vocab.counts[enc.vocab.words.index("caf\ufffd")] == 11
    assert enc.vocab.bad_utf8 == 1
    again = encode(path, enc.vocab, block_bytes=7)
    np.testing.assert_array_equal(again.ids, enc.ids)
    assert again.corpus_counts[enc.vocab.words.index("caf\ufffd")] == 11
    assert again.oov_tokens == 1
    assert decode(again)[-1] == ["caf\ufffd", "ok"]


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
    enc = scan(path, min_count=1, max_distinct=200, block_bytes=500)
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


def test_read_ahead_keeps_order_passes_errors_and_stops_when_closed():
    from w2v.corpus import read_ahead
    import threading
    assert list(read_ahead(iter(range(100)), depth=2)) == list(range(100))

    def failing():
        yield 1
        yield 2
        raise W2VError("broken block")
    got = []
    with pytest.raises(W2VError, match="broken block"):
        for x in read_ahead(failing()):
            got.append(x)
    assert got == [1, 2]

    closed = threading.Event()

    def endless():
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()
    gen = read_ahead(endless(), depth=3)
    assert [next(gen) for _ in range(5)] == [0, 1, 2, 3, 4]
    gen.close()
    assert closed.wait(5)
    assert not any(t.name == "w2v-reader" for t in threading.enumerate())


def test_a_valid_token_and_invalid_ones_that_decode_to_it_are_one_word(tmp_path):
    path = tmp_path / "c.txt"
    # "caf\ufffd" written out validly once, and two different invalid spellings that decode to it
    path.write_bytes(b"x caf\xef\xbf\xbd y\nx caf\xe9 caf\xe8 caf\xe9 y\nx y\n")
    enc = scan(path, min_count=2)
    assert dict(zip(enc.vocab.words, enc.vocab.counts.tolist())) == {"x": 3, "y": 3, "caf\ufffd": 4}
    assert decode(enc)[1] == ["x", "caf\ufffd", "caf\ufffd", "caf\ufffd", "y"]
    assert enc.vocab.bad_utf8 == 1
