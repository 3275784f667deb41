"""The `w2v` command line: train, phrases, similar, analogy, eval, info, convert.

main(argv=None) -> int. A user mistake (W2VError) prints one line to stderr and exits 2;
Ctrl-C exits 130.
"""
import argparse
import signal
import sys

from .errors import W2VError


DEFAULT_OUTPUT = "vectors.w2v"     # -o when not given (an existing file of that name is never replaced)
DEFAULT_PHRASES_OUTPUT = "joined.txt"   # the same for `w2v phrases`


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, then exit 2, as argparse does, but with our prefix
        self.exit(2, f"{self.prog}: error: {message}\n")


# ---------------------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------------------

def _add_train(sub):
    from .params import HS_TREES, Params
    d = Params()
    p = sub.add_parser("train", help="train word vectors from a text corpus",
                       description="Train word vectors. With no corpus, --demo trains on a small built-in corpus.")
    p.add_argument("corpus", nargs="?", help="text file (plain, .gz, .bz2 or .xz), directory of such files, "
                   "or - for standard input (one sentence per line, whitespace-separated tokens)")
    p.add_argument("-o", "--output", help="where to write the vectors (default: vectors.w2v, which must not exist "
                   "yet; with --demo, a new temporary directory)")
    p.add_argument("--format", choices=("native", "bin", "txt"), default=None,
                   help="native (fast, memory-mappable, keeps counts), bin or txt (word2vec formats)")
    p.add_argument("--model", choices=("sg", "cbow"), default=d.model, help="skip-gram or CBOW (default sg)")
    p.add_argument("--cbow-mean", type=int, choices=(0, 1), default=int(d.cbow_mean),
                   help="CBOW: 1 averages the context vectors, 0 sums them (gensim's cbow_mean; default 1)")
    p.add_argument("--dim", type=int, default=d.dim, help=f"vector size (default {d.dim})")
    p.add_argument("--window", type=int, default=d.window, help=f"maximum context distance (default {d.window})")
    p.add_argument("--fixed-window", action="store_true",
                   help="every window at full width (gensim's shrink_windows=False); default: each centre word's "
                   "window width drawn from 1..window, as word2vec.c and gensim")
    p.add_argument("--negative", type=int, default=d.negative,
                   help=f"noise words per example; 0 trains hierarchical softmax only (needs --hs) (default {d.negative})")
    p.add_argument("--hs", action="store_true",
                   help="hierarchical softmax over a Huffman tree of the vocabulary (word2vec.c's -hs 1), "
                        "alone with --negative 0 or beside negative sampling")
    p.add_argument("--hs-tree", choices=HS_TREES, default=None,
                   help="with --hs, the Huffman tree: gensim's (a heap; default) or word2vec.c's (its "
                        "CreateBinaryTree). Both give the least total code length; they pair words of equal "
                        "count differently")
    p.add_argument("--min-count", type=int, default=d.min_count, help=f"drop rarer words (default {d.min_count})")
    p.add_argument("--max-vocab", type=int, default=d.max_vocab, help="keep only the N most frequent words")
    p.add_argument("--sample", type=float, default=d.sample, help=f"subsampling threshold, 0 disables (default {d.sample})")
    p.add_argument("--epochs", type=int, default=d.epochs, help=f"passes over the corpus (default {d.epochs})")
    p.add_argument("--alpha", type=float, default=None,
                   help="start learning rate (default 0.025 sg, 0.05 cbow, 0.025 cbow with --cbow-mean 0)")
    p.add_argument("--min-alpha", type=float, default=d.min_alpha, help=f"final learning rate (default {d.min_alpha})")
    p.add_argument("--threads", type=int, default=None, help="worker threads (default: all usable cores)")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed (one thread + a seed repeats exactly)")
    p.add_argument("--ns-exponent", type=float, default=d.ns_exponent, help="noise distribution exponent (default 0.75)")
    p.add_argument("--per-pair-negatives", dest="shared_negatives", action="store_false",
                   help="skip-gram: draw noise words for every (centre, context) pair as word2vec.c does, "
                        "instead of once per window (slower, same quality)")
    p.add_argument("--chunk-words", type=int, default=d.chunk_words,
                   help=f"tokens a worker claims at a time; checkpoints fall between chunks (default {d.chunk_words:,})")
    p.add_argument("--cache-dir", help="keep the encoded corpus in files here (memory-mapped) instead of RAM")
    p.add_argument("--save-vocab", metavar="FILE", help="write the vocabulary (`word count` per line, most frequent "
                   "first, word2vec.c's format) to FILE before training")
    p.add_argument("--read-vocab", metavar="FILE", help="take the vocabulary from FILE (`word count` lines, as "
                   "--save-vocab writes) instead of counting the corpus; its order is kept")
    p.add_argument("--prune-limit", type=int, default=d.prune_limit, metavar="N",
                   help=f"while reading, prune the rarest tokens whenever more than N distinct ones are held, "
                        f"to bound memory (default {d.prune_limit:,})")
    p.add_argument("--checkpoint-every", metavar="N|Ne|Ns|Nm|Nh",
                   help="save the full training state every N epochs (2, 1e) or every so often (30s, 10m, 1h)")
    p.add_argument("--checkpoint", metavar="PATH",
                   help="where checkpoints (and the state at Ctrl-C) go (default: OUTPUT.ckpt)")
    p.add_argument("--resume", metavar="STATE",
                   help="continue the run saved in STATE (a checkpoint) on the same corpus; its parameters, "
                        "output and checkpoint options are used unless -o, --format, --threads, --checkpoint* are given")
    p.add_argument("--estimate-memory", action="store_true",
                   help="print how much memory the run needs (estimated from the corpus size) and exit")
    p.add_argument("--memory-limit", metavar="SIZE", help="plan with at most this much memory (like 4G or 500M) "
                   "instead of all that is available; the encoded corpus goes to a memory-mapped file when it "
                   "does not fit beside the model")
    p.add_argument("--no-memory-check", action="store_true",
                   help="train even if the memory estimate says the run does not fit")
    p.add_argument("--phrases", metavar="N|FILE",
                   help="join phrases (new york -> new_york) into the corpus as it is read: N passes learned with "
                        "word2phrase's settings (threshold 100, min-count 5), or a model saved by "
                        "`w2v phrases --save-model FILE`; the joined text is not written out")
    p.add_argument("--demo", action="store_true", help="train on a small built-in corpus (no file needed)")
    p.add_argument("--distributed", metavar="ADDRESS",
                   help="train on the workers of a Dask cluster: a scheduler address (tcp://host:8786) or local:N "
                        "for N local worker processes; the corpus (a directory, or a quoted glob pattern) is split "
                        "by files, one shard per worker; --threads is then per worker (needs pip install "
                        "\"w2v[distributed]\")")
    p.add_argument("--workers", type=int, default=None,
                   help="with --distributed: how many shards to train (default: one per worker)")
    p.add_argument("--round-words", type=int, default=None,
                   help="with --distributed: words each worker trains between two reconciliations of the replicas "
                        "(default 250,000)")
    p.add_argument("--merge", choices=("scaled", "sum", "average"), default=None,
                   help="with --distributed: how the workers' changes of a row are merged: scaled (the default: their "
                        "sum, scaled down for the rows that more than two workers took most of the way to where "
                        "their shards pull them), sum, or average (Spark MLlib's rule)")
    p.add_argument("--rare-every", type=int, default=None, metavar="K",
                   help="with --distributed: exchange the rows of the frequent words (90%% of the corpus) every "
                        "round and the other rows every K rounds (default 8 with two shards, 1 with more: all "
                        "changed rows every round)")
    p.add_argument("--overlap", action=argparse.BooleanOptionalAction, default=None,
                   help="with --distributed: each worker starts its next round while its last one is merged, "
                        "training it without the others' changes of the last round (they come with the next); "
                        "default on with two shards, off with more (there it costs accuracy)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_train)
    return p


def cmd_train(args):
    import os
    import time

    from .params import Params
    from .train import Checkpointer, Word2Vec, available_memory, estimate_memory, train

    if args.corpus is None and not args.demo:
        raise W2VError("give a corpus file (or --demo for the built-in demo corpus)")
    if args.corpus is not None and args.demo:
        raise W2VError("give either a corpus or --demo, not both")
    if args.resume and args.demo:
        raise W2VError("--resume needs the corpus the run started on, not --demo")
    if args.estimate_memory and args.demo:
        raise W2VError("--estimate-memory needs a corpus")
    if args.distributed is None:
        for flag, value in (("--workers", args.workers), ("--round-words", args.round_words), ("--merge", args.merge),
                            ("--rare-every", args.rare_every), ("--overlap", args.overlap)):
            if value is not None:
                raise W2VError(f"{flag} goes with --distributed ADDRESS")
    else:
        from .distributed import _dask
        _dask()         # without Dask: one line saying what to install, before anything is read
        if args.estimate_memory:
            raise W2VError("--estimate-memory estimates a single-process run; leave out --distributed")
        for flag, given in (("--phrases", args.phrases is not None), ("--read-vocab", args.read_vocab),
                            ("--save-vocab", args.save_vocab), ("--memory-limit", args.memory_limit),
                            ("--hs", args.hs), ("standard input as the corpus", args.corpus == "-")):
            if given:
                raise W2VError(f"{flag} is not available with --distributed; leave it out, or train in one process")
    if args.hs_tree is not None and args.resume:
        raise W2VError("--hs-tree cannot change when a run resumes (its checkpoint keeps the tree); leave it out")
    if args.hs_tree is not None and not args.hs:
        raise W2VError("--hs-tree chooses hierarchical softmax's tree: add --hs, or leave --hs-tree out")
    if args.resume and args.phrases is not None:
        raise W2VError("--resume continues with the phrases of the run it resumes; leave --phrases out")
    phrases = _phrases_option(args.phrases)
    params = dict(model=args.model, dim=args.dim, window=args.window, negative=args.negative,
                  min_count=args.min_count, max_vocab=args.max_vocab, sample=args.sample,
                  epochs=args.epochs, alpha=args.alpha, min_alpha=args.min_alpha, threads=args.threads,
                  seed=args.seed, ns_exponent=args.ns_exponent, chunk_words=args.chunk_words,
                  shared_negatives=args.shared_negatives, prune_limit=args.prune_limit, hs=args.hs,
                  cbow_mean=bool(args.cbow_mean), shrink_windows=not args.fixed_window,
                  hs_tree=args.hs_tree or Params.hs_tree)
    p = Params(**params).validate()       # fail on bad values before reading anything
    if args.cache_dir is not None:
        if not os.path.isdir(args.cache_dir):
            raise W2VError(f"--cache-dir {args.cache_dir} is not a directory; create it first")
        if not os.access(args.cache_dir, os.W_OK):
            raise W2VError(f"cannot write to --cache-dir {args.cache_dir}; choose a writable directory")
    model = None
    saved = {}
    if args.resume:
        model = Word2Vec.load(args.resume)
        if model.schedule is None:
            raise W2VError(f"{args.resume} holds a finished model: nothing to resume")
        saved = model.extra
        if "distributed" in saved and args.distributed is None:
            raise W2VError(f"{args.resume} is the checkpoint of a distributed run: add --distributed ADDRESS")
        if "distributed" not in saved and args.distributed is not None:
            raise W2VError(f"{args.resume} is the checkpoint of a single-process run: leave out --distributed")
        for flag, value in (("--workers", args.workers), ("--round-words", args.round_words), ("--merge", args.merge),
                            ("--rare-every", args.rare_every), ("--overlap", args.overlap)):
            if value is not None:
                raise W2VError(f"{flag} cannot change when a distributed run resumes (its checkpoint keeps it)")
    output = args.output or saved.get("output")
    demo_out = None
    if output is None and args.demo:
        # the demo writes into a new temporary directory: it never touches the current one
        import tempfile
        demo_out = tempfile.mkdtemp(prefix="w2v-demo-")
        output = os.path.join(demo_out, "vectors.w2v")
    elif output is None:
        output = DEFAULT_OUTPUT
        if os.path.lexists(output) and not args.estimate_memory:
            raise W2VError(f"{output} already exists; give -o {output} to replace it, or -o another path")
    fmt = args.format or saved.get("format") or "native"
    every = args.checkpoint_every or saved.get("checkpoint_every")
    ckpt_path = args.checkpoint or (saved.get("checkpoint") if not args.output else None) or output + ".ckpt"
    _check_writable(output)
    _check_writable(ckpt_path, "--checkpoint")
    if args.resume and (args.read_vocab or args.save_vocab):
        raise W2VError("--resume keeps the run's own vocabulary: leave out --read-vocab and --save-vocab")
    if args.save_vocab:
        _check_writable(args.save_vocab, "--save-vocab")
    if args.read_vocab and not os.path.isfile(args.read_vocab):
        raise W2VError(f"vocabulary file not found: {args.read_vocab}; check the --read-vocab path")
    if every is not None:
        Checkpointer.create(ckpt_path, every)     # a bad --checkpoint-every fails here, before reading
    corpus = sys.stdin.buffer if args.corpus == "-" else args.corpus
    available = available_memory(args.memory_limit)      # a bad --memory-limit fails here, before reading
    if args.estimate_memory:
        if model is not None:
            p = model.params
        est = estimate_memory(corpus, p, args.cache_dir, available=available)
        if est is None:
            raise W2VError(f"--estimate-memory needs a corpus whose size is known before reading it (a file), "
                           f"not {'standard input' if args.corpus == '-' else args.corpus}")
        mapped = args.cache_dir is None and est.corpus_bytes > est.room_for_corpus()
        if mapped:
            est = estimate_memory(corpus, p, os.path.dirname(os.path.abspath(output)), available=available)
        print(est.describe())
        fits = est.available is None or est.needed <= est.available
        if mapped:
            print(f"the encoded corpus will not fit beside the model: it will go to a memory-mapped file in "
                  f"{est.cache_dir}")
        print("this run should fit in memory" if fits else
              "this run probably does not fit: use a smaller --dim, or --max-vocab N")
        return 0
    demo_dir = None
    if args.demo:
        import tempfile
        from .demo import write_demo_corpus
        demo_dir = tempfile.TemporaryDirectory(prefix="w2v-demo-")
        corpus = os.path.join(demo_dir.name, "demo.txt")
        write_demo_corpus(corpus)
        if not args.quiet:
            print(f"demo: training on a generated corpus ({corpus})", file=sys.stderr)
    extra = {"output": os.path.abspath(output), "format": fmt, "checkpoint": os.path.abspath(ckpt_path),
             "checkpoint_every": every}
    ckpt_args = dict(checkpoint=ckpt_path if every is not None else None, checkpoint_every=every)
    previous = signal.getsignal(signal.SIGTERM)
    if previous == signal.SIG_DFL:        # a job scheduler's SIGTERM stops training like Ctrl-C
        signal.signal(signal.SIGTERM, _sigterm)
    try:
        if args.distributed is not None:
            from . import distributed
            if model is not None:
                model.extra = dict(extra, distributed=model.extra["distributed"])
                model = distributed.resume(model, corpus, address=args.distributed, quiet=args.quiet,
                                           cache_dir=args.cache_dir, threads=args.threads, **ckpt_args)
            else:
                model = distributed.train(corpus, address=args.distributed, workers=args.workers,
                                          round_words=args.round_words or distributed.ROUND_WORDS,
                                          merge=args.merge or "scaled", quiet=args.quiet, cache_dir=args.cache_dir,
                                          rare_every=args.rare_every, overlap=args.overlap, extra=extra,
                                          **ckpt_args, **params)
        elif model is not None:
            model.extra = extra
            model.resume(corpus, quiet=args.quiet, cache_dir=args.cache_dir, threads=args.threads, **ckpt_args)
        else:
            model = train(corpus, quiet=args.quiet, cache_dir=args.cache_dir, check_memory=not args.no_memory_check,
                          extra=extra, read_vocab=args.read_vocab, save_vocab=args.save_vocab,
                          phrases=phrases, memory_limit=args.memory_limit,
                          spill_dir=os.path.dirname(os.path.abspath(output)), **ckpt_args, **params)
        target = output
        if model.interrupted:
            target = output + ".partial"
        t0 = time.perf_counter()
        model.wv.save(target, format=fmt)
        model.timings["save"] = time.perf_counter() - t0
        if model.interrupted:
            model.extra = dict(extra, **{k: v for k, v in model.extra.items() if k == "distributed"})
            model.save(ckpt_path)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if demo_dir is not None:
            demo_dir.cleanup()
    if model.interrupted:
        resume = f"w2v train {args.corpus} --resume {ckpt_path}" if not args.demo else None
        if resume and args.distributed:
            resume += f" --distributed {args.distributed}"
        if resume and args.corpus == "-":
            resume += " (with the same text on standard input)"
        print(f"w2v: training was interrupted; the vectors trained so far are in {target}"
              + (f"; to continue: {resume}" if resume else ""), file=sys.stderr)
        return 130
    if every is not None or args.resume:   # the run is complete: its checkpoint is no longer needed
        stale = {ckpt_path, args.resume or ckpt_path} | ({output + ".partial"} if args.resume else set())
        for path in stale:
            try:
                os.unlink(path)
            except OSError:
                pass
    if not args.quiet:
        print(f"wrote {len(model.vocab):,} vectors of dimension {model.params.dim} to {target} "
              f"({fmt} format)", file=sys.stderr)
        if args.demo:
            _demo_queries(model)
            print(f"query them yourself: w2v similar {target} cat", file=sys.stderr)
    return 0


def _phrases_option(value):
    """--phrases: a number of passes, or a saved phrase model (loaded now, before any reading)."""
    if value is None:
        return None
    if value.strip().isdigit():
        passes = int(value)
        if passes < 1:
            raise W2VError(f"--phrases must be a number of passes (at least 1) or a phrase model file, not {value}")
        return passes
    from .phrases import Phrases
    return Phrases.load(value)


def _sigterm(signum, frame):
    import os
    os.kill(os.getpid(), signal.SIGINT)     # handled exactly as Ctrl-C


def _check_writable(path, option="-o"):
    import os
    what = {"-o": "output", "--checkpoint": "checkpoint"}.get(option, option)
    directory = os.path.dirname(os.path.abspath(path)) or "."
    if os.path.isdir(path):
        raise W2VError(f"{what} {path} is a directory; give a file name with {option}")
    if not os.path.isdir(directory):
        raise W2VError(f"{what} directory {directory} does not exist; create it or choose another {option}")
    if not os.access(directory, os.W_OK):
        raise W2VError(f"cannot write to {directory}; choose a writable place with {option}")


def _demo_queries(model):
    from .demo import DEMO_ANALOGIES, DEMO_QUERIES
    wv = model.wv
    for word in DEMO_QUERIES:
        near = ", ".join(f"{w} ({s:.2f})" for w, s in wv.most_similar(word, topn=5))
        print(f"nearest to {word!r}: {near}")
    for a, b, c in DEMO_ANALOGIES:
        answer, score = wv.analogy(a, b, c, topn=1)[0]
        print(f"{a} is to {b} as {c} is to {answer!r} ({score:.2f})")


# ---------------------------------------------------------------------------------------
# phrases
# ---------------------------------------------------------------------------------------

def _add_phrases(sub):
    from .phrases import MAX_ENTRIES, SCORINGS
    p = sub.add_parser("phrases", help="join frequent word pairs with _ (new york -> new_york), as word2phrase",
                       description="Learn which adjacent words form phrases and write the corpus with them joined "
                                   "by _. A pair a b is joined when (count(ab) - delta) / (count(a) * count(b)) * "
                                   "total_words exceeds --threshold (word2vec.c's word2phrase), or with --scoring "
                                   "npmi when gensim's normalised PMI does. Joining runs from left to right.")
    p.add_argument("corpus", help="text file, .gz file, or directory of such files (one sentence per line)")
    p.add_argument("-o", "--output", help=f"where to write the joined corpus (default: {DEFAULT_PHRASES_OUTPUT}, "
                   "which must not exist yet)")
    p.add_argument("--min-count", type=int, default=None,
                   help="pairs and words seen fewer times are never joined (default 5)")
    p.add_argument("--threshold", type=float, default=None,
                   help="join a pair whose score is above this (default 100; with --scoring npmi, 0.5)")
    p.add_argument("--delta", type=float, default=None,
                   help="word2phrase scoring: discount subtracted from the pair's count (default: --min-count)")
    p.add_argument("--scoring", choices=SCORINGS, default=None,
                   help="word2phrase (default) or npmi (normalised PMI, threshold in [-1, 1])")
    p.add_argument("--passes", type=int, default=None,
                   help="learn and join this many times; 2 joins phrases to words (new_york times) (default 1)")
    p.add_argument("--max-entries", type=int, default=None,
                   help=f"words + pairs held while counting; past this the rarest are pruned (default {MAX_ENTRIES:,})")
    p.add_argument("--save-model", metavar="FILE", help="also write the phrase model (pairs and scores) to FILE, "
                   "for `w2v train --phrases FILE` or `w2v phrases --model FILE`")
    p.add_argument("--model", metavar="FILE", help="join with this saved phrase model instead of learning one")
    p.add_argument("--top", type=int, default=10, help="how many of the most often joined phrases to list (default 10)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(func=cmd_phrases)
    return p


def cmd_phrases(args):
    import os
    import time

    from . import phrases as ph

    learning = {"--min-count": args.min_count, "--threshold": args.threshold, "--delta": args.delta,
                "--scoring": args.scoring, "--passes": args.passes, "--max-entries": args.max_entries}
    top = _positive(args.top, "--top")
    if args.model is not None:
        given = [flag for flag, value in learning.items() if value is not None]
        if given:
            raise W2VError(f"{given[0]} applies to learning phrases; a --model FILE is applied as it was saved")
        if args.save_model is not None:
            raise W2VError("--save-model writes a learned model; with --model FILE it already exists")
    output = args.output
    if output is None:
        output = DEFAULT_PHRASES_OUTPUT
        if os.path.lexists(output):
            raise W2VError(f"{output} already exists; give -o {output} to replace it, or -o another path")
    _check_writable(output)
    if args.save_model is not None:
        _check_writable(args.save_model, "--save-model")
        if os.path.abspath(args.save_model) == os.path.abspath(output):
            raise W2VError("--save-model and -o name the same file; give them different paths")
    ph.list_files(args.corpus)          # a missing corpus fails before anything is learned
    t0 = time.perf_counter()
    if args.model is not None:
        model = ph.load(args.model)
    else:
        passes = args.passes if args.passes is not None else 1
        model = ph.learn(args.corpus, passes=passes, scoring=args.scoring or "word2phrase",
                         min_count=args.min_count if args.min_count is not None else 5, threshold=args.threshold,
                         delta=args.delta, max_entries=args.max_entries or ph.MAX_ENTRIES,
                         progress=None if args.quiet else _progress_line("pass {0}: read {1:,.0f} MB"))
        if args.save_model is not None:
            model.save(args.save_model)
    t_learn = time.perf_counter() - t0
    t0 = time.perf_counter()
    joins = model.write(args.corpus, output,
                        progress=None if args.quiet else
                        (lambda n, tick=_progress_line("writing: read {1:,.0f} MB"): tick(0, n)))
    t_write = time.perf_counter() - t0
    if args.quiet:
        return 0
    _clear_progress()
    what = f"loaded from {args.model}" if args.model is not None else f"learned in {t_learn:.1f}s"
    print(f"phrases: {len(model):,} in {model.passes} pass{'es' if model.passes != 1 else ''} ({model.scoring} "
          f"scoring, threshold {model.threshold:g}, min-count {model.min_count}); {what}")
    for k, info in enumerate(model.info, 1):
        print(f"  pass {k}: {len(model.tables[k - 1]):,} phrases from {info.total_words:,} words "
              f"({info.words:,} distinct words and {info.pairs:,} distinct pairs counted)")
        if info.pruned:
            print(f"  note: pass {k}: rare words and pairs were pruned {info.pruned}x to hold at most "
                  f"{model.max_entries:,} (threshold {info.prune_threshold}); their counts are approximate")
    if args.save_model is not None:
        print(f"phrase model saved to {args.save_model}")
    total = int(sum(j.sum() for j in joins))
    distinct = int(sum((j > 0).sum() for j in joins))
    print(f"wrote {output}: {total:,} phrases joined ({distinct:,} distinct); {t_write:.1f}s")
    rows = [(int(n), f"{a}_{b}", score) for k, j in enumerate(joins)
            for (a, b, _, score), n in zip(model.table(k), j.tolist()) if n > 0]
    rows.sort(key=lambda r: -r[0])
    if rows[:top]:
        width = max(len(r[1]) for r in rows[:top])
        print("most often joined:")
        for n, phrase, score in rows[:top]:
            print(f"  {phrase:<{width}}  {n:>10,}  score {score:.4g}")
    return 0


def _progress_line(template):
    """A callable(pass_index, bytes_read) that shows progress on a terminal, at most twice a second."""
    import time
    last = [0.0]

    def tick(k, nbytes):
        now = time.perf_counter()
        if sys.stderr.isatty() and now - last[0] > 0.5:
            last[0] = now
            sys.stderr.write("\r\033[K" + template.format(k + 1, nbytes / 1e6))
            sys.stderr.flush()
    return tick


def _clear_progress():
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()


# ---------------------------------------------------------------------------------------
# vector commands (similar, analogy, eval, info, convert)
# ---------------------------------------------------------------------------------------

def _add_vector_commands(sub):
    from .evaluate import STS_LAYOUTS

    p = sub.add_parser("similar", help="nearest words to a word (or to the sum of several)")
    p.add_argument("vectors", help="vector file (native, word2vec bin or txt, fastText .vec)")
    p.add_argument("words", nargs="+", metavar="WORD", help="query word(s); several are summed")
    p.add_argument("--topn", type=int, default=10, help="how many neighbours (default 10)")
    _add_load_options(p)
    p.set_defaults(func=cmd_similar)

    p = sub.add_parser("analogy", help="A is to B as C is to ?")
    p.add_argument("vectors", help="vector file")
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B")
    p.add_argument("c", metavar="C")
    p.add_argument("--topn", type=int, default=5, help="how many answers (default 5)")
    _add_load_options(p)
    p.set_defaults(func=cmd_analogy)

    p = sub.add_parser("eval", help="analogy accuracy, word-pair and sentence-pair (STS) correlation")
    p.add_argument("vectors", help="vector file")
    p.add_argument("--analogies", metavar="FILE", help="questions-words file (': section' headers, 'a b c d' lines)")
    p.add_argument("--pairs", metavar="FILE", help="word-pair file: 'word1 word2 score' (WordSim353, SimLex)")
    p.add_argument("--sts", metavar="FILE",
                   help="sentence-pair file, tab-separated: STS-Benchmark (genre, file, year, id, score, s1, s2), "
                        "SICK, or 'score<TAB>s1<TAB>s2'; prints Spearman for each pooling (mean, tfidf, sif) and "
                        "post-processing (none, whitening on words / on sentences, all-but-the-top)")
    p.add_argument("--sts-layout", choices=("auto",) + tuple(STS_LAYOUTS), default="auto",
                   help="columns of the --sts file (default auto: from a header or the columns that parse)")
    p.add_argument("--whiten-dims", type=int, metavar="K",
                   help="--sts whitening keeps the top K principal dimensions (default: all)")
    p.add_argument("--abtt-components", type=int, metavar="N",
                   help="--sts all-but-the-top removes the top N principal directions (default: dim / 100)")
    p.add_argument("--sif-a", type=float, default=1e-3, metavar="A",
                   help="SIF weight a / (a + p(word)) (default 1e-3)")
    p.add_argument("--restrict-vocab", type=int, default=30000,
                   help="analogy candidates: the N most frequent words (default 30000)")
    p.add_argument("--case-sensitive", action="store_true",
                   help="match words exactly; --sts sentences are then not lower-cased (default: ignore case)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    _add_load_options(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("info", help="format, size and most frequent words of a vector file")
    p.add_argument("vectors", help="vector file")
    p.add_argument("--top", type=int, default=10, help="how many of the first words to show (default 10)")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("convert", help="convert between native, word2vec bin and txt formats")
    p.add_argument("input", metavar="IN", help="vector file to read (format detected)")
    p.add_argument("output", metavar="OUT", help="file to write")
    p.add_argument("--format", choices=("native", "bin", "txt"),
                   help="output format (default: from OUT's extension: .bin, .txt/.vec, else native)")
    p.add_argument("--limit", type=int, help="convert only the first N words")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("classes", help="cluster the words into classes (k-means, as word2vec.c's -classes)",
                       description="Spherical k-means over the word vectors; writes `word class` per line.")
    p.add_argument("vectors", help="vector file")
    p.add_argument("-k", "--classes", type=int, required=True, metavar="K", help="number of classes")
    p.add_argument("-o", "--output", help="file to write (default: standard output)")
    p.add_argument("--iterations", type=int, default=10, help="k-means rounds (default 10, as word2vec.c)")
    p.add_argument("--init", choices=("kmeans++", "word2vec"), default="kmeans++",
                   help="starting classes: k-means++ seeding (default) or word2vec.c's word i in class i mod K")
    p.add_argument("--seed", type=int, default=1, help="random seed of the k-means++ seeding (default 1)")
    _add_load_options(p)
    p.set_defaults(func=cmd_classes)


def _add_load_options(p):
    p.add_argument("--limit", type=int, help="load only the first N (most frequent) words")


def _positive(value, option):
    if value is not None and value < 1:
        raise W2VError(f"{option} must be a positive integer, got {value}")
    return value


def _load_vectors(args):
    from .vectors import load
    return load(args.vectors, limit=_positive(getattr(args, "limit", None), "--limit"))


def _print_ranked(pairs):
    if not pairs:
        print("(no candidates)")
        return
    width = max(len(w) for w, _ in pairs)
    for word, score in pairs:
        print(f"{word:<{width}}  {score:.4f}")


def cmd_similar(args):
    kv = _load_vectors(args)
    _print_ranked(kv.most_similar(positive=args.words, topn=_positive(args.topn, "--topn")))


def cmd_analogy(args):
    kv = _load_vectors(args)
    _print_ranked(kv.analogy(args.a, args.b, args.c, topn=_positive(args.topn, "--topn")))


def _pct(accuracy):
    return "n/a" if accuracy is None else f"{100 * accuracy:.2f}%"


def _num(value):
    return "n/a" if value is None else f"{value:.4f}"


def cmd_eval(args):
    import json

    from .evaluate import evaluate_analogies, evaluate_sentence_table, evaluate_word_pairs, tokenize

    if not args.analogies and not args.pairs and not args.sts:
        raise W2VError("give --analogies FILE, --pairs FILE and/or --sts FILE")
    _positive(args.restrict_vocab, "--restrict-vocab")
    _positive(args.whiten_dims, "--whiten-dims")
    if args.abtt_components is not None and args.abtt_components < 0:
        raise W2VError(f"--abtt-components must be 0 or more, got {args.abtt_components}")
    if not args.sif_a > 0:
        raise W2VError(f"--sif-a must be a positive number, got {args.sif_a}")
    kv = _load_vectors(args)
    if args.whiten_dims is not None and args.whiten_dims > kv.vector_size:
        raise W2VError(f"--whiten-dims {args.whiten_dims} is more than the {kv.vector_size} dimensions of the vectors")
    if args.abtt_components is not None and args.abtt_components >= kv.vector_size:
        raise W2VError(f"--abtt-components must be less than the {kv.vector_size} dimensions of the vectors")
    results = {"vectors": args.vectors, "words": len(kv), "dim": kv.vector_size}
    if args.analogies:
        results["analogies"] = evaluate_analogies(kv, args.analogies, restrict_vocab=args.restrict_vocab,
                                                  case_insensitive=not args.case_sensitive)
    if args.pairs:
        results["pairs"] = evaluate_word_pairs(kv, args.pairs, case_insensitive=not args.case_sensitive)
    if args.sts:
        lowercase = not args.case_sensitive
        results["sts"] = dict(file=args.sts, **evaluate_sentence_table(
            kv, args.sts, tokenizer=lambda s: tokenize(s, lowercase), layout=args.sts_layout,
            whiten_dims=args.whiten_dims, abtt_components=args.abtt_components, sif_a=args.sif_a))
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    if args.analogies:
        r = results["analogies"]
        rows = r["sections"] + [dict(r["semantic"]), dict(r["syntactic"]), dict(r, name="total")]
        width = max(len(x["name"]) for x in rows)
        print(f"analogies: {args.analogies} (candidates: {r['restrict_vocab']:,} most frequent words)")
        print(f"  {'section':<{width}}  {'accuracy':>9}  {'correct':>7}  {'answered':>8}  {'skipped':>7}")
        for i, x in enumerate(rows):
            if i == len(r["sections"]):
                print(f"  {'-' * width}")
            print(f"  {x['name']:<{width}}  {_pct(x['accuracy']):>9}  {x['correct']:>7}  "
                  f"{x['answered']:>8}  {x['skipped']:>7}")
    if args.pairs:
        r = results["pairs"]
        print(f"word pairs: {args.pairs}")
        print(f"  spearman {_num(r['spearman'])}  pearson {_num(r['pearson'])}  "
              f"pairs {r['pairs']}  known {r['known']}  oov {100 * r['oov_ratio']:.1f}%")
    if args.sts:
        _print_sts(results["sts"], kv.vector_size)
    return 0


_STS_COLUMNS = {None: "none", "words": "whiten words", "sentences": "whiten sentences", "abtt": "all-but-the-top"}


def _print_sts(r, dim):
    from .evaluate import POOLING
    malformed = f"{r['malformed']} malformed lines"
    if r["malformed"]:
        more = ", ..." if r["malformed"] > len(r["malformed_lines"]) else ""
        malformed += f" (lines {', '.join(map(str, r['malformed_lines']))}{more})"
    print(f"sentence pairs: {r['file']} ({r['layout']} layout{', with a header' if r['header'] else ''})")
    print(f"  {r['pairs']} pairs, {r['scored']} scored, {r['no_known_word']} with a sentence without known words; "
          f"{malformed}; unknown tokens {100 * r['oov_token_share']:.1f}%")
    cells = {(x["method"], x["whiten"]): x for x in r["rows"]}
    widths = [max(len(c), 7) for c in _STS_COLUMNS.values()]
    header = "  ".join(f"{c:>{w}}" for c, w in zip(_STS_COLUMNS.values(), widths))
    for title, key in (("spearman", "spearman"), ("anisotropy of the sentence vectors", "anisotropy_after")):
        print(f"  {title}")
        print(f"  {'':<7}  {header}")
        for method in POOLING:
            values = [_num(cells[method, w][key]) for w in _STS_COLUMNS]
            print(f"  {method:<7}  " + "  ".join(f"{v:>{w}}" for v, w in zip(values, widths)))
    after = {x["whiten"]: x["word_anisotropy_after"] for x in r["rows"]}
    print(f"  anisotropy of the file's word vectors: none {_num(r['word_anisotropy'])}, "
          f"whiten words {_num(after['words'])}, all-but-the-top {_num(after['abtt'])}")
    k = r["abtt_components"]
    print(f"  SIF: a={r['sif_a']:g}, word probabilities from "
          f"{'the counts' if r['probabilities'] == 'counts' else 'Zipf ranks (the vectors have no counts)'}; "
          f"idf from {'the counts' if r['idf'] == 'counts' else 'the sentences'}; whitening keeps "
          f"{r['whiten_dims'] or dim} of {dim} dims; all-but-the-top removes {k} direction{'s' if k != 1 else ''}")


def cmd_info(args):
    from .vectors import detect_format, load

    top = _positive(args.top, "--top")
    fmt = detect_format(args.vectors)
    kv = load(args.vectors, format=fmt, mmap=(fmt == "native"))  # mapped: no need to read the vectors
    print(f"file:    {args.vectors}")
    print(f"format:  {kv.source_format}")
    print(f"words:   {len(kv):,}")
    print(f"dim:     {kv.vector_size}")
    print(f"counts:  {'yes' if kv.counts is not None else 'no'}")
    first = kv.index_to_key[:top]
    if kv.counts is not None:
        listed = ", ".join(f"{w} ({int(c):,})" for w, c in zip(first, kv.counts[:top]))
        print(f"most frequent: {listed}")
    else:
        print(f"first words: {', '.join(first)}")


def cmd_convert(args):
    import os

    from .vectors import load

    fmt = args.format
    if fmt is None:
        ext = os.path.splitext(args.output)[1].lower()
        fmt = {".bin": "bin", ".txt": "txt", ".vec": "txt"}.get(ext, "native")
    kv = load(args.input, limit=_positive(args.limit, "--limit"))
    kv.save(args.output, format=fmt)
    print(f"wrote {len(kv):,} words x {kv.vector_size} dims to {args.output} ({fmt} format)", file=sys.stderr)


def cmd_classes(args):
    import time

    from .geometry import word_classes, write_classes

    if args.output is not None:
        _check_writable(args.output)
    kv = _load_vectors(args)
    t0 = time.perf_counter()
    labels = word_classes(kv, args.classes, iterations=_positive(args.iterations, "--iterations"),
                          init=args.init, seed=args.seed)
    seconds = time.perf_counter() - t0
    if args.output is None:
        sys.stdout.write("".join(f"{w} {int(c)}\n" for w, c in zip(kv.index_to_key, labels)))
        return 0
    write_classes(kv, labels, args.output)
    print(f"wrote the classes of {len(kv):,} words ({args.classes} classes, {seconds:.1f}s) to {args.output}",
          file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------------------

def build_parser():
    parser = _Parser(prog="w2v", description="Fast word2vec: train, query and evaluate word vectors.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    _add_train(sub)
    _add_phrases(sub)
    _add_vector_commands(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except W2VError as exc:
        print(f"w2v: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("w2v: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `w2v similar ... | head`
        return 0


def run():
    """The `w2v` command (and `python -m w2v`): main() and the exit. A Ctrl-C that arrives while the
    process starts (before main() handles it) or after main() has returned (while the interpreter
    shuts down) ends it as an interruption too: exit status 130 and one line, never a traceback."""
    try:
        code = main()
    except KeyboardInterrupt:
        print("w2v: interrupted", file=sys.stderr)
        code = 130
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # the work is done or stopped: nothing left to interrupt
    sys.exit(code)
