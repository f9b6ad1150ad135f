//! Device properties: a typed registry with defaults, a machine type's compat list
//! (QEMU's hw_compat_X_Y), and the user's `-global driver.prop=value` overrides,
//! resolved once into `Props` that the board reads when it constructs devices.
//!
//! Precedence, lowest first (as in QEMU): the registered default, the machine type's
//! compat list, then `-global` in command-line order.

use std::collections::BTreeMap;
use std::fmt;

/// The type of a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropType {
    Bool,
    U32,
    U64,
    Str,
}

/// A property value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropValue {
    Bool(bool),
    U32(u32),
    U64(u64),
    Str(String),
}

impl PropValue {
    pub fn ty(&self) -> PropType {
        match self {
            PropValue::Bool(_) => PropType::Bool,
            PropValue::U32(_) => PropType::U32,
            PropValue::U64(_) => PropType::U64,
            PropValue::Str(_) => PropType::Str,
        }
    }
}

impl fmt::Display for PropValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropValue::Bool(b) => write!(f, "{}", if *b { "on" } else { "off" }),
            PropValue::U32(v) => write!(f, "{v}"),
            PropValue::U64(v) => write!(f, "{v}"),
            PropValue::Str(s) => f.write_str(s),
        }
    }
}

/// A registered property. The default is a string parsed with the same rules as
/// `-global`, so a bad default is caught by the registry test, not at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PropDef {
    pub driver: &'static str,
    pub name: &'static str,
    pub ty: PropType,
    pub default: &'static str,
    pub help: &'static str,
}

/// One entry of a machine type's compat list: (driver, property, value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompatProp {
    pub driver: &'static str,
    pub prop: &'static str,
    pub value: &'static str,
}

/// Properties savevm itself knows; the board passes these plus its devices' own.
pub const CPU_MIGRATE_IRQ_STATE: PropDef = PropDef {
    driver: "cpu",
    name: "migrate-irq-state",
    ty: PropType::Bool,
    default: "on",
    help: "save the CPU's interrupt pin levels in subsection cpu/irq_state",
};

/// Why a property could not be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PropError {
    #[error(
        "-global '{0}': expected DRIVER.PROPERTY=VALUE, e.g. -global cpu.migrate-irq-state=off"
    )]
    Syntax(String),
    #[error("-global: unknown driver '{driver}'; known drivers: {known}")]
    UnknownDriver { driver: String, known: String },
    #[error("-global: driver '{driver}' has no property '{prop}'; its properties: {known}")]
    UnknownProperty {
        driver: String,
        prop: String,
        known: String,
    },
    #[error("{origin}: {setting} is not a valid {ty}; {hint}")]
    BadValue {
        origin: &'static str,
        setting: String,
        ty: &'static str,
        hint: &'static str,
    },
}

fn type_name(ty: PropType) -> &'static str {
    match ty {
        PropType::Bool => "bool",
        PropType::U32 => "u32",
        PropType::U64 => "u64",
        PropType::Str => "string",
    }
}

fn parse_value(ty: PropType, s: &str) -> Result<PropValue, &'static str> {
    fn int(s: &str) -> Option<u64> {
        match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(h) => u64::from_str_radix(h, 16).ok(),
            None => s.parse().ok(),
        }
    }
    match ty {
        // QEMU accepts these spellings for booleans.
        PropType::Bool => match s {
            "on" | "true" | "yes" | "y" => Ok(PropValue::Bool(true)),
            "off" | "false" | "no" | "n" => Ok(PropValue::Bool(false)),
            _ => Err("use on or off"),
        },
        PropType::U32 => int(s)
            .and_then(|v| u32::try_from(v).ok())
            .map(PropValue::U32)
            .ok_or("use a decimal or 0x-hex number below 2^32"),
        PropType::U64 => int(s)
            .map(PropValue::U64)
            .ok_or("use a decimal or 0x-hex number below 2^64"),
        PropType::Str => Ok(PropValue::Str(s.to_owned())),
    }
}

/// The resolved properties of one machine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Props {
    values: BTreeMap<(String, String), PropValue>,
}

impl Props {
    /// Resolves defaults, then `compat`, then `globals` ("driver.prop=value").
    pub fn resolve(
        defs: &[PropDef],
        compat: &[CompatProp],
        globals: &[&str],
    ) -> Result<Props, PropError> {
        let mut p = Props::default();
        for d in defs {
            let v = parse_value(d.ty, d.default).map_err(|hint| PropError::BadValue {
                origin: "registered default",
                setting: format!("{}.{}={}", d.driver, d.name, d.default),
                ty: type_name(d.ty),
                hint,
            })?;
            p.values.insert((d.driver.into(), d.name.into()), v);
        }
        for c in compat {
            p.set(defs, "machine compat", c.driver, c.prop, c.value)?;
        }
        for g in globals {
            let (key, value) = g
                .split_once('=')
                .ok_or_else(|| PropError::Syntax((*g).into()))?;
            let (driver, prop) = key
                .split_once('.')
                .ok_or_else(|| PropError::Syntax((*g).into()))?;
            if driver.is_empty() || prop.is_empty() {
                return Err(PropError::Syntax((*g).into()));
            }
            p.set(defs, "-global", driver, prop, value)?;
        }
        Ok(p)
    }

    fn set(
        &mut self,
        defs: &[PropDef],
        source: &'static str,
        driver: &str,
        prop: &str,
        value: &str,
    ) -> Result<(), PropError> {
        if !defs.iter().any(|d| d.driver == driver) {
            let mut known: Vec<_> = defs.iter().map(|d| d.driver).collect();
            known.sort_unstable();
            known.dedup();
            return Err(PropError::UnknownDriver {
                driver: driver.into(),
                known: known.join(", "),
            });
        }
        let Some(def) = defs.iter().find(|d| d.driver == driver && d.name == prop) else {
            let known: Vec<_> = defs
                .iter()
                .filter(|d| d.driver == driver)
                .map(|d| d.name)
                .collect();
            return Err(PropError::UnknownProperty {
                driver: driver.into(),
                prop: prop.into(),
                known: known.join(", "),
            });
        };
        let v = parse_value(def.ty, value).map_err(|hint| PropError::BadValue {
            origin: source,
            setting: format!("{driver}.{prop}={value}"),
            ty: type_name(def.ty),
            hint,
        })?;
        self.values.insert((driver.into(), prop.into()), v);
        Ok(())
    }

    /// The value of a registered property, or `None` if it was never registered.
    pub fn get(&self, driver: &str, prop: &str) -> Option<&PropValue> {
        self.values.get(&(driver.to_owned(), prop.to_owned()))
    }

    /// A registered bool property.
    ///
    /// # Panics
    /// If `driver.prop` is not a registered bool: a programming error the board's first
    /// test finds.
    pub fn bool(&self, driver: &str, prop: &str) -> bool {
        match self.get(driver, prop) {
            Some(PropValue::Bool(b)) => *b,
            other => {
                panic!("savevm: {driver}.{prop} is not a registered bool property ({other:?})")
            }
        }
    }

    /// A registered u32 property. Panics like [`Props::bool`].
    pub fn u32(&self, driver: &str, prop: &str) -> u32 {
        match self.get(driver, prop) {
            Some(PropValue::U32(v)) => *v,
            other => panic!("savevm: {driver}.{prop} is not a registered u32 property ({other:?})"),
        }
    }

    /// A registered u64 property. Panics like [`Props::bool`].
    pub fn u64(&self, driver: &str, prop: &str) -> u64 {
        match self.get(driver, prop) {
            Some(PropValue::U64(v)) => *v,
            other => panic!("savevm: {driver}.{prop} is not a registered u64 property ({other:?})"),
        }
    }

    /// A registered string property. Panics like [`Props::bool`].
    pub fn str(&self, driver: &str, prop: &str) -> &str {
        match self.get(driver, prop) {
            Some(PropValue::Str(v)) => v,
            other => {
                panic!("savevm: {driver}.{prop} is not a registered string property ({other:?})")
            }
        }
    }

    /// Every property as "driver.prop=value", sorted, e.g. for `-global help`.
    pub fn list(&self) -> Vec<String> {
        self.values
            .iter()
            .map(|((d, p), v)| format!("{d}.{p}={v}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFS: &[PropDef] = &[
        CPU_MIGRATE_IRQ_STATE,
        PropDef {
            driver: "escc",
            name: "chnBitsA",
            ty: PropType::U32,
            default: "0",
            help: "test",
        },
    ];

    #[test]
    fn default_applies_when_nothing_overrides() {
        let p = Props::resolve(DEFS, &[], &[]).unwrap();
        assert!(p.bool("cpu", "migrate-irq-state"));
        assert_eq!(p.u32("escc", "chnBitsA"), 0);
    }

    #[test]
    fn compat_overrides_default_and_global_overrides_compat() {
        let compat = [CompatProp {
            driver: "cpu",
            prop: "migrate-irq-state",
            value: "off",
        }];
        let p = Props::resolve(DEFS, &compat, &[]).unwrap();
        assert!(!p.bool("cpu", "migrate-irq-state"));
        let p = Props::resolve(DEFS, &compat, &["cpu.migrate-irq-state=on"]).unwrap();
        assert!(p.bool("cpu", "migrate-irq-state"));
    }

    #[test]
    fn later_global_wins() {
        let p = Props::resolve(DEFS, &[], &["escc.chnBitsA=1", "escc.chnBitsA=0x10"]).unwrap();
        assert_eq!(p.u32("escc", "chnBitsA"), 16);
    }

    #[test]
    fn unknown_driver_lists_known_drivers() {
        let e = Props::resolve(DEFS, &[], &["cuda.x=1"]).unwrap_err();
        assert!(matches!(&e, PropError::UnknownDriver { driver, .. } if driver == "cuda"));
        assert!(e.to_string().contains("cpu, escc"), "{e}");
    }

    #[test]
    fn unknown_property_lists_the_drivers_properties() {
        let e = Props::resolve(DEFS, &[], &["cpu.migrate-irq=on"]).unwrap_err();
        assert!(e.to_string().contains("migrate-irq-state"), "{e}");
    }

    #[test]
    fn bad_value_says_what_is_accepted() {
        let e = Props::resolve(DEFS, &[], &["cpu.migrate-irq-state=maybe"]).unwrap_err();
        assert!(matches!(e, PropError::BadValue { .. }));
        assert!(e.to_string().contains("on or off"), "{e}");
        let e = Props::resolve(DEFS, &[], &["escc.chnBitsA=0x100000000"]).unwrap_err();
        assert!(matches!(e, PropError::BadValue { .. }));
    }

    #[test]
    fn malformed_global_is_a_syntax_error() {
        for g in ["cpu", "cpu=on", ".x=1", "cpu.=1"] {
            let e = Props::resolve(DEFS, &[], &[g]).unwrap_err();
            assert!(matches!(e, PropError::Syntax(_)), "{g}: {e:?}");
        }
    }

    #[test]
    fn bad_compat_entry_is_reported_not_ignored() {
        let compat = [CompatProp {
            driver: "cpu",
            prop: "nope",
            value: "on",
        }];
        assert!(Props::resolve(DEFS, &compat, &[]).is_err());
    }

    #[test]
    fn list_shows_resolved_values() {
        let p = Props::resolve(DEFS, &[], &["cpu.migrate-irq-state=off"]).unwrap();
        assert_eq!(
            p.list(),
            vec!["cpu.migrate-irq-state=off", "escc.chnBitsA=0"]
        );
    }
}
