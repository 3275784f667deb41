"""The scanner's memory while pruning, running out of ids, and what the memory estimate counts."""
import importlib
import tracemalloc

import numpy as np
import pytest

import w2v
from w2v import W2VError
from w2v import vocab as vocab_module
from w2v._scan import TokenTable
from w2v.cli import main
from w2v.corpus import BLOCK_BYTES
from w2v.vocab import EOS, scan

train_module = importlib.import_module("w2v.train")   # the module (w2v.train is the function)


# ---------------------------------------------------------------------------------------
# pruning: what word2vec.c's ReduceVocab keeps, and the bound on the table
# ---------------------------------------------------------------------------------------

def reduce_vocab_reference(lines, max_distinct, min_count):
    """Counting as word2vec.c's LearnVocabFromTrainFile with ReduceVocab, the table checked after
    every line: while it holds more than max_distinct tokens, forget those seen at most t times,
    t = 1, 2, 3, ... (t never goes down). A forgotten token seen again is new: it counts from
    zero and its earlier occurrences are not part of the corpus any more.

    Returns (words by descending count, ties in order of first appearance; their counts; the
    corpus as sentences of vocabulary words; the last t; the most steps t rose in one check)."""
    table = {}                  # token -> [count, when its current tenure began]
    tenure = 0
    occurrences = []            # per non-empty line: [(token, tenure)]
    t = most_steps = 0
    for line in lines:
        occ = []
        for token in line.split():
            if token not in table:
                table[token] = [0, tenure]
                tenure += 1
            table[token][0] += 1
            occ.append((token, table[token][1]))
        if occ:
            occurrences.append(occ)
        steps = 0
        while len(table) > max_distinct:
            t += 1
            steps += 1
            table = {k: v for k, v in table.items() if v[0] > t}
        most_steps = max(most_steps, steps)
    words = sorted((k for k, v in table.items() if v[0] >= min_count), key=lambda k: (-table[k][0], table[k][1]))
    known = set(words)
    sentences = [[k for k, ten in occ if k in known and table[k][1] == ten] for occ in occurrences]
    return words, [table[w][0] for w in words], sentences, t, most_steps


def decode(enc):
    words = enc.vocab.words
    out, cur = [], []
    for i in np.asarray(enc.ids).tolist():
        if i == EOS:
            out.append(cur)
            cur = []
        else:
            cur.append(words[i])
    assert cur == []
    return out


@pytest.mark.parametrize("per_pass", [1, 64])
@pytest.mark.parametrize("where", ["memory", "cache_dir"])
def test_pruning_keeps_what_word2vec_reduce_vocab_keeps(tmp_path, monkeypatch, where, per_pass):
    """Every line is exactly one block, so the scanner checks its table after every line, as the
    reference does. Words that were pruned and come back, and checks where the threshold has to
    rise by more than one, both occur."""
    monkeypatch.setattr(vocab_module, "PRUNES_PER_PASS", per_pass)   # renumber the stream after every prune, or at the end
    block = 64
    rng = np.random.default_rng(11)
    pool = [f"w{i}" for i in range(400)]
    p = 1.0 / np.arange(1, len(pool) + 1)
    # 40 tokens seen 3 times, then 2 new ones twice: pruning at t = 1 is not enough, t must reach 2
    lines = [" ".join(f"h{i}" for i in range(k, k + 10)) for k in (0, 10, 20, 30) for _ in range(3)]
    lines.append("n0 n0 n1 n1")
    for i in range(2500):
        lines.append(" ".join(rng.choice(pool, size=rng.integers(0, 12), p=p / p.sum())))
    path = write_one_line_a_block(tmp_path / "c.txt", lines, block)
    cache = None
    if where == "cache_dir":
        cache = tmp_path / "cache"
        cache.mkdir()
    max_distinct, min_count = 40, 2
    enc = scan(path, min_count=min_count, max_distinct=max_distinct, block_bytes=block, cache_dir=cache)
    words, counts, sentences, t, most_steps = reduce_vocab_reference(lines, max_distinct, min_count)
    assert most_steps >= 2 and enc.vocab.pruned > 64 * 2       # the data exercises all of it
    assert enc.vocab.prune_threshold == t
    known = set(words)
    assert sum(map(len, sentences)) < sum(t in known for line in lines for t in line.split())  # pruned, then back
    assert enc.vocab.words == words
    assert enc.vocab.counts.tolist() == counts
    assert decode(enc) == sentences
    assert enc.vocab.total_tokens == sum(len(line.split()) for line in lines)
    assert enc.stats.peak_ids <= max_distinct + block // 2 + 2      # one block completes at most block // 2 + 1 tokens here
    if cache is not None:
        assert list(cache.iterdir()) == []


def write_one_line_a_block(path, lines, block):
    path.write_bytes(b"".join(line.encode().ljust(block - 1) + b"\n" for line in lines))
    assert all(len(line) < block for line in lines)
    return path


def test_a_prune_raises_the_threshold_until_the_table_fits(tmp_path):
    """40 tokens seen 3 times, 2 new ones twice, the 2 again: after the 13th line t must reach 2 (at
    1 nothing goes), after the 14th 3, which forgets all 42 (raising t by one a check would forget
    nothing there). One line is one block."""
    lines = [" ".join(f"h{i}" for i in range(k, k + 10)) for k in (0, 10, 20, 30) for _ in range(3)]
    lines += ["n0 n0 n1 n1", "n0 n1"] + ["h0 h1 n1 n0"] * 3
    path = write_one_line_a_block(tmp_path / "c.txt", lines, 64)
    enc = scan(path, min_count=1, max_distinct=40, block_bytes=64)
    words, counts, sentences, t, _ = reduce_vocab_reference(lines, 40, 1)
    assert (words, counts, t) == (["h0", "h1", "n1", "n0"], [3, 3, 3, 3], 3)
    assert (enc.vocab.words, enc.vocab.counts.tolist(), enc.vocab.prune_threshold) == (words, counts, t)
    assert decode(enc) == sentences == [[]] * 14 + [["h0", "h1", "n1", "n0"]] * 3


def test_a_scan_whose_last_prune_leaves_no_word_says_what_to_do(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text(" ".join(f"t{i}" for i in range(100)) + "\n")
    with pytest.raises(W2VError, match=r"^no word occurs at least 1 times since the scan last pruned rare tokens "
                                       r"\(it pruned 1 times to hold at most 10\); raise --prune-limit") as exc:
        scan(path, min_count=1, max_distinct=10)
    assert "\n" not in str(exc.value)


def write_distinct_corpus(path, lines, rare_per_line=9, frequent=10):
    """Each line: one of `frequent` tokens (line k has token k % frequent), then rare_per_line
    tokens never seen before. Every token is 7 bytes and a separator: 8 bytes."""
    hexdigits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    cells = np.empty((lines, 1 + rare_per_line, 8), dtype=np.uint8)
    cells[:, :, 7] = ord(" ")
    cells[:, -1, 7] = ord("\n")
    cells[:, 0, 0] = ord("w")
    which = np.arange(lines, dtype=np.uint32) % frequent
    for k in range(6):
        cells[:, 0, 1 + k] = hexdigits[(which >> (4 * (5 - k))) & 15]
    serial = np.arange(lines * rare_per_line, dtype=np.uint32).reshape(lines, rare_per_line)
    cells[:, 1:, 0] = ord("x")
    for k in range(6):
        cells[:, 1:, 1 + k] = hexdigits[(serial >> (4 * (5 - k))) & 15]
    with open(path, "wb") as fh:
        for start in range(0, lines, 1 << 18):
            fh.write(cells[start:start + (1 << 18)].tobytes())
    return which


def test_ten_million_distinct_tokens_keep_the_table_bounded(tmp_path):
    """10,000,008 tokens seen once and 10 frequent ones: ids and counts stay within
    max_distinct + one block's tokens (unbounded, they would reach 10 million), and the frequent
    tokens are counted and encoded exactly."""
    lines = 1_111_112
    path = tmp_path / "distinct.txt"
    which = write_distinct_corpus(path, lines)
    max_distinct = 50_000
    enc = scan(path, min_count=2, max_distinct=max_distinct)
    assert enc.vocab.total_tokens == lines * 10 and enc.vocab.pruned > 64
    bound = max_distinct + BLOCK_BYTES // 2 + 19           # stated in w2v.vocab
    assert enc.stats.peak_ids <= max_distinct + BLOCK_BYTES // 8 + 2 <= bound   # 8-byte tokens here
    assert enc.stats.id_capacity < 2 * bound                # the counts array grows by doubling
    expected = np.bincount(which, minlength=10)
    assert enc.vocab.words == [f"w{i:06x}" for i in np.lexsort((np.arange(10), -expected))]
    assert enc.vocab.counts.tolist() == sorted(expected.tolist(), reverse=True)
    index = {w: i for i, w in enumerate(enc.vocab.words)}
    want = np.full((lines, 2), EOS, dtype=np.uint32)
    want[:, 0] = np.array([index[f"w{i:06x}"] for i in range(10)], dtype=np.uint32)[which]
    np.testing.assert_array_equal(enc.ids, want.ravel())


# ---------------------------------------------------------------------------------------
# running out of ids
# ---------------------------------------------------------------------------------------

def test_running_out_of_ids_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    table = TokenTable(100, max_id=50)
    out = np.empty(10_000, dtype=np.uint32)
    with pytest.raises(W2VError, match=r"ran out of token ids \(49 distinct tokens at once\); lower the prune limit"):
        table.feed(b" ".join(b"t%d" % i for i in range(60)) + b"\n", out)
    # the command line, with the scanner's ids capped at 1,000: 3 MB of text with 1,500 distinct
    # tokens, about 500 a block of 1 MiB
    monkeypatch.setattr(vocab_module, "TokenTable", lambda max_len: TokenTable(max_len, max_id=1000))
    path = tmp_path / "c.txt"
    with open(path, "w") as fh:
        for i in range(1500):
            fh.write(("the cat sat on a mat " * 100) + f"rare{i}\n")
    args = ["train", str(path), "-o", str(tmp_path / "v.w2v"), "--dim", "4", "--epochs", "1", "--threads", "1",
            "--min-count", "1", "-q", "--no-memory-check"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ran out of token ids" in err and "--prune-limit" in err
    assert not (tmp_path / "v.w2v").exists()
    assert main(args + ["--prune-limit", "200"]) == 0     # what the message says to do
    capsys.readouterr()
    assert main(args + ["--prune-limit", "4000000001"]) == 2      # more than 32-bit ids can hold with a block
    assert "--prune-limit must be between 1 and 4000000000" in capsys.readouterr().err
    assert set(w2v.load(tmp_path / "v.w2v").index_to_key[:6]) == {"the", "cat", "sat", "on", "a", "mat"}


# ---------------------------------------------------------------------------------------
# what the memory estimate counts
# ---------------------------------------------------------------------------------------

def chunk_bounds_reference(ids, chunk_words):
    """Chunks end at the first sentence end at or after each multiple of chunk_words."""
    ends = [i for i, x in enumerate(ids) if x == EOS]
    cuts = [0]
    for m in range(chunk_words, len(ids), chunk_words):
        after = [e for e in ends if e >= m]
        if after and after[0] + 1 > cuts[-1]:
            cuts.append(after[0] + 1)
    if cuts[-1] != len(ids):
        cuts.append(len(ids))
    return cuts


def test_chunk_bounds_need_memory_for_the_chunks_not_the_sentences():
    rng = np.random.default_rng(5)
    for _ in range(300):
        n = int(rng.integers(0, 300))
        ids = np.where(rng.random(n) < rng.random(), EOS, 3).astype(np.uint32)
        chunk_words = int(rng.integers(1, 40))
        got = train_module.chunk_bounds(ids, chunk_words, step=int(rng.integers(1, 50)))
        assert got.tolist() == chunk_bounds_reference(ids.tolist(), chunk_words)
    # 8 million tokens in 4 million sentences: their offsets alone would be 32 MB
    ids = np.tile(np.array([7, EOS], dtype=np.uint32), 4_000_000)
    tracemalloc.start()
    try:
        bounds = train_module.chunk_bounds(ids, 100_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(bounds) == 81 and bounds[1] == 100_002
    assert peak < 16 << 20, peak


def test_memory_estimate_counts_the_words_and_their_index():
    """What 100,000 words of 3 to 9 characters cost as Python strings, and the word -> row index
    that the vectors build, measured, is within the estimate (and not far below it)."""
    rng = np.random.default_rng(2)
    lengths = rng.integers(3, 10, 100_000)
    tracemalloc.start()
    try:
        words = [f"{i:x}".rjust(int(n), "w") for i, n in enumerate(lengths)]
        kv = w2v.KeyedVectors(words, np.zeros((len(words), 1), dtype=np.float32))
        used = tracemalloc.get_traced_memory()[0] - 400_000        # the vectors and counts
    finally:
        tracemalloc.stop()
    assert len(kv) == len(words)
    est = train_module.MemoryEstimate(vocab_size=len(words), dim=1, tokens=0, cache_dir=None, exact=False)
    assert 0.7 * est.words_bytes < used <= est.words_bytes
    index = train_module.INDEX_BYTES * len(words)       # what an exact check adds: the strings exist by then
    est.exact, est.available = True, est.model_bytes + est.bounds_bytes + index - 1
    with pytest.raises(W2VError, match="not enough memory"):
        est.check()


def test_memory_estimate_counts_the_chunk_table(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("a b c d e f g h i j\n" * 20_000)
    p = w2v.Params(dim=8, min_count=1, threads=1, chunk_words=1000).validate()
    enc = scan(path, min_count=1)
    est = train_module.MemoryEstimate.after_scan(enc, p, None)
    bounds = train_module.chunk_bounds(enc.ids, p.chunk_words)
    assert 2 * bounds.nbytes <= est.bounds_bytes <= 2 * bounds.nbytes + 64     # the offsets, and a copy while made
    assert est.needed == est.model_bytes + est.corpus_bytes + est.scan_bytes + est.bounds_bytes + est.words_bytes
    assert "chunk table" in est.describe()
    # with just enough memory for the model and the words' index but not for the chunk table, the run does not fit
    index = train_module.INDEX_BYTES * est.vocab_size
    est.available = est.model_bytes + index + est.bounds_bytes // 2
    with pytest.raises(W2VError, match="not enough memory"):
        est.check()
    est.available = est.model_bytes + index + est.bounds_bytes
    est.check()
    before = train_module.estimate_memory(path, p)       # tokens estimated from a sample: close, not equal
    assert before.needed == (before.model_bytes + before.corpus_bytes + before.scan_bytes + before.bounds_bytes
                             + before.words_bytes)
    assert 0.8 * est.bounds_bytes < before.bounds_bytes < 1.2 * est.bounds_bytes
