//! Big-endian primitives over a byte stream, with the offset and field path kept for
//! error messages.

use std::io::{self, Read};

use crate::error::LoadError;

/// Reads a migration stream. Tracks the absolute offset and the path of the field being
/// read, so every error says where it happened. One byte of look-ahead is enough for the
/// whole format (see FORMAT.md, "No ambiguity").
pub struct Reader<'a> {
    src: &'a mut dyn Read,
    pos: u64,
    peeked: Option<u8>,
    section: String,
    path: Vec<&'static str>,
    warnings: Vec<String>,
}

impl std::fmt::Debug for Reader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("pos", &self.pos)
            .field("context", &self.context())
            .finish()
    }
}

impl<'a> Reader<'a> {
    pub fn new(src: &'a mut dyn Read) -> Self {
        Reader {
            src,
            pos: 0,
            peeked: None,
            section: String::new(),
            path: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Offset of the next unread byte from the start of the stream.
    pub fn offset(&self) -> u64 {
        self.pos
    }

    /// "section.field.subfield", for error messages.
    pub fn context(&self) -> String {
        let mut s = if self.section.is_empty() {
            String::from("stream")
        } else {
            format!("section '{}'", self.section)
        };
        for p in &self.path {
            s.push_str(if s.ends_with('\'') { " field " } else { "." });
            s.push_str(p);
        }
        s
    }

    pub(crate) fn set_section(&mut self, name: &str) {
        self.section.clear();
        self.section.push_str(name);
        self.path.clear();
    }

    pub(crate) fn section(&self) -> &str {
        &self.section
    }

    /// Records a non-fatal problem (skipped droppable data) for the caller's report.
    pub(crate) fn warn(&mut self, msg: String) {
        self.warnings.push(msg);
    }

    pub(crate) fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    pub(crate) fn push(&mut self, name: &'static str) {
        self.path.push(name);
    }

    pub(crate) fn pop(&mut self) {
        self.path.pop();
    }

    fn map_io(&self, e: io::Error, what: &str) -> LoadError {
        match e.kind() {
            io::ErrorKind::UnexpectedEof => LoadError::Truncated {
                offset: self.pos,
                context: format!("{} ({what})", self.context()),
            },
            io::ErrorKind::InvalidData | io::ErrorKind::Other => LoadError::Corrupt(e),
            _ => LoadError::Io(e),
        }
    }

    /// Fills `buf` completely or fails with `Truncated`.
    pub fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), LoadError> {
        if buf.is_empty() {
            return Ok(());
        }
        let mut start = 0;
        if let Some(b) = self.peeked.take() {
            buf[0] = b;
            start = 1;
        }
        match self.src.read_exact(&mut buf[start..]) {
            Ok(()) => {
                self.pos += buf.len() as u64;
                Ok(())
            }
            Err(e) => Err(self.map_io(e, &format!("{} bytes", buf.len()))),
        }
    }

    /// The next byte without consuming it; `None` at a clean end of stream.
    pub fn peek(&mut self) -> Result<Option<u8>, LoadError> {
        if self.peeked.is_none() {
            let mut b = [0u8; 1];
            loop {
                match self.src.read(&mut b) {
                    Ok(0) => return Ok(None),
                    Ok(_) => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(self.map_io(e, "1 byte")),
                }
            }
            self.peeked = Some(b[0]);
        }
        Ok(self.peeked)
    }

    pub fn u8(&mut self) -> Result<u8, LoadError> {
        let mut b = [0u8; 1];
        self.read_exact(&mut b)?;
        Ok(b[0])
    }

    pub fn be16(&mut self) -> Result<u16, LoadError> {
        let mut b = [0u8; 2];
        self.read_exact(&mut b)?;
        Ok(u16::from_be_bytes(b))
    }

    pub fn be32(&mut self) -> Result<u32, LoadError> {
        let mut b = [0u8; 4];
        self.read_exact(&mut b)?;
        Ok(u32::from_be_bytes(b))
    }

    pub fn be64(&mut self) -> Result<u64, LoadError> {
        let mut b = [0u8; 8];
        self.read_exact(&mut b)?;
        Ok(u64::from_be_bytes(b))
    }

    /// A string with a one-byte length, as QEMU writes idstrs and subsection names.
    pub fn short_str(&mut self) -> Result<String, LoadError> {
        let len = self.u8()? as usize;
        let mut buf = [0u8; 255];
        self.read_exact(&mut buf[..len])?;
        match std::str::from_utf8(&buf[..len]) {
            Ok(s) => Ok(s.to_owned()),
            Err(_) => Err(self.malformed("a UTF-8 name", format!("{:02x?}", &buf[..len]))),
        }
    }

    /// Discards `n` bytes without buffering them.
    pub fn skip(&mut self, n: u64) -> Result<(), LoadError> {
        let mut left = n;
        if left > 0 && self.peeked.take().is_some() {
            self.pos += 1;
            left -= 1;
        }
        let copied = io::copy(&mut (&mut *self.src).take(left), &mut io::sink())
            .map_err(|e| self.map_io(e, "skipped data"))?;
        self.pos += copied;
        if copied < left {
            return Err(LoadError::Truncated {
                offset: self.pos,
                context: format!("{} (skipping {n} bytes)", self.context()),
            });
        }
        Ok(())
    }

    pub fn malformed(&self, expected: impl Into<String>, found: impl Into<String>) -> LoadError {
        LoadError::Malformed {
            context: self.context(),
            offset: self.pos,
            expected: expected.into(),
            found: found.into(),
        }
    }

    pub fn out_of_range(&self, value: u64, rule: impl Into<String>) -> LoadError {
        LoadError::OutOfRange {
            context: self.context(),
            offset: self.pos,
            value,
            rule: rule.into(),
        }
    }
}

pub(crate) fn put_short_str(out: &mut Vec<u8>, s: &str) {
    // Names are &'static str checked at build time to be at most 255 bytes.
    let b = s.as_bytes();
    let n = b.len().min(255);
    out.push(n as u8);
    out.extend_from_slice(&b[..n]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_names_offset_and_context() {
        let data = [0u8, 1, 2];
        let mut src = &data[..];
        let mut r = Reader::new(&mut src);
        r.set_section("escc");
        r.push("wr9");
        let err = r.be32().unwrap_err();
        match err {
            LoadError::Truncated { offset, context } => {
                assert_eq!(offset, 0);
                assert!(
                    context.contains("escc") && context.contains("wr9"),
                    "{context}"
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn peek_then_read_returns_same_byte_and_advances_once() {
        let data = [0x05u8, 0x7e];
        let mut src = &data[..];
        let mut r = Reader::new(&mut src);
        assert_eq!(r.peek().unwrap(), Some(0x05));
        assert_eq!(r.offset(), 0);
        assert_eq!(r.u8().unwrap(), 0x05);
        assert_eq!(r.u8().unwrap(), 0x7e);
        assert_eq!(r.offset(), 2);
        assert_eq!(r.peek().unwrap(), None);
    }

    #[test]
    fn skip_past_end_is_truncation() {
        let data = [1u8, 2, 3];
        let mut src = &data[..];
        let mut r = Reader::new(&mut src);
        r.peek().unwrap();
        assert!(matches!(r.skip(10), Err(LoadError::Truncated { .. })));
    }
}
