"""Phrases: join frequent collocations ("new york" -> "new_york") before training.

As word2vec.c's word2phrase: two adjacent words a b are scored

    (count(ab) - delta) / (count(a) * count(b)) * total_words

and joined with "_" when the score is above `threshold` (default 100) and the pair and both words
occur at least `min_count` times (default 5; `delta` defaults to min_count, as in word2phrase).
gensim's normalised PMI is the other scoring (scoring="npmi": ln(p(ab) / (p(a) p(b))) / -ln(p(ab)),
p(x) = count(x) / total_words, in [-1, 1]; default threshold 0.5). Joining runs from left to right:
when a pair is joined, the word after it starts a new candidate pair. passes=2 learns a second
table on the joined text, which joins phrases to words ("new_york times" -> "new_york_times").

Counting is compiled: the scanner (_scan.TokenTable) turns the text into ids and a table of
adjacent id pairs counts the bigrams (_phrases.BigramCounter); pairs never span lines. When the
words and pairs held exceed `max_entries`, the rarest are pruned as word2phrase's ReduceVocab
does (those seen at most once, at the next pruning at most twice, ...): memory stays bounded,
counts of rare words and pairs become approximate, and the model says so (`info[i].pruned`).

Applying a model copies the text and replaces only the whitespace between joined words by "_"
(_phrases.Joiner); every other byte stays as it was.

Where this differs from word2phrase.c: pairs are counted within lines (word2phrase also counts the
pair of a line's last word and the next line's first word, though it never joins it); tokens are
never truncated (word2phrase cuts words at 59 bytes); scores are computed in double precision
(word2phrase: float); the text keeps its own spacing (word2phrase writes one space between words).
"""
import dataclasses
import json
import math
import os

import numpy as np

from . import _phrases
from ._io import atomic_write, describe_os_error
from ._scan import TokenTable
from .corpus import ReadStats, iter_blocks, list_files, read_ahead
from .errors import W2VError

__all__ = ["Phrases", "PassInfo", "learn", "load", "SCORINGS"]

SCORINGS = ("word2phrase", "npmi")
DEFAULT_THRESHOLD = {"word2phrase": 100.0, "npmi": 0.5}
MAX_ENTRIES = 40_000_000        # words + pairs held while counting (gensim's max_vocab_size)
FORMAT = "w2v-phrases"
VERSION = 1
_NO_SPLIT = 1 << 62             # the scanner's longest sentence: lines are never split here


@dataclasses.dataclass
class PassInfo:
    """What one pass over the corpus counted."""
    total_words: int = 0        # tokens read
    words: int = 0              # distinct words held at the end (fewer than seen if pruned)
    pairs: int = 0              # distinct adjacent pairs held at the end
    pruned: int = 0             # times rare words and pairs were pruned to bound memory
    prune_threshold: int = 0    # the last pruning removed entries seen at most this many times
    peak_entries: int = 0       # most words + pairs held at once


@dataclasses.dataclass
class _Table:
    """The phrases of one pass: pair i is first[i] second[i] (token bytes), seen counts[i] times,
    with score scores[i]."""
    first: list
    second: list
    counts: np.ndarray
    scores: np.ndarray
    info: PassInfo
    _pairs: set = None

    def __len__(self):
        return len(self.first)

    def joiner(self):
        words = sorted(set(self.first) | set(self.second))
        index = {w: i for i, w in enumerate(words)}
        a = np.array([index[w] for w in self.first], dtype=np.int64)
        b = np.array([index[w] for w in self.second], dtype=np.int64)
        return _phrases.Joiner(words, a, b)

    def pairs(self):
        if self._pairs is None:
            self._pairs = {(_str(a), _str(b)) for a, b in zip(self.first, self.second)}
        return self._pairs


def _str(token):
    """A token's bytes as text; invalid UTF-8 kept as surrogate escapes, so it stays distinct."""
    return token.decode("utf-8", "surrogateescape")


def _bytes(word):
    return word.encode("utf-8", "surrogateescape")


class Phrases:
    """A phrase model: scoring parameters and one table of joined pairs per pass.

        model = w2v.phrases.learn("corpus.txt", passes=2)
        model.apply(["the", "new", "york", "times"])      # ['the', 'new_york_times']
        model.write("corpus.txt", "joined.txt")
        model.save("phrases.txt"); w2v.phrases.load("phrases.txt")
    """

    def __init__(self, scoring="word2phrase", min_count=5, threshold=None, delta=None, max_entries=MAX_ENTRIES):
        if scoring not in SCORINGS:
            raise W2VError(f"--scoring must be one of {', '.join(SCORINGS)}, not {scoring!r}")
        _check_int("--min-count", min_count, 1)
        _check_int("--max-entries", max_entries, 1)
        if threshold is None:
            threshold = DEFAULT_THRESHOLD[scoring]
        threshold = _check_number("--threshold", threshold)
        if scoring == "npmi" and not -1.0 <= threshold <= 1.0:
            raise W2VError(f"--threshold must be between -1 and 1 with npmi scoring, not {threshold}")
        if delta is not None and scoring != "word2phrase":
            raise W2VError("--delta applies to word2phrase scoring only; leave it out with npmi")
        if delta is None:
            delta = float(min_count) if scoring == "word2phrase" else 0.0
        delta = _check_number("--delta", delta)
        if delta < 0:
            raise W2VError(f"--delta must be at least 0, not {delta}")
        self.scoring = scoring
        self.min_count = min_count
        self.threshold = threshold
        self.delta = delta
        self.max_entries = max_entries
        self.tables = []

    def __repr__(self):
        return (f"Phrases(scoring={self.scoring!r}, min_count={self.min_count}, threshold={self.threshold}, "
                f"passes={len(self.tables)}, phrases={len(self)})")

    def __len__(self):
        return sum(len(t) for t in self.tables)

    @property
    def passes(self):
        return len(self.tables)

    @property
    def info(self):
        """PassInfo per pass: words counted, pruning."""
        return [t.info for t in self.tables]

    @property
    def phrasegrams(self):
        """{"new_york": score, ...} for every pass's phrases (gensim's FrozenPhrases.phrasegrams)."""
        return {f"{_str(a)}_{_str(b)}": float(s) for t in self.tables
                for a, b, s in zip(t.first, t.second, t.scores)}

    def table(self, pass_index=None):
        """[(first word, second word, count, score), ...] of one pass (0-based) or of all, most
        frequent first within each pass."""
        tables = self.tables if pass_index is None else [self.tables[pass_index]]
        return [(_str(a), _str(b), int(c), float(s)) for t in tables
                for a, b, c, s in zip(t.first, t.second, t.counts, t.scores)]

    # -- learning --

    def learn_pass(self, corpus, progress=None, block_bytes=None):
        """Count one more pass over `corpus` (with the phrases learned so far joined into it) and
        add its phrases. Returns the new pass's PassInfo."""
        stats = ReadStats()
        words = TokenTable(_NO_SPLIT)
        pairs = _phrases.BigramCounter()
        info = PassInfo()
        blocks = iter_blocks(corpus, stats, block_bytes)
        if self.tables:
            blocks = self.joined_blocks(blocks)
        out = np.empty(64, dtype=np.uint32)
        total = 0       # counted as read: a prune forgets the pruned words' counts
        for block in read_ahead(blocks):
            if block is None:
                n = words.end_file(out)
            else:
                if len(out) < 3 * len(block) + 64:
                    out = np.empty(3 * len(block) + 64, dtype=np.uint32)
                n = words.feed(block, out)
                if progress is not None:
                    progress(stats.bytes_read)
            pairs.count(out[:n])
            total += n - int(np.count_nonzero(out[:n] == 0))      # tokens (0 ends a sentence)
            held = len(words) + len(pairs)
            info.peak_entries = max(info.peak_entries, held)
            if held > self.max_entries:
                # word2phrase's ReduceVocab: forget what was seen at most 1, then 2, ... times
                info.prune_threshold += 1
                info.pruned += 1
                n_old = words.next_id
                survivors = words.prune(info.prune_threshold)    # renumbers the words that stay
                new_ids = np.unpackbits(survivors, bitorder="little")[:n_old].astype(np.uint32)
                new_ids = np.where(new_ids == 1, np.cumsum(new_ids, dtype=np.uint32) - 1, 0).astype(np.uint32)
                # pairs follow their words' new ids; if the block ended on a word just pruned, its
                # pair with the next block's first word is not counted (the word comes back anew)
                pairs.prune(info.prune_threshold, new_ids)
        counts = words.counts()
        info.total_words = total
        info.words, info.pairs = len(words), len(pairs)
        if info.total_words == 0:
            raise W2VError(f"corpus {os.fspath(corpus)} contains no words; give a non-empty text file")
        scoring = _phrases.SCORE_NPMI if self.scoring == "npmi" else _phrases.SCORE_WORD2PHRASE
        a, b, c, s = pairs.score(counts, info.total_words, self.min_count, self.delta, self.threshold, scoring)
        del pairs
        order = np.lexsort((b, a, -c))          # most frequent first; ties by first appearance
        a, b, c, s = a[order], b[order], c[order], s[order]
        ids, tokens, _ = words.items()
        pa, pb = np.searchsorted(ids, a), np.searchsorted(ids, b)
        # a pair held after pruning has both its words held (a word is never rarer than its pairs)
        assert np.array_equal(ids[pa], a) and np.array_equal(ids[pb], b)
        self.tables.append(_Table([tokens[i] for i in pa.tolist()], [tokens[i] for i in pb.tolist()],
                                  c, s, info))
        return info

    # -- applying --

    def apply(self, sentence):
        """The sentence (a list of tokens) with its phrases joined by "_", pass after pass."""
        if isinstance(sentence, (str, bytes)):
            raise W2VError("apply() takes a sentence as a list of tokens (e.g. line.split()), not a string")
        tokens = list(sentence)
        for t in self.tables:
            pairs = t.pairs()
            out = []
            can_start = False
            for tok in tokens:
                if can_start and (out[-1], tok) in pairs:
                    out[-1] = f"{out[-1]}_{tok}"
                    can_start = False       # the word after a phrase starts a new pair
                else:
                    out.append(tok)
                    can_start = True
            tokens = out
        return tokens

    def __getitem__(self, sentence):
        return self.apply(sentence)

    def joined_blocks(self, blocks, joiners=None):
        """Text blocks (bytes; None after each file's last block, as corpus.iter_blocks yields
        them) with the phrases joined, in the same shape. `joiners`: a list to receive the
        compiled joiners (one per pass) and with them the number of times each phrase was joined."""
        chain = [t.joiner() for t in self.tables]
        if joiners is not None:
            joiners.extend(chain)
        for block in blocks:
            if block is None:
                tail = b""
                for j in chain:
                    tail = (j.feed(tail) if tail else b"") + j.end_file()
                if tail:
                    yield tail
                yield None
                continue
            for j in chain:
                block = j.feed(block)
            if block:
                yield block

    def write(self, corpus, output, progress=None, block_bytes=None):
        """Write the corpus with its phrases joined to `output`, atomically (a temporary file,
        then a rename): one file for all the corpus's files. Returns the times each phrase was
        joined: one int64 array per pass, in the order of table(pass)."""
        output = os.fspath(output)
        _check_output_outside(corpus, output)
        stats = ReadStats()
        joiners = []
        with atomic_write(output) as fh:
            # decompressing in the reading thread, joining (without the GIL) and writing in this one
            for block in self.joined_blocks(read_ahead(iter_blocks(corpus, stats, block_bytes)), joiners):
                if block is not None:
                    fh.write(block)
                    if progress is not None:
                        progress(stats.bytes_read)
        if not joiners:
            joiners = [t.joiner() for t in self.tables]
        return [j.joins() for j in joiners]

    # -- files --

    def dumps(self):
        """The model as bytes: what save() writes."""
        header = {"scoring": self.scoring, "min_count": self.min_count, "threshold": self.threshold,
                  "delta": self.delta, "max_entries": self.max_entries,
                  "passes": [dict(dataclasses.asdict(t.info), phrases=len(t)) for t in self.tables]}
        lines = [f"{FORMAT} {VERSION}".encode(), json.dumps(header).encode()]
        for k, t in enumerate(self.tables, 1):
            for a, b, c, s in zip(t.first, t.second, t.counts.tolist(), t.scores.tolist()):
                lines.append(b"%d %s %s %d %s" % (k, a, b, c, repr(s).encode()))
        return b"\n".join(lines) + b"\n"

    def save(self, path):
        """Write the model to a small text file, atomically: a header line, the parameters as
        JSON, then one line per phrase: pass, first word, second word, count, score."""
        with atomic_write(path) as fh:
            fh.write(self.dumps())

    @classmethod
    def loads(cls, data, name="phrase model"):
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        if not lines or lines[0] != f"{FORMAT} {VERSION}".encode():
            if lines and lines[0].startswith(FORMAT.encode()):
                raise W2VError(f"{name}: phrase model version {lines[0][len(FORMAT):].strip().decode(errors='replace')!r}"
                               f" is not supported (this w2v reads version {VERSION})")
            raise W2VError(f"{name} is not a w2v phrase model (save one with `w2v phrases ... --save-model FILE`)")
        try:
            header = json.loads(lines[1]) if len(lines) > 1 else None
            model = cls(header["scoring"], header["min_count"], header["threshold"],
                        header["delta"] if header["scoring"] == "word2phrase" else None, header["max_entries"])
            infos = [(PassInfo(**{k: int(v) for k, v in p.items() if k != "phrases"}), int(p["phrases"]))
                     for p in header["passes"]]
        except (ValueError, KeyError, TypeError, AttributeError, W2VError) as exc:
            raise W2VError(f"{name}: line 2: bad parameters ({exc}); the file is damaged") from None
        rows = [([], [], [], []) for _ in infos]
        for line_no, line in enumerate(lines[2:], 3):
            fields = line.split(b" ")
            try:
                if len(fields) != 5 or not fields[1] or not fields[2]:
                    raise ValueError(f"expected 5 fields, got {len(fields)}")
                k, count, score = int(fields[0]), int(fields[3]), float(fields[4])
                if not 1 <= k <= len(infos):
                    raise ValueError(f"pass {k} is not among the {len(infos)} passes")
                if count < 1 or not math.isfinite(score) or any(c in f for f in fields[1:3] for c in b"\t\r\x0b\x0c\0"):
                    raise ValueError("bad count, score or word")
            except ValueError as exc:
                raise W2VError(f"{name}: line {line_no}: not a phrase line 'pass first second count score' "
                               f"({exc}); the file is damaged") from None
            r = rows[k - 1]
            r[0].append(fields[1])
            r[1].append(fields[2])
            r[2].append(count)
            r[3].append(score)
        for k, ((info, n), r) in enumerate(zip(infos, rows), 1):
            if len(r[0]) != n:
                raise W2VError(f"{name}: pass {k} should have {n} phrases but has {len(r[0])}; the file is damaged "
                               f"(truncated?)")
            if len(set(zip(r[0], r[1]))) != n:
                raise W2VError(f"{name}: pass {k} lists a phrase twice; the file is damaged")
            model.tables.append(_Table(r[0], r[1], np.array(r[2], dtype=np.int64),
                                       np.array(r[3], dtype=np.float64), info))
        return model

    @classmethod
    def load(cls, path):
        """Read a model written by save(). W2VError if it is missing or damaged."""
        path = os.fspath(path)
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise W2VError(describe_os_error(exc, path, "read the phrase model")) from None
        return cls.loads(data, path)

    def to_dict(self):
        """A JSON-able form (saved inside model checkpoints)."""
        return {"format": FORMAT, "text": self.dumps().decode("utf-8", "surrogateescape")}

    @classmethod
    def from_dict(cls, d):
        return cls.loads(d["text"].encode("utf-8", "surrogateescape"), "the phrase model stored with the model")


def learn(corpus, passes=1, scoring="word2phrase", min_count=5, threshold=None, delta=None,
          max_entries=MAX_ENTRIES, progress=None, block_bytes=None):
    """Learn a phrase model from a corpus (a text or .gz file, or a directory of them), in `passes`
    passes: each pass counts the corpus with the earlier passes' phrases joined.

    scoring "word2phrase" (word2vec.c: (count(ab) - delta) / (count(a) count(b)) * total_words,
    threshold default 100, delta default min_count) or "npmi" (gensim's normalised PMI, threshold
    in [-1, 1], default 0.5). max_entries: words + pairs held while counting before the rarest are
    pruned. progress: optional callable(pass_index, bytes_read)."""
    if isinstance(passes, bool) or not isinstance(passes, int) or passes < 1:
        raise W2VError(f"--passes must be a positive whole number, not {passes!r}")
    model = Phrases(scoring, min_count, threshold, delta, max_entries)
    list_files(corpus)      # a missing corpus fails before anything else
    for k in range(passes):
        tick = None if progress is None else (lambda nbytes, k=k: progress(k, nbytes))
        model.learn_pass(corpus, progress=tick, block_bytes=block_bytes)
    return model


def load(path):
    """Read a phrase model written by Phrases.save()."""
    return Phrases.load(path)


def resolve(phrases, corpus, progress=None):
    """What `w2v.train(..., phrases=...)` accepts as a Phrases: None, a Phrases, a number of
    passes to learn with the default settings, or the path of a saved model."""
    if phrases is None or isinstance(phrases, Phrases):
        return phrases
    if isinstance(phrases, bool):
        raise W2VError(f"phrases must be a number of passes, a phrase model file or a Phrases, not {phrases!r}")
    if isinstance(phrases, int):
        if not isinstance(corpus, (str, bytes, os.PathLike)):
            raise W2VError("learning phrases reads the corpus once per pass before training reads it again: give a "
                           "path (a file or a directory), or a phrase model learnt beforehand (w2v phrases ... "
                           "--save-model FILE, then --phrases FILE)")
        return learn(corpus, passes=phrases, progress=progress)
    if isinstance(phrases, (str, os.PathLike)):
        return Phrases.load(phrases)
    raise W2VError(f"phrases must be a number of passes, a phrase model file or a Phrases, not {phrases!r}")


def _check_output_outside(corpus, output):
    corpus = os.fspath(corpus)
    if os.path.isdir(corpus):
        root = os.path.realpath(corpus)
        where = os.path.realpath(os.path.dirname(os.path.abspath(output)))
        if where == root or where.startswith(root + os.sep):
            raise W2VError(f"output {output} is inside the corpus directory {corpus}, where it would be read "
                           f"as part of the corpus next time; write it elsewhere")


def _check_int(flag, value, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise W2VError(f"{flag} must be a whole number, not {value!r}")
    if value < low:
        raise W2VError(f"{flag} must be at least {low}, not {value}")


def _check_number(flag, value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise W2VError(f"{flag} must be a number, not {value!r}") from None
    if not math.isfinite(value):
        raise W2VError(f"{flag} must be a finite number, not {value}")
    return value
