//! Scanout: the std VGA's current VBE mode turned into 0x00RRGGBB pixels for the
//! window and for screendump.

use crate::vga::Vga;

/// One converted screen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Screen {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u32>,
}

/// Renders the visible VBE framebuffer; `None` while no graphics mode is enabled
/// (e.g. `-nographic`, or before firmware set a mode).
pub fn render(vga: &Vga) -> Option<Screen> {
    let m = vga.mode();
    if !m.enabled || m.width == 0 || m.height == 0 {
        return None;
    }
    let bytes_pp = m.bpp.div_ceil(8) as usize;
    if !matches!(m.bpp, 8 | 15 | 16 | 24 | 32) {
        return None;
    }
    let palette: Vec<u32> = (0..=255u8)
        .map(|i| {
            let [r, g, b] = vga.palette_rgb(i);
            u32::from(r) << 16 | u32::from(g) << 8 | u32::from(b)
        })
        .collect();
    let (w, h) = (m.width as usize, m.height as usize);
    let mut pixels = vec![0u32; w * h];
    for y in 0..h {
        let line = m.offset as usize + y * m.stride as usize;
        for x in 0..w {
            let at = line + x * bytes_pp;
            let Some(px) = vga.vram.get(at..at + bytes_pp) else {
                continue;
            };
            // Multi-byte pixels: most significant byte first when big-endian.
            let raw = if m.big_endian {
                px.iter().fold(0u32, |a, &b| a << 8 | u32::from(b))
            } else {
                px.iter().rev().fold(0u32, |a, &b| a << 8 | u32::from(b))
            };
            pixels[y * w + x] = match m.bpp {
                8 => palette[raw as usize & 0xFF],
                15 => expand(raw >> 10, 5) << 16 | expand(raw >> 5, 5) << 8 | expand(raw, 5),
                16 => expand(raw >> 11, 5) << 16 | expand(raw >> 5, 6) << 8 | expand(raw, 5),
                _ => raw & 0x00FF_FFFF,
            };
        }
    }
    Some(Screen {
        width: m.width,
        height: m.height,
        pixels,
    })
}

/// Widens an `bits`-bit colour channel to 8 bits by replicating its top bits.
fn expand(v: u32, bits: u32) -> u32 {
    let v = v & ((1 << bits) - 1);
    (v << (8 - bits)) | (v >> (2 * bits - 8))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_mode(vga: &mut Vga, w: u16, h: u16, bpp: u16) {
        use crate::vga::*;
        vga.dispi_write(VBE_DISPI_INDEX_ENABLE as u16, 0);
        vga.dispi_write(VBE_DISPI_INDEX_XRES as u16, w);
        vga.dispi_write(VBE_DISPI_INDEX_YRES as u16, h);
        vga.dispi_write(VBE_DISPI_INDEX_BPP as u16, bpp);
        vga.dispi_write(VBE_DISPI_INDEX_ENABLE as u16, 1);
    }

    #[test]
    fn disabled_vbe_renders_nothing() {
        assert_eq!(render(&Vga::new()), None);
    }

    #[test]
    fn big_endian_32bpp_pixels_come_out_as_rgb() {
        let mut vga = Vga::new();
        set_mode(&mut vga, 8, 2, 32);
        let m = vga.mode();
        assert!(m.enabled && m.big_endian);
        let at = (m.offset + m.stride + 4) as usize; // (1, 1)
        vga.vram[at..at + 4].copy_from_slice(&[0x00, 0x12, 0x34, 0x56]);
        let s = render(&vga).unwrap();
        assert_eq!((s.width, s.height), (8, 2));
        assert_eq!(s.pixels[8 + 1], 0x123456);
        assert_eq!(s.pixels[0], 0);
    }

    #[test]
    fn sixteen_bpp_expands_channels_to_full_range() {
        let mut vga = Vga::new();
        set_mode(&mut vga, 8, 1, 16);
        let at = vga.mode().offset as usize;
        vga.vram[at..at + 2].copy_from_slice(&0xFFFFu16.to_be_bytes());
        assert_eq!(render(&vga).unwrap().pixels[0], 0xFFFFFF);
    }
}
