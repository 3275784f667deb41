# Shared declarations of the training kernels.
#
# syn0     input vectors, one row per vocabulary word (these are the word vectors users get)
# syn1neg  output vectors used by negative sampling (zero at start, as in word2vec.c)
# syn1     output vectors of hierarchical softmax: one row per inner node of the Huffman tree
#          (V - 1 of them), root first (zero at start, as in word2vec.c)
from libc.stdint cimport uint8_t, uint32_t, int32_t, uint64_t, int64_t

cdef enum:
    SIGMOID_TABLE_SIZE = 1000   # word2vec.c's EXP_TABLE_SIZE
    MAX_EXP = 6                 # sigmoid is clipped outside [-6, 6], as in word2vec.c
    MAX_SENTENCE_LEN = 10000    # corpus.py splits longer lines into chunks of this size
    MAX_NEGATIVE = 1000
    PATH_BLOCK = 32             # hierarchical softmax: path nodes whose scores are computed before their updates
    MAX_MERGE_BLOCKS = 64       # blocks of hot rows with a merge lock each (one bit each in a 64-bit mask)
    LOCK_STRIDE = 16            # ints from one merge lock to the next: a 64-byte cache line each

cdef enum Status:
    STATUS_OK = 0
    STATUS_STOPPED = 1          # the stop flag was raised (Ctrl-C, a callback, another worker's error)
    STATUS_NAN = 2              # a score became NaN/inf: the learning rate is too high for this data

cdef struct Model:
    float *syn0
    float *syn1neg               # NULL when negative == 0
    float *syn1                  # NULL when hierarchical softmax is off
    int dim
    int64_t stride               # floats from one row to the next (>= dim: rows may be padded to 64 bytes)
    int window
    int negative                 # noise words per example; 0: no negative sampling (then hs is on)
    int hs                       # hierarchical softmax (alone or beside negative sampling)
    int cbow
    int cbow_mean                # CBOW: the mean of the context vectors (1) or their sum (0)
    int wide                     # hierarchical softmax's path in 16-float (AVX-512) registers
    int shrink_windows           # each window's width drawn from 1..window (word2vec.c); 0: always window
    int shared_negatives         # skip-gram: one set of noise words per centre word's window
    uint32_t vocab_size
    const uint32_t *ids          # encoded corpus, EOS between sentences
    const float *keep_prob       # subsampling keep probability per word; NULL when sampling is off
    const float *alias_prob      # Vose alias table over count ** ns_exponent
    const int32_t *alias_idx
    # The Huffman tree, flattened: word w's path is entries code_start[w] .. code_start[w + 1] - 1
    # of path, root first, each (inner node's syn1 row) << 1 | (the branch taken, 0 or 1): one
    # array, so a path costs one run of memory reads.
    const uint32_t *path
    const int64_t *code_start
    uint32_t prefetch_from       # the first inner node whose syn1 row is requested ahead (see prefetch_tree)
    float alpha0
    float min_alpha
    int64_t total_words          # words planned over all epochs: drives the learning-rate schedule
    int64_t *progress            # words processed so far, shared by all workers (atomic adds)
    int *stop                    # set to non-zero to make every worker return at the next sentence
    # Hot rows: with several workers, each keeps its own copy of the rows of the `hot` most
    # frequent words (ids 0..hot-1) and adds its changes to the shared rows every `hot_sync`
    # corpus words, instead of all workers writing the same few cache lines all the time.
    # In the shared Model: the configured count (0 = off). In a worker's copy: the live count,
    # with hot0/hot1 pointing at that worker's copies of syn0/syn1neg rows and snap0/snap1 at the
    # shared rows as they were at its last merge. hot_nodes does the same for the first rows of
    # syn1 (the inner nodes nearest the root, which are on the most paths) in hot2/snap2.
    uint32_t hot
    uint32_t hot_nodes
    int64_t hot_sync
    float *hot0
    float *hot1
    float *hot2
    float *snap0
    float *snap1
    float *snap2
    # The hot rows are merged in merge_blocks blocks of rows, each with its own lock (merge_locks[b *
    # LOCK_STRIDE], one cache line each): workers merge different blocks at the same time, never
    # one block together. merge_ticket counts merges; it picks the block a merge starts at.
    int *merge_locks
    int merge_blocks
    int64_t *merge_ticket

cdef struct ChunkResult:
    int64_t words                # corpus words read (before subsampling)
    int64_t kept                 # of those, the words subsampling kept (gensim's "effective words")
    int64_t examples             # positive (centre, context) examples trained
    double loss                  # sum of the examples' losses (negative sampling and hierarchical softmax)
    int status
