//! The cameras of one scene, and the checks that catch a calibration that cannot be this scene's:
//! the wrong number of cameras, another video size, a camera looking away from the others.

use nalgebra::{Matrix3, Point3, Vector3};

use super::camera::Camera;

/// A calibration that cannot serve the views it was given, or that is not a rig at all.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RigError {
    #[error("the calibration has {cameras} camera{} but {views} view{} were given: give one video per camera, in the calibration's order ({names})", plural(*cameras), plural(*views))]
    ViewCount {
        cameras: usize,
        views: usize,
        names: String,
    },
    #[error("view {view} is {}×{} but camera {camera} was calibrated at {}×{}: use the videos the calibration was made for (or calibrate again)", video[0], video[1], calibrated[0], calibrated[1])]
    ViewSize {
        view: usize,
        camera: String,
        video: [u32; 2],
        calibrated: [u32; 2],
    },
    #[error("camera {camera}: the rotation is not a rotation ({detail})")]
    NotARotation { camera: String, detail: String },
    #[error("camera {camera} faces away from the scene: what the other cameras look at is behind it (a camera-to-world pose read as world-to-camera, or a sign flipped?)")]
    FacingAway { camera: String },
    #[error("a rig needs at least 2 cameras, this calibration has {0}")]
    TooFew(usize),
    #[error("cameras {0} and {1} have the same name")]
    SameName(String, String),
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Checks that a 3×3 matrix read from a file is a rotation (orthonormal, determinant +1).
pub fn check_rotation(camera: &str, m: &Matrix3<f64>) -> Result<(), RigError> {
    let err = |detail: String| RigError::NotARotation {
        camera: camera.to_string(),
        detail,
    };
    if m.iter().any(|v| !v.is_finite()) {
        return Err(err("it holds a value that is not a number".into()));
    }
    let off = (m.transpose() * m - Matrix3::identity()).abs().max();
    if off > 1e-3 {
        return Err(err(format!("RᵀR differs from the identity by {off:.3}")));
    }
    let det = m.determinant();
    if (det - 1.0).abs() > 1e-3 {
        return Err(err(format!("its determinant is {det:.3}, not 1")));
    }
    Ok(())
}

/// The cameras filming one scene, in the order of their views.
#[derive(Debug, Clone, PartialEq)]
pub struct Rig {
    pub cameras: Vec<Camera>,
}

impl Rig {
    /// A rig whose cameras all look at a common scene.
    pub fn new(cameras: Vec<Camera>) -> Result<Self, RigError> {
        if cameras.len() < 2 {
            return Err(RigError::TooFew(cameras.len()));
        }
        for (i, a) in cameras.iter().enumerate() {
            if let Some(b) = cameras[i + 1..].iter().find(|b| b.name == a.name) {
                return Err(RigError::SameName(a.name.clone(), b.name.clone()));
            }
            check_rotation(&a.name, a.rotation.matrix())?;
        }
        let rig = Self { cameras };
        rig.check_facing()?;
        Ok(rig)
    }

    pub fn len(&self) -> usize {
        self.cameras.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cameras.is_empty()
    }

    pub fn names(&self) -> String {
        let names: Vec<&str> = self.cameras.iter().map(|c| c.name.as_str()).collect();
        names.join(", ")
    }

    /// One view per camera, each of the size it was calibrated at.
    pub fn check_views(&self, sizes: &[[u32; 2]]) -> Result<(), RigError> {
        if sizes.len() != self.len() {
            return Err(RigError::ViewCount {
                cameras: self.len(),
                views: sizes.len(),
                names: self.names(),
            });
        }
        for (view, (cam, &video)) in self.cameras.iter().zip(sizes).enumerate() {
            if cam.size != video {
                return Err(RigError::ViewSize {
                    view: view + 1,
                    camera: cam.name.clone(),
                    video,
                    calibrated: cam.size,
                });
            }
        }
        Ok(())
    }

    /// Each camera must have in front of it the point the other cameras' axes pass nearest to.
    fn check_facing(&self) -> Result<(), RigError> {
        for (i, cam) in self.cameras.iter().enumerate() {
            let others: Vec<&Camera> = if self.len() == 2 {
                self.cameras.iter().collect()
            } else {
                self.cameras
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, c)| c)
                    .collect()
            };
            let Some(target) = nearest_to_axes(&others) else {
                continue;
            };
            if cam.to_camera(&target).z <= 0.0 {
                return Err(RigError::FacingAway {
                    camera: cam.name.clone(),
                });
            }
        }
        Ok(())
    }

    /// Distance between each pair of camera centres, in metres.
    pub fn baselines(&self) -> Vec<(usize, usize, f64)> {
        let mut out = Vec::new();
        for i in 0..self.len() {
            for j in i + 1..self.len() {
                let d = (self.cameras[i].centre() - self.cameras[j].centre()).norm();
                out.push((i, j, d));
            }
        }
        out
    }

    /// The point all cameras look at most nearly (least squares over their axes).
    pub fn look_at(&self) -> Option<Point3<f64>> {
        nearest_to_axes(&self.cameras.iter().collect::<Vec<_>>())
    }
}

/// The point nearest to every camera's optical axis, in the least-squares sense; `None` when the axes
/// are parallel.
fn nearest_to_axes(cameras: &[&Camera]) -> Option<Point3<f64>> {
    let mut a = Matrix3::zeros();
    let mut b = Vector3::zeros();
    for cam in cameras {
        let d = cam.axis().normalize();
        let m = Matrix3::identity() - d * d.transpose();
        a += m;
        b += m * cam.centre().coords;
    }
    let inv = a.try_inverse()?;
    (a.determinant().abs() > 1e-9).then(|| Point3::from(inv * b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::multiview::camera::Lens;
    use crate::multiview::synthetic::ring;
    use nalgebra::Rotation3;

    #[test]
    fn each_bad_rig_gets_its_error() {
        let rig = ring(4, Lens::NONE);
        assert!(rig.look_at().is_some_and(|p| p.coords.xy().norm() < 1e-6));
        assert!(matches!(
            rig.check_views(&[[1088, 1920]; 3]),
            Err(RigError::ViewCount { .. })
        ));
        let mut sizes = [[1088, 1920]; 4];
        sizes[2] = [1920, 1080];
        let e = rig.check_views(&sizes).expect_err("size");
        assert!(
            e.to_string()
                .contains("view 3 is 1920×1080 but camera cam03"),
            "{e}"
        );
        assert!(rig.check_views(&[[1088, 1920]; 4]).is_ok());
        // A camera turned round (its pose inverted by mistake).
        let mut cams = rig.cameras.clone();
        cams[1].rotation =
            Rotation3::from_axis_angle(&Vector3::y_axis(), std::f64::consts::PI) * cams[1].rotation;
        cams[1].translation = Rotation3::from_axis_angle(&Vector3::y_axis(), std::f64::consts::PI)
            * cams[1].translation;
        let e = Rig::new(cams).expect_err("facing away");
        assert_eq!(
            e,
            RigError::FacingAway {
                camera: "cam02".into()
            }
        );
        let bad = Matrix3::new(1.0, 0.0, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0, 1.0);
        assert!(check_rotation("c", &bad).is_err());
        let mirror = Matrix3::new(-1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0);
        assert!(check_rotation("c", &mirror)
            .unwrap_err()
            .to_string()
            .contains("determinant"));
    }
}
