"""Model files, checkpoints and resuming: exact continuation, damaged files, fault injection."""
import os
import random
import signal
import subprocess
import sys
import time

import dataclasses
import importlib

import numpy as np
import pytest

import w2v
from w2v import corpus as corpus_module
from w2v.cli import main
from conftest import sigint_default, write_planted_corpus

train_module = importlib.import_module("w2v.train")   # the module (w2v.train is the function)
SMALL = dict(dim=16, window=4, negative=5, min_count=1, sample=0, epochs=3, threads=1, seed=5, chunk_words=2000)


def write_group_corpus(path, sentences=60000, length=12, groups=40, per_group=50, seed=0):
    """A larger planted corpus, written in one go (no per-sentence numpy calls)."""
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(groups * per_group)])
    ids = rng.integers(0, groups, size=sentences)[:, None] * per_group + rng.integers(0, per_group, (sentences, length))
    with open(path, "w") as fh:
        fh.write("\n".join(" ".join(row) for row in words[ids]) + "\n")
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_planted_corpus(tmp_path_factory.mktemp("ck") / "c.txt", sentences=6000)


# hierarchical softmax alone (skip-gram), and beside negative sampling (CBOW with a sum)
VARIANTS = {"sg": dict(model="sg"), "cbow": dict(model="cbow"),
            "sg-hs": dict(model="sg", hs=True, negative=0),
            "cbow-sum-hs-ns": dict(model="cbow", hs=True, cbow_mean=False)}


@pytest.fixture(scope="module")
def reference(corpus):
    return {name: w2v.train(corpus, **dict(SMALL, **kw)) for name, kw in VARIANTS.items()}


def snapshots_every_segment(monkeypatch, tmp_path):
    """Make a checkpoint due at every chunk boundary the coordinator sees, keeping a copy of each."""
    copies = []
    original = train_module.Checkpointer.save

    def save(self, model, reporter=None):
        original(self, model, reporter)
        copy = tmp_path / f"snap{len(copies)}.npz"
        os.link(self.path, copy)
        copies.append(copy)

    monkeypatch.setattr(train_module, "POLL_SECONDS", 0.0002)
    monkeypatch.setattr(train_module.Checkpointer, "time_due", lambda self: True)
    monkeypatch.setattr(train_module.Checkpointer, "save", save)
    return copies


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_resume_from_any_chunk_boundary_is_exact(tmp_path, monkeypatch, corpus, reference, variant):
    copies = snapshots_every_segment(monkeypatch, tmp_path)
    full = w2v.train(corpus, checkpoint=tmp_path / "ck", checkpoint_every="1h", **dict(SMALL, **VARIANTS[variant]))
    ref = reference[variant]
    np.testing.assert_array_equal(full.syn0, ref.syn0)       # pausing for checkpoints changes nothing
    assert len(copies) > 10
    monkeypatch.undo()
    for snap in random.Random(0).sample(copies, 4) + [copies[0], copies[-1]]:
        m = w2v.Word2Vec.load(snap)
        assert m.schedule is not None and m.schedule.exact
        m.resume(corpus)
        assert m.epochs_done == 3 and m.schedule is None and not m.interrupted
        np.testing.assert_array_equal(m.syn0, ref.syn0)
        for name in ("syn1neg", "syn1"):
            want, got = getattr(ref, name), getattr(m, name)
            assert (want is None) == (got is None) and (want is None or np.array_equal(got, want)), name
        assert m.loss_history == ref.loss_history


def test_epoch_checkpoints_and_save_load_round_trip(tmp_path, corpus, reference):
    ck = tmp_path / "model.ckpt"
    m = w2v.train(corpus, checkpoint=ck, checkpoint_every="1e", **SMALL)
    loaded = w2v.Word2Vec.load(ck)           # written after epoch 2 of 3
    assert loaded.epochs_done == 2 and loaded.schedule.epoch == 2 and loaded.schedule.next_chunk == 0
    m.save(tmp_path / "final")
    again = w2v.Word2Vec.load(tmp_path / "final")
    assert again.schedule is None and again.params == m.params and again.loss_history == m.loss_history
    assert again.vocab.words == m.vocab.words
    np.testing.assert_array_equal(again.vocab.counts, m.vocab.counts)
    np.testing.assert_array_equal(again.syn0, reference["sg"].syn0)
    np.testing.assert_array_equal(again.syn1neg, m.syn1neg)
    assert again.wv.most_similar("g0w0", topn=3) == m.wv.most_similar("g0w0", topn=3)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".part")]


def test_hierarchical_softmax_model_round_trip(tmp_path, corpus, reference):
    """syn1 is saved and loaded exactly; a model without negative sampling has no syn1neg, in
    memory or in the file."""
    m = reference["sg-hs"]
    assert m.syn1neg is None and m.syn1.shape == (len(m.vocab) - 1, 16) and np.abs(m.syn1).max() > 0.1
    m.save(tmp_path / "m")
    again = w2v.Word2Vec.load(tmp_path / "m")
    assert again.params == m.params and again.syn1neg is None
    np.testing.assert_array_equal(again.syn1, m.syn1)
    np.testing.assert_array_equal(again.syn0, m.syn0)
    with np.load(tmp_path / "m") as z:
        assert "syn1neg" not in z.files and "syn1" in z.files


def write_version_1(path, model):
    """A model file as w2v wrote them before hierarchical softmax (format version 1): syn0 and
    syn1neg always, parameters without hs and cbow_mean."""
    import dataclasses
    import json
    v = model.vocab
    params = {k: val for k, val in dataclasses.asdict(model.params).items() if k not in ("hs", "cbow_mean")}
    meta = {"params": params, "vocab": {"total_tokens": v.total_tokens, "distinct": v.distinct, "pruned": v.pruned,
                                        "prune_threshold": v.prune_threshold, "bad_utf8": v.bad_utf8},
            "epochs_done": model.epochs_done, "loss_history": model.loss_history,
            "schedule": dataclasses.asdict(model.schedule) if model.schedule is not None else None,
            "fingerprint": model.fingerprint, "extra": model.extra, "format": "w2v-model", "version": 1}
    with open(path, "wb") as fh:
        np.savez(fh, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8),
                 words=np.frombuffer("\n".join(v.words).encode(), np.uint8), counts=v.counts,
                 syn0=model.syn0, syn1neg=model.syn1neg)


def test_checkpoints_written_before_hierarchical_softmax_resume_exactly(tmp_path, monkeypatch, corpus, reference):
    copies = snapshots_every_segment(monkeypatch, tmp_path)
    w2v.train(corpus, model="cbow", checkpoint=tmp_path / "ck", checkpoint_every="1h", **SMALL)
    monkeypatch.undo()
    snap = w2v.Word2Vec.load(copies[len(copies) // 2])
    old = tmp_path / "old.ckpt"
    write_version_1(old, snap)
    m = w2v.Word2Vec.load(old)
    assert m.params.hs is False and m.params.cbow_mean is True and m.syn1 is None and m.schedule.exact
    m.resume(corpus)
    np.testing.assert_array_equal(m.syn0, reference["cbow"].syn0)
    np.testing.assert_array_equal(m.syn1neg, reference["cbow"].syn1neg)


def test_a_newer_model_file_version_is_one_clear_line(tmp_path, corpus):
    bad = tmp_path / "future"
    np.savez(open(bad, "wb"), meta=np.frombuffer(b'{"format": "w2v-model", "version": 3}', np.uint8),
             words=np.frombuffer(b"a\nb", np.uint8), counts=np.ones(2, np.int64), syn0=np.zeros((2, 4), np.float32))
    with pytest.raises(w2v.W2VError, match="model file version 3 is not supported .*reads versions 1, 2"):
        w2v.Word2Vec.load(bad)


def test_stopped_model_resumes_exactly_in_memory(corpus, reference):
    def stop(info):
        if info.event == "epoch_end" and info.epoch == 0:
            raise w2v.StopTraining
    m = w2v.train(corpus, callbacks=[stop], **SMALL)
    assert m.interrupted and m.epochs_done == 1
    m.resume(corpus)
    np.testing.assert_array_equal(m.syn0, reference["sg"].syn0)


def write_pruned_corpus(path, block, lines=40_000, seed=3):
    """Planted groups; a token seen only once on every line, so that a prune limit of 2,000 prunes
    after every block of `block` bytes; ten words seen once in the first block, then often in the
    second half; five words seen once in the first block, twice in the second, then often from
    the fifth on (the first two prunes forget them: with blocks twice as large, the first would
    not). Returns how often the scan should count those words (their occurrences after their last
    prune)."""
    rng = np.random.default_rng(seed)
    after = {}
    pos = 0
    placed = set()
    with open(path, "w") as fh:
        for i in range(lines):
            g = rng.integers(20)
            words = [f"g{g}w{j}" for j in rng.integers(0, 20, 10)] + [f"r{i}"]
            if i < 10:
                words.insert(5, f"late{i}")
            elif i > lines // 2 and i % 7 == 0:
                words.insert(5, f"late{i % 10}")
                after[f"late{i % 10}"] = after.get(f"late{i % 10}", 0) + 1
            for at in (0.5, 1.2, 1.5):      # once in the first block, twice in the second
                if pos >= at * block and at not in placed:
                    placed.add(at)
                    words += [f"mid{j}" for j in range(5)]
            if pos >= 2.2 * block and i % 11 == 0:
                words.insert(3, f"mid{i % 5}")
                after[f"mid{i % 5}"] = after.get(f"mid{i % 5}", 0) + 1
            line = " ".join(words) + "\n"
            pos += len(line)
            fh.write(line)
    assert len(placed) == 3 and pos > 5 * block
    return path, after


def test_run_whose_scan_pruned_resumes_exactly(tmp_path, monkeypatch):
    """Resuming encodes the corpus as the pruning scan did (a word pruned and seen again lost its
    early occurrences), so the resumed run ends with the uninterrupted run's vectors."""
    block = 1 << 19                     # the run is made with another block size than the default
    corpus, after = write_pruned_corpus(tmp_path / "c.txt", block)
    params = dict(SMALL, min_count=2, epochs=2, chunk_words=20_000, prune_limit=2000)
    copies = snapshots_every_segment(monkeypatch, tmp_path)
    monkeypatch.setattr(corpus_module, "BLOCK_BYTES", block)
    ref = w2v.train(corpus, **params)
    v = ref.vocab
    assert v.pruned >= 5 and v.block_bytes == block
    assert {w: int(c) for w, c in zip(v.words, v.counts) if w.startswith(("late", "mid"))} == after
    full = w2v.train(corpus, checkpoint=tmp_path / "ck", checkpoint_every="1h", **params)
    monkeypatch.undo()
    np.testing.assert_array_equal(full.syn0, ref.syn0)
    assert len(copies) > 10
    for snap in (copies[0], copies[len(copies) // 2], copies[-1]):
        m = w2v.Word2Vec.load(snap)
        assert m.schedule.exact and m.vocab.pruned == v.pruned
        m.resume(corpus)
        np.testing.assert_array_equal(m.syn0, ref.syn0)
        np.testing.assert_array_equal(m.syn1neg, ref.syn1neg)
        assert m.loss_history == ref.loss_history
    m = w2v.Word2Vec.load(copies[0])
    m.params = dataclasses.replace(m.params, prune_limit=10 ** 6)     # a scan that does not prune: another vocabulary
    with pytest.raises(w2v.W2VError, match="does not give this run's vocabulary when scanned again"):
        m.resume(corpus)


def test_several_threads_pause_and_resume(tmp_path, monkeypatch, corpus):
    copies = snapshots_every_segment(monkeypatch, tmp_path)
    params = dict(SMALL, threads=2)
    w2v.train(corpus, checkpoint=tmp_path / "ck", checkpoint_every="1h", **params)
    monkeypatch.undo()
    m = w2v.Word2Vec.load(copies[len(copies) // 2])
    assert m.schedule.exact and 0 < m.schedule.words_done
    m.resume(corpus)
    assert m.epochs_done == 3 and np.isfinite(m.syn0).all() and len(m.loss_history) == 3


def test_train_more_epochs_on_another_corpus(tmp_path, corpus):
    m = w2v.train(corpus, **SMALL)
    other = tmp_path / "other.txt"
    other.write_text("g0w0 g0w1 unknownword g0w2\ng1w1 g1w2 another\n" * 200)
    before = m.syn0.copy()
    m.train(other, epochs=2)
    assert m.epochs_done == 5 and len(m.loss_history) == 5 and m.schedule is None
    assert not np.array_equal(before[[m.wv.get_index("g0w0")]], m.syn0[[m.wv.get_index("g0w0")]])
    rows = [m.wv.get_index(w) for w in ("g7w7", "g6w6")]          # not in the new corpus
    np.testing.assert_array_equal(before[rows], m.syn0[rows])
    empty = tmp_path / "none.txt"
    empty.write_text("nothing known here\n")
    with pytest.raises(w2v.W2VError, match="no word of corpus .* is in the model's vocabulary"):
        m.train(empty, epochs=1)
    with pytest.raises(w2v.W2VError, match="training is complete; use model.train"):
        m.resume(corpus)


def test_resume_checks_the_corpus(tmp_path, corpus):
    ck = tmp_path / "ck"
    w2v.train(corpus, checkpoint=ck, checkpoint_every=1, **SMALL)
    m = w2v.Word2Vec.load(ck)
    other = tmp_path / "other.txt"
    other.write_text(open(corpus).read().replace("g0w0", "g0w1", 1))
    with pytest.raises(w2v.W2VError, match="is not the one this training run started on"):
        m.resume(other)


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty", "vectors", "meta"])
def test_damaged_model_files_are_errors(tmp_path, corpus, damage):
    good = tmp_path / "good"
    w2v.train(corpus, **dict(SMALL, epochs=1)).save(good)
    data = good.read_bytes()
    bad = tmp_path / "bad"
    if damage == "truncate":
        bad.write_bytes(data[:len(data) // 2])
    elif damage == "flip":
        mid = len(data) // 2
        bad.write_bytes(data[:mid] + bytes([data[mid] ^ 0xFF]) + data[mid + 1:])
    elif damage == "garbage":
        bad.write_bytes(os.urandom(5000))
    elif damage == "empty":
        bad.write_bytes(b"")
    elif damage == "vectors":
        w2v.train(corpus, **dict(SMALL, epochs=1)).wv.save(bad)     # a vectors file, not a model
    else:
        np.savez(open(bad, "wb"), meta=np.frombuffer(b'{"format": "w2v-model", "version": 1}', np.uint8),
                 words=np.frombuffer(b"a\nb", np.uint8), counts=np.ones(2, np.int64),
                 syn0=np.zeros((2, 4), np.float32), syn1neg=np.zeros((2, 4), np.float32))
    with pytest.raises(w2v.W2VError, match="damaged|not a w2v model"):
        w2v.Word2Vec.load(bad)
    with pytest.raises(w2v.W2VError, match="model file not found"):
        w2v.Word2Vec.load(tmp_path / "missing")


def test_checkpoint_every_values():
    assert train_module.parse_every("2") == (2, None)
    assert train_module.parse_every("1e") == (1, None)
    assert train_module.parse_every(3) == (3, None)
    assert train_module.parse_every("10m") == (None, 600.0)
    assert train_module.parse_every("1.5h") == (None, 5400.0)
    assert train_module.parse_every("30s") == (None, 30.0)
    for bad in ("0", "-1m", "ten", "", "5x", "0e", "nanm"):
        with pytest.raises(w2v.W2VError, match="--checkpoint-every must be a number of epochs"):
            train_module.parse_every(bad)


def test_cli_checkpoint_resume_and_cleanup(tmp_path, capsys, corpus):
    out = tmp_path / "v.w2v"
    args = ["train", str(corpus), "-o", str(out), "--dim", "16", "--min-count", "1", "--threads", "1",
            "--epochs", "3", "--chunk-words", "2000", "--checkpoint-every", "1e"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert err.count("checkpoint written to") == 2
    assert out.exists() and not (tmp_path / "v.w2v.ckpt").exists()      # removed once the run is complete
    assert main(args[:-2] + ["--checkpoint-every", "0e"]) == 2
    assert "--checkpoint-every must be" in capsys.readouterr().err
    assert main(["train", str(corpus), "--resume", str(tmp_path / "nothing")]) == 2
    assert "model file not found" in capsys.readouterr().err


def _run_until_done(cmd, ck, rng, signals, env):
    """Start cmd (with --resume while a checkpoint exists), send it the next signal after a random
    delay, and repeat; finally let it run to the end. Returns the signals that hit a running process."""
    delivered = []
    for sig in list(signals) + [None] * 3:
        argv = cmd + (["--resume", str(ck)] if ck.exists() else [])
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                cwd=ck.parent,   # not the source tree: import the installed package
                                preexec_fn=sigint_default)
        if sig is not None:
            first = proc.stderr.readline()      # started: past the imports, on a loaded machine too
            time.sleep(rng.uniform(0.3, 1.0))
            if proc.poll() is None:
                proc.send_signal(sig)
                delivered.append(sig)
        err = (first if sig is not None else b"").decode() + proc.communicate(timeout=120)[1].decode()
        if proc.returncode == 0:
            if sig is None:
                return delivered
            continue
        assert "Traceback" not in err, err
        if sig == signal.SIGINT:
            assert proc.returncode == 130, err
            if "training was interrupted" in err:    # not while starting or reading the corpus
                assert "--resume" in err and ck.exists()
        else:
            assert proc.returncode == -signal.SIGKILL
    raise AssertionError("the run never finished")


def test_fault_injection_kill_and_resume_gives_identical_vectors(tmp_path):
    """SIGKILL between checkpoints and SIGINT at random moments; every run resumes from the last
    checkpoint; the final vectors equal those of an uninterrupted single-thread run."""
    corpus = write_group_corpus(tmp_path / "c.txt")
    flags = ["--dim", "32", "--epochs", "6", "--min-count", "1", "--threads", "1", "--seed", "11",
             "--chunk-words", "5000"]
    assert main(["train", str(corpus), "-o", str(tmp_path / "ref.w2v"), "-q"] + flags) == 0
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [os.path.dirname(os.path.dirname(w2v.__file__)),
                                                               os.environ.get("PYTHONPATH")])))
    out, ck = tmp_path / "v.w2v", tmp_path / "v.ckpt"
    cmd = [sys.executable, "-m", "w2v", "train", str(corpus), "-o", str(out), "--checkpoint", str(ck),
           "--checkpoint-every", "0.3s"] + flags
    signals = [signal.SIGKILL, signal.SIGINT] * 3
    delivered = _run_until_done(cmd, ck, random.Random(2024), signals, env)
    assert len(delivered) >= 4 and set(delivered) == {signal.SIGKILL, signal.SIGINT}, delivered
    ref, got = w2v.load(tmp_path / "ref.w2v"), w2v.load(out)
    assert got.index_to_key == ref.index_to_key
    np.testing.assert_array_equal(got.vectors, ref.vectors)
    assert not ck.exists() and not (tmp_path / "v.w2v.partial").exists()


def test_checkpoints_of_padded_rows_resume_exactly(tmp_path, monkeypatch, corpus):
    """At dim 200 training pads rows to 208 floats: checkpoints written mid-run hold the plain
    vectors, and resuming from one gives the uninterrupted run's vectors."""
    opts = dict(SMALL, dim=200, epochs=2)
    ref = w2v.train(corpus, model="cbow", **opts)
    copies = snapshots_every_segment(monkeypatch, tmp_path)
    full = w2v.train(corpus, model="cbow", checkpoint=tmp_path / "ck", checkpoint_every="1h", **opts)
    monkeypatch.undo()
    np.testing.assert_array_equal(full.syn0, ref.syn0)
    assert len(copies) > 3
    m = w2v.Word2Vec.load(copies[len(copies) // 2])
    assert m.syn0.shape == (len(m.vocab), 200) and m.schedule.exact
    m.resume(corpus)
    np.testing.assert_array_equal(m.syn0, ref.syn0)
    np.testing.assert_array_equal(m.syn1neg, ref.syn1neg)
