"""Recomputes every angle of posecam's <stem>_angles.csv with Pose2Sim's own `fixed_angles` on the raw
keypoints of <stem>_motion.csv, turned to face right as Sports2D turns them, and prints one JSON
line: how many angles were compared and the largest difference in degrees.

Usage: pose2sim_angles.py MOTION_CSV ANGLES_CSV
"""
import json
import logging
import sys

logging.disable(logging.WARNING)
import pandas as pd  # noqa: E402
from Pose2Sim.common import angle_dict, fixed_angles  # noqa: E402

PARTS = {
    "RShoulder": "right_shoulder", "LShoulder": "left_shoulder", "RElbow": "right_elbow",
    "LElbow": "left_elbow", "RWrist": "right_wrist", "LWrist": "left_wrist", "RHip": "right_hip",
    "LHip": "left_hip", "RKnee": "right_knee", "LKnee": "left_knee", "RAnkle": "right_ankle",
    "LAnkle": "left_ankle", "Nose": "nose", "RBigToe": "right_big_toe", "LBigToe": "left_big_toe",
    "RHeel": "right_heel", "LHeel": "left_heel",
}

motion = pd.read_csv(sys.argv[1])
angles = pd.read_csv(sys.argv[2])
raw = motion.dropna(subset=["x", "y"])
points = {(r.frame, r.person, r.part): (r.x, r.y) for r in raw.itertuples()}


def flipped(x, part, side):
    """Sports2D's flip: all x for a person facing left, one side's for front and back views."""
    if side == "left" or (side == "front" and part.startswith("right_")) or (
        side == "back" and part.startswith("left_")
    ):
        return -x
    return x


def marker(frame, person, name, side):
    def at(part):
        p = points.get((frame, person, part))
        return None if p is None else (flipped(p[0], part, side), p[1])

    if name == "Neck":
        own = at("neck") or at("mid_neck")
        if own:
            return own
        pair = [at("right_shoulder"), at("left_shoulder")]
    elif name == "Hip":
        own = at("mid_hip")
        if own:
            return own
        pair = [at("right_hip"), at("left_hip")]
    else:
        return at(PARTS[name])
    if None in pair:
        return None
    return ((pair[0][0] + pair[1][0]) / 2, (pair[0][1] + pair[1][1]) / 2)


compared, worst, worst_row = 0, 0.0, None
for r in angles.dropna(subset=["raw_deg"]).itertuples():
    pts = [marker(r.frame, r.person, m, r.side) for m in angle_dict[r.angle][0]]
    if None in pts:
        continue
    theirs = float(fixed_angles(pts, r.angle))
    period = 180.0 if r.angle in ("pelvis", "shoulders") else 360.0
    diff = abs((r.raw_deg - theirs + period / 2) % period - period / 2)
    compared += 1
    if diff > worst:
        worst, worst_row = diff, [int(r.frame), int(r.person), r.angle, r.raw_deg, theirs]
print(json.dumps({"compared": compared, "max_diff_deg": worst, "worst": worst_row}))
