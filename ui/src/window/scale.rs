//! Fitting the guest screen into the window: integer scaling when the window
//! is large enough, nearest-neighbour shrinking otherwise, always keeping the
//! aspect ratio and centring on black.

use crate::vm::Frame;

/// Where the frame lands in a `win_w` x `win_h` window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

pub fn place(fb_w: u32, fb_h: u32, win_w: u32, win_h: u32) -> Placement {
    if fb_w == 0 || fb_h == 0 || win_w == 0 || win_h == 0 {
        return Placement {
            x: 0,
            y: 0,
            w: 0,
            h: 0,
        };
    }
    let k = (win_w / fb_w).min(win_h / fb_h);
    let (w, h) = if k >= 1 {
        (fb_w * k, fb_h * k)
    } else {
        // Shrink: the larger relative dimension decides.
        let (w, h) = if (win_w as u64) * (fb_h as u64) <= (win_h as u64) * (fb_w as u64) {
            (win_w, (fb_h as u64 * win_w as u64 / fb_w as u64) as u32)
        } else {
            ((fb_w as u64 * win_h as u64 / fb_h as u64) as u32, win_h)
        };
        (w.max(1), h.max(1))
    };
    Placement {
        x: (win_w - w) / 2,
        y: (win_h - h) / 2,
        w,
        h,
    }
}

/// Draw `frame` into `out` (a `win_w` x `win_h` buffer of 0x00RRGGBB).
pub fn blit(frame: &Frame, out: &mut [u32], win_w: u32, win_h: u32) {
    out.fill(0);
    let p = place(frame.width, frame.height, win_w, win_h);
    if p.w == 0 || frame.pixels.len() < (frame.width * frame.height) as usize {
        return;
    }
    // Precompute the source column of each destination column.
    let cols: Vec<usize> = (0..p.w)
        .map(|dx| (dx as u64 * frame.width as u64 / p.w as u64) as usize)
        .collect();
    for dy in 0..p.h {
        let sy = (dy as u64 * frame.height as u64 / p.h as u64) as usize;
        let src = &frame.pixels[sy * frame.width as usize..][..frame.width as usize];
        let start = ((p.y + dy) * win_w + p.x) as usize;
        let Some(dst) = out.get_mut(start..start + p.w as usize) else {
            return;
        };
        for (d, &sx) in dst.iter_mut().zip(&cols) {
            *d = src[sx];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_scale_when_window_is_large_enough() {
        assert_eq!(
            place(800, 600, 1700, 1300),
            Placement {
                x: 50,
                y: 50,
                w: 1600,
                h: 1200
            }
        );
    }

    #[test]
    fn odd_window_keeps_aspect_with_bars() {
        let p = place(800, 600, 1000, 600);
        assert_eq!((p.w, p.h, p.x, p.y), (800, 600, 100, 0));
    }

    #[test]
    fn small_window_shrinks_keeping_aspect() {
        let p = place(800, 600, 400, 400);
        assert_eq!((p.w, p.h, p.x, p.y), (400, 300, 0, 50));
    }

    #[test]
    fn blit_doubles_pixels_and_fills_borders_black() {
        let f = Frame {
            width: 2,
            height: 1,
            pixels: vec![1, 2],
        };
        let mut out = vec![9u32; 6 * 2];
        blit(&f, &mut out, 6, 2);
        assert_eq!(out, [0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2, 0]);
    }

    #[test]
    fn blit_ignores_inconsistent_frames() {
        let f = Frame {
            width: 4,
            height: 4,
            pixels: vec![7; 3],
        };
        let mut out = vec![9u32; 16];
        blit(&f, &mut out, 4, 4);
        assert!(out.iter().all(|&p| p == 0));
    }
}
