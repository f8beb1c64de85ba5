"""Audio: wav reading and the KWS front end (MFCC) as NumPy twins of the C front end."""
from edgekit.audio.mfcc import MfccSpec, mfcc_fixed, mfcc_float, quantize_features
from edgekit.audio.wav import read_wav, write_wav

__all__ = ["MfccSpec", "mfcc_fixed", "mfcc_float", "quantize_features", "read_wav", "write_wav"]
