# cython: language_level=3
"""The scanner behind vocab.py: splits text into tokens and gives every distinct token an id,
in compiled code, so the one pass over the corpus costs little next to training.

A TokenTable is fed the bytes of a file block by block. It splits them into lines ('\\n') and
tokens (runs of bytes other than space, tab, CR, LF, VT, FF and NUL, the bytes Python's
bytes.split() splits on, plus NUL), looks every token up in an open-addressing hash table
(a token seen for the first time gets the next id; id 0 is reserved for the end of a sentence)
and writes one id per token and a 0 after each sentence. A line of more than `max_len` tokens
becomes consecutive sentences of `max_len` tokens. A run of more than LONG_RUN bytes without
whitespace is cut into CUT_BYTES pieces. A token that a block boundary splits is kept in a side
buffer until its end arrives, so blocks need not end at whitespace.

Python sentences (feed_sentences) go through the same table, splitting and cutting: a list of
tokens is one line whose tokens are given, a str or bytes line is split as a line of a file is.
Tokens are read from the str objects in place (an ASCII str's characters are its UTF-8 bytes);
other strings are encoded to UTF-8 here, a piece at a time, with the lone surrogates U+DC80..U+DCFF
(what Python's "surrogateescape" makes of undecodable bytes) turned back into those bytes and other
lone surrogates encoded as "surrogatepass" does; either way the token is then invalid UTF-8, as
the same bytes in a file would be. No Python call is made per token.

Counts per id are kept here too. When the table grows too big, prune() forgets the rarest
tokens and renumbers the others 1, 2, ... in the order of their ids, so the ids and counts of
forgotten tokens are reused: ids, counts and slots never exceed what the table held at its
fullest. prune() returns which old ids survived, for the caller to renumber the ids it has
already written (see vocab._Stream).
"""
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from libc.stdlib cimport malloc, realloc, free, calloc
from libc.string cimport memcpy, memcmp, memmove, memset
from cpython.object cimport PyObject

import numpy as np

from .errors import W2VError

cdef extern from *:
    """
    #define W2V_LIKELY(x) __builtin_expect(!!(x), 1)
    #define W2V_UNLIKELY(x) __builtin_expect(!!(x), 0)
    """
    bint likely "W2V_LIKELY"(bint) noexcept nogil
    bint unlikely "W2V_UNLIKELY"(bint) noexcept nogil

cdef extern from "Python.h":
    PyObject *PyIter_Next(object o)
    void Py_DECREF(PyObject *o)
    PyObject *PyErr_Occurred()
    bint PyUnicode_Check(PyObject *o)
    bint PyBytes_Check(PyObject *o)
    bint PyList_Check(PyObject *o)
    bint PyTuple_Check(PyObject *o)
    bint PyUnicode_IS_ASCII(PyObject *o)
    int PyUnicode_KIND(PyObject *o)
    void *PyUnicode_DATA(PyObject *o)
    Py_ssize_t PyUnicode_GET_LENGTH(PyObject *o)
    uint32_t PyUnicode_READ(int kind, void *data, Py_ssize_t index) noexcept nogil
    char *PyBytes_AS_STRING(PyObject *o)
    Py_ssize_t PyBytes_GET_SIZE(PyObject *o)
    Py_ssize_t PySequence_Fast_GET_SIZE(PyObject *o)
    PyObject **PySequence_Fast_ITEMS(PyObject *o)
    object PySequence_Fast(object o, const char *message)

cdef enum:
    C_LONG_RUN = 1 << 20        # runs of non-space bytes longer than this are cut ...
    C_CUT_BYTES = 1 << 16       # ... into pieces of this many bytes (the last one shorter)
    CLS_TOKEN = 0
    CLS_SPACE = 1
    CLS_NEWLINE = 2
    # feed_sentences: what a sentence is, what the corpus is, what its text is
    CUR_NONE = 0
    CUR_TOKENS = 1
    CUR_STR = 2
    CUR_BYTES = 3
    KIND_UNKNOWN = 0
    KIND_TOKENS = 1
    KIND_LINES = 2
    TEXT_UNKNOWN = 0
    TEXT_STR = 1
    TEXT_BYTES = 2
    C_MIN_SENTENCE_OUT = 1 << 12  # the least room feed_sentences() needs in `out`

MIN_SENTENCE_OUT = C_MIN_SENTENCE_OUT
cdef uint64_t EOS_HASH = 0x5EB7E11CE5EB7E11ULL   # a sentence end, in the digest

LONG_RUN = C_LONG_RUN
CUT_BYTES = C_CUT_BYTES

cdef uint64_t C_MAX_ID = 0xFFFFFFF0   # provisional ids stay below the stream's markers
MAX_ID = C_MAX_ID
cdef uint32_t LEN_MASK = 0x7F
cdef uint32_t BAD_UTF8 = 0x80

cdef uint8_t CLASS[256]
memset(CLASS, CLS_TOKEN, 256)
for _b in (32, 9, 13, 11, 12, 0):
    CLASS[_b] = CLS_SPACE
CLASS[ord("\n")] = CLS_NEWLINE


cdef struct Slot:
    # 16 bytes, four to a cache line. Most tokens have at most 8 bytes: those are kept in the
    # slot itself, so looking one up touches one cache line.
    uint32_t id          # 0: empty
    uint32_t tag         # bits of the hash << 8 | BAD_UTF8 if not valid UTF-8 | min(length, 127)
    uint64_t key         # at most 8 bytes: the bytes, zero-padded; longer: its arena offset,
                         # where a uint64 length precedes the bytes


cdef inline uint64_t _mix(uint64_t h) noexcept nogil:
    h ^= h >> 31
    h *= 0x7fb5d329728ea185ULL
    h ^= h >> 27
    h *= 0x81dadef4bc2dd44dULL
    h ^= h >> 33
    return h


cdef inline uint64_t _load_short(const uint8_t *p, size_t n, const uint8_t *end) noexcept nogil:
    """n <= 8 bytes as a zero-padded little-endian integer; reads up to p + 8 if that is
    before `end` (one load), else byte by byte."""
    cdef uint64_t w = 0
    cdef size_t k
    if p + 8 <= end:
        memcpy(&w, p, 8)
        if n < 8:
            w &= (<uint64_t>1 << (8 * n)) - 1
        return w
    for k in range(n):
        w |= <uint64_t>p[k] << (8 * k)
    return w


cdef inline uint64_t _hash_short(uint64_t w, size_t n) noexcept nogil:
    return _mix(0x9E3779B97F4A7C15ULL ^ (<uint64_t>n * 0xff51afd7ed558ccdULL) ^ w)


cdef inline uint64_t _hash(const uint8_t *p, size_t n) noexcept nogil:
    cdef uint64_t h = 0x9E3779B97F4A7C15ULL ^ (<uint64_t>n * 0xff51afd7ed558ccdULL)
    cdef uint64_t w
    if n <= 8:
        return _hash_short(_load_short(p, n, NULL), n)
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


cdef int _reserve(void **buf, uint64_t *cap, uint64_t need) except -1 nogil:
    """Grow a malloc'd buffer of cap[0] bytes, doubling, to hold at least `need` bytes."""
    cdef uint64_t c = cap[0]
    cdef void *grown
    if need <= c:
        return 0
    while c < need:
        c *= 2
    grown = realloc(buf[0], c)
    if grown == NULL:
        with gil:
            raise MemoryError()
    buf[0] = grown
    cap[0] = c
    return 0


cdef bint _valid_utf8(const uint8_t *p, uint64_t n) noexcept nogil:
    """Whether p[:n] is strict UTF-8, as Python's decoder sees it (no overlong forms, no
    surrogates, nothing above U+10FFFF)."""
    cdef uint64_t i = 0
    cdef uint8_t c, lo, hi
    cdef int more, k
    while i < n:
        c = p[i]
        if c < 0x80:
            i += 1
            continue
        lo, hi = 0x80, 0xBF
        if 0xC2 <= c <= 0xDF:
            more = 1
        elif c == 0xE0:
            more, lo = 2, 0xA0
        elif 0xE1 <= c <= 0xEF:
            more = 2
            if c == 0xED:
                hi = 0x9F
        elif c == 0xF0:
            more, lo = 3, 0x90
        elif 0xF1 <= c <= 0xF3:
            more = 3
        elif c == 0xF4:
            more, hi = 3, 0x8F
        else:
            return False
        if i + more >= n:
            return False
        if not (lo <= p[i + 1] <= hi):
            return False
        for k in range(2, more + 1):
            if not (0x80 <= p[i + k] <= 0xBF):
                return False
        i += more + 1
    return True


cdef Py_ssize_t _encode_utf8(int kind, void *data, Py_ssize_t start, Py_ssize_t end,
                             uint8_t *dst) noexcept nogil:
    """Characters start..end of a str as UTF-8 into dst (room for 4 bytes a character).
    U+DC80..U+DCFF become the bytes 0x80..0xFF (undoing "surrogateescape"); other lone
    surrogates take three bytes, as "surrogatepass" gives them."""
    cdef Py_ssize_t i, k = 0
    cdef uint32_t c
    for i in range(start, end):
        c = PyUnicode_READ(kind, data, i)
        if c < 0x80:
            dst[k] = <uint8_t>c
            k += 1
        elif c < 0x800:
            dst[k] = <uint8_t>(0xC0 | (c >> 6))
            dst[k + 1] = <uint8_t>(0x80 | (c & 0x3F))
            k += 2
        elif 0xDC80 <= c <= 0xDCFF:
            dst[k] = <uint8_t>(c - 0xDC00)
            k += 1
        elif c < 0x10000:
            dst[k] = <uint8_t>(0xE0 | (c >> 12))
            dst[k + 1] = <uint8_t>(0x80 | ((c >> 6) & 0x3F))
            dst[k + 2] = <uint8_t>(0x80 | (c & 0x3F))
            k += 3
        else:
            dst[k] = <uint8_t>(0xF0 | (c >> 18))
            dst[k + 1] = <uint8_t>(0x80 | ((c >> 12) & 0x3F))
            dst[k + 2] = <uint8_t>(0x80 | ((c >> 6) & 0x3F))
            dst[k + 3] = <uint8_t>(0x80 | (c & 0x3F))
            k += 4
    return k


def _encode_py(str text):
    """A test hook: the bytes feed_sentences reads for a str."""
    cdef Py_ssize_t n = len(text)
    cdef bytearray out = bytearray(4 * n)
    if n == 0:
        return b""
    cdef uint8_t *dst = <uint8_t *><char *>out
    cdef PyObject *o = <PyObject *>text
    k = _encode_utf8(PyUnicode_KIND(o), PyUnicode_DATA(o), 0, n, dst)
    return bytes(out[:k])


cdef inline int _raise_pending() except -1:
    """Propagate the exception that a C-API call left set (if any)."""
    if PyErr_Occurred() != NULL:
        return -1
    return 0


def _what(obj):
    """How an error message names an object that is not what was expected."""
    if obj is None:
        return "None"
    text = repr(obj)
    if len(text) > 40:
        text = text[:37] + "..."
    name = type(obj).__name__
    return f"{'an' if name[:1] in 'aeiou' else 'a'} {name} ({text})"


cdef class TokenTable:
    cdef Slot *slots
    cdef uint64_t mask            # slots - 1 (a power of two minus one)
    cdef uint64_t live            # tokens in the table
    cdef uint8_t *arena           # the live tokens' bytes
    cdef uint64_t arena_len, arena_cap
    cdef int64_t *counts_         # per id (id 0: sentence ends)
    cdef uint64_t counts_cap
    cdef uint64_t next_id
    cdef uint64_t id_limit        # ids stay below this (MAX_ID unless a test lowers it)
    cdef uint64_t peak_ids        # the largest next_id before a prune
    cdef uint32_t seed_ids        # ids 1..seed_ids came from seed() and are never pruned
    # the unfinished token at the end of the last block
    cdef uint8_t *part
    cdef uint64_t part_len, part_cap
    cdef const uint8_t *safe_end  # tokens looked up lie in memory readable up to here
    cdef bint long_run            # the unfinished token is a run being cut into pieces
    # the current line
    cdef Py_ssize_t max_len
    cdef Py_ssize_t line_tokens
    cdef bint line_split
    cdef bint line_open           # bytes seen since the last newline
    # statistics
    cdef public int64_t lines, split_lines, cut_tokens
    # what identifies the token sequence (see digest())
    cdef uint64_t digest
    cdef int64_t tokens, sentences
    # Python sentences (feed_sentences): the one being read, and what the corpus holds
    cdef object cur               # a PySequence_Fast of tokens, or a str or bytes line
    cdef Py_ssize_t cur_pos       # its next token, or its next character / byte
    cdef int cur_kind
    cdef int corpus_kind          # decided by the first non-empty sentence
    cdef int64_t kind_index       # ... which is this one
    cdef int text_type            # str or bytes, decided by the first token or line
    cdef public int64_t sentences_read    # sentences taken from the iterator so far
    cdef public int64_t bytes_read        # UTF-8 bytes of the tokens and lines, plus a separator per token
    cdef uint8_t *scratch         # non-ASCII text encoded as UTF-8
    cdef uint64_t scratch_cap
    # output of the current feed()
    cdef uint32_t *out
    cdef Py_ssize_t n_out, out_cap
    cdef bint overflow

    def __cinit__(self, Py_ssize_t max_len, Py_ssize_t capacity=1 << 16, uint64_t max_id=C_MAX_ID):
        if max_len < 1:
            raise ValueError("max_len must be at least 1")
        if not 2 <= max_id <= C_MAX_ID:
            raise ValueError(f"max_id must be between 2 and {C_MAX_ID}")
        self.max_len = max_len
        self.id_limit = max_id
        cdef uint64_t n = 1024
        while n < 2 * <uint64_t>capacity:
            n <<= 1
        self.slots = <Slot *>calloc(n, sizeof(Slot))
        self.mask = n - 1
        self.arena_cap = 1 << 20
        self.arena = <uint8_t *>malloc(self.arena_cap)
        self.counts_cap = 1 << 16
        self.counts_ = <int64_t *>calloc(self.counts_cap, sizeof(int64_t))
        self.part_cap = 1 << 12
        self.part = <uint8_t *>malloc(self.part_cap)
        self.scratch_cap = 1 << 12
        self.scratch = <uint8_t *>malloc(self.scratch_cap)
        if not self.slots or not self.arena or not self.counts_ or not self.part or not self.scratch:
            raise MemoryError()
        self.next_id = 1

    def __dealloc__(self):
        free(self.slots)
        free(self.arena)
        free(self.counts_)
        free(self.part)
        free(self.scratch)

    def __len__(self):
        return self.live

    @property
    def next_id(self):
        """The id the next new token gets: 1 + the tokens in the table (pruning renumbers)."""
        return self.next_id

    @property
    def peak_ids(self):
        """The most ids (sentence end included) the table has used at once: the largest
        next_id so far."""
        return max(self.peak_ids, self.next_id)

    @property
    def counts_capacity(self):
        """Ids the counts array has room for (it grows by doubling, so < 2 * peak_ids + 2**16)."""
        return self.counts_cap

    # ---- the table ----------------------------------------------------------------------

    cdef int _grow_table(self) except -1 nogil:
        cdef uint64_t n = (self.mask + 1) * 2
        cdef Slot *new = <Slot *>calloc(n, sizeof(Slot))
        cdef uint64_t i
        if new == NULL:
            with gil:
                raise MemoryError()
        for i in range(self.mask + 1):
            if self.slots[i].id:
                self._place(new, n - 1, &self.slots[i], self._slot_hash(&self.slots[i]))
        free(self.slots)
        self.slots = new
        self.mask = n - 1
        return 0

    cdef inline void _place(self, Slot *table, uint64_t mask, const Slot *s, uint64_t h) noexcept nogil:
        """Put a slot whose token hashes to h into the first free place of its probe sequence
        in another table."""
        cdef uint64_t j = h & mask
        while table[j].id != 0:
            j = (j + 1) & mask
        table[j] = s[0]

    cdef inline uint64_t _slot_hash(self, const Slot *s) noexcept nogil:
        """The hash of a slot's token, recomputed from its bytes."""
        cdef uint64_t n = s.tag & LEN_MASK
        if n <= 8:
            return _hash(<const uint8_t *>&s.key, n)
        memcpy(&n, self.arena + s.key, 8)
        return _hash(self.arena + s.key + 8, n)

    cdef inline const uint8_t *_slot_bytes(self, const Slot *s, uint64_t *n) noexcept nogil:
        n[0] = s.tag & LEN_MASK
        if n[0] <= 8:
            return <const uint8_t *>&s.key
        memcpy(n, self.arena + s.key, 8)
        return self.arena + s.key + 8

    cdef int _ensure_counts(self, uint64_t need) except -1 nogil:
        cdef uint64_t old = self.counts_cap
        cdef uint64_t nbytes = old * sizeof(int64_t)
        if need > old:
            _reserve(<void **>&self.counts_, &nbytes, need * sizeof(int64_t))
            self.counts_cap = nbytes // sizeof(int64_t)
            memset(self.counts_ + old, 0, (self.counts_cap - old) * sizeof(int64_t))
        return 0

    cdef inline bint _same(self, const Slot *s, const uint8_t *p, uint64_t n, uint64_t key) noexcept nogil:
        cdef uint64_t length
        if n <= 8:
            return s.key == key
        memcpy(&length, self.arena + s.key, 8)
        return length == n and memcmp(self.arena + s.key + 8, p, n) == 0

    cdef inline Slot *_probe(self, const uint8_t *p, uint64_t n, uint32_t *tag,
                             uint64_t *key, uint64_t *hash) noexcept nogil:
        """The slot holding token p[:n], or the empty slot where it would go; sets its tag,
        key (tokens of at most 8 bytes) and hash."""
        cdef uint64_t h
        key[0] = 0
        if n <= 8:
            key[0] = _load_short(p, n, self.safe_end)
            h = _hash_short(key[0], n)
        else:
            h = _hash(p, n)
        hash[0] = h
        tag[0] = <uint32_t>((h >> 32) & 0xFFFFFF00u) | <uint32_t>(n if n < LEN_MASK else LEN_MASK)
        cdef uint64_t j = h & self.mask
        cdef Slot *s
        while True:
            s = &self.slots[j]
            if s.id == 0 or ((s.tag & ~BAD_UTF8) == tag[0] and self._same(s, p, n, key[0])):
                return s
            j = (j + 1) & self.mask

    cdef uint32_t _lookup(self, const uint8_t *p, uint64_t n, uint64_t *hash) except 0 nogil:
        """The id of token p[:n], adding it if new; sets the token's hash."""
        cdef uint32_t tag
        cdef uint64_t key
        cdef Slot *s = self._probe(p, n, &tag, &key, hash)
        if likely(s.id != 0):
            return s.id
        if unlikely(self.next_id >= self.id_limit):
            with gil:
                raise W2VError(f"the vocabulary scan ran out of token ids ({self.id_limit - 1:,} distinct tokens "
                               f"at once); lower the prune limit (--prune-limit, max_distinct) so that rare "
                               f"tokens are pruned sooner")
        self._ensure_counts(self.next_id + 1)
        if n > 8:
            _reserve(<void **>&self.arena, &self.arena_cap, self.arena_len + n + 8)
            key = self.arena_len
            memcpy(self.arena + self.arena_len, &n, 8)
            memcpy(self.arena + self.arena_len + 8, p, n)
            self.arena_len += n + 8
        if not _valid_utf8(p, n):
            tag |= BAD_UTF8
        s.id = <uint32_t>self.next_id
        s.tag = tag
        s.key = key
        self.next_id += 1
        self.live += 1
        if unlikely(2 * self.live > self.mask + 1):
            self._grow_table()
        return <uint32_t>(self.next_id - 1)

    def seed(self, tokens):
        """Add tokens (bytes) before any text, as ids 1, 2, ... in order; they are never pruned.
        Returns the ids (a token given twice keeps its first id)."""
        if self.next_id != 1 or self.n_out or self.lines:
            raise RuntimeError("seed() must come first")
        cdef bytes t
        cdef uint64_t h
        ids = np.empty(len(tokens), dtype=np.uint32)
        cdef uint32_t[::1] v = ids
        cdef Py_ssize_t k = 0
        self.safe_end = NULL
        for t in tokens:
            v[k] = self._lookup(<const uint8_t *>t, len(t), &h)
            k += 1
        self.seed_ids = <uint32_t>(self.next_id - 1)
        return ids

    def prune(self, int64_t threshold):
        """Forget the tokens seen at most `threshold` times (seeded tokens stay) and renumber the
        others 1, 2, ... keeping their order (seeded tokens keep their ids); their counts move
        with them. A forgotten token that appears again is new: it gets the next free id and
        counts from zero (as word2vec.c's ReduceVocab).

        Returns the old ids that survived, as a bitmap (np.packbits order 'little') over ids
        0 .. next_id - 1 before the prune, id 0 (sentence end) set: old id i is now the number
        of set bits below i. None if threshold < 1 (nothing is pruned)."""
        if threshold < 1:
            return None
        cdef uint64_t n_old = self.next_id
        keep = np.zeros((n_old + 7) // 8, dtype=np.uint8)
        cdef uint8_t[::1] bits = keep
        cdef Slot *new = <Slot *>calloc(self.mask + 1, sizeof(Slot))
        cdef uint8_t *arena = <uint8_t *>malloc(self.arena_cap)
        cdef uint32_t *new_id = <uint32_t *>malloc(n_old * sizeof(uint32_t))
        if new == NULL or arena == NULL or new_id == NULL:
            free(new)
            free(arena)
            free(new_id)
            raise MemoryError()
        cdef uint64_t i, h, n, pos = 0, rank = 0
        cdef uint32_t k
        cdef Slot s
        with nogil:
            bits[0] = 1
            for i in range(self.mask + 1):
                k = self.slots[i].id
                if k != 0 and (k <= self.seed_ids or self.counts_[k] > threshold):
                    bits[k >> 3] |= <uint8_t>(1 << (k & 7))
            # the survivors' new ids, in the order of the old ones; their counts move down
            for i in range(n_old):
                if bits[i >> 3] & (1 << (i & 7)):
                    new_id[i] = <uint32_t>rank
                    self.counts_[rank] = self.counts_[i]
                    rank += 1
            memset(self.counts_ + rank, 0, (n_old - rank) * sizeof(int64_t))
            self.live = 0
            for i in range(self.mask + 1):
                s = self.slots[i]
                if s.id == 0 or not (bits[s.id >> 3] & (1 << (s.id & 7))):
                    continue
                h = self._slot_hash(&s)
                if (s.tag & LEN_MASK) > 8:
                    memcpy(&n, self.arena + s.key, 8)
                    memcpy(arena + pos, self.arena + s.key, n + 8)
                    s.key = pos
                    pos += n + 8
                s.id = new_id[s.id]
                self._place(new, self.mask, &s, h)
                self.live += 1
        free(new_id)
        free(self.slots)
        free(self.arena)
        self.slots = new
        self.arena = arena
        self.arena_len = pos
        self.peak_ids = max(self.peak_ids, n_old)
        self.next_id = rank
        return keep

    cdef uint64_t _survivors(self, int64_t threshold) noexcept nogil:
        """Tokens prune(threshold) would keep that were not seeded. Every id below next_id
        is a token of the table (pruning renumbers), so this is one pass over the counts."""
        cdef uint64_t i, n = 0
        for i in range(<uint64_t>self.seed_ids + 1, self.next_id):
            n += self.counts_[i] > threshold
        return n

    def prune_threshold(self, uint64_t max_live, int64_t at_least=1):
        """The smallest threshold >= at_least after which prune() leaves at most max_live tokens
        (seeded ones included; if they alone are more, every other token goes)."""
        cdef uint64_t allowed = max_live - self.seed_ids if max_live > self.seed_ids else 0
        cdef int64_t lo = at_least, hi = at_least, mid
        cdef uint64_t i
        if at_least < 1:
            raise ValueError("at_least must be at least 1")
        with nogil:
            if self._survivors(lo) > allowed:
                # rare: one more than the last threshold did not suffice; search up to the top count
                for i in range(<uint64_t>self.seed_ids + 1, self.next_id):
                    if self.counts_[i] > hi:
                        hi = self.counts_[i]
                while hi - lo > 1:      # survivors(lo) > allowed >= survivors(hi)
                    mid = lo + (hi - lo) // 2
                    if self._survivors(mid) > allowed:
                        lo = mid
                    else:
                        hi = mid
                lo = hi
        return lo

    def find(self, bytes token):
        """The id of a token in the table, or 0."""
        cdef uint32_t tag
        cdef uint64_t key, h
        self.safe_end = NULL
        return self._probe(<const uint8_t *>token, len(token), &tag, &key, &h).id

    def counts(self):
        """Occurrences per id, as int64 (index 0: sentence ends)."""
        out = np.empty(self.next_id, dtype=np.int64)
        cdef int64_t[::1] v = out
        memcpy(&v[0], self.counts_, self.next_id * sizeof(int64_t))
        return out

    def items(self):
        """(ids, tokens, bad) of the tokens in the table, ids in increasing order; bad marks
        the tokens that are not valid UTF-8."""
        ids = np.empty(self.live, dtype=np.int64)
        where = np.empty(self.live, dtype=np.int64)
        cdef int64_t[::1] vi = ids, vw = where
        cdef uint64_t i, k = 0
        for i in range(self.mask + 1):
            if self.slots[i].id:
                vi[k] = self.slots[i].id
                vw[k] = i
                k += 1
        order = np.argsort(ids)
        ids = ids[order]
        where = where[order]
        vw = where
        tokens = []
        bad = np.zeros(len(ids), dtype=bool)
        cdef const uint8_t *b
        cdef uint64_t n
        cdef Slot *s
        for k in range(len(ids)):
            s = &self.slots[vw[k]]
            b = self._slot_bytes(s, &n)
            tokens.append((<const char *>b)[:n])
            if s.tag & BAD_UTF8:
                bad[k] = True
        return ids, tokens, bad

    # ---- the text -----------------------------------------------------------------------

    cdef inline int _emit(self, uint32_t i) except -1 nogil:
        if unlikely(self.n_out >= self.out_cap):
            self.overflow = True
            return 0
        self.out[self.n_out] = i
        self.n_out += 1
        self.counts_[i] += 1
        return 0

    cdef int _word(self, const uint8_t *p, uint64_t n) except -1 nogil:
        """One token: its id, after a sentence break if the line already holds max_len."""
        cdef uint64_t h
        if unlikely(self.line_tokens == self.max_len):
            self._emit(0)
            self.digest = _mix(self.digest + EOS_HASH)
            self.sentences += 1
            self.line_tokens = 0
            if not self.line_split:
                self.line_split = True
                self.split_lines += 1
        self._emit(self._lookup(p, n, &h))
        self.digest = _mix(self.digest + h)
        self.line_tokens += 1
        self.tokens += 1
        return 0

    cdef int _token(self, const uint8_t *p, uint64_t n) except -1 nogil:
        """A complete run of non-space bytes: one token, or CUT_BYTES pieces if too long."""
        cdef uint64_t k = 0
        if likely(n <= C_LONG_RUN):
            return self._word(p, n)
        while n - k >= C_CUT_BYTES:
            self.cut_tokens += 1
            self._word(p + k, C_CUT_BYTES)
            k += C_CUT_BYTES
        if k < n:
            self._word(p + k, n - k)
        return 0

    cdef int _end_line(self) except -1 nogil:
        if self.line_tokens:
            self._emit(0)
            self.digest = _mix(self.digest + EOS_HASH)
            self.sentences += 1
        self.line_tokens = 0
        self.line_split = False
        self.lines += 1
        return 0

    cdef int _append_part(self, const uint8_t *p, uint64_t n) except -1 nogil:
        """Bytes of a run that continues past the end of the block."""
        cdef uint64_t k = 0
        _reserve(<void **>&self.part, &self.part_cap, self.part_len + n + 8)
        memcpy(self.part + self.part_len, p, n)
        self.part_len += n
        # a run past LONG_RUN is certainly cut: hand out its full pieces now, to bound memory
        cdef const uint8_t *saved = self.safe_end
        if self.part_len > C_LONG_RUN or (self.long_run and self.part_len >= C_CUT_BYTES):
            self.safe_end = self.part + self.part_cap
            self.long_run = True
            while self.part_len - k >= C_CUT_BYTES:
                self.cut_tokens += 1
                self._word(self.part + k, C_CUT_BYTES)
                k += C_CUT_BYTES
            memmove(self.part, self.part + k, self.part_len - k)
            self.part_len -= k
            self.safe_end = saved
        return 0

    cdef int _end_part(self) except -1 nogil:
        """The run in the side buffer is complete."""
        cdef const uint8_t *saved = self.safe_end
        self.safe_end = self.part + self.part_cap
        if self.long_run:
            if self.part_len:
                self._word(self.part, self.part_len)
            self.long_run = False
        elif self.part_len:
            self._token(self.part, self.part_len)
        self.part_len = 0
        self.safe_end = saved
        return 0

    def feed(self, const uint8_t[::1] data, uint32_t[::1] out):
        """Tokenise `data`, the next bytes of the current file; write the ids to `out`, which
        must hold 3 * len(data) + 64 ids. Returns the number of ids written."""
        cdef Py_ssize_t n = data.shape[0]
        if out.shape[0] < 3 * n + 64:
            raise ValueError("out is too small")
        if n == 0:
            return 0
        self.out = &out[0]
        self.out_cap = out.shape[0]
        self.n_out = 0
        self.overflow = False
        with nogil:
            self._feed(&data[0], n)
        if self.overflow:
            raise RuntimeError("scanner output overflow")
        return self.n_out

    cdef int _feed(self, const uint8_t *p, Py_ssize_t n) except -1 nogil:
        cdef Py_ssize_t i = 0, start
        cdef uint8_t c
        self.safe_end = p + n
        self.line_open = p[n - 1] != 10
        # finish a run that the previous block cut
        if self.part_len or self.long_run:
            while i < n and CLASS[p[i]] == CLS_TOKEN:
                i += 1
            self._append_part(p, i)
            if i == n:
                return 0
            self._end_part()
        while i < n:
            c = CLASS[p[i]]
            if c == CLS_TOKEN:
                start = i
                i += 1
                while i < n and CLASS[p[i]] == CLS_TOKEN:
                    i += 1
                if i == n:
                    self._append_part(p + start, i - start)
                    return 0
                self._token(p + start, i - start)
                continue
            if c == CLS_NEWLINE:
                self._end_line()
            i += 1
        return 0

    @property
    def digest(self):
        """(sentences, tokens, hash) of everything fed so far, as the table split it: the hash is
        of the token bytes in order and the sentence ends, so the same token sequence gives the
        same digest whatever kind of corpus it came from and whatever the table's state."""
        return self.sentences, self.tokens, f"{self.digest:016x}"

    # ---- Python sentences ---------------------------------------------------------------

    def feed_sentences(self, it, uint32_t[::1] out):
        """Tokenise sentences taken from the iterator `it` (each a list or tuple of tokens, any
        other iterable of tokens, or a str or bytes line), writing ids to `out` (at least
        MIN_SENTENCE_OUT ids), until `out` is nearly full or `it` ends. A sentence that does not
        fit is continued by the next call. Returns (ids written, whether `it` has ended).

        W2VError for an element that is not a sentence, a token that is not a string (or an
        empty one), str and bytes mixed, or a string sentence in a corpus of token lists (or the
        reverse): the first non-empty sentence decides which the corpus is."""
        cdef Py_ssize_t cap = out.shape[0]
        cdef PyObject *item
        if cap < C_MIN_SENTENCE_OUT:
            raise ValueError("out is too small")
        self.out = &out[0]
        self.out_cap = cap
        self.n_out = 0
        self.overflow = False
        ended = False
        while True:
            if self.cur_kind == CUR_NONE:
                item = PyIter_Next(it)
                if item == NULL:
                    _raise_pending()
                    ended = True
                    break
                sentence = <object>item
                Py_DECREF(item)
                self._start_sentence(sentence)
                sentence = None
                continue
            if self.cur_kind == CUR_TOKENS:
                if not self._feed_tokens():
                    break
            elif not self._feed_line():
                break
        if self.overflow:
            raise RuntimeError("scanner output overflow")
        return self.n_out, ended

    cdef int _start_sentence(self, sentence) except -1:
        cdef int64_t index = self.sentences_read
        cdef PyObject *o = <PyObject *>sentence
        cdef bint is_str = PyUnicode_Check(o), is_bytes = PyBytes_Check(o)
        self.sentences_read += 1
        if is_str or is_bytes:
            if self.corpus_kind == KIND_TOKENS:
                raise W2VError(f"sentence {index} (counted from 0) is a string, but sentence {self.kind_index} "
                               f"is a list of tokens, so the corpus was taken to be token lists: give every "
                               f"sentence as a list of tokens (line.split()), or every sentence as a string")
            self._check_text_type(is_str, index, -1)
            if (PyUnicode_GET_LENGTH(o) if is_str else PyBytes_GET_SIZE(o)) == 0:
                return 0
            if self.corpus_kind == KIND_UNKNOWN:
                self.corpus_kind, self.kind_index = KIND_LINES, index
            self.cur = sentence
            self.cur_kind = CUR_STR if is_str else CUR_BYTES
            self.cur_pos = 0
            return 0
        if sentence is None:
            raise W2VError(f"sentence {index} (counted from 0) is None; give each sentence as a list of "
                           f"tokens or a string")
        if PyList_Check(o) or PyTuple_Check(o):
            seq = sentence
        else:
            try:
                seq = PySequence_Fast(sentence, b"not iterable")
            except TypeError:
                raise W2VError(f"sentence {index} (counted from 0) is {_what(sentence)}; give each sentence "
                               f"as a list of tokens or a string") from None
        if PySequence_Fast_GET_SIZE(<PyObject *>seq) == 0:
            return 0
        if self.corpus_kind == KIND_LINES:
            raise W2VError(f"sentence {index} (counted from 0) is a list of tokens, but sentence {self.kind_index} "
                           f"is a string, so the corpus was taken to be lines of text: give every sentence as "
                           f"a string, or every sentence as a list of tokens")
        if self.corpus_kind == KIND_UNKNOWN:
            self.corpus_kind, self.kind_index = KIND_TOKENS, index
        self.cur = seq
        self.cur_kind = CUR_TOKENS
        self.cur_pos = 0
        return 0

    cdef int _check_text_type(self, bint is_str, int64_t index, Py_ssize_t pos) except -1:
        cdef int t = TEXT_STR if is_str else TEXT_BYTES
        if likely(t == self.text_type):
            return 0
        if self.text_type == TEXT_UNKNOWN:
            self.text_type = t
            return 0
        where = f"sentence {index} (counted from 0)" + (f", token {pos}" if pos >= 0 else "")
        have, had = ("str", "bytes") if is_str else ("bytes", "str")
        raise W2VError(f"{where} is {have}, but the corpus's earlier text is {had}: give all tokens and "
                       f"lines as str, or all as bytes")

    cdef int _token_error(self, PyObject *tok, Py_ssize_t pos) except -1:
        index = self.sentences_read - 1
        if PyUnicode_Check(tok) or PyBytes_Check(tok):
            raise W2VError(f"sentence {index} (counted from 0), token {pos} is an empty string; tokens must "
                           f"have at least one character (split lines with str.split(), not str.split(' '))")
        raise W2VError(f"sentence {index} (counted from 0), token {pos} is {_what(<object>tok)}, not a "
                       f"string; give each sentence as a list of str (or bytes) tokens")

    cdef bint _feed_tokens(self) except -1:
        """Continue the current token list. False if `out` is full first."""
        cdef PyObject *seq = <PyObject *>self.cur
        cdef Py_ssize_t n = PySequence_Fast_GET_SIZE(seq)
        cdef PyObject **items = PySequence_Fast_ITEMS(seq)
        cdef PyObject *tok
        cdef const uint8_t *p = NULL
        cdef Py_ssize_t length = 0, need, chars
        cdef bint is_str
        self.safe_end = NULL
        while self.cur_pos < n:
            tok = items[self.cur_pos]
            is_str = PyUnicode_Check(tok)
            if is_str:
                if unlikely(self.text_type != TEXT_STR):
                    self._check_text_type(True, self.sentences_read - 1, self.cur_pos)
                chars = PyUnicode_GET_LENGTH(tok)
                if likely(PyUnicode_IS_ASCII(tok)):
                    p = <const uint8_t *>PyUnicode_DATA(tok)
                    length = chars
                else:
                    _reserve(<void **>&self.scratch, &self.scratch_cap, 4 * <uint64_t>chars + 8)
                    length = _encode_utf8(PyUnicode_KIND(tok), PyUnicode_DATA(tok), 0, chars, self.scratch)
                    p = self.scratch
            elif PyBytes_Check(tok):
                if unlikely(self.text_type != TEXT_BYTES):
                    self._check_text_type(False, self.sentences_read - 1, self.cur_pos)
                p = <const uint8_t *>PyBytes_AS_STRING(tok)
                length = PyBytes_GET_SIZE(tok)
            else:
                self._token_error(tok, self.cur_pos)
            if unlikely(length == 0):
                self._token_error(tok, self.cur_pos)
            # a token and perhaps a sentence break before it (a run past LONG_RUN: its pieces),
            # and the sentence end
            need = 3 if likely(length <= C_LONG_RUN) else 2 * (length // C_CUT_BYTES + 1) + 1
            if unlikely(self.n_out + need > self.out_cap):
                if self.n_out == 0:
                    raise W2VError(f"token {self.cur_pos} of sentence {self.sentences_read - 1} is too long "
                                   f"({length:,} bytes)")
                return False
            self._token(p, length)
            self.bytes_read += length + 1
            self.cur_pos += 1
        self._end_line()
        self.cur = None
        self.cur_kind = CUR_NONE
        return True

    cdef bint _feed_line(self) except -1:
        """Continue the current str or bytes line, split as a line of a file is: in pieces that fit
        in `out` (feed()'s bound), the end of the string ending the line. False if `out` is full
        first."""
        cdef PyObject *o = <PyObject *>self.cur
        cdef bint is_str = self.cur_kind == CUR_STR
        cdef Py_ssize_t total = PyUnicode_GET_LENGTH(o) if is_str else PyBytes_GET_SIZE(o)
        cdef bint ascii = is_str and PyUnicode_IS_ASCII(o)
        cdef Py_ssize_t room, take, nbytes
        cdef const uint8_t *p
        while self.cur_pos < total:
            room = (self.out_cap - self.n_out - 64 - 8) // 3
            if room < 64:
                return False
            if not is_str or ascii:
                take = min(total - self.cur_pos, room)
                if is_str:
                    p = <const uint8_t *>PyUnicode_DATA(o) + self.cur_pos
                else:
                    p = <const uint8_t *>PyBytes_AS_STRING(o) + self.cur_pos
                nbytes = take
            else:
                take = min(total - self.cur_pos, room // 4)
                _reserve(<void **>&self.scratch, &self.scratch_cap, 4 * <uint64_t>take + 8)
                nbytes = _encode_utf8(PyUnicode_KIND(o), PyUnicode_DATA(o), self.cur_pos, self.cur_pos + take,
                                      self.scratch)
                p = self.scratch
            self._feed(p, nbytes)
            self.bytes_read += nbytes
            self.cur_pos += take
        # the end of the string ends its line, as the end of a file ends its last line
        self._end_part()
        if self.line_open or self.line_tokens:
            self._end_line()
        self.line_open = False
        self.bytes_read += 1
        self.cur = None
        self.cur_kind = CUR_NONE
        return True

    def end_file(self, uint32_t[::1] out):
        """The current file ended: finish its last token and line. `out` must hold 64 ids."""
        self.out = &out[0]
        self.out_cap = out.shape[0]
        self.n_out = 0
        self.overflow = False
        self._end_part()
        if self.line_open or self.line_tokens:
            self._end_line()
        self.line_open = False
        if self.overflow:
            raise RuntimeError("scanner output overflow")
        return self.n_out
