//! TEMPORARY placeholder until the grading module lands.
pub fn extract_answer(text: &str) -> Option<String> {
    let i = text.rfind("\\boxed{")?;
    let rest = &text[i + 7..];
    Some(rest[..rest.find('}')?].to_string())
}
pub fn answers_equal(a: &str, b: &str) -> bool {
    a.trim() == b.trim()
}
pub struct GradeSummary {
    pub lines: usize,
    pub equal: usize,
    pub errors: usize,
}
pub fn grade_jsonl<R: std::io::BufRead, W: std::io::Write>(_r: R, _w: W) -> std::io::Result<GradeSummary> {
    Ok(GradeSummary { lines: 0, equal: 0, errors: 0 })
}
