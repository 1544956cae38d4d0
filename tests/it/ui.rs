//! The window, driven headless with egui_kittest: the panel is there, frames of a shared clip show
//! skeletons, a slider's change applies at once to a paused frame, and with no webcam the app says so.

use crate::common::{self, DEADLINE};

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use eframe::egui;
use egui_kittest::kittest::Queryable;
use egui_kittest::Harness;
use posecam::capture::{Analysis, SourceSpec};
use posecam::ui::settings::{AppSettings, DebugView};
use posecam::ui::{PosecamApp, StartOptions};

fn harness(options: StartOptions) -> Harness<'static, Option<PosecamApp>> {
    harness_sized(options, egui::vec2(1400.0, 900.0))
}

fn harness_sized(options: StartOptions, size: egui::Vec2) -> Harness<'static, Option<PosecamApp>> {
    harness_with(None, options, size)
}

/// A window started with these saved settings.
fn harness_with(
    settings: Option<AppSettings>,
    options: StartOptions,
    size: egui::Vec2,
) -> Harness<'static, Option<PosecamApp>> {
    Harness::builder().with_size(size).build_state(
        move |ctx, app: &mut Option<PosecamApp>| {
            app.get_or_insert_with(|| PosecamApp::new(ctx, settings.clone(), options.clone()))
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
        step_until(&mut h, |app| app.view.people.len() >= 3),
        "skeletons over the people"
    );
    for label in [
        "Peak threshold",
        "PAF threshold",
        "Minimum parts",
        "Net input size",
        "Network output",
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
        s.debug.view = DebugView::Heatmap;
        s.debug.channel = Some(1);
    }
    h.step();
    assert!(
        h.query_all_by_label_contains("neck").next().is_some(),
        "the debug channel is named"
    );
    h.state_mut().as_mut().unwrap().settings.debug.view = DebugView::Paf;
    h.step();
    // Every channel at once, the view each opens on.
    h.state_mut().as_mut().unwrap().settings.debug.channel = None;
    h.step();
    assert!(h
        .query_all_by_label_contains("all limbs (strongest)")
        .next()
        .is_some());

    h.key_press(egui::Key::Space);
    h.step();
    assert!(!h.state().as_ref().unwrap().view.playing, "space pauses");
    h.state_mut().as_mut().unwrap().settings.thresholds.peak = 1.0;
    h.step();
    let app = h.state().as_ref().unwrap();
    assert!(
        app.view.people.is_empty(),
        "the paused frame is re-associated at once"
    );
    let last = app.view.last.as_ref().unwrap();
    let timeline = app.view.timeline.read().unwrap();
    let (kept, _) = timeline.people(last.frame.pts, last.skeleton, 30).unwrap();
    assert!(
        kept.is_empty(),
        "what is kept for that frame is updated too"
    );
    drop(timeline);
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

/// The walk played forwards then backwards, ten times over (a minute at its own 12 fps): still
/// playing when paused, however slow the machine, and never a jump that would break a track.
fn long_walk(dir: &Path) -> Option<PathBuf> {
    let gif = common::shared("data/video/two-walking-480x270.gif")?;
    let slow = dir.join("two-walking-long.mp4");
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
    Some(slow)
}

fn app<'h>(h: &'h Harness<'static, Option<PosecamApp>>) -> &'h PosecamApp {
    h.state().as_ref().expect("the app")
}

/// The IDs on screen, sorted (`None`s included).
fn ids(app: &PosecamApp) -> Vec<Option<u64>> {
    let mut ids: Vec<Option<u64>> = app.view.tracked.iter().map(|t| t.id).collect();
    ids.sort();
    ids
}

fn shown_index(app: &PosecamApp) -> Option<u64> {
    app.view.last.as_ref().map(|l| l.frame.index)
}

/// Clicks the first person on screen (a little under their neck); returns their ID.
fn click_first_walker(h: &mut Harness<'static, Option<PosecamApp>>) -> Option<u64> {
    let (target, neck) = {
        let a = app(h);
        let neck = a.view.people[0].keypoints[1].expect("a neck");
        (a.view.tracked[0].id, (neck.x, neck.y))
    };
    let r = h.get_by_label("video frame").rect();
    let (x, y) = posecam::ui::state::image_to_screen(
        [r.min.x, r.min.y, r.width(), r.height()],
        (480, 270),
        neck,
    );
    let at = egui::pos2(x, y + 20.0);
    h.hover_at(at);
    h.drag_at(at);
    h.drop_at(at);
    h.remove_cursor();
    h.step();
    h.step();
    target
}

/// How soon the window asked to be drawn again after the last frame (`None`: it did not ask).
/// Whether the window settles into idling: several frames in a row that ask for no repaint.
/// A pipeline event may still arrive late (the model finishing its load) and repaint once, so
/// one request is no failure; a window that keeps asking never settles.
fn settles_idle(h: &mut Harness<'static, Option<PosecamApp>>) -> Result<(), Option<Duration>> {
    let deadline = Instant::now() + DEADLINE;
    let (mut quiet, mut last) = (0, None);
    while Instant::now() < deadline {
        h.step();
        last = repaint_delay(h);
        quiet = if last.is_none() { quiet + 1 } else { 0 };
        if quiet == 10 {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(last)
}

fn repaint_delay(h: &Harness<'static, Option<PosecamApp>>) -> Option<Duration> {
    let delay = h
        .output()
        .viewport_output
        .get(&egui::ViewportId::ROOT)
        .map(|v| v.repaint_delay)?;
    (delay < Duration::from_secs(3600)).then_some(delay)
}

/// Back three frames and forward again: the kept people, with their IDs, without the network.
fn step_back_and_forth(
    h: &mut Harness<'static, Option<PosecamApp>>,
    paused_at: u64,
    paused_ids: &[Option<u64>],
) {
    for (key, expected) in [
        (egui::Key::ArrowLeft, paused_at - 1),
        (egui::Key::ArrowLeft, paused_at - 2),
        (egui::Key::ArrowLeft, paused_at - 3),
        (egui::Key::ArrowRight, paused_at - 2),
        (egui::Key::ArrowRight, paused_at - 1),
        (egui::Key::ArrowRight, paused_at),
    ] {
        h.key_press(key);
        assert!(
            step_until(h, |a| shown_index(a) == Some(expected)),
            "{key:?} shows frame {expected} (on screen: {:?})",
            shown_index(app(h))
        );
        let a = app(h);
        let analysis = a.view.last.as_ref().unwrap().frame.analysis;
        assert_eq!(
            analysis,
            Analysis::Kept,
            "frame {expected} ran the network again"
        );
        assert!(
            ids(a).iter().all(Option::is_some),
            "frame {expected}: {:?}",
            ids(a)
        );
        assert!(
            ids(a).iter().all(|id| paused_ids.contains(id)),
            "frame {expected}: {:?} are not {paused_ids:?}",
            ids(a)
        );
    }
}

/// Hovering a row of the presence strip names that person and when they are in view.
fn strip_rows_are_named_on_hover(h: &mut Harness<'static, Option<PosecamApp>>) {
    let r = h.get_by_label("presence strip").rect();
    h.hover_at(egui::pos2(r.center().x, r.min.y + 5.0));
    let named = (0..300).any(|_| {
        h.step();
        h.query_all_by_label_contains(": in view").next().is_some()
    });
    assert!(named, "the hovered row is named");
    h.remove_cursor();
    h.step();
}

fn snapshot_is_named_from_the_source(h: &mut Harness<'static, Option<PosecamApp>>, dir: &Path) {
    h.state_mut().as_mut().unwrap().settings.snapshot_dir = Some(dir.join("shots"));
    std::fs::create_dir(dir.join("shots")).unwrap();
    h.key_press(egui::Key::S);
    h.step();
    let time = app(h).view.last.as_ref().unwrap().frame.time_s;
    let name = posecam::ui::state::snapshot_name("two-walking-long.mp4", time);
    for ext in ["png", "json"] {
        let file = dir.join("shots").join(format!("{name}.{ext}"));
        assert!(file.is_file(), "{} missing", file.display());
    }
    assert!(name.starts_with("two-walking-long_00m"), "{name}");
}

#[test]
fn a_paused_file_steps_back_with_its_ids_shows_angles_and_costs_no_repaints() {
    let dir = tempfile::tempdir().unwrap();
    let (Some(model), Some(walk)) = (common::shared_model(), long_walk(dir.path())) else {
        return;
    };
    // As fast as inference goes, which plays a file losslessly: every frame is kept, however slow
    // the machine.
    let settings = AppSettings {
        real_time: false,
        ..AppSettings::default()
    };
    let options = StartOptions {
        source: Some(SourceSpec::Video(walk)),
        model: Some(model),
        device: None,
    };
    let mut h = harness_with(Some(settings), options, egui::vec2(1400.0, 900.0));
    let settled = |app: &PosecamApp| {
        app.view.tracked.len() == 2
            && app.view.tracked.iter().all(|t| t.id.is_some())
            && shown_index(app).is_some_and(|i| i >= 8)
    };
    assert!(step_until(&mut h, settled), "both walkers get IDs");
    assert!(repaint_delay(&h).is_some(), "playing, the window redraws");
    h.key_press(egui::Key::Space);
    h.step();
    let (paused_at, paused_ids) = (shown_index(app(&h)).unwrap(), ids(app(&h)));
    h.step();
    assert_eq!(
        shown_index(app(&h)),
        Some(paused_at),
        "pausing stops at the frame shown"
    );

    step_back_and_forth(&mut h, paused_at, &paused_ids);
    assert_eq!(
        ids(app(&h)),
        paused_ids,
        "the same IDs back on the paused frame"
    );

    // A click on a walker of the paused frame: followed, outlined, their whole history plotted.
    let target = click_first_walker(&mut h);
    assert_eq!(
        app(&h).view.followed,
        target,
        "the clicked person is followed"
    );
    let title = format!("Angles of #{}", target.unwrap());
    assert!(
        h.query_all_by_label_contains(&title).next().is_some(),
        "{title}"
    );
    assert!(h
        .query_all_by_label_contains("Save motion files")
        .next()
        .is_some());
    let degrees = h.query_all_by_label_contains("°").count();
    assert!(degrees >= 4, "the frame's angles as numbers: {degrees}");
    let csv = dir.path().join("angles.csv");
    h.state_mut().as_mut().unwrap().save_angles(&csv);
    let text = std::fs::read_to_string(&csv).unwrap();
    let rows = text.lines().count() - 1;
    assert!(
        text.starts_with("time_s,right_knee") && rows as u64 > paused_at / 2,
        "the whole history so far, not just the paused frame: {rows} rows"
    );
    segments_and_motion_files(&mut h, dir.path(), target.unwrap());

    snapshot_is_named_from_the_source(&mut h, dir.path());
    strip_rows_are_named_on_hover(&mut h);

    // Paused, with nothing happening, the window does not ask to be drawn again.
    assert_eq!(
        settles_idle(&mut h),
        Ok(()),
        "paused and idle, yet repainting"
    );
}

#[test]
fn a_still_image_has_ids_at_once_no_transport_and_angles_as_numbers() {
    let (Some(model), Some(photo)) = (
        common::shared_model(),
        common::shared("data/images/ski.jpg"),
    ) else {
        return;
    };
    let mut h = harness(StartOptions {
        source: Some(SourceSpec::Image(photo)),
        model: Some(model),
        device: None,
    });
    assert!(
        step_until(&mut h, |a| !a.view.people.is_empty()),
        "people in the photo"
    );
    let a = app(&h);
    assert_eq!(a.view.tracked.len(), a.view.people.len());
    assert!(
        ids(a).iter().all(Option::is_some),
        "IDs at once: {:?}",
        ids(a)
    );
    h.step();
    for transport in ["Pause", "Play", "position", "real time"] {
        assert!(
            h.query_all_by_label_contains(transport).next().is_none(),
            "a photo has no {transport}"
        );
    }
    let id = ids(app(&h))[0];
    h.state_mut().as_mut().unwrap().view.followed = id;
    h.step();
    h.step();
    assert!(
        h.query_all_by_label_contains("°").count() >= 2,
        "angles as numbers"
    );
}

#[test]
fn a_damaged_or_missing_file_shows_its_error_over_the_picture() {
    let Some(model) = common::shared_model() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let damaged = dir.path().join("damaged.mp4");
    std::fs::write(
        &damaged,
        b"\x00\x00\x00\x18ftypmp42 this is not a video at all",
    )
    .unwrap();
    let missing = dir.path().join("missing.mp4");
    for (file, words) in [(damaged, "damaged.mp4"), (missing, "missing.mp4")] {
        let mut h = harness(StartOptions {
            source: Some(SourceSpec::Video(file)),
            model: Some(model.clone()),
            device: None,
        });
        assert!(
            step_until(&mut h, |a| a.view.banner.is_some()),
            "{words}: no banner"
        );
        h.step();
        let headline = app(&h).view.banner.as_ref().unwrap().headline.clone();
        assert!(headline.contains(words), "{headline}");
        assert!(
            h.query_all_by_label_contains(&headline).next().is_some(),
            "the banner shows {headline}"
        );
        for button in ["Reopen", "Open another", "Details"] {
            assert!(
                h.query_all_by_label_contains(button).next().is_some(),
                "{words}: the banner offers {button}"
            );
        }
        assert_eq!(
            settles_idle(&mut h),
            Ok(()),
            "{words}: a failed source idles"
        );
        h.get_by_label("Details").click();
        h.step();
        h.step();
        assert!(app(&h).view.banner.as_ref().unwrap().show_details);
        // Reopen tries again: the same error comes back, and the window stays.
        h.get_by_label("Reopen").click();
        h.step();
        assert!(
            step_until(&mut h, |a| a.view.banner.is_some()),
            "{words}: reopened"
        );
    }
}

/// The clip's end is a state of its own; Play starts it again.
fn ended_then_played_again(h: &mut Harness<'static, Option<PosecamApp>>) {
    assert!(step_until(h, |a| a.view.ended), "the 5-frame clip ends");
    h.step();
    assert!(h.query_all_by_label_contains("ended").next().is_some());
    assert!(!app(h).view.playing);
    h.get_by_label_contains("Play again").click();
    h.step();
    assert!(
        app(h).view.playing && !app(h).view.ended,
        "Play starts it again"
    );
    // From the first frame: it plays through to the end once more (which frames are shown on the
    // way depends on the machine's speed).
    assert!(step_until(h, |a| a.view.ended), "the second round ends too");
}

#[test]
fn at_1024_by_768_the_panels_fit_and_the_actions_are_in_reach() {
    let (Some(model), Some(clip)) = (
        common::shared_model(),
        common::shared("data/video/street-960x540-5f.mp4"),
    ) else {
        return;
    };
    let (w, hgt) = (1024.0, 768.0);
    let mut h = harness_sized(
        StartOptions {
            source: Some(SourceSpec::Video(clip)),
            model: Some(model),
            device: None,
        },
        egui::vec2(w, hgt),
    );
    assert!(step_until(&mut h, |a| a.view.last.is_some()), "a frame");
    h.step();
    let inside = |r: egui::Rect| r.min.x >= 0.0 && r.max.x <= w && r.max.y <= hgt;
    for action in ["Snapshot", "Export video", "Open file"] {
        let node = h.get_by_label_contains(action);
        assert!(inside(node.rect()), "{action} at {:?}", node.rect());
    }
    let panel_left = h.get_by_label("Peak threshold").rect().min.x;
    for label in [
        "Peak threshold",
        "PAF sample fraction",
        "Minimum person score",
        "Net input size",
        "Scales",
        "Follow people (IDs)",
        "Frames to confirm",
        "Smooth keypoints (One-Euro)",
        "Smoothing at rest",
        "Confidence shading",
    ] {
        let r = h.get_by_label(label).rect();
        assert!(
            r.min.x >= panel_left - 30.0 && r.max.x <= w - 4.0,
            "{label} is cut: {r:?} (panel from x = {panel_left})"
        );
    }
    ended_then_played_again(&mut h);
}

/// The segment angles replace the joint angles in the legend, and *Save motion files…* writes what
/// `export --motion` writes, the followed person's `.trc` among them.
fn segments_and_motion_files(h: &mut Harness<'static, Option<PosecamApp>>, dir: &Path, id: u64) {
    assert!(h
        .query_all_by_label_contains("right shank")
        .next()
        .is_none());
    h.get_by_label("segments").click();
    h.run_steps(3);
    assert!(
        h.query_all_by_label_contains("right shank")
            .next()
            .is_some(),
        "segment angles in the legend"
    );
    assert!(h.query_all_by_label_contains("right knee").next().is_none());
    let folder = dir.join("motion");
    h.state_mut().as_mut().unwrap().save_motion(&folder);
    let names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for suffix in [
        format!("_p{id}.trc"),
        format!("_p{id}_angles.mot"),
        "_angles.csv".into(),
    ] {
        assert!(
            names.iter().any(|n| n.ends_with(&suffix)),
            "{suffix} in {names:?}"
        );
    }
    // Saving again does not replace them: the window's saves are transactions too.
    h.state_mut().as_mut().unwrap().save_motion(&folder);
    assert_eq!(std::fs::read_dir(&folder).unwrap().count(), names.len());
}
