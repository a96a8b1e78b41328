"""Step 3: the student read in numpy (no torch), its word vectors stored small.

    .venv/bin/python tools/complaint_student/reader.py --seed 18 [--bits 8|4|32]

`pack` turns student_<seed>.npz (float32, from `student.py`) into the file a run time would
read: word vectors as int8 (or 4 bits, two a byte) with one float16 scale a word, the
convolutions and output in float16, the word list as text; the whole gzipped. `Reader` reads it
and gives a sentence's probability; `strongest` a text's, as its surest sentence
(`complaint_model.sentences`, as the words' model reads a text). Run as a script it packs the
seed's weights, prints the gzip size and checks itself against torch's readings.
"""

from __future__ import annotations

import argparse
import gzip
import io
import math
from collections.abc import Callable
from pathlib import Path

import common
import numpy as np

from service.signals import complaint_model

WIDTHS = (2, 3, 4)
UNK, MASK_ID = 1, 2


def quantise(vectors: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    if bits == 32:  # not stored small: the check that numpy reads as torch does
        return vectors.astype(np.float32), np.ones(len(vectors), dtype=np.float32)
    top = 2 ** (bits - 1) - 1  # 127 or 7: symmetric, one scale a word
    scale = np.abs(vectors).max(1) / top
    scale[scale == 0] = 1.0
    scale = scale.astype(np.float16)
    q = np.clip(np.round(vectors / scale.astype(np.float32)[:, None]), -top, top).astype(np.int8)
    if bits == 4:
        nibbles = (q + 8).astype(np.uint8)  # 1 … 15
        if nibbles.shape[1] % 2:
            nibbles = np.pad(nibbles, ((0, 0), (0, 1)), constant_values=8)
        q = (nibbles[:, 0::2] << 4 | nibbles[:, 1::2]).astype(np.uint8)
    return q, scale


def dequantise(q: np.ndarray, scale: np.ndarray, bits: int, dim: int) -> np.ndarray:
    if bits == 32:
        return q
    if bits == 4:
        high, low = (q >> 4).astype(np.int8) - 8, (q & 15).astype(np.int8) - 8
        q = np.stack([high, low], axis=2).reshape(q.shape[0], -1)[:, :dim]
    return q.astype(np.float32) * scale.astype(np.float32)[:, None]


def pack(seed: int | str, bits: int) -> Path:
    stored = np.load(common.CACHE / f"student_{seed}.npz")
    q, scale = quantise(stored["embedding_weight"], bits)
    arrays = {
        "q": q,
        "scale": scale,
        "bits": np.array(bits),
        "dim": np.array(stored["embedding_weight"].shape[1]),
    }
    small = np.float32 if bits == 32 else np.float16
    for i in range(len(WIDTHS)):
        arrays[f"w{i}"] = stored[f"convs_{i}_weight"].astype(small)
        arrays[f"b{i}"] = stored[f"convs_{i}_bias"].astype(small)
    arrays["out_w"] = stored["out_weight"].astype(small)
    arrays["out_b"] = stored["out_bias"].astype(small)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    words = "\n".join(str(w) for w in stored["words"]).encode()
    out = common.CACHE / f"student_{seed}_int{bits}.bin.gz"
    with gzip.GzipFile(out, "wb", mtime=0, compresslevel=9) as raw:
        raw.write(len(words).to_bytes(4, "little") + words + buffer.getvalue())
    return out


class Reader:
    def __init__(self, path: Path) -> None:
        with gzip.open(path, "rb") as handle:
            data = handle.read()
        n = int.from_bytes(data[:4], "little")
        words = data[4 : 4 + n].decode().split("\n")
        arrays = np.load(io.BytesIO(data[4 + n :]))
        self.index = {w: i + 3 for i, w in enumerate(words)}
        self.vectors = dequantise(
            arrays["q"], arrays["scale"], int(arrays["bits"]), int(arrays["dim"])
        )
        # Each width's filters as one matrix: (width · channels) × filters.
        self.convs = []
        for i, w in enumerate(WIDTHS):
            weight = arrays[f"w{i}"].astype(np.float32)  # filters × channels × width
            self.convs.append(
                (
                    w,
                    weight.transpose(2, 1, 0).reshape(w * weight.shape[1], -1),
                    arrays[f"b{i}"].astype(np.float32),
                )
            )
        self.out_w = arrays["out_w"].astype(np.float32)[0]
        self.out_b = float(arrays["out_b"][0].astype(np.float32))
        self.lexicon = complaint_model._lexicon()

    def probability(self, sentence: str) -> float:
        words = complaint_model.tokens(sentence)[:128]
        if not any(w not in "!?" for w in words):
            return 0.0
        ids = [self.index.get(w, UNK) for w in words]
        x = np.concatenate(
            [
                self.vectors[ids],
                np.array([[self.lexicon.get(w, 0.0) / 4.0] for w in words], dtype=np.float32),
            ],
            axis=1,
        )
        if len(words) < max(WIDTHS):
            x = np.pad(x, ((0, max(WIDTHS) - len(words)), (0, 0)))
        pooled = []
        for w, weight, bias in self.convs:
            windows = np.lib.stride_tricks.sliding_window_view(x, w, axis=0)  # T' × C × w
            flat = windows.transpose(0, 2, 1).reshape(windows.shape[0], -1)
            pooled.append(np.maximum(flat @ weight + bias, 0.0).max(0))
        z = float(np.concatenate(pooled) @ self.out_w + self.out_b)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def strongest(self, text: str, *, stands_alone: Callable[[str], bool] | None = None) -> float:
        return max(
            (
                self.probability(s)
                for s in complaint_model.sentences(text, stands_alone=stands_alone)
            ),
            default=0.0,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", default="18", help="a seed, or labels_<seed> for --labels-only")
    parser.add_argument("--bits", type=int, default=8)
    args = parser.parse_args()
    path = pack(args.seed, args.bits)
    reader = Reader(path)
    _, validation, _ = common.load_split()
    torch_read = np.load(common.CACHE / f"student_{args.seed}_check.npy")
    ours = np.array([reader.probability(s) for s, _ in validation[:200]])
    print(
        f"{path}: {path.stat().st_size:,} bytes gzip; largest gap to torch {np.abs(ours - torch_read).max():.5f}"
    )


if __name__ == "__main__":
    main()
