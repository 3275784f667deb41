"""Training across Dask workers (w2v.distributed) on a local cluster of two worker processes.

Expectations come from definitions, not from the code path: the vocabulary one process would choose
(vocab.scan), the single-process trainer (one worker with one thread must repeat it bit for bit, and a round
must be the sum of what every shard's own training changed), the linear learning-rate schedule over global
progress, and an uninterrupted run (a killed worker and a resumed checkpoint must not change the result:
with one thread per worker, runs repeat exactly).
"""
import importlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import w2v
import w2v.distributed as wd
from w2v.cli import main
from w2v.vocab import Vocab, encode, scan
from conftest import neighbour_accuracy, require_dask, write_planted_corpus

train_module = importlib.import_module("w2v.train")
SMALL = dict(dim=16, window=4, min_count=1, epochs=2, threads=1, seed=3, chunk_words=1000)


@pytest.fixture(scope="module")
def client():
    distributed = require_dask()
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                       silence_logs=logging.ERROR)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Three files of the planted groups, of different sizes (so the shards are not the files in order)."""
    d = tmp_path_factory.mktemp("shards")
    for i, n in enumerate((1000, 2500, 1500)):
        write_planted_corpus(d / f"part{i}.txt", sentences=n, seed=i)
    return d


@pytest.fixture(scope="module")
def reference(client, corpus):
    return wd.train(corpus, client, round_words=3000, overlap=False, rare_every=1, **SMALL)


# ---------------------------------------------------------------------------------------
# reconciliation, by its definition (no cluster needed)
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("merge", ["sum", "average"])
def test_reconcile_adds_every_workers_change(merge):
    rng = np.random.default_rng(0)
    master = rng.normal(size=(6, 4)).astype(np.float32)
    start = master.copy()
    a_rows, b_rows = np.array([0, 1, 2], dtype=np.int32), np.array([2, 3], dtype=np.int32)
    a_vals = start[a_rows] + rng.normal(size=(3, 4)).astype(np.float32)
    b_vals = start[b_rows] + rng.normal(size=(2, 4)).astype(np.float32)
    back = wd.reconcile(master, [(a_rows, a_vals), (b_rows, b_vals)], merge)
    both = (a_vals[2] - start[2]) + (b_vals[0] - start[2])
    want = start.copy()
    want[0:2] = a_vals[0:2]                  # changed by one worker only: exactly its row
    want[3] = b_vals[1]
    want[2] = start[2] + (both if merge == "sum" else both / 2)
    np.testing.assert_allclose(master, want, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(master[[0, 1, 3]], want[[0, 1, 3]])
    # each worker gets back the rows the other changed (row 2 by both: the merged row), with the master's values
    (ra, va), (rb, vb) = back
    assert ra.tolist() == [2, 3] and rb.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(va, master[[2, 3]])
    np.testing.assert_array_equal(vb, master[[0, 1, 2]])


def _build(name):
    """One build of the compiled kernels (skipped where this CPU cannot run it)."""
    from w2v import _kernels
    builds = _kernels.variants()
    if name not in builds:
        pytest.skip(f"no {name} kernels on this machine")
    return builds[name]


@pytest.mark.parametrize("merge, workers", [("sum", 2), ("average", 2), ("average", 3), ("scaled", 4)])
def test_a_merge_of_changes_is_the_merge_of_values_and_brings_every_replica_to_the_master_copy(merge, workers):
    """With overlap, replicas send their changes (not their rows) and get back what the others' changes add.
    The master copy must be reconcile()'s (the same merge of the same changes), and a replica that adds what
    it gets back to its own rows must hold the master copy's rows (it differs from it nowhere else)."""
    rng = np.random.default_rng(5)
    v, dim = 40, 6
    start = rng.normal(size=(v, dim)).astype(np.float32)
    common = rng.normal(size=(v, dim))
    changed, changes, halves = [], [], []
    for k in range(workers):
        rows = np.sort(rng.choice(v, 25, replace=False)).astype(np.int32)
        h = (common[rows] + 0.3 * rng.normal(size=(len(rows), dim))).astype(np.float32)
        f = (h * rng.uniform(1, 2, size=(len(rows), 1))).astype(np.float32)
        changed.append((rows, start[rows] + f))
        changes.append((rows, (start[rows] + f) - start[rows]))
        halves.append((rows, h))
    halves = halves if merge == "scaled" else None
    by_values, by_changes = start.copy(), start.copy()
    back_values = wd.reconcile(by_values, changed, merge, halves)
    back_changes = wd.reconcile_changes(by_changes, changes, merge, halves)
    np.testing.assert_allclose(by_changes, by_values, rtol=0, atol=1e-5)
    assert np.abs(by_changes - start).max() > 0.5
    for (rows, values), (sent, _), (got, add) in zip(changed, back_values, back_changes):
        assert got.tolist() == sent.tolist()
        replica = start.copy()
        replica[rows] = values
        replica[got] += add
        np.testing.assert_allclose(replica, by_changes, rtol=0, atol=1e-5)
    # the same changes as float16 (all, or some: a worker whose change was beyond float16's range sends
    # float32) merge as their values do as float32
    rounded = [(rows, c.astype(np.float16)) for rows, c in changes]
    for mix in (rounded, [(r, c.astype(np.float32)) if k == 0 else (r, c) for k, (r, c) in enumerate(rounded)]):
        by_half, by_float = start.copy(), start.copy()
        back_half = wd.reconcile_changes(by_half, mix, merge, halves)
        back_float = wd.reconcile_changes(by_float, [(r, c.astype(np.float32)) for r, c in rounded], merge, halves)
        np.testing.assert_allclose(by_half, by_float, rtol=0, atol=1e-6)
        for (got, add), (want, add_float) in zip(back_half, back_float):
            assert got.tolist() == want.tolist()
            assert add.dtype == (np.float16 if mix is rounded else np.float32)
            np.testing.assert_allclose(add.astype(np.float32), add_float, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("build", ["generic", "avx2"])
def test_changes_travel_as_float16_and_a_replica_keeps_what_the_master_copy_takes(build):
    """With overlap, a replica's changes go out as float16 (half the bytes). Its rows and their start move to
    the start plus the rounded change, which is what the master copy takes: the rounding is neither lost
    between the two nor left over to be sent again. Two workers' merged changes come back as float16 and
    bring each replica to the master copy. Where a change is beyond float16's range, the changes go out as
    float32 (the other rows' rounded all the same)."""
    kernels = _build(build)
    rng = np.random.default_rng(3)
    v, dim = 30, 12
    start0 = rng.normal(size=(v, dim)).astype(np.float32)
    replicas, sent = [], []
    for k in range(2):
        m, start = start0.copy(), start0.copy()
        rows = np.sort(rng.choice(v, 20, replace=False)).astype(np.int32)
        m[rows] += rng.normal(size=(len(rows), dim)).astype(np.float32)
        trained = m.copy()
        found, values = kernels.changed_rows(m, start, True, True)
        assert values.dtype == np.float16 and found.tolist() == rows.tolist()
        np.testing.assert_array_equal(m, start)
        np.testing.assert_array_equal(m[rows], start0[rows] + values.astype(np.float32))
        assert 1e-5 < np.abs(m - trained).max() < 2e-3        # moved by the rounding, no more
        assert len(kernels.changed_rows(m, start, True, True)[0]) == 0
        replicas.append(m)
        sent.append((found, values))
    master = start0.copy()
    back = wd.reconcile_changes(master, sent, "sum")
    for m, (rows, add) in zip(replicas, back):
        assert add.dtype == np.float16
        m[rows] += add.astype(np.float32)
        np.testing.assert_allclose(m, master, rtol=0, atol=1e-6)
    big = [(np.array([0, k + 1], dtype=np.int32), np.full((2, dim), 4e4, dtype=np.float16)) for k in range(3)]
    master = start0.copy()
    for (rows, add), (own, _) in zip(wd.reconcile_changes(master, big, "sum"), big):
        assert add.dtype == np.float32      # two others' 4e4 add up beyond float16's range: sent as float32
        assert rows.tolist() == [0] + [r for r in (1, 2, 3) if r != own[1]]
        np.testing.assert_array_equal(add, [[8e4] * dim] + [[4e4] * dim] * 2)
    np.testing.assert_allclose(master[:4], start0[:4] + np.array([[12e4] * dim] + [[4e4] * dim] * 3))
    m, start = start0.copy(), start0.copy()
    m[[2, 4, 6]] += np.float32(0.3)
    m[4, 5] = 1e5
    trained = m.copy()
    found, values = kernels.changed_rows(m, start, True, True)
    assert values.dtype == np.float32 and found.tolist() == [2, 4, 6]
    np.testing.assert_array_equal(m, start)
    np.testing.assert_array_equal(m[4], trained[4])
    np.testing.assert_array_equal(values[1], trained[4] - start0[4])
    for j, r in ((0, 2), (2, 6)):         # the rows before and after the wide one: rounded, and moved by that
        np.testing.assert_array_equal(values[j], values[j].astype(np.float16).astype(np.float32))
        assert 0 < np.abs(values[j] - (trained[r] - start0[r])).max() < 1e-3
        np.testing.assert_array_equal(m[r], start0[r] + values[j])


@pytest.mark.parametrize("build", ["generic", "avx2"])
def test_float16_conversions_are_numpys(build):
    """The compiled conversions round as numpy's casts do (to nearest, ties to even), at every float16
    (and the floats between them), in the subnormal range and at the edge of the range."""
    kernels = _build(build)
    every = np.arange(65536, dtype=np.uint16).view(np.float16)
    finite = every[np.isfinite(every)]
    np.testing.assert_array_equal(kernels.from_float16(every.reshape(-1, 16)), every.astype(np.float32).reshape(-1, 16))
    wide = np.sort(finite.astype(np.float32))
    ties = (wide[:-1] + (wide[1:] - wide[:-1]) / 2).astype(np.float32)       # midpoints (exact in float32)
    near = np.concatenate([wide, ties, np.nextafter(ties, np.float32(np.inf)), np.nextafter(ties, np.float32(-np.inf)),
                           np.float32([2.0 ** -25, -2.0 ** -26, 65519.99, -65504.0])])
    near = near[: len(near) // 10 * 10].reshape(-1, 10)
    got = kernels.to_float16(near)
    assert got is not None and got.dtype == np.float16
    np.testing.assert_array_equal(got.view(np.uint16), near.astype(np.float16).view(np.uint16))
    for beyond in (65520.0, -7e4, 2e5, -1e6, 3e38, np.inf, np.nan):
        x = np.ones((2, 9), dtype=np.float32)
        x[1, 8] = beyond
        assert kernels.to_float16(x) is None
    assert kernels.to_float16(np.zeros((0, 4), dtype=np.float32)).shape == (0, 4)


def test_the_compiled_merge_refuses_rows_outside_the_master_copy():
    from w2v import _kernels
    master = np.zeros((4, 3), dtype=np.float32)
    count, where = np.ones(4, dtype=np.int32), np.full(4, -1, dtype=np.int64)
    with pytest.raises(ValueError, match="not a changed row"):
        _kernels.merge_changes(master, np.array([7], dtype=np.int32), np.zeros((1, 3), dtype=np.float32), count,
                               where, np.zeros((0, 3), dtype=np.float32))
    count[1] = 2                        # changed by two workers, but no slot for its change
    with pytest.raises(ValueError, match="not a changed row"):
        _kernels.merge_changes(master, np.array([1], dtype=np.int32), np.zeros((1, 3), dtype=np.float32), count,
                               where, np.zeros((0, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="outside"):
        _kernels.apply_merged(master, np.array([9], dtype=np.int64), np.zeros((1, 3), dtype=np.float32), None, False)
    assert not master.any()


def test_scaled_merge_keeps_the_sum_where_rows_move_linearly_and_two_workers_worth_where_they_arrive():
    """Four workers; per worker k and row r a first-half change h and a whole-round change f = (1 + rho) h, so
    the second half moves the row rho times as far as the first: rho = 0 (rows 0-15: the row got where its
    shard pulls it in half a round), 0.5 (rows 16-31), 1 (rows 32-63: linear). One worker moves a row the
    share k = 1 - rho^2 of the way to its pull in a round; c workers' sum moves it c k of the way, and the
    scaled merge keeps c k at most 2: scale min(1, 2 / (c k))."""
    rng = np.random.default_rng(4)
    v, dim, workers = 64, 4, 4
    rho = np.repeat([0.0, 0.5, 1.0], [16, 16, 32])
    master = rng.normal(size=(v, dim)).astype(np.float32)
    start = master.copy()
    who = [np.arange(v) for _ in range(workers)]
    who[0] = np.setdiff1d(who[0], [40, 41])             # rows 40 and 41: only workers 1-3 and ...
    who[1] = np.setdiff1d(who[1], [5, 41])               # ... row 41 by 2 and 3; row 5 by workers 0, 2, 3
    who[3] = np.setdiff1d(who[3], [41])
    changed, halves, changes = [], [], []
    common = rng.normal(size=(v, dim))                  # the workers' changes point about the same way
    for k in range(workers):
        rows = who[k].astype(np.int32)
        h = (common[rows] + 0.5 * rng.normal(size=(len(rows), dim))).astype(np.float32)
        f = (h * (1 + rho[rows])[:, None]).astype(np.float32)
        changed.append((rows, start[rows] + f))
        halves.append((rows, h))
        full = np.zeros((v, dim), dtype=np.float32)
        full[rows] = (start[rows] + f) - start[rows]
        changes.append(full)
    wd.reconcile(master, changed, "scaled", halves)
    c = np.array([sum(r in w for w in who) for r in range(v)])
    k = 1 - rho ** 2
    scale = np.minimum(1.0, 2.0 / np.maximum(c * k, 1e-12))
    want = start + scale[:, None] * np.sum(changes, axis=0)
    np.testing.assert_allclose(master, want, rtol=0, atol=2e-5)
    assert scale[0] == 0.5 and abs(scale[20] - 2 / 3) < 1e-9 and scale[50] == 1.0 and scale[41] == 1.0
    # the rule differs from both others exactly where it should
    summed, averaged = start.copy(), start.copy()
    wd.reconcile(summed, changed, "sum")
    wd.reconcile(averaged, changed, "average")
    np.testing.assert_allclose(master[32:], summed[32:], rtol=0, atol=2e-5)
    assert np.abs(master[:16] - summed[:16]).min() > 1e-3 and np.abs(master[:32] - averaged[:32]).min() > 1e-3
    # without the half-round changes (one worker, or a round of one chunk) it is the sum
    plain = start.copy()
    wd.reconcile(plain, changed, "scaled")
    np.testing.assert_allclose(plain, summed, rtol=0, atol=1e-6)


class _Done:
    """A finished future."""

    def __init__(self, value):
        self.value = value

    def done(self):
        return True

    def result(self):
        return self.value


class _Counting:
    """A replica whose round g (counted over epochs) adds a known vector to one syn0 row of its own and to
    syn1neg's row 0 (which every replica changes), and which records its rows at the start of each round.
    It runs a call when it is made, so a round submitted before the last one is merged trains without it."""

    def __init__(self, k, v, dim, rounds):
        self.k, self.rounds = k, rounds
        self.now = [np.zeros((v, dim), dtype=np.float32), np.zeros((v, dim), dtype=np.float32)]
        self.start = [m.copy() for m in self.now]
        self.seen = {}

    def add(self, g):
        v, dim = self.now[0].shape
        x = np.arange(dim, dtype=np.float32) + 1
        return (g * 3 + 5 * self.k) % v, x * (self.k + 1) / (g + 1), x * (self.k + 2) / (g + 2)

    def train_in_turn(self, seq, *args):
        return self.train_round(*args)

    def train_round(self, incoming, epoch, rnd, words_done, rows=None, half=False, overlap=False):
        from w2v import _kernels
        for now, start, (changed, values) in zip(self.now, self.start, incoming or ()):
            if overlap:
                now[changed] += values
                start[changed] += values
            else:
                now[changed] = values
                start[changed] = values
        if rnd is not None:
            g = epoch * self.rounds + rnd
            self.seen[g] = [m.copy() for m in self.now]
            row, a, b = self.add(g)
            self.now[0][row] += a
            self.now[1][0] += b
        changed = [_kernels.changed_rows(now, start, overlap) for now, start in zip(self.now, self.start)]
        return _Done({"shard": self.k, "words": 10 if rnd is not None else 0, "examples": 1, "loss": 0.0,
                      "kept": 10, "alpha_start": 0.025, "alpha_end": 0.025, "train_seconds": 0.0,
                      "apply_seconds": 0.0, "diff_seconds": 0.0, "changed": changed, "halves": None})


FAKE_V, FAKE_DIM, FAKE_ROUNDS, FAKE_EPOCHS = 12, 3, 4, 2


def _fake_run(overlap, rare_every, callbacks=(), replicas=None):
    """The driver's rounds (wd._run) over two stand-in replicas (default: _Counting), 4 rounds an epoch for
    2 epochs. Returns the master copy's model and the driver."""
    v, dim = FAKE_V, FAKE_DIM
    vocab = Vocab(words=[f"w{i}" for i in range(v)], counts=np.arange(v, 0, -1, dtype=np.int64))
    p = w2v.Params(dim=dim, epochs=FAKE_EPOCHS, min_count=1, threads=1).validate()
    model = w2v.Word2Vec(p, vocab, np.zeros((v, dim), dtype=np.float32), np.zeros((v, dim), dtype=np.float32))
    model.schedule = train_module.Schedule.begin(model, 2 * 10 * FAKE_ROUNDS, FAKE_EPOCHS)
    model.extra = {"distributed": {"rounds_per_epoch": FAKE_ROUNDS, "round": 0, "rare_every": rare_every,
                                   "overlap": overlap, "frequent": v}}
    d = wd._Driver(None, p, 1, "sum", train_module._Reporter(True), callbacks, None, None)
    d.replicas = replicas or [_Counting(k, v, dim, FAKE_ROUNDS) for k in range(2)]
    wd._run(d, model)
    return model, d


def _changes(fakes, rounds):
    """syn0 and syn1neg as the stand-in replicas' changes of the given rounds (per replica: a range) add up."""
    want = [np.zeros((FAKE_V, FAKE_DIM)), np.zeros((FAKE_V, FAKE_DIM))]
    for fake, done in zip(fakes, rounds):
        for h in done:
            row, a, b = fake.add(h)
            want[0][row] += a
            want[1][0] += b
    return want


def _assert_rows(got, want, msg=""):
    np.testing.assert_allclose(got[0], want[0], rtol=1e-6, err_msg=msg)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-6, err_msg=msg)


def _stop_after_four(info):
    if info.event == "round_end" and info.round == 4:
        raise w2v.StopTraining


@pytest.mark.parametrize("overlap", [False, True])
def test_with_overlap_a_replica_trains_without_only_the_last_round_of_the_others(overlap):
    """The rounds' protocol, without a cluster: with overlap, replica k starts round g with its own changes of
    every earlier round and the others' of rounds up to g - 2 (without, up to g - 1); no change is lost,
    and the master copy ends as the start plus every change."""
    model, d = _fake_run(overlap, rare_every=1)
    fakes, total = d.replicas, FAKE_ROUNDS * FAKE_EPOCHS
    assert model.epochs_done == FAKE_EPOCHS and len(model.rounds) == total
    lag = 2 if overlap else 1
    for k, fake in enumerate(fakes):
        for g in range(total):
            seen = [range(g) if j == k else range(g - lag + 1) for j in range(len(fakes))]
            _assert_rows(fake.seen[g], _changes(fakes, seen), f"replica {k}, round {g}")
    _assert_rows([model.syn0, model.syn1neg], _changes(fakes, [range(total)] * 2))


@pytest.mark.parametrize("overlap", [False, True])
def test_a_stop_lets_the_round_in_flight_finish_and_leaves_every_replica_at_the_master_copy(overlap):
    """Stopped after the 4th round (a full exchange), with overlap the 5th is already running: it finishes,
    and since it exchanged only the frequent rows, one more exchange takes the rest. Afterwards every change
    made is in the master copy, and every replica (which has taken what the others changed) equals it."""
    model, d = _fake_run(overlap, rare_every=2, callbacks=[_stop_after_four])
    trained = 5 if overlap else 4
    assert model.interrupted and [r["round"] for r in model.rounds] == [0, 1, 2, 3] + ([0, None] if overlap else [])
    assert all(sorted(fake.seen) == list(range(trained)) for fake in d.replicas)
    _assert_rows([model.syn0, model.syn1neg], _changes(d.replicas, [range(trained)] * 2))
    if overlap:
        for fake in d.replicas:
            _assert_rows(fake.now, [model.syn0, model.syn1neg])


class _FailsOnce(_Counting):
    """A _Counting replica whose worker is lost the first time it is asked to train round `fail_at`."""

    def __init__(self, k, v, dim, rounds, fail_at):
        super().__init__(k, v, dim, rounds)
        self.fail_at = fail_at

    def train_round(self, incoming, epoch, rnd, *args):
        if rnd is not None and epoch * self.rounds + rnd == self.fail_at:
            self.fail_at = None
            return wd._Failed(OSError("the worker is gone"))
        return super().train_round(incoming, epoch, rnd, *args)


def test_a_replica_lost_in_the_round_that_finishes_after_a_stop_is_re_created_without_changes_twice(monkeypatch):
    """With overlap, a stop after the 4th round lets the 5th finish; replica 1 is lost in it, and the driver
    re-creates it from the master copy (which has every merged change) and trains the round again. The others'
    changes merged before that must not reach the new replica a second time: at the end every replica equals
    the master copy, which holds every change once."""
    fakes = [_Counting(0, FAKE_V, FAKE_DIM, FAKE_ROUNDS), _FailsOnce(1, FAKE_V, FAKE_DIM, FAKE_ROUNDS, fail_at=4)]

    def recover(d, k, exc, master):
        fresh = _Counting(k, FAKE_V, FAKE_DIM, FAKE_ROUNDS)
        fresh.now = [np.array(master.syn0), np.array(master.syn1neg)]
        fresh.start = [m.copy() for m in fresh.now]
        d.replicas[k] = fresh
        d.recoveries += 1

    monkeypatch.setattr(wd._Driver, "recover", recover)
    model, d = _fake_run(True, rare_every=2, callbacks=[_stop_after_four], replicas=list(fakes))
    assert d.recoveries == 1 and d.replicas[1] is not fakes[1]
    _assert_rows([model.syn0, model.syn1neg], _changes(fakes, [range(5)] * 2))
    for replica in d.replicas:
        _assert_rows(replica.now, [model.syn0, model.syn1neg])


class _Recording(wd.Replica):
    """A replica whose training only records what it was asked, taking a moment to do it."""

    def __init__(self):
        super().__init__(0, [], dict(SMALL, threads=1), threads=1)
        self.trained = []

    def train_round(self, incoming, epoch, rnd, *args):
        time.sleep(0.02)
        self.trained.append((epoch, rnd, threading.current_thread().name))
        return rnd


def test_a_replica_trains_the_client_s_calls_in_the_order_they_were_made_whatever_order_they_arrive_in():
    """The calls reach the worker over separate connections, so the second may arrive first: it waits for the
    first to finish. They train one at a time, in the replica's own thread, and each returns its own result."""
    import asyncio
    replica = _Recording()

    async def arrive(order):
        tasks = {}
        for seq in order:       # each call arrives (starts) in this order, a moment after the one before
            tasks[seq] = asyncio.ensure_future(replica.train_in_turn(seq, None, 0, seq, 0))
            await asyncio.sleep(0.005)
        return [await tasks[seq] for seq in sorted(tasks)]

    assert asyncio.run(arrive([2, 1, 0, 3])) == [0, 1, 2, 3]
    assert [(e, r) for e, r, _ in replica.trained] == [(0, 0), (0, 1), (0, 2), (0, 3)]
    assert {name for _, _, name in replica.trained} == {"w2v-replica_0"}


class _InProcess:
    """A real replica, called in this process: each call runs when it is made and returns a finished future."""

    def __init__(self, replica):
        self.replica = replica

    def train_in_turn(self, seq, *args):
        return _Done(self.replica.train_round(*args))


@pytest.mark.parametrize("overlap", [False, True])
def test_real_replicas_hold_the_master_copy_once_they_take_what_they_are_owed(corpus, overlap):
    """Two real replicas trained by the driver in this process, rare rows every 3rd round. At the end, each
    replica's rows with the others' last merged changes (values, or increments with overlap) added are the
    master copy's: a replica that sent the others' changes as its own, or lost some, would not be."""
    params = dict(SMALL, epochs=2)
    p = w2v.Params(**params).validate()
    dparams = {k: v for k, v in params.items() if k != "threads"}
    files = sorted(str(f) for f in corpus.iterdir())
    replicas = [wd.Replica(k, files[k::2], dparams, threads=1) for k in range(2)]
    counted = [r.count() for r in replicas]
    vocab, _ = wd.merge_counts(counted[0][:1] + counted[1][:1] + counted[0][1:], 1, 0)
    info = [r.encode(wd._pack(vocab.words), vocab.counts) for r in replicas]
    words = sum(i["train_words"] for i in info)
    rounds = 6
    for r in replicas:
        r.plan(rounds, words, params["epochs"])
        r.load(seed=p.seed)
    model = w2v.Word2Vec(p, vocab, *[np.ascontiguousarray(w) for w in train_module.init_weights(len(vocab), p.dim,
                                                                                                 p.seed)])
    model.schedule = train_module.Schedule.begin(model, words, params["epochs"])
    model.extra = {"distributed": {"rounds_per_epoch": rounds, "round": 0, "rare_every": 3, "overlap": overlap,
                                   "frequent": wd.frequent_rows(vocab.counts)}}
    d = wd._Driver(None, p, 1, "sum", train_module._Reporter(True), (), None, None)
    d.replicas = [_InProcess(r) for r in replicas]
    wd._run(d, model)
    assert model.epochs_done == 2 and model.raw_words == 2 * words
    # with overlap the changes travel as float16 (where this build converts them with the CPU's F16C): 2 bytes
    # a value and 4 a row number
    per_value = 2 if overlap and train_module._kernels.FLOAT16_INSTRUCTIONS else 4
    for entry in d.log:
        rows_up = sum(sum(per_matrix) for per_matrix in entry["rows_up"])
        assert rows_up > 0 and entry["bytes_up"] == rows_up * (4 + per_value * p.dim)
    for k, r in enumerate(replicas):
        for m, name in enumerate(wd.MATRICES):
            mine = np.array(getattr(r.model, name))
            rows, values = d.owed[k][m]
            if overlap:
                mine[rows] += values
            else:
                mine[rows] = values
            np.testing.assert_allclose(mine, getattr(model, name), rtol=0, atol=1e-5)
            assert np.abs(getattr(model, name)).max() < 10


def test_shards_are_balanced_by_bytes_and_keep_corpus_order():
    shards = wd.assign_shards([10, 70, 20, 30, 40], 2)
    assert sorted(i for s in shards for i in s) == [0, 1, 2, 3, 4]
    loads = [sum([10, 70, 20, 30, 40][i] for i in s) for s in shards]
    assert max(loads) - min(loads) <= 10 and all(s == sorted(s) for s in shards)
    with pytest.raises(w2v.W2VError, match="fewer than the 3 workers"):
        wd.assign_shards([5, 5], 3)


def test_a_corpus_is_files_directories_or_patterns_in_order(tmp_path):
    for name in ("b.txt", "a.txt", "sub/c.txt", "sub/.hidden"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("x y\n")
    names = lambda files: [os.path.relpath(f, tmp_path) for f in files]
    assert names(wd.corpus_files(tmp_path)) == ["a.txt", "b.txt", "sub/c.txt"]
    assert names(wd.corpus_files(str(tmp_path / "*.txt"))) == ["a.txt", "b.txt"]
    assert names(wd.corpus_files([tmp_path / "sub", str(tmp_path / "b*")])) == ["sub/c.txt", "b.txt"]
    with pytest.raises(w2v.W2VError, match="given twice"):
        wd.corpus_files([tmp_path / "a.txt", str(tmp_path / "*.txt")])
    with pytest.raises(w2v.W2VError, match="no file matches"):
        wd.corpus_files(str(tmp_path / "*.gz"))
    with pytest.raises(w2v.W2VError, match="corpus not found"):
        wd.corpus_files(tmp_path / "missing.txt")


# ---------------------------------------------------------------------------------------
# on a local cluster of two worker processes
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("model", ["sg", "cbow"])
def test_two_workers_learn_the_planted_groups(client, corpus, model):
    m = wd.train(corpus, client, model=model, round_words=3000, **dict(SMALL, epochs=3))
    assert m.epochs_done == 3 and m.schedule is None and len({tuple(r["shard_words"]) for r in m.rounds}) > 1
    assert len(m.rounds[0]["shard_words"]) == 2            # two shards trained in every round
    assert neighbour_accuracy(m.vocab.words, m.syn0) >= 0.95


def test_a_stopped_run_keeps_every_change_and_resumes_exactly(client, corpus):
    """StopTraining after a round whose rare rows stayed on the worker: they reach the model before it is
    returned, and resuming it ends where the uninterrupted (single-process) run ends."""
    def stop_after_round_five(info):
        if info.event == "round_end" and info.round == 5:
            raise w2v.StopTraining

    m = wd.train(corpus, client, workers=1, round_words=2500, rare_every=3, callbacks=[stop_after_round_five],
                 **SMALL)
    assert m.interrupted and m.schedule is not None and m.extra["distributed"]["round"] == 5
    assert not m.rounds[4]["full"] and m.rounds[-1]["round"] is None      # round 5 was partial: an exchange
    m = wd.resume(m, corpus, client)
    one = w2v.train(corpus, **SMALL)
    np.testing.assert_array_equal(m.syn0, one.syn0)
    np.testing.assert_array_equal(m.syn1neg, one.syn1neg)


def test_rare_rows_wait_for_every_kth_round(client, tmp_path):
    """The rows of the frequent words (90% of the corpus) go every round, the others every 3rd round and at
    the epoch's end, and the workers still learn the groups."""
    d = tmp_path / "zipf"
    d.mkdir()
    rng = np.random.default_rng(2)
    for f in range(2):
        with open(d / f"z{f}.txt", "w") as fh:
            for _ in range(1500):
                g = rng.integers(8)
                # word i of a group is i + 1 times rarer than word 0: the last rows are rare
                i = np.minimum(rng.zipf(1.6, size=10) - 1, 7)
                fh.write(" ".join(f"g{g}w{j}" for j in i) + "\n")
    m = wd.train(d, client, round_words=3000, rare_every=3, **dict(SMALL, epochs=3))
    frequent = wd.frequent_rows(m.vocab.counts)
    assert 8 <= frequent < len(m.vocab) - 8
    per_epoch = len(m.rounds) // 3
    assert [r["full"] for r in m.rounds[:per_epoch]] == [(i + 1) % 3 == 0 or i + 1 == per_epoch
                                                         for i in range(per_epoch)]
    for r in m.rounds:
        most = max(x for pair in r["rows_up"] for x in pair)
        assert most > frequent if r["full"] else most <= frequent
    assert neighbour_accuracy(m.vocab.words, m.syn0) >= 0.9


def write_tie_corpus(directory, seed=0):
    """Files whose own words all occur 3 times (ties across files), shared words whose counts add up
    across files, files of different sizes (so the shards are not the files in order), and a word with an
    invalid UTF-8 byte that two files spell differently (both decode to the same word)."""
    rng = np.random.default_rng(seed)
    os.makedirs(directory, exist_ok=True)
    for f, pad in enumerate((5, 60, 10, 40, 20)):
        tokens = [f"own{f}_{j}".encode() for j in range(6) for _ in range(3)]
        tokens += [f"shared{j}".encode() for j in range(8) for _ in range(rng.integers(1, 4))]
        tokens += [f"pad{f}".encode()] * pad
        tokens += {1: [b"caf\xe9"] * 2, 3: [b"caf\xef"]}.get(f, [])
        tokens = [tokens[i] for i in rng.permutation(len(tokens))]
        lines = [b" ".join(tokens[i:i + 7]) for i in range(0, len(tokens), 7)]
        with open(os.path.join(directory, f"f{f}.txt"), "wb") as fh:
            fh.write(b"\n".join(lines) + b"\n")
    return directory


@pytest.mark.parametrize("min_count, max_vocab", [(1, 0), (3, 0), (2, 25)])
def test_merged_vocabulary_is_the_single_process_one(client, tmp_path, min_count, max_vocab):
    corpus = write_tie_corpus(tmp_path / "ties")
    m = wd.train(corpus, client, **dict(SMALL, epochs=1, min_count=min_count, max_vocab=max_vocab))
    one = scan(corpus, min_count=min_count, max_vocab=max_vocab).vocab
    assert len(one) >= 20 and "caf\ufffd" in one.words
    assert m.vocab.words == one.words
    np.testing.assert_array_equal(m.vocab.counts, one.counts)
    assert m.vocab.total_tokens == one.total_tokens and m.vocab.distinct == one.distinct


def _counted(words, counts):
    return dict(words=wd._pack(words), counts=np.array(counts, dtype=np.int64), tokens=int(sum(counts)), pruned=0,
                threshold=0)


def test_merged_counts_number_words_by_first_appearance_across_files(monkeypatch):
    """Words the files share are added up; the ties of the kept words are in order of first appearance over the
    files in corpus order (a file's own order within it); a file none of whose words is kept is not useful.
    The compiled token table numbers these words (the dict is only for words it would cut)."""
    monkeypatch.setattr(wd, "_dict_numbers", None)
    per_file = [_counted(["b", "a", "caf\ufffd", "x1"], [2, 3, 1, 1]),
                _counted(["rare"], [1]),
                _counted(["a", "c", "b", "caf\ufffd", "\u00e9t\u00e9"], [1, 4, 2, 3, 4]),
                _counted([], [])]
    vocab, useful = wd.merge_counts(per_file, 2, 0)
    assert vocab.words == ["b", "a", "caf\ufffd", "c", "\u00e9t\u00e9"]
    np.testing.assert_array_equal(vocab.counts, [4, 4, 4, 4, 4])
    assert vocab.distinct == 7 and vocab.total_tokens == 22 and vocab.bad_utf8 == 1
    assert useful == [True, False, True, False]
    vocab, _ = wd.merge_counts(per_file, 1, 3)
    assert vocab.words == ["b", "a", "caf\ufffd"]


def test_merged_counts_keep_a_word_too_long_for_the_token_table_whole():
    """A word longer than the token table's longest run (it would cut it in pieces) is still one word."""
    from w2v._scan import LONG_RUN
    long = "\ufffd" * (LONG_RUN // 3 + 1)      # within LONG_RUN characters, beyond it in UTF-8 bytes
    vocab, useful = wd.merge_counts([_counted(["a", long], [3, 2]), _counted([long, "b"], [1, 1])], 2, 0)
    assert vocab.words == ["a", long] and list(vocab.counts) == [3, 3] and useful == [True, True]


@pytest.mark.parametrize("min_count", [1, 4])
def test_a_replica_encodes_its_shard_as_reading_it_again_would(tmp_path, min_count):
    """The ids a replica kept from counting, put into the run's vocabulary, are those encode() reads from the
    files: words below min_count dropped, invalid UTF-8 that decodes to a vocabulary word kept, sentence ends
    where they were."""
    corpus = write_tie_corpus(tmp_path / "ties")
    files = sorted(str(p) for p in (tmp_path / "ties").iterdir())
    params = {k: v for k, v in SMALL.items() if k != "threads"}
    vocab = scan(corpus, min_count=min_count).vocab
    words = wd._pack(vocab.words)
    kept = wd.Replica(0, files, params, threads=1)
    kept.count()
    assert set(kept.counted) == set(files)
    info = kept.encode(words, vocab.counts)
    again = wd.Replica(0, files, params, threads=1)
    assert again.counted == {}
    expect = again.encode(words, vocab.counts)
    assert info == expect and (expect["oov_tokens"] > 0) == (min_count > 1)
    np.testing.assert_array_equal(kept.ids, again.ids)
    assert kept.counted == {}


def test_a_replica_reencodes_block_by_block_and_keeps_ids_only_within_its_memory(tmp_path, monkeypatch):
    corpus = write_tie_corpus(tmp_path / "ties")
    files = sorted(str(p) for p in (tmp_path / "ties").iterdir())
    params = {k: v for k, v in SMALL.items() if k != "threads"}
    vocab = scan(corpus, min_count=4).vocab
    index = {w: i for i, w in enumerate(vocab.words)}
    for name in files:      # blocks of 7 ids: a block boundary inside nearly every sentence
        own = scan(name, min_count=1)
        read = encode(name, vocab)
        for step in (7, 1 << 22):
            ids, dropped = wd._reencode(np.array(own.ids), own.vocab.words, index, step=step)
            np.testing.assert_array_equal(ids, read.ids)
            assert dropped == read.oov_tokens
    # room for the first file's ids only: the others are read again, and the result is the same
    first = scan(files[0], min_count=1).ids.nbytes
    monkeypatch.setattr(wd, "available_memory", lambda: 4 * (first + 8))
    kept = wd.Replica(0, files, params, threads=1)
    kept.count()
    assert set(kept.counted) == {files[0]}
    info = kept.encode(wd._pack(vocab.words), vocab.counts)
    again = wd.Replica(0, files, params, threads=1)
    assert info == again.encode(wd._pack(vocab.words), vocab.counts)
    np.testing.assert_array_equal(kept.ids, again.ids)


@pytest.mark.parametrize("build", ["generic", "avx2"])
def test_add_rows_takes_float16_and_a_second_matrix(build):
    """A replica adds the changes it receives to its rows and to their round-start copy in one pass, float16
    as it comes (its bits), as the float32 it stands for; padded rows are left alone beyond dim."""
    kernels = _build(build)
    rng = np.random.default_rng(4)
    a = train_module._aligned_rows(7, 5, lines=True)
    a[:] = rng.normal(size=(7, 5))
    b = rng.normal(size=(7, 5)).astype(np.float32)
    rows = np.array([1, 4, 6], dtype=np.int32)
    half = rng.normal(size=(3, 5)).astype(np.float16)
    want_a, want_b = np.array(a), b.copy()
    want_a[rows] += half.astype(np.float32)
    want_b[rows] += half.astype(np.float32)
    kernels.add_rows(a, rows, half.view(np.uint16), b)
    np.testing.assert_array_equal(a, want_a)
    np.testing.assert_array_equal(b, want_b)
    kernels.add_rows(a, rows, half.astype(np.float32))          # float32, one matrix
    want_a[rows] += half.astype(np.float32)
    np.testing.assert_array_equal(a, want_a)
    np.testing.assert_array_equal(b, want_b)
    with pytest.raises(ValueError, match="do not match"):
        kernels.add_rows(a, rows, half.view(np.uint16), b[:6])


def test_the_compiled_exchange_refuses_rows_that_do_not_match():
    from w2v import _kernels
    a = np.zeros((4, 3), dtype=np.float32)
    rows, vals = np.array([1, 9], dtype=np.int32), np.ones((2, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="outside"):
        _kernels.add_rows(a, rows, vals)
    with pytest.raises(ValueError, match="do not match"):
        _kernels.add_rows(a, rows[:1], vals)
    pos = np.full(4, -1, dtype=np.int64)
    pos[1] = 0
    with pytest.raises(ValueError, match="not a changed row"):
        _kernels.add_changes(np.zeros((1, 3), dtype=np.float32), pos, np.array([2], dtype=np.int32), vals[:1])
    with pytest.raises(ValueError, match="ascend"):
        _kernels.others_changes(np.zeros((1, 3), dtype=np.float32), pos, np.array([1], dtype=np.int32),
                                np.array([3, 1], dtype=np.int32), vals, np.zeros((1, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="do not match"):
        _kernels.changed_rows(a, np.zeros((3, 3), dtype=np.float32))
    assert not a.any()


def test_changed_rows_finds_every_changed_float_and_brings_start_up_to_date():
    from w2v import _kernels
    rng = np.random.default_rng(2)
    current = train_module._aligned_rows(9, 5, lines=True)      # rows padded to 64 bytes, as lines
    assert current.strides[0] > 5 * 4
    current[:] = rng.normal(size=(9, 5))
    start = np.array(current, order="C")
    current[2, 4] += 1.0                             # the last float of a row
    current[7] += 0.5
    for changes in (False, True):
        s = start.copy()
        rows, values = _kernels.changed_rows(current, s, changes)
        assert rows.tolist() == [2, 7] and rows.dtype == np.int32
        np.testing.assert_array_equal(values, current[[2, 7]] - start[[2, 7]] if changes else current[[2, 7]])
        np.testing.assert_array_equal(s, current)


@pytest.mark.parametrize("rare_every", [1, 3])
def test_one_worker_with_one_thread_repeats_the_single_process_run(client, corpus, rare_every):
    """Also when the rare rows wait for every 3rd round (and the epoch's end): no change is lost."""
    m = wd.train(corpus, client, workers=1, round_words=2500, rare_every=rare_every, **SMALL)
    assert len(m.rounds) > 10 and (sum(not r["full"] for r in m.rounds) > 10) == (rare_every > 1)
    one = w2v.train(corpus, **SMALL)
    np.testing.assert_array_equal(m.syn0, one.syn0)
    np.testing.assert_array_equal(m.syn1neg, one.syn1neg)
    assert m.loss_history == one.loss_history


def test_every_word_of_every_shard_is_trained_once_per_epoch(client, tmp_path):
    d = tmp_path / "edges"
    d.mkdir()
    for i, n in enumerate((900, 1400, 600)):
        write_planted_corpus(d / f"p{i}.txt", sentences=n, seed=10 + i)
        text = (d / f"p{i}.txt").read_text()
        # words that occur only in the first and the last line of a file
        (d / f"p{i}.txt").write_text(f"first{i}a first{i}b\n" + text + f"last{i}a last{i}b\n")
    tokens = sum(len((d / f"p{i}.txt").read_text().split()) for i in range(3))
    params = dict(SMALL, sample=0, epochs=3)
    m = wd.train(d, client, round_words=2000, **params)
    for epoch in range(3):
        assert sum(r["words"] for r in m.rounds if r["epoch"] == epoch) == tokens
    assert m.raw_words == 3 * tokens
    start, _ = train_module.init_weights(len(m.vocab), params["dim"], params["seed"])
    moved = np.any(m.syn0 != start, axis=1)
    assert moved.all(), [m.vocab.words[i] for i in np.flatnonzero(~moved)]


@pytest.mark.parametrize("merge", ["sum", "average"])
def test_a_round_adds_what_each_shard_trained(client, tmp_path, merge):
    """One round of one epoch: the master copy is the start plus every shard's own change (a single-process
    run on that shard with the same vocabulary, seed and schedule), summed, or averaged where both changed
    a row. Groups 0-3 occur only in one file and groups 4-7 only in the other; g8 words in both."""
    d = tmp_path / "two"
    d.mkdir()
    rng = np.random.default_rng(5)
    for name, groups, n in (("big.txt", range(0, 4), 1200), ("small.txt", range(4, 8), 900)):
        with open(d / name, "w") as fh:
            for _ in range(n):
                g = rng.choice(list(groups))
                fh.write(" ".join([f"g{g}w{i}" for i in rng.integers(0, 8, 8)] + [f"g8w{rng.integers(4)}"]) + "\n")
    params = dict(SMALL, epochs=1)
    m = wd.train(d, client, round_words=10**6, merge=merge, **params)
    assert len(m.rounds) == 1
    start = np.ascontiguousarray(train_module.init_weights(len(m.vocab), params["dim"], params["seed"])[0])
    changes = []
    for k, name in enumerate(("big.txt", "small.txt")):     # the larger file is shard 0
        p = w2v.Params(**dict(params, seed=wd.shard_seed(params["seed"], k))).validate()
        syn0, syn1 = train_module.init_weights(len(m.vocab), p.dim, params["seed"])
        own = w2v.Word2Vec(p, m.vocab, syn0, syn1)
        own.train(d / name, epochs=1)
        changes.append(own.syn0 - start)
    touched = [np.any(c != 0, axis=1) for c in changes]
    assert (touched[0] & touched[1]).sum() >= 4 and (touched[0] ^ touched[1]).sum() >= 60
    total = changes[0] + changes[1]
    if merge == "average":
        total[touched[0] & touched[1]] /= 2
    # two shards: the changes travelled as float16 (at most half a unit in the last place of 11 bits each)
    bound = 2e-6 + (np.abs(changes[0]) + np.abs(changes[1])) * 2.0 ** -11
    assert np.all(np.abs(m.syn0 - (start + total)) <= bound)


def test_four_shards_on_two_workers_merge_each_row_between_the_sum_and_two_shards_worth(client, tmp_path):
    """One round of one epoch over four shards (two replicas on each worker process): every row moves along
    the sum of the four shards' own changes (single-process runs on each file with the same vocabulary,
    seed and schedule), by the whole sum where at most two shards changed it, and by at least two shards'
    worth of it (2 / c of the sum) where c > 2 did; the rows every shard trains the most are scaled down."""
    d = tmp_path / "four"
    d.mkdir()
    for i, n in enumerate((1300, 1200, 1100, 1000)):       # sizes in file order: shard k is file k
        write_planted_corpus(d / f"p{i}.txt", sentences=n, seed=20 + i)
    params = dict(SMALL, epochs=1, alpha=0.1, min_alpha=0.1)    # a high rate: rows get where their shard pulls them
    m = wd.train(d, client, workers=4, round_words=10**6, **params)
    assert len(m.rounds) == 1 and len(m.rounds[0]["shard_words"]) == 4
    start = np.ascontiguousarray(train_module.init_weights(len(m.vocab), params["dim"], params["seed"])[0])
    changes = []
    for k in range(4):
        p = w2v.Params(**dict(params, seed=wd.shard_seed(params["seed"], k))).validate()
        own = w2v.Word2Vec(p, m.vocab, *train_module.init_weights(len(m.vocab), p.dim, params["seed"]))
        own.train(d / f"p{k}.txt", epochs=1)
        changes.append(own.syn0 - start)
    c = sum(np.any(x != 0, axis=1) for x in changes)
    total = np.sum(changes, axis=0)
    moved = m.syn0 - start
    scale = np.einsum("ij,ij->i", moved, total) / np.einsum("ij,ij->i", total, total)
    np.testing.assert_allclose(moved, scale[:, None] * total, rtol=0, atol=2e-5)
    assert (c == 4).sum() >= 32
    np.testing.assert_allclose(scale[c <= 2], 1.0, atol=1e-4)
    assert np.all(scale[c > 2] >= 2 / c[c > 2] - 1e-4) and np.all(scale <= 1 + 1e-4)
    assert scale[c == 4].min() < 0.9


def test_a_run_whose_merged_changes_overshoot_stops_with_an_error(client, tmp_path):
    """Four shards' changes summed at a high constant rate grow every round without becoming infinite (the
    kernels' own check never fires): the run must stop with an error, not return vectors of size 1e12."""
    d = tmp_path / "four"
    d.mkdir()
    for i, n in enumerate((1300, 1200, 1100, 1000)):
        write_planted_corpus(d / f"p{i}.txt", sentences=n, seed=20 + i)
    params = dict(SMALL, epochs=3, alpha=0.5, min_alpha=0.5)
    with pytest.raises(w2v.DivergedError, match=r"^training diverged at epoch \d: the loss per example rose to .*; lower "
                                           r"--alpha \(now 0.5\), or use --merge average: the 4 workers' merged "
                                           r"changes overshoot$") as err:
        wd.train(d, client, workers=4, round_words=2000, merge="sum", **params)
    assert "\n" not in str(err.value)
    # the same shards, averaged, train without overshooting
    m = wd.train(d, client, workers=4, round_words=2000, merge="average", **params)
    assert np.isfinite(m.loss_history).all() and m.loss_history[-1] < 4.2


def test_one_shard_that_diverges_says_so_without_blaming_a_merge(client, corpus):
    with pytest.raises(w2v.DivergedError, match=r"^training diverged .*lower --alpha \(now 0.5\)$"):
        wd.train(corpus, client, workers=1, round_words=3000, **dict(SMALL, epochs=6, alpha=0.5, min_alpha=0.5))


@pytest.mark.parametrize("overlap", [False, True])
def test_learning_rate_follows_global_progress(client, corpus, overlap):
    params = dict(SMALL, epochs=2, alpha=0.04, min_alpha=0.001)
    m = wd.train(corpus, client, round_words=2000, overlap=overlap, **params)
    total = 2 * m.vocab.train_words
    drop = params["alpha"] - params["min_alpha"]
    done = 0
    for r in m.rounds:
        # at the start of a round every worker's rate is the one of all workers' words so far (with overlap,
        # the last round's words are not counted yet: an average round's stand in for them, and a round's
        # words differ from that by less than a chunk of about 1,000 words per shard) ...
        want = params["alpha"] - drop * done / total
        if overlap:
            assert np.all(np.abs(np.array(r["alpha_start"]) - want) <= drop * 2 * 1000 / total)
        else:
            np.testing.assert_allclose(r["alpha_start"], want, rtol=1e-5)
        done = r["words_done"]
        # ... and at its end, give or take the round's uneven split in chunks of about 1,000 words
        want = params["alpha"] - drop * done / total
        assert np.all(np.abs(np.array(r["alpha_end"]) - want) <= drop * 4 * 1000 / total)
    assert done == total
    assert max(m.rounds[-1]["alpha_end"]) < params["min_alpha"] + 0.05 * drop


@pytest.mark.parametrize("overlap", [False, True])
def test_a_killed_worker_does_not_lose_the_run(client, corpus, reference, overlap):
    pids = sorted(client.run(os.getpid).values())
    timers = []

    def kill_during_round_six(info):
        if info.event == "round_end" and info.round == 5:
            t = threading.Timer(0.005, os.kill, (pids[1], signal.SIGKILL))
            t.start()
            timers.append(t)

    m = wd.train(corpus, client, round_words=3000, overlap=overlap, rare_every=1, callbacks=[kill_during_round_six],
                 **SMALL)
    for t in timers:
        t.join()
    assert timers and m.recoveries >= 1
    assert pids[1] not in client.run(os.getpid).values()
    assert m.raw_words == reference.raw_words == 2 * m.vocab.train_words
    assert [r["round"] for r in m.rounds] == [r["round"] for r in reference.rounds]
    if not overlap:
        # the lost round was trained again from the master copy: the run is the one nothing happened to
        np.testing.assert_array_equal(m.syn0, reference.syn0)
        np.testing.assert_array_equal(m.syn1neg, reference.syn1neg)
    else:
        # the lost rounds were trained again from the master copy, with the last round's merged changes: another
        # run than the reference (whose rounds did not overlap), trained as well
        assert not np.array_equal(m.syn0, reference.syn0)
        assert neighbour_accuracy(m.vocab.words, m.syn0) >= 0.95


@pytest.mark.parametrize("workers, overlap, rare_every", [(2, True, 8), (3, False, 1)])
def test_by_default_two_shards_overlap_and_exchange_rare_rows_every_8th_round_and_more_shards_do_neither(
        client, corpus, workers, overlap, rare_every):
    params = dict(SMALL, epochs=1)
    default = wd.train(corpus, client, workers=workers, round_words=1000, **params)
    assert len(default.rounds) > 8
    same = wd.train(corpus, client, workers=workers, round_words=1000, overlap=overlap, rare_every=rare_every,
                    **params)
    np.testing.assert_array_equal(default.syn0, same.syn0)
    assert [r["full"] for r in default.rounds] == [r["full"] for r in same.rounds]
    other = wd.train(corpus, client, workers=workers, round_words=1000, overlap=not overlap, rare_every=rare_every,
                     **params)
    assert not np.array_equal(default.syn0, other.syn0)


def test_a_worker_known_lost_before_the_next_round_does_not_lose_the_run(client, corpus, reference):
    # the worker dies between two rounds and the client hears of it before it calls the replica again:
    # Dask then refuses the call itself instead of failing its future
    pids = sorted(client.run(os.getpid).values())
    killed = []

    def kill_after_round_six(info):
        if info.event == "round_end" and info.round == 6 and not killed:
            before = set(client.scheduler_info()["workers"])
            os.kill(pids[1], signal.SIGKILL)
            killed.append(pids[1])
            deadline = time.monotonic() + 30
            while set(client.scheduler_info()["workers"]) >= before and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)       # the scheduler's word reaches the client's futures

    m = wd.train(corpus, client, round_words=3000, overlap=False, rare_every=1, callbacks=[kill_after_round_six],
                 **SMALL)
    assert killed and m.recoveries >= 1
    np.testing.assert_array_equal(m.syn0, reference.syn0)
    np.testing.assert_array_equal(m.syn1neg, reference.syn1neg)


@pytest.fixture(scope="module")
def round_checkpoints(client, corpus, reference, tmp_path_factory):
    """A checkpoint at every round boundary of the reference run, each kept as a copy."""
    d = tmp_path_factory.mktemp("rounds")
    copies = []
    mp = pytest.MonkeyPatch()
    original = train_module.Checkpointer.save

    def save(self, model, reporter=None):
        original(self, model, reporter)
        copy = d / f"round{len(copies)}.ckpt"
        os.link(self.path, copy)
        copies.append(copy)

    mp.setattr(train_module.Checkpointer, "time_due", lambda self: True)
    mp.setattr(train_module.Checkpointer, "save", save)
    try:
        full = wd.train(corpus, client, round_words=3000, overlap=False, rare_every=1, checkpoint=d / "ck",
                        checkpoint_every="1h", **SMALL)
    finally:
        mp.undo()
    np.testing.assert_array_equal(full.syn0, reference.syn0)      # pausing for checkpoints changes nothing
    return copies


def test_resume_from_a_round_checkpoint_is_exact(client, corpus, reference, round_checkpoints):
    # a checkpoint at every round boundary inside an epoch (2 epochs)
    assert len(round_checkpoints) == len(reference.rounds) - 2
    for snap in (round_checkpoints[2], round_checkpoints[len(round_checkpoints) // 2], round_checkpoints[-1]):
        saved = w2v.Word2Vec.load(snap)
        assert saved.schedule is not None and "distributed" in saved.extra
        with pytest.raises(w2v.W2VError, match="trained across Dask workers"):
            saved.resume(corpus)
        m = wd.resume(saved, corpus, client)
        assert m.epochs_done == 2 and m.schedule is None and "distributed" not in m.extra
        np.testing.assert_array_equal(m.syn0, reference.syn0)
        np.testing.assert_array_equal(m.syn1neg, reference.syn1neg)
        assert m.loss_history == reference.loss_history


def test_cli_resumes_a_distributed_run_on_another_number_of_workers(tmp_path, capsys, corpus, reference,
                                                                    round_checkpoints):
    out = tmp_path / "v.w2v"
    snap = tmp_path / "state.ckpt"            # a completed run removes the checkpoint it resumed from
    snap.write_bytes(round_checkpoints[len(round_checkpoints) // 2].read_bytes())
    code = main(["train", str(corpus), "--resume", str(snap), "-o", str(out), "-q"])
    assert code == 2 and "add --distributed ADDRESS" in capsys.readouterr().err
    for flag in ("--overlap", "--no-overlap"):
        code = main(["train", str(corpus), "--resume", str(snap), "--distributed", "local:1", flag, "-o", str(out),
                     "-q"])
        err = capsys.readouterr().err
        assert code == 2 and f"{flag.replace('--no-', '--')} cannot change when a distributed run resumes" in err
    code = main(["train", str(corpus), "--resume", str(snap), "--distributed", "local:1", "-o", str(out), "-q"])
    assert code == 0, capsys.readouterr().err
    np.testing.assert_array_equal(w2v.load(out).vectors, reference.syn0)


def _train_on_scheduler(capsys, client, corpus, out, *flags):
    """`w2v train` on the test cluster's scheduler, dim 16, 1 thread per worker: its exit code and stderr."""
    code = main(["train", str(corpus), "--distributed", client.scheduler.address, "--threads", "1", "--dim", "16",
                 "--min-count", "1", "--round-words", "3000", "-o", str(out), *flags])
    return code, capsys.readouterr().err


def test_cli_trains_on_the_workers_of_a_scheduler(tmp_path, capsys, client, corpus):
    out = tmp_path / "v.w2v"
    code, err = _train_on_scheduler(capsys, client, corpus, out, "--epochs", "2", "--chunk-words", "1000")
    assert code == 0, err
    assert "2 shards on 2 Dask workers" in err and "rounds over 2 shards" in err and "moved" in err
    assert "lost accuracy" not in err
    kv = w2v.load(out)
    assert len(kv) == 64 and neighbour_accuracy(kv.index_to_key, kv.vectors) >= 0.95


def test_a_local_cluster_s_workers_do_not_profile_and_the_callers_config_stays():
    """The local workers train on the same cores as everything else: Dask's sampling profiler is off in
    them (it walks every thread's stack 100 times a second), and the caller's own Dask settings are not
    changed by it."""
    require_dask()
    import dask
    with dask.config.set({"distributed.worker.profile.enabled": True}):
        conn = wd._Connection(address="local:1", threads=1)
        try:
            got = conn.client.run(lambda: (dask.config.get("distributed.worker.profile.enabled"),
                                           dask.config.get("distributed.worker.memory.monitor-interval")))
        finally:
            conn.close()
        assert dask.config.get("distributed.worker.profile.enabled") is True
    assert list(got.values()) == [(False, "1s")]


class _Never:
    """A future that never completes (a call to a worker that died before it connected)."""

    def done(self):
        return False

    def result(self):
        raise AssertionError("never done")


def test_a_round_is_not_waited_for_once_the_scheduler_has_dropped_its_worker(monkeypatch):
    """A call made to a worker that has just died does not fail before Dask's connection timeout (30 s): the
    client asks the scheduler, and a replica whose worker it no longer lists is re-created at once."""
    monkeypatch.setattr(wd, "LOST_CHECK_SECONDS", 0.05)
    d = wd._Driver(None, None, 1, "sum", None, (), None, None)
    d.replicas, d.where, d.owed = [object(), object()], ["tcp://a", "tcp://b"], [None, None]
    call = wd._Call(0, 3, 0, None, False, 2)
    call.futures = [_Done("shard 0"), _Never()]
    d.inflight = [call]
    recovered = []

    def recover(k, exc, master):
        recovered.append((k, str(exc)))
        d.where[k] = "tcp://c"

    monkeypatch.setattr(d, "workers", lambda: ["tcp://a", "tcp://c"])
    monkeypatch.setattr(d, "recover", recover)
    monkeypatch.setattr(d, "_train_call", lambda k, *args: _Done(f"shard {k} again"))
    out = []
    t = threading.Thread(target=lambda: out.append(d.collect(None)), daemon=True)
    t.start()
    t.join(30)
    assert not t.is_alive(), "the client still waits for the lost worker's round"
    assert recovered == [(1, "the scheduler no longer lists worker tcp://b")]
    assert out[0][1] == ["shard 0", "shard 1 again"] and d.inflight == []


def test_a_local_cluster_keeps_training_when_one_of_its_workers_is_killed(corpus, reference):
    """local:2: the cluster w2v starts itself (on Linux its nannies fork the workers from the client's process,
    and start a lost one anew); a worker killed in the middle of the run is replaced and the run completes."""
    require_dask()
    import psutil
    mine = psutil.Process()
    before = {p.pid for p in mine.children()}      # the test cluster's workers, and others
    killed = []

    def workers():
        return [p for p in mine.children() if p.pid not in before and "resource_tracker" not in " ".join(p.cmdline())]

    def kill_after_round_four(info):
        if info.event == "round_end" and info.round == 4 and not killed:
            first = workers()
            assert len(first) == 2
            if wd.LOCAL_FORK:       # forked: the same command line as this process
                assert all(p.cmdline() == mine.cmdline() for p in first)
            first[-1].kill()
            killed.append(first[-1].pid)

    m = wd.train(corpus, address="local:2", round_words=3000, callbacks=[kill_after_round_four], **SMALL)
    assert killed and m.recoveries >= 1
    assert m.raw_words == reference.raw_words and len(m.rounds) == len(reference.rounds)
    assert neighbour_accuracy(m.vocab.words, m.syn0) >= 0.95
    assert workers() == []      # closed with the run


def test_local_workers_are_forked_on_linux_unless_the_caller_chose_how_to_start_them(monkeypatch):
    require_dask()
    import dask
    key = "distributed.worker.multiprocessing-method"
    monkeypatch.setattr(wd, "LOCAL_FORK", True)
    assert wd._local_config()[key] == "fork"
    with dask.config.set({key: "forkserver"}):
        assert key not in wd._local_config()
    monkeypatch.setattr(wd, "LOCAL_FORK", False)
    assert key not in wd._local_config()
    assert dask.config.get(key) == "spawn"       # the setting is for the local cluster only


def test_cli_trains_with_overlapping_rounds(tmp_path, capsys, client, corpus):
    out = tmp_path / "v.w2v"
    code, err = _train_on_scheduler(capsys, client, corpus, out, "--epochs", "2", "--chunk-words", "1000",
                                    "--overlap")
    assert code == 0, err
    kv = w2v.load(out)
    assert len(kv) == 64 and neighbour_accuracy(kv.index_to_key, kv.vectors) >= 0.95
    code, err = _train_on_scheduler(capsys, client, corpus, tmp_path / "waits.w2v", "--epochs", "2",
                                    "--chunk-words", "1000", "--no-overlap")
    assert code == 0, err
    assert not np.array_equal(w2v.load(tmp_path / "waits.w2v").vectors, kv.vectors)    # the flag took effect


def test_more_than_two_shards_come_with_a_note_on_accuracy(tmp_path, capsys, client, corpus):
    code, err = _train_on_scheduler(capsys, client, corpus, tmp_path / "v.w2v", "--workers", "3", "--epochs", "1")
    assert code == 0, err
    assert "3 shards on 2 Dask workers" in err
    assert "more than two shards the merged model has lost accuracy" in err and "before relying on 3" in err


@pytest.mark.parametrize("argv, message", [
    (["--distributed", "local:0"], "give local:N with N a positive number"),
    (["--distributed", "local:3"], "fewer than the 3 workers"),
    (["--round-words", "5000"], "--round-words goes with --distributed"),
    (["--overlap"], "--overlap goes with --distributed"),
    (["--distributed", "local:1", "--round-words", "10"], "round_words must be a whole number of at least 1000"),
])
def test_cli_errors_are_one_line(tmp_path, capsys, corpus, argv, message):
    if "--distributed" in argv:
        require_dask()
    d = tmp_path / "two"
    d.mkdir()
    for name in ("part0.txt", "part1.txt"):
        os.link(corpus / name, d / name)
    code = main(["train", str(d), "-o", str(tmp_path / "v"), "-q", *argv])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1, err


def test_without_dask_the_flag_says_what_to_install(tmp_path, corpus):
    code = ("import sys\nsys.modules['distributed'] = None\nsys.modules['dask'] = None\n"
            "from w2v.cli import main\nsys.exit(main(sys.argv[1:]))")
    r = subprocess.run([sys.executable, "-c", code, "train", str(corpus), "--distributed", "local:2",
                        "-o", str(tmp_path / "v")], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert 'pip install "w2v[distributed]"' in r.stderr
    assert not (tmp_path / "v").exists()


def test_importing_w2v_does_not_import_dask():
    code = ("import sys, w2v, w2v.cli, w2v.distributed\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stderr


def test_ctrl_c_in_a_terminal_stops_a_local_cluster_run_cleanly(tmp_path, corpus):
    """Ctrl-C reaches every process of the terminal's group: the local workers ignore it, and the client stops
    at the next round, writes the vectors so far and the checkpoint, and says how to resume."""
    require_dask()
    out = tmp_path / "v.w2v"
    args = ["train", str(corpus), "--distributed", "local:2", "--threads", "1", "--dim", "16", "--epochs", "200",
            "--min-count", "1", "--round-words", "3000", "--chunk-words", "1000", "-o", str(out)]
    launcher = "import os, signal, sys\nsignal.signal(signal.SIGINT, signal.SIG_DFL)\n" \
               "os.execv(sys.executable, [sys.executable, '-m', 'w2v'] + sys.argv[1:])"
    proc = subprocess.Popen([sys.executable, "-c", launcher, *args], stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if line.startswith("epoch 1/200 done"):
            os.killpg(proc.pid, signal.SIGINT)          # as a terminal does
            break
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 130, "".join(lines) + rest
    assert "training stopped early" in rest and "Traceback" not in rest, rest
    assert f"--resume {out}.ckpt --distributed local:2" in rest
    saved = w2v.Word2Vec.load(f"{out}.ckpt")
    assert 1 <= saved.epochs_done < 200 and saved.schedule is not None and saved.extra["distributed"]["shards"]
    assert w2v.load(f"{out}.partial").vectors.shape == (64, 16)
