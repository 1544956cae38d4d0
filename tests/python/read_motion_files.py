"""Opens posecam's motion files with the field's readers and prints what they see, as JSON lines:
`.trc` with OpenSim (TimeSeriesTableVec3), `.mot` with OpenSim (TimeSeriesTable), `.c3d` with the
`c3d` package.

Usage: read_motion_files.py FILE...
"""
import json
import warnings
import sys

import numpy as np
import opensim

import c3d

warnings.simplefilter("ignore")  # "No analog data found": there is none, by design

for path in sys.argv[1:]:
    if path.endswith(".trc"):
        t = opensim.TimeSeriesTableVec3(path)
        first = t.getRowAtIndex(0)
        print(json.dumps({
            "file": path, "rows": t.getNumRows(), "columns": list(t.getColumnLabels()),
            "units": t.getTableMetaDataAsString("Units"),
            "rate": float(t.getTableMetaDataAsString("DataRate")),
            "first_time": t.getIndependentColumn()[0],
            "known_in_first_row": sum(1 for i in range(first.size()) if not np.isnan(first[i][0])),
        }))
    elif path.endswith(".mot"):
        t = opensim.TimeSeriesTable(path)
        print(json.dumps({
            "file": path, "rows": t.getNumRows(), "columns": list(t.getColumnLabels()),
            "in_degrees": t.getTableMetaDataAsString("inDegrees"),
        }))
    elif path.endswith(".c3d"):
        with open(path, "rb") as handle:
            r = c3d.Reader(handle)
            frames = [points for _, points, _ in r.read_frames()]
            print(json.dumps({
                "file": path, "rows": len(frames),
                "columns": [label.strip() for label in r.point_labels],
                "units": r.get("POINT:UNITS").string_value.strip(), "rate": float(r.point_rate),
                "known_in_first_row": int((frames[0][:, 3] >= 0).sum()),
            }))
