//! Schema dump (like QEMU's `-dump-vmstate`) and the compatibility checker behind
//! `savevm-check OLD NEW`.
//!
//! The dump is JSON: `{"machine": "...", "sections": {idstr: {"droppable": bool,
//! "description": D}}}` where a description D is `{"name", "version_id",
//! "minimum_version_id", "fields": [F], "subsections": [D + "droppable"]}` and a field F
//! is `{"field", "kind", "type", "size", "count", "dims", "version_id",
//! "field_exists", "max", "description"}` (only the keys that apply).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::stream::SectionRef;
use crate::vmsd::{Describe, FieldInfo, FieldKind};

fn field_json(f: &FieldInfo) -> Value {
    let mut o = Map::new();
    o.insert("field".into(), f.name.into());
    o.insert("version_id".into(), f.since.into());
    o.insert("field_exists".into(), f.conditional.into());
    match &f.kind {
        FieldKind::Value(shape) => {
            o.insert("kind".into(), "value".into());
            o.insert("type".into(), shape.prim.qemu_name().into());
            o.insert("size".into(), shape.prim.size().into());
            o.insert("count".into(), shape.count().into());
            o.insert("dims".into(), json!(shape.dims));
        }
        FieldKind::Struct(d) => {
            o.insert("kind".into(), "struct".into());
            o.insert("count".into(), 1.into());
            o.insert("description".into(), desc_json(*d, None));
        }
        FieldKind::StructArray { len, of } => {
            o.insert("kind".into(), "struct".into());
            o.insert("count".into(), (*len).into());
            o.insert("description".into(), desc_json(*of, None));
        }
        FieldKind::VBuffer { max } => {
            o.insert("kind".into(), "buffer".into());
            o.insert("max".into(), (*max).into());
        }
        FieldKind::Unused(n) => {
            o.insert("kind".into(), "unused".into());
            o.insert("size".into(), (*n).into());
        }
    }
    Value::Object(o)
}

fn desc_json(d: &dyn Describe, droppable: Option<bool>) -> Value {
    let mut o = Map::new();
    o.insert("name".into(), d.name().into());
    o.insert("version_id".into(), d.version().into());
    o.insert("minimum_version_id".into(), d.minimum_version().into());
    if let Some(dr) = droppable {
        o.insert("droppable".into(), dr.into());
    }
    o.insert(
        "fields".into(),
        Value::Array(d.field_infos().into_iter().map(field_json).collect()),
    );
    o.insert(
        "subsections".into(),
        Value::Array(
            d.subsection_descs()
                .into_iter()
                .map(|(s, dr)| desc_json(s, Some(dr)))
                .collect(),
        ),
    );
    Value::Object(o)
}

/// Dumps the descriptions of a machine's sections (instances of one idstr share one
/// entry).
pub fn dump(machine_type: &str, sections: &[SectionRef<'_>]) -> Value {
    let mut secs = Map::new();
    for s in sections {
        secs.entry(s.idstr).or_insert_with(|| {
            json!({
                "droppable": s.droppable,
                "description": desc_json(s.state.describe(), None),
            })
        });
    }
    json!({ "machine": machine_type, "sections": secs })
}

/// Dumps one description, e.g. for a golden schema file per device.
pub fn dump_description(d: &dyn Describe) -> Value {
    desc_json(d, None)
}

/// Checks a dump for names that are wire format and must be unique: two different
/// descriptions (sections, nested structs or subsections) with the same name, as when
/// QEMU shipped two subsections called `cpu/tlb6xx`. Returns one message per clash.
pub fn lint(dump: &Value) -> Vec<String> {
    fn walk<'a>(d: &'a Value, seen: &mut BTreeMap<&'a str, &'a Value>, out: &mut Vec<String>) {
        let Some(name) = d.get("name").and_then(Value::as_str) else {
            return;
        };
        // The droppable flag belongs to the parent's use, not the description.
        let same = |a: &Value, b: &Value| {
            let strip = |v: &Value| {
                let mut v = v.clone();
                if let Some(o) = v.as_object_mut() {
                    o.remove("droppable");
                }
                v
            };
            strip(a) == strip(b)
        };
        match seen.get(name) {
            Some(prev) if !same(prev, d) => {
                out.push(format!("two different descriptions are named '{name}'"))
            }
            Some(_) => {}
            None => {
                seen.insert(name, d);
            }
        }
        for f in d
            .get("fields")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(nd) = f.get("description") {
                walk(nd, seen, out);
            }
        }
        for sd in d
            .get("subsections")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            walk(sd, seen, out);
        }
    }
    let mut seen = BTreeMap::new();
    let mut out = Vec::new();
    if let Some(secs) = dump.get("sections").and_then(Value::as_object) {
        for s in secs.values() {
            if let Some(d) = s.get("description") {
                walk(d, &mut seen, &mut out);
            }
        }
    }
    out
}

/// One incompatible change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incompatibility {
    /// "section/description/field" where it was found.
    pub path: String,
    /// A short name for the rule, e.g. "field-removed".
    pub rule: &'static str,
    pub detail: String,
}

impl std::fmt::Display for Incompatibility {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.path, self.rule, self.detail)
    }
}

/// Why a dump could not be compared.
#[derive(Debug, thiserror::Error)]
#[error("schema dump is malformed at {path}: {what}")]
pub struct SchemaError {
    pub path: String,
    pub what: String,
}

struct Checker {
    out: Vec<Incompatibility>,
}

fn get<'a>(v: &'a Value, key: &str, path: &str) -> Result<&'a Value, SchemaError> {
    v.get(key).ok_or_else(|| SchemaError {
        path: path.into(),
        what: format!("missing key '{key}'"),
    })
}

fn get_u64(v: &Value, key: &str, path: &str) -> Result<u64, SchemaError> {
    get(v, key, path)?.as_u64().ok_or_else(|| SchemaError {
        path: path.into(),
        what: format!("'{key}' is not a number"),
    })
}

fn get_str<'a>(v: &'a Value, key: &str, path: &str) -> Result<&'a str, SchemaError> {
    get(v, key, path)?.as_str().ok_or_else(|| SchemaError {
        path: path.into(),
        what: format!("'{key}' is not a string"),
    })
}

fn get_arr<'a>(v: &'a Value, key: &str, path: &str) -> Result<&'a [Value], SchemaError> {
    match v.get(key) {
        None => Ok(&[]),
        Some(a) => a.as_array().map(Vec::as_slice).ok_or_else(|| SchemaError {
            path: path.into(),
            what: format!("'{key}' is not an array"),
        }),
    }
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

/// A field's wire shape, without names and version rules.
fn shape_of(f: &Value) -> String {
    let kind = f.get("kind").and_then(Value::as_str).unwrap_or("?");
    match kind {
        "value" => format!(
            "{}[{}]",
            f.get("type").and_then(Value::as_str).unwrap_or("?"),
            f.get("dims").map(Value::to_string).unwrap_or_default()
        ),
        "unused" => format!("unused[{}]", f.get("size").unwrap_or(&Value::Null)),
        "buffer" => "buffer".into(),
        "struct" => format!(
            "struct {}[{}]",
            f.pointer("/description/name")
                .and_then(Value::as_str)
                .unwrap_or("?"),
            f.get("count").unwrap_or(&Value::Null)
        ),
        _ => kind.into(),
    }
}

/// Bytes a fixed-size field occupies, if fixed.
fn fixed_bytes(f: &Value) -> Option<u64> {
    match f.get("kind")?.as_str()? {
        "value" => Some(f.get("size")?.as_u64()? * f.get("count")?.as_u64()?),
        "unused" => f.get("size")?.as_u64(),
        _ => None,
    }
}

impl Checker {
    fn report(&mut self, path: &str, rule: &'static str, detail: String) {
        self.out.push(Incompatibility {
            path: path.into(),
            rule,
            detail,
        });
    }

    /// Compares two descriptions. `strict`: a nested struct, whose fields are always
    /// loaded at the struct's current version (no version on the wire), so any change
    /// to its field list breaks old streams.
    fn desc(
        &mut self,
        old: &Value,
        new: &Value,
        path: &str,
        strict: bool,
    ) -> Result<(), SchemaError> {
        let ov = get_u64(old, "version_id", path)?;
        let nv = get_u64(new, "version_id", path)?;
        let nmin = get_u64(new, "minimum_version_id", path)?;
        let oname = get_str(old, "name", path)?;
        let nname = get_str(new, "name", path)?;
        if oname != nname {
            self.report(
                path,
                "renamed",
                format!("description '{oname}' is now '{nname}'; names are wire format"),
            );
        }
        if nv < ov {
            self.report(
                path,
                "version-lowered",
                format!("version {ov} -> {nv}: old streams are 'too new' for this build"),
            );
        }
        if nmin > ov {
            self.report(
                path,
                "minimum-version-raised",
                format!("minimum_version {nmin} is above the old version {ov}: old streams no longer load"),
            );
        }
        let ofields = get_arr(old, "fields", path)?;
        // What a new loader expects in an old stream: fields present at version ov.
        let mut expected: Vec<&Value> = Vec::new();
        for f in get_arr(new, "fields", path)? {
            let since = get_u64(f, "version_id", path)?;
            if strict || since <= ov {
                expected.push(f);
            }
        }
        let name = |f: &Value| {
            f.get("field")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned()
        };
        let onames: Vec<String> = ofields.iter().map(name).collect();
        let enames: Vec<String> = expected.iter().map(|f| name(f)).collect();
        let all_new: Vec<String> = get_arr(new, "fields", path)?.iter().map(name).collect();
        let mut i = 0;
        let mut j = 0;
        while i < ofields.len() || j < expected.len() {
            let of = ofields.get(i);
            let nf = expected.get(j).copied();
            match (of, nf) {
                (Some(o), Some(n)) if name(o) == name(n) => {
                    self.field(o, n, &format!("{path}/{}", name(o)), ov)?;
                    i += 1;
                    j += 1;
                }
                (Some(o), Some(n))
                    if fixed_bytes(o).is_some()
                        && n.get("kind").and_then(Value::as_str) == Some("unused")
                        && fixed_bytes(o) == fixed_bytes(n)
                        && !onames.contains(&name(n)) =>
                {
                    // A retired field replaced by unused bytes of the same size.
                    i += 1;
                    j += 1;
                }
                (Some(o), _) if !enames.contains(&name(o)) => {
                    let fpath = format!("{path}/{}", name(o));
                    if all_new.contains(&name(o)) {
                        self.report(
                            &fpath,
                            "version-rule-changed",
                            "the field is now absent from streams of the old version".into(),
                        );
                    } else {
                        self.report(&fpath, "field-removed", "removed or renamed; old streams still contain it (keep it, or replace it with unused(bytes))".into());
                    }
                    i += 1;
                }
                (_, Some(n)) if !onames.contains(&name(n)) => {
                    let since = n.get("version_id").and_then(Value::as_u64).unwrap_or(0);
                    let detail = if strict {
                        "added to a nested struct; old streams lack it (nested structs carry no version)".into()
                    } else {
                        format!("added with version_id {since} <= old version {ov}: old streams lack it; use field_since({})", ov + 1)
                    };
                    self.report(
                        &format!("{path}/{}", name(n)),
                        "field-added-without-version",
                        detail,
                    );
                    j += 1;
                }
                (Some(o), Some(_)) => {
                    self.report(
                        &format!("{path}/{}", name(o)),
                        "field-reordered",
                        "fields must keep their order".into(),
                    );
                    // Resynchronise on the new position of the old field.
                    i += 1;
                    j += 1;
                }
                (Some(_), None) | (None, Some(_)) | (None, None) => {
                    unreachable_pair(&mut i, &mut j)
                }
            }
        }
        // Subsections: every old one must still load.
        let osubs = get_arr(old, "subsections", path)?;
        let nsubs = get_arr(new, "subsections", path)?;
        for os in osubs {
            let sname = get_str(os, "name", path)?;
            let spath = format!("{path}/{{{sname}}}");
            match nsubs
                .iter()
                .find(|n| n.get("name").and_then(Value::as_str) == Some(sname))
            {
                None if flag(os, "droppable") => {}
                None => self.report(
                    &spath,
                    "subsection-removed",
                    "old streams that contain it fail with 'unknown subsection'".into(),
                ),
                Some(ns) => {
                    if flag(os, "droppable") != flag(ns, "droppable") {
                        self.report(
                            &spath,
                            "droppable-changed",
                            "droppable data carries a length, plain data does not".into(),
                        );
                    }
                    self.desc(os, ns, &spath, strict)?;
                }
            }
        }
        Ok(())
    }

    fn field(
        &mut self,
        o: &Value,
        n: &Value,
        path: &str,
        old_version: u64,
    ) -> Result<(), SchemaError> {
        let (os, ns) = (shape_of(o), shape_of(n));
        if os != ns || fixed_bytes(o) != fixed_bytes(n) {
            self.report(path, "field-resized", format!("{os} -> {ns}"));
            return Ok(());
        }
        if o.get("version_id") != n.get("version_id") {
            let (a, b) = (
                get_u64(o, "version_id", path)?,
                get_u64(n, "version_id", path)?,
            );
            if a.max(b) > 0 && a != b {
                self.report(
                    path,
                    "version-rule-changed",
                    format!(
                        "field version_id {a} -> {b} (streams of versions between them disagree)"
                    ),
                );
            }
        }
        if flag(o, "field_exists") != flag(n, "field_exists") {
            self.report(
                path,
                "field-exists-changed",
                "a field_if predicate was added or removed".into(),
            );
        }
        if let (Some(om), Some(nm)) = (
            o.get("max").and_then(Value::as_u64),
            n.get("max").and_then(Value::as_u64),
        ) {
            if nm < om {
                self.report(
                    path,
                    "buffer-max-lowered",
                    format!("max {om} -> {nm}: old streams may hold longer buffers"),
                );
            }
        }
        if let (Some(od), Some(nd)) = (o.get("description"), n.get("description")) {
            let _ = old_version;
            self.desc(od, nd, path, true)?;
        }
        Ok(())
    }
}

fn unreachable_pair(i: &mut usize, j: &mut usize) {
    // Only reachable if a name is in both lists yet matched neither arm; advance both so
    // the loop always terminates.
    *i += 1;
    *j += 1;
}

/// Compares an old dump with a new one; returns every incompatible change (empty =
/// compatible).
pub fn check(old: &Value, new: &Value) -> Result<Vec<Incompatibility>, SchemaError> {
    let mut c = Checker { out: Vec::new() };
    let om = get_str(old, "machine", "")?;
    let nm = get_str(new, "machine", "")?;
    if om != nm {
        c.report(
            "",
            "machine-renamed",
            format!("machine type '{om}' -> '{nm}'"),
        );
    }
    let empty = Map::new();
    let osecs = get(old, "sections", "")?.as_object().unwrap_or(&empty);
    let nsecs = get(new, "sections", "")?.as_object().unwrap_or(&empty);
    let names: BTreeMap<&String, ()> = osecs.keys().chain(nsecs.keys()).map(|k| (k, ())).collect();
    for name in names.keys() {
        match (osecs.get(*name), nsecs.get(*name)) {
            (Some(o), Some(n)) => {
                if flag(o, "droppable") != flag(n, "droppable") {
                    c.report(name, "droppable-changed", "droppable sections carry a length, plain ones do not".into());
                }
                c.desc(get(o, "description", name)?, get(n, "description", name)?, name, false)?;
            }
            (Some(o), None) if !flag(o, "droppable") => {
                c.report(name, "section-removed", "old snapshots contain it and fail with 'unknown section'".into())
            }
            (None, Some(n)) if !flag(n, "droppable") => c.report(
                name,
                "section-added",
                "old snapshots lack it and fail with 'missing section'; make it droppable or a new machine type".into(),
            ),
            _ => {}
        }
    }
    Ok(c.out)
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
