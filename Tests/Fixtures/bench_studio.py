#!/usr/bin/env python3
"""How fast `rsynth studio` answers over a gallery of many runs (a benchmark, not a test).

    python3 Tests/Fixtures/bench_studio.py [--runs 100] [--requests 20] [--from RUN_FOLDER]

Copies one finished run folder (default: a 200-sample digits translation, run first with the
release build) --runs times into a temporary runs folder, starts `rsynth studio --port 0` on it,
and times, over --requests requests each, the gallery (`GET /api/runs`), the page (`GET /`) and a
run's page (`GET /files/<run>/index.html`). Prints the medians and the worst, in milliseconds.
"""
import argparse, os, shutil, statistics, subprocess, sys, tempfile, time, urllib.request

from bench_vs_pytorch import cpu_name   # the same machine line as the step benchmark

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--from", dest="source")
    args = ap.parse_args()
    rsynth = os.path.join(ROOT, ".build", "release", "rsynth")
    work = tempfile.mkdtemp(prefix="rsynth-bench-studio-")
    source = args.source
    if not source:
        source = os.path.join(work, "source")
        subprocess.run([rsynth, "run", os.path.join(ROOT, "Examples/digits/translation-robust.yaml"), "--out", source, "--quiet"],
                       check=True, stdout=subprocess.DEVNULL)
    runs = os.path.join(work, "runs")
    os.makedirs(runs)
    for i in range(args.runs):
        shutil.copytree(source, os.path.join(runs, "run-%03d" % i))
    server = subprocess.Popen([rsynth, "studio", "--runs", runs, "--port", "0"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()
        base = next(w for w in line.split() if w.startswith("http://"))
        samples = sum(1 for n in os.listdir(os.path.join(source, "samples")) if n.endswith(".json"))

        def timed(path):
            times = []
            for _ in range(args.requests):
                t = time.perf_counter()
                with urllib.request.urlopen(base + path) as r:
                    body = r.read()
                times.append(1000 * (time.perf_counter() - t))
            return statistics.median(times), max(times), len(body)

        print(f"rsynth studio over {args.runs} runs of {samples} samples each ({cpu_name()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}):\n")
        print("| request | median ms | worst ms | bytes |")
        print("|---|---|---|---|")
        for path in ["api/runs", "", "files/run-000/index.html"]:
            med, worst, size = timed(path)
            print(f"| `GET /{path}` | {med:.1f} | {worst:.1f} | {size} |")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(work)


if __name__ == "__main__":
    sys.exit(main())
