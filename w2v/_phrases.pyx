# cython: language_level=3
"""Phrase counting and joining in compiled code; w2v/phrases.py is the front-end.

BigramCounter counts the adjacent pairs of the id stream that the scanner (_scan.TokenTable)
writes (id 0 ends a sentence, so no pair spans two sentences), in an open-addressing table keyed
by (first id << 32 | second id). Fed block by block, it carries the last id of one block over to
the next. prune() forgets the rare pairs (as word2phrase's ReduceVocab does); score() applies
word2phrase's or gensim's normalised-PMI score to every pair and returns those above a threshold.

Joiner rewrites text, block by block, joining the pairs of a phrase table with "_" from left to
right, as word2phrase does: when a token and the next one form a phrase, the whitespace between
them becomes "_" and the token after them starts a new candidate pair. Everything else is copied
byte for byte (blank lines, spacing, CR). Tokens are split exactly where the scanner splits them
(the same whitespace bytes), and a file that does not end with a newline gets one, so that the
files of a directory can follow one another in one output. The bytes of the corpus are never held
beyond one token and the whitespace after it.
"""
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from libc.stdlib cimport malloc, calloc, realloc, free
from libc.string cimport memcpy, memcmp, memset
from libc.math cimport log

import numpy as np

cdef extern from *:
    void __builtin_prefetch(const void *p) noexcept nogil

cdef enum:
    AHEAD = 8               # pairs hashed and prefetched ahead of counting
    CLS_TOKEN = 0
    CLS_SPACE = 1
    CLS_NEWLINE = 2
    C_MAX_GAP = 1 << 20     # a held run of whitespace longer than this is kept as one space

# the scanner's whitespace (_scan.pyx): space, tab, CR, VT, FF and NUL; newline ends a line
cdef uint8_t CLASS[256]
memset(CLASS, CLS_TOKEN, 256)
for _b in (32, 9, 13, 11, 12, 0):
    CLASS[_b] = CLS_SPACE
CLASS[10] = CLS_NEWLINE

cdef enum:
    C_SCORE_WORD2PHRASE = 0
    C_SCORE_NPMI = 1

SCORE_WORD2PHRASE = C_SCORE_WORD2PHRASE
SCORE_NPMI = C_SCORE_NPMI


cdef inline uint64_t _mix(uint64_t h) noexcept nogil:
    h ^= h >> 31
    h *= 0x7fb5d329728ea185ULL
    h ^= h >> 27
    h *= 0x81dadef4bc2dd44dULL
    h ^= h >> 33
    return h


cdef inline uint64_t _hash_bytes(const uint8_t *p, uint64_t n) noexcept nogil:
    cdef uint64_t h = 0x9E3779B97F4A7C15ULL ^ (n * 0xff51afd7ed558ccdULL)
    cdef uint64_t w
    while n >= 8:
        memcpy(&w, p, 8)
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL
        h ^= h >> 29
        p += 8
        n -= 8
    if n:
        w = 0
        memcpy(&w, p, n)
        h = (h ^ w) * 0x94d049bb133111ebULL
    return _mix(h)


cdef int _reserve(uint8_t **buf, uint64_t *cap, uint64_t need) except -1 nogil:
    """Grow a malloc'd byte buffer, doubling, to hold at least `need` bytes."""
    cdef uint64_t c = cap[0]
    cdef uint8_t *grown
    if need <= c:
        return 0
    while c < need:
        c *= 2
    grown = <uint8_t *>realloc(buf[0], c)
    if grown == NULL:
        with gil:
            raise MemoryError()
    buf[0] = grown
    cap[0] = c
    return 0


# ---------------------------------------------------------------------------------------------
# counting
# ---------------------------------------------------------------------------------------------

cdef struct Pair:
    uint64_t key        # first id << 32 | second id; 0: empty (ids start at 1)
    int64_t count


cdef class BigramCounter:
    cdef Pair *slots
    cdef uint64_t mask
    cdef uint64_t live
    cdef uint32_t prev            # the last id of the stream so far (0: a sentence just ended)
    cdef public int64_t pairs     # pairs counted (occurrences)

    def __cinit__(self, Py_ssize_t capacity=1 << 16):
        cdef uint64_t n = 1024
        while n < 2 * <uint64_t>capacity:
            n <<= 1
        self.slots = <Pair *>calloc(n, sizeof(Pair))
        if self.slots == NULL:
            raise MemoryError()
        self.mask = n - 1

    def __dealloc__(self):
        free(self.slots)

    def __len__(self):
        return self.live

    @property
    def last(self):
        """The last id counted (the first of the next pair), 0 after a sentence end."""
        return self.prev

    @last.setter
    def last(self, uint32_t value):
        self.prev = value

    @property
    def nbytes(self):
        return (self.mask + 1) * sizeof(Pair)

    cdef int _grow(self) except -1 nogil:
        cdef uint64_t n = (self.mask + 1) * 2
        cdef Pair *new = <Pair *>calloc(n, sizeof(Pair))
        cdef uint64_t i, j
        if new == NULL:
            with gil:
                raise MemoryError()
        for i in range(self.mask + 1):
            if self.slots[i].key:
                j = _mix(self.slots[i].key) & (n - 1)
                while new[j].key:
                    j = (j + 1) & (n - 1)
                new[j] = self.slots[i]
        free(self.slots)
        self.slots = new
        self.mask = n - 1
        return 0

    cdef inline int _add(self, uint64_t key, uint64_t h) except -1 nogil:
        cdef uint64_t j = h & self.mask
        while True:
            if self.slots[j].key == key:
                self.slots[j].count += 1
                return 0
            if self.slots[j].key == 0:
                break
            j = (j + 1) & self.mask
        self.slots[j].key = key
        self.slots[j].count = 1
        self.live += 1
        if 10 * self.live > 7 * (self.mask + 1):     # at most 70 % full
            self._grow()
        return 0

    def count(self, const uint32_t[::1] ids):
        """Count the pairs of the next part of the stream (sentence ends are 0)."""
        cdef Py_ssize_t n = ids.shape[0]
        if n == 0:
            return
        with nogil:
            self._count(&ids[0], n)

    cdef int _count(self, const uint32_t *ids, Py_ssize_t n) except -1 nogil:
        # Keys are hashed a few pairs ahead and their slots prefetched, so that the cache
        # misses of consecutive pairs overlap instead of following one another.
        cdef uint64_t keys[AHEAD]
        cdef uint64_t hashes[AHEAD]
        cdef Py_ssize_t i, k
        cdef uint32_t prev = self.prev, cur
        cdef uint64_t key, h
        cdef int head = 0, queued = 0
        for i in range(n):
            cur = ids[i]
            if cur != 0 and prev != 0:
                key = (<uint64_t>prev << 32) | cur
                h = _mix(key)
                __builtin_prefetch(&self.slots[h & self.mask])
                if queued == AHEAD:
                    self._add(keys[head], hashes[head])
                    self.pairs += 1
                    head = (head + 1) % AHEAD
                    queued -= 1
                k = (head + queued) % AHEAD
                keys[k] = key
                hashes[k] = h
                queued += 1
            prev = cur
        while queued:
            self._add(keys[head], hashes[head])
            self.pairs += 1
            head = (head + 1) % AHEAD
            queued -= 1
        self.prev = prev
        return 0

    def prune(self, int64_t threshold, const uint32_t[::1] new_ids=None):
        """Forget the pairs seen at most `threshold` times (word2phrase's ReduceVocab). new_ids:
        the words' renumbering by the same prune (TokenTable.prune renumbers the survivors; old id
        i becomes new_ids[i], 0 for a word forgotten): pairs are re-keyed, and a pair with a
        forgotten word is forgotten too, so no pair outlives its words' ids."""
        cdef Pair *new = <Pair *>calloc(self.mask + 1, sizeof(Pair))
        cdef uint64_t i, j, key, a, b, n_ids = 0
        cdef bint renumber = new_ids is not None
        if new == NULL:
            raise MemoryError()
        if renumber:
            n_ids = new_ids.shape[0]
        self.live = 0
        for i in range(self.mask + 1):
            key = self.slots[i].key
            if key == 0 or self.slots[i].count <= threshold:
                continue
            if renumber:
                a, b = key >> 32, key & 0xFFFFFFFFu
                if a >= n_ids or b >= n_ids or new_ids[a] == 0 or new_ids[b] == 0:
                    continue
                key = (<uint64_t>new_ids[a] << 32) | new_ids[b]
            j = _mix(key) & self.mask
            while new[j].key:
                j = (j + 1) & self.mask
            new[j].key = key
            new[j].count = self.slots[i].count
            self.live += 1
        free(self.slots)
        self.slots = new
        if renumber:
            self.prev = new_ids[self.prev] if self.prev < n_ids else 0

    def items(self):
        """(first ids, second ids, counts) of every pair held, as int64 arrays, in no order."""
        a = np.empty(self.live, dtype=np.int64)
        b = np.empty(self.live, dtype=np.int64)
        c = np.empty(self.live, dtype=np.int64)
        cdef int64_t[::1] va = a, vb = b, vc = c
        cdef uint64_t i, k = 0
        for i in range(self.mask + 1):
            if self.slots[i].key:
                va[k] = <int64_t>(self.slots[i].key >> 32)
                vb[k] = <int64_t>(self.slots[i].key & 0xFFFFFFFFu)
                vc[k] = self.slots[i].count
                k += 1
        return a, b, c

    def score(self, const int64_t[::1] unigram, int64_t total_words, int64_t min_count, double delta,
              double threshold, int scoring):
        """The pairs whose score is above `threshold`: (first ids, second ids, pair counts, scores).

        A pair is scored only if it and both its words occur at least min_count times
        (word2phrase). unigram[id] is the count of each id; every id in the table must be in it.
        """
        cdef uint64_t i
        cdef Py_ssize_t k = 0, nu = unigram.shape[0]
        cdef int64_t ca, cb, cab
        cdef uint64_t a_id, b_id
        cdef double s, n = <double>total_words, pa, pb, pab
        a = np.empty(self.live, dtype=np.int64)
        b = np.empty(self.live, dtype=np.int64)
        c = np.empty(self.live, dtype=np.int64)
        sc = np.empty(self.live, dtype=np.float64)
        cdef int64_t[::1] va = a, vb = b, vc = c
        cdef double[::1] vs = sc
        with nogil:
            for i in range(self.mask + 1):
                if self.slots[i].key == 0:
                    continue
                cab = self.slots[i].count
                if cab < min_count:
                    continue
                a_id = self.slots[i].key >> 32
                b_id = self.slots[i].key & 0xFFFFFFFFu
                if a_id >= <uint64_t>nu or b_id >= <uint64_t>nu:
                    continue
                ca = unigram[a_id]
                cb = unigram[b_id]
                if ca < min_count or cb < min_count:
                    continue
                if scoring == C_SCORE_NPMI:
                    # gensim's npmi_scorer: ln(p(ab) / (p(a) p(b))) / -ln(p(ab)), p(x) = count(x) / words
                    pa = ca / n
                    pb = cb / n
                    pab = cab / n
                    s = log(pab / (pa * pb)) / -log(pab)
                else:
                    # word2phrase.c: (pab - min_count) / pa / pb * train_words, with delta for min_count
                    s = (cab - delta) / <double>ca / <double>cb * n
                if not s > threshold:
                    continue
                va[k] = <int64_t>a_id
                vb[k] = <int64_t>b_id
                vc[k] = cab
                vs[k] = s
                k += 1
        return a[:k], b[:k], c[:k], sc[:k]


# ---------------------------------------------------------------------------------------------
# joining
# ---------------------------------------------------------------------------------------------

cdef inline uint64_t _load_short(const uint8_t *p, uint64_t n, const uint8_t *end) noexcept nogil:
    """n <= 8 bytes as a zero-padded little-endian integer: one load if p + 8 <= end."""
    cdef uint64_t w = 0
    cdef uint64_t k
    if p + 8 <= end:
        memcpy(&w, p, 8)
        if n < 8:
            w &= (<uint64_t>1 << (8 * n)) - 1
        return w
    for k in range(n):
        w |= <uint64_t>p[k] << (8 * k)
    return w


cdef inline uint64_t _hash_short(uint64_t w, uint64_t n) noexcept nogil:
    return _mix(0x9E3779B97F4A7C15ULL ^ (n * 0xff51afd7ed558ccdULL) ^ w)


cdef struct Word:
    uint64_t key        # a word of at most 8 bytes: its bytes, zero-padded; else 0
    uint32_t w          # word index + 1; 0: an empty slot
    uint32_t n          # length in bytes


cdef class Joiner:
    # the phrase words, by hash in `wslots` (a word of at most 8 bytes is found in its slot
    # alone); word k's bytes are arena[offsets[k]:offsets[k + 1]]
    cdef uint8_t *arena
    cdef uint64_t *offsets
    cdef Word *wslots
    cdef uint64_t wmask
    cdef uint8_t *left            # per word (index + 1): it is the first word of some pair
    cdef Py_ssize_t n_words
    cdef uint64_t max_len         # the longest phrase word
    # the pairs: key (first + 1) << 32 | (second + 1) -> pair index + 1
    cdef uint64_t *pkeys
    cdef uint32_t *pvals
    cdef uint64_t pmask
    cdef int64_t *joins_          # per pair (index + 1): times joined
    cdef Py_ssize_t n_pairs
    # the stream
    cdef uint8_t *part            # the start of a token the last block ended in
    cdef uint64_t part_len, part_cap
    cdef bint in_token
    cdef bint long_token          # the token being continued is longer than any phrase word
    cdef uint8_t *gap             # whitespace after a token that may start a pair, held back
    cdef uint64_t gap_len, gap_cap
    cdef bint gap_cut             # the held whitespace passed C_MAX_GAP: it is one space now
    cdef uint32_t prev            # word index + 1 of the previous token if it may start a pair
    cdef bint file_open           # bytes of the current file were seen ...
    cdef uint8_t last_byte        # ... and this was the last of them
    cdef uint8_t *out
    cdef uint64_t n_out, out_cap
    cdef public int64_t joined    # joins made

    def __cinit__(self, words, const int64_t[::1] first, const int64_t[::1] second):
        """words: the phrase words (bytes); first[i], second[i]: indexes into words of pair i."""
        cdef Py_ssize_t k, i, n = len(words)
        cdef bytes w
        cdef uint64_t total = 0, size = 16, j, key, length
        cdef const uint8_t *b
        if first.shape[0] != second.shape[0]:
            raise ValueError("first and second differ in length")
        self.n_words = n
        self.n_pairs = first.shape[0]
        for w in words:
            total += len(w)
            if <uint64_t>len(w) > self.max_len:
                self.max_len = len(w)
        self.arena = <uint8_t *>malloc(total + 8)
        self.offsets = <uint64_t *>malloc((n + 1) * sizeof(uint64_t))
        self.left = <uint8_t *>calloc(n + 1, 1)
        while size < 2 * <uint64_t>n + 2:
            size <<= 1
        self.wslots = <Word *>calloc(size, sizeof(Word))
        self.wmask = size - 1
        size = 16
        while size < 2 * <uint64_t>self.n_pairs + 2:
            size <<= 1
        self.pkeys = <uint64_t *>calloc(size, sizeof(uint64_t))
        self.pvals = <uint32_t *>calloc(size, sizeof(uint32_t))
        self.pmask = size - 1
        self.joins_ = <int64_t *>calloc(self.n_pairs + 1, sizeof(int64_t))
        self.part_cap = 256
        self.part = <uint8_t *>malloc(self.part_cap)
        self.gap_cap = 256
        self.gap = <uint8_t *>malloc(self.gap_cap)
        self.out_cap = 1 << 16
        self.out = <uint8_t *>malloc(self.out_cap)
        if (not self.arena or not self.offsets or not self.left or not self.wslots
                or not self.pkeys or not self.pvals or not self.joins_ or not self.part or not self.gap
                or not self.out):
            raise MemoryError()
        total = 0
        for k in range(n):
            w = words[k]
            length = len(w)
            if length == 0:
                raise ValueError("empty phrase word")
            self.offsets[k] = total
            memcpy(self.arena + total, <const char *>w, length)
            b = self.arena + total
            total += length
            self.offsets[k + 1] = total
            if length > 0xFFFFFFF0:
                raise ValueError("phrase word too long")
            if self._find(b, length, NULL):
                raise ValueError(f"phrase word {w!r} given twice")
            j = self._hash(b, length, NULL) & self.wmask
            while self.wslots[j].w:
                j = (j + 1) & self.wmask
            self.wslots[j].key = _load_short(b, length, NULL) if length <= 8 else 0
            self.wslots[j].w = <uint32_t>(k + 1)
            self.wslots[j].n = <uint32_t>length
        for i in range(self.n_pairs):
            if not (0 <= first[i] < n and 0 <= second[i] < n):
                raise ValueError("pair index out of range")
            key = (<uint64_t>(first[i] + 1) << 32) | <uint64_t>(second[i] + 1)
            j = _mix(key) & self.pmask
            while self.pkeys[j] and self.pkeys[j] != key:
                j = (j + 1) & self.pmask
            if self.pkeys[j] == key:
                raise ValueError("pair given twice")
            self.pkeys[j] = key
            self.pvals[j] = <uint32_t>(i + 1)
            self.left[first[i] + 1] = 1

    def __dealloc__(self):
        free(self.arena)
        free(self.offsets)
        free(self.left)
        free(self.wslots)
        free(self.pkeys)
        free(self.pvals)
        free(self.joins_)
        free(self.part)
        free(self.gap)
        free(self.out)

    def joins(self):
        """Times each pair was joined so far (int64, in the order the pairs were given)."""
        out = np.empty(self.n_pairs, dtype=np.int64)
        cdef int64_t[::1] v = out
        if self.n_pairs:
            memcpy(&v[0], self.joins_ + 1, self.n_pairs * sizeof(int64_t))
        return out

    cdef inline uint64_t _hash(self, const uint8_t *p, uint64_t n, const uint8_t *end) noexcept nogil:
        if n <= 8:
            return _hash_short(_load_short(p, n, end), n)
        return _hash_bytes(p, n)

    cdef inline uint32_t _find(self, const uint8_t *p, uint64_t n, const uint8_t *end) noexcept nogil:
        """Word index + 1 of token p[:n] (readable up to `end`), or 0."""
        cdef uint64_t j, key
        cdef Word *s
        if n > self.max_len:
            return 0
        if n <= 8:
            key = _load_short(p, n, end)
            j = _hash_short(key, n) & self.wmask
            while True:
                s = &self.wslots[j]
                if s.w == 0 or (s.key == key and s.n == n):
                    return s.w
                j = (j + 1) & self.wmask
        j = _hash_bytes(p, n) & self.wmask
        while True:
            s = &self.wslots[j]
            if s.w == 0 or (s.n == n and memcmp(self.arena + self.offsets[s.w - 1], p, n) == 0):
                return s.w
            j = (j + 1) & self.wmask

    cdef inline uint32_t _pair(self, uint32_t a, uint32_t b) noexcept nogil:
        """Pair index + 1 of words a, b (indexes + 1), or 0."""
        cdef uint64_t key = (<uint64_t>a << 32) | b
        cdef uint64_t j = _mix(key) & self.pmask
        while self.pkeys[j]:
            if self.pkeys[j] == key:
                return self.pvals[j]
            j = (j + 1) & self.pmask
        return 0

    cdef inline void _emit(self, const uint8_t *p, uint64_t n) noexcept nogil:
        memcpy(self.out + self.n_out, p, n)
        self.n_out += n

    cdef inline void _flush_gap(self) noexcept nogil:
        if self.gap_len:
            self._emit(self.gap, self.gap_len)
            self.gap_len = 0
        self.gap_cut = False

    cdef int _hold_gap(self, const uint8_t *p, uint64_t n) except -1 nogil:
        """Whitespace after a token that may start a pair: held until the next token is known."""
        if self.gap_cut or self.gap_len + n > C_MAX_GAP:
            # an enormous run of whitespace: one space splits the tokens the same way
            self.gap[0] = 32
            self.gap_len = 1
            self.gap_cut = True
            return 0
        _reserve(&self.gap, &self.gap_cap, self.gap_len + n)
        memcpy(self.gap + self.gap_len, p, n)
        self.gap_len += n
        return 0

    cdef inline uint32_t _decide(self, const uint8_t *p, uint64_t n, const uint8_t *end) noexcept nogil:
        """A complete token follows the previous one: the pair index + 1 if they join (then the
        previous token's whitespace is dropped and "_" is written), else 0. Sets `prev`."""
        cdef uint32_t w = self._find(p, n, end)
        cdef uint32_t k = 0
        if self.prev and w:
            k = self._pair(self.prev, w)
        if k:
            self.joins_[k] += 1
            self.joined += 1
            self.prev = 0                 # the next token starts a new candidate pair
        else:
            self.prev = w if (w and self.left[w]) else 0
        return k

    def feed(self, const uint8_t[::1] data):
        """The joined text of the next bytes of the current file (bytes). A token or whitespace
        that may continue in the next block is held back."""
        cdef Py_ssize_t n = data.shape[0]
        if n == 0:
            return b""
        cdef uint64_t need = n + self.part_len + self.gap_len + 64
        if need > self.out_cap:
            _reserve(&self.out, &self.out_cap, need)
        self.n_out = 0
        with nogil:
            self._feed(&data[0], n)
        return (<const char *>self.out)[:self.n_out]

    cdef int _feed(self, const uint8_t *p, Py_ssize_t n) except -1 nogil:
        # The block is copied in runs: bytes from `flushed` on are not written yet. `pe` is where
        # the last token ended in this block (-1: in an earlier block; its whitespace, if held,
        # is in self.gap and this block has not been written from at all).
        cdef Py_ssize_t i = 0, j, flushed = 0, pe = -1
        cdef const uint8_t *end = p + n
        cdef uint8_t c
        self.file_open = True
        self.last_byte = p[n - 1]
        if self.in_token:
            while i < n and CLASS[p[i]] == CLS_TOKEN:
                i += 1
            if self.long_token:
                if i == n:
                    self._emit(p, n)
                    return 0
            else:
                self._continue_token(p, i)    # into `part`, or written out if it grew too long
                if i == n:
                    return 0
                if not self.long_token:
                    if self._decide(self.part, self.part_len, self.part + self.part_cap):
                        self.gap_len = 0
                        self.gap_cut = False
                        self.out[self.n_out] = 95     # "_"
                        self.n_out += 1
                    else:
                        self._flush_gap()
                    self._emit(self.part, self.part_len)
                flushed = i
            self.part_len = 0
            self.in_token = False
            self.long_token = False
            pe = i
        while i < n:
            c = CLASS[p[i]]
            j = i + 1
            if c == CLS_TOKEN:
                while j < n and CLASS[p[j]] == CLS_TOKEN:
                    j += 1
                if j == n:
                    # a token that may go on in the next block: write what comes before it (holding
                    # the whitespace before it if it may join the previous token)
                    if self.prev:
                        if pe >= 0:
                            self._emit(p + flushed, pe - flushed)
                            self._hold_gap(p + pe, i - pe)
                        else:
                            self._hold_gap(p, i)
                    else:
                        self._flush_gap()
                        self._emit(p + flushed, i - flushed)
                    self.in_token = True
                    self.part_len = 0
                    self._continue_token(p + i, n - i)
                    return 0
                if self._decide(p + i, j - i, end):
                    if pe >= 0:
                        self._emit(p + flushed, pe - flushed)
                    self.gap_len = 0
                    self.gap_cut = False
                    self.out[self.n_out] = 95     # "_"
                    self.n_out += 1
                    flushed = i
                elif pe < 0:
                    if self.gap_cut:              # the rest of an enormous run of whitespace
                        flushed = i
                    self._flush_gap()             # the whitespace held from an earlier block
                pe = j
            elif c == CLS_NEWLINE:
                if pe < 0:
                    if self.gap_cut:
                        flushed = i
                    self._flush_gap()
                self.prev = 0
                pe = j                            # nothing before this can join any more
            else:
                while j < n and CLASS[p[j]] == CLS_SPACE:
                    j += 1
            i = j
        # the block ends in whitespace
        if self.prev:
            if pe >= 0:
                self._emit(p + flushed, pe - flushed)
                self._hold_gap(p + pe, n - pe)
            else:
                self._hold_gap(p, n)
        else:
            self._flush_gap()
            self._emit(p + flushed, n - flushed)
        return 0

    cdef int _continue_token(self, const uint8_t *p, uint64_t n) except -1 nogil:
        """More bytes of a token that started in an earlier block (or at the end of this one)."""
        if self.long_token:
            self._emit(p, n)
            return 0
        if self.part_len + n > self.max_len:
            # longer than any phrase word: not part of a phrase; its bytes go out as they come
            self._flush_gap()
            self.prev = 0
            self._emit(self.part, self.part_len)
            self._emit(p, n)
            self.part_len = 0
            self.long_token = True
            return 0
        _reserve(&self.part, &self.part_cap, self.part_len + n + 8)
        memcpy(self.part + self.part_len, p, n)
        self.part_len += n
        return 0

    def end_file(self):
        """The current file ended: the rest of its joined text (bytes), with a final newline if
        the file did not end with one."""
        cdef uint64_t need = self.part_len + self.gap_len + 64
        if need > self.out_cap:
            _reserve(&self.out, &self.out_cap, need)
        self.n_out = 0
        if self.in_token and not self.long_token:
            if self._decide(self.part, self.part_len, self.part + self.part_cap):
                self.gap_len = 0
                self.out[self.n_out] = 95
                self.n_out += 1
            else:
                self._flush_gap()
            self._emit(self.part, self.part_len)
        self.in_token = False
        self.long_token = False
        self.part_len = 0
        self._flush_gap()
        self.prev = 0
        if self.file_open and self.last_byte != 10:
            self.out[self.n_out] = 10
            self.n_out += 1
        self.file_open = False
        return (<const char *>self.out)[:self.n_out]
