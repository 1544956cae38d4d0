//! The 3D view's camera: it orbits a target (Z up), pans and zooms, and projects world points onto
//! the screen. Pure math, tested without a window.

use eframe::egui::{Pos2, Rect, Vec2};
use nalgebra::{Point3, Vector3};

/// Where the 3D view looks from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Orbit {
    pub target: Point3<f64>,
    /// Around the vertical, radians.
    pub yaw: f64,
    /// Above the horizon, radians.
    pub pitch: f64,
    /// Metres from the target.
    pub distance: f64,
}

/// The vertical field of view.
const FOV: f64 = 0.87; // 50°
const NEAR: f64 = 0.05;
const PITCH_LIMIT: f64 = 1.45;

impl Orbit {
    /// Looking at `target` from far enough to see every point of `keep_in_view`.
    pub fn framing(target: Point3<f64>, keep_in_view: &[Point3<f64>]) -> Self {
        let reach = keep_in_view
            .iter()
            .map(|p| (p - target).norm())
            .fold(2.0, f64::max);
        Self {
            target,
            yaw: 0.6,
            pitch: 0.6,
            distance: 2.2 * reach,
        }
    }

    pub fn eye(&self) -> Point3<f64> {
        let (sy, cy) = self.yaw.sin_cos();
        let (sp, cp) = self.pitch.sin_cos();
        self.target + self.distance * Vector3::new(cp * cy, cp * sy, sp)
    }

    /// (right, up, forward) of the view, in the world.
    fn basis(&self) -> (Vector3<f64>, Vector3<f64>, Vector3<f64>) {
        let forward = (self.target - self.eye()).normalize();
        let right = forward.cross(&Vector3::z()).normalize();
        let up = right.cross(&forward);
        (right, up, forward)
    }

    /// Where `p` lands in `rect`; `None` behind the eye.
    pub fn project(&self, p: &Point3<f64>, rect: Rect) -> Option<Pos2> {
        let (right, up, forward) = self.basis();
        let d = p - self.eye();
        let depth = d.dot(&forward);
        if depth < NEAR {
            return None;
        }
        let focal = 0.5 * f64::from(rect.height().min(rect.width())) / (FOV / 2.0).tan();
        let x = focal * d.dot(&right) / depth;
        let y = focal * d.dot(&up) / depth;
        Some(rect.center() + Vec2::new(x as f32, -y as f32))
    }

    /// A drag of `delta` screen points turns the view round the target.
    pub fn turn(&mut self, delta: Vec2) {
        self.yaw -= f64::from(delta.x) * 0.01;
        self.pitch = (self.pitch + f64::from(delta.y) * 0.01).clamp(-PITCH_LIMIT, PITCH_LIMIT);
    }

    /// A drag of `delta` screen points moves the target across the view, by as much on screen.
    pub fn pan(&mut self, delta: Vec2, rect: Rect) {
        let (right, up, _) = self.basis();
        let focal = 0.5 * f64::from(rect.height().min(rect.width())) / (FOV / 2.0).tan();
        let metres_per_point = self.distance / focal;
        self.target -= metres_per_point * (f64::from(delta.x) * right - f64::from(delta.y) * up);
    }

    /// Scrolling up by `amount` points comes closer.
    pub fn zoom(&mut self, amount: f32) {
        self.distance = (self.distance * (-f64::from(amount) * 0.002).exp()).clamp(0.3, 500.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect() -> Rect {
        Rect::from_min_size(Pos2::ZERO, Vec2::new(800.0, 600.0))
    }

    #[test]
    fn the_target_is_in_the_middle_and_up_is_up() {
        let o = Orbit::framing(Point3::new(1.0, 2.0, 1.0), &[]);
        let c = o.project(&o.target, rect()).expect("in front");
        assert!((c - rect().center()).length() < 1e-3);
        let above = o
            .project(&(o.target + Vector3::z()), rect())
            .expect("in front");
        assert!(above.y < c.y, "higher in the world, higher on screen");
        assert!(o
            .project(&(o.eye() + (o.eye() - o.target)), rect())
            .is_none());
    }

    #[test]
    fn turning_panning_and_zooming_keep_their_promises() {
        let mut o = Orbit::framing(Point3::origin(), &[Point3::new(4.0, 0.0, 1.5)]);
        let side = Point3::new(1.0, 0.0, 0.0);
        let before = o.project(&side, rect()).unwrap();
        o.turn(Vec2::new(50.0, 0.0));
        assert_ne!(o.project(&side, rect()).unwrap(), before);
        // Panning by 30 points moves the old target 30 points the same way.
        let old = o.target;
        o.pan(Vec2::new(30.0, -20.0), rect());
        let moved = o.project(&old, rect()).unwrap() - rect().center();
        assert!((moved - Vec2::new(30.0, -20.0)).length() < 0.5, "{moved:?}");
        let d = o.distance;
        o.zoom(100.0);
        assert!(o.distance < d);
        o.turn(Vec2::new(0.0, 1e4));
        assert!(o.pitch <= PITCH_LIMIT);
    }
}
