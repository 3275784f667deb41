"""Vocabulary and encoding, in one pass over the text.

The compiled scanner (_scan.TokenTable) splits the text into tokens and gives every distinct
token a provisional id the first time it is seen, and the corpus is written once as a stream
of provisional ids (id 0 marks the end of a sentence), counted as they go. After the scan,
the vocabulary is chosen (min_count, max_vocab, sorted by descending count, ties in order of
first appearance), and the stream is remapped to final ids with one table lookup per token,
dropping out-of-vocabulary tokens. Epochs then read the
final id array; text is never tokenised again.

Memory stays bounded on corpora with huge numbers of distinct tokens: when the table of
distinct tokens exceeds `max_distinct` after a block of text, the rarest ones are pruned (as
word2vec.c's ReduceVocab does: tokens seen at most 1, then 2, 3, ... times; a pruned token that
appears again starts counting afresh, and its earlier occurrences are dropped), and that it
happened is reported. A prune raises the count threshold by one, or more if that is needed to
bring the table back to max_distinct tokens, and the survivors are renumbered. So the table
never holds more than max_distinct + block_bytes // 2 + 18 tokens (a block of B bytes completes
at most B // 2 + 1 tokens, two bytes each, and 17 pieces of a run without whitespace that earlier
blocks began), and its ids and per-id counts never exceed that bound + 1 (the sentence end),
however many distinct tokens the corpus has. The ids already
written are renumbered in one pass at the end of the scan (and every PRUNES_PER_PASS prunes),
from the one bit per id that each prune leaves.
The scan is deterministic: the same corpus, max_distinct and block size give the same
vocabulary and ids, which is how a run whose scan pruned is resumed (see train.Word2Vec.resume).

Every kind of corpus reaches the scanner through corpus.open_corpus: text blocks are fed to
TokenTable.feed, Python sentences to TokenTable.feed_sentences in batches of at most
block_bytes // 2 + 18 ids (so the table's bound above holds for them too); pruning, splitting
and the id stream are the same for both.
"""
import dataclasses
import os
import tempfile

import numpy as np

from . import _kernels
from ._scan import TokenTable
from ._scan import MIN_SENTENCE_OUT
from .corpus import BLOCK_BYTES, ReadStats, open_corpus, read_ahead
from .params import HS_TREES as TREES
from .params import MAX_SENTENCE
from ._io import describe_os_error
from .errors import EmptyVocabularyError, W2VError

EOS = np.uint32(_kernels.EOS)
_DROP = np.uint32(0xFFFFFFFE)
_PRUNED = np.uint32(0xFFFFFFFF)     # in the provisional stream: an occurrence of a token a prune forgot
PRUNES_PER_PASS = 64                # the stream is renumbered after this many prunes (bitmaps <= 8 bytes an id)


@dataclasses.dataclass
class Vocab:
    words: list               # index -> word, by descending count
    counts: np.ndarray        # int64, per word
    total_tokens: int = 0     # tokens in the corpus, in the vocabulary or not
    distinct: int = 0         # distinct tokens seen (a lower bound if pruning happened)
    pruned: int = 0           # times the scan pruned rare tokens to bound memory
    prune_threshold: int = 0  # the last pruning's count threshold
    bad_utf8: int = 0         # vocabulary words whose invalid UTF-8 bytes were replaced
    block_bytes: int = 0      # the scan's block size: with the corpus and max_distinct, it repeats the pruning

    def __len__(self):
        return len(self.words)

    @property
    def train_words(self):
        return int(self.counts.sum())

    def extend(self, words, counts):
        """Add the counts of another corpus (online vocabulary growth): a word already in the
        vocabulary has its count added to; new words are appended after the existing ones, in
        the order given, so no existing word changes its id. Returns the number of new words."""
        counts = np.asarray(counts, dtype=np.int64)
        if len(words) != len(counts) or (counts.size and counts.min() < 0):
            raise W2VError(f"{len(words)} words need as many non-negative counts, got {counts.size}")
        index = {w: i for i, w in enumerate(self.words)}
        at = np.array([index.get(w, -1) for w in words], dtype=np.int64)
        known = at >= 0
        new = [w for w, k in zip(words, known.tolist()) if not k]
        if len(set(new)) != len(new):
            raise W2VError("the words to add must be distinct")
        merged = self.counts.astype(np.int64)         # a new array: vectors holding the old one keep it
        np.add.at(merged, at[known], counts[known])
        self.counts = np.concatenate([merged, counts[~known]])
        self.words = self.words + new
        return len(new)



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
    """The Huffman tree of hierarchical softmax over the vocabulary's counts, stored flat: word w's
    path from the root is entries code_start[w] .. code_start[w + 1] - 1 of `path` (uint32), each
    the inner node there (its syn1 row; the root is row 0 and rows go by descending count) shifted
    left by one bit, or'ed with the branch taken (its code bit, 0 or 1). The same counts always
    give the same tree.

    Every Huffman tree gives the words codes of the least total length; they differ in how words of
    equal count are paired. kind (see TREES):
      "gensim"    gensim's tree: a heap over the words by descending count (ties in the reverse of
                  word order, as gensim's vocabulary sorts them), whose items compare by count
                  alone, built with heapq's operations (compiled, O(V log V)). The same codes and
                  inner nodes as gensim's hs=1 (its point p is row V - 2 - p here).
      "word2vec"  word2vec.c's CreateBinaryTree (two pointers, O(V)): ties in word order.

    Counts in any order are taken (a vocabulary read from a file keeps the file's order; one grown
    online appends its new words): the tree is built over the words sorted by descending count,
    and each word keeps its own path."""

    def __init__(self, counts, kind="gensim"):
        if kind not in TREES:
            raise ValueError(f"the Huffman tree is one of {', '.join(TREES)}, not {kind!r}")
        counts = np.ascontiguousarray(counts, dtype=np.int64)
        self.kind = kind
        if kind == "gensim":      # the heap's order is gensim's vocabulary's: ties in reverse
            order = np.lexsort((-np.arange(len(counts)), -counts))
            self.path_entries, self.code_start = _kernels.build_huffman_heap(counts, order)
            return
        if len(counts) <= 1 or not np.any(counts[1:] > counts[:-1]):
            self.path_entries, self.code_start = _kernels.build_huffman(counts)     # already by count
            return
        order = np.argsort(-counts, kind="stable")
        path, start = _kernels.build_huffman(np.ascontiguousarray(counts[order]))
        lengths = np.empty(len(counts), dtype=np.int64)
        lengths[order] = np.diff(start)
        code_start = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=code_start[1:])
        source = np.empty(len(counts), dtype=np.int64)
        source[order] = start[:-1]        # where each word's path starts in the sorted build
        gather = np.repeat(source - code_start[:-1], lengths) + np.arange(code_start[-1], dtype=np.int64)
        self.path_entries, self.code_start = path[gather], code_start

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
    first_seen: np.ndarray = None       # scan(first_seen=True): the word ids in the order they first occur
    oov_tokens: int = 0                 # encode(): tokens dropped because they are not in the vocabulary
    corpus_counts: np.ndarray = None    # encode(): per-word counts in this corpus
    fingerprint: dict = None            # of the corpus read (see corpus.fingerprint_mismatch)

    @property
    def train_words(self):
        """In-vocabulary words of this corpus: what one epoch trains on."""
        if self.corpus_counts is not None:
            return int(self.corpus_counts.sum())
        return self.vocab.train_words


@dataclasses.dataclass
class Spill:
    """Where the encoded corpus goes if it outgrows the memory left for it: the scan keeps the ids
    in memory up to `budget` bytes, then moves them to a memory-mapped file in `directory` (removed
    once nothing uses it: it is unlinked as soon as it is mapped). `at` is set to the number of ids
    held when that happened."""
    directory: str
    budget: int
    at: int = None


class _Stream:
    """Where the provisional id stream goes: one growable array in memory (remapped in place
    at the end, so the old and new streams never both exist), or a temporary file for corpora
    larger than RAM.

    Each prune of the table renumbers its ids (see _scan.TokenTable.prune); the ids written
    before it are renumbered later, in one pass over the stream (at the end, or every
    PRUNES_PER_PASS prunes), from the survivor bitmaps the prunes returned."""

    def __init__(self, cache_dir, capacity=1 << 20, spill=None):
        self.n = 0
        self.file = None
        self.buf = None
        self.dir = cache_dir
        self.spill = spill
        self.prunes = []        # (stream length at the prune, survivor bitmap), oldest first
        if cache_dir is not None:
            self.file = self._new_file(cache_dir)
        else:
            if spill is not None:
                capacity = min(int(capacity), max(spill.budget // 4, 1 << 16))
            # Pages that are never written cost nothing, so a generous guess is cheap; a wrong
            # one costs a copy.
            self.buf = np.empty(max(int(capacity), 1 << 16), dtype=np.uint32)

    def _new_file(self, directory):
        try:
            return tempfile.NamedTemporaryFile(prefix="w2v-scan-", suffix=".u32", dir=directory)
        except OSError as exc:
            raise W2VError(describe_os_error(exc, directory)) from None

    def _move_to_file(self):
        """The ids outgrew the spill budget: from now on they go to a file in its directory."""
        self.file = self._new_file(self.spill.directory)
        self.dir = self.spill.directory
        self.spill.at = self.n
        try:
            self.file.write(self.buf[:self.n].tobytes())
        except OSError as exc:
            raise W2VError(describe_os_error(exc, self.file.name)) from None
        self.buf = None

    def add(self, arr):
        if self.file is None and self.spill is not None and 4 * (self.n + len(arr)) > self.spill.budget:
            self._move_to_file()
        if self.file is not None:
            try:
                self.file.write(arr.tobytes())
            except OSError as exc:
                raise W2VError(describe_os_error(exc, self.file.name)) from None
        else:
            if self.n + len(arr) > len(self.buf):
                # realloc: a large buffer grows in place (mremap), without a second copy at the peak
                self.buf.resize(max(int(len(self.buf) * 1.5), self.n + len(arr)), refcheck=False)
            self.buf[self.n:self.n + len(arr)] = arr
        self.n += len(arr)

    def pruned(self, survivors):
        """The table was pruned (survivors: TokenTable.prune's bitmap): the ids written so far
        are in the numbering before it."""
        self.prunes.append((self.n, survivors))
        if len(self.prunes) >= PRUNES_PER_PASS:
            self.renumber()

    def renumber(self, size=1 << 20):
        """Rewrite the ids written before the prunes into the table's present numbering, the last
        stretch first (each stretch's map is the next one's composed with its own prune's);
        occurrences of tokens a prune forgot become _PRUNED."""
        if not self.prunes:
            return
        view = self._writable()
        to_now = None           # provisional id in the current stretch's numbering -> today's (or _PRUNED)
        for k in range(len(self.prunes) - 1, -1, -1):
            end, survivors = self.prunes[k]
            start = self.prunes[k - 1][0] if k else 0
            bits = np.unpackbits(survivors, bitorder="little")
            step = np.cumsum(bits, dtype=np.uint32)
            step -= 1
            step[bits == 0] = _PRUNED
            del bits
            # _PRUNED (and ids past the end) clip to the appended last entry, _PRUNED
            to_now = step if to_now is None else np.take(np.append(to_now, _PRUNED), step, mode="clip")
            del step
            table = np.append(to_now, _PRUNED)
            for i in range(start, end, size):
                j = min(i + size, end)
                view[i:j] = np.take(table, view[i:j], mode="clip")
        del view
        self.prunes = []

    def _writable(self):
        if self.file is None:
            return self.buf
        try:
            self.file.flush()
        except OSError as exc:
            raise W2VError(describe_os_error(exc, self.file.name)) from None
        return np.memmap(self.file.name, dtype=np.uint32, mode="r+", shape=(self.n,))

    def remap(self, table, n_out, size=1 << 20):
        """The final id stream: table[id] for every id, without the ids mapped to _DROP
        (table None: the ids as they are)."""
        self.renumber()
        if table is not None:
            table = np.append(table, _DROP)     # _PRUNED clips to it
        if self.file is None:
            out = self.buf          # in place: the write position never passes the read position
        else:
            out = _mapped_ids(self.dir, max(n_out, 1))
        pos = 0
        for chunk in self._chunks(size):
            if table is not None:
                chunk = np.take(table, chunk, mode="clip")
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


def _mapped_ids(directory, n):
    """A writable uint32 array of n ids in a memory-mapped file in `directory`. The file's space is
    reserved first (a full disk is then an error here, not a crash when a page is written later),
    and the file is unlinked at once: the mapping keeps it alive, nothing is left behind."""
    name = None
    try:
        fd, name = tempfile.mkstemp(prefix="w2v-ids-", suffix=".u32", dir=directory)
        try:
            if hasattr(os, "posix_fallocate"):
                os.posix_fallocate(fd, 0, 4 * n)
            else:
                os.ftruncate(fd, 4 * n)
        finally:
            os.close(fd)
        out = np.memmap(name, dtype=np.uint32, mode="r+", shape=(n,))
    except OSError as exc:
        raise W2VError(describe_os_error(exc, name or directory)) from None
    finally:
        if name is not None:
            try:
                os.unlink(name)
            except OSError:
                pass
    return out


def _capacity_guess(source):
    """Tokens plus sentence ends to reserve room for, from the corpus's size (if known)."""
    est = source.estimate()
    if est is None:
        return 1 << 20
    return int(est.tokens * 1.3) + (1 << 16)


def scan(corpus, min_count=5, max_vocab=0, max_distinct=20_000_000, cache_dir=None, progress=None,
         capacity=None, block_bytes=None, select=None, transform=None, spill=None, first_seen=False):
    """Count and encode a corpus in one pass. Returns Encoded.

    corpus: anything corpus.open_corpus takes (a path, a file object, an iterable of sentences)
    or a source it returned. An iterable is read once.
    cache_dir: write the id streams to files there (memory-mapped) instead of memory, for
    corpora larger than RAM. spill: a Spill, to move the ids to such a file only if they grow
    past its budget. progress: optional callable(bytes_read) called now and then.
    capacity: expected tokens plus sentence ends, if already estimated (sizes the id buffer).
    max_distinct: prune the rarest tokens when more distinct ones than this are held (see the
    module's docstring for the bound on the scanner's memory).
    block_bytes: read the text in blocks of this size (default corpus.BLOCK_BYTES).
    select: optional callable(words, counts) -> booleans, which of the distinct words (a list, and
    their counts as an int64 array) enter the vocabulary, in place of the test count >= min_count
    (max_vocab still applies after it). It sees every distinct word, so it costs a Python string
    per distinct word; gensim's trim_rule and max_final_vocab are written with it (w2v.compat).
    transform: optional callable from a text corpus's blocks to the blocks to count instead
    (e.g. phrases.Phrases.joined_blocks, which joins phrases into the text).
    first_seen: also give the vocabulary's word ids in the order the words first occur in the corpus
    (Encoded.first_seen), from the scanner's numbering, without a pass over the ids.
    """
    encoded = _scan(open_corpus(corpus), min_count, max_vocab, max_distinct, cache_dir, progress, capacity,
                    block_bytes, select, transform, spill, first_seen)
    _release_free_memory()     # after _scan's tables and token objects are gone
    return encoded


def _pieces(source, table, stats, progress, block_bytes, transform=None):
    """Feed the whole corpus to the scanner; yield after each piece the ids it wrote (a view of a
    buffer that the next piece reuses). transform: see scan()."""
    out = None
    if source.kind == "sentences":
        if transform is not None:
            raise W2VError("phrases are joined into text corpora (files, directories, streams); for Python "
                           "sentences, join them first: (phrase_model.apply(s) for s in sentences)")
        stats.block_bytes = block_bytes or BLOCK_BYTES
        out = np.empty(max(MIN_SENTENCE_OUT, stats.block_bytes // 2 + 18), dtype=np.uint32)
        it = source.sentences()
        ended = False
        while not ended:
            n, ended = table.feed_sentences(it, out)
            stats.bytes_read, stats.sentences_read = table.bytes_read, table.sentences_read
            if progress is not None:
                progress(stats.bytes_read)
            yield out[:n]
        return
    blocks = source.blocks(stats, block_bytes)
    if transform is not None:
        blocks = transform(blocks)
    for block in read_ahead(blocks):
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
        yield out[:n]


def _tokenise(source, table, stats, stream, progress, max_distinct, block_bytes=None, transform=None):
    """Feed the corpus to the scanner, its ids to the stream, pruning the table after any piece
    (a block of text, a batch of sentences) that leaves it too big. Returns (times pruned, the last
    pruning threshold)."""
    pruned = threshold = 0
    for ids in _pieces(source, table, stats, progress, block_bytes, transform):
        stream.add(ids)
        if len(table) > max_distinct:
            # word2vec.c's ReduceVocab raises its threshold by one, and again with each new word
            # while the table is still too big; here, after a piece, it rises at once to the
            # smallest value that brings the table back to max_distinct
            threshold = table.prune_threshold(max_distinct, threshold + 1)
            pruned += 1
            stream.pruned(table.prune(threshold))
    stats.lines, stats.split_lines, stats.cut_tokens = table.lines, table.split_lines, table.cut_tokens
    stats.peak_ids, stats.id_capacity = table.peak_ids, table.counts_capacity
    return pruned, threshold


def _scan(source, min_count, max_vocab, max_distinct, cache_dir, progress, capacity, block_bytes=None, select=None,
          transform=None, spill=None, first_seen=False):
    stats = ReadStats()
    if cache_dir is None and capacity is None:
        capacity = _capacity_guess(source)
    stream = _Stream(cache_dir, capacity or 0, spill)
    try:
        table = TokenTable(MAX_SENTENCE)
        pruned, threshold = _tokenise(source, table, stats, stream, progress, max_distinct, block_bytes, transform)
        counts = table.counts()
        n_ids = table.next_id
        total_tokens = stream.n - int(counts[0])     # not counts[1:].sum(): pruned tokens' counts are gone
        if total_tokens == 0:
            raise EmptyVocabularyError(source.empty_message())
        fingerprint = source.fingerprint(table.digest)
        words, word_counts, prov_to_word, bad, distinct = _choose(table, counts, min_count, max_vocab, select)
        del table
        if not words:
            if pruned:      # the counts are those since each token's last prune; the last may have left none
                raise EmptyVocabularyError(
                    f"no word occurs at least {min_count} times since the scan last pruned rare tokens "
                    f"(it pruned {pruned} times to hold at most {max_distinct:,}); raise --prune-limit or "
                    f"lower --min-count")
            raise EmptyVocabularyError(
                f"no word occurs at least {min_count} times (the most frequent occurs {int(counts[1:].max())} "
                f"times); lower --min-count or use a larger corpus")
        vocab = Vocab(words=words, counts=word_counts, total_tokens=total_tokens, distinct=distinct,
                      pruned=pruned, prune_threshold=threshold, bad_utf8=bad, block_bytes=stats.block_bytes)

        remap = np.full(n_ids, _DROP, dtype=np.uint32)
        remap[0] = EOS
        remap[prov_to_word[:, 0]] = prov_to_word[:, 1]
        ids = stream.remap(remap, vocab.train_words + int(counts[0]))
    finally:
        stream.close()
    order = _first_seen(prov_to_word) if first_seen else None
    return Encoded(vocab=vocab, ids=ids, stats=stats, fingerprint=fingerprint, first_seen=order)


def _first_seen(prov_to_word):
    """Word ids in the order the words first occur: the scanner numbers tokens as they first appear,
    and a word's first occurrence is that of its first token (several invalid-UTF-8 tokens can be one
    word)."""
    by_token = prov_to_word[np.argsort(prov_to_word[:, 0], kind="stable"), 1]
    _, first = np.unique(by_token, return_index=True)
    return by_token[np.sort(first)].astype(np.int64)


def _release_free_memory():
    """Hand the scan's freed heap back to the system before the weights are allocated
    (glibc keeps it otherwise, and it would count towards the run's peak memory)."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _choose(table, counts, min_count, max_vocab, select=None):
    """Pick and order the vocabulary from the scanner's table (see scan() for `select`). Returns
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
    if select is None:
        units = np.flatnonzero((rep == np.arange(len(ids))) & (unit_counts >= min_count))
    else:
        units = np.flatnonzero(rep == np.arange(len(ids)))
        chosen = np.asarray(select([merged[u] if u in merged else _decode(tokens[u]) for u in units.tolist()],
                                   unit_counts[units].astype(np.int64)), dtype=bool)
        if chosen.shape != units.shape:
            raise W2VError(f"the vocabulary selection gave {chosen.size} answers for {units.size} distinct words")
        units = units[chosen]
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


def encode(corpus, vocab, cache_dir=None, progress=None, max_distinct=20_000_000, block_bytes=None,
           transform=None, spill=None):
    """Encode a corpus (anything scan() takes) with an existing vocabulary (to resume or continue
    training). Tokens that are not in the vocabulary are dropped and counted (`Encoded.oov_tokens`).

    For the corpus the vocabulary was built from, the ids equal scan()'s, so training resumed
    on them repeats exactly. `Encoded.corpus_counts` are the per-word counts in this corpus.
    transform, spill: as for scan().
    """
    source = open_corpus(corpus)
    stats = ReadStats()
    stream = _Stream(cache_dir, _capacity_guess(source) if cache_dir is None else 0, spill)
    n_words = len(vocab)
    try:
        table = TokenTable(MAX_SENTENCE)
        # the vocabulary's words are ids 1..n_words, in order; other tokens get later ids
        table.seed([_utf8(w) for w in vocab.words])
        _tokenise(source, table, stats, stream, progress, max_distinct + n_words, block_bytes, transform)
        counts = table.counts()
        fingerprint = source.fingerprint(table.digest)
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
        total = stream.n - int(counts[0])
        if total == 0:
            raise EmptyVocabularyError(source.empty_message())
        if corpus_counts.sum() == 0:
            raise W2VError(f"no word of corpus {source.name} is in the model's vocabulary ({n_words:,} words); "
                           f"train on text in the same language and tokenisation")
        out = stream.remap(remap, int(corpus_counts.sum()) + int(counts[0]))
    finally:
        stream.close()
    enc = Encoded(vocab=vocab, ids=out, stats=stats, fingerprint=fingerprint)
    enc.oov_tokens = total - int(corpus_counts.sum())
    enc.corpus_counts = corpus_counts
    return enc


def _utf8(word):
    """A vocabulary word's bytes as the scanner sees them (a word that cannot be encoded, or
    that holds whitespace, simply never matches)."""
    return word.encode("utf-8", errors="surrogatepass")


# ---------------------------------------------------------------------------------------
# vocabulary files (word2vec.c's -save-vocab / -read-vocab format)
# ---------------------------------------------------------------------------------------

SENTENCE_END = "</s>"      # word2vec.c's entry 0: the sentence end, counted once per sentence


def save_vocab(vocab, path, sentence_ends=0):
    """Write the vocabulary as word2vec.c's -save-vocab does: `word count` per line, most frequent
    first, after a first line `</s> N` (N sentence ends; word2vec.c's reader expects it first).
    Written atomically."""
    from ._io import atomic_write
    lines = [f"{SENTENCE_END} {int(sentence_ends)}\n"]
    lines.extend(f"{w} {int(c)}\n" for w, c in zip(vocab.words, vocab.counts.tolist()))
    with atomic_write(path) as fh:
        fh.write("".join(lines).encode("utf-8", errors="surrogatepass"))


def read_vocab(path, min_count=1, max_vocab=0):
    """A vocabulary from a file of `word count` lines (word2vec.c's format; a `</s>` line is its
    sentence-end entry and is skipped). The file's order is kept; words seen fewer than
    min_count times are left out, and with max_vocab only the first max_vocab words are kept.
    A line that does not parse, or a word given twice, is a W2VError naming the line."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise W2VError(describe_os_error(exc, path, "read the vocabulary file")) from None
    words, counts, seen = [], [], {}
    for number, raw in enumerate(data.split(b"\n"), 1):
        fields = raw.split()
        if not fields:
            continue
        if len(fields) != 2 or not fields[1].isdigit():
            shown = raw.decode("utf-8", errors="replace").strip()[:60]
            raise W2VError(f"{path}, line {number}: expected `word count` (a word and a whole number), "
                           f"got {shown!r}; give a vocabulary file as written by --save-vocab")
        word = fields[0].decode("utf-8", errors="replace")
        if word == SENTENCE_END:
            continue
        if word in seen:
            raise W2VError(f"{path}, line {number}: the word {word!r} was already given on line {seen[word]}; "
                           f"each word must appear once")
        seen[word] = number
        count = int(fields[1])
        if count >= min_count:
            words.append(word)
            counts.append(count)
    if max_vocab:
        words, counts = words[:max_vocab], counts[:max_vocab]
    if not words:
        raise W2VError(f"{path} holds no word seen at least {min_count} times; lower --min-count or give "
                       f"another vocabulary file")
    counts = np.array(counts, dtype=np.int64)
    return Vocab(words=words, counts=counts, total_tokens=int(counts.sum()), distinct=len(words))
