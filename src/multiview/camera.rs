//! A calibrated camera: OpenCV's pinhole model with its standard (Brown–Conrady) or fisheye lens
//! distortion, and a pose taking world points (metres) into the camera's frame, as OpenCV, Pose2Sim
//! and aniposelib write it. Pure geometry: no files.

use nalgebra::{Matrix3, Matrix3x4, Point3, Rotation3, Vector3};

/// A pixel or a point on the normalised image plane (`z = 1`).
pub type Xy = [f64; 2];

/// How the lens bends rays, in OpenCV's two models.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Lens {
    /// `k1 k2 p1 p2 k3` (Pose2Sim writes the first four, aniposelib all five).
    Standard { k: [f64; 3], p: [f64; 2] },
    /// OpenCV's fisheye (equidistant) model, `k1..k4`.
    Fisheye([f64; 4]),
}

impl Lens {
    pub const NONE: Lens = Lens::Standard {
        k: [0.0; 3],
        p: [0.0; 2],
    };

    /// The coefficients in file order.
    pub fn coefficients(&self) -> Vec<f64> {
        match *self {
            Lens::Standard { k, p } if k[2] == 0.0 => vec![k[0], k[1], p[0], p[1]],
            Lens::Standard { k, p } => vec![k[0], k[1], p[0], p[1], k[2]],
            Lens::Fisheye(k) => k.to_vec(),
        }
    }

    /// The coefficients in file order, 4 decimals each, for people to read.
    pub fn coefficients_text(&self) -> String {
        let terms: Vec<String> = self
            .coefficients()
            .iter()
            .map(|v| format!("{v:.4}"))
            .collect();
        terms.join(" ")
    }

    /// Distorts a point of the normalised image plane.
    pub fn distort(&self, [x, y]: Xy) -> Xy {
        match *self {
            Lens::Standard { k, p } => {
                let r2 = x * x + y * y;
                let radial = 1.0 + r2 * (k[0] + r2 * (k[1] + r2 * k[2]));
                [
                    x * radial + 2.0 * p[0] * x * y + p[1] * (r2 + 2.0 * x * x),
                    y * radial + p[0] * (r2 + 2.0 * y * y) + 2.0 * p[1] * x * y,
                ]
            }
            Lens::Fisheye(k) => {
                let r = (x * x + y * y).sqrt();
                if r < 1e-12 {
                    return [x, y];
                }
                let theta = r.atan();
                let scale = fisheye_theta_d(theta, &k) / r;
                [x * scale, y * scale]
            }
        }
    }

    /// Inverts [`Lens::distort`] (OpenCV's `undistortPoints`: fixed-point iterations, more of them).
    pub fn undistort(&self, [xd, yd]: Xy) -> Xy {
        match *self {
            Lens::Standard { k, p } => {
                let [mut x, mut y] = [xd, yd];
                for _ in 0..30 {
                    let r2 = x * x + y * y;
                    let radial = 1.0 + r2 * (k[0] + r2 * (k[1] + r2 * k[2]));
                    let dx = 2.0 * p[0] * x * y + p[1] * (r2 + 2.0 * x * x);
                    let dy = p[0] * (r2 + 2.0 * y * y) + 2.0 * p[1] * x * y;
                    [x, y] = [(xd - dx) / radial, (yd - dy) / radial];
                }
                [x, y]
            }
            Lens::Fisheye(k) => {
                let rd = (xd * xd + yd * yd).sqrt();
                if rd < 1e-12 {
                    return [xd, yd];
                }
                // Newton on θ_d(θ) = rd, from θ = rd.
                let mut theta = rd.min(std::f64::consts::FRAC_PI_2 - 1e-6);
                for _ in 0..20 {
                    let t2 = theta * theta;
                    let f = fisheye_theta_d(theta, &k) - rd;
                    let df = 1.0
                        + t2 * (3.0 * k[0]
                            + t2 * (5.0 * k[1] + t2 * (7.0 * k[2] + t2 * 9.0 * k[3])));
                    theta -= f / df;
                }
                let scale = theta.tan() / rd;
                [xd * scale, yd * scale]
            }
        }
    }
}

fn fisheye_theta_d(theta: f64, k: &[f64; 4]) -> f64 {
    let t2 = theta * theta;
    theta * (1.0 + t2 * (k[0] + t2 * (k[1] + t2 * (k[2] + t2 * k[3]))))
}

/// One calibrated view.
#[derive(Debug, Clone, PartialEq)]
pub struct Camera {
    pub name: String,
    /// Width and height in pixels of the images it was calibrated on.
    pub size: [u32; 2],
    /// The intrinsic matrix `K`.
    pub matrix: Matrix3<f64>,
    pub lens: Lens,
    /// World to camera (OpenCV: x right, y down, z forward).
    pub rotation: Rotation3<f64>,
    pub translation: Vector3<f64>,
}

impl Camera {
    /// A world point in the camera's frame.
    pub fn to_camera(&self, p: &Point3<f64>) -> Vector3<f64> {
        self.rotation * p.coords + self.translation
    }

    /// Where the camera is, in the world.
    pub fn centre(&self) -> Point3<f64> {
        Point3::from(-(self.rotation.inverse() * self.translation))
    }

    /// The direction the camera looks along, in the world.
    pub fn axis(&self) -> Vector3<f64> {
        self.rotation.inverse() * Vector3::z()
    }

    /// `[R | t]`: the projection onto the normalised image plane.
    pub fn pose_matrix(&self) -> Matrix3x4<f64> {
        let mut m = Matrix3x4::zeros();
        m.fixed_view_mut::<3, 3>(0, 0)
            .copy_from(self.rotation.matrix());
        m.set_column(3, &self.translation);
        m
    }

    /// Pixels between `pixel` and where `p` projects (`None` behind the camera).
    pub fn pixel_error(&self, pixel: Xy, p: &Point3<f64>) -> Option<f64> {
        let [u, v] = self.project(p)?;
        Some((u - pixel[0]).hypot(v - pixel[1]))
    }

    /// The pixel a world point lands on (`None` behind the camera).
    pub fn project(&self, p: &Point3<f64>) -> Option<Xy> {
        let c = self.to_camera(p);
        (c.z > 1e-9).then(|| self.to_pixel(self.lens.distort([c.x / c.z, c.y / c.z])))
    }

    /// A distorted point of the normalised plane in pixels.
    fn to_pixel(&self, [x, y]: Xy) -> Xy {
        let k = &self.matrix;
        [
            k[(0, 0)] * x + k[(0, 1)] * y + k[(0, 2)],
            k[(1, 1)] * y + k[(1, 2)],
        ]
    }

    /// A pixel on the undistorted normalised image plane: the ray through it is `(x, y, 1)`.
    pub fn normalise(&self, [u, v]: Xy) -> Xy {
        let k = &self.matrix;
        let y = (v - k[(1, 2)]) / k[(1, 1)];
        let x = (u - k[(0, 2)] - k[(0, 1)] * y) / k[(0, 0)];
        self.lens.undistort([x, y])
    }

    /// Pixels per unit of the normalised plane (to turn plane distances into pixels).
    pub fn focal(&self) -> f64 {
        0.5 * (self.matrix[(0, 0)] + self.matrix[(1, 1)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn camera(lens: Lens) -> Camera {
        Camera {
            name: "c".into(),
            size: [1088, 1920],
            matrix: Matrix3::new(1681.2, 0.0, 533.0, 0.0, 1681.1, 948.1, 0.0, 0.0, 1.0),
            lens,
            rotation: Rotation3::from_scaled_axis(Vector3::new(1.69, 1.05, -0.42)),
            translation: Vector3::new(0.32, 0.96, 2.89),
        }
    }

    #[test]
    fn undistorting_inverts_distorting_for_both_models() {
        let lenses = [
            Lens::Standard {
                k: [-0.046, 0.14, 0.01],
                p: [0.0006, 0.0007],
            },
            Lens::Fisheye([0.05, -0.01, 0.002, -0.0005]),
        ];
        for lens in lenses {
            for xy in [[0.0, 0.0], [0.3, -0.2], [-0.5, 0.6], [0.1, 0.9]] {
                let back = lens.undistort(lens.distort(xy));
                assert!(
                    (back[0] - xy[0]).abs() < 1e-9 && (back[1] - xy[1]).abs() < 1e-9,
                    "{lens:?} {xy:?} -> {back:?}"
                );
            }
        }
    }

    #[test]
    fn a_projected_point_normalises_back_onto_its_ray() {
        let cam = camera(Lens::Standard {
            k: [-0.046, 0.14, 0.0],
            p: [0.0006, 0.0007],
        });
        let p = Point3::new(0.2, -0.3, 1.1);
        let px = cam.project(&p).expect("in front");
        let [x, y] = cam.normalise(px);
        let c = cam.to_camera(&p);
        assert!((x - c.x / c.z).abs() < 1e-9 && (y - c.y / c.z).abs() < 1e-9);
        // The centre projects nowhere; a point behind the camera neither.
        let behind = cam.centre() - cam.axis();
        assert!(cam.project(&behind).is_none());
    }
}
