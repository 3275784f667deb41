"""Training from a memory-mapped encoded corpus against training from memory, on a corpus of more than
a billion tokens made of copies of one file (symbolic links, so it costs no disk).

    python benchmarks/larger_than_memory.py --corpus ../shared/corpora/wiki17m.txt.gz --copies 60 \\
        --limit 2G --out benchmarks/results/larger-than-memory

Runs `w2v train DIR --model cbow --epochs 1` twice per round, alternating: once with all the memory (the ids
in RAM) and once with --memory-limit (the ids in a memory-mapped file next to the output, which the scan has
just written, so the page cache is warm). Reports training words/s (from w2v's own report), wall time and
peak RSS (the kernel's high-water mark) with the peaks of its anonymous and file-backed parts (sampled every
0.2 s), and writes results.md and results.json.
"""
import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time


def measure(cmd, every=0.2):
    """Run cmd; its wall time, stderr, and the peaks of its resident memory sampled from
    /proc/PID/status: all of it (VmHWM), anonymous (RssAnon: what must stay in RAM) and file-backed
    (RssFile: mapped file pages, which the kernel can drop and read again)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, text=True)
        peaks = {"VmHWM": 0, "RssAnon": 0, "RssFile": 0}
        while proc.poll() is None:
            try:
                with open(f"/proc/{proc.pid}/status") as fh:
                    for line in fh:
                        key = line.split(":")[0]
                        if key in peaks:
                            peaks[key] = max(peaks[key], int(line.split()[1]))
            except (OSError, ValueError):
                pass
            time.sleep(every)
        err.seek(0)
        text = err.read()
    return {"rc": proc.returncode, "err": text, "wall": time.perf_counter() - t0, "peak_kb": peaks["VmHWM"],
            "peak_anon_kb": peaks["RssAnon"], "peak_file_kb": peaks["RssFile"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--copies", type=int, default=60)
    ap.add_argument("--limit", default="2G")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", default="benchmarks/results/larger-than-memory")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="w2v-big-")
    data = os.path.join(work, "corpus")
    os.mkdir(data)
    src = os.path.abspath(args.corpus)
    for i in range(args.copies):
        os.symlink(src, os.path.join(data, f"part{i:03d}{os.path.splitext(src)[1]}"))
    base = [sys.executable, "-m", "w2v", "train", data, "--model", "cbow", "--epochs", "1",
            "--threads", str(args.threads)]
    results = {"in_memory": [], "memory_mapped": []}
    for r in range(args.rounds):
        for kind in ("in_memory", "memory_mapped"):
            out = os.path.join(work, f"{kind}-{r}.w2v")
            cmd = base + ["-o", out] + (["--memory-limit", args.limit] if kind == "memory_mapped" else [])
            info = measure(cmd)
            rates = [float(x.replace(",", "")) for x in re.findall(r"done: loss [\d.]+, ([\d,]+)k words/s", info["err"])]
            tokens = re.search(r"vocabulary: .*?, ([\d,]+) of ([\d,]+) tokens", info["err"])
            entry = {"wall_s": round(info["wall"], 1), "words_per_s": rates[-1] * 1000 if rates else None,
                     "peak_rss_mb": round(info["peak_kb"] / 1024, 1),
                     "peak_anon_mb": round(info["peak_anon_kb"] / 1024, 1),
                     "peak_file_mb": round(info["peak_file_kb"] / 1024, 1),
                     "mapped": "memory-mapped file" in info["err"],
                     "tokens": int(tokens.group(2).replace(",", "")) if tokens else None,
                     "notes": [ln for ln in info["err"].splitlines() if "memory" in ln]}
            results[kind].append(entry)
            print(kind, r, {k: v for k, v in entry.items() if k != "notes"}, flush=True)
            os.unlink(out)
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")),
               platform.processor())
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip()
    os.makedirs(args.out, exist_ok=True)
    summary = {"corpus": f"{args.copies} x {os.path.basename(src)}", "limit": args.limit, "threads": args.threads,
               "cpu": cpu, "commit": commit, "load_before": os.getloadavg(), "runs": results}
    with open(os.path.join(args.out, "results.json"), "w") as fh:
        json.dump(summary, fh, indent=2)
    med = {k: sorted(e["words_per_s"] for e in v)[len(v) // 2] for k, v in results.items()}
    lines = [f"# Training from a memory-mapped encoded corpus ({args.copies} x {os.path.basename(src)})", "",
             f"CBOW, dim 100, 1 epoch, {args.threads} threads; commit {commit}; CPU {cpu}; runs alternated.", "",
             "| run | tokens | training words/s | wall s | peak RSS MB | of it anonymous MB | of it mapped files MB | ids |",
             "|---|---|---|---|---|---|---|---|"]
    for kind, runs in results.items():
        for e in runs:
            lines.append(f"| {kind.replace('_', ' ')} | {e['tokens']:,} | {e['words_per_s']:,.0f} | {e['wall_s']} | "
                         f"{e['peak_rss_mb']:,} | {e['peak_anon_mb']:,} | {e['peak_file_mb']:,} | "
                         f"{'memory-mapped file' if e['mapped'] else 'in memory'} |")
    lines += ["", f"Median training speed from the file: {med['memory_mapped'] / med['in_memory']:.3f} of the "
              f"in-memory speed.", ""]
    with open(os.path.join(args.out, "results.md"), "w") as fh:
        fh.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
