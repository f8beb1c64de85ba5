"""Sensitivity allocation (--target-ratio): the Pareto frontier holds every budget's
optimum (checked against brute force), and option sizes are the codebook format's bytes."""
import itertools

import numpy as np
import pytest

from edgekit.compress.allocate import Option, choose, frontier, option_bytes
from edgekit.compress.codebook import Codebook, pack
from edgekit.errors import InputError


def _random_options(rng, layers: int) -> list[list[Option]]:
    out = []
    for _ in range(layers):
        n = int(rng.integers(200, 5000))
        kls = np.sort(rng.exponential(0.1, 4))[::-1]
        out.append([Option(8, n, 0.0)] + [Option(b, n * b // 8 + int(rng.integers(0, 64)), float(k))
                                          for b, k in zip((1, 2, 3, 4), kls)])
    return out


@pytest.mark.parametrize("seed", range(5))
def test_frontier_holds_the_brute_force_optimum(seed):
    rng = np.random.default_rng(seed)
    options = _random_options(rng, 5)
    front = frontier(options)
    assert all(a.bytes < b.bytes and a.kl > b.kl for a, b in zip(front, front[1:]))
    combos = list(itertools.product(*options))
    sizes = [sum(o.bytes for o in c) for c in combos]
    for budget in np.quantile(sizes, [0.0, 0.1, 0.3, 0.5, 0.8, 1.0]).astype(int):
        best = min(sum(o.kl for o in c) for c, s in zip(combos, sizes) if s <= budget)
        pick = choose(front, int(budget), 0, 1, 1.0)
        assert pick.bytes <= budget and pick.kl == pytest.approx(best, abs=1e-12)
        chosen = [next(o for o in opts if o.bits == b) for opts, b in zip(options, pick.bits)]
        assert sum(o.bytes for o in chosen) == pick.bytes


def test_choose_out_of_reach_names_the_best_ratio():
    front = frontier([[Option(8, 1000, 0.0), Option(1, 200, 1.0)]])
    with pytest.raises(InputError, match=r"--target-ratio 30 is out of reach.* give 16.00x at most"):
        choose(front, 100, 50, 1000, 30.0)


@pytest.mark.parametrize("op,shape", [("Conv2D", (64, 1, 1, 64)), ("Conv2D", (64, 10, 4, 1)),
                                      ("DepthwiseConv2D", (1, 3, 3, 64)), ("FullyConnected", (12, 64))])
@pytest.mark.parametrize("bits", [1, 2, 3, 4])
def test_option_bytes_are_the_packed_bytes(op, shape, bits):
    fam_shape = (shape[1] * shape[2], shape[3]) if op == "DepthwiseConv2D" else (shape[0], int(np.prod(shape[1:])))
    idx = np.random.default_rng(bits).integers(0, 1 << bits, fam_shape)
    cb = Codebook(tuple(range(1 << bits)), bits)
    fam = "depthwise" if op == "DepthwiseConv2D" else "pairs"
    assert option_bytes(op, shape, bits) == len(pack(fam, idx, bits)) + len(cb.stored()) == len(pack(fam, idx, bits)) + (1 << bits)
    assert option_bytes(op, shape, 8) == int(np.prod(shape))
