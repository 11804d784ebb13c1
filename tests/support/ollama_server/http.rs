//! HTTP serving for the fake server: the accept loop, routing and request recording, and the
//! status and streamed body of each `/api/chat` reply.

use super::*;

/// Accepts connections on `listener` and serves each on its own task until the returned
/// task is aborted.
pub(super) fn serve(listener: TcpListener, st: Arc<State>) -> JoinHandle<()> {
    tokio::spawn(async move {
        // Dropping the JoinSet (when this task is aborted) aborts every connection task.
        let mut conns = JoinSet::new();
        loop {
            tokio::select! {
                res = listener.accept() => match res {
                    Ok((stream, _)) => {
                        let _ = stream.set_nodelay(true);
                        if st.cfg.faults.reset {
                            // Closing then sends a TCP reset: an aborted body is a reset.
                            #[allow(deprecated)]
                            let _ = stream.set_linger(Some(Duration::ZERO));
                        }
                        let st = st.clone();
                        conns.spawn(async move {
                            let svc = service_fn(move |req| handle(st.clone(), req));
                            let _ = http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), svc)
                                .await;
                        });
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                },
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
    })
}

pub(super) fn full(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(Full::new(body.into()).map_err(|e: Infallible| match e {}).boxed_unsync());
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

pub(super) fn json_resp(status: StatusCode, v: &Value) -> Response<Body> {
    full(status, "application/json; charset=utf-8", serde_json::to_vec(v).expect("serialise"))
}

pub(super) fn error_resp(status: StatusCode, msg: &str) -> Response<Body> {
    json_resp(status, &json!({ "error": msg }))
}

async fn handle(st: Arc<State>, req: Request<Incoming>) -> Result<Response<Body>, BoxError> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let authorization =
        req.headers().get(hyper::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_string);
    let raw = req.into_body().collect().await?.to_bytes();
    let parsed: Result<Value, String> = if raw.is_empty() {
        Err("missing request body".to_string())
    } else {
        serde_json::from_slice(&raw).map_err(|e| e.to_string())
    };
    let recorded_body = match &parsed {
        Ok(v) => v.clone(),
        Err(_) if raw.is_empty() => Value::Null,
        Err(_) => Value::String(String::from_utf8_lossy(&raw).into_owned()),
    };
    st.requests.lock().unwrap().push(Recorded {
        method: method.to_string(),
        path: path.clone(),
        body: recorded_body,
        authorization,
    });
    if let Some(fault) = st.cfg.faults.path_fault(&path) {
        return Ok(faults::path_reply(&st, fault).await);
    }

    let get = method == Method::GET || method == Method::HEAD;
    let resp = match path.as_str() {
        "/" if get => full(StatusCode::OK, "text/plain; charset=utf-8", "Ollama is running"),
        "/api/version" if get => json_resp(StatusCode::OK, &json!({ "version": st.cfg.version })),
        "/api/tags" if get => json_resp(StatusCode::OK, &tags(&st.cfg)),
        "/api/show" if method == Method::POST => show(&st, parsed),
        "/api/chat" if method == Method::POST => return chat(&st, parsed).await,
        "/api/generate" if method == Method::POST => raw_generate(&st, parsed),
        _ => full(StatusCode::NOT_FOUND, "text/plain; charset=utf-8", "404 page not found"),
    };
    Ok(resp)
}

fn show(st: &State, parsed: Result<Value, String>) -> Response<Body> {
    let v = match parsed {
        Ok(v) => v,
        Err(e) => return error_resp(StatusCode::BAD_REQUEST, &e),
    };
    let name = v
        .get("model")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .or_else(|| v.get("name").and_then(Value::as_str));
    let Some(name) = name.filter(|s| !s.is_empty()) else {
        return error_resp(StatusCode::BAD_REQUEST, "model is required");
    };
    if !is_listed(&st.cfg, name) {
        return error_resp(StatusCode::NOT_FOUND, &format!("model '{name}' not found"));
    }
    json_resp(StatusCode::OK, &show_value())
}

// ---------------------------------------------------------------------------------------------
// /api/chat

async fn chat(st: &Arc<State>, parsed: Result<Value, String>) -> Result<Response<Body>, BoxError> {
    let nth = st.chat_seen.fetch_add(1, Ordering::SeqCst);
    if nth < st.cfg.busy_first {
        return Ok(error_resp(StatusCode::SERVICE_UNAVAILABLE, BUSY_ERROR));
    }
    let fault = st.cfg.faults.chat_fault(nth);
    let req = match parsed.and_then(|v| parse_chat(&v, st.logprobs_supported)) {
        Ok(r) => r,
        Err(e) => return Ok(error_resp(StatusCode::BAD_REQUEST, &e)),
    };
    if !is_listed(&st.cfg, &req.model) {
        return Ok(error_resp(
            StatusCode::NOT_FOUND,
            &format!("model \"{}\" not found, try pulling it first", req.model),
        ));
    }
    let behaviour = behaviour_of(&req.model);
    if behaviour == Behaviour::Busy {
        return Ok(error_resp(StatusCode::SERVICE_UNAVAILABLE, BUSY_ERROR));
    }
    let guard = StreamGuard::new(st);
    let delay = if behaviour == Behaviour::Bench { Duration::ZERO } else { st.cfg.token_delay };
    if let Some(fault) = fault {
        if req.stream {
            let gen = generate(behaviour, &req);
            return Ok(faults::chat_reply(fault, &req, gen, guard).await);
        }
    }

    if !req.stream {
        let gen = generate(behaviour, &req);
        match gen.failure {
            Failure::None => {}
            Failure::ErrorLine(msg) => {
                return Ok(error_resp(StatusCode::INTERNAL_SERVER_ERROR, &msg));
            }
            Failure::Stall => {
                // Hold the guard until the client goes away (hyper then drops this future).
                std::future::pending::<()>().await;
            }
            Failure::Abort => return Err("drop-math: connection aborted".into()),
        }
        let content: String = gen.pieces.iter().map(|p| p.text.as_str()).collect();
        let mut v = final_value(&req, &gen.pieces, gen.done_reason, delay);
        v["message"]["content"] = Value::String(content);
        if req.logprobs.is_some() {
            let lps: Vec<Value> = gen.pieces.iter().filter_map(|p| p.lp.as_ref()).map(lp_value).collect();
            v["logprobs"] = Value::Array(lps);
        }
        drop(guard);
        return Ok(json_resp(StatusCode::OK, &v));
    }

    let prefix = line_prefix(&req.model);
    let (frames, tail) = if behaviour == Behaviour::Bench {
        let body = bench_body(st, &req, &prefix);
        let mut frames = body.frames.clone();
        frames.push(final_line(&req, body.pieces, body.done_reason, delay));
        (frames, Tail::Done)
    } else {
        let gen = generate(behaviour, &req);
        let mut frames: Vec<Bytes> = gen
            .pieces
            .iter()
            .map(|p| {
                let mut buf = Vec::with_capacity(160);
                write_piece_line(&mut buf, &prefix, p);
                Bytes::from(buf)
            })
            .collect();
        let tail = match gen.failure {
            Failure::None => {
                frames.push(final_line(&req, gen.pieces.len(), gen.done_reason, delay));
                Tail::Done
            }
            Failure::ErrorLine(msg) => {
                let mut line = serde_json::to_vec(&json!({ "error": msg })).expect("serialise");
                line.push(b'\n');
                frames.push(Bytes::from(line));
                Tail::Done
            }
            Failure::Stall => Tail::Stall,
            Failure::Abort => Tail::Abort,
        };
        (frames, tail)
    };

    let state = StreamState { frames, idx: 0, delay, tail, _guard: guard };
    let stream = futures::stream::unfold(state, |mut s| async move {
        if s.idx < s.frames.len() {
            if s.idx > 0 && !s.delay.is_zero() {
                tokio::time::sleep(s.delay).await;
            }
            let f = s.frames[s.idx].clone();
            s.idx += 1;
            return Some((Ok::<_, BoxError>(Frame::data(f)), s));
        }
        match s.tail {
            Tail::Done => None,
            Tail::Stall => {
                std::future::pending::<()>().await;
                None
            }
            Tail::Abort => {
                // Let hyper flush the headers and pieces first (it flushes when the body is
                // pending), so the client sees a response whose body then breaks.
                tokio::time::sleep(Duration::from_millis(20)).await;
                s.tail = Tail::Done;
                let err: BoxError = Box::new(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "drop-math: connection aborted mid-stream",
                ));
                Some((Err(err), s))
            }
        }
    });
    let mut resp = Response::new(StreamBody::new(stream).boxed_unsync());
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    Ok(resp)
}

pub(super) enum Tail {
    Done,
    Stall,
    Abort,
}

struct StreamState {
    frames: Vec<Bytes>,
    idx: usize,
    delay: Duration,
    tail: Tail,
    _guard: StreamGuard,
}
