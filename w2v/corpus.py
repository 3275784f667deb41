"""Reading corpora: a text file, a gzip file, or a directory of such files.

Tokens are whitespace-separated; each line is a sentence. Text is read as bytes in blocks,
so a single enormous line is streamed rather than loaded whole, and invalid UTF-8 can never
stop a run: words are decoded once, after counting, with invalid bytes replaced by U+FFFD
(the number of such words is reported). NUL bytes count as whitespace. A line longer than
MAX_SENTENCE tokens is split into consecutive chunks of at most MAX_SENTENCE tokens; nothing
is dropped.
"""
import dataclasses
import gzip
import os
import re
import zlib

from .errors import W2VError
from .params import MAX_SENTENCE

BLOCK_BYTES = 1 << 20
MAX_TOKEN_BYTES = 1 << 16   # a run of non-space bytes longer than this is cut (and counted)
_LAST_SPACE = re.compile(rb"\s(?=\S*\Z)")


@dataclasses.dataclass
class ReadStats:
    files: int = 0
    bytes_read: int = 0
    lines: int = 0
    split_lines: int = 0     # lines longer than MAX_SENTENCE tokens, split into chunks
    nul_bytes: int = 0
    cut_tokens: int = 0      # runs of more than MAX_TOKEN_BYTES non-space bytes, cut


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


def iter_sentences(path, stats=None, max_len=MAX_SENTENCE):
    """Yield each sentence as a list of byte-string tokens (at most max_len of them)."""
    if stats is None:
        stats = ReadStats()
    for name in list_files(path):
        stats.files += 1
        reader, raw = _open(name)
        try:
            yield from _iter_file(reader, name, stats, max_len)
        except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
            raise W2VError(f"corpus file {name} is not a valid gzip file ({exc}); re-compress or decompress it") from None
        except OSError as exc:
            raise W2VError(f"cannot read corpus file {name}: {exc.strerror or exc}") from None
        finally:
            reader.close()
            raw.close()


def _iter_file(reader, name, stats, max_len):
    carry = b""          # bytes of an unfinished line
    pending = []         # tokens already cut from an unfinished, very long line
    long_line = False    # the unfinished line has already produced chunks
    while True:
        block = reader.read(BLOCK_BYTES)
        if not block:
            break
        stats.bytes_read += len(block)
        if b"\0" in block:
            stats.nul_bytes += block.count(b"\0")
            block = block.replace(b"\0", b" ")
        data = carry + block if carry else block
        end = data.rfind(b"\n")
        if end < 0:
            carry = data
        else:
            carry = data[end + 1:]
            lines = data[:end].split(b"\n")
            stats.lines += len(lines)
            for line in lines:
                tokens = line.split()
                if pending:
                    tokens = pending + tokens
                    pending = []
                if len(tokens) > max_len or long_line:
                    stats.split_lines += 1
                    long_line = False
                    for i in range(0, len(tokens), max_len):
                        yield tokens[i:i + max_len]
                elif tokens:
                    yield tokens
        if len(carry) > BLOCK_BYTES:
            # a very long line: move its complete tokens to `pending` and emit full chunks,
            # so memory stays bounded however long the line is
            m = _LAST_SPACE.search(carry)
            if m is not None:
                pending.extend(carry[:m.start()].split())
                carry = carry[m.end():]
            else:   # no whitespace at all: cut the run into MAX_TOKEN_BYTES pieces
                n_cut = len(carry) // MAX_TOKEN_BYTES
                stats.cut_tokens += n_cut
                pending.extend(carry[i * MAX_TOKEN_BYTES:(i + 1) * MAX_TOKEN_BYTES] for i in range(n_cut))
                carry = carry[n_cut * MAX_TOKEN_BYTES:]
            while len(pending) >= max_len:
                long_line = True
                yield pending[:max_len]
                pending = pending[max_len:]
    tokens = pending + carry.split()
    if carry or pending:
        stats.lines += 1
    if len(tokens) > max_len or long_line:
        stats.split_lines += 1
        for i in range(0, len(tokens), max_len):
            yield tokens[i:i + max_len]
    elif tokens:
        yield tokens
