"""Mistakes users make with the package: each gets a clear error, never a wrong result."""

import numpy as np
import pytest

from sk_realign import KeyStepSegmenter


@pytest.mark.parametrize("prototypes", ["kmeans", "fuzzy-cmeans"])
def test_segmenter_huge_feature_rejected_in_fit(prototypes, rng):
    video = rng.normal(size=(10, 4))
    video[3, 1] = 1e300
    segmenter = KeyStepSegmenter(2, prototypes=prototypes, n_init=1, random_state=0)
    with pytest.raises(ValueError, match=r"Video 0 has a feature of absolute value 1e\+300"):
        segmenter.fit([video])


@pytest.mark.parametrize("prototypes", ["kmeans", "fuzzy-cmeans"])
def test_segmenter_huge_feature_rejected_in_predict(prototypes, rng):
    segmenter = KeyStepSegmenter(2, prototypes=prototypes, n_init=1, random_state=0)
    segmenter.fit([rng.normal(size=(10, 4))])
    far = rng.normal(size=(10, 4)) * 1e200
    with pytest.raises(ValueError, match="Video 1 has a feature .*StandardScaler"):
        segmenter.predict([rng.normal(size=(10, 4)), far])


def test_labels_mixing_names_and_ids_rejected():
    from sk_realign._validation import check_labels

    y = [np.array([0, 0, 1]), np.array(["SIL", "pour", "pour"])]
    with pytest.raises(ValueError, match=r"video 1 are names .* video 0 are numbers"):
        check_labels(y)


def test_task_score_mixing_names_and_ids_rejected():
    from sk_realign.metrics import task_scores

    y_true = [np.array([0, 0, 1, 1]), np.array(["SIL", "SIL", "1", "1"])]
    y_pred = [np.array([0, 0, 1, 1]), np.array([0, 0, 1, 1])]
    with pytest.raises(ValueError, match="names_to_ids"):
        task_scores(y_true, y_pred)


def test_labels_flat_list_rejected():
    from sk_realign._validation import check_labels

    with pytest.raises(ValueError, match=r"flat list of 3 labels.*\[labels\]"):
        check_labels([0, 1, 1])
