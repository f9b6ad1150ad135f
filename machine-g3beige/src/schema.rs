//! The schema dump of a machine type (QEMU's `-dump-vmstate`): every description the
//! machine saves, as JSON. The dumps of released machine types are committed under
//! `golden/schema/`, and `tests/compat.rs` runs savevm's checker against them.

use serde_json::Value;

use crate::machine::{find_machine_type, with_fresh_sections, MachineError};

/// Key added beside savevm's `machine` and `sections`: the stream's section order
/// ("idstr:instance"), which the `sections` object (keyed by idstr) does not keep.
/// The checker ignores it; a reader sees where each section travels.
pub const STREAM_ORDER: &str = "stream_order";

/// The dump as a JSON value. `machine_type` may be the alias; the dump names the
/// type it resolves to, as snapshots do.
pub fn dump_value(machine_type: &str) -> Result<Value, MachineError> {
    let t = find_machine_type(machine_type)
        .ok_or_else(|| MachineError::UnknownMachine(machine_type.to_owned()))?;
    Ok(with_fresh_sections(|sections| {
        let mut v = savevm::schema::dump(t.name, sections);
        // savevm writes beige-config and RAM itself, ahead of the devices.
        let order: Vec<Value> = [
            format!("{}:0", savevm::stream::BEIGE_CONFIG),
            "ram:0".to_owned(),
        ]
        .into_iter()
        .chain(
            sections
                .iter()
                .map(|s| format!("{}:{}", s.idstr, s.instance_id)),
        )
        .map(Value::from)
        .collect();
        if let Some(o) = v.as_object_mut() {
            o.insert(STREAM_ORDER.into(), Value::Array(order));
        }
        v
    }))
}

/// The dump as pretty-printed JSON with a final newline (the committed file format).
pub fn dump(machine_type: &str) -> Result<String, MachineError> {
    let v = dump_value(machine_type)?;
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MACHINE_TYPES;

    #[test]
    fn stream_order_starts_with_config_and_ram_then_cpu() {
        let v = dump_value("g3beige-1.1").unwrap();

        let order: Vec<&str> = v[STREAM_ORDER]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();

        assert_eq!(&order[..3], ["beige-config:0", "ram:0", "cpu:0"]);
        assert!(order.contains(&"ide:1"), "{order:?}");
    }

    #[test]
    fn every_saved_idstr_has_a_description() {
        let v = dump_value("g3beige-1.0").unwrap();

        let sections = v["sections"].as_object().unwrap();

        for entry in v[STREAM_ORDER].as_array().unwrap().iter().skip(2) {
            let idstr = entry.as_str().unwrap().split(':').next().unwrap();
            assert!(
                sections[idstr]["description"]["name"].is_string(),
                "{idstr}"
            );
        }
    }

    #[test]
    fn alias_dumps_as_the_newest_type() {
        let v = dump_value("g3beige").unwrap();

        assert_eq!(v["machine"], MACHINE_TYPES[0].name);
    }

    #[test]
    fn unknown_type_is_an_error_not_a_panic() {
        let r = dump("g4");

        assert!(matches!(r, Err(MachineError::UnknownMachine(n)) if n == "g4"));
    }

    #[test]
    fn no_two_descriptions_share_a_name() {
        for t in MACHINE_TYPES {
            let v = dump_value(t.name).unwrap();

            let clashes = savevm::schema::lint(&v);

            assert!(clashes.is_empty(), "{}: {clashes:?}", t.name);
        }
    }

    #[test]
    fn types_differ_only_in_the_machine_name() {
        let mut a = dump_value("g3beige-1.0").unwrap();
        let mut b = dump_value("g3beige-1.1").unwrap();

        a["machine"] = Value::Null;
        b["machine"] = Value::Null;

        assert_eq!(a, b);
    }
}
