"""A PyTorch keyword spotter on librosa log-mel features, as a user brings one: a small
DS-CNN with BatchNorm trained for a few seconds on the dev wavs' librosa features (labels
from the file names' folders), exported with torch.export (.pt2), with the
<model>.features.toml that describes its front end (logmel kind, per-bin mean/std from
the same features)."""
from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np

from edgekit.audio import read_wav
from edgekit.audio.features import FeatureSpec, logmel_spec, spec_to_toml
from tests.conftest import asset

# 30 ms window in a 512-point FFT, 20 ms hop, 40 Slaney mel bins, power_to_db (49 x 40)
BASE = logmel_spec()


def dev_set() -> tuple[list[str], list[int], list[str]]:
    """The 480 dev wavs, each one's class (its folder's name) and the sorted class names."""
    lab = asset("speech_commands_dev/labels.csv")
    files = [r["file"] for r in csv.DictReader(open(lab))]
    classes = [f.split("/")[0] for f in files]
    names = sorted(set(classes))
    return [str(lab.parent / f) for f in files], [names.index(c) for c in classes], names


def librosa_features(wavs: list[str], spec: FeatureSpec) -> np.ndarray:
    """(N, frames, channels) float32: a user's librosa pipeline (float32 samples / 32768,
    melspectrogram with center=False, power_to_db or a log, then the per-bin mean/std)."""
    import librosa

    out = []
    for w in wavs:
        y = np.zeros(spec.clip, np.float32)
        x = read_wav(w)[:spec.clip]
        y[:len(x)] = x / np.float32(32768)
        s = librosa.feature.melspectrogram(
            y=y, sr=spec.sample_rate, n_fft=spec.fft, hop_length=spec.hop, win_length=spec.window,
            window="hann", center=False, power=2.0 if spec.magnitude_squared else 1.0, n_mels=spec.channels,
            fmin=spec.lower_hz, fmax=spec.upper_hz, htk=spec.mel_scale == "htk",
            norm="slaney" if spec.mel_norm == "slaney" else None)
        if spec.log == "db10":
            f = librosa.power_to_db(s, ref=1.0, amin=spec.log_floor, top_db=None)
        else:
            assert spec.log == "ln"
            f = np.log(np.maximum(s + spec.log_offset, spec.log_floor))
        out.append(f.T)
    f = np.stack(out).astype(np.float32)
    if spec.normalize == "per-bin":
        f = (f - np.float32(spec.mean)) / np.float32(spec.std)
    return f


def normalized_spec(wavs: list[str], spec: FeatureSpec = BASE) -> FeatureSpec:
    """spec with per-bin mean/std measured on the wavs' features (as a training script would)."""
    f = librosa_features(wavs, spec)
    return dataclasses.replace(spec, normalize="per-bin", mean=tuple(float(v) for v in f.mean((0, 1))),
                               std=tuple(float(v) for v in f.std((0, 1)))).validate()


def make_model(n_classes: int, c: int = 32):
    import torch
    from torch import nn

    def bn(ch):
        return nn.BatchNorm2d(ch, eps=1e-3)

    def block():
        return [nn.Conv2d(c, c, 3, padding=1, groups=c), bn(c), nn.ReLU(), nn.Conv2d(c, c, 1), bn(c), nn.ReLU()]

    class KwsLogmel(nn.Sequential):
        def forward(self, x):
            return torch.softmax(super().forward(x), dim=1)

    return KwsLogmel(nn.Conv2d(1, c, (10, 4), stride=2, padding=(4, 1)), bn(c), nn.ReLU(), *block(), *block(),
                     nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, n_classes))


def train(x: np.ndarray, labels: list[int], n_classes: int, epochs: int = 60, seed: int = 0):
    """A few seconds of Adam on (N, frames, channels) features; returns the eval-mode model."""
    import torch

    torch.manual_seed(seed)
    m = make_model(n_classes)
    xt, yt = torch.from_numpy(x[:, None]), torch.tensor(labels)
    opt = torch.optim.Adam(m.parameters(), 3e-3)
    g = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        m.train()
        for idx in torch.randperm(len(xt), generator=g).split(32):
            logits = torch.log(m(xt[idx]) + 1e-9)
            loss = torch.nn.functional.nll_loss(logits, yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return m.eval()


def build_pt2(d: Path, seed: int = 0) -> tuple[Path, FeatureSpec, list[str], object]:
    """d/kws_logmel.pt2, .features.toml and .labels.txt; returns (pt2, spec, class names, model)."""
    import torch

    wavs, labels, names = dev_set()
    spec = normalized_spec(wavs)
    m = train(librosa_features(wavs, spec), labels, len(names), seed=seed)
    pt2 = d / "kws_logmel.pt2"
    torch.export.save(torch.export.export(m, (torch.zeros(1, 1, *spec.shape),)), str(pt2))
    (d / "kws_logmel.features.toml").write_text(spec_to_toml(spec))
    (d / "kws_logmel.labels.txt").write_text("\n".join(names) + "\n")
    return pt2, spec, names, m


def torch_labels(model, wavs: list[str], spec: FeatureSpec) -> np.ndarray:
    """The torch model's argmax on librosa's features of each wav."""
    import torch

    with torch.no_grad():
        return model(torch.from_numpy(librosa_features(wavs, spec)[:, None])).argmax(1).numpy()
