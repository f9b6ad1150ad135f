//! `beige`: see the crate docs of `beige_ui`.

fn main() {
    let code = beige_ui::run_main(std::env::args_os().collect());
    std::process::exit(code);
}
