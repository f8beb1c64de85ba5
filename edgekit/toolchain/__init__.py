"""Building generated C for the host or an emulated Cortex-M board, and running it."""
