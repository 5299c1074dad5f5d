"""Benchmark KeyStepSegmenter: solver speed on a long video and scores on real data.

Run from the repository root::

    python benchmarks/bench_segmenter.py            # everything
    python benchmarks/bench_segmenter.py --only speed

Sections (each prints a Markdown table):

- ``speed``: time to segment one video of 20,000 frames into k = 20 key steps with the
  exact dynamic programme and with gco-wrapper's alpha-expansion, measured side by side in
  this process, with the energy each reaches;
- ``real``: the default segmenter (``n_key_steps=5``) on the raw Breakfast coffee
  features, both solvers and both prototype models, scored in both protocols next to a
  uniform split of each video into 5 parts;
- ``temporal``: the effect of ``temporal_weight`` on the same data, mean and standard
  deviation over seeds.
"""

import argparse
import time
import warnings

import numpy as np

from sk_realign import KeyStepSegmenter
from sk_realign._graphcut import chain_energy, solve_chain
from sk_realign.datasets import load_breakfast_coffee
from sk_realign.metrics import per_video_scores, task_scores, uniform_segmentation


def best_time(function, repeat):
    """Return the result of ``function()`` and its fastest wall time over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return result, min(times)


def long_video(n_frames, n_features, n_steps, seed):
    """Generate a video that visits ``n_steps`` random points for random durations."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(size=(n_steps, n_features))
    cuts = np.sort(rng.choice(np.arange(1, n_frames), 4 * n_steps - 1, replace=False))
    truth = np.zeros(n_frames, dtype=np.int64)
    for cut in cuts:
        truth[cut:] = rng.integers(n_steps)
    return steps[truth] + rng.normal(scale=1.0, size=(n_frames, n_features))


def bench_speed(repeat):
    video = long_video(20_000, 64, 20, seed=0)
    segmenter = KeyStepSegmenter(n_key_steps=20, n_init=1, random_state=0)
    _, fit_time = best_time(lambda: segmenter.fit([video]), 1)
    unary = segmenter._unary(video)
    smoothness = float(segmenter.smoothness)

    print("## Segmentation time, one video of 20,000 frames, k = 20\n")
    print(f"Prototype fit (k-means, n_init=1): {fit_time:.2f} s. Unary costs computed once.\n")
    print("| solver | time (s) | energy | energy / exact energy |")
    print("|---|---|---|---|")
    results = {}
    for solver in ("exact", "alpha-expansion"):
        labels, seconds = best_time(lambda: solve_chain(unary, smoothness, solver), repeat)
        results[solver] = (seconds, chain_energy(unary, labels, smoothness))
    exact_energy = results["exact"][1]
    for solver, (seconds, energy) in results.items():
        print(f"| {solver} | {seconds:.3f} | {energy:.1f} | {energy / exact_energy:.5f} |")
    ratio = results["alpha-expansion"][0] / results["exact"][0]
    print(f"\nalpha-expansion time / exact time: {ratio:.2f}\n")

    _, predict_time = best_time(lambda: segmenter.predict([video]), repeat)
    print(f"Whole predict call (unary costs and exact solver): {predict_time:.3f} s\n")


def score_row(name, labels_true, labels_pred):
    per_video = per_video_scores(labels_true, labels_pred)
    task = task_scores(labels_true, labels_pred)
    print(
        f"| {name} | {per_video.f1:.3f} | {per_video.iou:.3f} | {task.f1:.3f} | "
        f"{task.iou:.3f} | {task.mof:.3f} |"
    )


def bench_real():
    data = load_breakfast_coffee()
    print("## Raw Breakfast coffee features, k = 5, random_state=0\n")
    print("| method | per-video F1 | per-video IoU | task F1 | task IoU | task MoF |")
    print("|---|---|---|---|---|---|")
    score_row("uniform split", data.y, uniform_segmentation(data.X, 5))
    for prototypes in ("kmeans", "fuzzy-cmeans"):
        for solver in ("exact", "alpha-expansion"):
            segmenter = KeyStepSegmenter(
                n_key_steps=5, prototypes=prototypes, solver=solver, random_state=0
            )
            score_row(
                f"KeyStepSegmenter({prototypes}, {solver})",
                data.y,
                segmenter.fit_predict(data.X),
            )
    print()


def bench_temporal(seeds):
    data = load_breakfast_coffee()
    print(f"## Effect of temporal_weight, k = 5, mean (std) over seeds 0..{seeds - 1}\n")
    for prototypes in ("kmeans", "fuzzy-cmeans"):
        default = KeyStepSegmenter(prototypes=prototypes)
        print(f"prototypes={prototypes!r}, smoothness={default.smoothness}\n")
        print("| temporal_weight | per-video F1 | per-video IoU | task F1 | task IoU | task MoF |")
        print("|---|---|---|---|---|---|")
        for weight in (0.0, 1.0, 3.0, 10.0):
            rows = []
            for seed in range(seeds):
                segmenter = KeyStepSegmenter(
                    n_key_steps=5, prototypes=prototypes, temporal_weight=weight,
                    random_state=seed,
                )
                labels = segmenter.fit_predict(data.X)
                per_video = per_video_scores(data.y, labels)
                task = task_scores(data.y, labels)
                rows.append([per_video.f1, per_video.iou, task.f1, task.iou, task.mof])
            mean, std = np.mean(rows, axis=0), np.std(rows, axis=0)
            cells = " | ".join(f"{m:.3f} ({s:.3f})" for m, s in zip(mean, std))
            print(f"| {weight:g} | {cells} |")
        print()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["speed", "real", "temporal"], default=None,
                        help="run one section only")
    parser.add_argument("--repeat", type=int, default=5,
                        help="timed runs per solver; the fastest is reported")
    parser.add_argument("--seeds", type=int, default=5,
                        help="seeds averaged in the temporal_weight table")
    args = parser.parse_args()
    warnings.simplefilter("ignore", category=FutureWarning)

    if args.only in (None, "speed"):
        bench_speed(args.repeat)
    if args.only in (None, "real"):
        bench_real()
    if args.only in (None, "temporal"):
        bench_temporal(args.seeds)


if __name__ == "__main__":
    main()
