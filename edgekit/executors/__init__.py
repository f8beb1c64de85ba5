"""Executors for the IR (float on torch; the int8 reference lives in edgekit.quant)."""
