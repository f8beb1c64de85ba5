"""Quantization: fixed-point arithmetic, quantization parameters, the int8 reference."""
