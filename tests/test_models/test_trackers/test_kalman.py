"""Kalman filter maths of the chained tracker, numbers worked out by hand."""
import pytest
import torch

from mmdmw.models.trackers.kalman import (MIN_SIZE, cxcywh_to_xyxy, kf_init,
                                          kf_predict, kf_update,
                                          pair_observation_cov,
                                          xyxy_to_cxcywh)


def test_box_conversions_round_trip():
    xyxy = torch.tensor([[10., 20., 30., 60.]])
    # centre (20, 40), size 20 x 40
    assert xyxy_to_cxcywh(xyxy).tolist() == [[20., 40., 20., 40.]]
    assert cxcywh_to_xyxy(xyxy_to_cxcywh(xyxy)).tolist() == xyxy.tolist()


def test_predict_by_hand():
    # per coordinate P = [[a, b], [b, c]] = [[4, 1], [1, 2]], q = 4:
    #   a' = a + 2b + c + q/4 = 4 + 2 + 2 + 1 = 9
    #   b' = b + c + q/2 = 1 + 2 + 2 = 5
    #   c' = c + q = 2 + 4 = 6
    pos = torch.tensor([[10., 20., 4., 8.]])
    vel = torch.tensor([[1., -2., 0., 0.5]])
    cov = torch.tensor([[4., 1., 2.]]).repeat(4, 1)[None]  # (1, 4, 3)
    new_pos, new_vel, new_cov = kf_predict(pos, vel, cov,
                                           torch.full((1, 4), 4.))
    assert new_pos.tolist() == [[11., 18., 4., 8.5]]
    assert new_vel.tolist() == vel.tolist()
    assert new_cov.tolist() == [[[9., 5., 6.]] * 4]


def test_predict_floors_a_shrinking_size():
    # MIN_SIZE = 1 px. Per track (cx, cy, w, h) and velocity:
    #   track 0: w 3 - 2.5 = 0.5 < 1 -> w' = 1, its shrink stops: v_w' = 0;
    #            h 8 - 1 = 7 >= 1 -> as without the floor (v_h stays -1);
    #            cx -5 - 10 = -15: centres are never floored
    #   track 1: w 0.5 + 0.2 = 0.7 < 1 -> w' = 1, but a growing size keeps
    #            its velocity (0.2); h 1 - 1 = 0 -> 1, v_h' = 0
    pos = torch.tensor([[-5., 20., 3., 8.], [0., 0., 0.5, 1.]])
    vel = torch.tensor([[-10., 0., -2.5, -1.], [0., 0., 0.2, -1.]])
    cov = torch.ones(2, 4, 3)
    new_pos, new_vel, new_cov = kf_predict(pos, vel, cov, torch.zeros(2, 4))
    assert MIN_SIZE == 1.0
    assert new_pos.tolist() == [[-15., 20., 1., 7.], [0., 0., 1., 1.]]
    torch.testing.assert_close(
        new_vel, torch.tensor([[-10., 0., 0., -1.], [0., 0., 0.2, 0.]]))
    # the covariance is the unconstrained one: a' = 1 + 2 + 1 = 4, b' = 2,
    # c' = 1
    assert new_cov.tolist() == [[[4., 2., 1.]] * 4] * 2
    # the inputs are not changed in place
    assert pos[0, 2].item() == 3. and vel[0, 2].item() == -2.5


def test_predict_many_frames_never_inverts_a_box():
    # w 20 shrinking 3 px/frame: unfloored, frame k has w = 20 - 3k, 0 at
    # k = 20/3 and -40 at k = 20; floored, it stops at 1 and stays there
    pos, vel = torch.tensor([[50., 50., 20., 40.]]), torch.tensor(
        [[0., 0., -3., -6.]])
    cov, q = torch.ones(1, 4, 3), torch.zeros(1, 4)
    for _ in range(20):
        pos, vel, cov = kf_predict(pos, vel, cov, q)
        box = cxcywh_to_xyxy(pos)[0]
        assert box[2] > box[0] and box[3] > box[1]
    assert pos.tolist() == [[50., 50., 1., 1.]]
    assert vel.tolist() == [[0., 0., 0., 0.]]


def test_update_by_hand():
    # P = [[3, 1], [1, 2]], R = [[1, 0], [0, 2]] -> S = [[4, 1], [1, 4]],
    # det 15, S^-1 = [[4, -1], [-1, 4]] / 15,
    # K = P S^-1 = [[11, 1], [2, 7]] / 15.
    # From x = (0, 0) with z = (15, 30): p = 11 + 2 = 13, v = 2 + 14 = 16.
    # P - K P = [[3 - 34/15, 1 - 13/15], [., 2 - 16/15]]
    #         = [[11/15, 2/15], [2/15, 14/15]]
    zeros = torch.zeros((1, 4))
    cov = torch.tensor([[3., 1., 2.]]).repeat(4, 1)[None]
    obs_cov = torch.tensor([[1., 0., 2.]]).repeat(4, 1)[None]
    pos, vel, new_cov = kf_update(zeros, zeros, cov, torch.full((1, 4), 15.),
                                  torch.full((1, 4), 30.), obs_cov)
    assert pos[0].tolist() == pytest.approx([13.] * 4)
    assert vel[0].tolist() == pytest.approx([16.] * 4)
    torch.testing.assert_close(
        new_cov[0], torch.tensor([[11 / 15, 2 / 15, 14 / 15]] * 4))


def test_pair_observation_cov_by_hand():
    # box 20 x 40, corner std 0.1 -> s = (2, 4, 2, 4), s^2 = (4, 16, 4, 16);
    # v0 = s^2 / 2 for cx, cy and 2 s^2 for w, h = (2, 8, 8, 32);
    # rho = 0.5: cov_pv = 0.5 v0, var_v = 2 * 0.5 * v0 = v0
    box = torch.tensor([[50., 100., 20., 40.]])
    cov = pair_observation_cov(box, 0.1, 0.5)
    torch.testing.assert_close(
        cov[0], torch.tensor([[2., 1., 2.], [8., 4., 8.], [8., 4., 8.],
                              [32., 16., 32.]]))
    # independent boxes (rho 0): the velocity's error variance is twice the
    # position's, and they covary by the position's variance
    assert pair_observation_cov(box, 0.1, 0.0)[0, 0].tolist() == \
        pytest.approx([2., 2., 4.])


def test_pair_observation_cov_matches_sampled_corner_errors():
    # the formula against the errors it models: corners of the two boxes
    # with std s and correlation rho, 200k draws, cx and w of one box
    gen = torch.Generator().manual_seed(0)
    rho, s, n = 0.6, 2.0, 200_000
    shared = torch.randn(n, 2, generator=gen)  # x1, x2
    prev = s * (rho**0.5 * shared + (1 - rho)**0.5 * torch.randn(
        n, 2, generator=gen))
    cur = s * (rho**0.5 * shared + (1 - rho)**0.5 * torch.randn(
        n, 2, generator=gen))
    def cx_w(e):
        return torch.stack([(e[:, 0] + e[:, 1]) / 2, e[:, 1] - e[:, 0]], 1)
    z_p, z_v = cx_w(cur), cx_w(cur) - cx_w(prev)  # (n, 2) errors
    expected = pair_observation_cov(torch.tensor([[0., 0., 20., 40.]]),
                                    s / 20, rho)[0]  # x scale: width 20
    for coord, k in ((0, 0), (2, 1)):  # cx, w
        got = [z_p[:, k].var(), (z_p[:, k] * z_v[:, k]).mean(),
               z_v[:, k].var()]
        assert torch.tensor(got).tolist() == pytest.approx(
            expected[coord].tolist(), rel=0.03)


def test_init_by_hand():
    # position variance = the observation's; velocity = the pair difference
    # with variance (0.1 * size)^2 = (4, 16, 4, 16); no covariance
    z_p = torch.tensor([[50., 100., 20., 40.]])
    z_v = torch.tensor([[1., 2., 0., 0.]])
    obs_cov = pair_observation_cov(z_p, 0.1, 0.5)
    pos, vel, cov = kf_init(z_p, z_v, obs_cov, 0.1)
    assert pos.tolist() == z_p.tolist() and vel.tolist() == z_v.tolist()
    torch.testing.assert_close(
        cov[0], torch.tensor([[2., 0., 4.], [8., 0., 16.], [8., 0., 4.],
                              [32., 0., 16.]]))


def test_empty_inputs():
    empty = torch.zeros((0, 4))
    pos, vel, cov = kf_predict(empty, empty, torch.zeros((0, 4, 3)), empty)
    assert pos.shape == (0, 4) and cov.shape == (0, 4, 3)
    pos, vel, cov = kf_update(empty, empty, torch.zeros((0, 4, 3)), empty,
                              empty, torch.zeros((0, 4, 3)))
    assert pos.shape == (0, 4) and cov.shape == (0, 4, 3)
