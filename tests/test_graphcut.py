"""The chain solvers: exact dynamic programme against brute force, alpha-expansion against it."""

import itertools

import numpy as np
import pytest

from sk_realign._graphcut import (
    chain_energy,
    solve_chain,
    solve_chain_alpha_expansion,
    solve_chain_exact,
)

SOLVERS = [solve_chain_exact, solve_chain_alpha_expansion]


def brute_force_minimum(unary, smoothness):
    """Return the minimum energy over all k ** T labellings, by brute force."""
    n_frames, n_labels = unary.shape
    best = np.inf
    for labels in itertools.product(range(n_labels), repeat=n_frames):
        energy = sum(unary[t, label] for t, label in enumerate(labels))
        energy += smoothness * sum(a != b for a, b in zip(labels[:-1], labels[1:]))
        best = min(best, energy)
    return best


def piecewise_chain(rng, n_frames, n_labels, n_segments, noise):
    """Unary costs of a chain whose true labels are constant on random segments."""
    cuts = np.sort(rng.choice(np.arange(1, n_frames), n_segments - 1, replace=False))
    truth = np.zeros(n_frames, dtype=np.int64)
    for cut in cuts:
        truth[cut:] = rng.integers(n_labels)
    unary = np.ones((n_frames, n_labels))
    unary[np.arange(n_frames), truth] = 0.0
    return unary + noise * rng.random((n_frames, n_labels))


def test_chain_energy_by_hand():
    unary = np.array([[0.0, 3.0], [2.0, 1.0], [0.5, 4.0]])

    assert chain_energy(unary, [0, 0, 0], 10.0) == pytest.approx(2.5)
    assert chain_energy(unary, [0, 1, 0], 10.0) == pytest.approx(21.5)
    assert chain_energy(unary, [1, 1, 1], 0.0) == pytest.approx(8.0)


@pytest.mark.parametrize("n_frames, n_labels", [(1, 3), (2, 2), (4, 3), (6, 2), (7, 3)])
@pytest.mark.parametrize("smoothness", [0.0, 0.3, 1.0, 5.0])
def test_exact_matches_brute_force(n_frames, n_labels, smoothness):
    rng = np.random.default_rng(n_frames * 10 + n_labels)
    for _ in range(3):
        unary = rng.random((n_frames, n_labels)) * 2.0

        labels = solve_chain_exact(unary, smoothness)

        assert labels.shape == (n_frames,)
        assert labels.dtype == np.int64
        assert chain_energy(unary, labels, smoothness) == pytest.approx(
            brute_force_minimum(unary, smoothness), abs=1e-12
        )


def test_exact_by_hand():
    unary = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])

    np.testing.assert_array_equal(solve_chain_exact(unary, 0.0), [0, 1, 0, 1, 1])
    np.testing.assert_array_equal(solve_chain_exact(unary, 1.5), [1, 1, 1, 1, 1])


@pytest.mark.parametrize("n_frames, n_labels", [(300, 3), (1000, 5), (2000, 20)])
@pytest.mark.parametrize("smoothness", [0.2, 1.0, 4.0])
def test_expansion_near_exact_on_piecewise_chains(n_frames, n_labels, smoothness):
    rng = np.random.default_rng(n_frames + n_labels)
    for _ in range(3):
        unary = piecewise_chain(rng, n_frames, n_labels, n_segments=8, noise=1.5)

        exact = chain_energy(unary, solve_chain_exact(unary, smoothness), smoothness)
        expansion = chain_energy(
            unary, solve_chain_alpha_expansion(unary, smoothness), smoothness
        )

        assert expansion >= exact - 1e-9
        assert expansion <= 1.02 * exact


@pytest.mark.parametrize("smoothness", [0.1, 1.0, 2.0, 5.0])
def test_expansion_near_exact_on_uniform_noise(smoothness):
    rng = np.random.default_rng(3)
    unary = rng.random((1000, 5))

    exact = chain_energy(unary, solve_chain_exact(unary, smoothness), smoothness)
    expansion = chain_energy(unary, solve_chain_alpha_expansion(unary, smoothness), smoothness)

    assert exact - 1e-9 <= expansion <= 1.02 * exact


def test_expansion_near_exact_on_real_features(coffee):
    from sk_realign.segmenter import KeyStepSegmenter

    segmenter = KeyStepSegmenter(n_key_steps=5, n_init=2, random_state=0)
    segmenter.fit(coffee.X)
    for video in coffee.X:
        unary = segmenter._unary(video)
        for smoothness in (1.0, 5.0, 20.0):
            exact = chain_energy(unary, solve_chain_exact(unary, smoothness), smoothness)
            expansion = chain_energy(
                unary, solve_chain_alpha_expansion(unary, smoothness), smoothness
            )

            assert exact - 1e-9 <= expansion <= 1.02 * exact


def test_expansion_wide_cost_range():
    # Outlier frames 1,000 times costlier than the rest: gco-wrapper's integer conversion
    # must neither overflow (it would abort) nor round the smoothness away.
    rng = np.random.default_rng(1)
    unary = rng.random((3000, 8))
    unary[::50] *= 1000.0
    for smoothness in (1e-3, 1e-2, 0.1, 1.0):
        exact = chain_energy(unary, solve_chain_exact(unary, smoothness), smoothness)
        expansion = chain_energy(unary, solve_chain_alpha_expansion(unary, smoothness), smoothness)

        assert expansion <= 1.001 * exact


@pytest.mark.parametrize("solve", SOLVERS)
def test_one_label(solve):
    labels = solve(np.array([[3.0], [1.0], [2.0]]), 1.0)

    np.testing.assert_array_equal(labels, [0, 0, 0])


@pytest.mark.parametrize("solve", SOLVERS)
def test_one_frame(solve):
    labels = solve(np.array([[3.0, 1.0, 2.0]]), 1.0)

    np.testing.assert_array_equal(labels, [1])


@pytest.mark.parametrize("solve", SOLVERS)
def test_zero_smoothness_is_argmin(solve):
    unary = np.random.default_rng(0).random((50, 4))

    np.testing.assert_array_equal(solve(unary, 0.0), unary.argmin(axis=1))


@pytest.mark.parametrize("solve", SOLVERS)
def test_constant_costs(solve):
    labels = solve(np.zeros((10, 3)), 1.0)

    assert np.unique(labels).size == 1


@pytest.mark.parametrize("solve", SOLVERS)
def test_integer_costs_are_not_rescaled(solve):
    # gco-wrapper rescales all-int32 inputs to one segment; the solvers convert first.
    unary = np.array([[0, 9], [0, 9], [9, 0], [9, 0]], dtype=np.int32)

    np.testing.assert_array_equal(solve(unary, 1), [0, 0, 1, 1])


@pytest.mark.parametrize("solve", SOLVERS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_costs_rejected(solve, bad):
    unary = np.zeros((5, 3))
    unary[2, 1] = bad

    with pytest.raises(ValueError, match=r"NaN or inf, first at \(frame, label\) \(2, 1\)"):
        solve(unary, 1.0)


@pytest.mark.parametrize("solve", SOLVERS)
@pytest.mark.parametrize("smoothness", [-1.0, np.inf, np.nan, "1", None])
def test_bad_smoothness_rejected(solve, smoothness):
    with pytest.raises(ValueError, match="smoothness must be a finite real number >= 0"):
        solve(np.zeros((5, 3)), smoothness)


@pytest.mark.parametrize("solve", SOLVERS)
@pytest.mark.parametrize("shape", [(5,), (0, 3), (5, 0), (2, 3, 4)])
def test_bad_unary_shape_rejected(solve, shape):
    with pytest.raises(ValueError, match="unary must be a 2-D array"):
        solve(np.zeros(shape), 1.0)


def test_expansion_bad_n_iter_rejected():
    with pytest.raises(ValueError, match="n_iter must be -1 or an int >= 1"):
        solve_chain_alpha_expansion(np.zeros((5, 3)), 1.0, n_iter=0)


def test_solve_chain_unknown_solver():
    with pytest.raises(ValueError, match="solver must be one of"):
        solve_chain(np.zeros((5, 3)), 1.0, solver="swap")


def test_chain_energy_bad_labels():
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
        chain_energy(np.zeros((3, 2)), [0, 2, 1], 1.0)
    with pytest.raises(ValueError, match=r"labels must have shape \(3,\)"):
        chain_energy(np.zeros((3, 2)), [0, 1], 1.0)
