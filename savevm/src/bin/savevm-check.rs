//! `savevm-check OLD.json NEW.json`: compares two schema dumps (see
//! `savevm::schema`). Exit status 0 = compatible, 1 = incompatible (each change is
//! printed), 2 = a dump could not be read.

use std::process::ExitCode;

fn read(path: &str) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{path}: not JSON: {e}"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: savevm-check OLD.json NEW.json");
        return ExitCode::from(2);
    }
    let (old, new) = match (read(&args[1]), read(&args[2])) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("savevm-check: {e}");
            return ExitCode::from(2);
        }
    };
    match savevm::schema::check(&old, &new) {
        Err(e) => {
            eprintln!("savevm-check: {e}");
            ExitCode::from(2)
        }
        Ok(problems) if problems.is_empty() => {
            println!("compatible");
            ExitCode::SUCCESS
        }
        Ok(problems) => {
            for p in &problems {
                println!("incompatible: {p}");
            }
            println!("{} incompatible change(s)", problems.len());
            ExitCode::from(1)
        }
    }
}
