"""FeatureSpec: which audio front end a model was trained on, as data.

A spec comes from, in order: `--features FILE`, `<model>.features.toml` beside the model,
or the default (the `mfcc` front end of the shipped kws_ref_model). Kinds:

- `mfcc`: tf.signal MFCC (edgekit/audio/mfcc.py), float features quantized with the
  model's own input scale; firmware front end available.
- `tf1-mfcc`: TF's AudioSpectrogram + Mfcc ops, the front end ARM ML-KWS-for-MCU frozen
  graphs carry (edgekit/audio/tf1_mfcc.py: samples / 32768, no normalisation, TF's own
  mel filter bank, ln with a 1e-12 floor, DCT); read from a `.pb`'s graph by
  edgekit/importers/tf1.py; float features quantized with the model's input scale;
  firmware front end available (-DEK_FE_TF1, float, at 16 kHz).
- `microfrontend`: TFLM micro_speech's integer front end (edgekit/audio/microfrontend.py:
  filter bank, noise reduction, PCAN, log; int8 output, the model's input as is);
  firmware front end available (edgekit/firmware/frontend, -DEK_FE_MICRO, bit-exact).
- `logmel`: log-mel filter-bank energies as librosa computes them (edgekit/audio/logmel.py:
  samples / 32768, STFT with center=False (the window zero-padded to `fft`, frames of `fft`
  samples), power or magnitude, HTK or Slaney mel filters with or without Slaney's area
  norm, ln / log10 / 10 log10 / 20 log10 of max(x + log_offset, log_floor), optional per-bin
  mean/std normalisation); PyTorch models trained on librosa features; float features
  quantized with the model's input scale; firmware front end available (-DEK_FE_LOGMEL,
  float, at 16 kHz; soft float on a core without FPU).

Every impossible value is refused with one line naming the field (FeatureSpecError).
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass

from edgekit.errors import InputError

KINDS = ("mfcc", "microfrontend", "tf1-mfcc", "logmel")
FIRMWARE_KINDS = ("mfcc", "microfrontend", "tf1-mfcc", "logmel")   # the kinds `edgekit deploy` has a C front end for


class FeatureSpecError(InputError):
    """A features file or spec that cannot describe a front end."""


@dataclass(frozen=True)
class FeatureSpec:
    kind: str = "mfcc"
    sample_rate: int = 16000
    clip_ms: int = 1000
    window_ms: float = 30.0
    hop_ms: float = 20.0
    fft: int = 512
    channels: int = 40                 # mel bins (mfcc) or filter-bank channels
    lower_hz: float = 20.0
    upper_hz: float = 4000.0
    coefficients: int = 10             # mfcc, tf1-mfcc: DCT outputs kept; microfrontend: unused
    output_dtype: str = "int8"
    magnitude_squared: bool = True     # tf1-mfcc: AudioSpectrogram's; logmel: power (librosa power=2) or |X|
    # logmel only (librosa.feature.melspectrogram with center=False, then a log)
    window_fn: str = "hann"            # "hann" (periodic: librosa's and torch's) or "hann-symmetric"
    mel_scale: str = "slaney"          # "slaney" (librosa's default) or "htk"
    mel_norm: str = "slaney"           # "slaney" (each filter's area 1: librosa's default) or "none"
    log: str = "db10"                  # "ln", "log10", "db10" (10 log10: power_to_db), "db20" (20 log10)
    log_offset: float = 0.0            # log(x + log_offset) ...
    log_floor: float = 1e-10           # ... and max(., log_floor) (power_to_db's amin; top_db must be None)
    center: bool = False               # librosa / torchaudio center=True pads the clip: not streamable
    normalize: str = "none"            # "none" or "per-bin": (x - mean[bin]) / std[bin]
    mean: tuple = ()                   # per-bin, `channels` values (normalize = "per-bin")
    std: tuple = ()
    # microfrontend only (defaults: TFLM micro_speech)
    window_bits: int = 12              # Hann window in Q12
    noise_smoothing_bits: int = 10
    noise_even_smoothing: float = 0.025
    noise_odd_smoothing: float = 0.06
    noise_min_signal_remaining: float = 0.05
    pcan_strength: float = 0.95
    pcan_offset: float = 80.0
    pcan_gain_bits: int = 21
    log_scale_bits: int = 6

    # ---------------------------------------------------------------- derived sizes
    @property
    def window(self) -> int:
        return round(self.sample_rate * self.window_ms / 1000)

    @property
    def hop(self) -> int:
        return round(self.sample_rate * self.hop_ms / 1000)

    @property
    def clip(self) -> int:
        return round(self.sample_rate * self.clip_ms / 1000)

    @property
    def frame_length(self) -> int:
        """Samples per frame: librosa's STFT frames are `fft` long (the window zero-padded in
        the middle); the other kinds' are the window."""
        return self.fft if self.kind == "logmel" else self.window

    @property
    def frames(self) -> int:
        return 1 + (self.clip - self.frame_length) // self.hop

    @property
    def features_per_frame(self) -> int:
        return self.channels if self.kind in ("microfrontend", "logmel") else self.coefficients

    @property
    def shape(self) -> tuple[int, int]:
        return (self.frames, self.features_per_frame)

    def as_mfcc(self):
        """An mfcc-kind spec as the MfccSpec the NumPy twins and the C tables are built from."""
        from edgekit.audio.mfcc import MfccSpec

        return MfccSpec(rate=self.sample_rate, clip=self.clip, frame=self.window, hop=self.hop, fft=self.fft,
                        mels=self.channels, fmin=self.lower_hz, fmax=self.upper_hz, coeffs=self.coefficients)

    def firmware_gap(self) -> str | None:
        """Why the firmware cannot compute these features, or None. The microfrontend's and
        tf1-mfcc's C take their constants from the spec (at the firmware's 16 kHz); the MFCC
        C is built for the sample's MFCC (MfccSpec()) only, so any other mfcc spec would get
        that one's features."""
        if self.kind not in FIRMWARE_KINDS:
            return f"the {self.kind} front end has no C implementation yet (only its NumPy twin)"
        if self.kind in ("tf1-mfcc", "logmel") and self.sample_rate != 16000:
            return (f"the firmware's audio is 16 kHz; this {self.kind} spec is at {self.sample_rate} Hz "
                    "(its window, stride and filter bank would be wrong)")
        if self.kind == "mfcc":
            from edgekit.audio.mfcc import MfccSpec

            got, want = dataclasses.asdict(self.as_mfcc()), dataclasses.asdict(MfccSpec())
            diff = [f"{k} {got[k]:g} (firmware: {want[k]:g})" for k in want if got[k] != want[k]]
            if diff:
                return f"the C MFCC front end computes the sample's MFCC only; this spec differs in {', '.join(diff)}"
        return None

    @property
    def firmware_ready(self) -> bool:
        return self.firmware_gap() is None

    # ---------------------------------------------------------------- microfrontend integers
    # (the preprocessor's fixed-point parameters, derived as TFLM's op builders derive them)
    FILTERBANK_BITS = 12
    SPECTRAL_SUBTRACTION_BITS = 14

    @property
    def window_shift(self) -> int:
        return self.window_bits

    @property
    def nr_smoothing_bits(self) -> int:
        return self.noise_smoothing_bits

    @property
    def nr_bits(self) -> int:
        return self.SPECTRAL_SUBTRACTION_BITS

    def _q14(self, v: float) -> int:
        return int(v * (1 << self.SPECTRAL_SUBTRACTION_BITS))

    @property
    def nr_smoothing_q(self) -> int:
        return self._q14(self.noise_even_smoothing)

    @property
    def nr_alternate_smoothing_q(self) -> int:
        return self._q14(self.noise_odd_smoothing)

    @property
    def nr_min_signal_remaining_q(self) -> int:
        return self._q14(self.noise_min_signal_remaining)

    @property
    def log_correction_bits(self) -> int:
        return self.fft.bit_length() - 1 - self.FILTERBANK_BITS // 2

    @property
    def pcan_snr_shift(self) -> int:
        from edgekit.audio.microfrontend import PCAN_SNR_BITS
        return self.pcan_gain_bits - self.log_correction_bits - PCAN_SNR_BITS

    @property
    def log_scale(self) -> int:
        return 1 << self.log_scale_bits

    @property
    def energy_bins(self) -> tuple[int, int]:
        """[start, end) of the FFT bins the filter bank reads (set by the band edges)."""
        from edgekit.audio.microfrontend import filter_bank_layout
        return filter_bank_layout(self)[0]

    # ---------------------------------------------------------------- checks
    def validate(self) -> "FeatureSpec":
        def bad(msg: str):
            raise FeatureSpecError(f"features: {msg}")
        if self.kind not in KINDS:
            bad(f"unknown kind '{self.kind}' (known: {', '.join(KINDS)})")
        for f in ("sample_rate", "clip_ms", "window_ms", "hop_ms", "fft", "channels", "coefficients"):
            if not getattr(self, f) > 0:
                bad(f"{f} = {getattr(self, f)} must be positive")
        if self.hop_ms > self.window_ms:
            bad(f"hop_ms {self.hop_ms} > window_ms {self.window_ms}: frames would skip audio")
        if self.frame_length > self.clip:
            bad(f"{'fft' if self.kind == 'logmel' else 'window_ms'} {self.frame_length if self.kind == 'logmel' else self.window_ms} "
                f"is longer than the clip ({self.clip_ms} ms)")
        if self.fft & (self.fft - 1):
            bad(f"fft = {self.fft} must be a power of two")
        if self.fft < self.window:
            bad(f"fft = {self.fft} is shorter than the window ({self.window} samples)")
        nyq = self.sample_rate / 2
        if not 0 <= self.lower_hz < self.upper_hz:
            bad(f"lower_hz {self.lower_hz} must be >= 0 and below upper_hz {self.upper_hz}")
        if self.upper_hz > nyq:
            bad(f"upper_hz {self.upper_hz} is above Nyquist ({nyq:g} Hz at {self.sample_rate} Hz)")
        if self.kind == "tf1-mfcc" and self.fft != _next_pow2(self.window):
            bad(f"fft = {self.fft}: TF's AudioSpectrogram uses the next power of two of the window "
                f"({_next_pow2(self.window)} for {self.window} samples)")
        if self.kind in ("mfcc", "tf1-mfcc") and self.coefficients > self.channels:
            bad(f"coefficients {self.coefficients} > channels {self.channels} (a DCT of "
                f"{self.channels} mel bins has {self.channels} outputs)")
        if self.kind == "logmel":
            self._validate_logmel(bad)
        if self.output_dtype not in ("int8", "float32"):
            bad(f"output_dtype '{self.output_dtype}' (int8 or float32)")
        if self.kind == "microfrontend":
            if self.output_dtype != "int8":
                bad("the microfrontend kind outputs int8 only")
            for f in ("noise_even_smoothing", "noise_odd_smoothing", "noise_min_signal_remaining"):
                if not 0 <= getattr(self, f) <= 1:
                    bad(f"{f} = {getattr(self, f)} must be in [0, 1]")
            if not 0 < self.pcan_strength <= 1 or self.pcan_offset <= 0:
                bad(f"pcan_strength {self.pcan_strength} must be in (0, 1], pcan_offset > 0")
            if self.pcan_snr_shift < 0:
                bad(f"pcan_gain_bits {self.pcan_gain_bits} too small for fft {self.fft}")
        return self

    def _validate_logmel(self, bad) -> None:
        choices = {"window_fn": ("hann", "hann-symmetric"), "mel_scale": ("slaney", "htk"),
                   "mel_norm": ("slaney", "none"), "log": ("ln", "log10", "db10", "db20"),
                   "normalize": ("none", "per-bin")}
        for f, ok in choices.items():
            if getattr(self, f) not in ok:
                bad(f"{f} = '{getattr(self, f)}' (one of: {', '.join(ok)})")
        if self.center:
            bad("center = true (librosa's and torchaudio's default) pads each clip by fft/2 on both sides, "
                "which a streaming front end cannot do: train with center=False")
        bins = self.fft // 2 + 1
        if self.channels > bins:
            bad(f"channels {self.channels} > the {bins} FFT bins of fft {self.fft}")
        if self.log_offset < 0 or self.log_floor < 0 or not (self.log_offset > 0 or self.log_floor > 0):
            bad(f"log_offset {self.log_offset} and log_floor {self.log_floor} must be >= 0 and one of them "
                "> 0 (else silence gives log 0)")
        if self.normalize == "per-bin":
            if len(self.mean) != self.channels or len(self.std) != self.channels:
                bad(f"normalize = 'per-bin' needs mean and std of {self.channels} values each "
                    f"(got {len(self.mean)} and {len(self.std)})")
            if not all(s > 0 for s in self.std):
                bad("every std must be > 0")
        elif self.mean or self.std:
            bad("mean / std given but normalize = 'none'")
        from edgekit.audio.logmel import empty_channels
        empty = empty_channels(self)
        if empty:
            bad(f"mel channel(s) {', '.join(map(str, empty[:5]))} cover no FFT bin ({self.channels} channels "
                f"{self.lower_hz:g}-{self.upper_hz:g} Hz over fft {self.fft}): fewer channels or a larger fft")

    def describe(self) -> dict:
        d = dataclasses.asdict(self)
        if self.kind in ("mfcc", "tf1-mfcc"):
            d = {k: v for k, v in d.items() if k in _COMMON or (self.kind == "tf1-mfcc" and k == "magnitude_squared")}
        elif self.kind == "logmel":
            d = {k: v for k, v in d.items() if (k in _COMMON and k != "coefficients") or k in _LOGMEL}
        d["frames"], d["window_samples"], d["hop_samples"] = self.frames, self.window, self.hop
        d["firmware_front_end"] = "available" if self.firmware_ready else "not built yet"
        return d


_COMMON = ("kind", "sample_rate", "clip_ms", "window_ms", "hop_ms", "fft", "channels",
           "lower_hz", "upper_hz", "coefficients", "output_dtype")


_LOGMEL = ("magnitude_squared", "window_fn", "mel_scale", "mel_norm", "log", "log_offset", "log_floor",
           "center", "normalize", "mean", "std")


def mfcc_default() -> FeatureSpec:
    """The spec of the shipped model (edgekit/audio/mfcc.py MfccSpec)."""
    return FeatureSpec()


def micro_speech() -> FeatureSpec:
    """TFLM micro_speech's front end."""
    return FeatureSpec(kind="microfrontend", lower_hz=125.0, upper_hz=7500.0)


def _next_pow2(n: int) -> int:
    return 1 << max(0, int(n) - 1).bit_length()


def tf1_mfcc_spec(**kw) -> FeatureSpec:
    """A tf1-mfcc spec; defaults: ML-KWS-for-MCU's DS-CNN (40 ms window, 20 ms stride, the
    Mfcc op's 40 channels 20-4000 Hz, 10 coefficients); fft follows the window (TF's)."""
    base = dict(kind="tf1-mfcc", window_ms=40.0, hop_ms=20.0, channels=40, lower_hz=20.0, upper_hz=4000.0,
                coefficients=10)
    base.update(kw)
    if "fft" not in kw:
        s = FeatureSpec(**base)
        base["fft"] = _next_pow2(s.window) if s.window > 0 else s.fft
    return FeatureSpec(**base)


def logmel_spec(**kw) -> FeatureSpec:
    """A logmel spec; defaults: 30 ms window in a 512-point FFT, 20 ms hop (49 frames a
    second), 40 Slaney mel bins 20-8000 Hz with Slaney's norm, power, 10 log10(max(x, 1e-10))
    (librosa's power_to_db with top_db=None), no normalisation."""
    base = dict(kind="logmel", window_ms=30.0, hop_ms=20.0, fft=512, channels=40, lower_hz=20.0,
                upper_hz=8000.0)
    return FeatureSpec(**{**base, **kw})


def spec_from_toml(path: str) -> FeatureSpec:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise FeatureSpecError(f"{path}: cannot read features file ({e.strerror})") from None
    except tomllib.TOMLDecodeError as e:
        raise FeatureSpecError(f"{path}: not valid TOML ({e})") from None
    data = data.get("features", data)
    fields = {f.name: f for f in dataclasses.fields(FeatureSpec)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise FeatureSpecError(f"{path}: unknown field(s) {', '.join(unknown)}")
    base = {"microfrontend": micro_speech(), "tf1-mfcc": tf1_mfcc_spec(),
            "logmel": logmel_spec()}.get(data.get("kind"), FeatureSpec())
    kw = {}
    for k, v in data.items():
        want = type(getattr(base, k))
        if want is float and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        if want is tuple and isinstance(v, list):
            if not all(isinstance(e, (int, float)) and not isinstance(e, bool) for e in v):
                raise FeatureSpecError(f"{path}: {k} must be a list of numbers")
            v = tuple(float(e) for e in v)
        if not isinstance(v, want) or (isinstance(v, bool) and want is not bool):
            raise FeatureSpecError(f"{path}: {k} = {v!r} must be {want.__name__}")
        kw[k] = v
    if base.kind == "tf1-mfcc" and "fft" not in kw:        # TF's: follows the window
        kw["fft"] = tf1_mfcc_spec(**{k: v for k, v in kw.items() if k != "kind"}).fft
    try:
        return dataclasses.replace(base, **kw).validate()
    except FeatureSpecError as e:
        raise FeatureSpecError(f"{path}: {e}") from None


def spec_to_toml(spec: FeatureSpec) -> str:
    """The spec as a features file spec_from_toml reads back to the same spec (every field,
    so a default changing later cannot change what the file means)."""
    def val(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, tuple):
            return "[" + ", ".join(repr(float(e)) for e in v) + "]"
        return f'"{v}"' if isinstance(v, str) else repr(v)
    lines = ["# the front end this model was trained on (edgekit features; written by edgekit deploy)"]
    lines += [f"{k} = {val(v)}" for k, v in dataclasses.asdict(spec).items()]
    return "\n".join(lines) + "\n"


def features_path_for(model: str) -> str:
    root, _ = os.path.splitext(model)
    return root + ".features.toml"


def resolve_spec(model: str | None, features: str | None = None) -> tuple[FeatureSpec, str]:
    """(spec, where it came from) as deploy uses it. A model that carries its front end (a
    TF1 graph's AudioSpectrogram + Mfcc) is its own source; a features file that says
    otherwise is refused (the model must get the features it was trained on)."""
    own = None
    if model and model.lower().endswith(".pb") and os.path.isfile(model):
        from edgekit.importers.tf1 import spec_from_pb
        own, note = spec_from_pb(model)
    if features:
        spec, source = spec_from_toml(features), f"--features {features}"
    elif model and os.path.isfile(features_path_for(model)):
        spec, source = spec_from_toml(features_path_for(model)), features_path_for(model)
    elif own is not None:
        return own, f"graph ({note})"
    else:
        return mfcc_default().validate(), "default (mfcc of the shipped kws_ref_model)"
    if own is not None and spec != own:
        a, b = dataclasses.asdict(spec), dataclasses.asdict(own)
        diff = ", ".join(f"{k} {a[k]} (graph: {b[k]})" for k in b if a[k] != b[k])
        raise FeatureSpecError(f"{source} differs from the front end in {model}'s graph in {diff}: "
                               "the model was trained on the graph's features (drop the features file)")
    return spec, source
