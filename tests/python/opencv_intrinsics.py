"""OpenCV's own lens calibration of a folder of checkerboard pictures: the peer posecam's is checked against.

usage: opencv_intrinsics.py FOLDER COLS ROWS SQUARE_M

Finds the inner corners (COLS x ROWS) with cv2.findChessboardCorners, refines them with cornerSubPix,
and runs cv2.calibrateCamera with k1 k2 p1 p2 (k3 fixed, as posecam's default). Prints one JSON object:
the matrix, the distortions, the overall RMS reprojection error and the pictures used.
"""
import glob
import json
import os
import sys

import cv2
import numpy as np


def main(folder, cols, rows, square):
    board = np.zeros((cols * rows, 3), np.float32)
    board[:, :2] = np.mgrid[0:cols, 0:rows].T.reshape(-1, 2) * square
    objects, images, used, size = [], [], [], None
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 0.001)
    for path in sorted(glob.glob(os.path.join(folder, "*"))):
        gray = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
        if gray is None:
            continue
        size = gray.shape[::-1]
        found, corners = cv2.findChessboardCorners(gray, (cols, rows), None)
        if not found:
            continue
        corners = cv2.cornerSubPix(gray, corners, (11, 11), (-1, -1), criteria)
        objects.append(board)
        images.append(corners)
        used.append(os.path.basename(path))
    rms, k, dist, _, _ = cv2.calibrateCamera(objects, images, size, None, None,
                                             flags=cv2.CALIB_FIX_K3)
    print(json.dumps({"matrix": k.tolist(), "distortions": dist.ravel()[:4].tolist(), "rms": rms,
                      "used": used}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
