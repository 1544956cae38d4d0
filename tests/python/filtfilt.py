"""SciPy's zero-lag Butterworth on the samples in argv[1] (one per line): prints one per line.

Usage: filtfilt.py SAMPLES ORDER CUTOFF_HZ RATE_HZ -- ORDER counts both passes, as Pose2Sim does.
"""
import sys

import numpy as np
from scipy import signal

x = np.loadtxt(sys.argv[1])
order, cutoff, rate = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
b, a = signal.butter(order // 2, cutoff / (rate / 2), "low")
for v in signal.filtfilt(b, a, x):
    print(repr(float(v)))
