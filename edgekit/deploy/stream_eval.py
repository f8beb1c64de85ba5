"""Keyword spotting as its users measure it: missed keywords (FRR) and false alarms per
hour (FA/h) on long streams. Pure functions; `edgekit.pipeline.run_stream_eval` chains
them with the firmware build and run.

- clip lists: labelled wavs (a `file,label` CSV or a Speech Commands folder), checked
  against the model's labels; `_silence_` clips are the background, `_unknown_` (and any
  other `_` class) are foreground words that must not trigger anything.
- `build_stream`: a seeded stream, foreground clips (keywords and unknown words, every
  one once per epoch, in shuffled order) each followed by a gap of background audio
  (random `_silence_` clips from a random offset, a random length in `StreamSpec.gap_s`);
  keyword onsets known to the sample. With `snr_db`, noise (the background clips, each
  scaled to unit RMS, independently drawn) is added over the whole stream, its level
  set per foreground clip: the clip's RMS over its whole second / the noise RMS = SNR,
  held until the next foreground clip. The layout does not depend on the noise: the same
  seed gives the same clean stream, with and without noise.
- `KwsTwin`: the firmware's detector (ek_kws_decide: averaging, min count, threshold,
  suppression) in NumPy over the per-inference scores the firmware prints when built
  with -DEK_KWS_TRACE; exact on integer scores (the firmware's detections are checked
  against it), and the same logic on float probabilities (a float model's reference).
  A threshold sweep (the DET curve) replays it without running the firmware again.
- `score`: the matching rule of issue 23: a detection is a hit when a not-yet-matched
  keyword clip of the same label began 0-2000 ms earlier; anything else is a false alarm.
"""
from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgekit.audio.wav import write_wav
from edgekit.errors import InputError
from edgekit.runtime_limits import KWS_MAX_MS

RATE = 16000
HIT_WINDOW_MS = (0, 2000)
FA_POINTS = (1.0, 2.0, 5.0)      # FA/h at which the DET curve's FRR is reported
BACKGROUND = "_silence_"          # the label whose clips are background / noise


WAV_PART_SAMPLES = 4 * 3600 * RATE                 # longer streams are written as several wavs, played back to back


# ------------------------------------------------------------------ clip lists

@dataclass(frozen=True)
class Clip:
    path: str
    label: str


def clips_from_csv(path: str) -> list[Clip]:
    """A clip list: CSV with columns `file` and `label` (more columns allowed), paths
    relative to the CSV's folder."""
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such clip list")
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows or not {"file", "label"} <= set(rows[0]):
        raise InputError(f"{path}: a clip list needs a header with columns file,label and at least one row")
    base = os.path.dirname(os.path.abspath(path))
    return [Clip(os.path.join(base, r["file"]), (r["label"] or "").strip()) for r in rows]


def clips_from_dir(d: str) -> list[Clip]:
    """DIR/labels.csv if present, else one subfolder per label (Speech Commands layout)."""
    if not os.path.isdir(d):
        raise InputError(f"{d}: no such directory")
    if os.path.isfile(os.path.join(d, "labels.csv")):
        return clips_from_csv(os.path.join(d, "labels.csv"))
    out = [Clip(str(p), p.parent.name) for p in sorted(Path(d).glob("*/*.wav"))]
    if not out:
        raise InputError(f"{d}: no labels.csv and no <label>/*.wav files")
    return out


def check_clips(clips: list[Clip], labels: list[str], source: str) -> None:
    """Every label is one of the model's; there are keywords and background clips."""
    unknown = sorted({c.label for c in clips} - set(labels))
    if unknown:
        raise InputError(f"{source}: labels not among the model's ({', '.join(labels)}): "
                         f"{', '.join(repr(u) for u in unknown[:5])}{' ...' if len(unknown) > 5 else ''}")
    if not any(c.label == BACKGROUND for c in clips):
        raise InputError(f"{source}: empty background set (no {BACKGROUND} clips to put between the words)")
    if not any(not c.label.startswith("_") for c in clips):
        raise InputError(f"{source}: no keyword clips (every label starts with _)")


def check_length(minutes: float) -> None:
    if not minutes > 0:
        raise InputError("--minutes must be > 0")
    if minutes * 60_000 > KWS_MAX_MS:
        raise InputError(f"a {minutes:g}-minute stream is longer than the firmware's ms counter represents "
                         f"(int32 ms: at most {KWS_MAX_MS // 60_000:,} minutes)")


# ------------------------------------------------------------------ streams

@dataclass(frozen=True)
class StreamSpec:
    minutes: float = 10.0
    seed: int = 0
    snr_db: float | None = None       # None: clean
    gap_s: tuple[float, float] = (1.0, 3.0)   # background after each foreground clip


@dataclass
class Stream:
    audio: np.ndarray                 # int16
    events: list[dict] = field(default_factory=list)   # foreground clips: label, kind, onset_ms, onset, file

    @property
    def duration_ms(self) -> int:
        return len(self.audio) * 1000 // RATE

    def keyword_events(self) -> list[dict]:
        return [e for e in self.events if e["kind"] == "keyword"]


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


def _background(rng: np.random.Generator, pool: list[np.ndarray], n: int) -> np.ndarray:
    """n samples of background: random clips of `pool`, the first from a random offset."""
    out, have = [], 0
    k = int(rng.integers(len(pool)))
    start = int(rng.integers(len(pool[k])))
    while have < n:
        piece = pool[k][start:start + n - have]
        out.append(piece)
        have += len(piece)
        k, start = int(rng.integers(len(pool))), 0
    return np.concatenate(out) if out else np.zeros(0, pool[0].dtype)


def build_stream(foreground: list[tuple[str, str, np.ndarray]], background: list[np.ndarray],
                 spec: StreamSpec, rate: int = RATE) -> Stream:
    """foreground: (label, name, int16 samples) of keyword and unknown-word clips (labels
    starting with '_' are not keywords); background: int16 `_silence_` clips."""
    if not background or not any(len(b) for b in background):
        raise InputError("empty background set: no background audio to put between the words")
    if not foreground:
        raise InputError("no foreground clips to build a stream from")
    background = [b for b in background if len(b)]
    rng = np.random.default_rng(spec.seed)
    total = int(round(spec.minutes * 60 * rate))
    g0, g1 = int(spec.gap_s[0] * rate), int(spec.gap_s[1] * rate)
    out = np.zeros(total, np.int16)
    spans = []                                    # (start, foreground rms) for the noise level
    events: list[dict] = []
    pos = min(total, int(rng.integers(g0, g1 + 1)))
    out[:pos] = _background(rng, background, pos)
    order: list[int] = []
    while True:
        if not order:
            order = list(rng.permutation(len(foreground)))
        label, name, x = foreground[order.pop()]
        if pos + len(x) + g0 > total:
            break
        out[pos:pos + len(x)] = x
        events.append({"label": label, "kind": "unknown" if label.startswith("_") else "keyword",
                       "onset": pos, "onset_ms": pos * 1000 // rate, "file": name})
        spans.append((pos, _rms(x)))
        pos += len(x)
        gap = min(int(rng.integers(g0, g1 + 1)), total - pos)
        out[pos:pos + gap] = _background(rng, background, gap)
        pos += gap
    out[pos:] = _background(rng, background, total - pos)
    if not any(e["kind"] == "keyword" for e in events):
        raise InputError(f"a {spec.minutes:g}-minute stream holds no keyword clip: make it longer")
    if spec.snr_db is not None:
        out = _add_noise(out, spans, background, spec)
    return Stream(out, events)


def _add_noise(clean: np.ndarray, spans: list[tuple[int, float]], background: list[np.ndarray],
               spec: StreamSpec) -> np.ndarray:
    pool = [b.astype(np.float32) / np.float32(_rms(b)) for b in background if _rms(b) > 0]
    if not pool:
        raise InputError("--snr: every background clip is digital silence, no noise to mix in")
    rng = np.random.default_rng([spec.seed, 1])       # independent of the layout
    out = clean.copy()
    bounds = [0] + [s for s, _ in spans[1:]] + [len(clean)]
    levels = [spans[0][1] if spans else 1000.0] + [r for _, r in spans[1:]]
    for (a, b), rms in zip(zip(bounds[:-1], bounds[1:]), levels):
        noise = _background(rng, pool, b - a) * np.float32(rms / 10 ** (spec.snr_db / 20))
        out[a:b] = np.clip(np.round(clean[a:b] + noise), -32768, 32767).astype(np.int16)
    return out


def load_clips(clips: list[Clip]) -> tuple[list[tuple[str, str, np.ndarray]], list[np.ndarray]]:
    """(foreground, background) audio of a clip list (wavs read and checked)."""
    from edgekit.audio import read_wav

    fg, bg = [], []
    for c in clips:
        x = read_wav(c.path, RATE)
        if c.label == BACKGROUND:
            bg.append(x)
        else:
            fg.append((c.label, os.path.basename(os.path.dirname(c.path)) + "/" + os.path.basename(c.path), x))
    return fg, bg


def write_stream(stream: Stream, d: str) -> list[str]:
    """stream.wav (or stream.partNN.wav, each at most WAV_PART_SAMPLES, for the firmware
    to play back to back) and events.csv (the foreground clips: onset, label, file)."""
    n = len(stream.audio)
    parts = [(a, min(n, a + WAV_PART_SAMPLES)) for a in range(0, n, WAV_PART_SAMPLES)]
    paths = [os.path.join(d, "stream.wav" if len(parts) == 1 else f"stream.part{i:02d}.wav")
             for i in range(len(parts))]
    for p, (a, b) in zip(paths, parts):
        write_wav(p, stream.audio[a:b], RATE)
    with open(os.path.join(d, "events.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["onset_sample", "onset_ms", "label", "kind", "file"])
        for e in stream.events:
            w.writerow([e["onset"], e["onset_ms"], e["label"], e["kind"], e["file"]])
    return paths


# ------------------------------------------------------------------ the detector's twin

_SCORES = re.compile(r"^scores (\d+)((?: -?\d+)+)$")


def parse_trace(log: str) -> tuple[np.ndarray, np.ndarray]:
    """(ms (n,), scores (n, classes) int) from a -DEK_KWS_TRACE firmware's output."""
    ms, sc = [], []
    for line in log.splitlines():
        if m := _SCORES.match(line):
            ms.append(int(m.group(1)))
            sc.append([int(v) for v in m.group(2).split()])
    return np.array(ms, np.int64), np.array(sc, np.int64).reshape(len(ms), -1)


def write_scores(path: str, labels: list[str], ms: np.ndarray, scores: np.ndarray) -> None:
    """The traced scores as CSV: ms, then one column per class (output minus its zero
    point, 0..255): enough to replay any detector on this stream."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ms", *labels])
        w.writerows(np.column_stack([ms, scores]).tolist())


def _cdiv(a, b):
    """C's integer division (truncation toward zero), elementwise."""
    a = np.asarray(a, np.int64)
    q = np.abs(a) // b
    return np.where(a < 0, -q, q)


@dataclass(frozen=True)
class Smoothed:
    """Per inference: the top class of the averaged scores, its average per mille, how
    many results the average had."""
    ms: np.ndarray
    best: np.ndarray
    permille: np.ndarray
    count: np.ndarray


def smooth(ms: np.ndarray, scores: np.ndarray, average_ms: int, exact: bool = True,
           history: int = 64) -> Smoothed:
    """ek_kws_decide's averaging: the results of the last `average_ms` (at least the
    newest, at most `history`), summed per class; top class = first maximum. exact:
    integer scores (0..255, /256) with the C rounding; else float probabilities."""
    n = len(ms)
    i = np.arange(n)
    j = np.searchsorted(ms, ms - average_ms, side="right")
    j = np.maximum(np.minimum(j, i), i - (history - 1))
    cs = np.concatenate([np.zeros((1, scores.shape[1]), scores.dtype), np.cumsum(scores, 0)])
    sums = cs[i + 1] - cs[j]
    cnt = i - j + 1
    best = np.argmax(sums, 1)
    top = sums[i, best]
    if exact:
        pm = _cdiv(_cdiv(top * 1000, cnt) + 128, 256)
    else:
        pm = top * 1000.0 / cnt
    return Smoothed(ms, best, pm, cnt)


def detect(s: Smoothed, background: np.ndarray, threshold_permille: float, min_count: int,
           suppress_ms: int) -> list[dict]:
    """ek_kws_decide's decision over a whole trace: top class not background, at least
    min_count results, average >= threshold, no detection in the last suppress_ms."""
    ok = ~background[s.best] & (s.count >= min_count) & (s.permille >= threshold_permille)
    out, last = [], -1_000_000
    for k in np.flatnonzero(ok):
        t = int(s.ms[k])
        if t - last >= suppress_ms:
            last = t
            out.append({"ms": t, "cls": int(s.best[k]), "permille": float(s.permille[k])})
    return out


@dataclass(frozen=True)
class KwsTwin:
    """The firmware's detector over a trace, at any threshold."""
    labels: tuple[str, ...]
    average_ms: int
    min_count: int
    suppress_ms: int

    @classmethod
    def of(cls, labels: list[str], cfg) -> KwsTwin:
        return cls(tuple(labels), cfg.average_ms, cfg.min_count, cfg.suppress_ms)

    def detections(self, s: Smoothed, threshold: float) -> list[dict]:
        bg = np.array([lb.startswith("_") for lb in self.labels])
        thr = round(threshold * 1000)
        return [{"label": self.labels[d["cls"]], "score": round(d["permille"]) / 1000, "ms": d["ms"]}
                for d in detect(s, bg, thr, self.min_count, self.suppress_ms)]


# ------------------------------------------------------------------ scoring

def score(events: list[dict], detections: list[dict], duration_ms: int,
          window_ms: tuple[int, int] = HIT_WINDOW_MS) -> dict:
    """Issue 23's rule: a detection is a hit when a not-yet-matched keyword clip of the
    same label began window_ms[0]..window_ms[1] ms earlier (the earliest such clip is
    taken); anything else is a false alarm. events: {label, onset_ms, kind}; only
    kind == 'keyword' can be hit."""
    kws = sorted((e for e in events if e.get("kind", "keyword") == "keyword"), key=lambda e: e["onset_ms"])
    by_label: dict[str, list[dict]] = {}
    for e in kws:
        by_label.setdefault(e["label"], []).append(e)
    ptr = dict.fromkeys(by_label, 0)
    hit_of: dict[int, int] = {}                   # id(event) -> detection ms
    fas = []
    fg = sorted(events, key=lambda e: e["onset_ms"])
    onsets = [e["onset_ms"] for e in fg]
    for d in sorted(detections, key=lambda d: d["ms"]):
        lst, t = by_label.get(d["label"], []), d["ms"]
        p = ptr.get(d["label"], 0)
        while p < len(lst) and lst[p]["onset_ms"] < t - window_ms[1]:
            p += 1                                # too old for this and every later detection
        if p < len(lst) and lst[p]["onset_ms"] <= t - window_ms[0]:
            hit_of[id(lst[p])] = t
            p += 1
        else:
            k = int(np.searchsorted(onsets, t - window_ms[1], side="left"))
            during = fg[k:int(np.searchsorted(onsets, t, side="right"))]
            fas.append({**d, "near": (f"{during[-1]['label']} at {during[-1]['onset_ms']} ms"
                                      if during else "background")})
        if d["label"] in ptr:
            ptr[d["label"]] = p
    lat = np.array([hit_of[id(e)] - e["onset_ms"] for e in kws if id(e) in hit_of], np.float64)
    per = {}
    for lb, lst in sorted(by_label.items()):
        miss = sum(1 for e in lst if id(e) not in hit_of)
        per[lb] = {"keywords": len(lst), "missed": miss, "frr": miss / len(lst)}
    hours = duration_ms / 3_600_000
    return {
        "keywords": len(kws), "hits": len(hit_of), "missed": len(kws) - len(hit_of),
        "frr": (len(kws) - len(hit_of)) / len(kws) if kws else 0.0,
        "false_alarms": len(fas), "fa_per_hour": len(fas) / hours if hours else 0.0,
        "per_keyword": per,
        "latency_ms": ({"mean": float(lat.mean()), "median": float(np.median(lat)),
                        "p90": float(np.percentile(lat, 90)), "min": float(lat.min()), "max": float(lat.max())}
                       if len(lat) else None),
        "false_alarm_list": fas,
    }


def det_curve(twin: KwsTwin, s: Smoothed, events: list[dict], duration_ms: int,
              thresholds: np.ndarray | None = None) -> list[dict]:
    """(threshold, FRR, FA/h) over a threshold grid (per mille steps of 5 by default)."""
    if thresholds is None:
        thresholds = np.arange(50, 1001, 5) / 1000
    pts = []
    for t in thresholds:
        r = score(events, twin.detections(s, float(t)), duration_ms)
        pts.append({"threshold": round(float(t), 4), "frr": r["frr"], "fa_per_hour": r["fa_per_hour"],
                    "false_alarms": r["false_alarms"]})
    return pts


def frr_at(points: list[dict], fa_per_hour: float) -> dict | None:
    """The DET curve's best operating point with at most fa_per_hour false alarms per hour
    (lowest FRR; the highest threshold among equals)."""
    ok = [p for p in points if p["fa_per_hour"] <= fa_per_hour + 1e-9]
    if not ok:
        return None
    return min(ok, key=lambda p: (p["frr"], -p["threshold"]))


def envelope(points: list[dict]) -> tuple[list[float], list[float]]:
    """The DET curve as operating points: for each FA/h reached, the lowest FRR at or
    below it (what frr_at reads), in increasing FA/h."""
    x, y, best = [], [], 2.0
    for p in sorted(points, key=lambda p: (p["fa_per_hour"], p["frr"])):
        if p["frr"] < best:
            best = p["frr"]
            x.append(p["fa_per_hour"])
            y.append(best)
    return x, y


def plot_det(curves: dict[str, list[dict]], path: str, title: str) -> None:
    """FRR vs FA/h (0-10 per hour), one line per curve, the FA_POINTS marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4), dpi=110)
    for name, pts in curves.items():
        x, y = envelope(pts)
        ax.step(x, [v * 100 for v in y], where="post", label=name)
    for fa in FA_POINTS:
        ax.axvline(fa, color="0.8", lw=0.8, ls="--", zorder=0)
    ax.set_xlim(0, 10)
    ax.set_ylim(0, None)
    ax.set_xlabel("false alarms per hour")
    ax.set_ylabel("false reject rate (%)")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# ------------------------------------------------------------------ one evaluation

def evaluate(labels: list[str], cfg, ms: np.ndarray, scores: np.ndarray, events: list[dict],
             duration_ms: int, exact: bool = True, firmware_detections: list[dict] | None = None) -> dict:
    """Score a trace at cfg.threshold and over the threshold grid. With the firmware's own
    detections, the twin must reproduce them exactly (checked: `twin_identical`)."""
    twin = KwsTwin.of(labels, cfg)
    s = smooth(ms, scores, cfg.average_ms, exact)
    dets = twin.detections(s, cfg.threshold)
    final = dets if firmware_detections is None else firmware_detections
    out = {"detections": final, **score(events, final, duration_ms)}
    if firmware_detections is not None:
        key = lambda ds: [(d["label"], d["ms"], round(d["score"] * 1000)) for d in ds]   # noqa: E731
        out["twin_identical"] = key(dets) == key(firmware_detections)
    pts = det_curve(twin, s, events, duration_ms)
    out["det"] = pts
    out["frr_at"] = {f"{fa:g}": frr_at(pts, fa) for fa in FA_POINTS}
    return out
