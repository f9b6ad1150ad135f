//! A minimal ordered JSON writer for the VMDESCRIPTION trailer. QEMU writes keys in a
//! fixed order (name, array_len/index, type, struct, size); keeping that order makes our
//! trailer read like QEMU's, which serde_json's sorted maps would not.

use std::fmt::Write;

/// A JSON value whose objects keep insertion order.
#[derive(Debug, Clone, PartialEq)]
pub enum J {
    Str(String),
    Int(i64),
    Arr(Vec<J>),
    Obj(Vec<(&'static str, J)>),
}

impl J {
    pub fn obj() -> J {
        J::Obj(Vec::new())
    }

    /// Appends a key (objects only; a no-op on other values).
    pub fn set(&mut self, key: &'static str, value: J) {
        if let J::Obj(v) = self {
            v.push((key, value));
        }
    }

    pub fn to_json(&self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        s
    }

    fn write(&self, out: &mut String) {
        match self {
            J::Str(s) => write_str(out, s),
            J::Int(i) => {
                let _ = write!(out, "{i}");
            }
            J::Arr(items) => {
                out.push('[');
                for (i, it) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    it.write(out);
                }
                out.push(']');
            }
            J::Obj(kv) => {
                out.push('{');
                for (i, (k, v)) in kv.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_str(out, k);
                    out.push_str(": ");
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            // Never emit a raw NUL: analyze-migration.py finds the trailer by the last NUL.
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl From<&str> for J {
    fn from(s: &str) -> J {
        J::Str(s.to_owned())
    }
}

impl From<String> for J {
    fn from(s: String) -> J {
        J::Str(s)
    }
}

impl From<u64> for J {
    fn from(i: u64) -> J {
        J::Int(i as i64)
    }
}

impl From<u32> for J {
    fn from(i: u32) -> J {
        J::Int(i64::from(i))
    }
}

impl From<usize> for J {
    fn from(i: usize) -> J {
        J::Int(i as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keeps_insertion_order_and_escapes() {
        let mut o = J::obj();
        o.set("name", "a\"b\0".into());
        o.set("size", 4u32.into());
        o.set("list", J::Arr(vec![1u32.into(), 2u32.into()]));
        let s = o.to_json();
        assert_eq!(s, r#"{"name": "a\"b\u0000", "size": 4, "list": [1, 2]}"#);
        assert!(!s.contains('\0'));
        let parsed: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(parsed["size"], 4);
    }
}
