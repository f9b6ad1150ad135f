//! Comparing two program outputs line by line, for humans.

/// Lines of context shown before the first differing line.
const CONTEXT: usize = 3;
/// How many distinct kinds of differing line a report shows.
const MORE_KINDS: usize = 12;

/// `None` when `expected == actual`, otherwise a report naming the first
/// differing line (1-based) with a little context from both sides.
pub fn first_difference(expected: &str, actual: &str) -> Option<String> {
    if expected == actual {
        return None;
    }
    let exp: Vec<&str> = expected.lines().collect();
    let act: Vec<&str> = actual.lines().collect();
    let first = exp
        .iter()
        .zip(&act)
        .position(|(e, a)| e != a)
        .unwrap_or(exp.len().min(act.len()));
    let mut out = format!(
        "outputs differ at line {} (qemu-ppc has {} lines, beige has {})\n",
        first + 1,
        exp.len(),
        act.len()
    );
    for (i, line) in exp
        .iter()
        .enumerate()
        .take(first)
        .skip(first.saturating_sub(CONTEXT))
    {
        out += &format!("  {:>6}   {line}\n", i + 1);
    }
    let show = |l: Option<&&str>| l.map_or("<end of output>".to_string(), |s| s.to_string());
    out += &format!(
        "  {:>6} - {}  (qemu-ppc)\n",
        first + 1,
        show(exp.get(first))
    );
    out += &format!("  {:>6} + {}  (beige)\n", first + 1, show(act.get(first)));
    // Later differences of other kinds (by first word, the op name in the
    // guest programs' output), so one bug does not hide the rest.
    let mut kinds = vec![exp.get(first).and_then(|l| l.split_whitespace().next())];
    let mut more = String::new();
    let mut total = 0;
    for (i, (e, a)) in exp.iter().zip(&act).enumerate().skip(first) {
        if e == a {
            continue;
        }
        total += 1;
        let kind = e.split_whitespace().next();
        if kinds.len() < MORE_KINDS && !kinds.contains(&kind) {
            kinds.push(kind);
            more += &format!("  {:>6} - {e}\n  {:>6} + {a}\n", i + 1, i + 1);
        }
    }
    if total > 1 {
        out += &format!("  {total} lines differ in all");
        if more.is_empty() {
            out += "\n";
        } else {
            out += "; the first of each other kind:\n";
            out += &more;
        }
    }
    if first == exp.len() && first == act.len() {
        out += "  (every line matches: the outputs differ only in line endings)\n";
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_outputs_have_no_difference() {
        assert_eq!(first_difference("a\nb\n", "a\nb\n"), None);
    }

    #[test]
    fn report_names_first_differing_line_with_both_sides() {
        let report = first_difference("a\nb\nc\n", "a\nB\nc\n").unwrap();

        assert!(report.contains("at line 2"), "{report}");
        assert!(report.contains("- b  (qemu-ppc)"), "{report}");
        assert!(report.contains("+ B  (beige)"), "{report}");
        assert!(report.contains("     1   a"), "{report}");
    }

    #[test]
    fn report_lists_later_differences_of_other_kinds_once() {
        let report = first_difference(
            "add 1\nadd 2\nsub 3\nsub 4\n",
            "add 9\nadd 9\nsub 9\nsub 9\n",
        )
        .unwrap();

        assert!(report.contains("4 lines differ in all"), "{report}");
        assert!(report.contains("- sub 3"), "{report}");
        assert!(!report.contains("- sub 4"), "{report}");
        assert!(!report.contains("- add 2"), "{report}");
    }

    #[test]
    fn truncated_output_reports_end_of_output() {
        let report = first_difference("a\nb\n", "a\n").unwrap();

        assert!(report.contains("at line 2"), "{report}");
        assert!(report.contains("+ <end of output>"), "{report}");
    }
}
