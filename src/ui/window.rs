//! The native window around [`PosecamApp`]: eframe's options, persistence, and its one error.

use eframe::egui;

use super::scene::{SceneApp, SceneOptions};
use super::settings::AppSettings;
use super::{PosecamApp, StartOptions, STORAGE_KEY};

impl eframe::App for PosecamApp {
    fn update(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.draw(ctx);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, STORAGE_KEY, &self.settings);
    }
}

/// Opens the window; returns when it closes.
pub fn run(options: StartOptions) -> Result<(), WindowError> {
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("posecam")
            .with_inner_size([1280.0, 800.0])
            .with_min_inner_size([640.0, 420.0])
            .with_drag_and_drop(true),
        renderer: eframe::Renderer::Glow,
        // Settings live in the user's config folder (XDG), like the rest of posecam's state.
        persistence_path: crate::setup::paths::config_dir().map(|d| d.join("window.ron")),
        ..Default::default()
    };
    eframe::run_native(
        "posecam",
        native,
        Box::new(move |cc| {
            let stored = cc
                .storage
                .and_then(|s| eframe::get_value::<AppSettings>(s, STORAGE_KEY));
            Ok(Box::new(PosecamApp::new(&cc.egui_ctx, stored, options)))
        }),
    )
    .map_err(|e| WindowError(e.to_string()))
}

impl eframe::App for SceneApp {
    fn update(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        self.draw(ctx);
    }
}

/// Opens the scene window on several calibrated views; returns when it closes.
pub fn run_scene(options: SceneOptions) -> Result<(), WindowError> {
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("posecam: scene")
            .with_inner_size([1400.0, 860.0])
            .with_min_inner_size([640.0, 420.0]),
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    eframe::run_native(
        "posecam-scene",
        native,
        Box::new(move |_| Ok(Box::new(SceneApp::new(options)))),
    )
    .map_err(|e| WindowError(e.to_string()))
}

/// The window could not be opened (no display, no OpenGL). eframe's error is kept as text: it
/// holds platform handles that cannot cross threads, as errors handed to callers must.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot open a window: {0} (no display? `posecam image`/`posecam export` work without one)"
)]
pub struct WindowError(String);
