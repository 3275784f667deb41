"""Failure paths: bad input, Ctrl-C, full or read-only disks, memory, callbacks. Every one ends in
a clear message (W2VError, or one line and a non-zero exit) and loses nothing already written."""
import errno
import gzip
import importlib
import os
import signal
import subprocess
import sys
import threading
import time
import tracemalloc

import numpy as np
import pytest

import w2v
from w2v import corpus as corpus_module
from w2v.cli import main
from conftest import cli_unprivileged, run_unprivileged, sigint_default, write_planted_corpus

train_module = importlib.import_module("w2v.train")
SMALL = dict(dim=16, window=4, negative=5, min_count=1, sample=0, epochs=2, threads=1, seed=5)
# Subprocesses run in a temporary directory: started from the source tree, `python -m w2v` would
# import the uncompiled sources instead of the installed package.
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [os.path.dirname(os.path.dirname(w2v.__file__)),
                                                                os.environ.get("PYTHONPATH")])))


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("content, message", [
    (b"", "contains no words"),
    (b"   \n\n\t \n", "contains no words"),
    (bytes(range(256)) * 64, "does not look like text"),
    (b"\x89PNG\r\n\x1a\n" + bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8)),
     "does not look like text"),
    (b"\0" * 5000, "does not look like text"),
    (b"a b c\n", "no word occurs at least 5 times"),
])
def test_bad_corpus_files(tmp_path, capsys, content, message):
    path = tmp_path / "c.txt"
    path.write_bytes(content)
    out = tmp_path / "v"
    code, _, err = cli(capsys, "train", path, "-o", out, "-q")
    assert code == 2 and message in err, err
    assert err.startswith("w2v: error:") and "Traceback" not in err
    assert not out.exists()


def test_missing_directory_and_special_files(tmp_path, capsys):
    code, _, err = cli(capsys, "train", tmp_path / "nope.txt", "-q")
    assert code == 2 and "corpus not found" in err
    (tmp_path / "d").mkdir()
    code, _, err = cli(capsys, "train", tmp_path / "d", "-q")
    assert code == 2 and "holds no files" in err
    import socket
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "socket"))
    try:
        code, _, err = cli(capsys, "train", tmp_path / "socket", "-q")
    finally:
        sock.close()
    assert code == 2 and "not a regular file" in err


def test_a_named_pipe_is_read_as_a_stream(tmp_path, capsys, planted_corpus):
    """A FIFO (what `w2v train <(zcat corpus.gz)` reads) is a stream, read once as it is written."""
    import threading
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    data = planted_corpus.read_bytes()
    writer = threading.Thread(target=fifo.write_bytes, args=(data,))
    writer.start()
    try:
        code, _, err = cli(capsys, "train", fifo, "-o", tmp_path / "a.txt", "--format", "txt", "--threads", "1",
                           "--epochs", "1", "--dim", "8", "-q")
    finally:
        writer.join(2)
        if writer.is_alive():          # the pipe was not read: read it, so that the writer ends
            fifo.read_bytes()
            writer.join()
    assert code == 0, err
    code, _, err = cli(capsys, "train", planted_corpus, "-o", tmp_path / "b.txt", "--format", "txt", "--threads", "1",
                       "--epochs", "1", "--dim", "8", "-q")
    assert (tmp_path / "a.txt").read_bytes() == (tmp_path / "b.txt").read_bytes()


def test_unreadable_corpus(tmp_path):
    path = write_planted_corpus(tmp_path / "c.txt", sentences=50)
    path.chmod(0)
    r = cli_unprivileged("train", path, "-o", tmp_path / "v", "-q", "--min-count", "1")
    assert r.returncode == 2 and r.stderr.strip() == f"w2v: error: cannot read corpus file {path}: permission denied"
    assert not (tmp_path / "v").exists()


def test_truncated_gzip(tmp_path, capsys, planted_corpus):
    data = gzip.compress(planted_corpus.read_bytes())
    path = tmp_path / "c.txt.gz"
    path.write_bytes(data[:len(data) // 2])
    code, _, err = cli(capsys, "train", path, "-q", "--min-count", "1")
    assert code == 2 and "not a valid gzip file" in err


def test_invalid_utf8_and_nul_bytes_train_and_are_reported(tmp_path):
    path = tmp_path / "c.txt"
    with open(path, "wb") as fh:
        for i in range(300):
            fh.write(b"caf\xe9 ok fine word\0more text here %d\n" % (i % 7))
    enc = w2v.train(path, **SMALL)
    assert "caf\ufffd" in enc.vocab.words and "word" in enc.vocab.words and "more" in enc.vocab.words
    assert enc.vocab.bad_utf8 == 1


def test_a_huge_line_without_newline_is_streamed(tmp_path):
    """A 48 MB line with no newline is read in blocks: the reader's memory stays far below the
    line's size (loading it whole, plus its 8 million tokens, would take hundreds of MB)."""
    path = tmp_path / "line.txt"
    block = b"alpha beta gamma delta " * 4096
    n_blocks = 48 * (1 << 20) // len(block)
    with open(path, "wb") as fh:
        for _ in range(n_blocks):
            fh.write(block)
    script = (
        "import resource, sys\n"
        "import numpy as np\n"
        "from w2v._scan import TokenTable\n"
        "from w2v.corpus import iter_blocks\n"
        "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "table = TokenTable(10_000); out = np.empty(3 * (1 << 20) + 64, dtype=np.uint32)\n"
        "n = 0; longest = 0; cur = 0\n"
        "for block in iter_blocks(sys.argv[1]):\n"
        "    k = table.end_file(out) if block is None else table.feed(block, out)\n"
        "    for i in out[:k].tolist():\n"
        "        if i: n += 1; cur += 1\n"
        "        else: longest = max(longest, cur); cur = 0\n"
        "grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base\n"
        "print(n, longest, table.split_lines, grew * 1024)\n")
    r = subprocess.run([sys.executable, "-c", script, str(path)], env=ENV, capture_output=True, text=True,
                       timeout=120, cwd=path.parent)
    assert r.returncode == 0, r.stderr
    n, longest, split, grew = map(int, r.stdout.split())
    assert n == 4 * 4096 * n_blocks and longest == 10_000 and split == 1
    assert grew < 40 << 20, grew


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("W2V_BIG_TESTS"), reason="writes and reads 1 GB (about 2.5 minutes); "
                    "set W2V_BIG_TESTS=1 to run it")
def test_a_1gb_line_without_newline(tmp_path):
    path = tmp_path / "line.txt"
    block = b"w1 w2 w3 w4 w5 w6 w7 w8 " * 43690
    with open(path, "wb") as fh:
        for _ in range((1 << 30) // len(block)):
            fh.write(block)
    m = w2v.train(path, dim=8, epochs=1, min_count=1, threads=2, check_memory=False)
    assert len(m.vocab) == 8 and m.vocab.train_words > 100_000_000


@pytest.mark.parametrize("bad, message", [
    (dict(dim=10**7), "--dim must be between 1 and 10000"),
    (dict(window=10**6), "--window must be between 1"),
    (dict(negative=10**5), "--negative must be between 0"),
    (dict(negative=0), "--negative 0 leaves nothing to train: add --hs"),
    (dict(hs="yes"), "--hs must be True or False"),
    (dict(cbow_mean=2), "--cbow-mean must be True or False"),
    (dict(alpha=float("nan")), "--alpha must be"),
    (dict(sample=float("inf")), "--sample must be"),
    (dict(epochs=10**9), "--epochs must be between 1"),
    (dict(chunk_words=10), "--chunk-words must be at least 1000"),
    (dict(seed=-1), "--seed must be between 0"),
])
def test_absurd_parameters(planted_corpus, bad, message):
    with pytest.raises(w2v.W2VError, match=message):
        w2v.train(planted_corpus, **dict(SMALL, **bad))


def test_divergence_is_an_error_with_a_cause(planted_corpus, capsys, tmp_path):
    code, _, err = cli(capsys, "train", planted_corpus, "-o", tmp_path / "v", "-q", "--alpha", "10",
                       "--min-alpha", "10", "--min-count", "1", "--threads", "2")
    assert code == 2 and "training diverged" in err and "lower --alpha" in err
    assert not (tmp_path / "v").exists()


# ---------------------------------------------------------------------------------------
# Ctrl-C
# ---------------------------------------------------------------------------------------

def _start_and_interrupt(tmp_path, corpus, flags=("--dim", "64", "--chunk-words", "5000"), wait_for="epoch 1/50 done",
                         second_after=None):
    out = tmp_path / "v.w2v"
    cmd = [sys.executable, "-m", "w2v", "train", str(corpus), "-o", str(out), "--epochs", "50",
           "--min-count", "1", "--threads", "2", *flags]
    proc = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=tmp_path, preexec_fn=sigint_default)
    lines = []
    for line in proc.stderr:             # wait until training has started
        lines.append(line)
        if line.startswith(wait_for):
            break
    time.sleep(0.3)
    t0 = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    if second_after is not None:
        time.sleep(second_after)
        proc.send_signal(signal.SIGINT)
    rest = proc.stderr.read()
    proc.wait(timeout=60)
    return proc.returncode, time.perf_counter() - t0, "".join(lines) + rest, out


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory):
    return write_planted_corpus(tmp_path_factory.mktemp("sig") / "c.txt", sentences=20000)


def test_a_ctrl_c_after_the_work_is_done_changes_nothing(tmp_path):
    """A Ctrl-C that lands while the finished process shuts down (here: from an exit handler) neither
    prints a traceback nor turns a finished run into a failure."""
    corpus = tmp_path / "c.txt"
    corpus.write_text("a b c d a b c d\n" * 50)
    code = ("import atexit, os, signal, sys\n"
            "atexit.register(lambda: os.kill(os.getpid(), signal.SIGINT))\n"
            f"sys.argv = ['w2v', 'train', {str(corpus)!r}, '-o', {str(tmp_path / 'v.w2v')!r}, '-q', '--epochs', '1']\n"
            "from w2v.cli import run\n"
            "run()\n")
    done = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True, text=True, cwd=tmp_path,
                          timeout=120, preexec_fn=sigint_default)
    assert done.returncode == 0 and "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr, \
        (done.returncode, done.stderr)
    assert (tmp_path / "v.w2v").exists()


def test_first_ctrl_c_saves_the_model_so_far(tmp_path, big_corpus):
    code, seconds, err, out = _start_and_interrupt(tmp_path, big_corpus)
    assert code == 130, err
    assert seconds < 30, seconds        # not a hang (the epochs_done check below shows it stopped early)
    partial = tmp_path / "v.w2v.partial"
    assert f"the vectors trained so far are in {partial}" in err
    assert f"--resume {tmp_path / 'v.w2v.ckpt'}" in err and "Traceback" not in err
    assert not out.exists()
    kv = w2v.load(partial)
    assert len(kv) == 64 and np.isfinite(kv.vectors).all()
    m = w2v.Word2Vec.load(tmp_path / "v.w2v.ckpt")
    assert m.interrupted is False and m.schedule is not None and 1 <= m.epochs_done < 50
    np.testing.assert_array_equal(m.syn0, kv.vectors)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".part")]


def test_second_ctrl_c_aborts_at_once(tmp_path, big_corpus):
    """Chunks of a whole epoch at dim 1000 take seconds: the first Ctrl-C waits for them, the
    second gives up at once, without writing anything. Both come after the first epoch, when the
    Ctrl-C handler is surely in place (not only after the memory line, which a busy machine may
    print well before training starts), during the second epoch's only chunk."""
    slow_chunks = ("--dim", "1000", "--sample", "0", "--window", "10", "--chunk-words", "1000000")
    code, seconds, err, out = _start_and_interrupt(tmp_path, big_corpus, flags=slow_chunks,
                                                   wait_for="epoch 1/50 done", second_after=0.2)
    assert code == 130 and "stopping: letting the chunks in progress finish" in err, err
    # without the abort, the chunks would be drained and the partial vectors saved, with another message
    assert "w2v: interrupted" in err and "training was interrupted" not in err and "Traceback" not in err
    assert seconds < 30, seconds
    assert not out.exists() and not (tmp_path / "v.w2v.partial").exists()
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".part")]    # nothing half-written


def test_ctrl_c_in_python_returns_the_model(planted_corpus):
    """In Python, the first Ctrl-C (KeyboardInterrupt in the main thread) ends train() normally,
    with model.interrupted set."""
    def interrupt_once(info):
        if info.event == "epoch_end" and info.epoch == 1:
            raise KeyboardInterrupt
    m = w2v.train(planted_corpus, callbacks=[interrupt_once], **dict(SMALL, epochs=4))
    assert m.interrupted and m.epochs_done == 2 and m.schedule.epoch == 2


# ---------------------------------------------------------------------------------------
# disk
# ---------------------------------------------------------------------------------------

def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_full_disk_on_save(tmp_path, capsys, planted_corpus, monkeypatch):
    out = tmp_path / "v.w2v"
    out.write_bytes(b"previous vectors")
    monkeypatch.setattr(os, "fsync", _no_space)
    code, _, err = cli(capsys, "train", planted_corpus, "-o", out, "-q", "--min-count", "1", "--dim", "8")
    assert code == 2 and f"cannot write {out}: the disk is full" in err
    assert out.read_bytes() == b"previous vectors"          # the old file is untouched
    assert sorted(os.listdir(tmp_path)) == ["v.w2v"]         # and no temporary file is left
    m = w2v.train(planted_corpus, **SMALL)
    with pytest.raises(w2v.W2VError, match="the disk is full"):
        m.save(tmp_path / "model")
    with pytest.raises(w2v.W2VError, match="the disk is full"):
        m.wv.save(tmp_path / "vec.bin", format="bin")
    assert sorted(os.listdir(tmp_path)) == ["v.w2v"]


def test_full_disk_during_checkpoints_does_not_stop_training(tmp_path, planted_corpus, monkeypatch, capsys):
    monkeypatch.setattr(os, "fsync", _no_space)
    m = w2v.train(planted_corpus, checkpoint=tmp_path / "ck", checkpoint_every=1, quiet=False,
                  **dict(SMALL, epochs=3))
    assert m.epochs_done == 3 and not m.interrupted
    err = capsys.readouterr().err
    assert err.count("warning: checkpoint not written: cannot write") == 2 and "the disk is full" in err
    assert os.listdir(tmp_path) == []


def test_read_only_directory(tmp_path, planted_corpus):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        r = cli_unprivileged("train", planted_corpus, "-o", ro / "v", "-q", "--min-count", "1")
        assert r.returncode == 2 and f"cannot write to {ro}" in r.stderr and len(r.stderr.splitlines()) == 1
        save = run_unprivileged(
            "import sys, w2v\n"
            f"m = w2v.train(sys.argv[1], dim=8, epochs=1, min_count=1, threads=1)\n"
            "try:\n    m.save(sys.argv[2])\nexcept w2v.W2VError as exc:\n    print(exc)\n",
            planted_corpus, ro / "model")
        assert save.returncode == 0 and "permission denied" in save.stdout, save.stderr
        assert os.listdir(ro) == []
    finally:
        ro.chmod(0o755)


# ---------------------------------------------------------------------------------------
# memory
# ---------------------------------------------------------------------------------------

def test_memory_estimate_is_printed_and_alone_exits(tmp_path, capsys, planted_corpus, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, "train", planted_corpus, "--estimate-memory", "--dim", "50", "--min-count", "1")
    assert code == 0 and "memory (estimated before reading): model" in out and "x 50 dims x 4 bytes" in out
    assert "this run should fit in memory" in out
    assert os.listdir(tmp_path) == []           # estimating writes nothing
    code, _, err = cli(capsys, "train", planted_corpus, "-o", tmp_path / "v", "--dim", "8", "--min-count", "1",
                       "--epochs", "1", "--threads", "1")
    assert code == 0 and "memory: model 5.4 KB (2 x 64 words x 8 dims x 4 bytes)" in err
    code, out, _ = cli(capsys, "train", planted_corpus, "--estimate-memory", "--dim", "300", "--min-count", "1",
                       "--threads", "1")
    # 2 x 64 x 304 x 4 bytes for the padded rows, 64 x 20 for counts and noise tables
    assert code == 0 and "model 156.9 KB (2 x 64 words x 300 dims (rows padded to 304) x 4 bytes)" in out


def test_a_run_that_cannot_fit_fails_before_training(tmp_path, capsys, planted_corpus, monkeypatch):
    monkeypatch.setattr(train_module, "_meminfo_available", lambda: 100_000)
    code, out, err = cli(capsys, "train", planted_corpus, "-o", tmp_path / "v", "--dim", "500", "--min-count", "1")
    assert code == 2 and "not enough memory" in err
    assert "--dim" in err and "--max-vocab" in err
    # the corpus alone would have gone to a memory-mapped file beside the output; the model cannot
    assert f"it goes to a memory-mapped file in {tmp_path}" in err
    assert "epoch" not in err and not (tmp_path / "v").exists()
    code, out, err = cli(capsys, "train", planted_corpus, "--estimate-memory", "--dim", "500", "--min-count", "1")
    assert code == 0 and "probably does not fit" in out
    est = train_module.estimate_memory(planted_corpus, w2v.Params(dim=10, min_count=1).validate())
    assert 25_000 <= est.tokens <= 40_000            # 30,000 words + 3,000 sentence ends


def test_memory_estimate_counts_the_workers_copies_of_hot_rows():
    one = train_module.MemoryEstimate(vocab_size=100_000, dim=100, tokens=10, cache_dir=None, exact=True, threads=1)
    four = train_module.MemoryEstimate(vocab_size=100_000, dim=100, tokens=10, cache_dir=None, exact=True, threads=4)
    assert one.hot_bytes == 0 and "copied" not in one.describe()
    per_worker = 4 * train_module.hot_rows(4, 100_000, 100) * 100 * 4     # own + snapshot, syn0 + syn1neg
    assert four.model_bytes - one.model_bytes == 4 * per_worker
    assert "copied by 4 workers" in four.describe()


def test_size_estimate_of_gzip_uses_the_trailer(tmp_path, planted_corpus):
    gz = tmp_path / "c.txt.gz"
    gz.write_bytes(gzip.compress(planted_corpus.read_bytes()))
    est = corpus_module.estimate_size(gz)
    assert est.text_bytes == planted_corpus.stat().st_size
    assert 25_000 <= est.tokens <= 35_000 and 40 <= est.distinct <= 200


# ---------------------------------------------------------------------------------------
# callbacks
# ---------------------------------------------------------------------------------------

def test_callbacks_run_in_the_calling_thread_with_progress(tmp_path, monkeypatch):
    monkeypatch.setattr(train_module, "POLL_SECONDS", 0.01)
    corpus = write_planted_corpus(tmp_path / "c.txt", sentences=30000)
    seen = []
    main_thread = threading.current_thread()

    def record(info):
        assert threading.current_thread() is main_thread
        seen.append(info)

    m = w2v.train(corpus, callbacks=[record], **dict(SMALL, epochs=3, dim=64))
    ends = [i for i in seen if i.event == "epoch_end"]
    assert [i.epoch for i in ends] == [0, 1, 2] and all(i.epochs == 3 for i in ends)
    assert ends[-1].words_done == ends[-1].words_total == 3 * m.vocab.train_words
    assert ends[-1].fraction == 1.0
    assert [i.loss for i in ends] == m.loss_history
    assert all(i.words_per_sec > 0 for i in ends)
    alphas = [i.alpha for i in seen]
    assert alphas == sorted(alphas, reverse=True) and alphas[0] < SMALL.get("alpha", 0.025)


def test_callback_stop_from_a_progress_tick(tmp_path, monkeypatch):
    monkeypatch.setattr(train_module, "POLL_SECONDS", 0.01)
    corpus = write_planted_corpus(tmp_path / "c.txt", sentences=30000)
    ticks = []

    def stop_at_first_tick(info):
        if info.event == "progress":
            ticks.append(info)
            raise w2v.StopTraining
    m = w2v.train(corpus, callbacks=[stop_at_first_tick], **dict(SMALL, epochs=200, dim=64))
    assert m.interrupted and len(ticks) == 1 and m.epochs_done < 200
    assert m.schedule.exact            # chunks in flight finished: resumable exactly


def test_a_killed_writer_leaves_a_part_file_that_the_next_save_removes(tmp_path):
    from w2v._io import atomic_write
    target = tmp_path / "v.w2v"
    script = ("import os, sys\n"
              "from w2v._io import atomic_write\n"
              "with atomic_write(sys.argv[1]) as fh:\n"
              "    fh.write(b'half')\n"
              "    fh.flush()\n"
              "    os.kill(os.getpid(), 9)\n")
    r = subprocess.run([sys.executable, "-c", script, str(target)], env=ENV, cwd=tmp_path, timeout=60)
    assert r.returncode == -9
    orphans = [p for p in os.listdir(tmp_path) if p.endswith(".part")]
    assert len(orphans) == 1 and not target.exists()
    # a save in progress in a live process (this one's parent stands for it) is left alone
    live = tmp_path / f".v.w2v.{os.getppid()}.abcdefgh.part"
    live.write_bytes(b"in progress")
    other = tmp_path / f".v.w2v.ckpt.{orphans[0].split('.')[3]}.abcdefgh.part"   # another file's
    other.write_bytes(b"x")
    with atomic_write(target) as fh:
        fh.write(b"whole")
    assert target.read_bytes() == b"whole"
    assert sorted(p for p in os.listdir(tmp_path) if p.endswith(".part")) == sorted([live.name, other.name])
