"""The data-free proxy's scoring set: the synthetic inputs plus midpoints between classes."""
import numpy as np

from edgekit.compress.proxy import scoring_set


def test_scoring_set_is_inputs_then_midpoints():
    x = np.random.default_rng(0).normal(size=(64, 49, 10, 1)).astype(np.float32)
    s = scoring_set(x)
    assert s.shape == (128, 49, 10, 1) and s.dtype == np.float32
    assert np.array_equal(s[:64], x)
    j = (np.arange(64) + 33) % 64
    assert np.array_equal(s[64:], 0.5 * (x + x[j]))


def test_midpoint_partners_have_another_class():
    # synthesis labels sample i with class i mod C: for the default 64 samples and 12
    # classes every midpoint must join two different classes
    n, c = 64, 12
    x = np.arange(n, dtype=np.float32).reshape(n, 1)
    partner = (2 * scoring_set(x)[n:, 0] - x[:, 0]).astype(int)
    assert np.all(partner % c != np.arange(n) % c) and set(partner) == set(range(n))


def test_single_input_is_scored_as_is():
    x = np.ones((1, 3), np.float32)
    assert np.array_equal(scoring_set(x), x)
