//! The window, driven headless with egui_kittest: the panel is there, frames of a shared clip show
//! skeletons, a slider's change applies at once to a paused frame, and with no webcam the app says so.

use crate::common::{self, DEADLINE};

use std::time::{Duration, Instant};

use eframe::egui;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use posecam::capture::SourceSpec;
use posecam::ui::{PosecamApp, StartOptions};

fn harness(options: StartOptions) -> Harness<'static, Option<PosecamApp>> {
    Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .build_state(
            move |ctx, app: &mut Option<PosecamApp>| {
                app.get_or_insert_with(|| PosecamApp::new(ctx, None, options.clone()))
                    .draw(ctx);
            },
            None,
        )
}

/// Steps the UI until `done` or the deadline.
fn step_until(
    h: &mut Harness<'static, Option<PosecamApp>>,
    done: impl Fn(&PosecamApp) -> bool,
) -> bool {
    let deadline = Instant::now() + DEADLINE;
    while Instant::now() < deadline {
        h.step();
        if h.state().as_ref().is_some_and(&done) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn a_clip_shows_skeletons_and_the_peak_slider_acts_on_a_paused_frame() {
    let (Some(model), Some(clip)) = (
        common::shared_model(),
        common::shared("data/video/street-960x540-5f.mp4"),
    ) else {
        return;
    };
    // The street looped for a minute: still playing when paused, however slow the machine.
    let dir = tempfile::tempdir().unwrap();
    let long = dir.path().join("street-looped.mp4");
    let (clip, long_s) = (clip.to_str().unwrap(), long.to_str().unwrap());
    common::ffmpeg(&["-stream_loop", "60", "-i", clip, "-c", "copy", long_s]);
    let mut h = harness(StartOptions {
        source: Some(SourceSpec::Video(long)),
        model: Some(model),
        device: None,
    });
    assert!(
        step_until(&mut h, |app| app.people.len() >= 3),
        "skeletons over the people"
    );
    for label in [
        "Peak threshold",
        "PAF threshold",
        "Minimum parts",
        "Net input height",
        "Debug view",
    ] {
        assert!(
            h.query_all_by_label_contains(label).next().is_some(),
            "panel shows {label}"
        );
    }
    assert!(h
        .query_all_by_label_contains("provider: CPU")
        .next()
        .is_some());
    assert!(h.query_all_by_label_contains("latency").next().is_some());

    // Every overlay, including the debug view of a heatmap and of a PAF channel, draws.
    {
        let s = &mut h.state_mut().as_mut().unwrap().settings;
        s.overlay.numbers = true;
        s.overlay.confidence_shading = true;
        s.debug.view = posecam::ui::state::DebugView::Heatmap;
        s.debug.channel = 1;
    }
    h.step();
    assert!(
        h.query_all_by_label_contains("neck").next().is_some(),
        "the debug channel is named"
    );
    h.state_mut().as_mut().unwrap().settings.debug.view = posecam::ui::state::DebugView::Paf;
    h.step();

    h.key_press(egui::Key::Space);
    h.step();
    assert!(!h.state().as_ref().unwrap().playing, "space pauses");
    h.state_mut().as_mut().unwrap().settings.thresholds.peak = 1.0;
    h.step();
    let app = h.state().as_ref().unwrap();
    assert!(
        app.people.is_empty(),
        "the paused frame is re-associated at once"
    );
    h.step();
    assert!(h.query_all_by_label_contains("people: 0").next().is_some());
}

#[test]
fn without_a_webcam_the_window_opens_and_says_so() {
    if !posecam::capture::list_cameras().is_empty() {
        eprintln!("SKIPPED: this machine has a webcam");
        return;
    }
    let mut h = harness(StartOptions::default());
    h.step();
    h.step();
    assert!(h
        .query_all_by_label_contains("No webcam found")
        .next()
        .is_some());
    assert!(h.query_all_by_label_contains("Open file").next().is_some());
}

#[test]
fn clicking_a_tracked_person_plots_their_joint_angles() {
    let (Some(model), Some(gif)) = (
        common::shared_model(),
        common::shared("data/video/two-walking-480x270.gif"),
    ) else {
        return;
    };
    // The walk played forwards then backwards, ten times over (a minute at its own 12 fps): still
    // playing when paused, however slow the machine, and never a jump that would break a track.
    let dir = tempfile::tempdir().unwrap();
    let slow = dir.path().join("two-walking-long.mp4");
    common::ffmpeg(&[
        "-i",
        gif.to_str().unwrap(),
        "-filter_complex",
        "[0:v]split[a][b];[b]reverse[r];[a][r]concat=n=2:v=1,loop=loop=9:size=70",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        slow.to_str().unwrap(),
    ]);
    let mut h = harness(StartOptions {
        source: Some(SourceSpec::Video(slow)),
        model: Some(model),
        device: None,
    });
    let has_ids =
        |app: &PosecamApp| app.tracked.len() == 2 && app.tracked.iter().all(|t| t.id.is_some());
    assert!(step_until(&mut h, has_ids), "both walkers get IDs");
    h.key_press(egui::Key::Space);
    h.step();
    let (target, neck) = {
        let app = h.state().as_ref().unwrap();
        let neck = app.people[0].keypoints[1].expect("a neck");
        (app.tracked[0].id, (neck.x, neck.y))
    };
    let frame = h.get_by_label("video frame").rect();
    let r = frame;
    let (x, y) = posecam::ui::state::image_to_screen(
        [r.min.x, r.min.y, r.width(), r.height()],
        (480, 270),
        neck,
    );
    let at = egui::pos2(x, y + 20.0);
    h.hover_at(at);
    h.drag_at(at);
    h.drop_at(at);
    h.step();
    h.step();
    let app = h.state().as_ref().unwrap();
    assert_eq!(app.angles.id, target, "the clicked person is followed");
    let title = format!("Joint angles of #{}", target.unwrap());
    assert!(
        h.query_all_by_label_contains(&title).next().is_some(),
        "{title}"
    );
    assert!(h
        .query_all_by_label_contains("Following #")
        .next()
        .is_some());
    // Playing on, the plot fills with the followed person's angles.
    h.key_press(egui::Key::Space);
    assert!(
        step_until(&mut h, |app| app.angles.samples.len() >= 3),
        "angles recorded while the person is followed"
    );
}
