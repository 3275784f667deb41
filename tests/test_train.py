"""Training end to end on small synthetic corpora with known structure."""
import math

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
    with pytest.raises(w2v.DivergedError, match="diverged.*lower --alpha"):
        w2v.train(planted_corpus, threads=2, alpha=10.0, min_alpha=10.0, **SMALL)


def test_a_loss_that_grows_without_bound_is_divergence(planted_corpus):
    """At a constant rate of 0.5 the vectors grow for epochs before any score is infinite (the kernels' own
    check): the loss per example passing 10x an untrained model's stops training as well."""
    with pytest.raises(w2v.DivergedError, match=r"^training diverged at epoch \d+: the loss per example rose to \S+ "
                                           r"\(an untrained model's is 4\.16\); lower --alpha \(now 0\.5\)$"):
        w2v.train(planted_corpus, **dict(SMALL, threads=1, epochs=6, alpha=0.5, min_alpha=0.5))


def test_divergence_is_ten_times_the_untrained_loss(planted_corpus):
    from w2v.train import diverged_message, untrained_loss
    m = w2v.train(planted_corpus, **dict(SMALL, threads=1, epochs=1))
    u = untrained_loss(m)
    assert diverged_message(u, 9.99 * u, "at epoch 1", m.params.alpha) is None
    why = diverged_message(u, 10.01 * u, "at epoch 1", m.params.alpha)
    assert why.startswith("training diverged at epoch 1: the loss per")


def test_a_path_counts_as_often_as_its_word_occurs(tmp_path):
    """On a skewed corpus the untrained loss of hierarchical softmax is the count-weighted mean path length
    (ln 2 a node), not the mean over the vocabulary, which is far longer there."""
    from w2v.train import untrained_loss
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(400)]
    p = 1.0 / np.arange(1, 401)
    path = tmp_path / "zipf.txt"
    path.write_text("\n".join(" ".join(rng.choice(words, 12, p=p / p.sum())) for _ in range(3000)) + "\n")
    m = w2v.train(path, hs=True, negative=0, dim=16, window=4, min_count=1, sample=0, epochs=1, threads=1,
                  alpha=1e-9, min_alpha=1e-9)
    assert m.loss_history[0] == pytest.approx(untrained_loss(m), rel=0.03)
    per_word = np.diff(np.asarray(m.tree.code_start)) * math.log(2)
    assert per_word.mean() > 1.15 * untrained_loss(m)


@pytest.mark.parametrize("kw", [dict(), dict(negative=2), dict(hs=True, negative=0), dict(hs=True, negative=3),
                                dict(model="cbow", hs=True, negative=1)])
def test_the_untrained_loss_is_that_of_all_scores_zero(planted_corpus, kw):
    """The output weights start at zero, so at a learning rate of ~0 every score is 0 and the loss per example
    is ln 2 per output: 1 + negative for negative sampling, the path's nodes (their mean over the corpus's
    words, sample 0 keeps them all) for hierarchical softmax."""
    from w2v.train import untrained_loss
    m = w2v.train(planted_corpus, **dict(SMALL, threads=1, epochs=1, alpha=1e-9, min_alpha=1e-9, sample=0, **kw))
    # every output counts ln 2, but a noise word that is the centre word is skipped (word2vec.c's rule; with
    # this small vocabulary about 1 % of them), and a path is the centre word's, the examples weighing words by
    # their windows' pairs rather than their counts: within a few per cent
    assert m.loss_history[0] == pytest.approx(untrained_loss(m), rel=0.03)
    if m.params.hs:       # the path's nodes count: several more than the noise words
        assert untrained_loss(m) > ((1 + m.params.negative) if m.params.negative else 0) * math.log(2) + 2


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
    (dict(negative=0), "--negative 0 leaves nothing to train"),
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


def test_row_stride_pads_to_cache_lines_only_when_cheap():
    from w2v.train import row_stride
    assert [row_stride(d) for d in (300, 200, 1000, 128, 256)] == [304, 208, 1008, 128, 256]
    assert [row_stride(d) for d in (100, 50, 24, 1)] == [100, 50, 24, 1]     # padding would cost > 1/16
    assert [row_stride(d, lines=True) for d in (100, 50, 24, 1, 128)] == [112, 64, 32, 16, 128]


@pytest.mark.parametrize("model,hs,stride", [("sg", True, 112), ("cbow", True, 112), ("sg", False, 100),
                                              ("cbow", False, 100)])
def test_hierarchical_softmax_pads_rows_at_any_dim(model, hs, stride):
    from w2v.params import Params
    from w2v.train import model_weights
    p = Params(model=model, dim=100, hs=hs, negative=5)
    for a in model_weights(50, p):
        if a is not None:
            assert a.shape[1] == 100 and a.strides[0] == 4 * stride and a.ctypes.data % 64 == 0


@pytest.mark.parametrize("dim", [300, 100])
def test_initial_weights_are_aligned_padded_views_with_the_usual_values(dim):
    from w2v.train import init_weights, row_stride
    V = 5000                                         # several blocks of random draws
    syn0, syn1neg = init_weights(V, dim, seed=4)
    rng = np.random.default_rng(4)
    want = (rng.random((V, dim), dtype=np.float32) - np.float32(0.5)) * np.float32(2.0 / dim)
    np.testing.assert_array_equal(syn0, want)
    assert not syn1neg.any() and syn0.shape == syn1neg.shape == (V, dim)
    for a in (syn0, syn1neg):
        assert a.strides == (4 * row_stride(dim), 4) and a.ctypes.data % 64 == 0


def test_compact_rows_moves_rows_in_place():
    from w2v.train import compact_rows, init_weights
    V, dim = 3000, 300                              # more rows than one block of the move
    padded, _ = init_weights(V, dim, seed=1)
    want = np.array(padded)
    out = compact_rows(padded)
    assert out.flags.c_contiguous and np.shares_memory(out, padded)
    np.testing.assert_array_equal(out, want)
    plain = np.ones((4, 3), dtype=np.float32)
    assert compact_rows(plain) is plain
    odd = np.arange(40, dtype=np.float32).reshape(4, 10)[:, ::2]     # not row-contiguous: copied
    np.testing.assert_array_equal(compact_rows(odd), odd)


def test_padded_training_gives_the_same_vectors_as_unpadded(planted_corpus, monkeypatch):
    """Training lays rows out padded (dim 300 -> 304); the result is plain arrays, bit for bit
    those of training on unpadded rows."""
    import importlib
    t = importlib.import_module("w2v.train")       # the module (w2v.train is also the function)
    opts = dict(SMALL, dim=300, epochs=2, threads=1, seed=5)
    strides = []
    real = t._kernels.TrainState

    def recording(syn0, *args, **kwargs):
        strides.append(syn0.strides[0] // 4)
        return real(syn0, *args, **kwargs)

    monkeypatch.setattr(t._kernels, "TrainState", recording)
    for model, dim, hs, padded in (("sg", 300, False, 304), ("cbow", 300, False, 304), ("sg", 100, True, 112)):
        a = w2v.train(planted_corpus, model=model, **dict(opts, dim=dim, hs=hs))
        with monkeypatch.context() as mp:
            mp.setattr(t, "row_stride", lambda dim, lines=False: dim)
            b = w2v.train(planted_corpus, model=model, **dict(opts, dim=dim, hs=hs))
        assert strides[-2:] == [padded, dim]
        assert a.syn0.flags.c_contiguous and a.syn1neg.flags.c_contiguous
        np.testing.assert_array_equal(a.syn0, b.syn0)
        np.testing.assert_array_equal(a.syn1neg, b.syn1neg)
        if hs:
            assert a.syn1.flags.c_contiguous
            np.testing.assert_array_equal(a.syn1, b.syn1)
