"""Hierarchical softmax and CBOW with a sum: the Huffman tree against its definition, several
workers on the tree's shared rows, and the trainer's parameters, files and memory.
(One step against numpy: test_kernels.py; whole window-1 training against word2vec.c's loop:
test_ingredients.py; resuming exactly: test_checkpoint.py.)"""
import heapq
import importlib

import numpy as np
import pytest

import w2v
from w2v.vocab import EOS, HuffmanTree

from conftest import neighbour_accuracy, write_planted_corpus
from test_ingredients import ids_of, overlap, run_two_workers

train_module = importlib.import_module("w2v.train")


# ---------------------------------------------------------------------------------------
# the Huffman tree
# ---------------------------------------------------------------------------------------

def optimal_cost(counts):
    """The least sum(count * code length) of any prefix code: the textbook heap algorithm,
    where every merge of the two lightest subtrees adds one bit to each of their words."""
    heap = [int(c) for c in counts]
    heapq.heapify(heap)
    cost = 0
    while len(heap) > 1:
        merged = heapq.heappop(heap) + heapq.heappop(heap)
        cost += merged
        heapq.heappush(heap, merged)
    return cost


def count_sets():
    rng = np.random.default_rng(0)
    zipf = np.sort(rng.zipf(1.2, 3000).clip(1, 10**9))[::-1]
    return {"zipf": zipf, "ties": np.array([7] * 40 + [3] * 25 + [1] * 17), "powers": 2 ** np.arange(30)[::-1],
            "two": np.array([9, 4]), "three": np.array([5, 5, 5]), "uneven": np.array([10**6, 50, 3, 2, 1, 1])}


@pytest.fixture(params=sorted(count_sets()))
def counts(request):
    return count_sets()[request.param].astype(np.int64)


@pytest.fixture(params=["gensim", "word2vec"])
def kind(request):
    return request.param


def test_codes_are_a_prefix_free_and_complete_code(counts, kind):
    """No word's code is a prefix of another's (paths end at distinct leaves), and the code is
    complete (Kraft: sum 2^-length = 1; a full binary tree wastes no branch)."""
    t = HuffmanTree(counts, kind)
    codes = sorted("".join(map(str, t.path(w)[0])) for w in range(len(counts)))
    assert len(set(codes)) == len(codes) and all(len(c) > 0 for c in codes)
    for a, b in zip(codes, codes[1:]):        # in sorted order a prefix sits just before its extensions
        assert not b.startswith(a), (a, b)
    assert sum(2.0 ** -len(c) for c in codes) == pytest.approx(1.0, abs=1e-12)


def test_code_lengths_are_optimal(counts, kind):
    """sum(count * length) is the least any prefix code achieves (a Huffman code's defining
    property), computed by an independent heap-based reference."""
    t = HuffmanTree(counts)
    assert int((counts * t.lengths).sum()) == optimal_cost(counts)


def test_frequent_words_have_the_shortest_codes(counts, kind):
    """A more frequent word never has a longer code; word2vec.c's tree also orders words of equal
    count (the later, the longer), gensim's heap does not."""
    t = HuffmanTree(counts, kind)
    if kind == "word2vec":
        assert np.all(np.diff(t.lengths) >= 0)    # the vocabulary is by descending count
    for c in np.unique(counts):
        assert t.lengths[counts > c].max(initial=0) <= t.lengths[counts == c].min()


def test_points_are_the_inner_nodes_of_one_tree(counts, kind):
    """Paths start at the root (row 0); a node's row is fixed by the codes that lead to it (the
    same prefix, the same node), every one of the V - 1 inner nodes is on some path, and rows
    go by descending count (the words under a node), the root first."""
    V = len(counts)
    t = HuffmanTree(counts, kind)
    node_of_prefix, weight = {}, np.zeros(V - 1, dtype=np.int64)
    for w in range(V):
        codes, points = t.path(w)
        assert points[0] == 0 and np.all(points <= V - 2)
        for d in range(len(codes)):
            prefix = tuple(codes[:d])
            assert node_of_prefix.setdefault(prefix, int(points[d])) == points[d]
            weight[points[d]] += counts[w]
    assert sorted(node_of_prefix.values()) == list(range(V - 1))     # each node at one prefix, all used
    assert np.all(np.diff(weight) <= 0) and weight[0] == counts.sum()


def test_branch_one_goes_to_the_heavier_child(counts, kind):
    """word2vec.c's convention: at every inner node branch 1 leads to the child with the larger
    (or equal) count, branch 0 to the smaller (gensim's too: the second item popped is branch 1)."""
    t = HuffmanTree(counts, kind)
    under = {}                                # (node, branch) -> words' count below
    for w in range(len(counts)):
        for code, node in zip(*t.path(w)):
            under[int(node), int(code)] = under.get((int(node), int(code)), 0) + int(counts[w])
    for node in range(len(counts) - 1):
        assert under[node, 1] >= under[node, 0], (node, under[node, 0], under[node, 1])


def test_word2vec_c_tree_by_hand():
    """counts 5 3 2 1 1, joined as word2vec.c's CreateBinaryTree does: the two 1s (the second,
    word 3, on branch 1) make a 2; that 2 (made first) and word 2's 2 make a 4 (a tie goes to the
    inner node as the smaller; word 2 on branch 1); word 1's 3 and the 4 make a 7; word 0's 5
    and the 7 make the root. Inner rows from the root: 12 -> 0, 7 -> 1, 4 -> 2, 2 -> 3."""
    t = HuffmanTree(np.array([5, 3, 2, 1, 1]), "word2vec")
    want = {0: ([0], [0]), 1: ([1, 0], [0, 1]), 2: ([1, 1, 1], [0, 1, 2]),
            3: ([1, 1, 0, 1], [0, 1, 2, 3]), 4: ([1, 1, 0, 0], [0, 1, 2, 3])}
    for w, (codes, points) in want.items():
        assert t.path(w)[0].tolist() == codes and t.path(w)[1].tolist() == points


def test_gensim_tree_by_hand():
    """counts 5 3 2 1 1 in gensim's order (ties reversed: words 0 1 2 4 3) made a heap by heapq,
    items compared by count alone: heapify gives [w3 w4 w2 w0 w1]; the pops take w3 then w4 (1, 1:
    inner node A = 2, w3 on branch 0), then w2 and A (2, 2: B = 4, w2 on branch 0), then w1 and B
    (C = 7), then w0 and C (the root, 12). Rows from the root: root 0, C 1, B 2, A 3. word2vec.c's
    tree of the same counts (above) puts w2 one level higher and A one lower."""
    t = HuffmanTree(np.array([5, 3, 2, 1, 1]), "gensim")
    want = {0: ([0], [0]), 1: ([1, 0], [0, 1]), 2: ([1, 1, 0], [0, 1, 2]),
            3: ([1, 1, 1, 0], [0, 1, 2, 3]), 4: ([1, 1, 1, 1], [0, 1, 2, 3])}
    for w, (codes, points) in want.items():
        assert t.path(w)[0].tolist() == codes and t.path(w)[1].tolist() == points
    assert HuffmanTree(np.array([5, 3, 2, 1, 1])).kind == "gensim"       # the default


class _ByCount(tuple):
    """(count, node): compared by count alone, as gensim's Heapitem."""

    def __lt__(self, other):
        return self[0] < other[0]


def heap_tree(counts):
    """gensim's construction, from its definition: the words sorted by descending count, ties in the
    reverse of word order, made a heap by Python's heapq over items that compare by count alone; pop
    two, join them (the first on branch 0), push the join. Returns each word's (codes, gensim points),
    gensim numbering inner nodes in the order they are made."""
    V = len(counts)
    order = sorted(range(V), key=lambda w: (-counts[w], -w))
    heap = [_ByCount((int(counts[w]), ("leaf", w))) for w in order]
    heapq.heapify(heap)
    for i in range(V - 1):
        a, b = heapq.heappop(heap), heapq.heappop(heap)
        heapq.heappush(heap, _ByCount((a[0] + b[0], ("node", i, a, b))))
    paths, stack = {}, [(heap[0], [], [])]
    while stack:
        (_, node), codes, points = stack.pop()
        if node[0] == "leaf":
            paths[node[1]] = (codes, points)
        else:
            stack.append((node[2], codes + [0], points + [node[1]]))
            stack.append((node[3], codes + [1], points + [node[1]]))
    return [paths[w] for w in range(V)]


def test_gensim_tree_is_the_heap_build(counts):
    """Every word's codes and inner nodes are those of the heap build (gensim's point p is row
    V - 2 - p): on sets with long runs of equal counts, where the heap's order decides."""
    t = HuffmanTree(counts, "gensim")
    V = len(counts)
    for w, (codes, points) in enumerate(heap_tree(counts)):
        assert t.path(w)[0].tolist() == codes
        assert (V - 2 - t.path(w)[1]).tolist() == points


def test_gensim_tree_equals_gensims_own():
    """Against gensim itself: both count the same sentences (gensim orders words of equal count one
    way, w2v the other), and every word gets the codes gensim gives it and its inner nodes (gensim's
    point p is row V - 2 - p). Over 2,500 words, where heapq heapifies in its cache-friendly order."""
    gensim = pytest.importorskip("gensim")
    rng = np.random.default_rng(5)
    words = [f"w{i}" for i in range(6000)]
    sentences = [[words[i] for i in rng.zipf(1.3, 40).clip(1, 6000) - 1] for _ in range(3000)]
    g = gensim.models.Word2Vec(vector_size=4, min_count=1, hs=1, negative=0, workers=1)
    g.build_vocab(sentences)
    m = w2v.train(sentences, hs=True, negative=0, min_count=1, dim=4, epochs=1, threads=1)
    V = len(g.wv)
    assert V == len(m.vocab) > 2500 and len(np.unique(m.vocab.counts)) < V / 10     # mostly ties
    assert m.vocab.words != g.wv.index_to_key                                       # ordered otherwise
    index = {w: i for i, w in enumerate(m.vocab.words)}
    for w in g.wv.index_to_key:
        codes, rows = m.tree.path(index[w])
        assert codes.tolist() == g.wv.get_vecattr(w, "code").tolist(), w
        assert (V - 2 - rows.astype(np.int64)).tolist() == g.wv.get_vecattr(w, "point").tolist(), w


def test_the_heap_build_takes_only_an_order_of_every_word_once():
    """The compiled heap build reads counts through the order it is given: an order that repeats, misses or
    oversteps a word is refused before anything is read (not a read past the counts)."""
    from w2v import _kernels
    counts = np.array([5, 3, 3, 1], dtype=np.int64)
    for order in ([0, 1, 1, 3], [0, 1, 2, 4], [0, 1, 2, -1]):
        with pytest.raises(ValueError, match="every word once$"):
            _kernels.build_huffman_heap(counts, np.array(order, dtype=np.int64))
    with pytest.raises(ValueError, match="every word once: 3 entries for 4 words"):
        _kernels.build_huffman_heap(counts, np.array([0, 1, 2], dtype=np.int64))
    path, start = _kernels.build_huffman_heap(counts, np.array([0, 2, 1, 3], dtype=np.int64))
    assert int((np.diff(start) * counts).sum()) == optimal_cost(counts)


def test_tree_edge_cases_and_bad_counts(kind):
    one = HuffmanTree(np.array([4]), kind)
    assert one.lengths.tolist() == [0] and one.codes.size == 0
    two = HuffmanTree(np.array([4, 4]), kind)
    # the tie: word2vec.c takes the later word first (branch 0); gensim's heapify moves its first item (the
    # later word) to the end, so the earlier word is popped first
    assert [two.path(w)[0].tolist() for w in range(2)] == ([[1], [0]] if kind == "word2vec" else [[0], [1]])
    deep = HuffmanTree(2 ** np.arange(60)[::-1], kind)    # a path longer than word2vec.c's 40 bits
    assert deep.lengths.max() == 59
    with pytest.raises(ValueError, match="non-negative"):
        HuffmanTree(np.array([-1, 5]), kind)
    with pytest.raises(ValueError, match="non-negative"):
        HuffmanTree(np.array([5, -1]), kind)
    with pytest.raises(ValueError, match="one of gensim, word2vec"):
        HuffmanTree(np.array([5, 1]), "heap")


def test_counts_in_any_order_give_each_word_its_own_path():
    """A vocabulary read from a file keeps the file's order, and one grown online appends words:
    the tree is that of the words sorted by count, and every word keeps the path its count earns."""
    counts = np.array([5, 3, 2, 1, 1])                    # the tree worked out by hand above
    perm = np.array([3, 0, 4, 2, 1])                      # word i of the shuffled vocabulary is word perm[i]
    shuffled, ordered = HuffmanTree(counts[perm]), HuffmanTree(counts)
    for i, w in enumerate(perm):
        assert [a.tolist() for a in shuffled.path(i)] == [a.tolist() for a in ordered.path(w)]
    rng = np.random.default_rng(3)
    many = rng.zipf(1.5, 3000).clip(1, 10**6).astype(np.int64)
    t = HuffmanTree(many)
    assert int((many * t.lengths).sum()) == optimal_cost(many)


def test_tree_storage_is_flat():
    """One 4-byte entry (node << 1 | code bit) per bit of every word's code, plus V + 1 offsets:
    not a V x 40 matrix."""
    counts = np.sort(np.random.default_rng(1).zipf(1.3, 50_000).clip(1, 10**8))[::-1].astype(np.int64)
    t = HuffmanTree(counts)
    bits = int(t.lengths.sum())
    path, code_start = t
    assert path.shape == (bits,) and path.dtype == np.uint32 and code_start.shape == (len(counts) + 1,)
    assert t.nbytes == 4 * bits + 8 * (len(counts) + 1)
    np.testing.assert_array_equal(path, t.points.astype(np.uint32) << 1 | t.codes)


# ---------------------------------------------------------------------------------------
# several workers on the tree's rows
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("hot", [64, 0])
def test_two_workers_at_once_lose_no_hierarchical_softmax_updates(hot, kernels):
    """CBOW at window 1 on sentences of two words, hierarchical softmax only, every input row
    along one vector e, a tiny learning rate, and paths whose codes are all 0: each time a word is
    a centre word, every node on its path gains 0.5 * alpha * e (the score stays in the table
    cell of 0), whoever trains it. Word w's path is nodes w and w + 1, so the most frequent
    words' nodes are hot rows of syn1 (the workers' own copies, merged every 1,000 words) and
    the others are shared. Two workers train at the same time; every node must show
    every update."""
    rng = np.random.default_rng(1)
    C, dim, alpha = 1000, 8, 5e-6
    p = 1.0 / np.arange(1, C + 1)
    sentences = rng.choice(C, size=(300_000, 2), p=p / p.sum())
    ids = ids_of(sentences)
    paths = [[w % (C - 1), (w + 1) % (C - 1)] for w in range(C)]
    code_start = np.concatenate([[0], np.cumsum([len(q) for q in paths])]).astype(np.int64)
    tree = (np.concatenate(paths).astype(np.uint32) << 1, code_start)       # every code 0
    e = np.full(dim, 0.05, dtype=np.float32)
    syn0 = np.tile(e, (C, 1))
    syn1 = np.zeros((C - 1, dim), dtype=np.float32)
    state = kernels.TrainState(syn0, None, ids, None, None, None, True, 1, 0, alpha, alpha, 10**9,
                               hot_rows=hot, hot_sync=1000, syn1=syn1, tree=tree)
    bounds = np.arange(0, len(ids) + 1, 3 * 5000)          # chunks of 5,000 sentences
    bounds[-1] = len(ids)
    spans = run_two_workers(state, bounds)
    assert spans[0] and spans[1] and overlap(spans) > 0, "the two workers never trained at the same time"
    times_centre = np.bincount(sentences.ravel(), minlength=C)
    visits = np.zeros(C - 1)
    for w, q in enumerate(paths):
        visits[q] += times_centre[w]
    got = (syn1 @ e) / (0.5 * alpha * float(e @ e))
    assert got.max() * 0.5 * alpha * float(e @ e) < 0.012       # every score stayed in the cell of 0
    if hot:     # the hot rows are the workers' own copies, merged under a lock: exact
        np.testing.assert_allclose(got[:64], visits[:64], rtol=0.005)
    shared = np.arange(C - 1) >= 64
    assert got[shared].sum() == pytest.approx(visits[shared].sum(), rel=0.01)
    seen = shared & (visits >= 200)
    np.testing.assert_allclose(got[seen], visits[seen], rtol=0.1)


# ---------------------------------------------------------------------------------------
# the trainer
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("model, negative, cbow_mean", [("sg", 0, True), ("cbow", 0, True), ("cbow", 0, False),
                                                        ("sg", 3, True), ("cbow", 3, False)])
def test_hierarchical_softmax_learns_planted_groups(tmp_path, model, negative, cbow_mean):
    """Two workers, hierarchical softmax alone or beside negative sampling: the words of a group
    (which share all their contexts) end up nearest each other, and the loss falls."""
    path = write_planted_corpus(tmp_path / "c.txt", groups=16, per_group=8, sentences=4000)
    m = w2v.train(path, model=model, hs=True, negative=negative, cbow_mean=cbow_mean, dim=24, min_count=1,
                  epochs=3, threads=2, chunk_words=2000, seed=3)
    assert m.syn1.shape == (len(m.vocab) - 1, 24) and np.abs(m.syn1).max() > 0.1
    assert (m.syn1neg is None) == (negative == 0)
    assert neighbour_accuracy(m.vocab.words, m.syn0) >= 0.95
    assert m.loss_history[-1] < m.loss_history[0]


def test_trainer_hands_the_kernel_hs_and_cbow_mean(planted_corpus, monkeypatch):
    seen = []
    real = train_module._kernels.TrainState

    def recording(syn0, syn1neg, *args, **kwargs):
        seen.append((syn1neg, kwargs))
        return real(syn0, syn1neg, *args, **kwargs)

    monkeypatch.setattr(train_module._kernels, "TrainState", recording)
    m = w2v.train(planted_corpus, model="cbow", hs=True, negative=0, cbow_mean=False, min_count=1, epochs=1,
                  threads=1, dim=4)
    syn1neg, kw = seen[-1]
    # the kernel trains the model's syn1 (in rows padded to cache lines, compacted in place after training)
    assert syn1neg is None and kw["cbow_mean"] is False and np.shares_memory(kw["syn1"], m.syn1)
    assert [a.tolist() for a in kw["tree"]] == [a.tolist() for a in HuffmanTree(m.vocab.counts, "gensim")]
    m = w2v.train(planted_corpus, hs=True, hs_tree="word2vec", min_count=1, epochs=1, threads=1, dim=4)
    _, kw = seen[-1]
    assert [a.tolist() for a in kw["tree"]] == [a.tolist() for a in HuffmanTree(m.vocab.counts, "word2vec")]
    assert m.params.hs_tree == "word2vec"
    w2v.train(planted_corpus, model="cbow", min_count=1, epochs=1, threads=1, dim=4)
    syn1neg, kw = seen[-1]
    assert syn1neg is not None and kw["syn1"] is None and kw["cbow_mean"] is True


def test_the_tree_is_part_of_the_model_and_files_from_before_keep_word2vec_cs(tmp_path, planted_corpus):
    """A saved model trains on with the tree it was trained with; a file written before the tree was
    a parameter (no hs_tree) was trained with word2vec.c's tree, and loads with it."""
    from w2v import checkpoint
    m = w2v.train(planted_corpus, hs=True, negative=0, hs_tree="word2vec", min_count=1, epochs=1, threads=1, dim=4)
    m.save(tmp_path / "m")
    assert w2v.Word2Vec.load(tmp_path / "m").params.hs_tree == "word2vec"
    meta, words, counts, syn0, syn1neg, syn1 = checkpoint.load(tmp_path / "m")
    meta["params"].pop("hs_tree")
    checkpoint.save(tmp_path / "old", meta, words, counts, syn0, syn1neg, syn1)
    old = w2v.Word2Vec.load(tmp_path / "old")
    assert old.params.hs_tree == "word2vec"
    assert [a.tolist() for a in old.tree] == [a.tolist() for a in HuffmanTree(old.vocab.counts, "word2vec")]
    m = w2v.train(planted_corpus, hs=True, negative=0, min_count=1, epochs=1, threads=1, dim=4)
    m.save(tmp_path / "new")
    assert w2v.Word2Vec.load(tmp_path / "new").params.hs_tree == "gensim"
    with pytest.raises(w2v.W2VError, match="--hs-tree must be one of 'gensim', 'word2vec', not 'heap'"):
        w2v.Params(hs=True, negative=0, hs_tree="heap").validate()


def test_parameters_and_defaults():
    assert w2v.Params(model="cbow").validate().alpha == 0.05
    assert w2v.Params(model="cbow", cbow_mean=False).validate().alpha == 0.025    # gensim's default for the sum
    assert w2v.Params(model="sg", cbow_mean=False).validate().alpha == 0.025
    p = w2v.Params(hs=1, negative=0, cbow_mean=0).validate()      # gensim's 0/1 spelling
    assert p.hs is True and p.cbow_mean is False
    with pytest.raises(w2v.W2VError, match="--negative 0 leaves nothing to train: add --hs"):
        w2v.Params(negative=0).validate()
    with pytest.raises(w2v.W2VError, match="--hs must be True or False"):
        w2v.Params(hs=2).validate()


def test_memory_estimate_counts_only_the_matrices_allocated():
    """syn0 always; syn1neg (V rows) and the alias table only with negative sampling; syn1 (V - 1
    rows) and the tree only with hierarchical softmax."""
    def est(**kw):
        return train_module.MemoryEstimate(vocab_size=1000, dim=100, tokens=10, cache_dir=None, exact=True,
                                           threads=1, **kw)
    ns, hs, both = est(), est(negative=False, hs=True, tree_bytes=12_345), est(hs=True, tree_bytes=12_345)
    row = 100 * 4
    assert ns.model_bytes == 2 * 1000 * row + 1000 * 20
    assert hs.model_bytes == (1000 + 999) * row + 1000 * 12 + 12_345
    assert both.model_bytes == (2000 + 999) * row + 1000 * 20 + 12_345
    assert "(1 x 1,000 words + 999 inner nodes) x 100 dims" in hs.describe()
    assert "Huffman tree 12.3 KB" in hs.describe()
    two = train_module.MemoryEstimate(vocab_size=1000, dim=100, tokens=10, cache_dir=None, exact=True,
                                      threads=2, negative=False, hs=True, tree_bytes=0)
    hot = train_module.hot_rows(2, 1000, 100)
    assert two.hot_bytes == 2 * 2 * (hot + min(hot, 999)) * row      # two workers: own copy and snapshot


def test_a_run_allocates_what_the_estimate_counts(planted_corpus):
    m = w2v.train(planted_corpus, hs=True, negative=0, min_count=1, epochs=1, threads=1, dim=8)
    est = train_module.MemoryEstimate(vocab_size=len(m.vocab), dim=8, tokens=0, cache_dir=None, exact=True,
                                      negative=False, hs=True, tree_bytes=m.tree.nbytes)
    assert m.syn1neg is None
    assert est.rows * 8 * 4 == m.syn0.nbytes + m.syn1.nbytes
    assert m.tree.nbytes <= HuffmanTree.estimate_bytes(len(m.vocab))


def test_cli_trains_with_hierarchical_softmax(tmp_path, capsys, planted_corpus, monkeypatch):
    from w2v.cli import main
    trained, real = [], train_module.train

    def recording(corpus, **kwargs):
        trained.append(real(corpus, **kwargs))
        return trained[-1]

    monkeypatch.setattr(train_module, "train", recording)
    out = tmp_path / "v.w2v"
    assert main(["train", str(planted_corpus), "-o", str(out), "--hs", "--negative", "0", "--model", "cbow",
                 "--cbow-mean", "0", "--min-count", "1", "--epochs", "1", "--dim", "8", "--threads", "1"]) == 0
    assert w2v.load(out).vectors.shape == (64, 8)
    assert trained[-1].params.hs_tree == "gensim"
    assert main(["train", str(planted_corpus), "-o", str(tmp_path / "w"), "--hs", "--hs-tree", "word2vec",
                 "--min-count", "1", "--epochs", "1", "--dim", "8", "-q"]) == 0
    assert trained[-1].params.hs_tree == "word2vec"
    assert [a.tolist() for a in trained[-1].tree] == [a.tolist() for a in HuffmanTree(trained[-1].vocab.counts,
                                                                                         "word2vec")]
    trained[-1].save(tmp_path / "m")
    assert main(["train", str(planted_corpus), "--resume", str(tmp_path / "m"), "--hs-tree", "word2vec"]) == 2
    assert "--hs-tree cannot change when a run resumes" in capsys.readouterr().err
    assert main(["train", str(planted_corpus), "--estimate-memory", "--hs", "--negative", "0", "--min-count",
                 "1", "--threads", "1"]) == 0
    assert "inner nodes" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    assert "--hs" in text and "--cbow-mean" in text and "hierarchical softmax" in text
