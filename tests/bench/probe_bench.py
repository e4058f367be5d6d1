#!/usr/bin/env python3
"""The reference timing of `bertlens probe` for `make bench`: the same protocol
(tests/fixtures/gen_probe.py's) run by transformers + scikit-learn on the CPU.

    probe_bench.py --model www/models/minilm-intent --threads 2 --rows rows-1000.csv

Every row's hidden_states (batches of 64, padded, masked mean pooling over every
token, special tokens included), then per layer StandardScaler on the training
rows (every 5th row held out) and LogisticRegression(C=1, tol=1e-7), the
tolerance bertlens stops at, on the labels and on the labels shuffled. Prints
one JSON object: the seconds of the features, of the fits, and in all.
"""

import argparse
import csv
import json
import random
import time
import warnings

warnings.simplefilter("ignore")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from transformers import AutoModel, AutoTokenizer  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rows", required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    with open(args.rows, newline="") as f:
        rows = list(csv.DictReader(f))
    texts = [r["text"] for r in rows]
    labels = np.array([r["label"] for r in rows])
    tok = AutoTokenizer.from_pretrained(args.model)
    model = AutoModel.from_pretrained(args.model).eval()
    started = time.perf_counter()
    feats = []
    for s in range(0, len(texts), 64):
        enc = tok(texts[s:s + 64], return_tensors="pt", padding=True, truncation=True)
        hs = model(**enc, output_hidden_states=True).hidden_states
        m = enc["attention_mask"].unsqueeze(-1).float()
        feats.append(np.stack([((h * m).sum(1) / m.sum(1)).numpy() for h in hs], 1))
    x = np.concatenate(feats).astype(np.float64)
    features = time.perf_counter() - started
    test = np.arange(len(rows)) % 5 == 4
    control = labels.copy()
    random.Random(0).shuffle(control)
    best = 0.0
    for l in range(x.shape[1]):
        for y in (labels, control):
            scaler = StandardScaler().fit(x[~test, l])
            clf = LogisticRegression(C=1.0, tol=1e-7, max_iter=100000)
            clf.fit(scaler.transform(x[~test, l]), y[~test])
            acc = float((clf.predict(scaler.transform(x[test, l])) == y[test]).mean())
            if y is labels:
                best = max(best, acc)
    total = time.perf_counter() - started
    print(json.dumps(dict(threads=args.threads, rows=len(rows), layers=x.shape[1],
                          labels=len(set(labels[~test])), features_seconds=features,
                          fit_seconds=total - features, seconds=total, best_accuracy=best)))


if __name__ == "__main__":
    main()
