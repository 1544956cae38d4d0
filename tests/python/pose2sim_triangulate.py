"""Pose2Sim's own person association and triangulation on posecam's 2D, beside posecam's 3D.

usage: pose2sim_triangulate.py PROJECT OURS

PROJECT holds `pose/<cam>_json/` (posecam's --json-dir) and `calibration/Calib*.toml`; OURS is
posecam's 3D output folder. Pose2Sim runs as its multi-person demo is set up, except: the whole clip,
the COCO model, no interpolation (so only measured joints are compared) and no .c3d. Then both 3Ds are
scored the same way, and matched people compared. Prints one JSON object.
"""
import glob
import json
import os
import re
import sys
import tomllib

import cv2
import numpy as np

COCO18 = ["Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist", "RHip",
          "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar"]
MIN_SCORE, MAX_PX = 0.3, 15.0


def configure(project):
    import Pose2Sim
    demo = os.path.join(os.path.dirname(Pose2Sim.__file__), "Demo_MultiPerson", "Config.toml")
    text = open(demo).read()
    for key, value in [("frame_rate", "60"), ("frame_range", "'all'"), ("pose_model", "'COCO'"),
                       ("interpolation", "'none'"), ("fill_large_gaps_with", "'nan'"),
                       ("make_c3d", "false")]:
        text, n = re.subn(rf"(?m)^(\s*{key}\s*=\s*)[^#\n]*", lambda m: m.group(1) + value + " ", text)
        assert n >= 1, key
    open(os.path.join(project, "Config.toml"), "w").write(text)


def run_pose2sim(project):
    from Pose2Sim import Pose2Sim
    os.chdir(project)
    Pose2Sim.personAssociation()
    Pose2Sim.triangulation()
    return sorted(glob.glob(os.path.join(project, "pose-3d", "*.trc")))


def read_trc(path):
    """{(frame, marker): xyz} in the calibration's Z-up frame (the files are Y up: x,y,z = Y,Z,X)."""
    lines = open(path).read().splitlines()
    names = [n for n in lines[3].split("\t")[2:] if n]
    points = {}
    for line in lines[5:]:
        cells = line.split("\t")
        if len(cells) < 2 or not cells[0].strip():
            continue
        frame = int(float(cells[0])) - 1
        values = [float(v) if v.strip() not in ("", "nan", "NaN") else np.nan
                  for v in cells[2:2 + 3 * len(names)]]
        values += [np.nan] * (3 * len(names) - len(values))
        for i, name in enumerate(names):
            x, y, z = values[3 * i:3 * i + 3]
            if not np.isnan(x):
                points[(frame, name)] = np.array([z, x, y])
    return points


def detections(project, cams):
    out = []
    for cam in cams:
        frames = []
        for f in sorted(glob.glob(os.path.join(project, "pose", f"{cam['name']}_json", "*.json"))):
            people = json.load(open(f))["people"]
            frames.append(np.array([p["pose_keypoints_2d"] for p in people]).reshape(-1, 18, 3))
        out.append(frames)
    return out


def project_point(cam, xyz):
    p, _ = cv2.projectPoints(xyz.reshape(1, 1, 3), np.array(cam["rotation"], float),
                             np.array(cam["translation"], float), np.array(cam["matrix"], float),
                             np.array(cam["distortions"], float))
    return p.reshape(2)


def reprojection(points, cams, dets):
    """Per joint, the mean error over the views whose nearest same-part detection (score >= 0.3) lies
    within 15 px; joints with fewer than two such views are counted apart."""
    errors, unsupported = [], 0
    for (frame, name), xyz in points.items():
        if name not in COCO18:
            continue
        part = COCO18.index(name)
        near = []
        for cam, frames in zip(cams, dets):
            if frame >= len(frames) or len(frames[frame]) == 0:
                continue
            kp = frames[frame][:, part]
            kp = kp[kp[:, 2] >= MIN_SCORE]
            if len(kp):
                d = np.min(np.linalg.norm(kp[:, :2] - project_point(cam, xyz), axis=1))
                if d <= MAX_PX:
                    near.append(d)
        if len(near) >= 2:
            errors.append(float(np.mean(near)))
        else:
            unsupported += 1
    return errors, unsupported


def main():
    project, ours_dir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    calib = tomllib.load(open(glob.glob(os.path.join(project, "calibration", "*.toml"))[0], "rb"))
    cams = sorted((v for v in calib.values() if isinstance(v, dict) and "matrix" in v),
                  key=lambda c: c["name"])
    dets = detections(project, cams)
    configure(project)
    theirs = {os.path.basename(p): read_trc(p) for p in run_pose2sim(project)}
    ours = {os.path.basename(p): read_trc(p)
            for p in sorted(glob.glob(os.path.join(ours_dir, "*_person*.trc")))}
    report = {}
    for label, group in (("posecam", ours), ("pose2sim", theirs)):
        all_errors, people = [], {}
        for name, points in group.items():
            errors, unsupported = reprojection(points, cams, dets)
            all_errors += errors
            people[name] = {"joints": len(points), "unsupported": unsupported,
                            "median_px": float(np.median(errors)) if errors else None}
        report[label] = {"people": people, "median_px": float(np.median(all_errors)),
                         "joints": sum(len(p) for p in group.values())}
    matches = []
    for name, points in theirs.items():
        best = None
        for our_name, our_points in ours.items():
            common = [k for k in points if k in our_points]
            if len(common) < 50:
                continue
            d = np.array([np.linalg.norm(points[k] - our_points[k]) for k in common])
            if best is None or np.median(d) < best["median_m"]:
                best = {"pose2sim": name, "posecam": our_name, "joints": len(common),
                        "median_m": float(np.median(d)), "p90_m": float(np.percentile(d, 90))}
        if best:
            matches.append(best)
    report["matches"] = matches
    print(json.dumps(report))


if __name__ == "__main__":
    main()
