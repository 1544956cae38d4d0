//! The second pass: with a first rig solved, the people are matched across all views again as the 3D
//! export matches them (every camera at once, through the rig), which links the joints the pairs of
//! the first pass missed or matched wrongly; the bundle then runs again on them.

use super::initial::{rig, triangulate, Pose, Track};
use super::observe::{Obs, Observations};
use crate::multiview::camera::Camera;
use crate::multiview::scene::{reconstruct, FrameSet, SceneSettings, ViewClip};

/// Every 3D person's joints seen by at least two views, triangulated through `poses`.
pub fn relink(
    lenses: &[Camera],
    poses: &[Pose],
    clips: &[ViewClip],
    sets: &[FrameSet],
    obs: &Observations,
    mirror: &[usize],
) -> Vec<Track> {
    let rig = rig(lenses, poses);
    let settings = SceneSettings {
        min_frames: 1,
        ..SceneSettings::default()
    };
    let scene = reconstruct(&rig, clips, sets.to_vec(), mirror, &settings);
    let mut tracks = Vec::new();
    for (set, people) in scene.people.iter().enumerate() {
        for (person, p) in people.iter().enumerate() {
            let parts = p.person.joints.len();
            for part in 0..parts {
                let sightings: Vec<(usize, Obs)> = p
                    .person
                    .members
                    .iter()
                    .filter_map(|m| {
                        let detection = obs.people(set, m.view).get(m.index)?;
                        let own = *m.parts.get(part)?;
                        Some((m.view, detection.get(own).copied().flatten()?))
                    })
                    .collect();
                if sightings.len() < 2 {
                    continue;
                }
                if let Some(point) = triangulate(&rig, &sightings) {
                    tracks.push(Track {
                        set,
                        person,
                        part,
                        sightings,
                        point,
                    });
                }
            }
        }
    }
    tracks
}
