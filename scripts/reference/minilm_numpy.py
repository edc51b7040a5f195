#!/usr/bin/env python3
"""Independent NumPy reference for the EnvrunRM encoder and tokenizer (used by Tests/EnvrunRMTests).

Reads a JSON request on stdin:
  {"model_dir": DIR, "texts": [str, ...], "ids": [[int, ...], ...], "max_length": 256}
and writes JSON on stdout:
  {"tokens": [[int, ...], ...],        # this script's own WordPiece ids for `texts`
   "embeddings": [[float, ...], ...]}  # mean-pooled, L2-normalised embeddings of `ids` (float64 math)

The safetensors header is parsed with json + numpy.frombuffer; no torch, no transformers.
"""
import json
import struct
import sys
import unicodedata

import numpy as np


def load_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        b, e = info["data_offsets"]
        out[name] = np.frombuffer(raw[base + b:base + e], dtype="<f4").reshape(info["shape"]).astype(np.float64)
    return out


# ---- a small pure-Python BERT tokenizer (uncased), written from the BERT paper's description ----

def is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def is_cjk(cp):
    return any(a <= cp <= b for a, b in [
        (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
        (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)])


def basic_tokens(text):
    chars = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD:
            continue
        if ch in " \t\n\r" or unicodedata.category(ch) == "Zs":
            chars.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf"):
            continue
        elif is_cjk(cp):
            chars.extend([" ", ch, " "])
        else:
            chars.append(ch)
    text = unicodedata.normalize("NFC", "".join(chars))
    words = []
    for w in text.split(" "):
        if not w:
            continue
        w = unicodedata.normalize("NFD", w.lower())
        w = "".join(c for c in w if unicodedata.category(c) != "Mn")
        cur = ""
        for c in w:
            if is_punct(c):
                if cur:
                    words.append(cur)
                words.append(c)
                cur = ""
            else:
                cur += c
        if cur:
            words.append(cur)
    return words


def wordpiece(words, vocab, unk):
    ids = []
    for w in words:
        if len(w) > 100:
            ids.append(unk)
            continue
        pieces, start, ok = [], 0, True
        while start < len(w):
            end, hit = len(w), None
            while start < end:
                sub = ("##" if start else "") + w[start:end]
                if sub in vocab:
                    hit = vocab[sub]
                    break
                end -= 1
            if hit is None:
                ok = False
                break
            pieces.append(hit)
            start = end
        ids.extend(pieces if ok else [unk])
    return ids


def tokenize(text, vocab, max_length):
    ids = wordpiece(basic_tokens(text), vocab, vocab["[UNK]"])[: max_length - 2]
    return [vocab["[CLS]"]] + ids + [vocab["[SEP]"]]


# ---- the encoder ----

def layer_norm(x, g, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def erf(x):
    from math import erf as merf
    return np.vectorize(merf)(x)


def encode(ids, w, cfg):
    h, heads = cfg["hidden_size"], cfg["num_attention_heads"]
    d, eps = h // heads, cfg["layer_norm_eps"]
    ids = np.asarray(ids)
    n = len(ids)
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n] \
        + w["embeddings.token_type_embeddings.weight"][0]
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    for layer in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{layer}."
        lin = lambda t, name: t @ w[p + name + ".weight"].T + w[p + name + ".bias"]
        q = lin(x, "attention.self.query").reshape(n, heads, d).transpose(1, 0, 2)
        k = lin(x, "attention.self.key").reshape(n, heads, d).transpose(1, 0, 2)
        v = lin(x, "attention.self.value").reshape(n, heads, d).transpose(1, 0, 2)
        s = q @ k.transpose(0, 2, 1) / np.sqrt(d)
        s = np.exp(s - s.max(-1, keepdims=True))
        s /= s.sum(-1, keepdims=True)
        ctx = (s @ v).transpose(1, 0, 2).reshape(n, h)
        x = layer_norm(x + lin(ctx, "attention.output.dense"), w[p + "attention.output.LayerNorm.weight"],
                       w[p + "attention.output.LayerNorm.bias"], eps)
        inter = lin(x, "intermediate.dense")
        inter = 0.5 * inter * (1 + erf(inter / np.sqrt(2)))
        x = layer_norm(x + lin(inter, "output.dense"), w[p + "output.LayerNorm.weight"],
                       w[p + "output.LayerNorm.bias"], eps)
    e = x.mean(0)
    return e / max(np.linalg.norm(e), 1e-12)


def main():
    req = json.load(sys.stdin)
    d = req["model_dir"]
    with open(d + "/vocab.txt", encoding="utf-8") as f:
        vocab = {}
        for i, line in enumerate(f.read().split("\n")):
            vocab.setdefault(line.rstrip("\r"), i)
    with open(d + "/config.json") as f:
        cfg = json.load(f)
    out = {"tokens": [tokenize(t, vocab, req.get("max_length", 256)) for t in req.get("texts", [])]}
    if req.get("ids"):
        w = load_safetensors(d + "/model.safetensors")
        out["embeddings"] = [encode(ids, w, cfg).tolist() for ids in req["ids"]]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
