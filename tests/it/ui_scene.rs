//! The scene window on the shared 4-camera demo, driven headless with egui_kittest: the four views
//! and the 3D view show, the 3D view orbits under the mouse, the triangulation sliders rebuild the 3D
//! at once, and the keys step and play.

use std::path::PathBuf;
use std::time::Instant;

use eframe::egui;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use posecam::infer::{Device, NetConfig};
use posecam::multiview::scene::Offset;
use posecam::pipeline::PipelineSettings;
use posecam::pose::Thresholds;
use posecam::ui::scene::{SceneApp, SceneEngines, SceneOptions};

use crate::common::{self, DEADLINE};

const DEMO: &str = "data/multiview/pose2sim-demo-multiperson";
const FRAMES: usize = 20;

fn open_demo() -> Option<Harness<'static, SceneApp>> {
    open_demo_with(Vec::new())
}

fn open_demo_with(offsets: Vec<Offset>) -> Option<Harness<'static, SceneApp>> {
    let model = common::shared_model()?;
    let calib = common::shared(&format!("{DEMO}/Calib.qca.txt"))?;
    let views: Vec<PathBuf> = (1..=4)
        .filter_map(|i| common::shared(&format!("{DEMO}/cam0{i}.mp4")))
        .collect();
    let app = SceneApp::new(SceneOptions {
        views,
        calib,
        engines: SceneEngines::Load {
            model,
            device: Device::Cpu,
        },
        pipeline: PipelineSettings {
            net: NetConfig::default(),
            thresholds: Thresholds::default(),
            tracking: None,
        },
        max_frames: FRAMES,
        offsets,
        sync: None,
    });
    Some(
        Harness::builder()
            .with_size(egui::vec2(1400.0, 860.0))
            .build_state(|ctx, app: &mut SceneApp| app.draw(ctx), app),
    )
}

#[test]
fn the_demo_shows_four_views_and_a_3d_view_that_orbits_and_sliders_that_act_at_once() {
    let Some(mut h) = open_demo() else { return };
    let deadline = Instant::now() + DEADLINE;
    while !h.state().is_ready() && h.state().error().is_none() && Instant::now() < deadline {
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(h.state().error(), None);
    assert!(h.state().is_ready(), "loaded before the deadline");
    h.run_steps(2);
    assert_eq!(h.state().frame_sets(), FRAMES);
    for cam in ["cam01", "cam02", "cam03", "cam04"] {
        let _ = h.get_by_label(&format!("view {cam}"));
        assert!(
            h.query_all_by_label_contains(&format!("{cam} · frame 0"))
                .next()
                .is_some(),
            "{cam} is shown at frame 0"
        );
    }
    for label in [
        "Max reprojection (px)",
        "Min views",
        "Frame set",
        "median reprojection",
        "bones within 20 %",
    ] {
        assert!(
            h.query_all_by_label_contains(label).next().is_some(),
            "{label}"
        );
    }
    assert!(
        h.state().people_now().len() >= 2,
        "the two main people in 3D"
    );

    // A drag across the 3D view turns it.
    let yaw = h.state().orbit.yaw;
    let r = h.get_by_label("3D view").rect();
    let (from, to) = (r.center(), r.center() + egui::vec2(120.0, 40.0));
    h.hover_at(from);
    h.drag_at(from);
    h.hover_at(to);
    h.drop_at(to);
    h.run_steps(2);
    assert!((h.state().orbit.yaw - yaw).abs() > 0.1, "the view orbits");

    // A tighter reprojection limit takes joints out at once; loosening it brings them back.
    let joints = h.state().joints_in_clip();
    h.state_mut().sliders.max_reprojection_px = 2.0;
    h.run_steps(2);
    let tight = h.state().joints_in_clip();
    assert!(tight < joints, "{tight} joints at 2 px, {joints} at 15 px");
    h.state_mut().sliders.max_reprojection_px = 15.0;
    h.run_steps(2);
    assert_eq!(h.state().joints_in_clip(), joints);

    h.key_press(egui::Key::ArrowRight);
    h.run_steps(2);
    assert_eq!(h.state().frame, 1, "the arrow steps");
    assert!(h
        .query_all_by_label_contains("cam01 · frame 1")
        .next()
        .is_some());
    h.key_press(egui::Key::Space);
    h.run_steps(1);
    assert!(h.state().playing, "space plays");
}

/// The main window opens a scene (its "Open scene…" dialog ends in `open_scene`) and goes back to
/// the single source.
#[test]
fn the_main_window_opens_a_scene_and_comes_back() {
    let (Some(model), Some(calib)) = (
        common::shared_model(),
        common::shared(&format!("{DEMO}/Calib.qca.txt")),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    // The first 15 frames of each view, copied as they are.
    let views: Vec<PathBuf> = (1..=4)
        .map(|i| {
            let src = common::shared(&format!("{DEMO}/cam0{i}.mp4")).expect("view");
            let short = dir.path().join(format!("cam0{i}.mp4"));
            let (src, dst) = (src.to_str().unwrap(), short.to_str().unwrap());
            common::ffmpeg(&["-i", src, "-frames:v", "15", "-c", "copy", dst]);
            short
        })
        .collect();
    let options = posecam::ui::StartOptions {
        source: None,
        model: Some(model),
        device: Some(Device::Cpu),
    };
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 860.0))
        .build_state(
            move |ctx, app: &mut Option<posecam::ui::PosecamApp>| {
                app.get_or_insert_with(|| posecam::ui::PosecamApp::new(ctx, None, options.clone()))
                    .draw(ctx);
            },
            None,
        );
    h.step();
    let _ = h.get_by_label("Open scene…");
    h.state_mut().as_mut().unwrap().open_scene(views, calib);
    let deadline = Instant::now() + DEADLINE;
    let ready = |h: &Harness<'static, Option<posecam::ui::PosecamApp>>| {
        let scene = h.state().as_ref().and_then(|a| a.in_scene());
        scene.is_some_and(|s| s.is_ready() || s.error().is_some())
    };
    while !ready(&h) && Instant::now() < deadline {
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let scene = h
        .state()
        .as_ref()
        .and_then(|a| a.in_scene())
        .expect("a scene");
    assert_eq!(scene.error(), None);
    assert_eq!(scene.frame_sets(), 15);
    h.run_steps(2);
    assert!(h
        .query_all_by_label_contains("cam04 · frame 0")
        .next()
        .is_some());
    h.get_by_label("◀ Back to the single view").click();
    h.run_steps(2);
    assert!(h.state().as_ref().unwrap().in_scene().is_none(), "back");
    assert!(h
        .query_all_by_label_contains("Open scene…")
        .next()
        .is_some());
}

#[test]
fn offsets_for_other_views_than_given_are_shown_as_the_reason() {
    let Some(mut h) = open_demo_with(vec![Offset::Frames(0.0), Offset::Seconds(0.1)]) else {
        return;
    };
    let deadline = Instant::now() + DEADLINE;
    while h.state().error().is_none() && Instant::now() < deadline {
        h.step();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    h.run_steps(2);
    let said = "--offsets has 2 values for 4 views";
    assert!(
        h.state().error().is_some_and(|e| e.contains(said)),
        "{:?}",
        h.state().error()
    );
    assert!(
        h.query_all_by_label_contains(said).next().is_some(),
        "shown"
    );
}
