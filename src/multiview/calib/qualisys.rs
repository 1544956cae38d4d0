//! Qualisys Track Manager's `.qca.txt`: intrinsics in sensor sub-pixels (×64, from the sensor's
//! corner, so the `fov_video` origin is subtracted), and each camera's pose in the world in mm
//! (`transform`: position x y z, rotation r11..r33).
//!
//! The conversion follows Pose2Sim's `calib_qca_fun` (rotation, axes turned by π about x, names in
//! natural order) with one exception: the distortion terms are kept as written. Pose2Sim divides
//! them by 64 too, which all but removes them. The rig's own checkerboards (264 grid lines of the
//! shared intrinsics photos) come out straighter undistorted as written (0.122 px RMS off straight)
//! than divided by 64 (0.137 px, the same as no distortion at all); the people of the demo, seen near
//! the middle of the frames, reproject alike with either (3.34 and 3.31 px median on the same 3719
//! sightings), so they cannot decide.

use nalgebra::{Matrix3, Rotation3, Vector3};

use super::FormatError;
use crate::multiview::camera::{Camera, Lens};
use crate::multiview::rig::check_rotation;

/// Qualisys' sub-pixels per pixel.
const SUBPIXELS: f64 = 64.0;

pub(super) fn parse(text: &str) -> Result<Vec<Camera>, FormatError> {
    let doc =
        roxmltree::Document::parse(text).map_err(|e| format!("not a Qualisys XML file: {e}"))?;
    let mut cameras = Vec::new();
    for node in doc.descendants().filter(|n| n.has_tag_name("camera")) {
        let name = node.attribute("serial").unwrap_or("camera").to_string();
        cameras.push(camera(node, &name).map_err(|e| format!("camera {name}: {e}"))?);
    }
    if cameras.is_empty() {
        return Err("no <camera> in <cameras>".into());
    }
    cameras.sort_by_key(|c| natural_key(&c.name));
    Ok(cameras)
}

fn child<'a>(
    node: roxmltree::Node<'a, 'a>,
    tag: &str,
) -> Result<roxmltree::Node<'a, 'a>, FormatError> {
    node.children()
        .find(|n| n.has_tag_name(tag))
        .ok_or_else(|| format!("no <{tag}>").into())
}

fn number(node: roxmltree::Node, attribute: &str) -> Result<f64, FormatError> {
    let text = node
        .attribute(attribute)
        .ok_or_else(|| format!("<{}> has no {attribute}", node.tag_name().name()))?;
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("{attribute}=\"{text}\" is not a number").into())
}

fn camera(node: roxmltree::Node, name: &str) -> Result<Camera, FormatError> {
    let fov = child(node, "fov_video")?;
    let [left, top, right, bottom] = ["left", "top", "right", "bottom"].map(|a| number(fov, a));
    let (left, top) = (left?, top?);
    let size = [right? - left + 1.0, bottom? - top + 1.0];
    if size.iter().any(|&s| s < 1.0) {
        return Err("fov_video is empty".into());
    }
    let i = child(node, "intrinsic")?;
    let px = |a: &str| number(i, a).map(|v| v / SUBPIXELS);
    let matrix = Matrix3::new(
        px("focalLengthU")?,
        0.0,
        px("centerPointU")? - left,
        0.0,
        px("focalLengthV")?,
        px("centerPointV")? - top,
        0.0,
        0.0,
        1.0,
    );
    let lens = Lens::Standard {
        k: [
            number(i, "radialDistortion1")?,
            number(i, "radialDistortion2")?,
            number(i, "radialDistortion3").unwrap_or(0.0),
        ],
        p: [
            number(i, "tangentalDistortion1")?,
            number(i, "tangentalDistortion2")?,
        ],
    };
    let t = child(node, "transform")?;
    let mut m = Matrix3::zeros();
    for r in 0..3 {
        for c in 0..3 {
            m[(r, c)] = number(t, &format!("r{}{}", r + 1, c + 1))?;
        }
    }
    check_rotation(name, &m).map_err(|e| e.to_string())?;
    let centre = Vector3::new(number(t, "x")?, number(t, "y")?, number(t, "z")?) / 1000.0;
    // Qualisys' camera looks down its −z with y up; OpenCV's looks down +z with y down.
    let rotation = Rotation3::from_matrix_unchecked(
        Matrix3::from_diagonal(&Vector3::new(1.0, -1.0, -1.0)) * m,
    );
    Ok(Camera {
        name: name.to_string(),
        size: size.map(|s| s.round() as u32),
        matrix,
        lens,
        translation: -(rotation * centre),
        rotation,
    })
}

/// "cam2" before "cam10".
fn natural_key(name: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut digits = String::new();
    for c in name.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            if !digits.is_empty() {
                out.push((
                    std::mem::take(&mut text),
                    digits.parse().unwrap_or(u64::MAX),
                ));
                digits.clear();
            }
            text.push(c);
        }
    }
    out.push((text, digits.parse().unwrap_or(0)));
    out
}
