"""Training end to end on small synthetic corpora with known structure."""
import numpy as np
import pytest

import w2v
from conftest import neighbour_accuracy, write_planted_corpus

SMALL = dict(dim=24, window=4, negative=5, min_count=1, sample=0, epochs=5)


@pytest.mark.parametrize("model", ["sg", "cbow"])
@pytest.mark.parametrize("threads", [1, 2])
def test_recovers_planted_groups(planted_corpus, model, threads):
    m = w2v.train(planted_corpus, model=model, threads=threads, seed=3, **SMALL)
    assert len(m.vocab) == 64
    acc = neighbour_accuracy(m.vocab.words, m.syn0)
    assert acc >= 0.9, acc          # chance is 7/63
    assert m.epochs_done == 5 and not m.interrupted
    assert np.isfinite(m.syn0).all()


@pytest.mark.parametrize("model", ["sg", "cbow"])
def test_one_thread_with_a_seed_repeats_exactly(planted_corpus, model):
    a = w2v.train(planted_corpus, model=model, threads=1, seed=7, **SMALL)
    b = w2v.train(planted_corpus, model=model, threads=1, seed=7, **SMALL)
    c = w2v.train(planted_corpus, model=model, threads=1, seed=8, **SMALL)
    np.testing.assert_array_equal(a.syn0, b.syn0)
    np.testing.assert_array_equal(a.syn1neg, b.syn1neg)
    assert a.loss_history == b.loss_history
    assert not np.array_equal(a.syn0, c.syn0)


def test_chunking_does_not_change_single_thread_results_shape(tmp_path):
    """Many small chunks: every word is still trained, and results stay finite."""
    path = write_planted_corpus(tmp_path / "c.txt", sentences=4000)
    m = w2v.train(path, threads=2, chunk_words=1000, seed=1, **SMALL)
    assert neighbour_accuracy(m.vocab.words, m.syn0) >= 0.9


@pytest.mark.parametrize("model", ["sg", "cbow"])
def test_loss_falls_and_is_consistent_across_threads(planted_corpus, model):
    one = w2v.train(planted_corpus, model=model, threads=1, **SMALL)
    two = w2v.train(planted_corpus, model=model, threads=2, **SMALL)
    for m in (one, two):
        assert len(m.loss_history) == 5
        assert m.loss_history[-1] < m.loss_history[0]
    # the per-example mean is accumulated in double precision over all workers
    assert two.loss_history[-1] == pytest.approx(one.loss_history[-1], rel=0.1)


def test_subsampling_drops_frequent_words(tmp_path):
    path = tmp_path / "c.txt"
    rng = np.random.default_rng(0)
    with open(path, "w") as fh:
        for _ in range(2000):
            fh.write(" ".join(["the"] * 8 + list(rng.choice(["cat", "dog", "fox", "owl"], 2))) + "\n")
    seen = []
    m = w2v.train(path, sample=1e-3, threads=1, epochs=1, min_count=1, dim=8,
                  callbacks=[lambda info: seen.append(info)])
    assert m.epochs_done == 1 and seen[-1].event == "epoch_end"
    assert seen[-1].words_done == m.vocab.train_words


def test_divergence_is_reported(planted_corpus):
    with pytest.raises(w2v.W2VError, match="diverged.*lower --alpha"):
        w2v.train(planted_corpus, threads=2, alpha=10.0, min_alpha=10.0, **SMALL)


def test_callback_can_stop_training(planted_corpus):
    events = []

    def stop_after_first_epoch(info):
        events.append(info.event)
        if info.event == "epoch_end":
            raise w2v.StopTraining

    m = w2v.train(planted_corpus, threads=2, callbacks=[stop_after_first_epoch], **SMALL)
    assert m.epochs_done == 1 and m.interrupted
    assert events[-1] == "epoch_end"


def test_worker_exception_reaches_caller(planted_corpus, monkeypatch):
    from w2v import _kernels

    class Boom(RuntimeError):
        pass

    calls = []

    class Broken(_kernels.TrainState):
        def train_chunk(self, start, end, seed, epoch, chunk):
            calls.append(chunk)
            if len(calls) == 3:
                raise Boom("worker failed")
            return super().train_chunk(start, end, seed, epoch, chunk)

    monkeypatch.setattr(_kernels, "TrainState", Broken)
    with pytest.raises(Boom, match="worker failed"):
        w2v.train(planted_corpus, threads=2, chunk_words=1000, **SMALL)
    n_chunks = 31    # 30,000 words + sentence ends in chunks of about 1,000
    assert len(calls) < n_chunks * SMALL["epochs"]       # the other worker stopped too


@pytest.mark.parametrize("bad, message", [
    (dict(dim=0), "--dim must be between 1"),
    (dict(window=-1), "--window must be between 1"),
    (dict(epochs=0), "--epochs must be between 1"),
    (dict(negative=0), "--negative must be between 1"),
    (dict(model="skipgram"), "model must be 'sg' or 'cbow'"),
    (dict(sample=-0.1), "--sample must be"),
    (dict(alpha=0), "--alpha must be > 0"),
    (dict(threads=0), "--threads must be between 1"),
    (dict(min_alpha=0.5, alpha=0.1), "min_alpha .* must not exceed alpha"),
    (dict(dim=2.5), "--dim must be a whole number"),
])
def test_bad_parameters(planted_corpus, bad, message):
    params = dict(SMALL, **bad)
    with pytest.raises(w2v.W2VError, match=message):
        w2v.train(planted_corpus, **params)


def test_unknown_parameter(planted_corpus):
    with pytest.raises(w2v.W2VError, match="unknown training parameter"):
        w2v.train(planted_corpus, dims=10)
