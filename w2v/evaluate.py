"""Benchmarks: word analogies (questions-words format), word-pair similarity (WordSim353, SimLex) and sentence
similarity (STS: STS-Benchmark, SICK or plain score/sentence/sentence files).

evaluate_analogies follows word2vec's compute-accuracy protocol: only the `restrict_vocab` most frequent
words (the first rows; trainers store words by descending frequency) are candidates, a question with a
word outside them is skipped, the three question words are never the answer, and matching is
case-insensitive by default. All questions go through one matrix-matrix product per chunk.
"""
import math
import os
import re
from dataclasses import dataclass, field

import numpy as np

from . import geometry
from ._io import describe_os_error
from ._blas import one_thread as one_blas_thread
from .errors import W2VError
from .vectors import KeyedVectors

__all__ = ["evaluate_analogies", "evaluate_word_pairs", "read_analogies", "read_word_pairs", "spearman", "pearson",
           "tokenize", "read_sentence_pairs", "SentencePairs", "STS_LAYOUTS", "evaluate_sentence_pairs",
           "evaluate_sentence_table", "recall_at_k", "reciprocal_rank", "ndcg_at_k", "retrieval_metrics", "read_texts",
           "read_judgements", "evaluate_retrieval", "contingency_table", "nmi", "ari", "evaluate_word_clusters",
           "analogy_outcomes", "pair_similarities", "correlation_pvalue", "betainc_regularized"]


def _read_bytes(path, what):
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise W2VError(describe_os_error(exc, path, f"read the {what} file")) from None


def _read_lines(path, what, encoding="utf-8"):
    path = os.fspath(path)
    data = _read_bytes(path, what)
    try:
        text = data.decode(encoding)
    except LookupError:
        raise W2VError(f"unknown encoding {encoding!r}") from None
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        name = "UTF-8" if encoding == "utf-8" else encoding
        raise W2VError(f"{path}: line {line}: not valid {name}") from None
    return text.splitlines()


def read_analogies(path):
    """Parse a questions-words file into a list of (section name, [(line, a, b, c, d), ...]).

    Sections start with ": name" lines; blank lines and lines starting with "#" are ignored.
    """
    sections = []
    current = None
    for line_no, line in enumerate(_read_lines(path, "analogy"), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith(":"):
            current = (line[1:].strip() or f"section at line {line_no}", [])
            sections.append(current)
            continue
        parts = line.split()
        if len(parts) != 4:
            raise W2VError(f"{path}: line {line_no}: expected 4 words (a b c d) or ': section', "
                           f"got {len(parts)} fields")
        if current is None:
            current = ("(no section)", [])
            sections.append(current)
        current[1].append((line_no, *parts))
    if not any(questions for _, questions in sections):
        raise W2VError(f"{path}: no analogy questions found (expected lines 'a b c d' under ': section' headers)")
    return sections


def _lookup(kv, n_words, case_insensitive):
    """Word -> row among the first `n_words` rows (lower-cased words map to their most frequent form),
    and each row's canonical row (the row of its lower-cased form; the row itself if case-sensitive)."""
    keys = kv.index_to_key[:n_words]
    if not case_insensitive:
        return {w: i for i, w in enumerate(keys)}, np.arange(n_words)
    lookup = {}
    for i, w in enumerate(keys):
        lookup.setdefault(w.lower(), i)
    canon = np.fromiter((lookup[w.lower()] for w in keys), dtype=np.int64, count=n_words)
    return lookup, canon


def _summary(name, correct, answered, total):
    return {
        "name": name, "correct": int(correct), "answered": int(answered), "skipped": int(total - answered),
        "total": int(total), "accuracy": (correct / answered) if answered else None,
    }


def _candidates(kv, restrict_vocab):
    n_cand = len(kv) if restrict_vocab is None else int(restrict_vocab)
    if n_cand < 1:
        raise W2VError(f"restrict_vocab must be a positive integer, got {restrict_vocab!r}")
    return min(n_cand, len(kv))


def analogy_outcomes(kv, sections, restrict_vocab=30000, case_insensitive=True, method="cosadd"):
    """The analogy loop behind evaluate_analogies and w2v.compat's evaluate_word_analogies.

    method: "cosadd" (the nearest word to b - a + c, by cosine) or "cosmul" (3CosMul: the word x with
    the largest cos'(x, b) cos'(x, c) / (cos'(x, a) + 1e-6), cos' = (1 + cos) / 2; Levy and Goldberg).

    `sections` is read_analogies' list. Returns (n_cand, known, correct): the number of candidate
    words, and two boolean arrays over all questions in file order: all four words are among the
    candidates, and the answer (the best candidate that is no question word) is the expected word.
    """
    n_cand = _candidates(kv, restrict_vocab)
    lookup, canon = _lookup(kv, n_cand, case_insensitive)

    # Rows sharing a canonical row are case variants of one word; all are excluded when it is a question word.
    variants = {}
    if case_insensitive:
        order = np.argsort(canon, kind="stable")
        bounds = np.flatnonzero(np.diff(canon[order])) + 1
        for group in np.split(order, bounds):
            if len(group) > 1:
                variants[int(canon[group[0]])] = group

    n_questions = sum(len(questions) for _, questions in sections)
    known = np.zeros(n_questions, dtype=bool)
    rows = []
    q_no = 0
    for _, questions in sections:
        for _, *words in questions:
            if case_insensitive:
                words = [w.lower() for w in words]
            idx = [lookup.get(w) for w in words]
            if None not in idx:
                known[q_no] = True
                rows.append(idx)
            q_no += 1

    correct = np.zeros(n_questions, dtype=bool)
    if rows:
        q = np.array(rows, dtype=np.int64)
        exclude = q[:, :3]
        if variants:
            groups = [[variants.get(int(i), (i,)) for i in row] for row in exclude]
            width = max(sum(len(g) for g in row) for row in groups)
            exclude = np.full((len(q), width), -1, dtype=np.int64)
            for r, row in enumerate(groups):
                flat = np.concatenate([np.asarray(g, dtype=np.int64) for g in row])
                exclude[r, :len(flat)] = flat
        if method == "cosmul":
            best = _cosmul_best(kv, q, exclude, n_cand)
        elif method == "cosadd":
            best, _ = kv.analogy_rows(q[:, 0], q[:, 1], q[:, 2], exclude, topn=1, restrict_vocab=n_cand)
            best = best[:, 0]
        else:
            raise W2VError(f"method must be 'cosadd' or 'cosmul', not {method!r}")
        correct[known] = (best >= 0) & (canon[np.maximum(best, 0)] == canon[q[:, 3]])
    return n_cand, known, correct


def _cosmul_best(kv, q, exclude, n_cand, block=512):
    """3CosMul's answer to each question row (a, b, c, _) of q among the first n_cand rows, the rows in
    `exclude` (-1 pads) left out."""
    normed = kv.get_normed_vectors()
    cand = normed[:n_cand]
    best = np.empty(len(q), dtype=np.int64)
    for s in range(0, len(q), block):
        rows = q[s:s + block]
        a, b, c = ((1.0 + cand @ normed[rows[:, j]].T) / 2.0 for j in range(3))     # (n_cand, questions)
        scores = b * c / (a + 1e-6)
        for r, ex in enumerate(exclude[s:s + block]):
            ex = ex[(ex >= 0) & (ex < n_cand)]
            scores[ex, r] = -np.inf
        best[s:s + len(rows)] = scores.argmax(axis=0)
    return best


def evaluate_analogies(kv, path, restrict_vocab=30000, case_insensitive=True):
    """Analogy accuracy ("a is to b as c is to d": is d the nearest word to b - a + c?).

    Returns a dict: "accuracy" (correct / answered, None if nothing was answered), "correct", "answered",
    "skipped", "total", "semantic" and "syntactic" (sections whose name does not / does start with
    "gram", each with name/correct/answered/skipped/total/accuracy), "sections" (the same per section,
    in file order), "restrict_vocab", "case_insensitive".

    With case_insensitive=True, questions and vocabulary are lower-cased and a lower-cased word stands
    for its most frequent form; every case variant of a question word is excluded from the answer and a
    case variant of the expected word counts as correct.
    """
    sections = read_analogies(path)
    n_cand, known, correct = analogy_outcomes(kv, sections, restrict_vocab, case_insensitive)
    result_sections = []
    totals = {"semantic": [0, 0, 0], "syntactic": [0, 0, 0]}
    lo = 0
    for name, questions in sections:
        hi = lo + len(questions)
        c, a = int(correct[lo:hi].sum()), int(known[lo:hi].sum())
        result_sections.append(_summary(name, c, a, len(questions)))
        kind = totals["syntactic" if name.startswith("gram") else "semantic"]
        kind[0] += c
        kind[1] += a
        kind[2] += len(questions)
        lo = hi
    out = _summary("total", int(correct.sum()), int(known.sum()), len(known))
    del out["name"]
    out["semantic"] = _summary("semantic", *totals["semantic"])
    out["syntactic"] = _summary("syntactic", *totals["syntactic"])
    out["sections"] = result_sections
    out["restrict_vocab"] = n_cand
    out["case_insensitive"] = bool(case_insensitive)
    return out


# ---------------------------------------------------------------------------------------------
# word pairs
# ---------------------------------------------------------------------------------------------

def read_word_pairs(path, score_column=2, delimiter=None, encoding="utf-8"):
    """Parse a word-pair file into a list of (word1, word2, score).

    Fields are separated by `delimiter` if given, else by tabs when the line has a tab, else by
    whitespace; word1 and word2 are the first two fields and the score is field `score_column`
    (0-based, default 2: "w1 w2 score"). Lines starting with "#" and blank lines are ignored, and so
    is a first line whose score is not a number (a column header).
    """
    pairs = []
    seen_data = False
    for line_no, line in enumerate(_read_lines(path, "word-pair", encoding), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if delimiter is not None:
            fields = [f.strip() for f in stripped.split(delimiter)]
        else:
            fields = [f.strip() for f in stripped.split("\t")] if "\t" in stripped else stripped.split()
        if len(fields) <= max(2, score_column):
            raise W2VError(f"{path}: line {line_no}: expected 'word1 word2 score', got {len(fields)} fields")
        try:
            score = float(fields[score_column])
            if not math.isfinite(score):
                raise ValueError
        except ValueError:
            if not seen_data:
                seen_data = True  # a header line
                continue
            raise W2VError(f"{path}: line {line_no}: score {fields[score_column]!r} is not a number") from None
        seen_data = True
        pairs.append((fields[0], fields[1], score))
    if not pairs:
        raise W2VError(f"{path}: no word pairs found (expected lines 'word1 word2 score')")
    return pairs


def _rank(x):
    """Ranks 1..n, ties given their average rank."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    sorted_x = x[order]
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1], True])
    avg = (starts[:-1] + starts[1:] - 1) / 2.0 + 1.0
    ranks = np.empty(len(x), dtype=np.float64)
    ranks[order] = np.repeat(avg, np.diff(starts))
    return ranks


def pearson(x, y):
    """Pearson correlation; None when undefined (fewer than two points or a constant input)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if len(x) < 2:
        return None
    dx, dy = x - x.mean(), y - y.mean()
    denom = math.sqrt(float(dx @ dx) * float(dy @ dy))
    if denom == 0:
        return None
    return float(np.clip((dx @ dy) / denom, -1.0, 1.0))


def spearman(x, y):
    """Spearman rank correlation (Pearson on average ranks, so ties are handled); None when undefined."""
    if len(x) < 2:
        return None
    return pearson(_rank(x), _rank(y))


def pair_similarities(kv, pairs, restrict_vocab=None, case_insensitive=True):
    """Cosine similarity of each (word1, word2, score) pair, NaN where a word is not among the first
    `restrict_vocab` words (all by default). With case_insensitive=True a word matches the most
    frequent vocabulary word equal to it lower-cased. Behind evaluate_word_pairs and w2v.compat's."""
    n_words = len(kv) if restrict_vocab is None else min(len(kv), int(restrict_vocab))
    lookup, _ = _lookup(kv, n_words, case_insensitive)
    i1, i2, where = [], [], []
    for k, (w1, w2, _) in enumerate(pairs):
        if case_insensitive:
            w1, w2 = w1.lower(), w2.lower()
        a, b = lookup.get(w1), lookup.get(w2)
        if a is not None and b is not None:
            i1.append(a)
            i2.append(b)
            where.append(k)
    sims = np.full(len(pairs), np.nan)
    if i1:
        normed = kv.get_normed_vectors()
        sims[where] = np.einsum("ij,ij->i", normed[i1], normed[i2])
    return sims


def evaluate_word_pairs(kv, path, case_insensitive=True, restrict_vocab=None, score_column=2):
    """Correlation between human similarity scores and cosine similarity, over pairs with both words known.

    Returns a dict: "spearman", "pearson" (None if fewer than two known pairs), "pairs" (in the file),
    "known" (pairs scored), "oov" (pairs with an unknown word) and "oov_ratio" (oov / pairs).
    With case_insensitive=True a word matches the most frequent vocabulary word equal to it lower-cased.
    `restrict_vocab` limits the vocabulary to the first N words.
    """
    pairs = read_word_pairs(path, score_column)
    sims = pair_similarities(kv, pairs, restrict_vocab, case_insensitive)
    known = ~np.isnan(sims)
    human = np.array([score for _, _, score in pairs])[known]
    model = sims[known]
    oov = len(pairs) - int(known.sum())
    return {
        "spearman": spearman(human, model),
        "pearson": pearson(human, model),
        "pairs": len(pairs),
        "known": int(known.sum()),
        "oov": oov,
        "oov_ratio": oov / len(pairs),
    }


# ---------------------------------------------------------------------------------------------
# sentence pairs (STS)
# ---------------------------------------------------------------------------------------------

_NOT_LETTER_OR_DIGIT = re.compile(r"[\W_]+")  # \w is str.isalnum() plus "_"


def tokenize(sentence, lowercase=True):
    """The default tokeniser of the sentence evaluations, matching how the corpora were prepared:
    lower-case (unless lowercase=False), every character that is not a letter or digit (str.isalnum,
    any script) becomes a space, split on the spaces.

    "There's a U.S.-based Wi-Fi café!" -> ["there", "s", "a", "u", "s", "based", "wi", "fi", "café"].
    To tokenise differently, pass any callable str -> list of str as ``tokenizer=``.
    """
    if lowercase:
        sentence = sentence.lower()
    return _NOT_LETTER_OR_DIGIT.sub(" ", sentence).split()


# layout -> (score column, sentence 1 column, sentence 2 column), 0-based, tab-separated; extra columns ignored
STS_LAYOUTS = {
    "stsb": (4, 5, 6),   # STS-Benchmark: genre, file, year, id, score, sentence 1, sentence 2
    "sick": (3, 1, 2),   # SICK (SemEval 2014): pair_ID, sentence_A, sentence_B, relatedness_score
    "plain": (0, 1, 2),  # score, sentence 1, sentence 2
}
_HEADER_NAMES = (
    {"score", "gold", "gold_score", "relatedness_score", "similarity", "similarity_score", "sim"},
    {"sentence1", "sentence_1", "sentence 1", "sentence_a", "sent1", "s1", "text1", "text_a"},
    {"sentence2", "sentence_2", "sentence 2", "sentence_b", "sent2", "s2", "text2", "text_b"},
)


@dataclass
class SentencePairs:
    """Sentence pairs read from a file.

    scores, first, second, lines: gold score, the two sentences and the line number of each pair.
    layout: the layout used ("stsb", "sick", "plain", or "header" when the columns came from a header's names),
    columns: (score, sentence 1, sentence 2) column indices, header: whether the first line was a header,
    malformed: line numbers of the lines that did not parse (blank lines and "#" comments are not counted).
    """
    scores: list = field(default_factory=list)
    first: list = field(default_factory=list)
    second: list = field(default_factory=list)
    lines: list = field(default_factory=list)
    layout: str = ""
    columns: tuple = ()
    header: bool = False
    malformed: list = field(default_factory=list)


def _parse_pair(fields, columns):
    """(score, sentence 1, sentence 2) from a line's fields, or None if they do not fit the columns."""
    score_col, c1, c2 = columns
    if len(fields) <= max(columns):
        return None
    try:
        score = float(fields[score_col])
    except ValueError:
        return None
    s1, s2 = fields[c1].strip(), fields[c2].strip()
    if not math.isfinite(score) or not s1 or not s2:
        return None
    return score, s1, s2


def _header_columns(fields):
    names = [f.strip().lower() for f in fields]
    found = []
    for wanted in _HEADER_NAMES:
        hits = [i for i, name in enumerate(names) if name in wanted]
        if not hits:
            return None
        found.append(hits[0])
    return tuple(found)


def read_sentence_pairs(path, layout="auto"):
    """Read scored sentence pairs from a tab-separated file (UTF-8).

    Layouts (STS_LAYOUTS): "stsb" (genre, file, year, id, score, sentence 1, sentence 2: STS-Benchmark),
    "sick" (pair_ID, sentence_A, sentence_B, relatedness_score: SICK) and "plain" (score, sentence 1,
    sentence 2); columns after those are ignored. layout="auto" takes the columns from a header line that
    names them (e.g. "sentence1", "sentence_A", "score", "relatedness_score"), else the layout under which
    most lines parse (ties: stsb, sick, plain; "sick" also needs a numeric pair ID). A first line whose score
    is not a number is a header. Blank lines and lines starting with "#" are skipped. A line that does not
    parse (too few columns, a score that is not a finite number, an empty sentence, invalid UTF-8) is
    counted in ``malformed``; W2VError only when no line parses.
    """
    path = os.fspath(path)
    if layout != "auto" and layout not in STS_LAYOUTS:
        raise W2VError(f"unknown sentence-pair layout {layout!r}; use auto, {', '.join(STS_LAYOUTS)}")
    rows = []           # (line number, fields) of the lines with content
    undecodable = []
    for line_no, raw in enumerate(_read_bytes(path, "sentence-pair").split(b"\n"), 1):
        try:
            line = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            undecodable.append(line_no)
            continue
        if line_no == 1:
            line = line.lstrip("\ufeff")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        rows.append((line_no, line.split("\t")))
    out = SentencePairs()
    columns = None
    if rows:
        if layout == "auto":
            columns = _header_columns(rows[0][1])
            if columns is not None:  # a header naming the columns (marked as a header below: its score is a name)
                out.layout = next((name for name, cols in STS_LAYOUTS.items() if cols == columns), "header")
            else:
                def parsed(name):
                    cols = STS_LAYOUTS[name]
                    return sum(1 for _, f in rows if _parse_pair(f, cols) is not None
                               and (name != "sick" or f[0].strip().isdigit()))
                counts = {name: parsed(name) for name in STS_LAYOUTS}
                out.layout = max(STS_LAYOUTS, key=lambda name: counts[name])  # first of the best: the tie order
        else:
            out.layout = layout
        columns = out.columns = columns or STS_LAYOUTS[out.layout]
        fields = rows[0][1]
        if len(fields) > max(columns) and _parse_pair(fields, columns) is None:
            try:
                float(fields[columns[0]])
            except ValueError:
                out.header = True   # a score column that is not a number: a header line
    malformed = list(undecodable)
    for line_no, fields in rows[1:] if out.header else rows:
        pair = _parse_pair(fields, columns)
        if pair is None:
            malformed.append(line_no)
            continue
        out.lines.append(line_no)
        out.scores.append(pair[0])
        out.first.append(pair[1])
        out.second.append(pair[2])
    out.malformed = sorted(malformed)
    if not out.scores:
        raise W2VError(f"{path}: no sentence pairs found ({len(out.malformed)} malformed lines); expected "
                       "tab-separated lines 'score<TAB>sentence 1<TAB>sentence 2', STS-Benchmark's layout "
                       "(genre, file, year, id, score, sentence 1, sentence 2) or SICK's")
    return out


POST_PROCESSING = {
    None: "none",
    "words": "whitening fitted on the word vectors",
    "sentences": "whitening fitted on the pooled sentence vectors",
    "abtt": "all-but-the-top on the word vectors",
}
POOLING = ("mean", "tfidf", "sif")


def _check_choice(value, choices, what):
    if value not in choices:
        raise W2VError(f"unknown {what} {value!r}; use one of: {', '.join(str(c) for c in choices)}")


def evaluate_sentence_table(kv, path, methods=POOLING, whitenings=tuple(POST_PROCESSING), tokenizer=None,
                            layout="auto", whiten_dims=None, abtt_components=None, sif_a=1e-3):
    with one_blas_thread():     # many small BLAS calls: see w2v._blas
        return _sentence_table(kv, path, methods, whitenings, tokenizer, layout, whiten_dims, abtt_components,
                               sif_a)


def _sentence_table(kv, path, methods=POOLING, whitenings=tuple(POST_PROCESSING), tokenizer=None,
                    layout="auto", whiten_dims=None, abtt_components=None, sif_a=1e-3):
    """Sentence similarity (STS) for several poolings x post-processings, reading the file once.

    For each pair, the cosine of the two pooled sentence vectors is compared with the gold score
    (Spearman and Pearson), over the pairs whose two sentences both have a known word.

    methods: poolings of geometry.sentence_vectors ("mean", "tfidf", "sif"). SIF's word probabilities
    come from the vectors' counts, else from Zipf's law over the row order (geometry.word_probabilities);
    tf-idf's idf from the counts (geometry.idf_from_counts), else from the file's sentences as documents.
    SIF's common component is fitted on all the file's sentences.
    whitenings: post-processings, any of None (none), "words" (whitening fitted on the word vectors,
    keeping `whiten_dims` dimensions if given), "sentences" (whitening fitted on the pooled vectors of the
    scored sentences, `whiten_dims` likewise), "abtt" (all-but-the-top on the word vectors: the mean and
    `abtt_components` top principal directions removed, default dim / 100).
    tokenizer: str -> list of tokens (default: tokenize). layout: see read_sentence_pairs.

    Returns a dict: "pairs" (parsed), "scored", "no_known_word" (pairs with a sentence without a known
    word: not scored), "tokens", "unknown_tokens", "oov_token_share", "malformed" (count),
    "malformed_lines" (the first 10), "layout", "header", "probabilities" ("counts" or "zipf"), "idf"
    ("counts" or "sentences"), "word_anisotropy" (of the vectors of the words the file uses), the options
    "sif_a", "whiten_dims" and "abtt_components" (the number of directions removed), and "rows": one dict per
    (method, whitening) with "method", "whiten", "spearman", "pearson", "anisotropy_before" and
    "anisotropy_after" (mean cosine between the scored sentences' vectors without and with the
    post-processing), "word_anisotropy_after" (of the file's words, for "words" and "abtt", else None).
    Whitening and all-but-the-top are fitted on all the word vectors, weighing every word alike.
    """
    if tokenizer is None:
        tokenizer = tokenize
    encoder = _SentenceEncoder(kv, methods, whitenings, whiten_dims, abtt_components, sif_a)
    pairs = read_sentence_pairs(path, layout)
    n = len(pairs.scores)
    encoder.encode([list(tokenizer(s)) for s in pairs.first + pairs.second])
    scored = (encoder.known[:n] > 0) & (encoder.known[n:] > 0)
    if scored.sum() < 2:
        raise W2VError(f"{path}: only {int(scored.sum())} of {n} sentence pairs have a known word in both "
                       "sentences; check that the vectors and the file are in the same language and case")
    gold = np.asarray(pairs.scores, dtype=np.float64)[scored]
    m = len(gold)
    rows = []
    for method in methods:
        for whiten in whitenings:
            before, v = encoder.vectors(method, whiten, np.concatenate([scored, scored]))
            unit = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-300)
            cosines = np.einsum("ij,ij->i", unit[:m], unit[m:])
            rows.append({
                "method": method, "whiten": whiten,
                "spearman": spearman(gold, cosines), "pearson": pearson(gold, cosines),
                "anisotropy_before": geometry.anisotropy(before), "anisotropy_after": geometry.anisotropy(v),
                "word_anisotropy_after": encoder.word_anisotropy.get(whiten) if whiten in ("words", "abtt") else None,
            })
    return {
        "pairs": n, "scored": int(scored.sum()), "no_known_word": int(n - scored.sum()),
        **encoder.token_counts(),
        "malformed": len(pairs.malformed), "malformed_lines": pairs.malformed[:10],
        "layout": pairs.layout, "header": pairs.header, **encoder.settings(), "rows": rows,
    }


class _SentenceEncoder:
    """Pooled and post-processed vectors of one list of tokenised sentences, each variant computed once.

    Word probabilities, idf and the word-vector transforms come from the whole vocabulary; pooling reads
    only the rows of the words the sentences use.
    """

    def __init__(self, kv, methods, whitenings, whiten_dims=None, abtt_components=None, sif_a=1e-3):
        for method in methods:
            _check_choice(method, POOLING, "pooling method")
        for whiten in whitenings:
            _check_choice(whiten, tuple(POST_PROCESSING), "post-processing")
        self.kv, self.methods, self.whitenings = kv, tuple(methods), tuple(whitenings)
        self.whiten_dims, self.abtt_components, self.sif_a = whiten_dims, abtt_components, sif_a

    def encode(self, sentences):
        kv, k2i = self.kv, self.kv.key_to_index
        self.sentences = sentences
        self.known = np.array([sum(1 for t in tokens if t in k2i) for tokens in sentences], dtype=np.int64)
        used = np.array(sorted({k2i[t] for tokens in sentences for t in tokens if t in k2i}), dtype=np.int64)
        file_kv = KeyedVectors([kv.index_to_key[i] for i in used], kv.vectors[used])
        probabilities, self.p_source = geometry.word_probabilities(kv, fallback="zipf")
        idf, self.idf_source = None, None
        if "tfidf" in self.methods:
            if self.p_source == "counts":
                idf, self.idf_source = geometry.idf_from_counts(kv)[used], "counts"
            else:
                idf, self.idf_source = geometry.idf_from_documents(file_kv, sentences), "sentences"
        self.options = {"mean": {}, "tfidf": {"idf": idf},
                        "sif": {"a": self.sif_a, "probabilities": probabilities[used]}}
        self.word_kv = {None: file_kv}
        if "words" in self.whitenings:
            fitted = geometry.whitening_transform(kv, k=self.whiten_dims)
            self.word_kv["words"] = geometry.whiten(file_kv, transform=fitted)
        if "abtt" in self.whitenings:
            fitted = geometry.all_but_the_top_transform(kv, self.abtt_components)
            self.abtt_components = len(fitted[1])
            self.word_kv["abtt"] = geometry.all_but_the_top(file_kv, transform=fitted)
        self.word_anisotropy = {w: geometry.anisotropy(v) for w, v in self.word_kv.items()} if len(used) > 1 else {}
        self.pooled = {}

    def _pool(self, method, words):
        if (method, words) not in self.pooled:
            v = geometry.sentence_vectors(self.word_kv[words], self.sentences, method, **self.options[method]).vectors
            self.pooled[method, words] = np.asarray(v, dtype=np.float64)
        return self.pooled[method, words]

    def vectors(self, method, whiten, rows):
        """(before, after): the pooled vectors of the sentences selected by `rows` without and with the
        post-processing; whitening of sentences is fitted on those sentences."""
        before = self._pool(method, None)[rows]
        v = self._pool(method, whiten if whiten in ("words", "abtt") else None)[rows]
        if whiten == "sentences":
            mu, w = geometry.whitening_transform(v, k=self.whiten_dims)
            v = (v - mu) @ w
        return before, v

    def token_counts(self):
        tokens = sum(len(t) for t in self.sentences)
        unknown = int(tokens - self.known.sum())
        return {"tokens": tokens, "unknown_tokens": unknown, "oov_token_share": unknown / tokens if tokens else None}

    def settings(self):
        return {"probabilities": self.p_source, "idf": self.idf_source,
                "word_anisotropy": self.word_anisotropy.get(None), "sif_a": self.sif_a,
                "whiten_dims": self.whiten_dims, "abtt_components": self.abtt_components}


def evaluate_sentence_pairs(kv, path, method="mean", whiten=None, tokenizer=None, layout="auto",
                            whiten_dims=None, abtt_components=None, sif_a=1e-3):
    """Sentence similarity (STS): Spearman and Pearson correlation between the gold scores of a file's
    sentence pairs and the cosines of their pooled sentence vectors.

    method: "mean", "tfidf" or "sif" pooling; whiten: None, "words", "sentences" or "abtt" (see
    evaluate_sentence_table, which computes several at once, for these and the other options).
    Returns the dict of evaluate_sentence_table with its single row's entries in place of "rows":
    "spearman", "pearson", "pairs", "scored", "no_known_word", "oov_token_share", "malformed", ...,
    "anisotropy_before", "anisotropy_after" (sentence vectors), "word_anisotropy", "word_anisotropy_after".
    """
    result = evaluate_sentence_table(kv, path, (method,), (whiten,), tokenizer, layout, whiten_dims,
                                     abtt_components, sif_a)
    result.update(result.pop("rows")[0])
    return result


# ---------------------------------------------------------------------------------------------
# retrieval: Recall@k, MRR, nDCG@k
# ---------------------------------------------------------------------------------------------

def _relevant(relevance):
    return {doc for doc, grade in relevance.items() if grade > 0}


def recall_at_k(ranking, relevance, k):
    """Share of a query's relevant documents (grade > 0 in `relevance`, a dict doc -> grade) among the first
    k of `ranking` (document ids, best first); None when the query has no relevant document. With one
    relevant document per query this is the hit rate ("top-k accuracy")."""
    relevant = _relevant(relevance)
    if not relevant:
        return None
    return len(relevant.intersection(ranking[:k])) / len(relevant)


def reciprocal_rank(ranking, relevance):
    """1 / the rank (1-based) of the first relevant document in `ranking`, 0 if none is ranked; None when
    the query has no relevant document. Its mean over the queries is the MRR."""
    relevant = _relevant(relevance)
    if not relevant:
        return None
    for rank, doc in enumerate(ranking, 1):
        if doc in relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at_k(ranking, relevance, k):
    """DCG@k / ideal DCG@k with linear gains: DCG@k = sum over ranks i = 1..k of grade_i / log2(i + 1) (the
    form of trec_eval and scikit-learn's ndcg_score); unjudged documents have grade 0 and the ideal ranking
    orders all the query's judged documents by grade. None when the query has no relevant document."""
    if not _relevant(relevance):
        return None
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    gains = np.array([relevance.get(doc, 0.0) for doc in ranking[:k]], dtype=np.float64)
    ideal = np.sort(np.fromiter(relevance.values(), dtype=np.float64))[::-1][:k]
    return float(gains @ discount[:len(gains)] / (ideal @ discount[:len(ideal)]))


def retrieval_metrics(rankings, judgements, ks=(1, 5, 10)):
    """Mean Recall@k, MRR and nDCG@k over the queries that have a relevant document.

    rankings: query id -> document ids, best first. judgements: query id -> {document id: grade}; grade 0
    means judged not relevant. Returns {"queries": n evaluated, "without_relevant": judged queries with no
    relevant document (not averaged), "mrr", "recall@k" and "ndcg@k" for each k}; None values when n is 0.
    """
    ks = [_check_k(k) for k in ks]
    per_query = [(rankings.get(q, ()), rel) for q, rel in judgements.items() if _relevant(rel)]
    out = {"queries": len(per_query), "without_relevant": len(judgements) - len(per_query)}

    def mean(values):
        return float(np.mean(values)) if values else None
    out["mrr"] = mean([reciprocal_rank(list(r), rel) for r, rel in per_query])
    for k in ks:
        out[f"recall@{k}"] = mean([recall_at_k(list(r), rel, k) for r, rel in per_query])
    for k in ks:
        out[f"ndcg@{k}"] = mean([ndcg_at_k(list(r), rel, k) for r, rel in per_query])
    return out


def _check_k(k):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise W2VError(f"k must be a positive integer, got {k!r}")
    return int(k)


def _fields(line):
    return [f.strip() for f in line.split("\t")] if "\t" in line else line.split()


def read_texts(path):
    """Read 'id<TAB>text' lines (queries or documents) into a dict id -> text, in file order.

    Blank lines and lines starting with "#" are skipped; a line without a tab or a repeated id is an error.
    """
    texts = {}
    for line_no, line in enumerate(_read_lines(path, "text"), 1):
        if not line.strip() or line.startswith("#"):
            continue
        if "\t" not in line:
            raise W2VError(f"{path}: line {line_no}: expected 'id<TAB>text'")
        key, text = line.split("\t", 1)
        key = key.strip()
        if key in texts:
            raise W2VError(f"{path}: line {line_no}: id {key!r} appears twice")
        texts[key] = text
    if not texts:
        raise W2VError(f"{path}: no texts found (expected 'id<TAB>text' lines)")
    return texts


def read_judgements(path):
    """Read relevance judgements into a dict query id -> {document id: grade}.

    One judgement per line: 'query_id document_id grade' (tab- or space-separated), or the 4 columns of
    TREC qrels 'query_id iteration document_id grade' (the iteration is ignored). The grade is a number
    >= 0: 0 judged not relevant, higher more relevant (binary judgements use 1). Blank lines and lines
    starting with "#" are skipped; anything else that does not parse, or a pair judged twice, is an error.
    """
    judgements = {}
    for line_no, line in enumerate(_read_lines(path, "relevance-judgement"), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = _fields(line.strip())
        if len(fields) not in (3, 4):
            raise W2VError(f"{path}: line {line_no}: expected 'query_id document_id grade' "
                           f"(or TREC's 'query_id 0 document_id grade'), got {len(fields)} fields")
        query, doc, grade = fields[0], fields[-2], fields[-1]
        try:
            grade = float(grade)
            if not math.isfinite(grade) or grade < 0:
                raise ValueError
        except ValueError:
            raise W2VError(f"{path}: line {line_no}: grade {fields[-1]!r} is not a number >= 0") from None
        if doc in judgements.setdefault(query, {}):
            raise W2VError(f"{path}: line {line_no}: query {query!r} and document {doc!r} are judged twice")
        judgements[query][doc] = grade
    if not judgements:
        raise W2VError(f"{path}: no relevance judgements found (expected 'query_id document_id grade' lines)")
    return judgements


def evaluate_retrieval(kv, queries, documents, judgements, method="mean", whiten=None, ks=(1, 5, 10),
                       tokenizer=None, whiten_dims=None, abtt_components=None, sif_a=1e-3):
    """Rank all documents for each query by the cosine of pooled sentence vectors; Recall@k, MRR, nDCG@k.

    queries, documents: 'id<TAB>text' files (read_texts) or dicts id -> text; judgements: a file
    (read_judgements) or a dict query id -> {document id: grade}. method, whiten and the options are those
    of evaluate_sentence_table; SIF's common component and whitening of sentences are fitted on the queries
    and documents together. Documents with equal cosines keep file order; a query or document without a known
    word gets a zero vector (cosine 0 with everything). Returns retrieval_metrics' dict plus "documents",
    "unknown_tokens", "oov_token_share", "no_known_word" (queries and documents without a known word).
    """
    ks = [_check_k(k) for k in ks]
    queries = queries if isinstance(queries, dict) else read_texts(queries)
    documents = documents if isinstance(documents, dict) else read_texts(documents)
    judgements = judgements if isinstance(judgements, dict) else read_judgements(judgements)
    for query, rel in judgements.items():
        if query not in queries:
            raise W2VError(f"query {query!r} has relevance judgements but is not among the queries")
        missing = [doc for doc in rel if doc not in documents]
        if missing:
            raise W2VError(f"query {query!r} is judged against document {missing[0]!r}, which is not among "
                           "the documents")
    if tokenizer is None:
        tokenizer = tokenize
    encoder = _SentenceEncoder(kv, (method,), (whiten,), whiten_dims, abtt_components, sif_a)
    query_ids, doc_ids = list(queries), list(documents)
    encoder.encode([list(tokenizer(queries[q])) for q in query_ids] + [list(tokenizer(documents[d])) for d in doc_ids])
    has_word = encoder.known > 0
    if has_word.sum() < 2:
        raise W2VError("fewer than two queries and documents have a known word; check that the vectors and "
                       "the texts are in the same language and case")
    _, v = encoder.vectors(method, whiten, has_word)
    full = np.zeros((len(has_word), v.shape[1]))
    full[has_word] = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-300)
    q_vecs, d_vecs = full[:len(query_ids)], full[len(query_ids):]
    position = {q: i for i, q in enumerate(query_ids)}
    judged = list(judgements)
    rankings = {}
    for start in range(0, len(judged), 256):  # a block of queries at a time bounds the memory
        block = judged[start:start + 256]
        order = np.argsort(-(q_vecs[[position[q] for q in block]] @ d_vecs.T), axis=1, kind="stable")
        rankings.update((q, [doc_ids[j] for j in row]) for q, row in zip(block, order))
    out = retrieval_metrics(rankings, judgements, ks)
    out.update(documents=len(doc_ids), no_known_word=int((~has_word).sum()), **encoder.token_counts())
    return out


# ---------------------------------------------------------------------------------------------
# clustering: NMI, ARI
# ---------------------------------------------------------------------------------------------

def contingency_table(labels_true, labels_pred):
    """Counts n_ij of items with true class i and predicted cluster j (classes and clusters in sorted order)."""
    a = np.asarray(labels_true)
    b = np.asarray(labels_pred)
    if a.ndim != 1 or a.shape != b.shape:
        raise W2VError(f"labels must be two 1-D sequences of the same length, got shapes {a.shape} and {b.shape}")
    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    na, nb = (int(ia.max()) + 1, int(ib.max()) + 1) if len(a) else (0, 0)
    return np.bincount(ia.ravel() * nb + ib.ravel(), minlength=na * nb).reshape(na, nb)


def _entropy(counts):
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def nmi(labels_true, labels_pred):
    """Normalised mutual information I(U; V) / ((H(U) + H(V)) / 2) (the arithmetic normalisation, scikit-learn's
    default), between 0 (independent) and 1 (the same partition). Two single-cluster labellings give 1."""
    table = contingency_table(labels_true, labels_pred)
    n = table.sum()
    rows, cols = table.sum(axis=1), table.sum(axis=0)
    i, j = np.nonzero(table)
    nij = table[i, j].astype(np.float64)
    mi = float((nij / n * np.log(nij * n / (rows[i].astype(np.float64) * cols[j]))).sum())
    h = (_entropy(rows) + _entropy(cols)) / 2
    return float(np.clip(mi / h, 0.0, 1.0)) if h > 0 else 1.0   # h = 0: both are a single cluster


def ari(labels_true, labels_pred):
    """Adjusted Rand index (Hubert and Arabie 1985): 1 for the same partition, about 0 for a random one
    (it can be negative). From the contingency table n_ij with row sums a_i and column sums b_j:
    (sum C(n_ij, 2) - E) / ((sum C(a_i, 2) + sum C(b_j, 2)) / 2 - E), E = sum C(a_i, 2) sum C(b_j, 2) / C(n, 2)."""
    table = contingency_table(labels_true, labels_pred).astype(np.float64)
    n = table.sum()
    if n < 2:
        return 1.0

    def pairs(x):
        return float((x * (x - 1) / 2).sum())
    index = pairs(table)
    a, b = pairs(table.sum(axis=1)), pairs(table.sum(axis=0))
    expected = a * b / (n * (n - 1) / 2)
    maximum = (a + b) / 2
    if maximum == expected:  # only when both are one cluster or both all singletons: the same partition
        return 1.0
    return float((index - expected) / (maximum - expected))


def evaluate_word_clusters(kv, path, k=None, restrict_vocab=30000, case_insensitive=True, seed=0):
    """Cluster the words of an analogy file (questions-words format) by k-means on their unit vectors and
    compare the clusters with the file's sections: NMI and ARI.

    Each word of a question belongs to its section; words found in more than one section are left out (and
    counted), as are words outside the `restrict_vocab` most frequent. k defaults to the number of sections
    with words. Returns {"nmi", "ari", "words", "ambiguous", "unknown", "sections", "k"}.
    """
    sections = read_analogies(path)
    n_words = len(kv) if restrict_vocab is None else min(len(kv), int(restrict_vocab))
    lookup, _ = _lookup(kv, n_words, case_insensitive)
    section_of = {}
    ambiguous = set()
    unknown = set()
    for s, (_, questions) in enumerate(sections):
        for _, *words in questions:
            for word in words:
                word = word.lower() if case_insensitive else word
                row = lookup.get(word)
                if row is None:
                    unknown.add(word)
                elif section_of.setdefault(row, s) != s:
                    ambiguous.add(row)
    rows = [r for r in section_of if r not in ambiguous]
    labels = np.array([section_of[r] for r in rows])
    n_sections = len(set(labels.tolist()))
    k = n_sections if k is None else int(k)
    if len(rows) < 2 or not 1 <= k <= len(rows):
        raise W2VError(f"{path}: {len(rows)} words in a single section are known; too few to cluster into {k}")
    x = kv.get_normed_vectors()[np.array(rows)]
    clusters = geometry.kmeans(x, k, seed=seed)
    return {"nmi": nmi(labels, clusters), "ari": ari(labels, clusters), "words": len(rows),
            "ambiguous": len(ambiguous), "unknown": len(unknown), "sections": n_sections, "k": k}


# ---------------------------------------------------------------------------------------------
# significance of a correlation
# ---------------------------------------------------------------------------------------------

def correlation_pvalue(r, n):
    """Two-sided p-value of a Pearson (or Spearman) correlation `r` over `n` pairs, from the t test
    with n - 2 degrees of freedom, as scipy.stats.pearsonr and spearmanr compute it.

    With t = r * sqrt((n - 2) / (1 - r^2)), P(|T| >= |t|) = I_x(df / 2, 1 / 2) with x = df / (df + t^2)
    = 1 - r^2 (I the regularised incomplete beta function). NaN when r is undefined or n < 3.
    """
    if r is None or not math.isfinite(r) or n < 3:
        return math.nan
    return betainc_regularized((n - 2) / 2.0, 0.5, max(0.0, 1.0 - r * r))


def betainc_regularized(a, b, x):
    """I_x(a, b), the regularised incomplete beta function: scipy.special.betainc when scipy is
    installed, else the continued fraction of Numerical Recipes (3rd ed., section 6.4; modified
    Lentz's method), accurate to about 1e-14 for the a, b of correlation tests."""
    try:
        from scipy.special import betainc
    except ImportError:
        return _betainc_cf(a, b, x)
    return float(betainc(a, b, x))


def _betainc_cf(a, b, x):
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    # x^a (1-x)^b / (a B(a, b)) times the continued fraction; use the symmetry
    # I_x(a, b) = 1 - I_{1-x}(b, a) where the fraction converges slowly.
    log_front = a * math.log(x) + b * math.log1p(-x) + math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_fraction(b, a, 1.0 - x) / b


def _beta_fraction(a, b, x, eps=1e-15, max_terms=100000):
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, max_terms):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))  # even step
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))  # odd step
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            return h
    raise W2VError(f"the incomplete beta function did not converge (a={a}, b={b}, x={x})")


evaluate_sentence_table.__doc__ = _sentence_table.__doc__
