"""Hungarian-matched scores: hand-computed cases, the real Breakfast labels, the uniform split."""

import itertools
import math

import numpy as np
import pytest

from sk_realign.metrics import (
    per_video_scores,
    procedure_learning_scores,
    task_scores,
    uniform_segmentation,
)


def arrays(*videos):
    return [np.array(video) for video in videos]


def assert_scores(scores, **expected):
    for name, value in expected.items():
        assert scores[name] == pytest.approx(value, abs=1e-12), name


# Hand-computed cases. Each comment lists the overlap counts |P_c & G_g| and the matching.


def test_background_only_perfect():
    y_true = arrays([0, 0, 0, 0])
    y_pred = arrays([3, 3, 3, 3])

    assert_scores(per_video_scores(y_true, y_pred), precision=1, recall=1, f1=1, iou=1)
    assert_scores(task_scores(y_true, y_pred), precision=1, recall=1, f1=1, iou=1, mof=1)


def test_background_only_split_in_two():
    # Clusters 0 and 1 each cover 2 of the 4 background frames; one of them is matched.
    y_true = arrays([0, 0, 0, 0])
    y_pred = arrays([0, 0, 1, 1])

    per_video = per_video_scores(y_true, y_pred)
    task = task_scores(y_true, y_pred)

    assert_scores(per_video, precision=1, recall=0.5, f1=2 / 3, iou=0.5)
    assert per_video.per_video.n_matched[0] == 1
    assert_scores(task, precision=1, recall=0.5, f1=2 / 3, iou=0.5, mof=0.5)


def test_one_step_with_background():
    # c2: g0 2, g1 1; c3: g0 1, g1 2. Matching c2-g0, c3-g1 covers 4 of 6 frames.
    y_true = arrays([0, 0, 1, 1, 1, 0])
    y_pred = arrays([2, 2, 2, 3, 3, 3])

    per_video = per_video_scores(y_true, y_pred)
    task = task_scores(y_true, y_pred)

    assert_scores(per_video, precision=2 / 3, recall=2 / 3, f1=2 / 3, iou=0.5)
    assert per_video.matching == [{2: 0, 3: 1}]
    assert_scores(task, precision=2 / 3, recall=2 / 3, f1=2 / 3, iou=0.5, mof=4 / 6)


def test_permuted_label_ids():
    y_true = arrays([1, 1, 2, 2, 0], [0, 2, 2, 1])
    y_pred = arrays([7, 7, 3, 3, 5], [5, 3, 3, 7])

    per_video = per_video_scores(y_true, y_pred)
    task = task_scores(y_true, y_pred)

    assert_scores(per_video, precision=1, recall=1, f1=1, iou=1)
    assert_scores(task, precision=1, recall=1, f1=1, iou=1, mof=1)
    assert task.matching == {5: 0, 7: 1, 3: 2}


def test_more_clusters_than_classes():
    # c0: g1 2; c1: g1 2; c2: g2 2. Two pairs are matched: (c0 or c1)-g1 and c2-g2.
    y_true = arrays([1, 1, 1, 1, 2, 2])
    y_pred = arrays([0, 0, 1, 1, 2, 2])

    per_video = per_video_scores(y_true, y_pred)
    task = task_scores(y_true, y_pred)

    assert_scores(per_video, precision=1, recall=0.75, f1=6 / 7, iou=0.75)
    assert per_video.per_video.n_matched[0] == 2
    assert_scores(task, precision=1, recall=0.75, f1=6 / 7, iou=0.75, mof=4 / 6)


def test_fewer_clusters_than_classes():
    # c0: g0 2, g1 2; c1: g2 2. One of g0 and g1 stays unmatched: dropped per video,
    # zero at task level.
    y_true = arrays([0, 0, 1, 1, 2, 2])
    y_pred = arrays([0, 0, 0, 0, 1, 1])

    per_video = per_video_scores(y_true, y_pred)
    task = task_scores(y_true, y_pred)

    assert_scores(per_video, precision=0.75, recall=1, f1=6 / 7, iou=0.75)
    task_precision, task_recall = (0.5 + 1 + 0) / 3, (1 + 1 + 0) / 3
    assert_scores(
        task,
        precision=task_precision,
        recall=task_recall,
        f1=2 * task_precision * task_recall / (task_precision + task_recall),
        iou=(0.5 + 1 + 0) / 3,
        mof=4 / 6,
    )
    assert sorted(task.per_class.cluster.tolist()).count(-1) == 1


def test_class_absent_from_video():
    # Video 1 has no frame of class 2, so that class is dropped from its per-video pairs.
    # Task counts: c0: g1 4; c1: g1 2, g2 2. Matching c0-g1, c1-g2 covers 6 of 8 frames.
    y_true = arrays([1, 1, 2, 2], [1, 1, 1, 1])
    y_pred = arrays([0, 0, 1, 1], [0, 0, 1, 1])

    per_video = per_video_scores(y_true, y_pred)
    task = task_scores(y_true, y_pred)

    assert_scores(per_video, precision=1, recall=0.75, f1=6 / 7, iou=0.75)
    np.testing.assert_array_equal(per_video.per_video.n_matched, [2, 1])
    np.testing.assert_allclose(per_video.per_video.recall, [1, 0.5])
    task_precision, task_recall = (1 + 0.5) / 2, (4 / 6 + 1) / 2
    assert_scores(
        task,
        precision=task_precision,
        recall=task_recall,
        f1=2 * task_precision * task_recall / (task_precision + task_recall),
        iou=(4 / 6 + 0.5) / 2,
        mof=6 / 8,
    )
    np.testing.assert_allclose(task.per_video.mof, [1.0, 0.5])
    np.testing.assert_allclose(task.per_video.recall, [1.0, 0.5])
    np.testing.assert_allclose(task.per_video.precision, [1.0, 1.0])


def test_string_labels(coffee):
    names = [np.array([coffee.label_names[i] for i in labels]) for labels in coffee.y]

    assert per_video_scores(names, coffee.y).f1 == 1.0
    assert task_scores(names, coffee.y).f1 == 1.0


def test_protocol_dispatch():
    y_true = arrays([0, 0, 1, 1, 1, 1], [0, 1, 1, 1])
    y_pred = arrays([1, 1, 0, 0, 0, 0], [0, 1, 1, 1])

    assert procedure_learning_scores(y_true, y_pred).protocol == "per-video"
    assert procedure_learning_scores(y_true, y_pred, protocol="per-video").f1 == 1.0
    assert procedure_learning_scores(y_true, y_pred, protocol="task").mof == pytest.approx(0.6)
    with pytest.raises(ValueError, match="protocol must be one of"):
        procedure_learning_scores(y_true, y_pred, protocol="video")


def test_mismatched_inputs_rejected():
    with pytest.raises(ValueError, match="y_true has 2 videos but y_pred has 1"):
        per_video_scores(arrays([0, 1], [1]), arrays([0, 1]))
    with pytest.raises(ValueError, match="Video 0 has 2 true labels but y_pred has shape"):
        task_scores(arrays([0, 1]), arrays([0, 1, 1]))
    with pytest.raises(ValueError, match="Wrap it in a list"):
        task_scores(arrays([0, 1]), np.array([0, 1]))
    with pytest.raises(ValueError, match="negative value"):
        task_scores(arrays([0, 1]), arrays([0, -1]))


# The real Breakfast coffee labels.


def test_real_labels_against_themselves(coffee):
    for scores in (per_video_scores(coffee.y, coffee.y), task_scores(coffee.y, coffee.y)):
        assert scores.precision == 1.0
        assert scores.recall == 1.0
        assert scores.f1 == 1.0
        assert scores.iou == 1.0
    assert task_scores(coffee.y, coffee.y).mof == 1.0


def test_real_labels_relabelled(coffee):
    rng = np.random.default_rng(0)
    ids = np.unique(np.concatenate(coffee.y))

    # One relabelling for all videos: both protocols score exactly 1.
    new_ids = dict(zip(ids, rng.permutation(ids.size) * 11 + 3))
    relabelled = [np.array([new_ids[i] for i in labels]) for labels in coffee.y]
    per_video = per_video_scores(coffee.y, relabelled)
    task = task_scores(coffee.y, relabelled)

    assert per_video.f1 == 1.0
    assert per_video.iou == 1.0
    assert task.f1 == 1.0
    assert task.iou == 1.0
    assert task.mof == 1.0

    # A different relabelling in each video: still 1 per video, no longer at task level.
    shuffled = []
    for labels in coffee.y:
        new_ids = dict(zip(ids, rng.permutation(ids.size)))
        shuffled.append(np.array([new_ids[i] for i in labels]))

    assert per_video_scores(coffee.y, shuffled).f1 == 1.0
    assert task_scores(coffee.y, shuffled).f1 < 0.9


# The uniform split, checked against scores computed here from frame intervals.


def best_matching(overlap, cluster_sizes, class_sizes):
    """Brute-force maximum-overlap matching of clusters (keys) to classes."""
    clusters, classes = sorted(cluster_sizes), sorted(class_sizes)
    n_pairs = min(len(clusters), len(classes))
    best, best_pairs = -1, None
    for chosen in itertools.permutations(clusters, n_pairs):
        for assigned in itertools.combinations(classes, n_pairs):
            pairs = list(zip(chosen, assigned))
            total = sum(overlap.get(pair, 0) for pair in pairs)
            if total > best:
                best, best_pairs = total, pairs
    return best_pairs


def interval_counts(videos_labels, n_parts):
    """Overlaps of part j = frames [ceil(j T / k), ceil((j + 1) T / k)) with each class."""
    overlap, cluster_sizes, class_sizes = {}, {}, {}
    for labels in videos_labels:
        length = len(labels)
        for part in range(n_parts):
            start = math.ceil(part * length / n_parts)
            stop = math.ceil((part + 1) * length / n_parts)
            if stop > start:
                cluster_sizes[part] = cluster_sizes.get(part, 0) + stop - start
            for frame in range(start, stop):
                key = (part, int(labels[frame]))
                overlap[key] = overlap.get(key, 0) + 1
        for label in labels:
            class_sizes[int(label)] = class_sizes.get(int(label), 0) + 1
    return overlap, cluster_sizes, class_sizes


def test_uniform_split_per_video(coffee):
    k = 5
    precisions, recalls, ious = [], [], []
    for labels in coffee.y:
        overlap, cluster_sizes, class_sizes = interval_counts([labels], k)
        pairs = best_matching(overlap, cluster_sizes, class_sizes)
        precisions.append(np.mean([overlap.get(p, 0) / cluster_sizes[p[0]] for p in pairs]))
        recalls.append(np.mean([overlap.get(p, 0) / class_sizes[p[1]] for p in pairs]))
        ious.append(
            np.mean(
                [
                    overlap.get(p, 0)
                    / (cluster_sizes[p[0]] + class_sizes[p[1]] - overlap.get(p, 0))
                    for p in pairs
                ]
            )
        )
    precision, recall = np.mean(precisions), np.mean(recalls)

    scores = per_video_scores(coffee.y, uniform_segmentation(coffee.X, k))

    assert_scores(
        scores,
        precision=precision,
        recall=recall,
        f1=2 * precision * recall / (precision + recall),
        iou=np.mean(ious),
    )
    assert scores.f1 == pytest.approx(0.71, abs=0.005)


def test_uniform_split_task(coffee):
    k = 5
    overlap, cluster_sizes, class_sizes = interval_counts(coffee.y, k)
    pairs = best_matching(overlap, cluster_sizes, class_sizes)
    matched = {g: c for c, g in pairs}
    precision = np.mean(
        [overlap.get((matched[g], g), 0) / cluster_sizes[matched[g]] for g in class_sizes]
    )
    recall = np.mean([overlap.get((matched[g], g), 0) / class_sizes[g] for g in class_sizes])

    scores = task_scores(coffee.y, uniform_segmentation(coffee.X, k))

    assert_scores(
        scores,
        precision=precision,
        recall=recall,
        f1=2 * precision * recall / (precision + recall),
        mof=sum(overlap.get(p, 0) for p in pairs) / sum(class_sizes.values()),
    )
    assert scores.f1 == pytest.approx(0.58, abs=0.005)


def test_uniform_segmentation_by_hand():
    labels = uniform_segmentation([5, 3, 2, 0], 2)

    np.testing.assert_array_equal(labels[0], [0, 0, 0, 1, 1])
    np.testing.assert_array_equal(labels[1], [0, 0, 1])
    np.testing.assert_array_equal(labels[2], [0, 1])
    assert labels[3].shape == (0,)


def test_uniform_segmentation_shorter_than_k():
    np.testing.assert_array_equal(uniform_segmentation([3], 5)[0], [0, 1, 3])
    np.testing.assert_array_equal(uniform_segmentation([4], 1)[0], [0, 0, 0, 0])


def test_uniform_segmentation_takes_videos(coffee):
    labels = uniform_segmentation(coffee.X, 5)

    assert [len(video) for video in labels] == [len(video) for video in coffee.X]
    for video_labels in labels:
        np.testing.assert_array_equal(np.unique(video_labels), np.arange(5))
        assert np.all(np.diff(video_labels) >= 0)


@pytest.mark.parametrize("n_segments", [0, -1, 2.5, True])
def test_uniform_segmentation_bad_k(n_segments):
    with pytest.raises(ValueError, match=r"n_segments must be an int in the range \[1, inf\)"):
        uniform_segmentation([5], n_segments)
