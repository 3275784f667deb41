"""A gensim user's training script, run twice: as written (gensim) and with only its import changed to
``from w2v.compat import Word2Vec, KeyedVectors``. Prints the training time and the analogy score of each.

    python benchmarks/gensim_script.py --corpus ../shared/corpora/wiki17m.txt.gz \\
        --analogies ../shared/eval/questions-words.txt [--sg 1] [--threads 2] [--epochs 1] [--repeats 1]

The corpus is read as gensim users read it: a restartable iterable class that opens the (gzip) text file
and yields each line split on whitespace. Both sides get the same class and the same settings (dim 100,
window 5, negative 5, min_count 5, sample 1e-3, alpha 0.025, gensim's defaults), in a process of their own,
alternating when --repeats > 1. Timed: the constructor call ``Word2Vec(sentences=..., ...)``, which builds the
vocabulary and trains (gensim iterates the corpus epochs + 1 times, w2v once). Analogy: questions-words
through ``evaluate_word_analogies(restrict_vocab=30000)`` (percent correct of the questions answered),
which on both sides is each library's own evaluation. Needs w2v's corpus seam (w2v.train reading Python
sentences); run it on an otherwise idle machine.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

SCRIPT = r'''
import gzip, json, sys, time
from gensim.models import Word2Vec, KeyedVectors

corpus_path, analogies, sg, threads, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])


class Sentences:
    """One sentence per line of a (gzip) text file; restartable: every iteration opens the file anew."""

    def __init__(self, path):
        self.path = path

    def __iter__(self):
        opener = gzip.open if self.path.endswith(".gz") else open
        with opener(self.path, "rt", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                yield line.split()


t0 = time.perf_counter()
model = Word2Vec(sentences=Sentences(corpus_path), vector_size=100, window=5, min_count=5, sample=1e-3,
                 negative=5, sg=sg, workers=threads, epochs=epochs, alpha=0.025, seed=1)
seconds = time.perf_counter() - t0
score, sections = model.wv.evaluate_word_analogies(analogies, restrict_vocab=30000)
answered = len(sections[-1]["correct"]) + len(sections[-1]["incorrect"])
print(json.dumps({"seconds": seconds, "analogy": 100.0 * score, "answered": answered, "vocab": len(model.wv),
                  "corpus_count": model.corpus_count}))
'''

W2V_IMPORT = "from w2v.compat import Word2Vec, KeyedVectors"


def script_for(lib):
    return SCRIPT if lib == "gensim" else SCRIPT.replace("from gensim.models import Word2Vec, KeyedVectors",
                                                         W2V_IMPORT)


def run_once(lib, args, tmp):
    path = os.path.join(tmp, f"script_{lib}.py")
    with open(path, "w") as fh:
        fh.write(script_for(lib))
    done = subprocess.run([sys.executable, path, args.corpus, args.analogies, str(args.sg), str(args.threads),
                           str(args.epochs)], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{lib} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--analogies", required=True)
    parser.add_argument("--sg", type=int, default=1, choices=[0, 1])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    results = {"gensim": [], "w2v": []}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeats):
            for lib in (("gensim", "w2v") if r % 2 == 0 else ("w2v", "gensim")):
                res = run_once(lib, args, tmp)
                results[lib].append(res)
                print(f"{lib:6s} run {r + 1}: {res['seconds']:7.1f} s, analogy {res['analogy']:5.2f} % "
                      f"({res['answered']} answered), vocabulary {res['vocab']:,}, {res['corpus_count']:,} sentences",
                      flush=True)
    med = {lib: sorted(x["seconds"] for x in rs)[len(rs) // 2] for lib, rs in results.items()}
    ana = {lib: sorted(x["analogy"] for x in rs)[len(rs) // 2] for lib, rs in results.items()}
    print(f"\nmodel {'sg' if args.sg else 'cbow'}, {args.threads} threads, {args.epochs} epoch(s), medians of "
          f"{args.repeats}: gensim {med['gensim']:.1f} s, w2v.compat {med['w2v']:.1f} s "
          f"({med['gensim'] / med['w2v']:.2f}x); analogy gensim {ana['gensim']:.2f} %, w2v.compat {ana['w2v']:.2f} % "
          f"({ana['w2v'] - ana['gensim']:+.2f} points)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
