"""Linear probe (docs/methods.md#linear-probe) and its choice masking (docs/defects.md#d-4)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from e2h import probe
from e2h.config import schema_defaults
from e2h.probe import ProbeDivergedError, lr_multiplier, predict_probe

#: The configured probe settings (the schema's defaults), overridden per test.
PROBE = schema_defaults("experiments", "trained", "probe")


def fit_probe(*args, **settings):
    return probe.fit_probe(*args, **{**PROBE, **settings})


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny problems run faster on one thread, and far faster on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _separable(n: int = 240, choices: int = 4, dim: int = 16, seed: int = 0):
    """Items whose gold choice is shifted along feature 0 (linearly separable)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, choices, dim)).astype(np.float32)
    y = rng.integers(0, choices, n)
    x[np.arange(n), y, 0] += 4.0
    x += rng.standard_normal(dim).astype(np.float32) * 5  # offset: normalisation matters
    return x, np.ones((n, choices), dtype=bool), y


def _hand_loss(w: np.ndarray, xn: np.ndarray, mask: np.ndarray, y: np.ndarray, l2: float):
    """Loss and gradient in float64: mean NLL over valid choices + l2·‖w‖₂ (not squared)."""
    s = np.where(mask, xn @ w, -np.inf)
    s = s - s.max(axis=1, keepdims=True)
    p = np.where(mask, np.exp(s), 0.0)
    p /= p.sum(axis=1, keepdims=True)
    n = len(y)
    nll = -np.log(p[np.arange(n), y]).mean()
    norm = np.linalg.norm(w)
    onehot = np.zeros_like(p)
    onehot[np.arange(n), y] = 1
    grad = np.einsum("ic,icd->d", p - onehot, xn) / n + l2 * w / norm
    return nll + l2 * norm, grad


def _normalised(fit, x, mask):
    xn = (x.astype(np.float64) - fit.mean) / fit.std
    xn[~mask] = 0
    return xn


def test_separable_data_is_learned():
    x, mask, y = _separable()
    fit = fit_probe(x[:200], mask[:200], y[:200], seed=3)
    assert fit.train_acc >= 0.98
    assert fit.n_refits == 0 and np.isfinite(fit.weight).all()
    assert fit.train_loss.shape == (100,) and fit.train_loss[-1] < fit.train_loss[0]
    probs, scores = predict_probe(fit, x, mask)
    assert np.allclose(probs.sum(axis=1), 1.0)
    assert (probs[:200].argmax(axis=1) == y[:200]).mean() == pytest.approx(fit.train_acc)
    assert (probs[200:].argmax(axis=1) == y[200:]).mean() >= 0.9
    assert np.allclose(probs, torch.softmax(torch.from_numpy(scores), 1).numpy())


def test_padded_slots_are_ignored_and_get_zero_probability():
    x, mask, y = _separable(n=120, choices=3, dim=8)
    pad = np.empty((120, 5, 8), dtype=np.float32)
    pad[:, :3] = x
    pad[:, 3] = np.nan  # garbage in padded slots
    pad[:, 4] = 1e30
    pad_mask = np.zeros((120, 5), dtype=bool)
    pad_mask[:, :3] = True

    a = fit_probe(x, mask, y, seed=11)
    b = fit_probe(pad, pad_mask, y, seed=11)
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_array_equal(a.std, b.std)
    np.testing.assert_allclose(a.weight, b.weight, rtol=1e-5, atol=1e-7)
    assert np.isfinite(b.weight).all() and a.train_acc == b.train_acc

    pa, sa = predict_probe(a, x, mask)
    pb, sb = predict_probe(b, pad, pad_mask)
    np.testing.assert_allclose(pa, pb[:, :3], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(sa, sb[:, :3], rtol=1e-5, atol=1e-6)
    assert (pb[:, 3:] == 0).all() and np.isneginf(sb[:, 3:]).all()
    # the same weights on the padded layout give exactly the unpadded answer
    pc, _ = predict_probe(a, pad, pad_mask)
    np.testing.assert_array_equal(pa, pc[:, :3])


def test_variable_choice_counts_use_valid_statistics_only():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((60, 4, 6)).astype(np.float32) + 2.0
    mask = np.ones((60, 4), dtype=bool)
    mask[::2, 2:] = False  # half the items have two choices
    # the original's zero padding (docs/defects.md#d-4) must not enter the statistics
    x[~mask] = 0.0
    y = rng.integers(0, 2, 60)
    fit = fit_probe(x, mask, y, seed=0, epochs=5)
    valid = x[mask].astype(np.float64)
    np.testing.assert_allclose(fit.mean, valid.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(fit.std, valid.std(axis=0, ddof=1), rtol=1e-5)
    assert not np.allclose(fit.mean, x.reshape(-1, 6).mean(axis=0), rtol=1e-2)
    probs, scores = predict_probe(fit, x, mask)
    assert (probs[~mask] == 0).all() and np.isneginf(scores[~mask]).all()
    assert np.allclose(probs.sum(axis=1), 1.0)


def test_normalisation_uses_training_items_only(tmp_path):
    x, mask, y = _separable(n=100, dim=8)
    train = np.arange(0, 100, 3)
    ref = fit_probe(x[train], mask[train], y[train], seed=2)
    np.testing.assert_allclose(ref.mean, x[train].reshape(-1, 8).mean(axis=0), rtol=1e-5)

    other = x.copy()
    other[np.setdiff1d(np.arange(100), train)] = 1e6  # non-training rows must not matter
    path = tmp_path / "features.npy"
    np.save(path, other)
    mm = np.load(path, mmap_mode="r")
    for feats, items in [(x, train), (other, train), (mm, train)]:
        fit = fit_probe(feats, mask, y, seed=2, items=items)
        np.testing.assert_array_equal(fit.mean, ref.mean)
        np.testing.assert_array_equal(fit.std, ref.std)
        np.testing.assert_array_equal(fit.weight, ref.weight)
        assert fit.n_train == train.size
    bool_items = np.zeros(100, dtype=bool)
    bool_items[train] = True
    fit = fit_probe(mm, mask, y, seed=2, items=bool_items)
    np.testing.assert_array_equal(fit.weight, ref.weight)

    probs_sel, _ = predict_probe(ref, mm, mask, items=train)
    probs_all, _ = predict_probe(ref, x, mask)
    np.testing.assert_allclose(probs_sel, probs_all[train], rtol=1e-6)


def test_deterministic_seeded_and_leaves_global_rng_alone():
    x, mask, y = _separable(n=80, dim=8)
    cpu_state = torch.get_rng_state()
    a = fit_probe(x, mask, y, seed=7)
    b = fit_probe(x, mask, y, seed=7)
    c = fit_probe(x, mask, y, seed=8)
    assert torch.equal(cpu_state, torch.get_rng_state())
    np.testing.assert_array_equal(a.weight, b.weight)
    np.testing.assert_array_equal(a.train_loss, b.train_loss)
    assert not np.array_equal(a.weight, c.weight)

    # epochs=0 returns the init: PyTorch's default nn.Linear init under the given seed
    init = fit_probe(x, mask, y, seed=7, epochs=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        expected = nn.Linear(8, 1, bias=False).weight.detach().numpy().ravel()
    np.testing.assert_array_equal(init.weight, expected)
    assert init.train_loss.size == 0


def test_loss_uses_unsquared_norm_and_sgd_schedule():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 3, 4)).astype(np.float32)
    mask = np.ones((5, 3), dtype=bool)
    mask[1, 2] = mask[3, 0] = False
    y = np.array([0, 1, 2, 1, 2])
    l2, lr = 0.7, 0.3

    init = fit_probe(x, mask, y, seed=4, epochs=0, l2=l2)
    xn = _normalised(init, x, mask)
    w0 = init.weight.astype(np.float64)
    loss0, _ = _hand_loss(w0, xn, mask, y, l2)
    assert init.final_loss == pytest.approx(loss0, rel=1e-5)
    squared = loss0 - l2 * np.linalg.norm(w0) + l2 * np.linalg.norm(w0) ** 2
    assert abs(loss0 - squared) > 1e-3  # the check distinguishes norm from squared norm

    # two unclipped SGD steps at lr·1 and lr·(1 − 0.9·1/2), gradient of l2·‖w‖ = l2·w/‖w‖
    fit = fit_probe(x, mask, y, seed=4, epochs=2, l2=l2, lr=lr, clip=1e9)
    w = w0.copy()
    for step in range(2):
        loss, grad = _hand_loss(w, xn, mask, y, l2)
        assert fit.train_loss[step] == pytest.approx(loss, rel=1e-5)
        w = w - lr * lr_multiplier(step, 2, 0.1) * grad
    np.testing.assert_allclose(fit.weight, w, rtol=1e-4, atol=1e-6)
    assert fit.final_loss == pytest.approx(_hand_loss(w, xn, mask, y, l2)[0], rel=1e-4)


def test_lr_schedule_matches_ten_percent_linear_decay():
    assert lr_multiplier(0, 100, 0.1) == 1.0
    assert lr_multiplier(99, 100, 0.1) == pytest.approx(0.109)
    assert lr_multiplier(100, 100, 0.1) == pytest.approx(0.1)


def test_gradient_clipping_bounds_each_step():
    x, mask, y = _separable(n=50, dim=8)
    init = fit_probe(x, mask, y, seed=1, epochs=0)
    one = fit_probe(x, mask, y, seed=1, epochs=1, lr=1.0, clip=1e-3)
    step = np.linalg.norm(one.weight.astype(np.float64) - init.weight)
    assert step == pytest.approx(1e-3, rel=1e-3)


def test_nan_guard_refits_with_tighter_clip_and_stronger_l2(monkeypatch):
    x, mask, y = _separable(n=60, dim=8)
    real_clip = probe.clip_grad_norm_
    seen: list[float] = []

    def flaky_clip(params, max_norm):
        """Poison gradients while the clip norm is above 0.1 (two refits needed)."""
        params = list(params)
        seen.append(max_norm)
        if max_norm > 0.1:
            for p in params:
                p.grad.fill_(float("nan"))
            return torch.tensor(float("nan"))
        return real_clip(params, max_norm)

    monkeypatch.setattr(probe, "clip_grad_norm_", flaky_clip)
    fit = fit_probe(x, mask, y, seed=0, epochs=20)
    assert fit.n_refits == 2
    assert fit.clip_used == pytest.approx(1 / 16) and fit.l2_used == pytest.approx(16.0)
    assert fit.clip == 1.0 and fit.l2 == 1.0
    assert np.isfinite(fit.weight).all() and np.isfinite(fit.final_loss)
    assert seen[:2] == [1.0, 0.25] and seen[2:] == [1 / 16] * 20  # diverged runs stop early

    with pytest.raises(ProbeDivergedError):
        fit_probe(x, mask, y, seed=0, epochs=20, max_refits=1)


def test_nan_guard_gives_up_after_max_refits():
    x, mask, y = _separable(n=30, dim=4)
    with pytest.raises(ProbeDivergedError, match="after 6 refits"):
        fit_probe(x, mask, y, seed=0, lr=float("inf"), epochs=3)


def test_prediction_chunks_agree(monkeypatch):
    x, mask, y = _separable(n=50, dim=8)
    fit = fit_probe(x, mask, y, seed=0, epochs=10)
    whole, _ = predict_probe(fit, x, mask)
    monkeypatch.setattr(probe, "CHUNK_BYTES", 7 * 4 * 8 * 4)  # 7 items per chunk
    chunked, _ = predict_probe(fit, x, mask)
    np.testing.assert_allclose(whole, chunked, rtol=1e-6)
    again = fit_probe(x, mask, y, seed=0, epochs=10)  # chunked statistics, same result
    np.testing.assert_allclose(again.mean, fit.mean, rtol=1e-6)
    np.testing.assert_allclose(again.weight, fit.weight, rtol=1e-5)


def test_invalid_inputs_are_rejected():
    x, mask, y = _separable(n=10, dim=4)
    bad = mask.copy()
    bad[0, y[0]] = False
    with pytest.raises(ValueError, match="padded"):
        fit_probe(x, bad, y, seed=0)
    empty = mask.copy()
    empty[1] = False
    with pytest.raises(ValueError, match="no valid choice"):
        fit_probe(x, empty, y, seed=0)
    with pytest.raises(ValueError):
        fit_probe(x[:, :, 0], mask, y, seed=0)
    fit = fit_probe(x, mask, y, seed=0, epochs=1)
    with pytest.raises(ValueError, match="dim"):
        predict_probe(fit, x[:, :, :3], mask)


def test_matches_reference_torch_recipe():
    """Same result as the original's loop: nn.Linear, optim.SGD, HF linear decay over T/0.9."""
    x, mask, y = _separable(n=90, choices=4, dim=12, seed=9)
    mask[::3, 3] = False
    y = np.where(mask[np.arange(90), y], y, 0)
    fit = fit_probe(x, mask, y, seed=21, epochs=30, lr=0.5)

    xn = torch.from_numpy(_normalised(fit, x, mask).astype(np.float32))
    mt, yt = torch.from_numpy(mask), torch.from_numpy(y)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(21)
        layer = nn.Linear(12, 1, bias=False)
    opt = torch.optim.SGD(layer.parameters(), lr=0.5)
    total = 30 / (1 - 0.1)  # HF get_scheduler("linear", num_training_steps=T / 0.9)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: max(0.0, (total - t) / total))
    for _ in range(30):
        scores = layer(xn).squeeze(-1).masked_fill(~mt, float("-inf"))
        nll = -torch.log(torch.softmax(scores, 1).gather(1, yt.view(-1, 1))).mean()
        loss = nll + 1.0 * torch.linalg.vector_norm(layer.weight)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(layer.parameters(), 1.0)
        opt.step()
        sched.step()
    np.testing.assert_allclose(fit.weight, layer.weight.detach().numpy().ravel(), rtol=1e-4)
