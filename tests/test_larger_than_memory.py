"""Corpora larger than the memory left for them: the encoded ids go to a memory-mapped file."""
import errno
import importlib
import os

import numpy as np
import pytest

import w2v
from conftest import write_planted_corpus
from w2v.cli import main

train_module = importlib.import_module("w2v.train")
FAST = dict(dim=8, epochs=2, min_count=1, threads=1, seed=4, sample=0)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    # 330,000 ids (1.3 MB): more than a 1 MB memory limit leaves for them
    return write_planted_corpus(tmp_path_factory.mktemp("big") / "c.txt", sentences=30_000)


def recorded_ids(monkeypatch):
    seen = []
    real = train_module._run

    def run(model, ids, *args, **kwargs):
        seen.append(ids)
        return real(model, ids, *args, **kwargs)

    monkeypatch.setattr(train_module, "_run", run)
    return seen


def test_a_corpus_that_does_not_fit_is_memory_mapped_and_trains_the_same(corpus, tmp_path, monkeypatch, capsys):
    seen = recorded_ids(monkeypatch)
    ref = w2v.train(corpus, **FAST)
    assert not isinstance(seen[-1], np.memmap)
    spill = tmp_path / "spill"
    spill.mkdir()
    m = w2v.train(corpus, memory_limit="1M", spill_dir=spill, quiet=False, **FAST)
    err = capsys.readouterr().err
    assert f"will not fit in the memory left beside the model: it goes to a memory-mapped file in {spill}" in err
    assert isinstance(seen[-1], np.memmap) and len(seen[-1]) == 330_000
    np.testing.assert_array_equal(m.syn0, ref.syn0)          # the same ids, the same training
    del seen[:]
    assert os.listdir(spill) == []                            # nothing left behind


def test_a_stream_that_outgrows_its_budget_moves_to_a_file_while_reading(corpus, tmp_path, monkeypatch, capsys):
    seen = recorded_ids(monkeypatch)
    ref = w2v.train(corpus, **FAST)
    spill = tmp_path / "spill"
    spill.mkdir()
    with open(corpus) as fh:                # a generator: its size is not known before reading it
        m = w2v.train((line for line in fh), memory_limit="1M", spill_dir=spill, quiet=False, **FAST)
    err = capsys.readouterr().err
    import re
    budget, at = re.search(r"outgrew the memory left for it \(([\d.]+) MB\) after ([\d,]+) tokens", err).groups()
    assert float(budget) <= 1.05 and int(at.replace(",", "")) * 4 <= 1.05e6     # within the 1M limit
    assert f"it is in a memory-mapped file in {spill}" in err
    assert isinstance(seen[-1], np.memmap)
    np.testing.assert_array_equal(m.syn0, ref.syn0)
    del seen[:]
    assert os.listdir(spill) == []


def test_a_full_disk_for_the_mapped_ids_is_a_one_line_error(corpus, tmp_path, monkeypatch, capsys):
    def full(fd, offset, length):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full)
    code = main(["train", str(corpus), "-o", str(tmp_path / "v"), "--memory-limit", "1M", "--dim", "8",
                 "--min-count", "1", "--epochs", "1", "-q"])
    err = capsys.readouterr().err
    assert code == 2 and "the disk is full" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "v").exists() and [p for p in os.listdir(tmp_path)] == []


def test_estimate_says_where_the_corpus_will_go(corpus, tmp_path, capsys):
    code = main(["train", str(corpus), "-o", str(tmp_path / "v"), "--estimate-memory", "--memory-limit", "1M",
                 "--dim", "8", "--min-count", "1"])
    out = capsys.readouterr().out
    assert code == 0 and f"it will go to a memory-mapped file in {tmp_path}" in out
    assert f"encoded corpus in {tmp_path} (memory-mapped)" in out


@pytest.mark.parametrize("bad", ["lots", "0", "100", "-4G", "nanM"])
def test_memory_limit_values(corpus, tmp_path, capsys, bad):
    assert main(["train", str(corpus), "-o", str(tmp_path / "v"), f"--memory-limit={bad}"]) == 2
    err = capsys.readouterr().err
    assert "--memory-limit must be a size of at least 1M" in err and len(err.strip().splitlines()) == 1
    assert train_module.parse_size("1.5G") == 3 << 29 and train_module.parse_size("500M") == 500 << 20
    assert train_module.parse_size(2 << 20) == 2 << 20 and train_module.parse_size("4GiB") == 4 << 30
