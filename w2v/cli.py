"""The `w2v` command line: train, similar, analogy, eval, info, convert.

main(argv=None) -> int. A user mistake (W2VError) prints one line to stderr and exits 2;
Ctrl-C exits 130.
"""
import argparse
import sys

from .errors import W2VError


DEFAULT_OUTPUT = "vectors.w2v"     # -o when not given (an existing file of that name is never replaced)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, then exit 2, as argparse does, but with our prefix
        self.exit(2, f"{self.prog}: error: {message}\n")


# ---------------------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------------------

def _add_train(sub):
    from .params import Params
    d = Params()
    p = sub.add_parser("train", help="train word vectors from a text corpus",
                       description="Train word vectors. With no corpus, --demo trains on a small built-in corpus.")
    p.add_argument("corpus", nargs="?", help="text file, .gz file, or directory of such files "
                   "(one sentence per line, whitespace-separated tokens)")
    p.add_argument("-o", "--output", help="where to write the vectors (default: vectors.w2v, which must not exist "
                   "yet; with --demo, a new temporary directory)")
    p.add_argument("--format", choices=("native", "bin", "txt"), default=None,
                   help="native (fast, memory-mappable, keeps counts), bin or txt (word2vec formats)")
    p.add_argument("--model", choices=("sg", "cbow"), default=d.model, help="skip-gram or CBOW (default sg)")
    p.add_argument("--dim", type=int, default=d.dim, help=f"vector size (default {d.dim})")
    p.add_argument("--window", type=int, default=d.window, help=f"maximum context distance (default {d.window})")
    p.add_argument("--negative", type=int, default=d.negative, help=f"noise words per example (default {d.negative})")
    p.add_argument("--min-count", type=int, default=d.min_count, help=f"drop rarer words (default {d.min_count})")
    p.add_argument("--max-vocab", type=int, default=d.max_vocab, help="keep only the N most frequent words")
    p.add_argument("--sample", type=float, default=d.sample, help=f"subsampling threshold, 0 disables (default {d.sample})")
    p.add_argument("--epochs", type=int, default=d.epochs, help=f"passes over the corpus (default {d.epochs})")
    p.add_argument("--alpha", type=float, default=None, help="start learning rate (default 0.025 sg, 0.05 cbow)")
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
    p.add_argument("--checkpoint-every", metavar="N|Ne|Ns|Nm|Nh",
                   help="save the full training state every N epochs (2, 1e) or every so often (30s, 10m, 1h)")
    p.add_argument("--checkpoint", metavar="PATH",
                   help="where checkpoints (and the state at Ctrl-C) go (default: OUTPUT.ckpt)")
    p.add_argument("--resume", metavar="STATE",
                   help="continue the run saved in STATE (a checkpoint) on the same corpus; its parameters, "
                        "output and checkpoint options are used unless -o, --format, --threads, --checkpoint* are given")
    p.add_argument("--estimate-memory", action="store_true",
                   help="print how much memory the run needs (estimated from the corpus size) and exit")
    p.add_argument("--no-memory-check", action="store_true",
                   help="train even if the memory estimate says the run does not fit")
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
                        "(default 1,000,000)")
    p.add_argument("--merge", choices=("sum", "average"), default=None,
                   help="with --distributed: add the workers' changes of a row (sum, the default) or average them")
    p.add_argument("--rare-every", type=int, default=None, metavar="K",
                   help="with --distributed: exchange the rows of the frequent words (90%% of the corpus) every "
                        "round and the other rows every K rounds (default 1: all changed rows every round)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_train)
    return p


def cmd_train(args):
    import os
    import signal
    import time

    from .train import Checkpointer, Word2Vec, estimate_memory, train

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
                            ("--rare-every", args.rare_every)):
            if value is not None:
                raise W2VError(f"{flag} goes with --distributed ADDRESS")
    else:
        from .distributed import _dask
        _dask()         # without Dask: one line saying what to install, before anything is read
        if args.estimate_memory:
            raise W2VError("--estimate-memory estimates a single-process run; leave out --distributed")
    params = dict(model=args.model, dim=args.dim, window=args.window, negative=args.negative,
                  min_count=args.min_count, max_vocab=args.max_vocab, sample=args.sample,
                  epochs=args.epochs, alpha=args.alpha, min_alpha=args.min_alpha, threads=args.threads,
                  seed=args.seed, ns_exponent=args.ns_exponent, chunk_words=args.chunk_words,
                  shared_negatives=args.shared_negatives)
    from .params import Params
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
                            ("--rare-every", args.rare_every)):
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
    if every is not None:
        Checkpointer.create(ckpt_path, every)     # a bad --checkpoint-every fails here, before reading
    if args.estimate_memory:
        if model is not None:
            p = model.params
        est = estimate_memory(args.corpus, p, args.cache_dir)
        print(est.describe())
        fits = est.available is None or est.needed <= est.available
        print("this run should fit in memory" if fits else
              "this run probably does not fit: use a smaller --dim, --max-vocab N or --cache-dir DIR")
        return 0
    corpus = args.corpus
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
                                          merge=args.merge or "sum", quiet=args.quiet, cache_dir=args.cache_dir,
                                          rare_every=args.rare_every or distributed.RARE_EVERY,
                                          extra=extra, **ckpt_args, **params)
        elif model is not None:
            model.extra = extra
            model.resume(corpus, quiet=args.quiet, cache_dir=args.cache_dir, threads=args.threads, **ckpt_args)
        else:
            model = train(corpus, quiet=args.quiet, cache_dir=args.cache_dir, check_memory=not args.no_memory_check,
                          extra=extra, **ckpt_args, **params)
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
        resume = (f"w2v train {corpus} --resume {ckpt_path}" + (f" --distributed {args.distributed}"
                                                               if args.distributed else "")) if not args.demo else None
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


def _sigterm(signum, frame):
    import os
    import signal
    os.kill(os.getpid(), signal.SIGINT)     # handled exactly as Ctrl-C


def _check_writable(path, option="-o"):
    import os
    what = "output" if option == "-o" else "checkpoint"
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
