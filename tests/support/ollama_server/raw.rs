//! `/api/generate` for the fake server: raw prompts (`raw: true`, no chat template) for the
//! `prm-tag` model, a step-tag PRM in Math-Shepherd's format. The prompt must end with the tag
//! [`PRM_TAG`]; the one-token reply is "+" when the arithmetic of the last tagged step holds,
//! "-" when not (with log-probabilities when asked), "?" for a prompt of another shape (not
//! raw, or not ending with the tag). Other models are refused here (HTTP 400).

use super::*;

/// The step tag `prm-tag` reads (Math-Shepherd's, with its leading space).
pub const PRM_TAG: &str = " ки";

/// What `prm-tag` answers after `prompt`: "+", "-" or "?" (see the module docs).
pub fn prm_tag_verdict(prompt: &str, raw: bool) -> &'static str {
    let Some(body) = prompt.strip_suffix(PRM_TAG).filter(|_| raw) else { return "?" };
    // The last step: after the tag before it, and after its "Step i:" label.
    let step = body.rsplit(PRM_TAG).next().unwrap_or(body);
    let step = match step.rfind("Step ") {
        Some(i) => step[i..].split_once(':').map_or(&step[i..], |(_, s)| s),
        None => step,
    };
    if claims(step).into_iter().all(|ok| ok) {
        "+"
    } else {
        "-"
    }
}

pub(super) fn raw_generate(st: &State, parsed: Result<Value, String>) -> Response<Body> {
    let v = match parsed {
        Ok(v) if v.is_object() => v,
        Ok(_) => {
            return error_resp(
                StatusCode::BAD_REQUEST,
                "json: cannot unmarshal non-object into Go value of type api.GenerateRequest",
            )
        }
        Err(e) => return error_resp(StatusCode::BAD_REQUEST, &e),
    };
    let Some(model) = v["model"].as_str().filter(|m| !m.is_empty()) else {
        return error_resp(StatusCode::BAD_REQUEST, "model is required");
    };
    if !is_listed(&st.cfg, model) {
        return error_resp(
            StatusCode::NOT_FOUND,
            &format!("model \"{model}\" not found, try pulling it first"),
        );
    }
    if behaviour_of(model) != Behaviour::PrmTag {
        return error_resp(StatusCode::BAD_REQUEST, "the fake server answers /api/generate for prm-tag only");
    }
    let prompt = v["prompt"].as_str().unwrap_or("");
    let token = prm_tag_verdict(prompt, v["raw"].as_bool().unwrap_or(false));
    let top: Vec<(&str, f64)> = match token {
        "+" => vec![("+", 0.95f64.ln()), ("-", 0.04f64.ln()), ("The", 0.01f64.ln())],
        "-" => vec![("-", 0.80f64.ln()), ("+", 0.15f64.ln()), ("The", 0.05f64.ln())],
        _ => vec![("?", 0.9f64.ln()), ("The", 0.1f64.ln())],
    };
    let want = v["logprobs"].as_bool().unwrap_or(false);
    let logprobs = (st.logprobs_supported && want).then(|| v["top_logprobs"].as_u64().unwrap_or(0) as usize);
    let mut piece = json!({ "model": model, "created_at": CREATED_AT, "response": token, "done": false });
    if let Some(n) = logprobs {
        let lp = Lp {
            token: token.to_string(),
            logprob: top[0].1,
            top: top.iter().take(n.max(2)).map(|(t, l)| (t.to_string(), *l)).collect(),
        };
        piece["logprobs"] = json!([lp_value(&lp)]);
    }
    let prompt_tokens = (prompt.chars().count() as u64).div_ceil(4).max(1);
    let done = json!({
        "model": model,
        "created_at": CREATED_AT,
        "response": "",
        "done": true,
        "done_reason": "stop",
        "total_duration": 3_000_000u64,
        "load_duration": 1_000_000u64,
        "prompt_eval_count": prompt_tokens,
        "prompt_eval_duration": prompt_tokens * 50_000 + 1,
        "eval_count": 1,
        "eval_duration": 1_000_000u64
    });
    if v["stream"].as_bool() == Some(false) {
        let mut one = done;
        one["response"] = piece["response"].clone();
        if let Some(lps) = piece.get("logprobs") {
            one["logprobs"] = lps.clone();
        }
        return json_resp(StatusCode::OK, &one);
    }
    let body = format!("{piece}\n{done}\n");
    full(StatusCode::OK, "application/x-ndjson", body)
}
