"""Synthetic calibration data from the model's own BatchNorm statistics (no real data)."""
from edgekit.synth.bn_synth import SynthConfig, SynthResult, load_synth, synthesize

__all__ = ["SynthConfig", "SynthResult", "load_synth", "synthesize"]
