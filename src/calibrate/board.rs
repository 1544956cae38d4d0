//! The checkerboard: its inner corners and square length, and the corners one picture shows, found
//! by calib-targets (ChESS corners, sub-pixel) and labelled with their place on the board.

use calib_targets::chessboard::{ChessboardCorner, ChessboardParams};
use calib_targets::detect;
use image::GrayImage;

use crate::multiview::camera::Xy;

/// A checkerboard: `cols × rows` inner corners, squares `square_m` metres on a side.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Board {
    pub cols: u32,
    pub rows: u32,
    pub square_m: f64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BoardError {
    #[error("a board is given as its inner corners, COLSxROWS such as 4x7, not {0:?}")]
    Size(String),
    #[error("a board has at least 2x2 inner corners, not {0}x{1}")]
    TooSmall(u32, u32),
    #[error("a square length is a positive number with mm, cm or m, such as 60mm, not {0:?}")]
    Square(String),
}

impl Board {
    /// From the options as users write them: `4x7` and `60mm` (or `6cm`, `0.06m`).
    pub fn parse(size: &str, square: &str) -> Result<Self, BoardError> {
        let (c, r) = size
            .split_once(['x', 'X', '×'])
            .ok_or_else(|| BoardError::Size(size.to_string()))?;
        let number = |s: &str| s.trim().parse::<u32>().ok();
        let (Some(cols), Some(rows)) = (number(c), number(r)) else {
            return Err(BoardError::Size(size.to_string()));
        };
        if cols < 2 || rows < 2 {
            return Err(BoardError::TooSmall(cols, rows));
        }
        Ok(Self {
            cols,
            rows,
            square_m: parse_length(square).ok_or_else(|| BoardError::Square(square.to_string()))?,
        })
    }

    pub fn corners(&self) -> usize {
        (self.cols * self.rows) as usize
    }

    /// Whether a labelled grid of `span` corners fits on this board, either way round.
    fn holds(&self, [u, v]: [u32; 2]) -> bool {
        (u <= self.cols && v <= self.rows) || (u <= self.rows && v <= self.cols)
    }
}

impl std::fmt::Display for Board {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}×{}", self.cols, self.rows)
    }
}

/// A length as users write it, `60mm`, `6cm` or `0.06m`, in metres.
pub fn parse_length(text: &str) -> Option<f64> {
    let t = text.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("mm") {
        (n, 1e-3)
    } else if let Some(n) = t.strip_suffix("cm") {
        (n, 1e-2)
    } else {
        (t.strip_suffix('m')?, 1.0)
    };
    let value = number.trim().parse::<f64>().ok()? * scale;
    (value.is_finite() && value > 0.0).then_some(value)
}

/// The corners of the board one picture shows: each pixel beside the board point (metres, on the
/// board's plane) it images. Labels start at 0 on each axis; which corner is the origin does not
/// matter for a lens, as every picture has its own board pose.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardView {
    pub pixels: Vec<Xy>,
    pub points: Vec<Xy>,
}

impl BoardView {
    pub fn len(&self) -> usize {
        self.pixels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pixels.is_empty()
    }

    /// The median pixel distance between corners one square apart on the board.
    pub fn cell_px(&self) -> f64 {
        let square = self
            .points
            .iter()
            .flat_map(|p| p.iter().copied())
            .filter(|v| *v > 0.0)
            .fold(f64::MAX, f64::min);
        let mut gaps = Vec::new();
        for (i, a) in self.points.iter().enumerate() {
            for (j, b) in self.points.iter().enumerate().skip(i + 1) {
                let d = (a[0] - b[0]).hypot(a[1] - b[1]);
                if (d - square).abs() < 1e-3 * square {
                    let (p, q) = (self.pixels[i], self.pixels[j]);
                    gaps.push((p[0] - q[0]).hypot(p[1] - q[1]));
                }
            }
        }
        gaps.sort_by(f64::total_cmp);
        gaps.get(gaps.len() / 2).copied().unwrap_or(0.0)
    }

    /// The pixel rectangle the corners span: `[x0, y0, x1, y1]`.
    pub fn bounds(&self) -> [f64; 4] {
        self.pixels.iter().fold(
            [f64::MAX, f64::MAX, f64::MIN, f64::MIN],
            |[x0, y0, x1, y1], &[x, y]| [x0.min(x), y0.min(y), x1.max(x), y1.max(y)],
        )
    }
}

/// Why a picture gives no view of the board.
#[derive(Debug, Clone, PartialEq)]
pub enum Miss {
    NotFound,
    /// Fewer than half of the board's corners: too little of it to trust the labels.
    Partial {
        found: usize,
        of: usize,
    },
    /// A grid larger than the board (a tiled floor, another board).
    NotThisBoard {
        span: [u32; 2],
    },
}

impl std::fmt::Display for Miss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Miss::NotFound => write!(f, "no board found"),
            Miss::Partial { found, of } => write!(f, "only {found} of {of} corners seen"),
            Miss::NotThisBoard { span } => {
                write!(
                    f,
                    "a grid of {}×{} corners, not this board",
                    span[0], span[1]
                )
            }
        }
    }
}

/// The board in one grey picture.
pub fn find(board: &Board, gray: &GrayImage) -> Result<BoardView, Miss> {
    let found = detect::detect_chessboard(
        gray,
        &detect::default_chess_config(),
        &ChessboardParams::default(),
    )
    .map_err(|_| Miss::NotFound)?;
    label(board, &found.corners)
}

/// The detector's labelled corners as a view of `board`, or why they are not one.
fn label(board: &Board, corners: &[ChessboardCorner]) -> Result<BoardView, Miss> {
    let grid: Vec<[i32; 2]> = corners.iter().map(|c| [c.grid.u, c.grid.v]).collect();
    let min = |axis: usize| grid.iter().map(|g| g[axis]).min().unwrap_or(0);
    let max = |axis: usize| grid.iter().map(|g| g[axis]).max().unwrap_or(0);
    let span = [(max(0) - min(0) + 1) as u32, (max(1) - min(1) + 1) as u32];
    if !board.holds(span) {
        return Err(Miss::NotThisBoard { span });
    }
    if 2 * corners.len() < board.corners() {
        return Err(Miss::Partial {
            found: corners.len(),
            of: board.corners(),
        });
    }
    let square = board.square_m;
    Ok(BoardView {
        pixels: corners
            .iter()
            .map(|c| [f64::from(c.position.x), f64::from(c.position.y)])
            .collect(),
        points: grid
            .iter()
            .map(|g| {
                [
                    f64::from(g[0] - min(0)) * square,
                    f64::from(g[1] - min(1)) * square,
                ]
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boards_parse_as_users_write_them() {
        let b = Board::parse("4x7", "60mm").unwrap();
        assert_eq!((b.cols, b.rows, b.corners()), (4, 7, 28));
        assert!((b.square_m - 0.06).abs() < 1e-12);
        assert!((Board::parse("9×6", "2.5cm").unwrap().square_m - 0.025).abs() < 1e-12);
        assert!((Board::parse("9X6", "0.1 m").unwrap().square_m - 0.1).abs() < 1e-12);
        assert_eq!(Board::parse("4", "60mm"), Err(BoardError::Size("4".into())));
        assert_eq!(Board::parse("1x7", "60mm"), Err(BoardError::TooSmall(1, 7)));
        for bad in ["60", "-5mm", "0m", "abcmm"] {
            assert_eq!(
                Board::parse("4x7", bad),
                Err(BoardError::Square(bad.into()))
            );
        }
    }

    #[test]
    fn a_board_holds_grids_either_way_round() {
        let b = Board::parse("4x7", "1m").unwrap();
        assert!(b.holds([4, 7]) && b.holds([7, 4]) && b.holds([3, 5]));
        assert!(!b.holds([5, 7]) && !b.holds([8, 2]));
    }
}
