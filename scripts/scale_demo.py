"""`make scale-demo`: bertlens over a labelled set on an existing engine, Ray, in local mode.

Two recipes, as the README shows them; no scheduler of bertlens's own:

1. Ray Data `map_batches`, each batch piped through `bertlens explain --batch - --json`
   (the same call works from Spark's `RDD.pipe`): predictions and attributions, row by row.
2. Shards: N Ray tasks each run `bertlens analyze --shard K/N` (as a Kubernetes indexed Job
   would with `--shard $JOB_COMPLETION_INDEX/N`), then `bertlens merge` combines them; the
   demo checks the merged report equals one run over the whole set, number for number.

    python scripts/scale_demo.py --bin target/release/bertlens --model www/models/minilm-intent \
        --data data/intents-example.csv --out target/scale-demo
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import ray


def explain_batch(batch, bin, model):
    """One Ray Data batch through `bertlens explain --batch -`: a line in, a JSON line out."""
    lines = "\n".join(t.replace("\n", " ") for t in batch["text"]) + "\n"
    out = subprocess.run(
        [bin, "explain", "--model", model, "--method", "saliency", "--batch", "-", "--json"],
        input=lines, capture_output=True, text=True, check=True,
        env={**os.environ, "RAYON_NUM_THREADS": "1"},  # Ray runs one task per core
    ).stdout.splitlines()
    rows = [json.loads(line) for line in out]
    assert len(rows) == len(batch["text"]), (len(rows), len(batch["text"]))
    return {
        "text": list(batch["text"]),
        "label": list(batch["label"]),
        "predicted": [r["predicted_label"] for r in rows],
        "probability": [r["probabilities"][r["predicted"]] for r in rows],
        "top_token": [max(zip(r["attributions"], r["tokens"]))[1] for r in rows],
    }


@ray.remote
def analyze_shard(bin, model, data, out, k, n):
    subprocess.run(
        [bin, "analyze", "--model", model, "--data", data, "--threads", "1",
         "--neighbours", "3", "--shard", f"{k}/{n}", "--out", out],
        check=True, capture_output=True,
    )
    return os.path.join(out, f"report-{k}-of-{n}.json")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/bertlens")
    ap.add_argument("--model", default="www/models/minilm-intent")
    ap.add_argument("--data", default="data/intents-example.csv")
    ap.add_argument("--out", default="target/scale-demo")
    ap.add_argument("--shards", type=int, default=2)
    a = ap.parse_args()
    bin, model, data = (str(Path(p).resolve()) for p in (a.bin, a.model, a.data))
    out = Path(a.out).resolve()
    out.mkdir(parents=True, exist_ok=True)

    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)

    # 1. Ray Data: map_batches pipes each batch through the CLI.
    t = time.time()
    ds = ray.data.read_csv(data).map_batches(
        explain_batch, fn_kwargs={"bin": bin, "model": model}, batch_size=64, batch_format="numpy"
    )
    rows = ds.take_all()
    right = sum(r["label"] == r["predicted"] for r in rows)
    with open(data, newline="") as f:
        n_rows = sum(1 for _ in csv.DictReader(f))
    assert len(rows) == n_rows, (len(rows), n_rows)
    print(f"ray data map_batches: {len(rows)} rows in {time.time() - t:.1f} s, "
          f"accuracy {right / len(rows):.4f}")
    with open(out / "explained.jsonl", "w") as f:
        for r in rows:
            f.write(json.dumps({k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}) + "\n")

    # 2. Shards as Ray tasks, merged by bertlens; then one run over the whole set.
    t = time.time()
    parts = ray.get([analyze_shard.remote(bin, model, data, str(out / "shards"), k, a.shards)
                     for k in range(a.shards)])
    subprocess.run([bin, "merge", *parts, "--out", str(out / "merged")], check=True)
    print(f"{a.shards} shards on ray + bertlens merge: {time.time() - t:.1f} s")
    subprocess.run([bin, "analyze", "--model", model, "--data", data, "--neighbours", "3",
                    "--out", str(out / "whole")], check=True, capture_output=True)
    merged = json.loads((out / "merged" / "report.json").read_text())
    whole = json.loads((out / "whole" / "report.json").read_text())
    if merged != whole:
        diff = [k for k in whole if merged.get(k) != whole[k]]
        sys.exit(f"merged shards differ from one run in: {diff}")
    print(f"merged report == one run (accuracy {whole['accuracy']:.4f}); "
          f"reports in {out}/merged and {out}/whole")
    ray.shutdown()


if __name__ == "__main__":
    main()
