"""Vocabulary and encoding, in one pass over the text.

The compiled scanner (_scan.TokenTable) splits the text into tokens and gives every distinct
token a provisional id the first time it is seen, and the corpus is written once as a stream
of provisional ids (id 0 marks the end of a sentence), counted as they go. After the scan,
the vocabulary is chosen (min_count, max_vocab, sorted by descending count, ties in order of
first appearance), and the stream is remapped to final ids with one table lookup per token,
dropping out-of-vocabulary tokens. Epochs then read the
final id array; text is never tokenised again.

Memory stays bounded on corpora with huge numbers of distinct tokens: when the table of
distinct tokens exceeds `max_distinct`, the rarest ones are pruned during the scan (as
word2vec.c's ReduceVocab does; a pruned token that appears again starts counting afresh),
and that it happened is reported.
"""
import dataclasses
import os
import tempfile

import numpy as np

from . import _kernels
from ._scan import TokenTable
from .corpus import ReadStats, estimate_size, iter_blocks, read_ahead
from .params import MAX_SENTENCE
from ._io import describe_os_error
from .errors import W2VError

EOS = np.uint32(_kernels.EOS)
_DROP = np.uint32(0xFFFFFFFE)


@dataclasses.dataclass
class Vocab:
    words: list               # index -> word, by descending count
    counts: np.ndarray        # int64, per word
    total_tokens: int = 0     # tokens in the corpus, in the vocabulary or not
    distinct: int = 0         # distinct tokens seen (a lower bound if pruning happened)
    pruned: int = 0           # times the scan pruned rare tokens to bound memory
    prune_threshold: int = 0  # the last pruning's count threshold
    bad_utf8: int = 0         # vocabulary words whose invalid UTF-8 bytes were replaced

    def __len__(self):
        return len(self.words)

    @property
    def train_words(self):
        return int(self.counts.sum())


def keep_probabilities(counts, sample):
    if sample <= 0:
        return None
    counts = np.asarray(counts, dtype=np.float64)
    ratio = sample * counts.sum() / counts       # t / f
    return np.minimum(1.0, np.sqrt(ratio) + ratio).astype(np.float32)


def alias_table(counts, exponent=0.75):
    weights = np.power(np.asarray(counts, dtype=np.float64), exponent)
    return _kernels.build_alias(np.ascontiguousarray(weights))


class HuffmanTree:
    """The Huffman tree of hierarchical softmax over the vocabulary's counts (word2vec.c's
    CreateBinaryTree, built in compiled code in O(V)), stored flat: word w's path from the root is
    entries code_start[w] .. code_start[w + 1] - 1 of `path` (uint32), each the inner node there
    (its syn1 row; the root is row 0 and rows go by descending count) shifted left by one bit,
    or'ed with the branch taken (its code bit, 0 or 1). The same counts always give the same tree."""

    def __init__(self, counts):
        self.path_entries, self.code_start = _kernels.build_huffman(np.ascontiguousarray(counts, dtype=np.int64))

    def __iter__(self):          # what the kernels take: (path, code_start)
        return iter((self.path_entries, self.code_start))

    def __len__(self):           # words
        return len(self.code_start) - 1

    @property
    def codes(self):             # every word's code bits, in word order (uint8)
        return (self.path_entries & 1).astype(np.uint8)

    @property
    def points(self):            # the inner nodes on every word's path, in word order (uint32)
        return self.path_entries >> 1

    def path(self, w):
        """(codes, points) of word w, root first."""
        entries = self.path_entries[self.code_start[w]:self.code_start[w + 1]]
        return (entries & 1).astype(np.uint8), entries >> 1

    @property
    def lengths(self):
        return np.diff(self.code_start)

    @property
    def nbytes(self):
        return self.path_entries.nbytes + self.code_start.nbytes

    @staticmethod
    def estimate_bytes(vocab_size):
        """An estimate of nbytes before the counts are known: words of a Zipfian vocabulary have
        codes of at most about log2(V) + 10 bits (rare words the longest)."""
        bits = int(np.ceil(np.log2(max(vocab_size, 2)))) + 10
        return vocab_size * bits * 4 + 8 * (vocab_size + 1)


@dataclasses.dataclass
class Encoded:
    vocab: Vocab
    ids: np.ndarray           # uint32, final ids with EOS between sentences (maybe a memmap)
    stats: ReadStats
    oov_tokens: int = 0                 # encode(): tokens dropped because they are not in the vocabulary
    corpus_counts: np.ndarray = None    # encode(): per-word counts in this corpus

    @property
    def train_words(self):
        """In-vocabulary words of this corpus: what one epoch trains on."""
        if self.corpus_counts is not None:
            return int(self.corpus_counts.sum())
        return self.vocab.train_words


class _Stream:
    """Where the provisional id stream goes: one growable array in memory (remapped in place
    at the end, so the old and new streams never both exist), or a temporary file for corpora
    larger than RAM."""

    def __init__(self, cache_dir, capacity=1 << 20):
        self.n = 0
        self.file = None
        self.buf = None
        if cache_dir is not None:
            self.file = tempfile.NamedTemporaryFile(prefix="w2v-scan-", suffix=".u32", dir=cache_dir)
        else:
            # Pages that are never written cost nothing, so a generous guess is cheap; a wrong
            # one costs a copy.
            self.buf = np.empty(max(int(capacity), 1 << 16), dtype=np.uint32)

    def add(self, arr):
        if self.file is not None:
            try:
                self.file.write(arr.tobytes())
            except OSError as exc:
                raise W2VError(describe_os_error(exc, self.file.name)) from None
        else:
            if self.n + len(arr) > len(self.buf):
                grown = np.empty(max(int(len(self.buf) * 1.5), self.n + len(arr)), dtype=np.uint32)
                grown[:self.n] = self.buf[:self.n]
                self.buf = grown
            self.buf[self.n:self.n + len(arr)] = arr
        self.n += len(arr)

    def remap(self, table, n_out, cache_dir, size=1 << 20):
        """The final id stream: table[id] for every id, without the ids mapped to _DROP
        (table None: the ids as they are)."""
        if self.file is None:
            out = self.buf          # in place: the write position never passes the read position
        elif cache_dir is not None:
            fd, name = tempfile.mkstemp(prefix="w2v-ids-", suffix=".u32", dir=cache_dir)
            os.close(fd)
            out = np.memmap(name, dtype=np.uint32, mode="w+", shape=(max(n_out, 1),))
            os.unlink(name)     # the mapping keeps the data alive; nothing is left behind
        pos = 0
        for chunk in self._chunks(size):
            if table is not None:
                chunk = table[chunk]
                chunk = chunk[chunk != _DROP]
            out[pos:pos + len(chunk)] = chunk
            pos += len(chunk)
        assert pos == n_out
        self.buf = None
        return out[:n_out]

    def _chunks(self, size):
        if self.file is None:
            for i in range(0, self.n, size):
                yield self.buf[i:min(i + size, self.n)]
            return
        self.file.flush()
        if not self.n:
            return
        mm = np.memmap(self.file.name, dtype=np.uint32, mode="r", shape=(self.n,))
        for i in range(0, self.n, size):
            yield np.asarray(mm[i:i + size])
        del mm

    def close(self):
        self.buf = None
        if self.file is not None:
            self.file.close()


def _capacity_guess(path):
    """Tokens plus sentence ends to reserve room for, from the corpus's size."""
    try:
        est = estimate_size(path)
    except (W2VError, OSError):
        return 1 << 20
    return int(est.tokens * 1.3) + (1 << 16)


def scan(path, min_count=5, max_vocab=0, max_distinct=20_000_000, cache_dir=None, progress=None,
         capacity=None, block_bytes=None):
    """Count and encode a corpus in one pass. Returns Encoded.

    cache_dir: write the id streams to files there (memory-mapped) instead of memory, for
    corpora larger than RAM. progress: optional callable(bytes_read) called now and then.
    capacity: expected tokens plus sentence ends, if already estimated (sizes the id buffer).
    max_distinct: prune the rarest tokens when more distinct ones than this are held.
    block_bytes: read the text in blocks of this size (default corpus.BLOCK_BYTES).
    """
    encoded = _scan(path, min_count, max_vocab, max_distinct, cache_dir, progress, capacity, block_bytes)
    _release_free_memory()     # after _scan's tables and token objects are gone
    return encoded


def _tokenise(path, table, stats, stream, progress, max_distinct, block_bytes=None):
    """Feed every block of the corpus to the scanner, its ids to the stream. Returns
    (times pruned, the last pruning threshold)."""
    out = None
    pruned = threshold = 0
    for block in read_ahead(iter_blocks(path, stats, block_bytes)):
        if block is None:
            if out is None:
                out = np.empty(64, dtype=np.uint32)
            n = table.end_file(out)
        else:
            if out is None or len(out) < 3 * len(block) + 64:
                out = np.empty(3 * len(block) + 64, dtype=np.uint32)
            n = table.feed(block, out)
            if progress is not None:
                progress(stats.bytes_read)
        stream.add(out[:n])
        if len(table) > max_distinct:
            threshold += 1
            pruned += 1
            table.prune(threshold)
    stats.lines, stats.split_lines, stats.cut_tokens = table.lines, table.split_lines, table.cut_tokens
    return pruned, threshold


def _scan(path, min_count, max_vocab, max_distinct, cache_dir, progress, capacity, block_bytes=None):
    stats = ReadStats()
    if cache_dir is None and capacity is None:
        capacity = _capacity_guess(path)
    stream = _Stream(cache_dir, capacity or 0)
    try:
        table = TokenTable(MAX_SENTENCE)
        pruned, threshold = _tokenise(path, table, stats, stream, progress, max_distinct, block_bytes)
        counts = table.counts()
        n_ids = table.next_id
        total_tokens = int(counts[1:n_ids].sum())
        if total_tokens == 0:
            raise W2VError(f"corpus {path} contains no words; give a non-empty text file")
        words, word_counts, prov_to_word, bad, distinct = _choose(table, counts, min_count, max_vocab)
        del table
        if not words:
            top = int(counts[1:].max())     # a lower bound if pruning happened
            raise W2VError(
                f"no word occurs at least {min_count} times (the most frequent occurs {top} times); "
                f"lower --min-count or use a larger corpus")
        vocab = Vocab(words=words, counts=word_counts, total_tokens=total_tokens, distinct=distinct,
                      pruned=pruned, prune_threshold=threshold, bad_utf8=bad)

        remap = np.full(n_ids, _DROP, dtype=np.uint32)
        remap[0] = EOS
        remap[prov_to_word[:, 0]] = prov_to_word[:, 1]
        ids = stream.remap(remap, vocab.train_words + int(counts[0]), cache_dir)
    finally:
        stream.close()
    return Encoded(vocab=vocab, ids=ids, stats=stats)


def _release_free_memory():
    """Hand the scan's freed heap back to the system before the weights are allocated
    (glibc keeps it otherwise, and it would count towards the run's peak memory)."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _choose(table, counts, min_count, max_vocab):
    """Pick and order the vocabulary from the scanner's table. Returns
    (words, counts, [[prov_id, word_id]], bad_utf8, distinct).

    Tokens that are not valid UTF-8 are decoded with U+FFFD replacements, so several of them
    (and a valid token) can become one word: their counts are merged before min_count applies.
    """
    ids, tokens, bad = table.items()
    unit_counts = counts[ids]
    rep = np.arange(len(ids))          # each token's unit: itself, or the first of its merged group
    merged = {}                        # unit -> word, for units formed by invalid tokens
    if bad.any():
        groups = {}
        for j in np.flatnonzero(bad).tolist():
            groups.setdefault(_decode(tokens[j]), []).append(j)
        for word, members in groups.items():
            valid = table.find(_utf8(word))
            if valid:
                members.append(int(np.searchsorted(ids, valid)))
            first = min(members)       # ids ascend: the first to appear
            rep[members] = first
            merged[first] = word
            total = unit_counts[members].sum()
            unit_counts[members] = 0
            unit_counts[first] = total
    units = np.flatnonzero((rep == np.arange(len(ids))) & (unit_counts >= min_count))
    # descending count; ties keep the order of first appearance (provisional ids increase)
    units = units[np.lexsort((ids[units], -unit_counts[units]))]
    if max_vocab:
        units = units[:max_vocab]
    words = [merged[u] if u in merged else _decode(tokens[u]) for u in units.tolist()]
    word_of = np.full(len(ids), -1, dtype=np.int64)
    word_of[units] = np.arange(len(units))
    wid = word_of[rep]
    keep = wid >= 0
    pairs = np.stack([ids[keep], wid[keep]], axis=1)
    n_bad = sum(1 for u in units.tolist() if u in merged)
    distinct = int((rep == np.arange(len(ids))).sum())
    return words, unit_counts[units], pairs, n_bad, distinct


def _decode(raw):
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", errors="replace")


def encode(path, vocab, cache_dir=None, progress=None, max_distinct=20_000_000, block_bytes=None):
    """Encode a corpus with an existing vocabulary (to resume or continue training). Tokens that
    are not in the vocabulary are dropped and counted (`Encoded.oov_tokens`).

    For the corpus the vocabulary was built from, the ids equal scan()'s, so training resumed
    on them repeats exactly. `Encoded.corpus_counts` are the per-word counts in this corpus.
    """
    stats = ReadStats()
    stream = _Stream(cache_dir, _capacity_guess(path) if cache_dir is None else 0)
    n_words = len(vocab)
    try:
        table = TokenTable(MAX_SENTENCE)
        # the vocabulary's words are ids 1..n_words, in order; other tokens get later ids
        table.seed([_utf8(w) for w in vocab.words])
        _tokenise(path, table, stats, stream, progress, max_distinct + n_words, block_bytes)
        counts = table.counts()
        ids, tokens, bad = table.items()
        n_ids = table.next_id
        del table
        remap = np.full(n_ids, _DROP, dtype=np.uint32)
        remap[0] = EOS
        remap[1:n_words + 1] = np.arange(n_words, dtype=np.uint32)
        index = None
        for j in np.flatnonzero(bad & (ids > n_words)).tolist():
            # invalid UTF-8, decoded with replacements, can be a vocabulary word
            if index is None:
                index = {w: k for k, w in enumerate(vocab.words)}
            k = index.get(_decode(tokens[j]))
            if k is not None:
                remap[ids[j]] = k
        known = remap[1:] != _DROP
        corpus_counts = np.bincount(remap[1:][known], weights=counts[1:][known],
                                    minlength=n_words).astype(np.int64)
        total = int(counts[1:].sum())
        if total == 0:
            raise W2VError(f"corpus {path} contains no words; give a non-empty text file")
        if corpus_counts.sum() == 0:
            raise W2VError(f"no word of corpus {path} is in the model's vocabulary ({n_words:,} words); "
                           f"train on text in the same language and tokenisation")
        out = stream.remap(remap, int(corpus_counts.sum()) + int(counts[0]), cache_dir)
    finally:
        stream.close()
    enc = Encoded(vocab=vocab, ids=out, stats=stats)
    enc.oov_tokens = total - int(corpus_counts.sum())
    enc.corpus_counts = corpus_counts
    return enc


def _utf8(word):
    """A vocabulary word's bytes as the scanner sees them (a word that cannot be encoded, or
    that holds whitespace, simply never matches)."""
    return word.encode("utf-8", errors="surrogatepass")
