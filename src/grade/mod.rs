//! Answer extraction and grading for math problems (MATH-500, GSM8K).
//!
//! For whole model responses, [`grade_response`] extracts the final answer with
//! [`extract_final`] (which names the rule that found it) and compares it leniently.
//!
//! The pipeline is: [`extract_answer`] pulls the final answer out of a model-written
//! solution, [`normalize`] rewrites it into a canonical MATH-style string, and
//! [`answers_equal`] decides equivalence — first as strings, then structurally (tuples,
//! intervals, sets, matrices, equations) with numeric or symbolic comparison of the
//! scalar pieces. [`grade_jsonl`] applies the comparison to a JSONL file for `ttc grade`.
//!
//! Every function here is total: malformed input yields `None`/`false`/an error line,
//! never a panic, because answers come straight from language models.

mod equal;
mod exact;
mod expr;
mod expr_exact;
mod extract;
mod jsonl;
mod latex;
mod normalize;
mod response;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_exact;
#[cfg(test)]
mod tests_jsonl;
#[cfg(test)]
mod tests_response;
mod verdict;

pub use equal::answers_equal;
pub use extract::{extract_answer, well_formed};
pub use jsonl::{grade_jsonl, grade_jsonl_mode, grade_line, GradeMode, GradeSummary};
pub use normalize::normalize;
pub use response::{extract_final, extract_gold, looks_like_response, Extracted, Rule};
pub use verdict::{grade_response, lenient_equal, ResponseGrade};

/// Canonical string for displaying and grouping answers (majority vote); same as [`normalize`].
pub fn answer_key(answer: &str) -> String {
    normalize(answer)
}
