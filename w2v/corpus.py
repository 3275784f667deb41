"""Every kind of corpus, at one seam: open_corpus() turns what the user gave into a source of
text blocks (TextSource) or of Python sentences (SentenceSource), and the scanner (vocab.py,
_scan.pyx) reads that and nothing else.

- TextSource: a text file, a .gz, .bz2 or .xz file (recognised by their first bytes), a
  directory of them, a named pipe (`<(zcat corpus.gz)`), an open binary or text file object,
  standard input (`w2v train -`). Each is read once, in blocks of bytes; compressed data (even
  on a pipe) is decompressed on the way.
- SentenceSource: any iterable of sentences, each a list (or tuple, or other iterable) of str or
  bytes tokens, or a str or bytes line split as a line of a file is. w2v encodes the corpus once,
  so it needs a single pass over it: a one-shot generator works, and the sentences are never
  held, only their token ids (the scanner takes them from the iterator in batches, in compiled
  code, and lets them go).

Text: tokens are separated by ASCII whitespace (space, tab, CR, LF, VT, FF) and NUL bytes; each
line is a sentence. Text is read as bytes in blocks, so a single enormous line is streamed
rather than loaded whole, and invalid UTF-8 can never stop a run: words are decoded once,
after counting, with invalid bytes replaced by U+FFFD (the number of such words is reported).
A line longer than MAX_SENTENCE tokens is split into consecutive chunks of at most
MAX_SENTENCE tokens; nothing is dropped. A run of more than 1 MiB without whitespace is cut
into 64 KiB tokens. The splitting itself happens in the compiled scanner (_scan.pyx).

One trip: a source is opened once per run. The memory estimate uses the files' sizes and the
first blocks of text, which the scan then reads from memory; the fingerprint that resuming
checks is computed while reading (a file's first and last 64 KiB are hashed as they pass, and
the token sequence of any corpus is digested by the scanner).
"""
import bz2
import codecs
import collections
import dataclasses
import gzip
import hashlib
import lzma
import os
import queue
import stat
import struct
import threading
import zlib

from .errors import W2VError

BLOCK_BYTES = 1 << 20
SAMPLE_BYTES = 4 << 20      # text the memory estimate looks at
_ENDS = 65536               # the fingerprint hashes a file's first and last 64 KiB
_RATIO = 3.5                # text bytes per compressed byte, when nothing better is known


@dataclasses.dataclass
class ReadStats:
    files: int = 0
    block_bytes: int = 0     # the size of the blocks read
    bytes_read: int = 0
    lines: int = 0
    split_lines: int = 0     # lines longer than MAX_SENTENCE tokens, split into chunks
    nul_bytes: int = 0
    cut_tokens: int = 0      # 64 KiB pieces cut from runs of over 1 MiB without whitespace
    peak_ids: int = 0        # the most token ids the scanner's table used at once (see vocab)
    id_capacity: int = 0     # ids its per-id counts array had room for at the end
    sentences_read: int = 0  # Python sentences taken from an iterable corpus


# ---------------------------------------------------------------------------------------
# str to bytes: the rule the scanner applies to Python strings, for text file objects
# ---------------------------------------------------------------------------------------

def _surrogates(exc):
    """Lone surrogates U+DC80..U+DCFF back to the bytes "surrogateescape" made them from; other
    lone surrogates as "surrogatepass" encodes them (as _scan._encode_utf8 does)."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    out = bytearray()
    for ch in exc.object[exc.start:exc.end]:
        c = ord(ch)
        out += bytes([c - 0xDC00]) if 0xDC80 <= c <= 0xDCFF else ch.encode("utf-8", "surrogatepass")
    return bytes(out), exc.end


codecs.register_error("w2v-surrogates", _surrogates)


def to_utf8(text):
    return text.encode("utf-8", "w2v-surrogates")


# ---------------------------------------------------------------------------------------
# opening a corpus
# ---------------------------------------------------------------------------------------

def open_corpus(corpus):
    """The source a corpus stands for (a source is returned as it is). W2VError if it is none."""
    if isinstance(corpus, (TextSource, SentenceSource)):
        return corpus
    if isinstance(corpus, (str, bytes, os.PathLike)):
        return _path_source(corpus)
    if hasattr(corpus, "read"):
        return TextSource(_file_object_name(corpus), [_Input(_file_object_name(corpus), fileobj=corpus)])
    try:
        it = iter(corpus)
    except TypeError:
        raise W2VError(f"corpus must be a path, an open file, or an iterable of sentences (token lists or "
                       f"strings), not {type(corpus).__name__}") from None
    return SentenceSource(corpus, it)


def _file_object_name(fh):
    name = getattr(fh, "name", None)
    if name in ("<stdin>", 0):
        return "standard input"
    return f"file object {name}" if isinstance(name, str) else f"the {type(fh).__name__} given as corpus"


def _path_source(path):
    path = os.fspath(path)
    shown = os.fsdecode(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        hint = ("; to train on text held in a string, pass a list of lines (text.splitlines())"
                if any(c in shown for c in " \n\t") else "; check the path")
        raise W2VError(f"corpus not found: {shown[:200]}{hint}") from None
    except OSError as exc:
        raise W2VError(f"cannot read corpus {shown}: {exc.strerror or exc}") from None
    if stat.S_ISFIFO(st.st_mode) or stat.S_ISCHR(st.st_mode):
        return TextSource(shown, [_Input(shown, path=path, stream=True)])
    files = list_files(path)
    root_is_dir = os.path.isdir(path)
    inputs = [_Input(f, path=f, rel=os.path.relpath(f, path) if root_is_dir else os.path.basename(f))
              for f in files]
    return TextSource(shown, inputs, paths=True)


def list_files(path):
    """The files a corpus path stands for: the file itself, or a directory's regular,
    non-hidden files, recursively, in sorted order."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise W2VError(f"corpus not found: {os.fsdecode(path)}; check the path")
    if os.path.isdir(path):
        files = []
        for root, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            files.extend(os.path.join(root, n) for n in sorted(names) if not n.startswith("."))
        files = [f for f in files if os.path.isfile(f)]
        if not files:
            raise W2VError(f"corpus directory {path} holds no files; give a text, .gz, .bz2 or .xz file "
                           f"or a directory of them")
        return files
    if not os.path.isfile(path):
        raise W2VError(f"corpus {path} is not a regular file")
    return [path]


@dataclasses.dataclass
class SizeEstimate:
    text_bytes: int        # uncompressed bytes (estimated for compressed files)
    tokens: int            # estimated tokens
    distinct: int          # estimated distinct tokens
    sampled_bytes: int


def estimate_size(corpus, sample_bytes=SAMPLE_BYTES):
    """A corpus's size estimate (see TextSource.estimate), or None if it cannot be known before
    reading it (a stream, an iterable)."""
    return open_corpus(corpus).estimate(sample_bytes)


def iter_blocks(corpus, stats=None, block_bytes=None):
    """The blocks of a text corpus (see TextSource.blocks)."""
    source = open_corpus(corpus)
    if source.kind != "text":
        raise W2VError(f"{source.name} is not text")
    return source.blocks(stats, block_bytes)


# ---------------------------------------------------------------------------------------
# text sources
# ---------------------------------------------------------------------------------------

class _Raw:
    """A binary input as the decompressors see it: reads pass through, counted, and the first and
    last 64 KiB are kept for the fingerprint. start(k) reads the first bytes to look at (compressed
    data is recognised by them); read() hands them out again first."""
    mode = "rb"

    def __init__(self, fh, keep_ends):
        self.fh = fh
        self.keep_ends = keep_ends
        self.prefix = b""
        self.n = 0                    # bytes read from fh
        self.head = bytearray()
        self.tail = collections.deque()
        self.tail_len = 0

    def start(self, k):
        self.prefix = self._take(k)
        return self.prefix

    def _take(self, k):
        data = self.fh.read(k)
        if data is None:
            data = b""
        if not isinstance(data, bytes):
            if isinstance(data, str):
                raise W2VError("the file object was read as text, then as binary")
            data = bytes(data)
        self.n += len(data)
        if self.keep_ends and data:
            rest = data
            if len(self.head) < _ENDS:
                rest = data[_ENDS - len(self.head):]
                self.head += data[:_ENDS - len(self.head)]
            if rest:
                self.tail.append(rest)
                self.tail_len += len(rest)
                while self.tail_len - len(self.tail[0]) >= _ENDS:
                    self.tail_len -= len(self.tail.popleft())
        return data

    def read(self, n=-1):
        if self.prefix:
            if n is None or n < 0:
                data, self.prefix = self.prefix + self._take(-1), b""
            else:
                data, self.prefix = self.prefix[:n], self.prefix[n:]
            return data
        return self._take(-1 if n is None else n)

    def readable(self):
        return True

    def sha256(self):
        """Today's fingerprint hash: the first 64 KiB and the last 64 KiB after them."""
        h = hashlib.sha256(bytes(self.head))
        if self.n > _ENDS:
            h.update(b"".join(self.tail)[-_ENDS:])
        return h.hexdigest()


class _Text:
    """A text-mode file object read as UTF-8 bytes, in blocks of exactly the size asked for (so a
    text file object gives the blocks of the same text in binary)."""

    def __init__(self, fh, first):
        self.fh = fh
        self.buf = to_utf8(first)

    def read(self, n):
        while len(self.buf) < n:
            more = self.fh.read(max(n - len(self.buf), 4096))
            if not more:
                break
            if not isinstance(more, str):
                raise W2VError("the text file object returned bytes after text")
            self.buf += to_utf8(more)
        data, self.buf = self.buf[:n], self.buf[n:]
        return data


_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bzip2"), (b"\xfd7zXZ\x00", "xz"))


def _read_full(reader, n):
    """n bytes, or fewer only at the end (readers may return short reads)."""
    data = reader.read(n)
    if len(data) < n and data:
        parts = [data]
        got = len(data)
        while got < n:
            more = reader.read(n - got)
            if not more:
                break
            parts.append(more)
            got += len(more)
        data = b"".join(parts)
    return data


class _Input:
    """One file or stream of a text source, opened when first read."""

    def __init__(self, name, path=None, fileobj=None, rel=None, stream=False):
        self.name = name
        self.path = path
        self.fileobj = fileobj
        self.rel = rel
        self.stream = stream or fileobj is not None
        self.fh = self.raw = self.reader = None
        self.compression = None
        self.size = None             # bytes on disk (a regular file's size), if known
        self.record = None           # its fingerprint, once read to the end

    def open(self):
        if self.reader is not None:
            return
        if self.fileobj is not None:
            fh = self.fileobj
            try:
                st = os.fstat(fh.fileno())
                if stat.S_ISREG(st.st_mode):
                    self.size = st.st_size - fh.tell()
            except (AttributeError, OSError, ValueError, TypeError):
                pass
            first = fh.read(8)
            if isinstance(first, str):
                self.reader = _Text(fh, first)
                self.compression = "text"
                return
            self.raw = _Raw(fh, keep_ends=False)
            self.raw.prefix = bytes(first or b"")
            self.raw.n = len(self.raw.prefix)
        else:
            try:
                fh = open(self.path, "rb")
            except OSError as exc:
                reason = "permission denied" if isinstance(exc, PermissionError) else (exc.strerror or str(exc))
                raise W2VError(f"cannot read corpus file {self.name}: {reason}") from None
            self.fh = fh
            if not self.stream:
                self.size = os.fstat(fh.fileno()).st_size
            self.raw = _Raw(fh, keep_ends=not self.stream)
            self.raw.start(8)
        magic = self.raw.prefix
        for prefix, kind in _MAGIC:
            if magic.startswith(prefix):
                self.compression = kind
        if self.compression == "gzip":
            self.reader = gzip.GzipFile(fileobj=self.raw, mode="rb")
        elif self.compression == "bzip2":
            self.reader = bz2.BZ2File(self.raw)
        elif self.compression == "xz":
            self.reader = lzma.LZMAFile(self.raw)
        else:
            self.reader = self.raw

    def gzip_size(self):
        """A plain gzip file's text size from its trailer (ISIZE: the size modulo 4 GiB, so 4x the
        compressed size if that is larger), or None."""
        if self.compression != "gzip" or self.fh is None or self.stream or self.size < 18:
            return None
        try:
            here = self.fh.tell()
            self.fh.seek(-4, os.SEEK_END)
            isize = struct.unpack("<I", self.fh.read(4))[0]
            self.fh.seek(here)
        except OSError:
            return None
        return max(isize, 4 * self.size) if 4 * self.size > (1 << 32) else max(isize, self.size)

    def read(self, n):
        try:
            return _read_full(self.reader, n)
        except (EOFError, zlib.error, gzip.BadGzipFile, lzma.LZMAError) as exc:
            what = {"gzip": "gzip", "bzip2": "bzip2", "xz": "xz"}.get(self.compression, "compressed")
            raise W2VError(f"corpus {self.name} is not a valid {what} file ({exc}); re-compress or "
                           f"decompress it") from None
        except OSError as exc:
            if self.compression == "bzip2":
                raise W2VError(f"corpus {self.name} is not a valid bzip2 file ({exc}); re-compress or "
                               f"decompress it") from None
            raise W2VError(f"cannot read corpus {self.name}: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise W2VError(f"cannot read corpus {self.name} as text ({exc}); open it in binary mode "
                           f"('rb') or with errors='surrogateescape'") from None

    def close(self):
        if self.raw is not None and self.raw.keep_ends and self.path is not None:
            st_mtime = os.stat(self.path).st_mtime if os.path.exists(self.path) else 0
            self.record = {"file": self.rel, "size": self.raw.n, "mtime": int(st_mtime),
                           "sha256": self.raw.sha256()}
        if self.reader is not None and self.reader is not self.raw and not isinstance(self.reader, _Text):
            self.reader.close()
        if self.fh is not None:
            self.fh.close()
        self.fh = self.raw = self.reader = None


class TextSource:
    """Blocks of text bytes from one or more inputs, read once."""
    kind = "text"

    def __init__(self, name, inputs, paths=False):
        self.name = name
        self.inputs = inputs
        self.paths = paths           # regular files named by a path: fingerprinted per file
        self.peeked = b""            # the first input's first bytes, read for the estimate
        self.used = False

    @property
    def stream(self):
        return not self.paths

    def estimate(self, sample_bytes=SAMPLE_BYTES):
        """Tokens and distinct tokens from the inputs' sizes (a compressed file: its gzip trailer,
        or the compression ratio of its first MB) and the first few MB of text, which the scan then
        reads from memory. Distinct tokens grow as tokens**0.6 (Heaps' law). None if the size of a
        stream cannot be known."""
        first = self.inputs[0]
        first.open()
        if first.size is None:
            return None
        if len(self.peeked) < sample_bytes:
            self.peeked += first.read(sample_bytes - len(self.peeked))
        sample = self.peeked
        raw_used = first.raw.n if first.raw is not None else len(sample)
        if first.compression in (None, "text"):
            ratio = 1.0
            first_text = first.size
        else:
            first_text = first.gzip_size()
            if first_text is not None:
                ratio = first_text / max(first.size, 1)
            else:
                ratio = len(sample) / raw_used if raw_used and len(sample) > 65536 else _RATIO
                first_text = int(first.size * ratio)
        total = first_text
        for inp in self.inputs[1:]:
            size = os.path.getsize(inp.path)
            compressed = inp.name.endswith((".gz", ".bz2", ".xz"))
            total += int(size * (ratio if first.compression not in (None, "text") else _RATIO)) if compressed else size
        if not sample:
            return SizeEstimate(total, total // 6, int((total / 6) ** 0.6 * 3), 0)
        tokens = sample.split()
        n_s, d_s = max(len(tokens), 1), max(len(set(tokens)), 1)
        scale = max(total / len(sample), 1.0)
        return SizeEstimate(total, int(n_s * scale), int(d_s * scale ** 0.6), len(sample))

    def blocks(self, stats=None, block_bytes=None):
        """Yield the bytes of each input in blocks of block_bytes (the last of each input shorter),
        and None after each input's last block (its end ends its last line). Counts NUL bytes;
        refuses inputs that are not text."""
        if self.used:
            raise W2VError(f"{self.name} was read already; a stream can be read only once")
        self.used = True
        if stats is None:
            stats = ReadStats()
        size = stats.block_bytes = block_bytes or BLOCK_BYTES
        for k, inp in enumerate(self.inputs):
            stats.files += 1
            try:
                inp.open()
                first = True
                while True:
                    if k == 0 and self.peeked:
                        if len(self.peeked) >= size:
                            block, self.peeked = self.peeked[:size], self.peeked[size:]
                        else:
                            block, self.peeked = self.peeked + inp.read(size - len(self.peeked)), b""
                    else:
                        block = inp.read(size)
                    if not block:
                        break
                    if first:
                        first = False
                        _check_text(block, inp.name)
                    stats.bytes_read += len(block)
                    if b"\0" in block:
                        stats.nul_bytes += block.count(b"\0")
                    yield block
            finally:
                inp.close()
            yield None

    def precheck(self, saved):
        """Before reading: why the saved fingerprint cannot be this corpus's (its files' names and
        sizes differ), or None."""
        saved = _normalise(saved)
        if not self.paths or "files" not in saved:
            return None
        files = [(inp.rel, os.path.getsize(inp.path)) for inp in self.inputs]
        return _files_mismatch(saved["files"], [{"file": f, "size": s, "sha256": None} for f, s in files],
                               sizes_only=True)

    def fingerprint(self, digest):
        fp = {"tokens": _digest_record(digest)}
        if self.paths:
            fp["files"] = [inp.record for inp in self.inputs]
        return fp

    def empty_message(self):
        what = "text file" if self.paths else "stream"
        return f"corpus {self.name} contains no words; give a non-empty {what}"


# ---------------------------------------------------------------------------------------
# Python sentences
# ---------------------------------------------------------------------------------------

class SentenceSource:
    """Sentences from a Python iterable, taken once."""
    kind = "sentences"
    stream = True
    paths = False

    def __init__(self, corpus, it):
        self.corpus = corpus
        self.it = it
        self.one_shot = it is corpus
        self.name = f"the {type(corpus).__name__} given as corpus"
        self.used = False

    def sentences(self):
        if self.used:
            raise W2VError(f"{self.name} was read already")
        self.used = True
        return self.it

    def estimate(self, sample_bytes=SAMPLE_BYTES):
        return None

    def precheck(self, saved):
        return None

    def fingerprint(self, digest):
        return {"tokens": _digest_record(digest)}

    def empty_message(self):
        msg = f"{self.name} holds no tokens"
        if self.one_shot:
            msg += ("; it is an iterator, which can be read only once (was it read already?): pass a list, "
                    "or an object whose __iter__ starts the sentences over")
        return msg


# ---------------------------------------------------------------------------------------
# fingerprints
# ---------------------------------------------------------------------------------------

def _digest_record(digest):
    sentences, tokens, h = digest
    return {"sentences": int(sentences), "tokens": int(tokens), "hash": h}


def _normalise(fp):
    """Fingerprints were once a list of file records."""
    if isinstance(fp, list):
        return {"files": fp}
    return fp or {}


def _files_mismatch(saved, current, sizes_only=False):
    key = (lambda f: (f["file"], f["size"])) if sizes_only else (lambda f: (f["file"], f["size"], f["sha256"]))
    if [key(f) for f in saved] == [key(f) for f in current]:
        return None
    if len(saved) != len(current):
        return f"it had {len(saved)} files, now {len(current)}"
    for a, b in zip(saved, current):
        if key(a) != key(b):
            return f"file {a['file']} differs (was {a['size']:,} bytes, now {b['file']} has {b['size']:,})"
    return "the files differ"


def fingerprint_mismatch(saved, current):
    """A sentence saying how two fingerprints differ (ignoring mtimes), or None if they match.
    Files are compared as files (names, sizes, hashes of their ends) and the token sequences by
    their digests; a run on files can be resumed from a stream of the same text, and the reverse."""
    saved, current = _normalise(saved), _normalise(current)
    if "files" in saved and "files" in current:
        why = _files_mismatch(saved["files"], current["files"])
        if why:
            return why
    a, b = saved.get("tokens"), current.get("tokens")
    if a is not None and b is not None:
        if (a["sentences"], a["tokens"]) != (b["sentences"], b["tokens"]):
            return (f"it had {a['tokens']:,} tokens in {a['sentences']:,} sentences, now {b['tokens']:,} "
                    f"in {b['sentences']:,}")
        if a["hash"] != b["hash"]:
            return f"it had as many tokens ({a['tokens']:,}), but not the same ones"
        return None
    if "files" in saved and "files" in current:
        return None
    return "the run started on files and cannot be compared with a stream; resume with the same files"


# ---------------------------------------------------------------------------------------

def read_ahead(items, depth=4):
    """Iterate `items` in a background thread, up to `depth` items ahead, so that reading and
    decompressing (which release the GIL) overlap with the caller's work. Exceptions reach the
    caller; closing the returned generator stops the thread."""
    buffer = queue.Queue(depth)
    stop = threading.Event()
    end = object()

    def produce():
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        buffer.put((item, None), timeout=0.05)
                        break
                    except queue.Full:
                        pass
                if stop.is_set():
                    return
            buffer.put((end, None))
        except BaseException as exc:     # handed to the caller, raised there
            buffer.put((end, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=produce, name="w2v-reader", daemon=True)
    thread.start()
    try:
        while True:
            item, exc = buffer.get()
            if exc is not None:
                raise exc
            if item is end:
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                buffer.get(timeout=0.05)
            except queue.Empty:
                pass
        thread.join()


# bytes that do not occur in text: C0 controls other than tab, newline, vertical tab, form feed
# and carriage return (NUL is counted: a file mostly of NULs is not a corpus)
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\x0b\x0c\r") + b"\x7f"
_BINARY_SHARE = 0.10


def _check_text(block, name):
    """W2VError if the start of a file is clearly not text (an image, an archive, a model file)."""
    sample = block[:65536]
    n_control = len(sample) - len(sample.translate(None, _CONTROL))
    if len(sample) >= 64 and n_control > _BINARY_SHARE * len(sample):
        raise W2VError(f"corpus {name} does not look like text ({n_control} of its first {len(sample)} "
                       f"bytes are control characters); give a plain-text, .gz, .bz2 or .xz file with one "
                       f"sentence per line")
