"""Training across machines on Dask (dask.distributed), with the same compiled kernels on every worker.

A run, step by step:

1. Shards. The corpus (a file, a directory, a glob pattern, or a list of them) is a list of files, dealt to
   the shards by size (largest first, each to the shard with the fewest bytes so far). Every worker reads its
   own shard's files: the client and the workers must see them under the same paths (a shared file system).
2. Vocabulary. Every worker counts its files, one at a time (w2v.vocab.scan with min_count=1), and returns
   each file's words in the order they first appear, with their counts. The client adds the counts up by word
   and chooses the vocabulary exactly as one process reading the files in order would (min_count, max_vocab,
   descending count, ties by first appearance), and every worker encodes its shard with it (w2v.vocab.encode).
3. Rounds. Every worker holds a replica of the weight matrices and trains its shard with the compiled kernels
   on all its threads (the single-process driver: train._segment), one round at a time. The rounds cut every
   shard's epoch into the same number of parts (about round_words words on the largest shard). After a round
   each worker sends the rows it changed; the client adds the workers' changes (new row minus the row at the
   round's start) to its master copy, as the threads of one process merge their copies of the frequent rows,
   and sends each worker the rows the others changed, so every replica starts the next round equal to the
   master copy. A frequent row reaches where its shard pulls it long before a round ends, so every worker's
   change of it is about the same step: the sum of c of them overshoots by c - 1 steps, and with c > 2 the
   overshoot grows every round (the run diverges). The default merge ("scaled", see reconcile) measures per
   band of frequency how far the rows still move in a round's second half, and scales the sum of the rows
   that more than two workers took most of the way down to what two workers' sum would do; rows that move
   linearly keep the sum. merge="sum" and merge="average" (Spark MLlib's rule since SPARK-24666) for comparison.
4. Learning rate. One schedule for all workers: at a round's start each worker's progress counter is set to
   the global words done scaled to its shard (words done x shard words / corpus words) against a total of
   its shard's words x epochs, so its rate is the one global progress gives, also within the round as long
   as the shards advance at the same pace (each round is the same share of every shard).
5. Faults. When a worker dies mid-round, only that round's work on its shard is lost: the client re-creates
   the replica from the master copy on a surviving or a new worker and trains that shard's round again.
6. Checkpoints at round boundaries: the master copy and the run's position, in w2v's model file format
   (model.extra["distributed"] holds the shards and the next round).

Determinism: with one thread per worker and a fixed seed a run repeats bit for bit, also when a worker is
lost or the run resumes from a checkpoint. Shard 0 trains with the run's seed and shard k > 0 with a seed
derived from it, so one worker with one thread repeats a single-process one-thread run exactly.

Dask is optional: it is imported only when a run starts (pip install "w2v[distributed]").
"""
import asyncio
import concurrent.futures
import dataclasses
import glob
import logging
import os
import sys
import time
import warnings

import numpy as np

from .corpus import fingerprint_mismatch, list_files
from . import _kernels
from ._scan import TokenTable
from .errors import DivergedError, W2VError
from .params import Params, usable_cores
from .train import (Checkpointer, Progress, Schedule, Word2Vec, _CtrlC, _Reporter, _RunStats, _aligned_rows,
                    _call, _fmt_bytes, _fmt_time, _segment, available_memory, chunk_bounds, init_weights,
                    train_state)
from .vocab import _DROP, EOS, Vocab, encode, scan

ROUND_WORDS = 250_000       # default corpus words per worker (on the largest shard) between reconciliations
# defaults by the number of shards (measured on wiki17m, 3 epochs: benchmarks/results/distributed-overlap/):
# with two, overlapping rounds and rare rows every 8th round keep one process's accuracy and cut the wall time;
# with more, overlapping costs accuracy (4 shards: 19.1 % analogy against 24.5 %)
FEW_SHARDS = 2
RARE_EVERY_FEW = 8          # rounds between two exchanges of the rare words' rows, with two shards or fewer
RARE_EVERY_MANY = 1         # with more
FREQUENT_SHARE = 0.9        # the frequent words: the most frequent ones that make up this share of the corpus
MATRICES = ("syn0", "syn1neg")   # the weight matrices a replica trains and the rounds reconcile
MERGES = ("scaled", "sum", "average")
SAMPLE_EVERY = 8            # the rows whose half-round change the workers report: every 8th, and ...
SAMPLE_TOP = 1024           # ... all of the most frequent words' (the measurement's input, see contraction())
PULL = 2.0                  # merge "scaled": at most this many times the way one worker took a row to its shard's
                            # pull (2: like the sum of two workers, which never grows an overshoot)
LOCAL_WORKER_CONFIG = {"distributed.worker.profile.enabled": False,
                       "distributed.worker.memory.monitor-interval": "1s",
                       "distributed.admin.system-monitor.interval": "5s"}
# On Linux the nannies fork the workers from this process (which has imported numpy, Dask and w2v) instead of
# starting new interpreters that import them again: the local cluster starts in 0.25-0.33 s instead of 0.8-0.95 s
LOCAL_FORK = sys.platform.startswith("linux")
POLL_SECONDS = 0.005        # how often the client looks at the workers' rounds in flight
LOST_CHECK_SECONDS = 1.0    # a round still running after this long: the client asks the scheduler if its workers live
RETRIES = 3                 # attempts of a shard's round on new replicas before the run gives up
RECOVER_SECONDS = 60.0      # how long the client waits for a worker to take over a lost shard
FRESH_WORKER_SECONDS = 5.0  # ... preferring, for this long, a worker that holds no replica yet


def _local_config():
    """Dask's settings for a local cluster's workers (see LOCAL_WORKER_CONFIG and LOCAL_FORK). A way of starting
    them other than Dask's default (spawn) that the caller has set stays."""
    import dask
    config = dict(LOCAL_WORKER_CONFIG)
    if LOCAL_FORK and dask.config.get("distributed.worker.multiprocessing-method", "spawn") == "spawn":
        config["distributed.worker.multiprocessing-method"] = "fork"
    return config


def _dask():
    try:
        import distributed
    except ImportError:
        raise W2VError('distributed training needs Dask: pip install "w2v[distributed]" '
                       '(or pip install "dask[distributed]")') from None
    return distributed


@dataclasses.dataclass
class RoundProgress(Progress):
    """What callbacks receive from a distributed run: a Progress (event "round_end" after every round,
    "epoch_end" after every epoch) with the round's traffic. words_per_sec counts all workers."""
    round: int = 0              # rounds done in this run, over all epochs
    rounds: int = 0             # rounds planned over all epochs
    workers: int = 0            # replicas (shards) training
    bytes_up: int = 0           # this round: rows the workers sent to the client (indices and values)
    bytes_down: int = 0         # this round: rows the client sent back
    seconds: float = 0.0        # this round's wall time
    reconcile_seconds: float = 0.0   # of which merging on the client
    recoveries: int = 0         # replicas re-created after a worker was lost, in this run so far


# ---------------------------------------------------------------------------------------
# corpus, shards, vocabulary
# ---------------------------------------------------------------------------------------

def corpus_files(corpus):
    """The files of a corpus given as a file, a directory, a glob pattern or a list of them, in order
    (a directory's files sorted, a pattern's matches sorted), as absolute paths."""
    items = [corpus] if isinstance(corpus, (str, bytes, os.PathLike)) else list(corpus)
    if not items:
        raise W2VError("the corpus is an empty list; give files, directories or glob patterns")
    files = []
    for item in items:
        item = os.fspath(item)
        if isinstance(item, bytes):
            item = os.fsdecode(item)
        if not os.path.exists(item) and glob.has_magic(item):
            matches = sorted(glob.glob(item))
            if not matches:
                raise W2VError(f"no file matches the pattern {item}; check the path")
            for m in matches:
                files.extend(list_files(m))
        else:
            files.extend(list_files(item))
    files = [os.path.abspath(f) for f in files]
    seen = set()
    for f in files:
        if f in seen:
            raise W2VError(f"corpus file {f} is given twice; give each file once")
        seen.add(f)
    return files


def corpus_fingerprint(files):
    """What identifies the corpus's files without reading them through (the client reads none): per file, its
    path, size, mtime and a hash of its first and last 64 KiB, in corpus.fingerprint_mismatch's form."""
    import hashlib
    out = []
    for name in files:
        st = os.stat(name)
        h = hashlib.sha256()
        try:
            with open(name, "rb") as fh:
                h.update(fh.read(65536))
                if st.st_size > 65536:
                    fh.seek(max(65536, st.st_size - 65536))
                    h.update(fh.read(65536))
        except OSError as exc:
            raise W2VError(f"cannot read corpus file {name}: {exc.strerror or exc}") from None
        out.append({"file": os.path.basename(name), "size": st.st_size, "mtime": int(st.st_mtime), "sha256": h.hexdigest()})
    return {"files": out}


def assign_shards(sizes, n):
    """Deal files (by their sizes) to n shards: largest first, each to the shard with the fewest bytes so
    far (the lowest-numbered among equals). Returns n lists of file indices, each in corpus order."""
    if len(sizes) < n:
        raise W2VError(f"the corpus has {len(sizes)} file(s), fewer than the {n} workers: split it into at least "
                       f"{n} files (e.g. `split -n l/{n}` for a plain-text file) or use fewer workers")
    load = [0] * n
    shards = [[] for _ in range(n)]
    for i in sorted(range(len(sizes)), key=lambda i: (-sizes[i], i)):
        k = min(range(n), key=lambda j: (load[j], j))
        shards[k].append(i)
        load[k] += sizes[i]
    return [sorted(s) for s in shards]


def shard_seed(seed, shard):
    """The seed shard `shard` trains with: the run's own for shard 0, one derived from it for the others."""
    if shard == 0:
        return seed
    return int(np.random.SeedSequence([seed, shard]).generate_state(1, np.uint64)[0] >> np.uint64(1))


def merge_counts(per_file, min_count, max_vocab):
    """The vocabulary of files counted one by one: per_file holds, in corpus order, each file's words in
    the order they first appear in it (one string, a word per line) and their counts. Counts are added by word; the words seen at least
    min_count times are sorted by descending count, ties by first appearance in the corpus (as vocab.scan
    orders them), and the first max_vocab kept (0: all). Returns (Vocab, per file: has a vocabulary word)."""
    tokens = sum(f["tokens"] for f in per_file)
    pruned = sum(f["pruned"] for f in per_file)
    threshold = max([f["threshold"] for f in per_file], default=0)
    lists = [_unpack(f["words"]) for f in per_file]
    numbers = _word_numbers(per_file, lists)
    counts = np.zeros(1 + max([int(n.max()) for n in numbers if len(n)], default=-1), dtype=np.int64)
    for f, n in zip(per_file, numbers):
        counts[n] += np.asarray(f["counts"], dtype=np.int64)     # a file lists each of its words once
    kept = np.flatnonzero(counts >= min_count)
    if len(kept) == 0:
        top = int(counts.max()) if len(counts) else 0
        raise W2VError(f"no word occurs at least {min_count} times (the most frequent occurs {top} times); "
                       f"lower --min-count or use a larger corpus")
    kept = kept[np.lexsort((kept, -counts[kept]))]
    if max_vocab:
        kept = kept[:max_vocab]
    # a word's text: where its number first occurs, in the files' lists one after the other
    every = [w for words in lists for w in words]
    # (numbers are given in order of first appearance: a word's first place is where the running maximum grows)
    joined = np.concatenate(numbers) if numbers else np.zeros(0, dtype=np.int64)
    top = np.maximum.accumulate(joined)
    first = np.flatnonzero(np.concatenate([[True], top[1:] > top[:-1]])) if len(joined) else joined
    chosen = [every[i] for i in first[kept].tolist()]
    vocab = Vocab(words=chosen, counts=counts[kept], total_tokens=tokens, distinct=len(counts), pruned=pruned,
                  prune_threshold=threshold,
                  bad_utf8=sum(1 for w in chosen if "\ufffd" in w))   # words that hold U+FFFD
    final = np.zeros(len(counts), dtype=bool)
    final[kept] = True
    useful = [bool(final[n].any()) for n in numbers]
    return vocab, useful


_NO_SPLIT = 1 << 62         # a token table's longest line: never split (a word per line here)


def _word_numbers(per_file, lists):
    """Per file, its words' numbers (int64): 0, 1, 2, ... in order of first appearance in the corpus. The
    compiled token table numbers them (its ids, less one); a word it would cut in pieces (a run of over
    LONG_RUN bytes once written as UTF-8) leaves the numbering to a dict."""
    table = TokenTable(_NO_SPLIT, capacity=max([len(words) for words in lists], default=0) * 2)
    out = np.empty(64, dtype=np.uint32)
    numbers = []
    for f, words in zip(per_file, lists):
        data = f["words"].encode("utf-8", "surrogatepass") + b"\n" if words else b""
        if len(out) < 3 * len(data) + 64:
            out = np.empty(3 * len(data) + 64, dtype=np.uint32)
        ids = out[:table.feed(data, out)] if data else out[:0]
        ids = ids[ids != 0]                 # every word ends a line: a sentence end (0) after each
        if len(ids) != len(words):
            return _dict_numbers(lists)
        numbers.append(ids.astype(np.int64) - 1)
    return numbers


def _dict_numbers(lists):
    index = {}
    return [np.array([index.setdefault(w, len(index)) for w in words], dtype=np.int64) for words in lists]


def _pack(words):
    """Words as one string (a token never holds whitespace): Dask sends a list item by item, one string at once."""
    return "\n".join(words)


def _unpack(text):
    return text.split("\n") if text else []


def frequent_rows(counts, share=FREQUENT_SHARE):
    """How many of the most frequent words (rows, the vocabulary being sorted by count) make up `share` of
    the corpus's words."""
    cum = np.cumsum(np.asarray(counts, dtype=np.float64))
    return int(min(len(cum), np.searchsorted(cum, share * cum[-1]) + 1)) if len(cum) else 0


def _reencode(ids, words, index, step=1 << 22):
    """A file's ids in the vocabulary `index` (word -> id), from its ids in its own vocabulary `words`
    (a scan with min_count 1 that pruned nothing): what encode() gives when it reads the file again.
    Rewritten in place, block by block. Returns the ids and the number of tokens dropped (not in the
    vocabulary)."""
    table = np.fromiter((index.get(w, _DROP) for w in words), dtype=np.uint32, count=len(words))
    table = np.append(table, np.uint32(EOS))        # EOS (beyond every id) clips to it
    pos = dropped = 0
    for i in range(0, len(ids), step):
        block = np.take(table, ids[i:i + step], mode="clip")
        keep = block != _DROP
        block = block[keep]
        dropped += len(keep) - len(block)
        ids[pos:pos + len(block)] = block
        pos += len(block)
    return ids[:pos], dropped


def _has_tokens(name):
    from .corpus import iter_blocks
    return any(block and block.replace(b"\0", b" ").split() for block in iter_blocks(name))


def _concatenate(parts, cache_dir):
    """One uint32 array of the parts (a memory-mapped temporary file in cache_dir if given)."""
    if len(parts) == 1:
        return parts[0]
    n = sum(len(p) for p in parts)
    if cache_dir is None:
        out = np.empty(n, dtype=np.uint32)
    else:
        import tempfile
        fd, name = tempfile.mkstemp(prefix="w2v-shard-", suffix=".u32", dir=cache_dir)
        os.close(fd)
        out = np.memmap(name, dtype=np.uint32, mode="w+", shape=(max(n, 1),))[:n]
        os.unlink(name)     # the mapping keeps the data alive; nothing is left behind
    pos = 0
    while parts:
        part = parts.pop(0)
        out[pos:pos + len(part)] = part
        pos += len(part)
    return out


# ---------------------------------------------------------------------------------------
# a worker's replica (a Dask actor)
# ---------------------------------------------------------------------------------------

class Replica:
    """One shard's replica of the model, on a Dask worker: its encoded files, the weight matrices as
    they are and as they were at the round's start, and the compiled kernels' state."""

    def __init__(self, shard, files, params, threads=None, cache_dir=None):
        self.shard = shard
        self.files = list(files)
        self.cache_dir = cache_dir
        if threads is None:
            threads = _worker_threads()
        self.params = Params(**dict(params, threads=threads, seed=shard_seed(params["seed"], shard))).validate()
        self.vocab = None
        self.ids = None
        self.model = None
        self.counted = {}       # count(): per file, its ids in its own vocabulary, for encode()
        self._turn = None       # train_in_turn(): the calls' order, the next call's number, the training thread
        self._next = 0
        self._thread = None

    def describe(self):
        import socket
        return {"host": socket.gethostname(), "pid": os.getpid(), "threads": self.params.threads}

    def count(self):
        """Per file: its words in the order they first appear (one string, a word per line), their counts,
        and its token count."""
        out = []
        self.counted = {}
        room = (available_memory() or 0) // 4 if self.cache_dir is None else 0
        for name in self.files:
            try:
                # room for the ids from the file's size (tokens take two bytes or more; the buffer grows if
                # not), instead of reading a sample of the file to estimate them
                room_ids = os.path.getsize(name) // 3 + (1 << 16) if self.cache_dir is None else None
                enc = scan(name, min_count=1, cache_dir=self.cache_dir, first_seen=True, capacity=room_ids)
            except W2VError:
                if _has_tokens(name):
                    raise
                out.append(dict(words="", counts=np.zeros(0, dtype=np.int64), tokens=0, pruned=0, threshold=0))
                continue
            v = enc.vocab
            if not v.pruned and enc.ids.nbytes <= room:
                # kept for encode(): these ids in the run's vocabulary are what reading the file again gives
                self.counted[name] = (enc.ids, v.words)
                room -= enc.ids.nbytes
            order = enc.first_seen
            del enc
            out.append(dict(words=_pack([v.words[i] for i in order.tolist()]), counts=v.counts[order],
                            tokens=v.total_tokens, pruned=v.pruned, threshold=v.prune_threshold))
        return out

    def encode(self, words, counts, files=None):
        """Encode the shard's files (those given, if given) with the run's vocabulary (its words as one
        string, a word per line, and their counts). Returns the shard's
        words per epoch (in the vocabulary) and the tokens outside the vocabulary."""
        if files is not None:
            self.files = list(files)
        self.vocab = Vocab(words=_unpack(words), counts=np.asarray(counts, dtype=np.int64))
        counted, self.counted = self.counted, {}
        parts, oov, index = [], 0, None
        for name in self.files:
            if name in counted:
                if index is None:
                    index = {w: i for i, w in enumerate(self.vocab.words)}
                ids, dropped = _reencode(*counted.pop(name), index)
            else:
                enc = encode(name, self.vocab, cache_dir=self.cache_dir)
                ids, dropped = enc.ids, enc.oov_tokens
            parts.append(ids)
            oov += dropped
        del counted
        self.ids = _concatenate(parts, self.cache_dir) if parts else np.empty(0, dtype=np.uint32)
        self.bounds = chunk_bounds(self.ids, self.params.chunk_words)
        step = 1 << 24
        eos = [np.flatnonzero(np.asarray(self.ids[i:i + step]) == EOS) + i for i in range(0, len(self.ids), step)]
        eos = np.concatenate(eos) if eos else np.empty(0, dtype=np.int64)
        ends = np.searchsorted(eos, self.bounds)
        self.chunk_words = np.diff(self.bounds) - np.diff(ends)    # words per chunk, sentence ends aside
        self.train_words = int(self.chunk_words.sum())
        return {"train_words": self.train_words, "oov_tokens": oov, "tokens": len(self.ids)}

    def plan(self, rounds_per_epoch, corpus_words, epochs):
        """Cut the shard's epoch into rounds: chunk c belongs to round r when the words before it are in
        [r, r + 1) x shard words / rounds."""
        before = np.concatenate([[0], np.cumsum(self.chunk_words)])[:-1]
        n = len(self.chunk_words)
        self.starts = [int(np.searchsorted(before * rounds_per_epoch, self.train_words * r, side="left"))
                       for r in range(rounds_per_epoch)] + [n]
        self.corpus_words = int(corpus_words)
        self.epochs = int(epochs)

    def load(self, *weights, seed=None):
        """Start from the master copy's weight matrices (in MATRICES order), or (seed given) from the initial
        ones of a run with that seed (init_weights: what the client's master copy starts as)."""
        if seed is not None:
            weights = init_weights(len(self.vocab), self.params.dim, seed)
        v, dim = weights[0].shape
        current = []
        for w in weights:
            rows = _aligned_rows(v, dim)
            rows[:] = w
            current.append(rows)
        self.start = [np.array(w, dtype=np.float32, copy=True) for w in weights]
        self.model = Word2Vec(self.params, self.vocab, *current)
        self.model.schedule = Schedule(first_epoch=0, end_epoch=self.epochs, train_words=self.train_words, epoch=0)
        self.state = train_state(self.model, self.ids, max(1, self.epochs * self.train_words))

    async def train_in_turn(self, seq, *args):
        """train_round(*args) as the seq-th call (0, 1, ...) the client has made to this replica. Each call
        travels over its own connection, so two made one right after the other (a run's first two rounds, with
        overlap) may arrive in either order; a call waits on the worker's event loop until the one before it
        has finished, and then trains in this replica's own thread. Without it, a replica that trained its
        second round first gave a run that did not repeat."""
        if self._turn is None:
            self._turn = asyncio.Condition()
            self._thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="w2v-replica")
        async with self._turn:
            await self._turn.wait_for(lambda: self._next == seq)
        try:
            return await asyncio.get_running_loop().run_in_executor(self._thread, self.train_round, *args)
        finally:
            async with self._turn:
                self._next += 1
                self._turn.notify_all()

    def train_round(self, incoming, epoch, rnd, words_done, rows=None, half=False, overlap=False):
        """Take the rows the others changed in an earlier round (incoming: per matrix (rows, values) or None),
        train round `rnd` of `epoch` (None: none, only exchange rows) with the learning rate of global progress
        `words_done`, and return the rows this replica changed among the first `rows` (None: all; the changes
        of the others stay here and are returned by a later round).
        overlap: the replica may have trained on since the incoming rows were merged, so they come as
        increments to add, and its own rows go out as their changes since they last went out (not values)."""
        t0 = time.perf_counter()
        if incoming is not None:
            for name, start, (changed, values) in zip(MATRICES, self.start, incoming):
                if overlap:     # float16 changes are added as they come, without a float32 copy
                    _kernels.add_rows(getattr(self.model, name), changed, _wire(values), start)
                else:
                    getattr(self.model, name)[changed] = values
                    start[changed] = values
        t_apply = time.perf_counter() - t0
        s = self.model.schedule
        s.epoch_loss, s.epoch_examples, s.epoch_words, s.exact = 0.0, 0, 0, True
        run = _RunStats()
        run.ctrl_c = _CtrlC()
        # the global position on this shard's own schedule (total: its words x epochs)
        self.state.set_progress(int(words_done) * self.train_words // max(1, self.corpus_words))
        alpha_start = self.state.alpha
        halves = None
        if rnd is not None and self.starts[rnd + 1] > self.starts[rnd]:
            s.epoch, s.next_chunk = epoch, self.starts[rnd]
            a, b = self.starts[rnd], self.starts[rnd + 1]
            if half and b - a >= 2:
                # the change of the sampled rows after the round's first half (for merge "scaled")
                _segment(self.model, self.state, self.bounds, (), _Reporter(True), None, run, end_chunk=(a + b) // 2)
                sample = sampled_rows(len(self.vocab) if rows is None else min(rows, len(self.vocab)))
                halves = []
                for name, start in zip(MATRICES, self.start):
                    h = getattr(self.model, name)[sample] - start[sample]
                    moved = np.any(h != 0, axis=1)
                    halves.append((sample[moved], np.ascontiguousarray(h[moved])))
            _segment(self.model, self.state, self.bounds, (), _Reporter(True), None, run, end_chunk=b)
        t1 = time.perf_counter()
        # with overlap, changes (not values) go out, as float16 where the CPU converts them fast
        float16 = overlap and _kernels.FLOAT16_INSTRUCTIONS
        changed = [_kernels.changed_rows(getattr(self.model, name)[:rows], start[:rows], overlap, float16)
                   for name, start in zip(MATRICES, self.start)]
        return {"shard": self.shard, "words": s.epoch_words, "examples": s.epoch_examples, "loss": s.epoch_loss,
                "kept": run.kept, "alpha_start": alpha_start, "alpha_end": self.state.alpha,
                "train_seconds": t1 - t0, "apply_seconds": t_apply, "diff_seconds": time.perf_counter() - t1,
                "changed": changed, "halves": halves}


def _wire(values):
    """Rows' values or changes as the compiled kernels take them: float32, or float16 as its bits (uint16)."""
    if values.dtype == np.float16:
        return np.ascontiguousarray(values).view(np.uint16)
    return np.ascontiguousarray(values, dtype=np.float32)


def _float32(values):
    """Rows' values or changes as float32 (they may travel as float16)."""
    if values.dtype == np.float16:
        return _kernels.from_float16(values)
    return np.ascontiguousarray(values, dtype=np.float32)


def _worker_threads():
    """The threads of the Dask worker this runs on (its cores when that cannot be known)."""
    try:
        from distributed import get_worker
        w = get_worker()
        n = getattr(getattr(w, "state", None), "nthreads", None) or getattr(w, "nthreads", None)
        if n:
            return int(n)
    except (ImportError, ValueError, AttributeError):
        pass
    return usable_cores()


# ---------------------------------------------------------------------------------------
# reconciliation (on the client)
# ---------------------------------------------------------------------------------------

def sampled_rows(n):
    """The rows whose change after half a round the workers report: the first SAMPLE_TOP and every
    SAMPLE_EVERY-th after them."""
    top = min(n, SAMPLE_TOP)
    return np.concatenate([np.arange(top), np.arange(top, n, SAMPLE_EVERY)]).astype(np.int32)


def contraction(master, changed, halves, changes=False):
    """How far a row moves in the second half of a round, as a share of the first half's move, measured
    by rank band (ranks 0, 1, 2-3, 4-7, ...: rows of similar frequency behave alike), from the sampled rows:
    1 while a row moves linearly with the words it sees, 0 once it has reached where its shard pulls it
    within half a round. Only products of two different workers' changes enter (their noise is
    independent): sum over rows and pairs j != k of <h_j, f_k - h_k> over the same sum of <h_j, h_k>,
    h the first half's change and f the whole round's. Returns per row (V,) the band's value in [0, 1]
    (1 where no two workers measured the band). changed: per worker (rows, values), or with changes
    (rows, changes), reconcile_changes()'s."""
    v, dim = master.shape
    sum_h = np.zeros((v, dim))
    sum_s = np.zeros((v, dim))
    num = np.zeros(v)
    den = np.zeros(v)
    for (rows, values), (hrows, h) in zip(changed, halves):
        f = np.zeros((len(hrows), dim))
        pos = np.searchsorted(rows, hrows)
        pos = np.minimum(pos, max(len(rows) - 1, 0))
        hit = (rows[pos] == hrows) if len(rows) else np.zeros(len(hrows), dtype=bool)
        f[hit] = values[pos[hit]] if changes else values[pos[hit]] - master[hrows[hit]]
        h = h.astype(np.float64)
        second = f - h
        sum_h[hrows] += h
        sum_s[hrows] += second
        num[hrows] -= np.einsum("ij,ij->i", h, second)
        den[hrows] -= np.einsum("ij,ij->i", h, h)
    num += np.einsum("ij,ij->i", sum_h, sum_s)
    den += np.einsum("ij,ij->i", sum_h, sum_h)
    rho = np.ones(v)
    a = 0
    while a < v:
        b = min(v, max(1, 2 * a))
        d = den[a:b].sum()
        if d > 0:
            rho[a:b] = np.clip(num[a:b].sum() / d, 0.0, 1.0)
        a = b
    return rho


def _who_changed(v, changed):
    """Per row of v, how many workers changed it (changed: per worker (rows, ...)); the rows any changed, and
    the rows more than one changed."""
    count = np.zeros(v, dtype=np.int32)
    for rows, _ in changed:
        count[rows] += 1
    return count, np.flatnonzero(count), np.flatnonzero(count > 1)


def _merge_factor(master, changed, merge, halves, count, shared, changes=False):
    """What the summed change of each row several workers changed (shared; count: workers per row) is
    multiplied by, or with divide divided by: (factor, divide), factor None for the plain sum. See
    reconcile(); changes: the workers' changed rows are reconcile_changes()'s."""
    if merge not in MERGES:
        raise W2VError(f"merge must be one of {', '.join(MERGES)}, not {merge!r}")
    if merge == "average":
        return count[shared].astype(np.float32), True
    if merge == "scaled" and halves is not None and len(changed) > 2:
        # measured before the master copy changes (each worker's change is taken against the round's start)
        k = 1.0 - contraction(master, changed, halves, changes)[shared] ** 2
        return np.minimum(1.0, PULL / np.maximum(count[shared] * k, 1e-12)).astype(np.float32), False
    return None, False


def reconcile(master, changed, merge="scaled", halves=None):
    """Merge the workers' changes of one matrix into the master copy, in place, and say what to send back.

    master: (V, dim) float32, every replica's state at the round's start. changed: per worker (rows, values),
    the rows it changed and their new values. A row only one worker changed becomes exactly that worker's
    row. A row several (c) workers changed moves by the sum of their changes (values - master) times a
    scale: "sum" 1, "average" 1/c (Spark MLlib's rule since SPARK-24666), "scaled" min(1, PULL / (c k)),
    where k is the share of the way to where its shard pulls the row that one worker's round takes it
    (1 - rho^2, rho the half round's contraction(), measured from halves: per worker the (rows, change)
    of sampled_rows after the round's first half). Summing c such changes moves the row c k of the way:
    past it, and further each round, once c k > 2 (the frequent rows with more than two workers); the
    scale keeps c k at most PULL and leaves the rows that move linearly (k small: the sum) alone.
    Without halves "scaled" is "sum". Returns per worker (rows, values): the rows others changed,
    with their merged values, which make that worker's replica equal to the master copy.
    """
    v = len(master)
    count, union, shared = _who_changed(v, changed)
    factor, divide = _merge_factor(master, changed, merge, halves, count, shared)
    where = np.full(v, -1, dtype=np.int64)
    where[shared] = np.arange(len(shared))
    acc = np.zeros((len(shared), master.shape[1]), dtype=np.float32)
    for rows, values in changed:      # a row one worker changed becomes its row; the others' changes add up in acc
        _kernels.merge_changes(master, np.ascontiguousarray(rows, dtype=np.int32),
                               np.ascontiguousarray(values, dtype=np.float32), count, where, acc)
    _kernels.apply_merged(master, shared, acc, factor, divide)
    back = []
    for rows, _ in changed:
        mine = np.zeros(v, dtype=bool)
        mine[rows[count[rows] == 1]] = True
        send = union[~mine[union]].astype(np.int32)
        back.append((send, master[send]))
    return back


def reconcile_changes(master, changed, merge="scaled", halves=None):
    """reconcile() for replicas that train on while their last round is merged (overlap): each worker's
    changed rows come as (rows, changes since they last went out), and go back as (rows, what the others'
    changes add to them). A row's merged change is the sum of the workers' changes, times reconcile()'s
    factor where several changed it; the master copy takes it, and each worker is sent it less its own (with
    two workers and no factor: the other's changes as they came)."""
    v, dim = master.shape
    count, union, shared = _who_changed(v, changed)
    # float16 changes (their bits, as uint16) are read as such; they go back so, unless beyond its range
    float16 = all(values.dtype == np.float16 for _, values in changed)
    changed = [(np.ascontiguousarray(rows, dtype=np.int32), _wire(values) if float16 else _float32(values))
               for rows, values in changed]
    floats = changed
    if float16 and halves is not None:      # the contraction reads them as floats
        floats = [(rows, _float32(values.view(np.float16))) for rows, values in changed]
    factor, divide = _merge_factor(master, floats, merge, halves, count, shared, changes=True)
    if len(changed) == 2 and factor is None:
        # two workers and the plain sum: the master copy takes each one's changes as they came, and each worker
        # the other's, so no sum of the two is made
        for rows, values in changed:
            _kernels.add_rows(master, rows, values)
        return [(rows, values.view(np.float16) if float16 else values) for rows, values in changed[::-1]]
    pos = np.full(v, -1, dtype=np.int64)      # a changed row's place in the sum
    pos[union] = np.arange(len(union))
    total = np.zeros((len(union), dim), dtype=np.float32)
    for rows, values in changed:
        _kernels.add_changes(total, pos, rows, values)
    if factor is not None:
        at = pos[shared]
        total[at] = total[at] / factor[:, None] if divide else total[at] * factor[:, None]
    _kernels.add_rows(master, union.astype(np.int32), total)
    back = []
    for rows, values in changed:
        mine = np.zeros(v, dtype=bool)
        mine[rows[count[rows] == 1]] = True
        send = union[~mine[union]].astype(np.int32)
        out = np.empty((len(send), dim), dtype=np.uint16 if float16 else np.float32)
        if _kernels.others_changes(total, pos, send, rows, values, out):
            out = out.view(np.float16) if float16 else out
        else:       # beyond float16's range: as float32
            out = np.empty((len(send), dim), dtype=np.float32)
            _kernels.others_changes(total, pos, send, rows, values, out)
        back.append((send, out))
    return back


def _nbytes(pairs):
    return sum(rows.nbytes + values.nbytes for rows, values in pairs)


# ---------------------------------------------------------------------------------------
# the client's side
# ---------------------------------------------------------------------------------------

class _Connection:
    """The Dask client to train with: the one given, one connected to a scheduler's address, or a new
    cluster of local worker processes ("local:N"). Closes what it opened."""

    def __init__(self, client=None, address=None, threads=None, quiet=True):
        self.client = client
        self.cluster = None
        self.own = False
        if client is not None:
            if address is not None:
                raise W2VError("give either a Dask client or an address, not both")
            return
        if address is None:
            raise W2VError("give a Dask client (client=...) or a scheduler address (address='tcp://host:8786' "
                           "or 'local:N' for N local worker processes)")
        distributed = _dask()
        text = str(address).strip()
        level = logging.ERROR if quiet else logging.WARNING
        if text.lower().startswith("local"):
            n = _local_workers(text)
            per = threads if threads is not None else max(1, usable_cores() // n)
            import dask
            # the workers' sampling profiler (100 stack walks a second) and frequent resource polls only take
            # processor time from training on the same cores; the nannies hand this to the workers they start
            with dask.config.set(_local_config()), warnings.catch_warnings():
                warnings.filterwarnings("ignore", "This process .* is multi-threaded, use of fork", DeprecationWarning)
                self.cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=per, processes=True,
                                                        dashboard_address=":0", silence_logs=level,
                                                        preload=["w2v.distributed"])
            self.client = distributed.Client(self.cluster)
        else:
            try:
                self.client = distributed.Client(text, timeout=30)
            except (OSError, TimeoutError, ValueError) as exc:
                raise W2VError(f"cannot connect to the Dask scheduler at {text} ({exc}); check the address, "
                               f"or use local:N for N local worker processes") from None
        self.own = True

    def close(self):
        if not self.own:
            return
        for thing in (self.client, self.cluster):
            if thing is not None:
                try:
                    thing.close()
                except Exception:     # closing down after an error: report that error, not this one
                    pass


def dask_setup(worker):
    """Run by each worker of a local cluster at its start (Dask's preload hook): Ctrl-C in a terminal reaches
    every process of its group, and it is the client's to handle (it stops the run at the next round), so the
    local workers ignore it."""
    import signal
    import threading
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _local_workers(text):
    try:
        _, n = text.split(":", 1)
        n = int(n)
        if n < 1:
            raise ValueError
    except ValueError:
        raise W2VError(f"--distributed {text!r}: give local:N with N a positive number of worker processes, "
                       f"or a scheduler address like tcp://host:8786") from None
    return n


class _Failed:
    """A call that failed before it reached a worker, with the interface of the future it would have been."""

    def __init__(self, exc):
        self.exc = exc

    def done(self):
        return True

    def result(self):
        raise self.exc


class _Gone(Exception):
    """A replica's worker is no longer among the scheduler's workers."""


class _Lost(Exception):
    """A lost shard that no worker could take over: the run stops at the start of the round."""


class _Driver:
    def __init__(self, client, params, threads, merge, reporter, callbacks, checkpointer, cache_dir):
        self.client = client
        self.params = params            # the client's Params (threads: per worker, if given)
        self.threads = threads
        self.merge = merge
        self.reporter = reporter
        self.callbacks = callbacks
        self.checkpointer = checkpointer
        self.cache_dir = cache_dir
        self.replicas = []
        self.calls = []                 # per replica: the train_in_turn calls made to it so far (0 if none)
        self.where = []                 # the worker address holding each replica
        self.paths = []                 # the corpus's files
        self.files = []                 # each shard's files, as indices into paths
        self.recoveries = 0
        self.log = []                   # one dict per round
        self.overlap = False            # a replica starts its next round before the last one is merged
        self.owed = []                  # per replica: the others' changes merged since its last round was sent
        self.inflight = []              # the rounds submitted and not yet collected, oldest first
        self.ctrl_c = None              # the run's Ctrl-C flag, while the rounds run

    # -- workers and replicas --

    def workers(self):
        try:
            info = self.client.scheduler_info(n_workers=-1)     # newer Dask lists 5 workers unless asked
        except TypeError:
            info = self.client.scheduler_info()
        return sorted(info["workers"])

    def wait_for_workers(self):
        try:
            self.client.wait_for_workers(1, timeout=RECOVER_SECONDS)
        except (TimeoutError, asyncio.TimeoutError):
            raise W2VError(f"no Dask worker joined the scheduler within {RECOVER_SECONDS:.0f}s; start workers "
                           f"(dask worker ADDRESS) or use local:N") from None
        return self.workers()

    def _create(self, k, worker):
        dparams = dataclasses.asdict(self.params)
        dparams.pop("threads")
        fut = self.client.submit(Replica, k, [self.paths[i] for i in self.files[k]], dparams, self.threads, self.cache_dir, actor=True,
                                 workers=[worker], allow_other_workers=False, pure=False)
        return fut.result()

    def start(self, paths, shards):
        workers = self.wait_for_workers()
        self.paths, self.files = paths, [list(s) for s in shards]
        for k in range(len(shards)):
            w = workers[k % len(workers)]
            self.replicas.append(self._create(k, w))
            self.where.append(w)
        info = [r.describe().result() for r in self.replicas]
        self.threads_per_replica = info[0]["threads"]
        hosts = len({i["host"] for i in info})
        self.reporter.note(f"distributed: {len(shards)} shards on {len(set(self.where))} Dask workers "
                           f"({hosts} machine{'s' if hosts != 1 else ''}), {self.threads_per_replica} threads each")
        if len(shards) > 2:
            self.reporter.note(f"note: with more than two shards the merged model has lost accuracy against one "
                               f"process in every measurement so far (wiki17m, 3 epochs: 33.3 % analogy in one "
                               f"process, 24.5 % with 4 shards, 10.0 % with 8); compare with a run in one "
                               f"process before relying on {len(shards)}")

    def vocabulary(self, p):
        t0 = time.perf_counter()
        futures = [r.count() for r in self.replicas]
        per_shard = [f.result() for f in futures]
        by_file = {}
        for k, counted in enumerate(per_shard):
            for i, c in zip(self.files[k], counted):
                by_file[i] = c
        order = sorted(by_file)
        vocab, useful = merge_counts([by_file[i] for i in order], p.min_count, p.max_vocab)
        useful = dict(zip(order, useful))
        self.files = [[i for i in files if useful[i]] for files in self.files]
        self.reporter.note(f"vocabulary: {len(vocab):,} words (of {vocab.distinct:,} distinct), {vocab.train_words:,} "
                           f"of {vocab.total_tokens:,} tokens in vocabulary; counted by the workers in "
                           f"{time.perf_counter() - t0:.1f}s")
        return vocab

    def encode(self, vocab):
        t0 = time.perf_counter()
        words, counts = _pack(vocab.words), vocab.counts
        futures = [r.encode(words, counts, [self.paths[i] for i in self.files[k]])
                   for k, r in enumerate(self.replicas)]
        info = [f.result() for f in futures]
        self.shard_words = [i["train_words"] for i in info]
        self.vocab = vocab
        self.reporter.note(f"shards: {', '.join(f'{w:,}' for w in self.shard_words)} words of the vocabulary; "
                           f"encoded in {time.perf_counter() - t0:.1f}s")
        return sum(self.shard_words)

    def plan_and_load(self, rounds_per_epoch, corpus_words, epochs, master, seed=None):
        """Plan the rounds and load the master copy on every replica; with seed, the master copy is a new run's
        initial weights, which every replica makes itself instead of receiving them."""
        self.rounds_per_epoch, self.corpus_words, self.epochs = rounds_per_epoch, corpus_words, epochs
        for f in [r.plan(rounds_per_epoch, corpus_words, epochs) for r in self.replicas]:
            f.result()
        weights = [] if seed is not None else [getattr(master, name) for name in MATRICES]
        for f in [r.load(*weights, seed=seed) for r in self.replicas]:
            f.result()

    def recover(self, k, exc, master):
        """Re-create shard k's replica from the master copy on another worker."""
        self.recoveries += 1
        self.reporter.note(f"warning: the worker holding shard {k} was lost ({type(exc).__name__}: {exc}); "
                           f"re-creating its replica from the master copy")
        deadline = time.monotonic() + RECOVER_SECONDS
        fresh_until = time.monotonic() + FRESH_WORKER_SECONDS
        lost = self.where[k]
        while True:
            workers = [w for w in self.workers() if w != lost]
            held = {self.where[j] for j in range(len(self.replicas)) if j != k}
            free = [w for w in workers if w not in held]
            now = time.monotonic()
            if free or (workers and now >= fresh_until):
                target = free[0] if free else min(workers, key=lambda w: (self.where.count(w), w))
                try:
                    replica = self._create(k, target)
                    replica.encode(_pack(self.vocab.words), self.vocab.counts,
                                   [self.paths[i] for i in self.files[k]]).result()
                    replica.plan(self.rounds_per_epoch, self.corpus_words, self.epochs).result()
                    replica.load(*[getattr(master, name) for name in MATRICES]).result()
                except W2VError:
                    raise
                except (Exception, asyncio.CancelledError) as again:
                    if time.monotonic() >= deadline or (self.ctrl_c is not None and self.ctrl_c.pressed):
                        raise _Lost(f"shard {k} could not be re-created on another worker ({again})") from None
                    time.sleep(0.5)
                    continue
                self.replicas[k], self.where[k], self.calls[k] = replica, target, 0
                self.reporter.note(f"shard {k} now on {target}")
                return
            if now >= deadline:
                raise _Lost(f"no Dask worker is left to take over shard {k}")
            if self.ctrl_c is not None and self.ctrl_c.pressed:
                raise _Lost("interrupted while waiting for a worker to take over a lost shard")
            time.sleep(0.2)

    # -- rounds --

    def _train_call(self, k, *args):
        """Replica k's train_round, as a future. Dask refuses the call itself (RuntimeError) once it knows the
        replica's worker is gone: that is a lost worker too, reported through the future like the others."""
        try:
            self.calls += [0] * (len(self.replicas) - len(self.calls))
            seq = self.calls[k]
            self.calls[k] += 1
            return self.replicas[k].train_in_turn(seq, *args)
        except RuntimeError as exc:
            return _Failed(exc)

    def submit(self, epoch, rnd, words_done, rows=None):
        """Every replica starts round rnd of epoch (None: only an exchange of rows), taking first what the
        others changed and it has not been sent yet. Returns the round's _Call."""
        n = len(self.replicas)
        half = self.merge == "scaled" and n > 2     # with two, no row has more than two changes: the sum
        call = _Call(epoch, rnd, words_done, rows, half, n)
        for k in range(n):
            call.futures[k] = self._train_call(k, self.owed[k], epoch, rnd, words_done, rows, half, self.overlap)
            self.owed[k] = None
        self.inflight.append(call)
        return call

    def collect(self, master):
        """The oldest round in flight and its results, by shard; a lost replica is re-created from the master
        copy and trains the round again (and the round after it, if that is in flight too). A replica counts as
        lost when its future fails, or when the scheduler no longer lists its worker: a call made to a worker
        that has just died would otherwise wait for Dask's connection timeout (30 s) before it fails."""
        n = len(self.replicas)
        call = self.inflight[0]
        pending = dict(enumerate(call.futures))
        attempts = [0] * n
        results = [None] * n
        check_at = time.monotonic() + LOST_CHECK_SECONDS
        while pending:
            progressed = False
            gone = set()
            if time.monotonic() >= check_at:       # a round that takes long: are its workers still there?
                try:
                    alive = set(self.workers())
                except Exception:       # the scheduler does not answer: the futures will tell
                    alive = set(self.where)
                gone = {k for k in pending if self.where[k] not in alive}
                check_at = time.monotonic() + LOST_CHECK_SECONDS
            for k in list(pending):
                fut = pending[k]
                done = fut.done()
                if not done and k not in gone:
                    continue
                progressed = True
                try:
                    if not done:
                        raise _Gone(f"the scheduler no longer lists worker {self.where[k]}")
                    results[k] = fut.result()
                    del pending[k]
                except DivergedError as exc:     # a replica's scores grew without bound after a merge
                    if n == 1:
                        raise
                    gentler = "--merge average" if self.merge != "average" else "fewer workers"
                    raise DivergedError(f"{exc}, or use {gentler}: the {n} workers' merged changes "
                                        f"overshoot") from None
                except (W2VError, MemoryError):
                    raise
                except (Exception, asyncio.CancelledError) as exc:   # the worker holding the replica is gone
                    attempts[k] += 1
                    if attempts[k] > RETRIES:
                        rnd = "an exchange" if call.rnd is None else f"round {call.rnd + 1}"
                        raise W2VError(f"shard {k}'s {rnd} failed {attempts[k]} times, last with "
                                       f"{type(exc).__name__}: {exc}") from None
                    self.recover(k, exc, master)
                    # the new replica is the master copy: it has every change merged so far
                    self.owed[k] = None
                    for later in self.inflight:
                        later.futures[k] = self._train_call(k, None, later.epoch, later.rnd, later.words_done,
                                                            later.rows, later.half, self.overlap)
                    pending[k] = call.futures[k]
            if not progressed:
                time.sleep(POLL_SECONDS)
        self.inflight.pop(0)
        return call, results


class _Call:
    """One round submitted to every replica: its arguments and its futures."""

    def __init__(self, epoch, rnd, words_done, rows, half, n):
        self.epoch, self.rnd, self.words_done, self.rows, self.half = epoch, rnd, words_done, rows, half
        self.futures = [None] * n


# ---------------------------------------------------------------------------------------
# the public entry points
# ---------------------------------------------------------------------------------------

def train(corpus, client=None, *, address=None, workers=None, round_words=ROUND_WORDS, merge="scaled",
          rare_every=None, overlap=None, callbacks=(), quiet=True, cache_dir=None, checkpoint=None,
          checkpoint_every=None,
          extra=None, **params):
    """Train word vectors across the workers of a Dask cluster. Returns a Word2Vec, as w2v.train does.

    corpus: a file, a directory, a glob pattern, or a list of them; the files are dealt to the workers by
    size, and every worker reads its own (the workers must see them under the same paths as the client).
    client: a dask.distributed.Client; or address: a scheduler address ("tcp://host:8786"), or "local:N" for
    a cluster of N local worker processes that lives as long as the run.
    workers: how many shards (one replica each) to train; default: one per worker of the cluster.
    round_words: corpus words each worker trains between two reconciliations (on the largest shard).
    merge: "scaled" (the default) adds the workers' changes of a row to the master copy, scaled down where
    more than two workers took the row most of the way to where their shards pull it (see reconcile);
    "sum" adds them; "average" averages them.
    rare_every: exchange the rows of the frequent words (those that make up FREQUENT_SHARE of the corpus)
    every round and the others' every rare_every rounds (and at every epoch's end and checkpoint); 1: all
    changed rows every round; None: 8 with two shards or fewer, else 1. A worker lost meanwhile loses its rare
    rows' changes since the last exchange.
    overlap (None: on with two shards or fewer, where it costs no accuracy; off with more, where it does):
    every worker starts its next round as soon as it has sent its last one, while the client merges
    it: the round trains without the others' changes of the round before (they arrive a round later), and no
    worker waits for the merge or for the slowest worker's round. A stop lets the round in flight finish;
    runs with overlap repeat exactly too, but a lost worker or a resumed checkpoint trains its round from
    the master copy (with all the merged changes), so that run is not bit for bit the uninterrupted one.
    params: those of w2v.train (model, dim, window, ...); threads is per worker (default: the worker's own
    thread count). callbacks receive a RoundProgress after every round and every epoch; checkpoint and
    checkpoint_every write the master copy at round boundaries (resume with w2v.distributed.resume).

    The returned model also has .rounds: per round, its words, seconds, bytes moved each way and rows.
    """
    try:
        p = Params(**params).validate()
    except TypeError as exc:
        raise W2VError(f"unknown training parameter: {exc}") from None
    if p.hs or not p.negative:
        raise W2VError("distributed training trains negative sampling only: leave out hs (--hs) and keep "
                       "negative (--negative) at 1 or more, or train in one process")
    _check_options(round_words, merge, workers, rare_every)
    files = corpus_files(corpus)
    sizes = [os.path.getsize(f) for f in files]
    if workers is None and client is None and str(address).strip().lower().startswith("local"):
        workers = _local_workers(str(address).strip())
    if workers is not None:
        assign_shards(sizes, workers)       # too few files: fail before starting anything
    checkpointer = Checkpointer.create(checkpoint, checkpoint_every)
    reporter = _Reporter(quiet)
    conn = _Connection(client, address, params.get("threads"), quiet)
    try:
        d = _Driver(conn.client, p, params.get("threads"), merge, reporter, callbacks, checkpointer, cache_dir)
        shards = assign_shards(sizes, workers or len(d.wait_for_workers()))
        few = len(shards) <= FEW_SHARDS
        if rare_every is None:
            rare_every = RARE_EVERY_FEW if few else RARE_EVERY_MANY
        overlap = few if overlap is None else bool(overlap)
        d.start(files, shards)
        vocab = d.vocabulary(p)
        corpus_words = d.encode(vocab)
        if corpus_words != vocab.train_words:
            raise W2VError(f"the corpus changed while it was read ({corpus_words:,} words encoded, "
                           f"{vocab.train_words:,} counted); train on files that are not being written")
        rounds = max(1, -(-max(d.shard_words) // round_words))
        p = dataclasses.replace(p, threads=d.threads_per_replica)
        model = Word2Vec(p, vocab, *[np.ascontiguousarray(w) for w in init_weights(len(vocab), p.dim, p.seed)])
        model.fingerprint = corpus_fingerprint(files)
        model.extra = dict(extra or {})
        model.schedule = Schedule.begin(model, vocab.train_words, p.epochs)
        model.extra["distributed"] = {"shards": d.files, "rounds_per_epoch": rounds, "round": 0,
                                      "round_words": round_words, "merge": merge, "threads": params.get("threads"),
                                      "rare_every": rare_every, "overlap": overlap,
                                      "frequent": frequent_rows(vocab.counts)}
        d.plan_and_load(rounds, corpus_words, p.epochs, model, seed=p.seed)
        _run(d, model)
    finally:
        conn.close()
    return model


def resume(model, corpus, client=None, *, address=None, callbacks=(), quiet=True, cache_dir=None,
           checkpoint=None, checkpoint_every=None, threads=None):
    """Finish a distributed run from its checkpoint (a path or a loaded Word2Vec) on the same corpus, on
    the workers of `client` or `address` (any number of them: the shards are those of the run)."""
    if not isinstance(model, Word2Vec):
        model = Word2Vec.load(model)
    pos = model.extra.get("distributed")
    if pos is None:
        raise W2VError("this checkpoint is not of a distributed run; resume it with model.resume(corpus) or "
                       "`w2v train CORPUS --resume STATE` without --distributed")
    if model.schedule is None:
        raise W2VError("this model's training is complete: nothing to resume")
    files = corpus_files(corpus)
    why = fingerprint_mismatch(model.fingerprint, corpus_fingerprint(files)) if model.fingerprint else None
    if why:
        raise W2VError(f"the corpus is not the one this training run started on ({why}); resume with the same corpus")
    if threads is None:
        threads = pos.get("threads")
    checkpointer = Checkpointer.create(checkpoint, checkpoint_every)
    reporter = _Reporter(quiet)
    conn = _Connection(client, address, threads, quiet)
    try:
        d = _Driver(conn.client, model.params, threads, pos["merge"], reporter, callbacks, checkpointer, cache_dir)
        d.start(files, pos["shards"])
        corpus_words = d.encode(model.vocab)
        s = model.schedule
        if corpus_words != s.train_words:
            raise W2VError(f"the corpus has {corpus_words:,} words of the vocabulary, but the run being resumed had "
                           f"{s.train_words:,}; resume with the same corpus")
        model.params = dataclasses.replace(model.params, threads=d.threads_per_replica)
        reporter.note(f"resuming at epoch {s.epoch + 1}/{s.end_epoch}, round {pos['round'] + 1}/{pos['rounds_per_epoch']}")
        d.plan_and_load(pos["rounds_per_epoch"], corpus_words, s.end_epoch, model)
        _run(d, model)
    finally:
        conn.close()
    return model


def _check_options(round_words, merge, workers, rare_every=None):
    if rare_every is not None and (isinstance(rare_every, bool) or not isinstance(rare_every, int) or rare_every < 1):
        raise W2VError(f"rare_every must be a positive whole number of rounds, not {rare_every!r}")
    if isinstance(round_words, bool) or not isinstance(round_words, int) or round_words < 1000:
        raise W2VError(f"round_words must be a whole number of at least 1000, not {round_words!r}")
    if merge not in MERGES:
        raise W2VError(f"merge must be one of {', '.join(MERGES)}, not {merge!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise W2VError(f"workers must be a positive whole number, not {workers!r}")


def _run(d, model):
    """The rounds, from where model.schedule and model.extra['distributed'] stand, to the end or a stop."""
    s = model.schedule
    pos = model.extra["distributed"]
    n = len(d.replicas)
    d.t0 = time.perf_counter()
    d.total = s.train_words * s.end_epoch
    d.planned = (s.end_epoch - s.epoch) * pos["rounds_per_epoch"] - pos["round"]
    d.overlap = bool(pos.get("overlap", False)) and n > 1
    d.owed = [None] * n         # what each replica takes at the start of its next round
    d.inflight = []
    d.partial = False           # since the last full exchange, rare rows' changes stay on the workers
    d.words = d.kept = d.done = d.moved = 0
    model.interrupted = False
    model._wv = None
    with _CtrlC() as d.ctrl_c:
        try:
            stop = _rounds(d, model)
        except _Lost as exc:
            # the master copy stands at the start of the round that failed: a state to resume from
            d.reporter.note(f"warning: {exc}; training stopped at epoch {s.epoch + 1}, round {pos['round'] + 1}, "
                            f"where it can resume once workers are back")
            stop, d.partial = True, False
        if stop and d.partial:      # the rare rows' changes still on the workers: into the master copy
            try:
                d.submit(s.epoch, None, s.words_done)
                _round(d, model)
            except _Lost as exc:
                d.reporter.note(f"warning: {exc}; the rare words' changes since the last full exchange are lost")
    d.ctrl_c = None
    elapsed = time.perf_counter() - d.t0
    model.timings["train"] = model.timings.get("train", 0.0) + elapsed
    model.timings["reconcile"] = model.timings.get("reconcile", 0.0) + sum(x["reconcile_seconds"] for x in d.log)
    model.words_per_sec = d.words / elapsed if elapsed > 0 else 0.0
    model.raw_words, model.effective_words = d.words, d.kept
    model.rounds = d.log
    model.recoveries = d.recoveries
    if d.done:
        d.reporter.note(f"{d.done} rounds over {n} shards: {_fmt_bytes(d.moved)} moved "
                        f"({_fmt_bytes(d.moved / d.done)} a round), {model.timings['reconcile']:.1f}s merging"
                        + (f"; {d.recoveries} replica(s) re-created after a lost worker" if d.recoveries else ""))
    model.interrupted = stop
    if stop:
        d.reporter.note(f"training stopped early after {d.words:,} words")
    else:
        model.schedule = None
        del model.extra["distributed"]


def _rounds(d, model):
    """Rounds and epochs until the schedule ends (False) or training stops (True). With overlap, the next
    round is submitted before the last one is collected and merged: each replica trains it without the
    others' changes of the round before (they come with the round after), and does not wait for the merge.
    A stop lets the round in flight finish."""
    s = model.schedule
    pos = model.extra["distributed"]
    rounds = pos["rounds_per_epoch"]
    every = pos.get("rare_every", 1)
    depth = 2 if d.overlap else 1
    round_words = s.train_words / rounds        # what a round adds to the global progress, about
    want_full = False           # a checkpoint is due: the next round exchanges every changed row
    alpha = model.params.alpha
    stop = False
    nxt = (s.epoch, pos["round"])       # the next round to submit
    while True:
        while not stop and len(d.inflight) < depth and nxt[0] < s.end_epoch:
            if d.ctrl_c.pressed:
                stop = True
                break
            epoch, rnd = nxt
            full = every == 1 or want_full or rnd + 1 == rounds or (rnd + 1) % every == 0
            want_full = want_full and not full
            d.submit(epoch, rnd, int(s.words_done + len(d.inflight) * round_words),
                     None if full else pos.get("frequent"))
            nxt = (epoch, rnd + 1) if rnd + 1 < rounds else (epoch + 1, 0)
        if not d.inflight:
            return stop
        info = _round(d, model)
        d.partial = not d.log[-1]["full"]
        alpha = info.alpha
        pos["round"] += 1
        _report_round(d.reporter, info, rounds, pos["round"])
        if d.checkpointer is not None and (want_full or d.checkpointer.time_due()):
            # a round in flight does not matter: a resumed run trains it again from the master copy
            if not d.partial and pos["round"] < rounds:
                _save(d, model)
                want_full = False
            elif d.partial:
                want_full = True
        if _call(d.callbacks, info):
            stop = True
        if pos["round"] < rounds:
            continue
        loss = s.epoch_loss / s.epoch_examples if s.epoch_examples else float("nan")
        if s.epoch_examples:
            model.loss_history.append(loss)
        model.epochs_done = s.epoch + 1
        elapsed = time.perf_counter() - d.t0
        info = RoundProgress(event="epoch_end", epoch=s.epoch, epochs=s.end_epoch, words_done=s.words_done,
                             words_total=d.total, words_per_sec=d.words / elapsed if elapsed > 0 else 0.0,
                             alpha=alpha, loss=loss, elapsed=elapsed, round=d.done, rounds=d.planned,
                             workers=len(d.replicas), recoveries=d.recoveries)
        s.next_epoch(s.words_done)
        pos["round"] = 0
        d.reporter.epoch_end(info)
        if d.checkpointer is not None and s.epoch < s.end_epoch and d.checkpointer.epoch_due(model.epochs_done):
            _save(d, model)
        if _call(d.callbacks, info):
            stop = True


def _round(d, model):
    """Collect and merge the oldest round in flight. Returns its RoundProgress."""
    s = model.schedule
    n = len(d.replicas)
    r0 = time.perf_counter()
    call, results = d.collect(model)
    r1 = time.perf_counter()
    halves = all(res["halves"] is not None for res in results)
    merge = reconcile_changes if d.overlap else reconcile
    per_matrix = [merge(getattr(model, name), [res["changed"][m] for res in results], d.merge,
                        [res["halves"][m] for res in results] if halves else None)
                  for m, name in enumerate(MATRICES)]
    back = [[b[k] for b in per_matrix] for k in range(n)]
    for k in range(n):      # the next round of replica k takes them (and those of the rounds before, if unsent)
        d.owed[k] = back[k] if d.owed[k] is None or not d.overlap else _sum_changes(d.owed[k], back[k])
    r2 = time.perf_counter()
    up = sum(_nbytes(res["changed"]) + (_nbytes(res["halves"]) if res["halves"] else 0) for res in results)
    down = sum(_nbytes(x) for x in back)
    words = sum(res["words"] for res in results)
    rnd = call.rnd
    d.moved += up + down
    d.words += words
    d.kept += sum(res["kept"] for res in results)
    s.words_done += words
    s.epoch_words += words
    s.epoch_loss += sum(res["loss"] for res in results)
    s.epoch_examples += sum(res["examples"] for res in results)
    if rnd is not None:
        d.done += 1
    elapsed = time.perf_counter() - d.t0
    d.log.append({"epoch": s.epoch, "round": rnd, "full": call.rows is None, "words": words,
                  "seconds": r2 - r0, "reconcile_seconds": r2 - r1,
                  "train_seconds": [res["train_seconds"] for res in results],
                  "diff_seconds": [res["diff_seconds"] for res in results],
                  "apply_seconds": [res["apply_seconds"] for res in results],
                  "bytes_up": up, "bytes_down": down,
                  "rows_up": [[len(res["changed"][m][0]) for m in range(len(MATRICES))] for res in results],
                  "rows_down": [[len(x[m][0]) for m in range(len(MATRICES))] for x in back],
                  "alpha_start": [res["alpha_start"] for res in results],
                  "alpha_end": [res["alpha_end"] for res in results],
                  "shard_words": [res["words"] for res in results], "words_done": s.words_done})
    loss = s.epoch_loss / s.epoch_examples if s.epoch_examples else float("nan")
    return RoundProgress(event="round_end", epoch=s.epoch, epochs=s.end_epoch, words_done=s.words_done,
                         words_total=d.total, words_per_sec=d.words / elapsed if elapsed > 0 else 0.0,
                         alpha=float(np.mean([res["alpha_end"] for res in results])), loss=loss, elapsed=elapsed,
                         round=d.done, rounds=d.planned, workers=n, bytes_up=up, bytes_down=down, seconds=r2 - r0,
                         reconcile_seconds=r2 - r1, recoveries=d.recoveries)


def _sum_changes(a, b):
    """Two lists (per matrix) of (rows, increments) as one: the increments of a row in both add up."""
    out = []
    for (ra, va), (rb, vb) in zip(a, b):
        rows = np.union1d(ra, rb).astype(np.int32)
        vals = np.zeros((len(rows), va.shape[1]), dtype=np.float32)
        vals[np.searchsorted(rows, ra)] += _float32(va)
        vals[np.searchsorted(rows, rb)] += _float32(vb)
        out.append((rows, vals))
    return out


def _save(d, model):
    d.checkpointer.save(model, None)
    if d.checkpointer.failures:
        d.reporter.note(f"warning: checkpoint not written: {d.checkpointer.failures[-1]}; training goes on")
        d.checkpointer.failures.clear()
    else:
        pos = model.extra["distributed"]
        d.reporter.note(f"checkpoint written to {d.checkpointer.path} (epoch {model.schedule.epoch + 1}, "
                        f"round {pos['round'] + 1}/{pos['rounds_per_epoch']}; {d.checkpointer.last_seconds:.2f}s)")


def _report_round(reporter, info, rounds, rnd):
    if not reporter.tty or reporter.quiet:
        return
    left = (info.words_total - info.words_done) / info.words_per_sec if info.words_per_sec > 0 else float("nan")
    reporter._line(f"epoch {info.epoch + 1}/{info.epochs} round {rnd}/{rounds}  {100 * info.fraction:5.1f}%  "
                   f"{info.words_per_sec / 1e3:,.0f}k words/s on {info.workers} workers  lr {info.alpha:.5f}  "
                   f"loss {info.loss:.4f}  moved {_fmt_bytes(info.bytes_up + info.bytes_down)}  "
                   f"ETA {_fmt_time(left)}", final=False)
