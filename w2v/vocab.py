"""Vocabulary and encoding, in one pass over the text.

Every distinct token gets a provisional id the first time it is seen, and the corpus is
written once as a stream of provisional ids (id 0 marks the end of a sentence). Counts come
from that stream. After the scan, the vocabulary is chosen (min_count, max_vocab, sorted by
descending count, ties in order of first appearance), and the stream is remapped to final
ids with one table lookup per token, dropping out-of-vocabulary tokens. Epochs then read the
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
from .corpus import ReadStats, estimate_size, iter_sentences
from ._io import describe_os_error
from .errors import W2VError

EOS = np.uint32(_kernels.EOS)
_DROP = np.uint32(0xFFFFFFFE)
_FLUSH = 1 << 20


class _Ids(dict):
    """token -> provisional id; an unseen token gets the next id."""

    def __init__(self):
        super().__init__()
        self.next_id = 1       # id 0 is the end-of-sentence mark

    def __missing__(self, token):
        i = self[token] = self.next_id
        self.next_id += 1
        return i


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
         capacity=None):
    """Count and encode a corpus in one pass. Returns Encoded.

    cache_dir: write the id streams to files there (memory-mapped) instead of memory, for
    corpora larger than RAM. progress: optional callable(bytes_read) called now and then.
    capacity: expected tokens plus sentence ends, if already estimated (sizes the id buffer).
    """
    encoded = _scan(path, min_count, max_vocab, max_distinct, cache_dir, progress, capacity)
    _release_free_memory()     # after _scan's tables and token objects are gone
    return encoded


def _scan(path, min_count, max_vocab, max_distinct, cache_dir, progress, capacity):
    stats = ReadStats()
    table = _Ids()
    getitem = table.__getitem__
    counts = np.zeros(1 << 16, dtype=np.int64)
    if cache_dir is None and capacity is None:
        capacity = _capacity_guess(path)
    stream = _Stream(cache_dir, capacity or 0)
    buf = []
    pruned = 0
    threshold = 0

    def flush():
        nonlocal counts
        if not buf:
            return
        arr = np.array(buf, dtype=np.uint32)
        buf.clear()
        n_ids = table.next_id
        if len(counts) < n_ids:
            grown = np.zeros(max(n_ids, 2 * len(counts)), dtype=np.int64)
            grown[:len(counts)] = counts
            counts = grown
        counts[:n_ids] += np.bincount(arr, minlength=n_ids)
        stream.add(arr)

    try:
        for tokens in iter_sentences(path, stats):
            buf.extend(map(getitem, tokens))
            buf.append(0)
            if len(buf) >= _FLUSH:
                flush()
                if progress is not None:
                    progress(stats.bytes_read)
                if len(table) > max_distinct:
                    threshold += 1
                    pruned += 1
                    _prune(table, counts, threshold)
        flush()

        live_ids = np.fromiter(table.values(), dtype=np.int64, count=len(table))
        live_tokens = list(table.keys())
        n_ids = table.next_id
        del table
        live_counts = counts[live_ids]
        total_tokens = int(counts[1:n_ids].sum())
        if total_tokens == 0:
            raise W2VError(f"corpus {path} contains no words; give a non-empty text file")

        words, word_counts, prov_to_word, bad = _choose(live_tokens, live_ids, live_counts, min_count, max_vocab)
        if not words:
            top = int(live_counts.max()) if len(live_counts) else 0
            raise W2VError(
                f"no word occurs at least {min_count} times (the most frequent occurs {top} times); "
                f"lower --min-count or use a larger corpus")
        vocab = Vocab(words=words, counts=word_counts, total_tokens=total_tokens, distinct=len(live_tokens),
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


def _prune(table, counts, threshold):
    """Forget tokens seen at most `threshold` times (their earlier occurrences are dropped)."""
    doomed = [tok for tok, i in table.items() if counts[i] <= threshold]
    for tok in doomed:
        del table[tok]


def _choose(tokens, ids, counts, min_count, max_vocab):
    """Pick and order the vocabulary. Returns (words, counts, [[prov_id, word_id]], bad_utf8)."""
    keep = np.flatnonzero(counts >= min_count)
    # descending count; ties keep the order of first appearance (provisional ids increase)
    order = keep[np.lexsort((ids[keep], -counts[keep]))]
    words = []
    index = {}
    word_counts = []
    pairs = []
    bad = 0
    for j in order:
        raw = tokens[j]
        try:
            word = raw.decode("utf-8")
        except UnicodeDecodeError:
            word = raw.decode("utf-8", errors="replace")
            bad += 1
        k = index.get(word)
        if k is None:            # two byte strings can decode to the same replaced word: merge
            if max_vocab and len(words) >= max_vocab:
                continue
            k = index[word] = len(words)
            words.append(word)
            word_counts.append(0)
        word_counts[k] += int(counts[j])
        pairs.append((int(ids[j]), k))
    word_counts = np.array(word_counts, dtype=np.int64)
    if len(words) > 1 and np.any(np.diff(word_counts) > 0):   # merges can break the order
        perm = np.argsort(-word_counts, kind="stable")
        words = [words[i] for i in perm]
        word_counts = word_counts[perm]
        inverse = np.empty_like(perm)
        inverse[perm] = np.arange(len(perm))
        pairs = [(p, int(inverse[k])) for p, k in pairs]
    pairs = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return words, word_counts, pairs, bad


class _Lookup(dict):
    """raw token bytes -> final id of an existing vocabulary, or _DROP for unknown tokens."""

    def __init__(self, words):
        super().__init__()
        self.index = {w: i for i, w in enumerate(words)}

    def __missing__(self, token):
        try:
            word = token.decode("utf-8")
        except UnicodeDecodeError:
            word = token.decode("utf-8", errors="replace")
        i = self[token] = np.uint32(self.index.get(word, _DROP))
        return i


def encode(path, vocab, cache_dir=None, progress=None):
    """Encode a corpus with an existing vocabulary (to resume or continue training). Tokens that
    are not in the vocabulary are dropped and counted (`Encoded.oov_tokens`).

    For the corpus the vocabulary was built from, the ids equal scan()'s, so training resumed
    on them repeats exactly. `Encoded.corpus_counts` are the per-word counts in this corpus.
    """
    stats = ReadStats()
    lookup = _Lookup(vocab.words)
    getitem = lookup.__getitem__
    stream = _Stream(cache_dir, _capacity_guess(path) if cache_dir is None else 0)
    counts = np.zeros(len(vocab) + 1, dtype=np.int64)
    buf = []
    oov = 0
    sentinel = np.uint32(len(vocab))     # stands for EOS while counting

    def flush():
        nonlocal oov
        if not buf:
            return
        arr = np.array(buf, dtype=np.uint32)
        buf.clear()
        known = arr[arr != _DROP]
        oov += len(arr) - len(known)
        counts[:] += np.bincount(known, minlength=len(counts))
        known[known == sentinel] = EOS
        stream.add(known)

    try:
        for tokens in iter_sentences(path, stats):
            buf.extend(map(getitem, tokens))
            buf.append(sentinel)
            if len(buf) >= _FLUSH:
                flush()
                if progress is not None:
                    progress(stats.bytes_read)
        flush()
        corpus_counts = counts[:len(vocab)].copy()
        if corpus_counts.sum() + oov == 0:
            raise W2VError(f"corpus {path} contains no words; give a non-empty text file")
        if corpus_counts.sum() == 0:
            raise W2VError(f"no word of corpus {path} is in the model's vocabulary ({len(vocab):,} words); "
                           f"train on text in the same language and tokenisation")
        ids = stream.remap(None, stream.n, cache_dir)
    finally:
        stream.close()
    enc = Encoded(vocab=vocab, ids=ids, stats=stats)
    enc.oov_tokens = oov
    enc.corpus_counts = corpus_counts
    return enc
