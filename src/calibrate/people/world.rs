//! From the bundle's frame (the reference camera's, at an arbitrary scale) to the world's: metres
//! from the people's height or a known distance between two cameras, Z up out of the floor the
//! people walk on, the origin on the floor under where they walked, X along the reference camera's
//! view of the floor.

use std::collections::HashMap;

use nalgebra::{Matrix3, Point3, Rotation3, SymmetricEigen, Vector3};

use super::initial::{Pose, Track};
use crate::motion::units::median;
use crate::pose::Skeleton;

/// Winter (2009): ankle to shoulder is this share of body height...
const ANKLE_TO_SHOULDER: f64 = 0.779;
/// ...and the ankle is this high above the floor.
const ANKLE_HEIGHT: f64 = 0.039;

/// What gives the rig its size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    /// The people's typical (median) height, metres.
    Height(f64),
    /// The distance between two cameras' centres, metres.
    Distance { cameras: [usize; 2], metres: f64 },
}

/// The bundle's frame placed in the world: `X_world = scale · R (X − origin)`.
#[derive(Debug, Clone, PartialEq)]
pub struct World {
    pub rotation: Rotation3<f64>,
    pub origin: Point3<f64>,
    pub scale: f64,
    /// The people's median height, metres (as measured, whatever gave the scale).
    pub people_height_m: f64,
    /// Whether the floor's tilt came from where the feet were (else from the bodies' mean upright).
    pub floor_from_feet: bool,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WorldError {
    #[error("the skeleton has no {0}: the floor and the people's height come from necks, hips, knees and ankles")]
    MissingPart(&'static str),
    #[error("no person was seen whole (ankles to shoulders) by two cameras at once: their height, the floor and the scale cannot be measured")]
    NoWholePerson,
}

/// The parts the floor and height are measured from, by side (right, left).
struct Parts {
    neck: usize,
    ankle: [usize; 2],
    knee: [usize; 2],
    hip: [usize; 2],
    shoulder: [usize; 2],
}

impl Parts {
    fn of(skeleton: &Skeleton) -> Result<Self, WorldError> {
        let find = |name: &'static str| {
            skeleton
                .parts
                .iter()
                .position(|p| p.name == name)
                .ok_or(WorldError::MissingPart(name))
        };
        Ok(Self {
            neck: find("neck")?,
            ankle: [find("right_ankle")?, find("left_ankle")?],
            knee: [find("right_knee")?, find("left_knee")?],
            hip: [find("right_hip")?, find("left_hip")?],
            shoulder: [find("right_shoulder")?, find("left_shoulder")?],
        })
    }
}

/// The world frame of a solved rig. `centres` are the cameras' centres in the bundle's frame.
pub fn place(
    skeleton: &Skeleton,
    tracks: &[Track],
    poses: &[Pose],
    reference: usize,
    scale: Scale,
) -> Result<World, WorldError> {
    let parts = Parts::of(skeleton)?;
    let people = people(tracks);
    let height = median(people.values().flat_map(|p| body_lengths(p, &parts)))
        .ok_or(WorldError::NoWholePerson)?
        / ANKLE_TO_SHOULDER;
    let up = upright(&people, &parts).ok_or(WorldError::NoWholePerson)?;
    let ankles: Vec<Point3<f64>> = people
        .values()
        .flat_map(|p| parts.ankle.iter().filter_map(|&a| p.get(&a).copied()))
        .collect();
    let (normal, on_floor, from_feet) = floor(&ankles, up, height);
    let level = normal.dot(&on_floor.coords) - ANKLE_HEIGHT * height;
    let z = normal;
    let look = poses[reference].rotation.inverse() * Vector3::z();
    let flat = look - z * look.dot(&z);
    let x = if flat.norm() > 1e-6 {
        flat.normalize()
    } else {
        let side = poses[reference].rotation.inverse() * Vector3::x();
        (side - z * side.dot(&z)).normalize()
    };
    let y = z.cross(&x);
    let rotation = Rotation3::from_matrix_unchecked(Matrix3::from_rows(&[
        x.transpose(),
        y.transpose(),
        z.transpose(),
    ]));
    let origin = on_floor - z * (z.dot(&on_floor.coords) - level);
    let factor = match scale {
        Scale::Height(m) => m / height,
        Scale::Distance {
            cameras: [a, b],
            metres,
        } => metres / (centre(&poses[a]) - centre(&poses[b])).norm().max(1e-12),
    };
    Ok(World {
        rotation,
        origin,
        scale: factor,
        people_height_m: height * factor,
        floor_from_feet: from_feet,
    })
}

impl World {
    /// A camera's pose in the world.
    pub fn pose(&self, p: &Pose) -> Pose {
        Pose {
            rotation: p.rotation * self.rotation.inverse(),
            translation: (p.rotation * self.origin.coords + p.translation) * self.scale,
        }
    }
}

fn centre(p: &Pose) -> Point3<f64> {
    Point3::from(-(p.rotation.inverse() * p.translation))
}

/// Each 3D person (set, reference person) as parts → points.
fn people(tracks: &[Track]) -> HashMap<(usize, usize), HashMap<usize, Point3<f64>>> {
    let mut out: HashMap<(usize, usize), HashMap<usize, Point3<f64>>> = HashMap::new();
    for t in tracks {
        out.entry((t.set, t.person))
            .or_default()
            .insert(t.part, t.point);
    }
    out
}

/// Ankle to shoulder along the limbs, per side seen whole.
fn body_lengths(p: &HashMap<usize, Point3<f64>>, parts: &Parts) -> Vec<f64> {
    (0..2)
        .filter_map(|s| {
            let chain = [
                parts.ankle[s],
                parts.knee[s],
                parts.hip[s],
                parts.shoulder[s],
            ];
            let points: Option<Vec<&Point3<f64>>> = chain.iter().map(|c| p.get(c)).collect();
            let points = points?;
            Some(points.windows(2).map(|w| (w[1] - w[0]).norm()).sum())
        })
        .collect()
}

/// The mean direction from the feet to the neck.
fn upright(
    people: &HashMap<(usize, usize), HashMap<usize, Point3<f64>>>,
    parts: &Parts,
) -> Option<Vector3<f64>> {
    let sum: Vector3<f64> = people
        .values()
        .filter_map(|p| {
            let neck = p.get(&parts.neck)?;
            let [right, left] = parts.ankle.map(|a| p.get(&a));
            let feet = Point3::from((right?.coords + left?.coords) / 2.0);
            Some((neck - feet).normalize())
        })
        .sum();
    (sum.norm() > 1e-9).then(|| sum.normalize())
}

/// The floor's normal (pointing `up`'s way), a point on the ankles' plane, and whether the feet
/// gave the tilt. The lower half of the ankles (feet on the ground rather than swinging) are
/// fitted by a plane when they spread over an area; otherwise the plane is square to `up`.
fn floor(
    ankles: &[Point3<f64>],
    up: Vector3<f64>,
    height: f64,
) -> (Vector3<f64>, Point3<f64>, bool) {
    // Only ankles within three body heights of their coordinate-wise median: wrong matches
    // triangulate far away, and far along a camera's axis looks low to a tilted `up`.
    let middle = Point3::from(Vector3::from_fn(|i, _| {
        median(ankles.iter().map(|a| a[i])).unwrap_or(0.0)
    }));
    let near: Vec<&Point3<f64>> = ankles
        .iter()
        .filter(|a| (**a - middle).norm() <= 3.0 * height)
        .collect();
    let level = median(near.iter().map(|a| up.dot(&a.coords))).unwrap_or(0.0);
    let low: Vec<&Point3<f64>> = near
        .into_iter()
        .filter(|a| up.dot(&a.coords) <= level)
        .collect();
    let n = low.len().max(1) as f64;
    let centroid = Point3::from(low.iter().map(|a| a.coords).sum::<Vector3<f64>>() / n);
    let scatter: Matrix3<f64> = low
        .iter()
        .map(|a| (*a - centroid) * (*a - centroid).transpose())
        .sum::<Matrix3<f64>>()
        / n;
    let eig = SymmetricEigen::new(scatter);
    let mut order: Vec<usize> = (0..3).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[a].total_cmp(&eig.eigenvalues[b]));
    let normal: Vector3<f64> = eig.eigenvectors.column(order[0]).into();
    let normal = if normal.dot(&up) < 0.0 {
        -normal
    } else {
        normal
    };
    // Feet spread over an area (a standard deviation of 15 % of a body height both ways, about a
    // metre across), and a plane no more than 30° off the bodies' upright.
    let spread = eig.eigenvalues[order[1]].max(0.0).sqrt() >= 0.15 * height;
    let agrees = normal.dot(&up) >= 30f64.to_radians().cos();
    if low.len() >= 10 && spread && agrees {
        (normal, centroid, true)
    } else {
        (up, centroid, false)
    }
}
