"""The codebook format's NumPy twin: packing is invertible, byte accounting matches the
emitted bytes, and the decode table (built from the int8 codes) holds the codes in the lanes the kernels expect."""
import numpy as np
import pytest

from edgekit.compress.codebook import (Codebook, deployed_bytes, family_of, index_streams, layer_indices, pack,
                                       unpack_stream)


@pytest.mark.parametrize("bits", [1, 2, 3, 4])
@pytest.mark.parametrize("family,shape", [("pairs", (6, 40)), ("pairs", (5, 8)), ("depthwise", (9, 8))])
def test_pack_unpack_round_trip(bits, family, shape):
    rng = np.random.default_rng(bits)
    idx = rng.integers(0, 1 << bits, shape)
    data = pack(family, idx, bits)
    off = 0
    for s in index_streams(family, idx):
        got = unpack_stream(data, off, len(s), bits)
        np.testing.assert_array_equal(got, s)
        off += -(-len(s) * bits // 8)
    assert data[off:] == bytes(3)            # the padding, and nothing after it


def test_pairs_unit_order():
    """Channel pair (0, 1), one group of 4: units (0: v0 v2), (0: v1 v3), (1: v0 v2), (1: v1 v3)."""
    idx = np.array([[0, 1, 2, 3], [4, 5, 6, 7]])
    assert index_streams("pairs", idx)[0].tolist() == [0, 2, 1, 3, 4, 6, 5, 7]


@pytest.mark.parametrize("codes", [(-90, 3), (-127, -5, 0, 64), (-50, -20, -3, 0, 9, 40, 77), tuple(range(-8, 8))])
def test_table_lanes(codes):
    cb = Codebook(codes, {2: 1, 4: 2, 7: 3, 16: 4}[len(codes)])
    t = cb.table().astype(np.int64)
    n = 1 << cb.bits
    for a in range(len(codes)):
        if cb.bits <= 3:
            for c in range(len(codes)):
                e = t[a | (c << cb.bits)]
                lo, hi = ((e & 0xFFFF) ^ 0x8000) - 0x8000, e >> 16
                assert (lo, hi) == (codes[a], codes[c])
        else:
            assert t[a] == codes[a]
    assert len(t) == (n * n if cb.bits <= 3 else n)


def test_codebook_of_weights_and_bytes():
    rng = np.random.default_rng(0)
    codes = np.array([-100, -7, 0, 30], np.int8)
    w = codes[rng.integers(0, 4, (64, 1, 1, 64))]
    cb = Codebook.of(w)
    assert cb.codes == (-100, -7, 0, 30) and cb.bits == 2
    idx = layer_indices("Conv2D", w, cb)
    np.testing.assert_array_equal(np.array(cb.codes)[idx], w.reshape(64, 64))
    # 4096 weights x 2 bits + 3 padding + 4 int8 codes
    assert deployed_bytes(family_of("Conv2D", w.shape), w.shape, cb) == 1024 + 3 + 4
    np.testing.assert_array_equal(cb.stored(), codes)
    assert Codebook((-5, 9, 100), 2).stored().tolist() == [-5, 9, 100, 0]
    assert Codebook.of(np.arange(-20, 20).astype(np.int8)) is None


@pytest.mark.parametrize("codes", [(-90, 3), tuple(range(-8, 8)), (-128, -100, -7, 0, 1, 5, 19, 33, 64, 127)])
def test_units_lanes(codes):
    """units(): the one-lookup table (emitted to flash for 4 bits, ek_codebook.units):
    entry (a | c << b) = code[a] in the low int16 lane, code[c] in the high one."""
    cb = Codebook(codes, 1 if len(codes) == 2 else 4)
    u = cb.units().astype(np.int64)
    assert len(u) == 1 << (2 * cb.bits)
    for a in range(len(codes)):
        for c in range(len(codes)):
            e = u[a | (c << cb.bits)]
            assert ((((e & 0xFFFF) ^ 0x8000) - 0x8000), e >> 16) == (codes[a], codes[c])
