"""Benchmark RealignEmbedder on the bundled Breakfast coffee features.

Trains the embedder on the five coffee videos, segments the embeddings with
``KeyStepSegmenter(n_key_steps=5)`` and scores them in both protocols of
:mod:`sk_realign.metrics`, next to the same segmenter on the raw features and the uniform
split of every video into 5 parts. Then runs the ablations (each on the same data, seeds
and budget) and measures training speed on the CPU with the share of time spent in the
transport solver. Writes a Markdown page.

Usage::

    python benchmarks/bench_embedder.py --seeds 0 1 2 --output benchmarks/results_embedder.md

``--quick`` runs one seed and 20 iterations, to check that the script works.
"""

import argparse
import platform
import sys
import time
import warnings

import numpy as np
import torch

from sk_realign import KeyStepSegmenter, RealignEmbedder
from sk_realign.datasets import load_breakfast_coffee
from sk_realign.metrics import procedure_learning_scores, uniform_segmentation

N_KEY_STEPS = 5

ABLATIONS = [
    ("full loss (defaults)", {}),
    ("without C-IDM (lambda_idm=0)", {"lambda_idm": 0.0}),
    ("without the inter-sequence term (lambda_inter=0)", {"lambda_inter": 0.0}),
    ("single-negative inter term", {"inter_negatives": "single"}),
    ("no sink, exact marginals (zeta=None, tau=inf)", {"zeta": None, "tau": float("inf")}),
    ("without the GW term (rho=0)", {"rho": 0.0}),
    ("zeta=0.3", {"zeta": 0.3}),
    ("zeta=1.0", {"zeta": 1.0}),
    ("zeta=1.5", {"zeta": 1.5}),
]


def score(data, labels):
    """Return per-video F1 and IoU, task-level F1, IoU and MoF of a segmentation."""
    per_video = procedure_learning_scores(data.y, labels, protocol="per-video")
    task = procedure_learning_scores(data.y, labels, protocol="task")
    return np.array([per_video.f1, per_video.iou, task.f1, task.iou, task.mof])


def segment_and_score(data, videos, temporal_weight):
    segmenter = KeyStepSegmenter(
        n_key_steps=N_KEY_STEPS, temporal_weight=temporal_weight, random_state=0
    )
    return score(data, segmenter.fit(videos).predict(videos))


def train_and_score(data, options, seeds, max_iter, temporal_weights):
    """Train once per seed and segment with each temporal weight.

    Returns a dict of temporal weight to the (n_seeds, 5) scores, and the mean fit time.
    """
    scores = {weight: [] for weight in temporal_weights}
    times = []
    for seed in seeds:
        embedder = RealignEmbedder(max_iter=max_iter, device="cpu", random_state=seed, **options)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            embeddings = embedder.fit_transform(data.X)
        times.append(time.perf_counter() - start)
        for weight in temporal_weights:
            scores[weight].append(segment_and_score(data, embeddings, weight))
    return {weight: np.array(rows) for weight, rows in scores.items()}, float(np.mean(times))


def measure_speed(data, max_iter):
    """Return iterations per second and the solver's share of the iteration time."""
    embedder = RealignEmbedder(max_iter=max_iter, device="cpu", random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        embedder.fit(data.X)
    elapsed = time.perf_counter() - start
    iteration_time = sum(record["time"] for record in embedder.history_)
    solver_time = sum(record["solver_time"] for record in embedder.history_)
    return max_iter / elapsed, solver_time / iteration_time, embedder


def format_row(name, scores, seconds=None):
    mean = scores.mean(axis=0)
    cells = [f"{value:.3f}" for value in mean]
    if scores.shape[0] > 1:
        spread = scores[:, 2].std()
        cells[2] = f"{mean[2]:.3f} ± {spread:.3f}"
    time_cell = f"{seconds:.0f}" if seconds is not None else ""
    return f"| {name} | " + " | ".join(cells) + f" | {time_cell} |"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max-iter", type=int, default=None,
                        help="training iterations (default: the estimator's default)")
    parser.add_argument("--temporal-weights", type=float, nargs="+", default=None,
                        help="segmenter temporal weights to score with (default: the "
                        "segmenter's default and 0)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--output", default=None, help="Markdown file to write")
    parser.add_argument("--quick", action="store_true", help="one seed, 20 iterations")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    seeds = args.seeds[:1] if args.quick else args.seeds
    max_iter = 20 if args.quick else (args.max_iter or RealignEmbedder().max_iter)
    default_weight = KeyStepSegmenter().temporal_weight
    temporal_weights = args.temporal_weights or [default_weight, 0.0]

    data = load_breakfast_coffee()
    started = time.perf_counter()
    header = "| method | per-video F1 | per-video IoU | task F1 | task IoU | task MoF | fit s |"
    rule = "|---|---|---|---|---|---|---|"

    results = {}
    for name, options in ABLATIONS:
        results[name] = train_and_score(data, options, seeds, max_iter, temporal_weights)
        print(f"{name}: {results[name][1]:.0f} s per fit", flush=True)

    lines = []
    full_name = ABLATIONS[0][0]
    uniform = uniform_segmentation(data.X, N_KEY_STEPS)
    for weight in temporal_weights:
        label = " (the segmenter's default)" if weight == default_weight else ""
        lines += [
            "",
            f"## Key steps on Breakfast coffee, k = {N_KEY_STEPS}, temporal_weight={weight:g}"
            f"{label}",
            "",
            header,
            rule,
            format_row("uniform split", score(data, uniform)[None]),
            format_row("raw features + segmenter",
                       segment_and_score(data, data.X, weight)[None]),
            format_row("RealignEmbedder + segmenter", results[full_name][0][weight],
                       results[full_name][1]),
        ]
    print("\n".join(lines), flush=True)

    ablation_lines = []
    for weight in temporal_weights:
        ablation_lines += [
            "",
            f"## Ablations, temporal_weight={weight:g} (same data, seeds and budget)",
            "",
            header,
            rule,
        ]
        for name, _ in ABLATIONS:
            scores, seconds = results[name]
            ablation_lines.append(format_row(name, scores[weight], seconds))
    print("\n".join(ablation_lines), flush=True)

    rate, solver_share, embedder = measure_speed(data, max_iter)
    speed_lines = [
        "",
        "## Training speed (feature encoder, CPU)",
        "",
        f"- {rate:.1f} iterations per second ({embedder.batch_size} pairs of "
        f"{embedder.n_frames} frames per iteration, {torch.get_num_threads()} torch threads)",
        f"- {100 * solver_share:.0f}% of the iteration time is spent in the transport solver",
    ]
    print("\n".join(speed_lines), flush=True)

    total = time.perf_counter() - started
    preamble = [
        "# RealignEmbedder on Breakfast coffee",
        "",
        f"Command: `python {' '.join(sys.argv)}`. Whole run: {total:.0f} s on "
        f"{platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} torch "
        "threads.",
        "",
        f"Seeds {seeds}, {max_iter} training iterations per fit, embedder defaults unless "
        f"the row says otherwise. Segmenter: `KeyStepSegmenter(n_key_steps={N_KEY_STEPS}, "
        "random_state=0)` with its defaults except `temporal_weight`, the same for raw "
        "features and embeddings. Scores are means over the seeds; task F1 also gives the "
        "standard deviation. `fit s` is the mean time of one fit and transform.",
    ]
    page = "\n".join(preamble + lines + ablation_lines + speed_lines) + "\n"
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(page)


if __name__ == "__main__":
    main()
