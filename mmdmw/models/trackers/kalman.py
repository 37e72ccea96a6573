"""Constant-velocity Kalman filter over boxes, vectorised, as pure functions.

Shape letters: T tracks. A box state is its centre and size ``(cx, cy, w,
h)`` (4 coordinates) and their per-frame velocities. The model is the
textbook constant-velocity one (e.g. Bar-Shalom, *Estimation with
Applications to Tracking*, ch. 6), chosen in ``cx, cy, w, h`` rather than
ByteTrack's ``cx, cy, a, h`` because a node's corners carry independent
errors: in ``cx, cy, w, h`` those give independent errors per coordinate
(``cx = (x1 + x2) / 2`` and ``w = x2 - x1`` are uncorrelated when ``x1`` and
``x2`` are), whereas the aspect ratio ``a = w / h`` would mix width and
height noise.

With the transition, the process noise and the observation noise all
block-diagonal over coordinates, the 8-dimensional filter splits exactly into
4 independent 2-state filters (position ``p``, velocity ``v``) per track. A
covariance is therefore stored as ``(T, 4, 3)``: ``[var_p, cov_pv, var_v]``
per coordinate, and every step is closed-form 2 x 2 algebra on tensors.

Observations of a node (the chained tracker's pair of boxes of one person in
frames t-1 and t): position ``z_p`` = the frame t box, velocity ``z_v`` = the
frame t box minus the frame t-1 box, i.e. H = I per coordinate.

Sizes have a floor, :data:`MIN_SIZE`: a prediction never takes a width or
height below it (see :func:`kf_predict`), so a track extrapolated over a long
gap while it was shrinking keeps a valid box (``x2 > x1``, ``y2 > y1``).
"""
from typing import Tuple

import torch
from torch import Tensor

#: Keeps the 2 x 2 innovation determinant away from zero.
DET_EPS = 1e-12
#: Smallest width and height of a predicted box, and of the size that scales
#: the noises, in pixels.
MIN_SIZE = 1.0


def xyxy_to_cxcywh(boxes: Tensor) -> Tensor:
    """(T, 4) x1y1x2y2 -> (T, 4) cx, cy, w, h."""
    xy1, xy2 = boxes[:, :2], boxes[:, 2:]
    return torch.cat([(xy1 + xy2) / 2, xy2 - xy1], dim=1)


def cxcywh_to_xyxy(boxes: Tensor) -> Tensor:
    """(T, 4) cx, cy, w, h -> (T, 4) x1y1x2y2."""
    centre, half = boxes[:, :2], boxes[:, 2:] / 2
    return torch.cat([centre - half, centre + half], dim=1)


def coordinate_scale(boxes: Tensor) -> Tensor:
    """Size that scales each coordinate's noise: ``(w, h, w, h)``.

    Args:
        boxes (Tensor): (T, 4) cx, cy, w, h (sizes clamped at
            :data:`MIN_SIZE`).

    Returns:
        Tensor: (T, 4) widths for ``cx, w`` and heights for ``cy, h``.
    """
    wh = boxes[:, 2:].clamp(min=MIN_SIZE)
    return torch.cat([wh, wh], dim=1)


def pair_observation_cov(boxes: Tensor, corner_std: float,
                         pair_correlation: float) -> Tensor:
    """Covariance of a node's (position, velocity) observation.

    Each corner coordinate of each of the node's two boxes has an error of
    std ``s = corner_std * size`` (width for x, height for y); the frame t-1
    and frame t errors of one corner correlate with ``rho``. Then per
    coordinate, with ``v0 = s**2 / 2`` for ``cx, cy`` and ``v0 = 2 s**2`` for
    ``w, h``:

        var(z_p) = v0,  cov(z_p, z_v) = (1 - rho) v0,
        var(z_v) = 2 (1 - rho) v0,

    since ``z_v`` error = ``e_t - e_(t-1)``: ``var = 2 v0 - 2 rho v0`` and
    ``cov(e_t, e_t - e_(t-1)) = v0 - rho v0``.

    Args:
        boxes (Tensor): (T, 4) observed cx, cy, w, h.
        corner_std (float): Corner error std, fraction of the box size.
        pair_correlation (float): rho in [0, 1).

    Returns:
        Tensor: (T, 4, 3) ``[var_p, cov_pv, var_v]`` per coordinate.
    """
    s2 = (corner_std * coordinate_scale(boxes))**2  # (T, 4)
    factor = s2.new_tensor([0.5, 0.5, 2.0, 2.0])  # cx, cy: /2; w, h: *2
    v0 = s2 * factor
    keep = 1.0 - pair_correlation
    return torch.stack([v0, keep * v0, 2 * keep * v0], dim=2)


def kf_init(z_p: Tensor, z_v: Tensor, obs_cov: Tensor,
            velocity_std: float) -> Tuple[Tensor, Tensor, Tensor]:
    """Start tracks from one observation each.

    The position takes the observation and its variance; the velocity takes
    the node's pair difference but with a wide variance ``(velocity_std *
    size)**2``, because a new person's pair may be one box twice (zero
    motion, not a measurement of it).

    Args:
        z_p (Tensor): (T, 4) observed cx, cy, w, h.
        z_v (Tensor): (T, 4) observed velocity (pair difference).
        obs_cov (Tensor): (T, 4, 3) from :func:`pair_observation_cov`.
        velocity_std (float): Initial velocity std, fraction of box size.

    Returns:
        tuple[Tensor, Tensor, Tensor]: position (T, 4), velocity (T, 4),
        covariance (T, 4, 3).
    """
    var_v = (velocity_std * coordinate_scale(z_p))**2
    cov = torch.stack(
        [obs_cov[..., 0], torch.zeros_like(var_v), var_v], dim=2)
    return z_p.clone(), z_v.clone(), cov


def kf_predict(pos: Tensor,
               vel: Tensor,
               cov: Tensor,
               accel_var: Tensor,
               min_size: float = MIN_SIZE) -> Tuple[Tensor, Tensor, Tensor]:
    """One frame ahead: ``x' = F x``, ``P' = F P F^T + Q``, sizes floored.

    Per coordinate ``F = [[1, 1], [0, 1]]`` and, for a white acceleration of
    variance ``q`` held over the frame (discrete white-noise acceleration
    model, dt = 1), ``Q = q [[1/4, 1/2], [1/2, 1]]``. With ``P = [[a, b],
    [b, c]]``:

        p' = p + v,  v' = v,
        a' = a + 2 b + c + q / 4,  b' = b + c + q / 2,  c' = c + q.

    Size floor (``w`` and ``h`` only): where ``p + v < min_size`` the size is
    set to ``min_size`` and a negative (shrinking) size velocity to 0, i.e.
    ``w' = max(w + v_w, min_size)`` and, at the floor, ``v_w' = max(v_w,
    0)``. A constant shrink rate extrapolated over a long gap would
    otherwise reach ``w <= 0`` and output an inverted box; a person's box
    does not shrink through zero, so the size stops at the floor and stays
    there until an observation moves it. Growth and the centre are
    untouched, and the covariance is the unconstrained one (the floor is a
    projection of the mean onto the valid sizes).

    Args:
        pos (Tensor): (T, 4) cx, cy, w, h.
        vel (Tensor): (T, 4) per-frame velocity.
        cov (Tensor): (T, 4, 3) ``[a, b, c]``.
        accel_var (Tensor): (T, 4) q per coordinate.
        min_size (float): Smallest predicted width and height, pixels.
            Defaults to :data:`MIN_SIZE` (1).

    Returns:
        tuple[Tensor, Tensor, Tensor]: predicted position, velocity,
        covariance (same shapes).
    """
    a, b, c = cov.unbind(dim=2)
    q = accel_var
    new_cov = torch.stack([a + 2 * b + c + q / 4, b + c + q / 2, c + q],
                          dim=2)
    new_pos, new_vel = pos + vel, vel.clone()
    size, size_vel = new_pos[:, 2:], new_vel[:, 2:]  # (T, 2) views: w, h
    floored = size < min_size  # (T, 2)
    size.clamp_(min=min_size)
    size_vel[floored] = size_vel[floored].clamp(min=0)
    return new_pos, new_vel, new_cov


def kf_update(pos: Tensor, vel: Tensor, cov: Tensor, z_p: Tensor,
              z_v: Tensor, obs_cov: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """Fuse a (position, velocity) observation, H = I per coordinate.

    ``S = P + R``, ``K = P S^-1``, ``x = x + K (z - x)``, ``P = P - K P``;
    with ``P = [[a, b], [b, c]]``, ``R = [[r, s], [s, u]]``, ``S = [[e, f],
    [f, g]]`` and ``d = e g - f**2``:

        K = [[a g - b f, b e - a f], [b g - c f, c e - b f]] / d.

    Args:
        pos, vel (Tensor): (T, 4) predicted state.
        cov (Tensor): (T, 4, 3) predicted covariance ``[a, b, c]``.
        z_p, z_v (Tensor): (T, 4) observed position and velocity.
        obs_cov (Tensor): (T, 4, 3) ``[r, s, u]``.

    Returns:
        tuple[Tensor, Tensor, Tensor]: posterior position, velocity,
        covariance.
    """
    # float64 inside: with a small observation noise, S is nearly singular
    # (Q has rank 1) and e g - f^2 cancels badly in float32
    dtype = pos.dtype
    cov, obs_cov = cov.double(), obs_cov.double()
    a, b, c = cov.unbind(dim=2)
    e, f, g = (cov + obs_cov).unbind(dim=2)
    d = (e * g - f * f).clamp(min=DET_EPS)
    k11, k12 = (a * g - b * f) / d, (b * e - a * f) / d
    k21, k22 = (b * g - c * f) / d, (c * e - b * f) / d
    dp, dv = (z_p - pos).double(), (z_v - vel).double()  # innovations
    new_pos = pos + (k11 * dp + k12 * dv).to(dtype)
    new_vel = vel + (k21 * dp + k22 * dv).to(dtype)
    # P - K P; the off-diagonal from the first row (symmetric in exact maths)
    new_cov = torch.stack([
        a - (k11 * a + k12 * b), b - (k11 * b + k12 * c),
        c - (k21 * b + k22 * c)
    ], dim=2).to(dtype)
    return new_pos, new_vel, new_cov
