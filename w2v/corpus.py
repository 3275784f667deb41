"""Reading corpora: a text file, a gzip file, or a directory of such files.

Tokens are separated by ASCII whitespace (space, tab, CR, LF, VT, FF) and NUL bytes; each
line is a sentence. Text is read as bytes in blocks, so a single enormous line is streamed
rather than loaded whole, and invalid UTF-8 can never stop a run: words are decoded once,
after counting, with invalid bytes replaced by U+FFFD (the number of such words is reported).
A line longer than MAX_SENTENCE tokens is split into consecutive chunks of at most
MAX_SENTENCE tokens; nothing is dropped. A run of more than 1 MiB without whitespace is cut
into 64 KiB tokens. The splitting itself happens in the compiled scanner (_scan.pyx).
"""
import dataclasses
import gzip
import hashlib
import os
import queue
import struct
import threading
import zlib

from .errors import W2VError

BLOCK_BYTES = 1 << 20


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


def list_files(path):
    """The files a corpus path stands for: the file itself, or a directory's regular,
    non-hidden files, recursively, in sorted order."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise W2VError(f"corpus not found: {path}; check the path")
    if os.path.isdir(path):
        files = []
        for root, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            files.extend(os.path.join(root, n) for n in sorted(names) if not n.startswith("."))
        files = [f for f in files if os.path.isfile(f)]
        if not files:
            raise W2VError(f"corpus directory {path} holds no files; give a text or .gz file or a directory of them")
        return files
    if not os.path.isfile(path):
        raise W2VError(f"corpus {path} is not a regular file")
    return [path]


def _open(path):
    try:
        fh = open(path, "rb")
    except OSError as exc:
        reason = "permission denied" if isinstance(exc, PermissionError) else (exc.strerror or str(exc))
        raise W2VError(f"cannot read corpus file {path}: {reason}") from None
    magic = fh.read(2)
    fh.seek(0)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=fh, mode="rb"), fh
    return fh, fh


def iter_blocks(path, stats=None, block_bytes=None):
    """Yield the bytes of each file of a corpus in blocks, and None after each file's last block
    (a file's end ends its last line). Counts NUL bytes; refuses files that are not text."""
    if stats is None:
        stats = ReadStats()
    size = stats.block_bytes = block_bytes or BLOCK_BYTES
    for name in list_files(path):
        stats.files += 1
        reader, raw = _open(name)
        try:
            first = True
            while True:
                block = reader.read(size)
                if not block:
                    break
                if first:
                    first = False
                    _check_text(block, name)
                stats.bytes_read += len(block)
                if b"\0" in block:
                    stats.nul_bytes += block.count(b"\0")
                yield block
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise W2VError(f"corpus file {name} is not a valid gzip file ({exc}); re-compress or decompress it") from None
        except OSError as exc:
            raise W2VError(f"cannot read corpus file {name}: {exc.strerror or exc}") from None
        finally:
            reader.close()
            raw.close()
        yield None


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
        raise W2VError(f"corpus file {name} does not look like text ({n_control} of its first {len(sample)} "
                       f"bytes are control characters); give a plain-text or .gz file with one sentence per line")


def fingerprint(path):
    """What identifies a corpus cheaply: per file, its name, size, mtime and a hash of its first
    and last 64 KiB. Checkpoints store it; resuming compares it (mtime aside: copies change it)."""
    root = os.fspath(path)
    out = []
    for name in list_files(root):
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
        rel = os.path.relpath(name, root) if os.path.isdir(root) else os.path.basename(name)
        out.append({"file": rel, "size": st.st_size, "mtime": int(st.st_mtime), "sha256": h.hexdigest()})
    return out


def fingerprint_mismatch(saved, current):
    """A sentence saying how two fingerprints differ (ignoring mtimes), or None if they match."""
    strip = [[(f["file"], f["size"], f["sha256"]) for f in fp] for fp in (saved, current)]
    if strip[0] == strip[1]:
        return None
    if len(saved) != len(current):
        return f"it had {len(saved)} files, now {len(current)}"
    for a, b in zip(saved, current):
        if (a["file"], a["size"], a["sha256"]) != (b["file"], b["size"], b["sha256"]):
            return f"file {a['file']} differs (was {a['size']:,} bytes, now {b['file']} has {b['size']:,})"
    return "the files differ"


@dataclasses.dataclass
class SizeEstimate:
    text_bytes: int        # uncompressed bytes (estimated for gzip files)
    tokens: int            # estimated tokens
    distinct: int          # estimated distinct tokens
    sampled_bytes: int


def estimate_size(path, sample_bytes=4 << 20):
    """Estimate a corpus's tokens and distinct tokens without reading it: file sizes (gzip: the
    ISIZE trailer, which holds the size modulo 4 GiB, or 4x the compressed size if larger) and
    the first few MB of text. Distinct tokens grow as tokens**0.6 (Heaps' law)."""
    files = list_files(path)
    total = 0
    for name in files:
        try:
            size = os.path.getsize(name)
            with open(name, "rb") as fh:
                magic = fh.read(2)
                if magic == b"\x1f\x8b" and size >= 18:
                    fh.seek(-4, os.SEEK_END)
                    isize = struct.unpack("<I", fh.read(4))[0]
                    size = max(isize, 4 * size) if 4 * size > (1 << 32) else max(isize, size)
        except OSError as exc:
            reason = "permission denied" if isinstance(exc, PermissionError) else (exc.strerror or str(exc))
            raise W2VError(f"cannot read corpus file {name}: {reason}") from None
        total += size
    reader, raw = _open(files[0])
    try:
        sample = reader.read(sample_bytes)
    except (OSError, EOFError, zlib.error):
        sample = b""
    finally:
        reader.close()
        raw.close()
    if not sample:
        return SizeEstimate(total, total // 6, int((total / 6) ** 0.6 * 3), 0)
    tokens = sample.split()
    n_s, d_s = max(len(tokens), 1), max(len(set(tokens)), 1)
    scale = max(total / len(sample), 1.0)
    n = int(n_s * scale)
    return SizeEstimate(total, n, int(d_s * scale ** 0.6), len(sample))
