//! One test per compatibility rule: build an old and a new description in code, dump
//! both, check.

use std::sync::LazyLock;

use serde_json::Value;

use super::*;
use crate::vmsd::{VmState, Vmsd};

#[derive(Debug, Default)]
struct S {
    a: u32,
    b: u16,
    c: [u8; 4],
    d: u64,
    n: u8,
    buf: Vec<u8>,
    inner: Inner,
    inner2: Inner2,
}

#[derive(Debug, Default)]
struct Inner {
    x: u8,
    y: u8,
}

impl VmState for Inner {
    fn vmsd() -> &'static Vmsd<Self> {
        static V: LazyLock<Vmsd<Inner>> = LazyLock::new(|| {
            Vmsd::<Inner>::builder("inner")
                .field("x", |s| &s.x, |s| &mut s.x)
                .build()
        });
        &V
    }
}

/// A second "version" of Inner with one more field, for the nested-struct rule.
#[derive(Debug, Default)]
struct Inner2(Inner);

impl VmState for Inner2 {
    fn vmsd() -> &'static Vmsd<Self> {
        static V: LazyLock<Vmsd<Inner2>> = LazyLock::new(|| {
            Vmsd::<Inner2>::builder("inner")
                .field("x", |s| &s.0.x, |s| &mut s.0.x)
                .field("y", |s| &s.0.y, |s| &mut s.0.y)
                .build()
        });
        &V
    }
}

fn dump_of(v: Vmsd<S>) -> Value {
    // Descriptions here are not statics, so dump through the description directly.
    let leaked: &'static Vmsd<S> = Box::leak(Box::new(v));
    serde_json::json!({
        "machine": "g3beige",
        "sections": { "dev": { "droppable": false, "description": dump_description(leaked) } }
    })
}

fn base() -> crate::vmsd::VmsdBuilder<S> {
    Vmsd::<S>::builder("dev")
        .version(2)
        .minimum_version(1)
        .field("a", |s| &s.a, |s| &mut s.a)
        .field("b", |s| &s.b, |s| &mut s.b)
        .field("c", |s| &s.c, |s| &mut s.c)
}

fn rules(old: Vmsd<S>, new: Vmsd<S>) -> Vec<&'static str> {
    check(&dump_of(old), &dump_of(new))
        .unwrap()
        .into_iter()
        .map(|i| i.rule)
        .collect()
}

#[test]
fn identical_descriptions_are_compatible() {
    assert!(rules(base().build(), base().build()).is_empty());
}

#[test]
fn field_added_with_newer_version_is_accepted() {
    let new = base()
        .version(3)
        .field_since(3, "d", |s| &s.d, |s| &mut s.d)
        .build();
    assert!(rules(base().build(), new).is_empty());
}

#[test]
fn field_added_without_version_is_rejected() {
    let new = base().field("d", |s| &s.d, |s| &mut s.d).build();
    assert_eq!(rules(base().build(), new), ["field-added-without-version"]);
}

#[test]
fn field_removed_is_rejected() {
    let new = Vmsd::<S>::builder("dev")
        .version(2)
        .minimum_version(1)
        .field("a", |s| &s.a, |s| &mut s.a)
        .field("c", |s| &s.c, |s| &mut s.c)
        .build();
    assert_eq!(rules(base().build(), new), ["field-removed"]);
}

#[test]
fn field_renamed_is_rejected() {
    let new = Vmsd::<S>::builder("dev")
        .version(2)
        .minimum_version(1)
        .field("a", |s| &s.a, |s| &mut s.a)
        .field("bb", |s| &s.b, |s| &mut s.b)
        .field("c", |s| &s.c, |s| &mut s.c)
        .build();
    let r = rules(base().build(), new);
    assert!(
        r.contains(&"field-removed") && r.contains(&"field-added-without-version"),
        "{r:?}"
    );
}

#[test]
fn field_replaced_by_unused_of_same_size_is_accepted() {
    let new = Vmsd::<S>::builder("dev")
        .version(2)
        .minimum_version(1)
        .field("a", |s| &s.a, |s| &mut s.a)
        .unused(2)
        .field("c", |s| &s.c, |s| &mut s.c)
        .build();
    assert!(rules(base().build(), new).is_empty());
}

#[test]
fn field_resized_is_rejected() {
    let new = Vmsd::<S>::builder("dev")
        .version(2)
        .minimum_version(1)
        .field("a", |s| &s.a, |s| &mut s.a)
        .field("b", |s| &s.a, |s| &mut s.a)
        .field("c", |s| &s.c, |s| &mut s.c)
        .build();
    assert_eq!(rules(base().build(), new), ["field-resized"]);
}

#[test]
fn array_length_change_is_a_resize() {
    let new = Vmsd::<S>::builder("dev")
        .version(2)
        .minimum_version(1)
        .field("a", |s| &s.a, |s| &mut s.a)
        .field("b", |s| &s.b, |s| &mut s.b)
        .field("c", |s| &s.d, |s| &mut s.d) // u64 where [u8; 4] was
        .build();
    assert_eq!(rules(base().build(), new), ["field-resized"]);
}

#[test]
fn fields_reordered_are_rejected() {
    let new = Vmsd::<S>::builder("dev")
        .version(2)
        .minimum_version(1)
        .field("b", |s| &s.b, |s| &mut s.b)
        .field("a", |s| &s.a, |s| &mut s.a)
        .field("c", |s| &s.c, |s| &mut s.c)
        .build();
    assert!(rules(base().build(), new).contains(&"field-reordered"));
}

#[test]
fn minimum_version_raised_past_old_version_is_rejected() {
    let new = base().version(3).minimum_version(3).build();
    assert_eq!(rules(base().build(), new), ["minimum-version-raised"]);
}

#[test]
fn minimum_version_raised_up_to_old_version_is_accepted() {
    let new = base().version(3).minimum_version(2).build();
    assert!(rules(base().build(), new).is_empty());
}

#[test]
fn version_lowered_is_rejected() {
    let new = base().version(1).build();
    assert_eq!(rules(base().build(), new), ["version-lowered"]);
}

#[test]
fn field_exists_predicate_change_is_rejected() {
    let new = Vmsd::<S>::builder("dev")
        .version(2)
        .minimum_version(1)
        .field("a", |s| &s.a, |s| &mut s.a)
        .field_if("b", |_, _| true, |s| &s.b, |s| &mut s.b)
        .field("c", |s| &s.c, |s| &mut s.c)
        .build();
    assert_eq!(rules(base().build(), new), ["field-exists-changed"]);
}

fn sub(fields: usize, version: u32) -> Vmsd<S> {
    let mut b = Vmsd::<S>::builder("dev/sub").version(version);
    b = b.field("d", |s| &s.d, |s| &mut s.d);
    if fields > 1 {
        b = b.field("n", |s| &s.n, |s| &mut s.n);
    }
    b.build()
}

#[test]
fn new_subsection_is_accepted() {
    let new = base().subsection(sub(1, 1), |_| true).build();
    assert!(rules(base().build(), new).is_empty());
}

#[test]
fn subsection_removed_is_rejected() {
    let old = base().subsection(sub(1, 1), |_| true).build();
    assert_eq!(rules(old, base().build()), ["subsection-removed"]);
}

#[test]
fn droppable_subsection_removed_is_accepted() {
    let old = base().droppable_subsection(sub(1, 1), |_| true).build();
    assert!(rules(old, base().build()).is_empty());
}

#[test]
fn subsection_fields_changed_without_version_is_rejected() {
    let old = base().subsection(sub(1, 1), |_| true).build();
    let new = base().subsection(sub(2, 1), |_| true).build();
    assert_eq!(rules(old, new), ["field-added-without-version"]);
}

#[test]
fn subsection_made_droppable_is_rejected() {
    let old = base().subsection(sub(1, 1), |_| true).build();
    let new = base().droppable_subsection(sub(1, 1), |_| true).build();
    assert_eq!(rules(old, new), ["droppable-changed"]);
}

#[test]
fn nested_struct_change_is_rejected() {
    let old = base()
        .struct_field("inner", |s| &s.inner, |s| &mut s.inner)
        .build();
    let new = base()
        .struct_field("inner", |s| &s.inner2, |s| &mut s.inner2)
        .build();
    assert_eq!(rules(old, new), ["field-added-without-version"]);
}

#[test]
fn buffer_max_lowered_is_rejected() {
    let old = base()
        .field("n", |s| &s.n, |s| &mut s.n)
        .vbuffer("buf", |s| s.n as usize, 64, |s| &s.buf, |s| &mut s.buf)
        .build();
    let new = base()
        .field("n", |s| &s.n, |s| &mut s.n)
        .vbuffer("buf", |s| s.n as usize, 32, |s| &s.buf, |s| &mut s.buf)
        .build();
    assert_eq!(rules(old, new), ["buffer-max-lowered"]);
}

#[test]
fn section_removed_and_added_are_rejected_unless_droppable() {
    let old = dump_of(base().build());
    let mut new = old.clone();
    let sec = new["sections"]["dev"].clone();
    new["sections"].as_object_mut().unwrap().remove("dev");
    new["sections"]["other"] = sec.clone();
    let r: Vec<_> = check(&old, &new)
        .unwrap()
        .into_iter()
        .map(|i| i.rule)
        .collect();
    assert_eq!(r, ["section-removed", "section-added"]);
    new["sections"]["other"]["droppable"] = true.into();
    let r: Vec<_> = check(&old, &new)
        .unwrap()
        .into_iter()
        .map(|i| i.rule)
        .collect();
    assert_eq!(r, ["section-removed"]);
}

#[test]
fn malformed_dump_is_an_error_not_a_panic() {
    let old = dump_of(base().build());
    assert!(check(&old, &serde_json::json!({"machine": "g3beige"})).is_err());
    assert!(check(&old, &serde_json::json!([1, 2])).is_err());
}

#[test]
fn dump_of_demo_machine_lists_every_section_once() {
    let mut m = crate::testing::demo::DemoMachine::new(4096);
    let secs = [
        crate::stream::SectionRef::new("cpu", 0, &mut m.cpu),
        crate::stream::SectionRef::new("escc", 0, &mut m.uart),
        crate::stream::SectionRef::new("escc", 1, &mut m.uart2),
    ];
    let d = dump("g3beige", &secs);
    let s = d["sections"].as_object().unwrap();
    assert_eq!(s.len(), 2);
    assert_eq!(
        d["sections"]["cpu"]["description"]["subsections"][0]["name"],
        "cpu/irq_state"
    );
    assert_eq!(
        d["sections"]["escc"]["description"]["fields"][0]["description"]["name"],
        "escc_chn"
    );
    assert!(check(&d, &d).unwrap().is_empty());
}

#[test]
fn lint_finds_two_descriptions_with_one_name() {
    let a = dump_of(base().subsection(sub(1, 1), |_| true).build());
    assert!(lint(&a).is_empty());
    let mut two = a.clone();
    let mut other = a["sections"]["dev"].clone();
    // Same subsection name, different fields: a copy-paste name.
    other["description"]["name"] = "dev2".into();
    other["description"]["subsections"][0]["fields"][0]["field"] = "e".into();
    two["sections"]["dev2"] = other;
    let problems = lint(&two);
    assert_eq!(problems, ["two different descriptions are named 'dev/sub'"]);
}

#[test]
fn lint_accepts_a_shared_nested_description() {
    let mut m = crate::testing::demo::DemoMachine::new(4096);
    let secs = [
        crate::stream::SectionRef::new("escc", 0, &mut m.uart),
        crate::stream::SectionRef::new("escc2", 0, &mut m.uart2),
    ];
    assert!(lint(&dump("g3beige", &secs)).is_empty());
}
