//! Pose2Sim's and aniposelib's TOML: a table per camera with `name`, `size`, `matrix`,
//! `distortions`, `rotation` (Rodrigues, world to camera), `translation` and `fisheye`; a
//! `metadata` table beside them.

use nalgebra::{Matrix3, Rotation3, Vector3};
use toml::Value;

use super::FormatError;
use crate::multiview::camera::{Camera, Lens};
use crate::multiview::rig::check_rotation;

/// The cameras of a TOML calibration, in file order.
pub(super) fn parse(text: &str) -> Result<Vec<Camera>, FormatError> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| format!("not a TOML calibration: {}", e.message()))?;
    let mut cameras = Vec::new();
    for (key, value) in table.iter().filter(|(k, _)| k.as_str() != "metadata") {
        let Value::Table(t) = value else {
            continue;
        };
        cameras.push(camera(key, t).map_err(|e| format!("camera [{key}]: {e}"))?);
    }
    if cameras.is_empty() {
        return Err("no camera table (expected [cam01] with name, size, matrix, distortions, rotation, translation)".into());
    }
    Ok(cameras)
}

fn numbers(t: &toml::Table, field: &str) -> Result<Vec<f64>, FormatError> {
    let v = t.get(field).ok_or_else(|| format!("no `{field}`"))?;
    let mut out = Vec::new();
    flatten(v, &mut out).ok_or_else(|| format!("`{field}` is not a list of numbers"))?;
    if out.iter().any(|x| !x.is_finite()) {
        return Err(format!("`{field}` holds a value that is not a number").into());
    }
    Ok(out)
}

fn flatten(v: &Value, out: &mut Vec<f64>) -> Option<()> {
    match v {
        Value::Float(f) => out.push(*f),
        Value::Integer(i) => out.push(*i as f64),
        Value::Array(a) => a.iter().try_for_each(|x| flatten(x, out))?,
        _ => return None,
    }
    Some(())
}

fn camera(key: &str, t: &toml::Table) -> Result<Camera, FormatError> {
    let name = match t.get("name") {
        Some(Value::String(s)) => s.clone(),
        _ => key.to_string(),
    };
    let size = numbers(t, "size")?;
    let [w, h] = size[..] else {
        return Err("`size` must be [width, height]".into());
    };
    if !(w >= 1.0 && h >= 1.0) {
        return Err(format!("`size` [{w}, {h}] is not an image size").into());
    }
    let m = numbers(t, "matrix")?;
    if m.len() != 9 {
        return Err("`matrix` must be 3×3".into());
    }
    let matrix = Matrix3::from_row_slice(&m);
    if matrix[(0, 0)] <= 0.0 || matrix[(1, 1)] <= 0.0 {
        return Err("`matrix` has a focal length that is not positive".into());
    }
    let fisheye = matches!(t.get("fisheye"), Some(Value::Boolean(true)));
    let lens = lens(&numbers(t, "distortions")?, fisheye)?;
    let r = numbers(t, "rotation")?;
    let rotation = match r.len() {
        3 => Rotation3::from_scaled_axis(Vector3::new(r[0], r[1], r[2])),
        9 => {
            let m = Matrix3::from_row_slice(&r);
            check_rotation(&name, &m).map_err(|e| e.to_string())?;
            Rotation3::from_matrix_unchecked(m)
        }
        n => {
            return Err(
                format!("`rotation` has {n} values: a Rodrigues vector has 3 (a matrix 9)").into(),
            )
        }
    };
    let tr = numbers(t, "translation")?;
    let [tx, ty, tz] = tr[..] else {
        return Err("`translation` must have 3 values".into());
    };
    Ok(Camera {
        name,
        size: [w.round() as u32, h.round() as u32],
        matrix,
        lens,
        rotation,
        translation: Vector3::new(tx, ty, tz),
    })
}

fn lens(d: &[f64], fisheye: bool) -> Result<Lens, FormatError> {
    if fisheye {
        let [k1, k2, k3, k4] = d[..] else {
            return Err(format!("a fisheye lens has 4 distortion terms, not {}", d.len()).into());
        };
        return Ok(Lens::Fisheye([k1, k2, k3, k4]));
    }
    match d[..] {
        [k1, k2, p1, p2] => Ok(Lens::Standard {
            k: [k1, k2, 0.0],
            p: [p1, p2],
        }),
        [k1, k2, p1, p2, k3] => Ok(Lens::Standard {
            k: [k1, k2, k3],
            p: [p1, p2],
        }),
        _ => Err(format!(
            "`distortions` has {} terms: expected k1 k2 p1 p2 [k3]",
            d.len()
        )
        .into()),
    }
}

/// What `[metadata]` says beyond Pose2Sim's own two keys (which Pose2Sim and aniposelib ignore).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    /// Per camera, the RMS reprojection error of the calibration that made it, in pixels.
    pub rms_px: Vec<(String, f64)>,
}

/// Cameras in Pose2Sim's `Calib.toml` layout (which aniposelib also reads).
pub fn to_pose2sim_toml(cameras: &[Camera], metadata: &Metadata) -> String {
    let list = |v: &[f64]| {
        let items: Vec<String> = v.iter().map(|x| format!("{x:?}")).collect();
        format!("[ {}]", items.join(", "))
    };
    let mut out = String::new();
    for cam in cameras {
        let k = &cam.matrix;
        let rows: Vec<String> = (0..3)
            .map(|r| list(&[k[(r, 0)], k[(r, 1)], k[(r, 2)]]))
            .collect();
        let r = cam.rotation.scaled_axis();
        let t = &cam.translation;
        out.push_str(&format!(
            "[{key}]\nname = {name}\nsize = {size}\nmatrix = [ {matrix}]\ndistortions = {dist}\nrotation = {rot}\ntranslation = {tr}\nfisheye = {fish}\n\n",
            key = toml_key(&cam.name),
            name = Value::String(cam.name.clone()),
            size = list(&[cam.size[0] as f64, cam.size[1] as f64]),
            matrix = rows.join(", "),
            dist = list(&cam.lens.coefficients()),
            rot = list(&[r.x, r.y, r.z]),
            tr = list(&[t.x, t.y, t.z]),
            fish = matches!(cam.lens, Lens::Fisheye(_)),
        ));
    }
    out.push_str("[metadata]\nadjusted = false\nerror = 0.0\n");
    if !metadata.rms_px.is_empty() {
        let items: Vec<String> = metadata
            .rms_px
            .iter()
            .map(|(name, e)| format!("{} = {e:.4}", toml_key(name)))
            .collect();
        out.push_str(&format!("rms_px = {{ {} }}\n", items.join(", ")));
    }
    out
}

fn toml_key(name: &str) -> String {
    let bare = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        name.to_string()
    } else {
        Value::String(name.to_string()).to_string()
    }
}
