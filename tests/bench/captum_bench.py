#!/usr/bin/env python3
"""The reference timings for `make bench`: the same model, texts and methods
as `bertlens bench`, run by transformers + Captum on PyTorch's CPU backend.

    captum_bench.py --model www/models/minilm-intent --threads 2 --texts texts.json
    captum_bench.py --model www/models/minilm-intent --threads 2 --rows rows-1000.csv

Prints one JSON object like `bertlens bench`; with --rows, the reference of
`bertlens analyze` over a labelled set instead: every row predicted (batches
of 64, padded, masked mean pooling), then Captum's Saliency of each row's
predicted class, row by row, as a notebook would. The network is the default
model's: BERT (no key prefix) → mean pooling → L2 normalisation → linear
(head.safetensors), exactly as bertlens and the package's pipeline run it.
Integrated Gradients is Captum's LayerIntegratedGradients at the embeddings
block, [CLS] [PAD]… [SEP] baseline, gausslegendre, all steps in one batch.
"""

import argparse
import csv
import json
import resource
import statistics
import time
import warnings
from pathlib import Path

warnings.simplefilter("ignore")

import torch  # noqa: E402
from captum.attr import LayerIntegratedGradients, Saliency  # noqa: E402
from safetensors.torch import load_file  # noqa: E402
from transformers import BertModel, PreTrainedTokenizerFast  # noqa: E402


def timed(runs, fn):
    fn()  # warm-up
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1e3)
    return statistics.median(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True, type=Path)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--texts", type=Path, help="JSON list of texts")
    ap.add_argument("--rows", type=Path, help="a CSV with a text column: time a whole set")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--n-steps", type=int, default=50)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(True)

    bert = BertModel.from_pretrained(args.model, attn_implementation="eager").eval()
    head = load_file(args.model / "head.safetensors")
    w, b = head["classifier.weight"], head["classifier.bias"]
    tok = PreTrainedTokenizerFast(tokenizer_file=str(args.model / "tokenizer.json"))
    pad = tok.convert_tokens_to_ids("[PAD]")

    def logits(ids, embeds=None):
        if embeds is not None:
            out = bert(inputs_embeds=embeds, attention_mask=torch.ones(embeds.shape[:2]))
        else:
            out = bert(input_ids=ids, attention_mask=torch.ones_like(ids))
        pooled = torch.nn.functional.normalize(out.last_hidden_state.mean(1), p=2, dim=1)
        return pooled @ w.T + b

    if args.rows:
        return dataset(args, bert, w, b, tok, logits)
    results = []
    for text in json.loads(args.texts.read_text()):
        enc = tok(text, return_special_tokens_mask=True)
        ids = torch.tensor([enc["input_ids"]])
        with torch.no_grad():
            target = int(logits(ids).argmax(-1))

        def forward():
            with torch.no_grad():
                logits(ids)

        words = bert.embeddings.word_embeddings(ids).detach()

        def saliency():
            Saliency(lambda e: logits(None, e)).attribute(words, target=target, abs=True)

        base = ids.clone()
        for i, s in enumerate(enc["special_tokens_mask"]):
            if not s:
                base[0, i] = pad
        lig = LayerIntegratedGradients(lambda i: logits(i), bert.embeddings)

        def ig():
            lig.attribute(ids, baselines=base, target=target, n_steps=args.n_steps,
                          method="gausslegendre", internal_batch_size=args.n_steps,
                          return_convergence_delta=True)

        results.append(dict(
            tokens=ids.shape[1],
            text=text,
            forward_ms=timed(args.runs, forward),
            saliency_ms=timed(args.runs, saliency),
            ig_ms=timed(args.runs, ig),
            n_steps=args.n_steps,
        ))
    print(json.dumps(dict(
        engine=f"captum {__import__('captum').__version__} + torch {torch.__version__.split('+')[0]}",
        threads=args.threads,
        runs=args.runs,
        peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        results=results,
    )))


def dataset(args, bert, w, b, tok, logits):
    with args.rows.open(newline="") as f:
        texts = [r["text"] for r in csv.DictReader(f)]
    tok.pad_token = "[PAD]"
    t = time.perf_counter()
    predicted = []
    for s in range(0, len(texts), 64):
        enc = tok(texts[s:s + 64], padding=True, return_tensors="pt")
        with torch.no_grad():
            out = bert(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
            mask = enc["attention_mask"].unsqueeze(-1).float()
            pooled = (out.last_hidden_state * mask).sum(1) / mask.sum(1)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            predicted += (pooled @ w.T + b).argmax(-1).tolist()
    predict_s = time.perf_counter() - t
    t = time.perf_counter()
    saliency = Saliency(lambda e: logits(None, e))
    for text, target in zip(texts, predicted):
        ids = torch.tensor([tok(text)["input_ids"]])
        words = bert.embeddings.word_embeddings(ids).detach()
        saliency.attribute(words, target=target, abs=True)
    saliency_s = time.perf_counter() - t
    print(json.dumps(dict(
        engine=f"captum {__import__('captum').__version__} + torch {torch.__version__.split('+')[0]}",
        threads=args.threads,
        rows=len(texts),
        predict_s=predict_s,
        saliency_s=saliency_s,
        rows_per_s=len(texts) / (predict_s + saliency_s),
        peak_rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    )))


if __name__ == "__main__":
    main()
