//! Ollama's wire format as the fake server speaks it: chat requests decoded with Ollama's own
//! error messages, model names and the `/api/tags` and `/api/show` JSON, and the NDJSON chunk
//! and final lines of a chat reply.

use super::*;

// ---------------------------------------------------------------------------------------------
// Model names, /api/tags, /api/show

pub(super) fn normalize(name: &str) -> String {
    if name.contains(':') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

pub(super) fn base_name(name: &str) -> &str {
    name.split(':').next().unwrap_or(name)
}

pub(super) fn is_listed(cfg: &ServerConfig, name: &str) -> bool {
    let n = normalize(name);
    cfg.models.iter().any(|m| normalize(m) == n)
}

pub(super) fn digest(name: &str) -> String {
    // FNV-1a, stretched to 64 hex chars.
    let mut out = String::with_capacity(64);
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for round in 0..4u8 {
        for b in name.bytes().chain([round]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        let _ = write!(out, "{h:016x}");
    }
    out
}

pub(super) fn details() -> Value {
    json!({
        "parent_model": "",
        "format": "gguf",
        "family": "test",
        "families": ["test"],
        "parameter_size": "1M",
        "quantization_level": "F32"
    })
}

pub(super) fn tags(cfg: &ServerConfig) -> Value {
    let models: Vec<Value> = cfg
        .models
        .iter()
        .map(|m| {
            let name = normalize(m);
            json!({
                "name": name,
                "model": name,
                "modified_at": "2026-11-01T00:00:00Z",
                "size": 123,
                "digest": digest(&name),
                "details": details(),
            })
        })
        .collect();
    json!({ "models": models })
}

/// The `/api/show` reply for a listed model.
pub(super) fn show_value() -> Value {
    json!({
        "license": "",
        "modelfile": "",
        "parameters": "temperature 0.8",
        "template": "{{ .Prompt }}",
        "details": details(),
        "model_info": {
            "general.architecture": "test",
            "general.parameter_count": 1_000_000,
            "test.context_length": 4096
        },
        "capabilities": ["completion"],
        "modified_at": "2026-11-01T00:00:00Z"
    })
}

// ---------------------------------------------------------------------------------------------
// /api/chat requests

pub(super) struct ChatReq {
    pub(super) model: String,
    pub(super) messages: Vec<(String, String)>,
    pub(super) stream: bool,
    pub(super) temperature: f64,
    pub(super) seed: Option<i64>,
    pub(super) num_predict: Option<i64>,
    pub(super) stop: Vec<String>,
    /// `Some(top_logprobs)` when logprobs were requested and the version supports them.
    pub(super) logprobs: Option<usize>,
}

impl ChatReq {
    pub(super) fn last_user(&self) -> &str {
        self.messages.iter().rev().find(|(r, _)| r == "user").map(|(_, c)| c.as_str()).unwrap_or("")
    }

    pub(super) fn sampled(&self) -> bool {
        self.temperature > 0.0
    }

    pub(super) fn seed_mod(&self, m: i64) -> Option<i64> {
        self.seed.map(|s| s.rem_euclid(m))
    }

    pub(super) fn prompt_tokens(&self) -> u64 {
        let chars: usize = self.messages.iter().map(|(_, c)| c.chars().count()).sum();
        (chars as u64).div_ceil(4).max(1)
    }
}

pub(super) fn num(v: &Value) -> Option<f64> {
    v.as_f64()
}

pub(super) fn int(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
}

pub(super) fn parse_chat(v: &Value, logprobs_supported: bool) -> Result<ChatReq, String> {
    let obj = v.as_object().ok_or_else(|| {
        "json: cannot unmarshal non-object into Go value of type api.ChatRequest".to_string()
    })?;
    let model = obj
        .get("model")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| "model is required".to_string())?
        .to_string();
    let mut messages = Vec::new();
    match obj.get("messages") {
        None | Some(Value::Null) => {}
        Some(Value::Array(arr)) => {
            for m in arr {
                let role = m
                    .get("role")
                    .and_then(Value::as_str)
                    .ok_or_else(|| "message is missing a string \"role\"".to_string())?;
                let content = match m.get("content") {
                    None | Some(Value::Null) => "",
                    Some(Value::String(s)) => s.as_str(),
                    Some(_) => return Err(
                        "json: cannot unmarshal into Go struct field Message.messages.content of type string"
                            .to_string(),
                    ),
                };
                messages.push((role.to_string(), content.to_string()));
            }
        }
        Some(_) => {
            return Err(
                "json: cannot unmarshal into Go struct field ChatRequest.messages of type []api.Message"
                    .to_string(),
            )
        }
    }
    let stream = match obj.get("stream") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(
                "json: cannot unmarshal into Go struct field ChatRequest.stream of type bool".to_string()
            )
        }
    };
    let empty = serde_json::Map::new();
    let opts = match obj.get("options") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(o)) => o,
        Some(_) => return Err(
            "json: cannot unmarshal into Go struct field ChatRequest.options of type map[string]interface {}"
                .to_string(),
        ),
    };
    let temperature = opts.get("temperature").and_then(num).unwrap_or(DEFAULT_TEMPERATURE);
    let seed = opts.get("seed").and_then(int);
    let num_predict = opts.get("num_predict").and_then(int);
    let stop = match opts.get("stop") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    };
    let want_logprobs = obj.get("logprobs").and_then(Value::as_bool).unwrap_or(false);
    let top = obj.get("top_logprobs").and_then(int).unwrap_or(0);
    let logprobs = if logprobs_supported && want_logprobs {
        if !(0..=20).contains(&top) {
            return Err("top_logprobs must be between 0 and 20".to_string());
        }
        Some(top as usize)
    } else {
        None
    };
    Ok(ChatReq { model, messages, stream, temperature, seed, num_predict, stop, logprobs })
}

pub(super) fn version_supports_logprobs(v: &str) -> bool {
    let v = v.trim().trim_start_matches('v');
    let parts: Vec<Option<u64>> = v
        .split('.')
        .take(3)
        .map(|p| {
            let d: String = p.chars().take_while(char::is_ascii_digit).collect();
            d.parse().ok()
        })
        .collect();
    match parts.as_slice() {
        [Some(a), Some(b), Some(c)] => (*a, *b, *c) >= (0, 12, 11),
        [Some(a), Some(b)] => (*a, *b) >= (0, 13),
        _ => true,
    }
}

// ---------------------------------------------------------------------------------------------
// Serialisation

/// Shared head of every chunk line: `{"model":M,"created_at":C,"message":{"role":"assistant","content":`
pub(super) fn line_prefix(model: &str) -> Vec<u8> {
    let mut buf = Vec::with_capacity(96);
    buf.extend_from_slice(b"{\"model\":");
    serde_json::to_writer(&mut buf, model).expect("serialise");
    buf.extend_from_slice(b",\"created_at\":\"");
    buf.extend_from_slice(CREATED_AT.as_bytes());
    buf.extend_from_slice(b"\",\"message\":{\"role\":\"assistant\",\"content\":");
    buf
}

pub(super) fn write_token(buf: &mut Vec<u8>, token: &str, logprob: f64) {
    buf.extend_from_slice(b"{\"token\":");
    serde_json::to_writer(&mut *buf, token).expect("serialise");
    buf.extend_from_slice(b",\"logprob\":");
    serde_json::to_writer(&mut *buf, &logprob).expect("serialise");
    buf.extend_from_slice(b",\"bytes\":[");
    for (i, b) in token.bytes().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        let _ = write!(ByteWriter(buf), "{b}");
    }
    buf.push(b']');
}

pub(super) struct ByteWriter<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for ByteWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

pub(super) fn write_lp(buf: &mut Vec<u8>, lp: &Lp) {
    write_token(buf, &lp.token, lp.logprob);
    if !lp.top.is_empty() {
        buf.extend_from_slice(b",\"top_logprobs\":[");
        for (i, (t, l)) in lp.top.iter().enumerate() {
            if i > 0 {
                buf.push(b',');
            }
            write_token(buf, t, *l);
            buf.push(b'}');
        }
        buf.push(b']');
    }
    buf.push(b'}');
}

pub(super) fn lp_value(lp: &Lp) -> Value {
    let mut buf = Vec::new();
    write_lp(&mut buf, lp);
    serde_json::from_slice(&buf).expect("valid logprob json")
}

pub(super) fn write_piece_line(buf: &mut Vec<u8>, prefix: &[u8], p: &Piece) {
    buf.extend_from_slice(prefix);
    serde_json::to_writer(&mut *buf, &p.text).expect("serialise");
    buf.extend_from_slice(b"},\"done\":false");
    if let Some(lp) = &p.lp {
        buf.extend_from_slice(b",\"logprobs\":[");
        write_lp(buf, lp);
        buf.push(b']');
    }
    buf.extend_from_slice(b"}\n");
}

pub(super) fn final_value(req: &ChatReq, pieces: &[Piece], reason: &str, delay: Duration) -> Value {
    final_value_n(req, pieces.len(), reason, delay)
}

pub(super) fn final_value_n(req: &ChatReq, eval_count: usize, reason: &str, delay: Duration) -> Value {
    let prompt = req.prompt_tokens();
    let k = eval_count as u64;
    let load = 1_000_000u64;
    let prompt_dur = prompt * 50_000 + 1;
    let per_token = 1_000_000u64 + delay.as_nanos() as u64;
    let eval_dur = k.max(1) * per_token;
    json!({
        "model": req.model,
        "created_at": CREATED_AT,
        "message": { "role": "assistant", "content": "" },
        "done": true,
        "done_reason": reason,
        "total_duration": load + prompt_dur + eval_dur + 100_000,
        "load_duration": load,
        "prompt_eval_count": prompt,
        "prompt_eval_duration": prompt_dur,
        "eval_count": k,
        "eval_duration": eval_dur
    })
}

pub(super) fn final_line(req: &ChatReq, eval_count: usize, reason: &str, delay: Duration) -> Bytes {
    let mut line = serde_json::to_vec(&final_value_n(req, eval_count, reason, delay)).expect("serialise");
    line.push(b'\n');
    Bytes::from(line)
}
