"""Fuzzing the vector-file loaders: whatever the bytes, w2v.load either returns exactly the
words the header announces (or `limit` of them) or raises W2VError; it never crashes, hangs
or loads part of a file silently."""
import io
import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import w2v
from w2v.vectors import KeyedVectors

FUZZ = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.too_slow],
                derandomize=True)


def _valid_file(fmt, n=5, dim=3):
    rng = np.random.default_rng(n * 10 + dim)
    kv = KeyedVectors([f"w{i}é" for i in range(n)], rng.standard_normal((n, dim)).astype(np.float32),
                      counts=np.arange(n, 0, -1) * 10)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "v")
        kv.save(path, format=fmt)
        with open(path, "rb") as fh:
            return fh.read()


VALID = {fmt: _valid_file(fmt) for fmt in ("native", "bin", "txt")}


def _header_count(data):
    """The word count a file announces, or None if it has no readable header."""
    if data.startswith(b"W2V"):
        return None        # native: the loader checks the count against the file size itself
    try:
        first = data.split(b"\n", 1)[0].split()
        return int(first[0]) if len(first) == 2 else None
    except ValueError:
        return None


def _check_load(data, limit=None, fmt=None):
    fd, path = tempfile.mkstemp()
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            kv = w2v.load(path, limit=limit, format=fmt)
        except w2v.W2VError:
            return None
        count = _header_count(data)
        if count is not None:
            expected = count if limit is None else min(limit, count)
            assert len(kv) == expected, (len(kv), count, limit)
        assert kv.vectors.shape[0] == len(kv.index_to_key) == len(set(kv.index_to_key))
        assert kv.vectors.dtype == np.float32
        return kv
    finally:
        os.unlink(path)


@FUZZ
@given(st.binary(max_size=2000))
def test_random_bytes(data):
    _check_load(data)


@FUZZ
@given(st.sampled_from(sorted(VALID)), st.data())
def test_mutated_valid_files(fmt, data):
    raw = bytearray(VALID[fmt])
    n_edits = data.draw(st.integers(1, 6))
    for _ in range(n_edits):
        kind = data.draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        pos = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if kind == "flip" and raw:
            raw[pos] = data.draw(st.integers(0, 255))
        elif kind == "delete" and raw:
            del raw[pos:pos + data.draw(st.integers(1, 16))]
        elif kind == "insert":
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=16))
        else:
            del raw[pos:]
    _check_load(bytes(raw), limit=data.draw(st.one_of(st.none(), st.integers(1, 8))))


@FUZZ
@given(st.integers(-3, 10), st.integers(-2, 6), st.lists(st.text(min_size=0, max_size=6), max_size=8),
       st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), max_size=40), st.sampled_from(["bin", "txt"]))
def test_word2vec_files_with_lying_headers(count, dim, words, values, fmt):
    """Headers that claim more or fewer words or dimensions than the body holds."""
    out = io.BytesIO()
    out.write(f"{count} {dim}\n".encode())
    it = iter(values)
    for w in words:
        row = [next(it, 0.0) for _ in range(max(dim, 0))]
        if fmt == "bin":
            out.write(w.encode("utf-8", "replace") + b" " + np.array(row, dtype="<f4").tobytes() + b"\n")
        else:
            out.write((w + " " + " ".join(repr(x) for x in row) + "\n").encode("utf-8", "replace"))
    _check_load(out.getvalue(), fmt=fmt)


@pytest.mark.parametrize("fmt", sorted(VALID))
def test_valid_files_load_whole(fmt):
    kv = _check_load(VALID[fmt])
    assert kv is not None and len(kv) == 5
    assert len(_check_load(VALID[fmt], limit=2)) == 2


@pytest.mark.parametrize("fmt", sorted(VALID))
def test_every_truncation_is_an_error(fmt):
    data = VALID[fmt]
    step = max(1, len(data) // 60)
    cuts = list(range(0, len(data) - 1, step)) + [len(data) - 2]
    if fmt == "txt":
        cuts.append(len(data) - 1)       # inside or right after the last value: no final newline
    for cut in cuts:
        # a binary file may legitimately end without the last record's newline (only that cut)
        assert _check_load(data[:cut]) is None, cut
