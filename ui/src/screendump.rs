//! `screendump FILE`: the current guest screen as an 8-bit RGB PNG.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use crate::vm::Frame;

#[derive(Debug, thiserror::Error)]
pub enum ScreendumpError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("PNG encoding failed: {0}")]
    Png(#[from] png::EncodingError),
    #[error("frame is {w}x{h} but holds {n} pixels")]
    BadFrame { w: u32, h: u32, n: usize },
}

/// Write `frame` (0x00RRGGBB pixels) to `path` as PNG.
pub fn write_png(path: &Path, frame: &Frame) -> Result<(), ScreendumpError> {
    let expected = frame.width as usize * frame.height as usize;
    if frame.pixels.len() != expected || expected == 0 {
        return Err(ScreendumpError::BadFrame {
            w: frame.width,
            h: frame.height,
            n: frame.pixels.len(),
        });
    }
    let w = BufWriter::new(File::create(path)?);
    let mut enc = png::Encoder::new(w, frame.width, frame.height);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header()?;
    let rgb: Vec<u8> = frame
        .pixels
        .iter()
        .flat_map(|p| [(p >> 16) as u8, (p >> 8) as u8, *p as u8])
        .collect();
    writer.write_image_data(&rgb)?;
    writer.finish()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trips_pixels() {
        let d = crate::testutil::TempDir::new("png");
        let p = d.path().join("s.png");
        let frame = Frame {
            width: 2,
            height: 1,
            pixels: vec![0x00FF_0000, 0x0000_80FF],
        };
        write_png(&p, &frame).unwrap();
        let dec = png::Decoder::new(File::open(&p).unwrap());
        let mut r = dec.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size()];
        let info = r.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (2, 1));
        assert_eq!(&buf[..6], &[0xFF, 0, 0, 0, 0x80, 0xFF]);
    }

    #[test]
    fn inconsistent_frame_is_refused() {
        let d = crate::testutil::TempDir::new("png");
        let frame = Frame {
            width: 4,
            height: 4,
            pixels: vec![0; 3],
        };
        assert!(write_png(&d.path().join("x.png"), &frame).is_err());
    }
}
