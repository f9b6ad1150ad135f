//! End-to-end: the `beige` binary's command-line behaviour.

use std::process::{Command, Output};

fn beige(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_beige"))
        .args(args)
        .env_remove("BEIGE_FIRMWARE_DIR")
        .output()
        .expect("run beige")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn help_lists_qemu_options_and_exits_zero() {
    for flag in ["--help", "-h"] {
        let out = beige(&[flag]);
        assert!(out.status.success(), "{flag}");
        let s = text(&out.stdout);
        for opt in [
            "--machine",
            "--nographic",
            "--serial",
            "--monitor",
            "--loadvm",
            "-icount",
        ] {
            assert!(s.contains(opt), "{flag}: {opt} missing in\n{s}");
        }
    }
}

#[test]
fn version_prints_name_and_version() {
    let out = beige(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout).trim(),
        format!("beige {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_flag_fails_with_a_message() {
    let out = beige(&["-nographicc"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--nographicc"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn unimplemented_qemu_flag_is_refused_by_name() {
    let out = beige(&["-smp", "2"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).trim(),
        "beige: option -smp is not supported by beige yet"
    );
}

#[test]
fn missing_firmware_says_how_to_install_it() {
    let out = beige(&["-nographic", "-bios", "/nonexistent/openbios-ppc"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("apt-get install qemu-system-data"), "{err}");
    assert!(err.contains("-bios FILE"), "{err}");
}

#[test]
fn machine_help_lists_versioned_types() {
    let out = beige(&["-M", "help"]);
    assert!(out.status.success());
    let s = text(&out.stdout);
    assert!(s.contains("g3beige-1.0") && s.contains("(default)"), "{s}");
}

#[test]
fn unknown_machine_option_is_refused() {
    let out = beige(&["-machine", "g3beige,foo=bar"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("unknown option 'foo'"));
}
