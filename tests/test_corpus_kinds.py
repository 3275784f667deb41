"""Every kind of corpus (paths, compressed files, directories, standard input, file objects,
iterables of token lists or of lines) gives the vocabulary and ids of the equivalent text file."""
import bz2
import gzip
import hashlib
import io
import lzma
import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import w2v
from w2v import W2VError
from w2v.vocab import EOS, encode, scan

SMALL = dict(dim=12, window=3, negative=3, min_count=1, sample=0, epochs=2, threads=1, seed=3, chunk_words=1000)


def make_lines(n=3000, seed=0):
    """Sentences of words of a Zipf-like vocabulary, some non-ASCII, some longer than 8 bytes
    (stored outside the scanner's slots), one long enough to be split."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(300)] + ["café", "naïve", "日本語", "emoji😀", "a-rather-long-token"]
    p = 1.0 / np.arange(1, len(words) + 1)
    lines = [list(rng.choice(words, size=rng.integers(1, 25), p=p / p.sum())) for _ in range(n)]
    lines[17] = [words[i % 50] for i in range(23_456)]           # split into 10,000 + 10,000 + 3,456
    return [[str(w) for w in line] for line in lines]


@pytest.fixture(scope="module")
def lines():
    return make_lines()


@pytest.fixture(scope="module")
def text_file(tmp_path_factory, lines):
    path = tmp_path_factory.mktemp("kinds") / "c.txt"
    path.write_text("".join(" ".join(line) + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(text_file):
    return scan(text_file, min_count=1)


def same(enc, ref):
    assert enc.vocab.words == ref.vocab.words
    np.testing.assert_array_equal(enc.vocab.counts, ref.vocab.counts)
    np.testing.assert_array_equal(np.asarray(enc.ids), np.asarray(ref.ids))


def test_reference_is_the_text_split_as_python_splits_it(reference, lines):
    """The file's scan (the reference of every kind below) against an independent split."""
    out, cur = [], []
    for i in np.asarray(reference.ids).tolist():
        if i == EOS:
            out.append(cur)
            cur = []
        else:
            cur.append(reference.vocab.words[i])
    expect = []
    for line in lines:
        expect += [line[k:k + 10_000] for k in range(0, len(line), 10_000)]
    assert out == expect


def _kinds(path, lines, tmp):
    """name -> a zero-argument function giving the corpus in that kind."""
    raw = path.read_bytes()
    gz, b2, xz = tmp / "c.txt.gz", tmp / "c.txt.bz2", tmp / "c.xz.data"
    gz.write_bytes(gzip.compress(raw))
    b2.write_bytes(bz2.compress(raw))
    xz.write_bytes(lzma.compress(raw))        # no telling extension: recognised by its first bytes
    d = tmp / "dir"
    d.mkdir()
    cut = raw.index(b"\n", len(raw) // 2) + 1
    (d / "a.txt").write_bytes(raw[:cut])
    (d / "b.txt.bz2").write_bytes(bz2.compress(raw[cut:]))
    return {
        "gzip": lambda: gz,
        "bzip2": lambda: b2,
        "xz": lambda: xz,
        "directory": lambda: d,
        "str path": lambda: str(path),
        "binary file object": lambda: open(path, "rb"),
        "text file object": lambda: open(path, encoding="utf-8"),
        "gzip stream": lambda: io.BytesIO(gz.read_bytes()),
        "list of token lists": lambda: lines,
        "tuples": lambda: tuple(tuple(s) for s in lines),
        "generator of token lists": lambda: (list(s) for s in lines),
        "lines of text": lambda: [" ".join(s) for s in lines],
        "lines with newlines (iterating a text file)": lambda: open(path, encoding="utf-8"),
        "generator of lines": lambda: (" ".join(s) + "\n" for s in lines),
        "bytes tokens": lambda: [[w.encode() for w in s] for s in lines],
        "bytes lines": lambda: (" ".join(s).encode() for s in lines),
        "token iterables": lambda: (iter(s) for s in lines),
    }


@pytest.mark.parametrize("kind", [
    "gzip", "bzip2", "xz", "directory", "str path", "binary file object", "text file object", "gzip stream",
    "list of token lists", "tuples", "generator of token lists", "lines of text",
    "lines with newlines (iterating a text file)", "generator of lines", "bytes tokens", "bytes lines",
    "token iterables"])
def test_every_kind_gives_the_vocabulary_and_ids_of_the_text_file(tmp_path, text_file, lines, reference, kind):
    make = _kinds(text_file, lines, tmp_path)[kind]
    corpus = make()
    if kind == "lines with newlines (iterating a text file)":
        corpus = iter(corpus)        # the file object's lines, not the file object
    same(scan(corpus, min_count=1), reference)
    same(encode(make(), reference.vocab), reference)


def test_small_batches_and_blocks_give_the_same_ids(text_file, lines, reference):
    """Sentences cut across batches (and strings across pieces) are continued exactly."""
    same(scan(lines, min_count=1, block_bytes=1024), reference)
    same(scan([" ".join(s) for s in lines], min_count=1, block_bytes=1024), reference)
    with open(text_file, encoding="utf-8") as fh:
        same(scan(fh, min_count=1, block_bytes=1000), reference)


def test_training_from_a_generator_equals_training_from_the_file(text_file, lines):
    a = w2v.train(text_file, **SMALL)
    b = w2v.train((list(s) for s in lines), **SMALL)
    np.testing.assert_array_equal(a.syn0, b.syn0)
    gen = (list(s) for s in lines)
    w2v.train(gen, **SMALL)
    with pytest.raises(W2VError, match="holds no tokens; it is an iterator"):
        b.train(gen, epochs=1)


def test_long_token_list_and_long_string_are_split_not_dropped():
    words = [f"t{i % 7}" for i in range(25_003)]
    for corpus in ([words], [" ".join(words)]):
        enc = scan(corpus, min_count=1)
        ends = np.flatnonzero(np.asarray(enc.ids) == EOS)
        assert np.diff(np.concatenate([[-1], ends])).tolist() == [10_001, 10_001, 5_004]
        assert enc.stats.split_lines == 1 and enc.vocab.total_tokens == 25_003


def test_pruning_on_token_batches_keeps_the_table_bounded(tmp_path):
    """Batches of Python sentences are pruned as blocks of text are: the table never holds more
    than the limit plus one batch's new tokens (block_bytes // 2 + 18 ids)."""
    rng = np.random.default_rng(1)
    sentences = [[f"f{j}" for j in rng.integers(0, 30, 8)] + [f"rare{i}_{k}" for k in range(4)]
                 for i in range(20_000)]
    enc = scan(iter(sentences), min_count=1, max_distinct=500, block_bytes=4096)
    assert enc.vocab.pruned > 0
    # a batch holds at most max(4096, 4096 // 2 + 18) ids
    assert enc.stats.peak_ids <= 500 + 4096 + 1
    kept = {w: c for w, c in zip(enc.vocab.words, enc.vocab.counts.tolist())}
    counted = {}
    for s in sentences:
        for w in s:
            counted[w] = counted.get(w, 0) + 1
    # the frequent words are never pruned: their counts are exact
    assert all(kept[f"f{j}"] == counted[f"f{j}"] for j in range(30))
    # the same scan again gives the same pruning (a pruned run resumes on it)
    same(scan(sentences, min_count=1, max_distinct=500, block_bytes=4096), enc)


def test_strings_with_lone_surrogates_read_as_the_bytes_of_the_same_text(tmp_path):
    """U+DC80..U+DCFF are the bytes surrogateescape decoded them from; other lone surrogates are
    encoded as surrogatepass does; neither crashes, and the words are those of the same bytes."""
    raw = b"ok caf\xc3\xa9 bad\x80x \xed\xa0\x80 ok\nbad\x80x ok\n"
    path = tmp_path / "c.txt"
    path.write_bytes(raw)
    ref = scan(path, min_count=1)
    text = raw.decode("utf-8", "surrogateescape").replace("\udced\udca0\udc80", "\ud800")
    same(scan([line.split() for line in text.splitlines()], min_count=1), ref)
    same(scan(text.splitlines(), min_count=1), ref)
    with open(path, encoding="utf-8", errors="surrogateescape") as fh:
        same(scan(fh, min_count=1), ref)
    same(scan(io.StringIO(text), min_count=1), ref)
    assert ref.vocab.bad_utf8 == 2


def test_compiled_utf8_encoder_matches_python(tmp_path):
    from w2v._scan import _encode_py
    from w2v.corpus import to_utf8
    rng = np.random.default_rng(0)
    for _ in range(300):
        cps = rng.choice([rng.integers(0, 0x80), rng.integers(0x80, 0x800), rng.integers(0x800, 0xD800),
                          rng.integers(0xD800, 0xE000), rng.integers(0xE000, 0x10000),
                          rng.integers(0x10000, 0x110000)], size=rng.integers(1, 20))
        s = "".join(map(chr, cps))
        want = b"".join(bytes([ord(c) - 0xDC00]) if 0xDC80 <= ord(c) <= 0xDCFF else
                        c.encode("utf-8", "surrogatepass") for c in s)
        assert _encode_py(s) == want == to_utf8(s)


@pytest.mark.parametrize("corpus, message", [
    ([["a", "b"], ["c", None]], r"sentence 1 \(counted from 0\), token 1 is None"),
    ([["a"], ["b", 5]], r"sentence 1 \(counted from 0\), token 1 is an int \(5\), not a string"),
    ([["a"], None], r"sentence 1 \(counted from 0\) is None"),
    ([["a"], 3.5], r"sentence 1 \(counted from 0\) is a float"),
    ([[], "", ["a", "b"], "c d"], r"sentence 3 \(counted from 0\) is a string, but sentence 2 is a list of tokens"),
    (["a b", ["c"]], r"sentence 1 \(counted from 0\) is a list of tokens, but sentence 0 is a string"),
    ([["a", "b"], ["c", b"d"]], r"sentence 1 \(counted from 0\), token 1 is bytes, but the corpus's earlier text is str"),
    ([[b"a"], ["c"]], r"sentence 1 \(counted from 0\), token 0 is str, but the corpus's earlier text is bytes"),
    (["a b", b"c"], r"sentence 1 \(counted from 0\) is bytes"),
    ([["a", "", "b"]], r"sentence 0 \(counted from 0\), token 1 is an empty string"),
    ([], "the list given as corpus holds no tokens"),
    ([[], ""], "holds no tokens"),
    (42, "corpus must be a path, an open file, or an iterable of sentences"),
    ("no such file.txt", r"corpus not found: no such file.txt; to train on text held in a string"),
])
def test_bad_elements_are_one_line_errors(corpus, message):
    with pytest.raises(W2VError, match=message) as info:
        scan(corpus, min_count=1)
    assert "\n" not in str(info.value)


def test_errors_from_the_users_iterable_reach_the_caller():
    def broken():
        yield ["a", "b"]
        raise ValueError("the database went away")
    with pytest.raises(ValueError, match="database went away"):
        scan(broken(), min_count=1)


@pytest.mark.parametrize("make, message", [
    (lambda raw: gzip.compress(raw)[:-30], "not a valid gzip file"),
    (lambda raw: bz2.compress(raw)[:-30], "not a valid bzip2 file"),
    (lambda raw: lzma.compress(raw)[:-30], "not a valid xz file"),
    (lambda raw: b"BZh9" + bytes(range(256)) * 4, "not a valid bzip2 file"),
])
def test_damaged_compressed_files(tmp_path, make, message):
    path = tmp_path / "c"
    path.write_bytes(make(b"the cat sat on the mat\n" * 5000))
    with pytest.raises(W2VError, match=message):
        scan(path, min_count=1)


def test_file_fingerprint_is_hashed_while_reading(tmp_path):
    """A path's fingerprint (what checkpoints store): per file its size and the SHA-256 of its first
    64 KiB and of the last 64 KiB after them, of the bytes on disk."""
    def ends(raw):
        return hashlib.sha256(raw[:65536] + (raw[max(65536, len(raw) - 65536):] if len(raw) > 65536 else b"")).hexdigest()
    rng = np.random.default_rng(2)
    for size in (1_000, 65_536, 100_000, 140_000, 700_000):
        text = (" ".join(f"w{i}" for i in rng.integers(0, 500, size // 3)) + "\n").encode()[:size - 1] + b"\n"
        for name, data in (("c.txt", text), ("c.txt.gz", gzip.compress(text))):
            path = tmp_path / name
            path.write_bytes(data)
            (record,) = scan(path, min_count=1).fingerprint["files"]
            assert (record["file"], record["size"], record["sha256"]) == (name, len(data), ends(data))


def test_tokens_digest_is_the_same_for_every_kind_and_tells_corpora_apart(text_file, lines):
    a = scan(text_file, min_count=1).fingerprint["tokens"]
    b = scan((list(s) for s in lines), min_count=1).fingerprint["tokens"]
    assert a == b and a["tokens"] == sum(map(len, lines))
    swapped = [list(s) for s in lines]
    swapped[5][0], swapped[6][0] = swapped[6][0], swapped[5][0]
    c = scan(swapped, min_count=1).fingerprint["tokens"]
    assert (c["tokens"], c["sentences"]) == (a["tokens"], a["sentences"]) and c["hash"] != a["hash"]


def _stop_after_first_epoch(info):
    if info.event == "epoch_end" and info.epoch == 0:
        raise w2v.StopTraining


def test_resume_from_a_generator_needs_the_same_sentences(text_file, lines):
    full = w2v.train(text_file, **SMALL)
    m = w2v.train((list(s) for s in lines), callbacks=[_stop_after_first_epoch], **SMALL)
    assert m.interrupted
    other = [list(s) for s in lines]
    other[3] = other[3][::-1]
    with pytest.raises(W2VError, match="is not the one this training run started on .*not the same ones"):
        m.resume(iter(other))
    m.resume(s for s in lines)
    np.testing.assert_array_equal(m.syn0, full.syn0)


def test_a_run_on_a_file_resumes_from_the_same_tokens_in_a_list(tmp_path, text_file, lines):
    m = w2v.train(text_file, callbacks=[_stop_after_first_epoch], **SMALL)
    ck = tmp_path / "ck"
    m.save(ck)
    m = w2v.Word2Vec.load(ck)
    with pytest.raises(W2VError, match="not the one this training run started on"):
        m.resume(lines[:-1])
    m.resume(lines)
    np.testing.assert_array_equal(m.syn0, w2v.train(text_file, **SMALL).syn0)


def _cli(args, stdin=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "w2v", *args], input=stdin, capture_output=True, cwd=cwd)


def test_cli_reads_standard_input(tmp_path, text_file):
    opts = ["--dim", "12", "--window", "3", "--negative", "3", "--min-count", "1", "--sample", "0", "--epochs",
            "1", "--threads", "1", "--seed", "3", "-q", "--format", "txt"]
    r = _cli(["train", str(text_file), "-o", str(tmp_path / "file.txt"), *opts])
    assert r.returncode == 0, r.stderr
    for name, data in (("plain", text_file.read_bytes()), ("xz", lzma.compress(text_file.read_bytes()))):
        out = tmp_path / f"{name}.txt"
        r = _cli(["train", "-", "-o", str(out), *opts], stdin=data)
        assert r.returncode == 0, r.stderr
        assert out.read_bytes() == (tmp_path / "file.txt").read_bytes()
    r = _cli(["train", "-", "-o", str(tmp_path / "x"), *opts], stdin=b"")
    assert r.returncode == 2 and r.stderr.decode().strip().splitlines() == [
        "w2v: error: corpus standard input contains no words; give a non-empty stream"]
    r = _cli(["train", "-", "-o", str(tmp_path / "x"), *opts], stdin=bytes(range(256)) * 100)
    assert r.returncode == 2 and b"does not look like text" in r.stderr and b"Traceback" not in r.stderr
    r = _cli(["train", "-", "--estimate-memory"], stdin=b"a b\n")
    assert r.returncode == 2 and b"--estimate-memory needs a corpus whose size is known" in r.stderr


def test_sentences_are_not_held_while_reading():
    """A generator's sentences are let go as they are encoded: the scan's Python memory stays at
    its ids and a batch, far below what holding its 20,000 sentences of fresh strings would take."""
    n = 20_000

    def sentences():
        for i in range(n):
            yield [f"w{(i * 7 + k) % 1000}" for k in range(10)]
    one = next(sentences())
    held = n * (sys.getsizeof(one) + sum(map(sys.getsizeof, one)))      # about 14 MB
    tracemalloc.start()
    try:
        enc = scan(sentences(), min_count=1, capacity=1 << 16, block_bytes=1 << 16)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    ids = 4 * len(enc.ids)          # 0.9 MB
    assert held > 10e6 and peak < 4 * ids + 2e6, (peak, ids, held)
