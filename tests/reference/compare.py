import sys, json, subprocess, numpy as np
import os; sys.path.insert(0, os.path.dirname(__file__)); from cmu_reference import run
model = os.path.join(os.path.dirname(__file__), '../../../shared/models/tfpose-mobilenet-v2-small.onnx')
tot_d = []; tot_parts = 0; mism = 0
for path in sys.argv[1:]:
    ref = [np.array(p).reshape(18, 3) for p in run(model, path)]
    out = subprocess.run([os.path.join(os.path.dirname(__file__), '../../target/release/posecam'), 'image', path, '--model', model], capture_output=True, text=True).stdout
    ours = [np.array(p['pose_keypoints_2d']).reshape(18, 3) for p in json.loads(out)['people']]
    used = set(); dists = []; part_mismatch = 0
    for r in ref:
        best = None
        for i, o in enumerate(ours):
            if i in used: continue
            both = (r[:, 2] > 0) & (o[:, 2] > 0)
            if not both.any(): continue
            d = np.median(np.hypot(*(r[both, :2] - o[both, :2]).T))
            if best is None or d < best[0]: best = (d, i)
        if best is None: part_mismatch += int((r[:, 2] > 0).sum()); continue
        used.add(best[1]); o = ours[best[1]]
        both = (r[:, 2] > 0) & (o[:, 2] > 0)
        dists += list(np.hypot(*(r[both, :2] - o[both, :2]).T))
        part_mismatch += int(((r[:, 2] > 0) != (o[:, 2] > 0)).sum())
    tot_d += dists; tot_parts += sum(int((r[:, 2] > 0).sum()) for r in ref); mism += part_mismatch
    print(f"{path.split('/')[-1]:38s} people ref {len(ref)} ours {len(ours)}  median {np.median(dists) if dists else 0:.2f}px  p95 {np.percentile(dists,95) if dists else 0:.2f}px  part presence mismatches {part_mismatch}")
print(f"ALL: {len(tot_d)} shared keypoints, median {np.median(tot_d):.2f}px, p95 {np.percentile(tot_d,95):.2f}px, max {np.max(tot_d):.1f}px; presence mismatches {mism}/{tot_parts}")
