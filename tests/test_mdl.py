"""Model-based hardness scores on cases computed by hand (docs/hardness.md#mdl)."""

from __future__ import annotations

import numpy as np
import pytest

from e2h.mdl import (
    logloss_area,
    model_average,
    online_code_length,
    paper_mdl,
    prequential_item_bits,
)

# one resample, sizes (2, 4), two items with 4 and 2 choices:
# the model trained on 2 items gives p(gold) = 0.5, 0.25; on 4 items 0.25, 1.0
CURVE = np.array([[[0.5, 0.25], [0.25, 1.0]]])
CHOICES = np.array([4, 2])


def test_paper_mdl_is_one_minus_the_mean_gold_probability():
    np.testing.assert_allclose(paper_mdl(CURVE), [1 - 0.375, 1 - 0.625])
    np.testing.assert_allclose(paper_mdl(np.array([0.9, 0.2])), [0.1, 0.8])  # decoding


def test_logloss_area_in_bits():
    # item 0: (1 + 2) / 2 bits; item 1: (2 + 0) / 2
    np.testing.assert_allclose(logloss_area(CURVE, CHOICES, [2, 4]), [1.5, 1.0])
    # size 0 is the untrained model: log2 K bits, whatever probability was passed
    np.testing.assert_allclose(logloss_area(CURVE, CHOICES, [0, 4]), [(2 + 2) / 2, (1 + 0) / 2])


def test_prequential_item_bits():
    # L = [t1 log2 K + (t2 - t1)(-log2 p_theta(t1))] / t2; the 4-item model codes nothing
    np.testing.assert_allclose(
        prequential_item_bits(CURVE, CHOICES, [2, 4]), [(2 * 2 + 2 * 1) / 4, (2 * 1 + 2 * 2) / 4]
    )
    # a second resample whose 2-item model gives 0.5 to both: averaged over resamples
    two = np.concatenate([CURVE, np.array([[[0.5, 0.5], [0.9, 0.9]]])])
    np.testing.assert_allclose(
        prequential_item_bits(two, CHOICES, [2, 4]), [1.5, (1.5 + (2 + 2) / 4) / 2]
    )


def test_online_code_length_and_compression():
    # stream K = 2, 2, 4, 4; sizes 1, 2, 4: item 1 uniform (1 bit), item 2 by theta(1)
    # with p = 0.5 (1 bit), items 3-4 by theta(2) with p = 0.25, 0.5 (2 + 1 bits)
    code = online_code_length([np.array([0.5]), np.array([0.25, 0.5])], [2, 2, 4, 4], [1, 2, 4])
    assert code.online_bits == pytest.approx(5.0)
    assert code.uniform_bits == pytest.approx(6.0)
    assert code.compression == pytest.approx(1.2)


def test_bad_curves_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        paper_mdl(np.array([[[0.5, np.nan]]]))
    with pytest.raises(ValueError, match="strictly increasing"):
        logloss_area(CURVE, CHOICES, [4, 2])
    with pytest.raises(ValueError, match="2 sizes for"):
        prequential_item_bits(CURVE[:, :1], CHOICES, [2, 4])
    with pytest.raises(ValueError, match="block 3 has 1 probabilities for 2 items"):
        online_code_length([np.array([0.5]), np.array([0.5])], [2, 2, 4, 4], [1, 2, 4])


def test_model_average_needs_every_configured_model():
    scores = {"a": np.array([0.2, 0.4]), "b": np.array([0.4, 0.8])}
    np.testing.assert_allclose(model_average(scores, ["a", "b"]), [0.3, 0.6])
    with pytest.raises(ValueError, match=r"\['c'\] have no scores"):
        model_average(scores, ["a", "b", "c"])
