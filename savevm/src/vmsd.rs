//! State descriptions: one `Vmsd<T>` per device type drives save, load, the
//! VMDESCRIPTION trailer and the schema dump.
//!
//! Fields are reached through accessor closures (`|s| &s.wr9`), never offsets. A
//! description is built once, typically in a `LazyLock` static behind `VmState::vmsd`.
//! `build()` panics on programming errors (duplicate names, a subsection not named
//! `parent/child`): the schema test that walks every description finds them at once.

use std::fmt;

use crate::error::LoadError;
use crate::json::J;
use crate::wire::{put_short_str, Reader};

/// Stream marker that opens a subsection (QEMU's QEMU_VM_SUBSECTION).
pub const SUBSECTION: u8 = 0x05;
/// Version bit marking a droppable subsection or section: a be32 byte length follows the
/// header, so a loader that does not know it can skip it (FORMAT.md, "Droppable data").
pub const DROPPABLE: u32 = 0x8000_0000;

/// A type with a saved-state description.
pub trait VmState: Sized + 'static {
    fn vmsd() -> &'static Vmsd<Self>;
}

/// Primitive wire types, big-endian, named as QEMU's VMStateInfo names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prim {
    U8,
    U16,
    U32,
    U64,
    I8,
    I16,
    I32,
    I64,
    Bool,
    F64,
}

impl Prim {
    pub const fn size(self) -> usize {
        match self {
            Prim::U8 | Prim::I8 | Prim::Bool => 1,
            Prim::U16 | Prim::I16 => 2,
            Prim::U32 | Prim::I32 => 4,
            Prim::U64 | Prim::I64 | Prim::F64 => 8,
        }
    }

    /// The `type` string in QEMU's VMDESCRIPTION and -dump-vmstate.
    pub const fn qemu_name(self) -> &'static str {
        match self {
            Prim::U8 => "uint8",
            Prim::U16 => "uint16",
            Prim::U32 => "uint32",
            Prim::U64 => "uint64",
            Prim::I8 => "int8",
            Prim::I16 => "int16",
            Prim::I32 => "int32",
            Prim::I64 => "int64",
            Prim::Bool => "bool",
            Prim::F64 => "float64",
        }
    }

    pub fn from_qemu_name(s: &str) -> Option<Prim> {
        [
            Prim::U8,
            Prim::U16,
            Prim::U32,
            Prim::U64,
            Prim::I8,
            Prim::I16,
            Prim::I32,
            Prim::I64,
            Prim::Bool,
            Prim::F64,
        ]
        .into_iter()
        .find(|p| p.qemu_name() == s)
    }
}

/// A primitive, or nested fixed arrays of one (`dims` outermost first; empty = scalar).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    pub prim: Prim,
    pub dims: Vec<usize>,
}

impl Shape {
    /// Number of primitive elements.
    pub fn count(&self) -> usize {
        self.dims.iter().product()
    }

    pub fn byte_len(&self) -> usize {
        self.count() * self.prim.size()
    }
}

/// A value that can be a field: the primitives and fixed arrays of them.
pub trait FieldType: Send + Sync + 'static {
    fn shape() -> Shape;
    fn put(&self, out: &mut Vec<u8>);
    fn get(&mut self, r: &mut Reader<'_>) -> Result<(), LoadError>;
}

macro_rules! int_field {
    ($t:ty, $prim:ident) => {
        impl FieldType for $t {
            fn shape() -> Shape {
                Shape {
                    prim: Prim::$prim,
                    dims: Vec::new(),
                }
            }
            fn put(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_be_bytes());
            }
            fn get(&mut self, r: &mut Reader<'_>) -> Result<(), LoadError> {
                let mut b = [0u8; std::mem::size_of::<$t>()];
                r.read_exact(&mut b)?;
                *self = <$t>::from_be_bytes(b);
                Ok(())
            }
        }
    };
}

int_field!(u8, U8);
int_field!(u16, U16);
int_field!(u32, U32);
int_field!(u64, U64);
int_field!(i8, I8);
int_field!(i16, I16);
int_field!(i32, I32);
int_field!(i64, I64);

impl FieldType for bool {
    fn shape() -> Shape {
        Shape {
            prim: Prim::Bool,
            dims: Vec::new(),
        }
    }
    fn put(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
    fn get(&mut self, r: &mut Reader<'_>) -> Result<(), LoadError> {
        // QEMU accepts any non-zero byte; we accept only what we write, so a stream
        // re-saves byte-identically and a flipped bit is caught.
        match r.u8()? {
            0 => *self = false,
            1 => *self = true,
            v => return Err(r.out_of_range(u64::from(v), "a bool is 0 or 1")),
        }
        Ok(())
    }
}

impl FieldType for f64 {
    fn shape() -> Shape {
        Shape {
            prim: Prim::F64,
            dims: Vec::new(),
        }
    }
    fn put(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bits().to_be_bytes());
    }
    fn get(&mut self, r: &mut Reader<'_>) -> Result<(), LoadError> {
        *self = f64::from_bits(r.be64()?);
        Ok(())
    }
}

impl<V: FieldType, const N: usize> FieldType for [V; N] {
    fn shape() -> Shape {
        let mut s = V::shape();
        s.dims.insert(0, N);
        s
    }
    fn put(&self, out: &mut Vec<u8>) {
        for v in self {
            v.put(out);
        }
    }
    fn get(&mut self, r: &mut Reader<'_>) -> Result<(), LoadError> {
        for v in self.iter_mut() {
            v.get(r)?;
        }
        Ok(())
    }
}

/// What a field is, for the schema dump, the checker and the VMDESCRIPTION trailer.
#[derive(Clone)]
pub enum FieldKind {
    Value(Shape),
    Struct(&'static dyn Describe),
    StructArray {
        len: usize,
        of: &'static dyn Describe,
    },
    /// Variable-length bytes; the length comes from earlier state and is at most `max`.
    VBuffer {
        max: usize,
    },
    /// Placeholder bytes of a retired field: written as zeros, skipped on load.
    Unused(usize),
}

impl fmt::Debug for FieldKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldKind::Value(s) => write!(f, "Value({s:?})"),
            FieldKind::Struct(d) => write!(f, "Struct({})", d.name()),
            FieldKind::StructArray { len, of } => write!(f, "StructArray({}; {len})", of.name()),
            FieldKind::VBuffer { max } => write!(f, "VBuffer(max {max})"),
            FieldKind::Unused(n) => write!(f, "Unused({n})"),
        }
    }
}

/// The static part of a field.
#[derive(Debug, Clone)]
pub struct FieldInfo {
    pub name: &'static str,
    /// Present in streams of this version and newer.
    pub since: u32,
    /// Has a `field_if` predicate.
    pub conditional: bool,
    pub kind: FieldKind,
}

/// A type-erased view of a description, for walking nested structs and subsections.
pub trait Describe: Send + Sync + fmt::Debug {
    fn name(&self) -> &'static str;
    fn version(&self) -> u32;
    fn minimum_version(&self) -> u32;
    fn field_infos(&self) -> Vec<&FieldInfo>;
    /// Each subsection with whether it is droppable.
    fn subsection_descs(&self) -> Vec<(&dyn Describe, bool)>;
}

type Pred<T> = Box<dyn Fn(&T, u32) -> bool + Send + Sync>;
type Needed<T> = Box<dyn Fn(&T) -> bool + Send + Sync>;
type SaveFn<T> = Box<dyn Fn(&mut T, &mut Vec<u8>, Option<&mut Vec<J>>) + Send + Sync>;
type LoadFn<T> = Box<dyn Fn(&mut T, &mut Reader<'_>) -> Result<(), LoadError> + Send + Sync>;
type Hook<T> = Box<dyn Fn(&mut T) + Send + Sync>;
type PostLoad<T> = Box<dyn Fn(&mut T, u32) -> Result<(), String> + Send + Sync>;

struct Field<T> {
    info: FieldInfo,
    exists: Option<Pred<T>>,
    save: SaveFn<T>,
    load: LoadFn<T>,
}

struct Subsection<T> {
    vmsd: Vmsd<T>,
    needed: Needed<T>,
    droppable: bool,
}

/// The saved-state description of `T` (QEMU's VMStateDescription).
pub struct Vmsd<T> {
    name: &'static str,
    version: u32,
    minimum_version: u32,
    fields: Vec<Field<T>>,
    subsections: Vec<Subsection<T>>,
    pre_save: Option<Hook<T>>,
    pre_load: Option<Hook<T>>,
    post_load: Option<PostLoad<T>>,
}

impl<T> fmt::Debug for Vmsd<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vmsd")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("minimum_version", &self.minimum_version)
            .field(
                "fields",
                &self.fields.iter().map(|f| &f.info).collect::<Vec<_>>(),
            )
            .field(
                "subsections",
                &self
                    .subsections
                    .iter()
                    .map(|s| s.vmsd.name)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl<T: 'static> Describe for Vmsd<T> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn version(&self) -> u32 {
        self.version
    }
    fn minimum_version(&self) -> u32 {
        self.minimum_version
    }
    fn field_infos(&self) -> Vec<&FieldInfo> {
        self.fields.iter().map(|f| &f.info).collect()
    }
    fn subsection_descs(&self) -> Vec<(&dyn Describe, bool)> {
        self.subsections
            .iter()
            .map(|s| (&s.vmsd as &dyn Describe, s.droppable))
            .collect()
    }
}

/// A subsection header read from the stream but not yet handled.
#[derive(Debug)]
pub(crate) struct SubHeader {
    pub(crate) name: String,
    pub(crate) version: u32,
    pub(crate) offset: u64,
}

impl<T: 'static> Vmsd<T> {
    /// Starts a description. `name` is wire format: never rename it.
    pub fn builder(name: &'static str) -> VmsdBuilder<T> {
        VmsdBuilder {
            vmsd: Vmsd {
                name,
                version: 1,
                minimum_version: 1,
                fields: Vec::new(),
                subsections: Vec::new(),
                pre_save: None,
                pre_load: None,
                post_load: None,
            },
            unused_count: 0,
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn version(&self) -> u32 {
        self.version
    }

    pub fn minimum_version(&self) -> u32 {
        self.minimum_version
    }

    fn field_present(&self, f: &Field<T>, s: &T, version: u32) -> bool {
        f.info.since <= version && f.exists.as_ref().is_none_or(|p| p(s, version))
    }

    /// Writes the fields only (no hooks, no subsections): the body of a nested struct.
    fn save_fields(&self, s: &mut T, out: &mut Vec<u8>, mut desc: Option<&mut Vec<J>>) {
        for f in &self.fields {
            if self.field_present(f, s, self.version) {
                (f.save)(s, out, desc.as_deref_mut());
            }
        }
    }

    /// Saves a whole description body: pre_save, fields, then needed subsections.
    /// `desc`, when given, receives the VMDESCRIPTION of what was written.
    pub(crate) fn save_state(&self, s: &mut T, out: &mut Vec<u8>, desc: Option<&mut J>) {
        if let Some(h) = &self.pre_save {
            h(s);
        }
        let mut fields_desc = desc.is_some().then(Vec::new);
        self.save_fields(s, out, fields_desc.as_mut());
        let mut subs_desc = Vec::new();
        for sub in &self.subsections {
            if !(sub.needed)(s) {
                continue;
            }
            out.push(SUBSECTION);
            put_short_str(out, sub.vmsd.name);
            let mut version = sub.vmsd.version;
            if sub.droppable {
                version |= DROPPABLE;
            }
            out.extend_from_slice(&version.to_be_bytes());
            let mut sd = desc.is_some().then(J::obj);
            if sub.droppable {
                let len_at = out.len();
                out.extend_from_slice(&[0; 4]);
                sub.vmsd.save_state(s, out, sd.as_mut());
                let len = (out.len() - len_at - 4) as u32;
                out[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
                if let Some(J::Obj(kv)) = sd.as_mut() {
                    // The length is the first "field" for analyze-migration.py.
                    if let Some((_, J::Arr(fields))) = kv.iter_mut().find(|(k, _)| *k == "fields") {
                        fields.insert(0, scalar_desc("droppable_len", Prim::U32, None));
                    }
                }
            } else {
                sub.vmsd.save_state(s, out, sd.as_mut());
            }
            if let Some(sd) = sd {
                subs_desc.push(sd);
            }
        }
        if let Some(d) = desc {
            d.set("vmsd_name", self.name.into());
            d.set("version", self.version.into());
            d.set("fields", J::Arr(fields_desc.unwrap_or_default()));
            if !subs_desc.is_empty() {
                d.set("subsections", J::Arr(subs_desc));
            }
        }
    }

    fn check_version(&self, r: &Reader<'_>, version: u32) -> Result<(), LoadError> {
        if version > self.version {
            return Err(LoadError::VersionTooNew {
                section: self.context_name(r),
                offset: r.offset(),
                found: version,
                supported: self.version,
            });
        }
        if version < self.minimum_version {
            return Err(LoadError::VersionTooOld {
                section: self.context_name(r),
                offset: r.offset(),
                found: version,
                minimum: self.minimum_version,
            });
        }
        Ok(())
    }

    fn context_name(&self, r: &Reader<'_>) -> String {
        if r.section().is_empty() || r.section() == self.name {
            self.name.to_owned()
        } else {
            format!("{} ({})", r.section(), self.name)
        }
    }

    fn load_fields(&self, s: &mut T, r: &mut Reader<'_>, version: u32) -> Result<(), LoadError> {
        for f in &self.fields {
            if self.field_present(f, s, version) {
                r.push(f.info.name);
                (f.load)(s, r)?;
                r.pop();
            }
        }
        Ok(())
    }

    /// Loads a nested struct: hooks and fields at the struct's own version; nested
    /// structs have no subsections (enforced by `build`).
    fn load_struct(&self, s: &mut T, r: &mut Reader<'_>) -> Result<(), LoadError> {
        if let Some(h) = &self.pre_load {
            h(s);
        }
        self.load_fields(s, r, self.version)?;
        self.run_post_load(s, r, self.version)
    }

    fn run_post_load(&self, s: &mut T, r: &Reader<'_>, version: u32) -> Result<(), LoadError> {
        if let Some(h) = &self.post_load {
            h(s, version).map_err(|message| LoadError::Invalid {
                section: self.context_name(r),
                message,
            })?;
        }
        Ok(())
    }

    /// Loads a whole description body written at `version`. Returns a subsection
    /// header that belongs to an enclosing description, if one was read.
    pub(crate) fn load_state(
        &self,
        s: &mut T,
        r: &mut Reader<'_>,
        version: u32,
    ) -> Result<Option<SubHeader>, LoadError> {
        self.check_version(r, version)?;
        if let Some(h) = &self.pre_load {
            h(s);
        }
        self.load_fields(s, r, version)?;
        let rest = self.load_subsections(s, r)?;
        self.run_post_load(s, r, version)?;
        Ok(rest)
    }

    /// Reads subsections while the next byte is a subsection marker. After a
    /// description's fields the next byte is always a marker (0x05 here, or the section
    /// footer 0x7e), never field data, so this peek cannot misread.
    fn load_subsections(
        &self,
        s: &mut T,
        r: &mut Reader<'_>,
    ) -> Result<Option<SubHeader>, LoadError> {
        let mut seen = vec![false; self.subsections.len()];
        let mut pending: Option<SubHeader> = None;
        loop {
            let hdr = match pending.take() {
                Some(h) => h,
                None => {
                    if r.peek()? != Some(SUBSECTION) {
                        return Ok(None);
                    }
                    let offset = r.offset();
                    r.u8()?;
                    let name = r.short_str()?;
                    let version = r.be32()?;
                    SubHeader {
                        name,
                        version,
                        offset,
                    }
                }
            };
            // A name is "parent/child": one not under us belongs to an enclosing level.
            let mine = hdr
                .name
                .strip_prefix(self.name)
                .is_some_and(|rest| rest.starts_with('/'));
            if !mine {
                return Ok(Some(hdr));
            }
            let droppable = hdr.version & DROPPABLE != 0;
            let version = hdr.version & !DROPPABLE;
            let idx = self
                .subsections
                .iter()
                .position(|x| x.vmsd.name == hdr.name);
            let known = idx.filter(|&i| {
                let v = &self.subsections[i].vmsd;
                !droppable || (version <= v.version && version >= v.minimum_version)
            });
            let Some(i) = known else {
                if droppable {
                    let len = r.be32()?;
                    let msg = format!(
                        "skipped optional subsection '{}' version {version} ({len} bytes) in {}: \
                         saved by a newer beige, not needed to run",
                        hdr.name,
                        r.context()
                    );
                    tracing::warn!(target: "savevm", "{msg}");
                    r.skip(u64::from(len))?;
                    r.warn(msg);
                    continue;
                }
                return Err(LoadError::UnknownSubsection {
                    section: self.context_name(r),
                    name: hdr.name,
                    offset: hdr.offset,
                });
            };
            if seen[i] {
                return Err(LoadError::Malformed {
                    context: r.context(),
                    offset: hdr.offset,
                    expected: "each subsection at most once".into(),
                    found: format!("'{}' again", hdr.name),
                });
            }
            seen[i] = true;
            let sub = &self.subsections[i];
            if droppable != sub.droppable {
                return Err(LoadError::Malformed {
                    context: r.context(),
                    offset: hdr.offset,
                    expected: format!("subsection '{}' droppable={}", hdr.name, sub.droppable),
                    found: format!("droppable={droppable}"),
                });
            }
            if droppable {
                let len = u64::from(r.be32()?);
                let start = r.offset();
                sub.vmsd.load_state(s, r, version)?;
                let used = r.offset() - start;
                if used != len {
                    return Err(LoadError::Malformed {
                        context: format!("subsection '{}'", hdr.name),
                        offset: start,
                        expected: format!("{len} bytes as its length says"),
                        found: format!("{used} bytes"),
                    });
                }
            } else {
                pending = sub.vmsd.load_state(s, r, version)?;
            }
        }
    }
}

fn scalar_desc(name: &str, prim: Prim, array_len: Option<usize>) -> J {
    let mut o = J::obj();
    o.set("name", name.into());
    if let Some(n) = array_len {
        o.set("array_len", n.into());
    }
    o.set("type", prim.qemu_name().into());
    o.set("size", prim.size().into());
    o
}

fn value_desc(name: &str, shape: &Shape) -> Option<J> {
    // QEMU describes a multi-dimensional array as one flat array of its elements.
    match shape.count() {
        0 => None,
        1 => Some(scalar_desc(name, shape.prim, None)),
        n => Some(scalar_desc(name, shape.prim, Some(n))),
    }
}

/// Builds a `Vmsd<T>`; see the crate docs for an example.
pub struct VmsdBuilder<T> {
    vmsd: Vmsd<T>,
    unused_count: usize,
}

impl<T> fmt::Debug for VmsdBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VmsdBuilder")
            .field("name", &self.vmsd.name)
            .finish()
    }
}

impl<T: 'static> VmsdBuilder<T> {
    /// The version this build writes (QEMU's version_id).
    pub fn version(mut self, v: u32) -> Self {
        self.vmsd.version = v;
        self
    }

    /// The oldest stream version this build still loads (QEMU's minimum_version_id).
    pub fn minimum_version(mut self, v: u32) -> Self {
        self.vmsd.minimum_version = v;
        self
    }

    fn push(
        mut self,
        info: FieldInfo,
        exists: Option<Pred<T>>,
        save: SaveFn<T>,
        load: LoadFn<T>,
    ) -> Self {
        self.vmsd.fields.push(Field {
            info,
            exists,
            save,
            load,
        });
        self
    }

    fn value_field<V: FieldType>(
        self,
        since: u32,
        name: &'static str,
        exists: Option<Pred<T>>,
        get: impl Fn(&T) -> &V + Send + Sync + 'static,
        set: impl Fn(&mut T) -> &mut V + Send + Sync + 'static,
    ) -> Self {
        let shape = V::shape();
        let desc_shape = shape.clone();
        let info = FieldInfo {
            name,
            since,
            conditional: exists.is_some(),
            kind: FieldKind::Value(shape),
        };
        let save: SaveFn<T> = Box::new(move |s, out, desc| {
            get(s).put(out);
            if let Some(d) = desc {
                d.extend(value_desc(name, &desc_shape));
            }
        });
        let load: LoadFn<T> = Box::new(move |s, r| set(s).get(r));
        self.push(info, exists, save, load)
    }

    /// A primitive or fixed-array field, present in every version.
    pub fn field<V: FieldType>(
        self,
        name: &'static str,
        get: impl Fn(&T) -> &V + Send + Sync + 'static,
        set: impl Fn(&mut T) -> &mut V + Send + Sync + 'static,
    ) -> Self {
        self.value_field(0, name, None, get, set)
    }

    /// A field present in streams of version `since` and newer.
    pub fn field_since<V: FieldType>(
        self,
        since: u32,
        name: &'static str,
        get: impl Fn(&T) -> &V + Send + Sync + 'static,
        set: impl Fn(&mut T) -> &mut V + Send + Sync + 'static,
    ) -> Self {
        self.value_field(since, name, None, get, set)
    }

    /// A field present when `exists(state, stream_version)` holds (QEMU's
    /// field_exists). On load the predicate sees the fields loaded before it.
    pub fn field_if<V: FieldType>(
        self,
        name: &'static str,
        exists: impl Fn(&T, u32) -> bool + Send + Sync + 'static,
        get: impl Fn(&T) -> &V + Send + Sync + 'static,
        set: impl Fn(&mut T) -> &mut V + Send + Sync + 'static,
    ) -> Self {
        self.value_field(0, name, Some(Box::new(exists)), get, set)
    }

    /// A nested struct with its own description (which must have no subsections).
    pub fn struct_field<S: VmState>(
        self,
        name: &'static str,
        get: impl Fn(&T) -> &S + Send + Sync + 'static,
        set: impl Fn(&mut T) -> &mut S + Send + Sync + 'static,
    ) -> Self {
        let _ = get; // Saving runs the nested pre_save, so it goes through `set`.
        let set = std::sync::Arc::new(set);
        let set2 = set.clone();
        let info = FieldInfo {
            name,
            since: 0,
            conditional: false,
            kind: FieldKind::Struct(S::vmsd()),
        };
        let save: SaveFn<T> = Box::new(move |s, out, desc| {
            let sub = set(s);
            save_nested(sub, name, None, out, desc);
        });
        let load: LoadFn<T> = Box::new(move |s, r| S::vmsd().load_struct(set2(s), r));
        self.push(info, None, save, load)
    }

    /// A fixed array of nested structs.
    pub fn struct_array<S: VmState, const N: usize>(
        self,
        name: &'static str,
        get: impl Fn(&T) -> &[S; N] + Send + Sync + 'static,
        set: impl Fn(&mut T) -> &mut [S; N] + Send + Sync + 'static,
    ) -> Self {
        let _ = get;
        let set = std::sync::Arc::new(set);
        let set2 = set.clone();
        let info = FieldInfo {
            name,
            since: 0,
            conditional: false,
            kind: FieldKind::StructArray {
                len: N,
                of: S::vmsd(),
            },
        };
        let save: SaveFn<T> = Box::new(move |s, out, mut desc| {
            for (i, e) in set(s).iter_mut().enumerate() {
                let index = (N > 1).then_some(i);
                save_nested(e, name, index, out, desc.as_deref_mut());
            }
        });
        let load: LoadFn<T> = Box::new(move |s, r| {
            for e in set2(s).iter_mut() {
                S::vmsd().load_struct(e, r)?;
            }
            Ok(())
        });
        self.push(info, None, save, load)
    }

    /// Variable-length bytes. `len` reads the length from state described earlier (or
    /// returns a constant); a stream asking for more than `max` is rejected before any
    /// allocation. Saving writes exactly `len` bytes, zero-padding a shorter buffer.
    pub fn vbuffer(
        self,
        name: &'static str,
        len: impl Fn(&T) -> usize + Send + Sync + 'static,
        max: usize,
        get: impl Fn(&T) -> &Vec<u8> + Send + Sync + 'static,
        set: impl Fn(&mut T) -> &mut Vec<u8> + Send + Sync + 'static,
    ) -> Self {
        let len = std::sync::Arc::new(len);
        let len2 = len.clone();
        let info = FieldInfo {
            name,
            since: 0,
            conditional: false,
            kind: FieldKind::VBuffer { max },
        };
        let save: SaveFn<T> = Box::new(move |s, out, desc| {
            // A length above max would save but never load: the device broke its own
            // invariant. Tests catch it here; release builds clamp.
            debug_assert!(
                len(s) <= max,
                "savevm: vbuffer '{name}' length {} > max {max}",
                len(s)
            );
            let n = len(s).min(max);
            let buf = get(s);
            let have = n.min(buf.len());
            out.extend_from_slice(&buf[..have]);
            out.resize(out.len() + (n - have), 0);
            if let Some(d) = desc {
                let mut o = J::obj();
                o.set("name", name.into());
                o.set("type", "buffer".into());
                o.set("size", n.into());
                d.push(o);
            }
        });
        let load: LoadFn<T> = Box::new(move |s, r| {
            let n = len2(s);
            if n > max {
                return Err(r.out_of_range(n as u64, format!("buffer length at most {max}")));
            }
            let buf = set(s);
            buf.clear();
            buf.resize(n, 0);
            r.read_exact(buf)
        });
        self.push(info, None, save, load)
    }

    /// `n` placeholder bytes where a retired field used to be (QEMU's VMSTATE_UNUSED).
    pub fn unused(mut self, n: usize) -> Self {
        // QEMU names these "unused"; ours are numbered so names stay unique.
        let name: &'static str = match self.unused_count {
            0 => "unused",
            i => Box::leak(format!("unused{i}").into_boxed_str()),
        };
        self.unused_count += 1;
        let info = FieldInfo {
            name,
            since: 0,
            conditional: false,
            kind: FieldKind::Unused(n),
        };
        let save: SaveFn<T> = Box::new(move |_, out, desc| {
            out.resize(out.len() + n, 0);
            if let Some(d) = desc {
                let mut o = J::obj();
                o.set("name", "unused".into());
                o.set("type", "unused_buffer".into());
                o.set("size", n.into());
                d.push(o);
            }
        });
        let load: LoadFn<T> = Box::new(move |_, r| r.skip(n as u64));
        self.push(info, None, save, load)
    }

    fn add_subsection(
        mut self,
        sub: Vmsd<T>,
        needed: impl Fn(&T) -> bool + Send + Sync + 'static,
        droppable: bool,
    ) -> Self {
        self.vmsd.subsections.push(Subsection {
            vmsd: sub,
            needed: Box::new(needed),
            droppable,
        });
        self
    }

    /// A subsection named "parent/child", sent when `needed` holds at save time. A
    /// loader that does not know it fails with `UnknownSubsection`, so gate only state
    /// the guest cannot run without; use `droppable_subsection` otherwise.
    pub fn subsection(
        self,
        sub: Vmsd<T>,
        needed: impl Fn(&T) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.add_subsection(sub, needed, false)
    }

    /// A subsection an older loader may skip with a warning (FORMAT.md, "Droppable
    /// data"). It carries its byte length and may not have subsections of its own.
    pub fn droppable_subsection(
        self,
        sub: Vmsd<T>,
        needed: impl Fn(&T) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.add_subsection(sub, needed, true)
    }

    /// Runs before saving (e.g. to copy derived state into saved fields).
    pub fn pre_save(mut self, f: impl Fn(&mut T) + Send + Sync + 'static) -> Self {
        self.vmsd.pre_save = Some(Box::new(f));
        self
    }

    /// Runs before loading: set the defaults of state whose subsection may be absent.
    pub fn pre_load(mut self, f: impl Fn(&mut T) + Send + Sync + 'static) -> Self {
        self.vmsd.pre_load = Some(Box::new(f));
        self
    }

    /// Runs after loading with the stream's version: validate and fix up derived state;
    /// return `Err(reason)` to reject impossible values. Must never raise IRQs (the
    /// board recomputes lines from the loaded registers).
    pub fn post_load(
        mut self,
        f: impl Fn(&mut T, u32) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.vmsd.post_load = Some(Box::new(f));
        self
    }

    /// Finishes the description.
    ///
    /// # Panics
    /// On programming errors: a name longer than 255 bytes or containing NUL, duplicate
    /// field or subsection names, a subsection not named "parent/child", a field
    /// version newer than the description's, minimum version above version, a nested
    /// struct with subsections, or a droppable subsection with subsections.
    pub fn build(self) -> Vmsd<T> {
        let v = &self.vmsd;
        check_name(v.name);
        assert!(
            v.minimum_version <= v.version,
            "savevm: '{}' minimum_version {} > version {}",
            v.name,
            v.minimum_version,
            v.version
        );
        let mut names = std::collections::HashSet::new();
        for f in &v.fields {
            check_name(f.info.name);
            assert!(
                names.insert(f.info.name),
                "savevm: '{}' has two fields named '{}'",
                v.name,
                f.info.name
            );
            assert!(
                f.info.since <= v.version,
                "savevm: '{}' field '{}' since version {} > version {}",
                v.name,
                f.info.name,
                f.info.since,
                v.version
            );
            let nested = match &f.info.kind {
                FieldKind::Struct(d) | FieldKind::StructArray { of: d, .. } => Some(*d),
                _ => None,
            };
            if let Some(d) = nested {
                assert!(
                    d.subsection_descs().is_empty(),
                    "savevm: '{}' field '{}': nested description '{}' has subsections; \
                     move them to the top-level description",
                    v.name,
                    f.info.name,
                    d.name()
                );
            }
        }
        let mut subs = std::collections::HashSet::new();
        for s in &v.subsections {
            let child = s
                .vmsd
                .name
                .strip_prefix(v.name)
                .and_then(|r| r.strip_prefix('/'));
            assert!(
                child.is_some_and(|c| !c.is_empty()),
                "savevm: subsection '{}' of '{}' must be named '{}/<child>'",
                s.vmsd.name,
                v.name,
                v.name
            );
            assert!(
                subs.insert(s.vmsd.name),
                "savevm: '{}' has two subsections named '{}'",
                v.name,
                s.vmsd.name
            );
            assert!(
                !s.droppable || s.vmsd.subsections.is_empty(),
                "savevm: droppable subsection '{}' may not have subsections",
                s.vmsd.name
            );
        }
        self.vmsd
    }
}

fn check_name(name: &str) {
    assert!(
        !name.is_empty() && name.len() <= 255 && !name.contains('\0'),
        "savevm: name '{name}' must be 1..=255 bytes without NUL"
    );
}

/// Saves one nested struct element and describes it as QEMU does (type "struct").
fn save_nested<S: VmState>(
    s: &mut S,
    name: &'static str,
    index: Option<usize>,
    out: &mut Vec<u8>,
    desc: Option<&mut Vec<J>>,
) {
    let vmsd = S::vmsd();
    if let Some(h) = &vmsd.pre_save {
        h(s);
    }
    let start = out.len();
    let mut fields = desc.is_some().then(Vec::new);
    vmsd.save_fields(s, out, fields.as_mut());
    if let Some(d) = desc {
        let mut st = J::obj();
        st.set("vmsd_name", vmsd.name.into());
        st.set("version", vmsd.version.into());
        st.set("fields", J::Arr(fields.unwrap_or_default()));
        let mut o = J::obj();
        o.set("name", name.into());
        if let Some(i) = index {
            o.set("index", i.into());
        }
        o.set("type", "struct".into());
        o.set("struct", st);
        o.set("size", (out.len() - start).into());
        d.push(o);
    }
}

/// Saves `s` as a bare description body (fields, then subsections), as it appears
/// inside a section.
pub fn save_bytes<T: VmState>(s: &mut T) -> Vec<u8> {
    let mut out = Vec::new();
    T::vmsd().save_state(s, &mut out, None);
    out
}

/// The VMDESCRIPTION entry (fields and subsections actually sent) for `s` as saved now.
pub fn describe_saved<T: VmState>(s: &mut T) -> String {
    let mut d = J::obj();
    T::vmsd().save_state(s, &mut Vec::new(), Some(&mut d));
    d.to_json()
}

/// Loads a bare description body written at the current version. The bytes must be
/// consumed exactly.
pub fn load_bytes<T: VmState>(s: &mut T, bytes: &[u8]) -> Result<Vec<String>, LoadError> {
    load_bytes_version(s, bytes, T::vmsd().version)
}

/// Loads a bare description body written at `version`; returns the warnings (skipped
/// droppable data).
pub fn load_bytes_version<T: VmState>(
    s: &mut T,
    bytes: &[u8],
    version: u32,
) -> Result<Vec<String>, LoadError> {
    let mut src = bytes;
    let mut r = Reader::new(&mut src);
    r.set_section(T::vmsd().name);
    if let Some(h) = T::vmsd().load_state(s, &mut r, version)? {
        return Err(LoadError::UnknownSubsection {
            section: T::vmsd().name.to_owned(),
            name: h.name,
            offset: h.offset,
        });
    }
    if let Some(b) = r.peek()? {
        return Err(r.malformed("end of state", format!("byte {b:#04x}")));
    }
    Ok(r.take_warnings())
}

#[cfg(test)]
#[path = "vmsd_tests.rs"]
mod tests;
