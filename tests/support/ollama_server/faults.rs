//! Misbehaviour on demand: a server that hangs, stalls, resets, lies or sends hostile text.
//!
//! [`Faults`] in `ServerConfig::faults` picks what goes wrong: per path (`/api/version`,
//! `/api/tags`, `/api/show`, …) with [`PathFault`], and per `/api/chat` request with
//! [`ChatFault`] (every request, or only the k-th ones to arrive, so the other candidates of a
//! run are served normally). [`SilentServer`] accepts TCP connections and never reads them.

use super::*;

/// Text no terminal should receive raw: clear screen, set title, bidi override, C1 CSI.
pub const HOSTILE: &str = "\x1b[2J\x1b]0;PWNED\x07\u{202E}evil\u{202C}\u{9b}31m";
/// Multi-byte characters (2, 3 and 4 bytes) to cut at every chunk boundary.
pub const MULTI_BYTE: &str = "é中😀";

/// A 5 KB HTML error page, like a reverse proxy's.
pub fn html_page(status: u16) -> String {
    let mut page =
        format!("<!DOCTYPE html><html><head><title>{status} Internal Server Error</title></head><body>");
    while page.len() < 5 * 1024 {
        page.push_str(
            "<p>The server encountered an internal error and was unable to complete your request.</p>\n",
        );
    }
    page.push_str("</body></html>\n");
    page
}

#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Requests to these paths get the fault instead of their answer.
    pub paths: Vec<(String, PathFault)>,
    /// What `/api/chat` requests get instead of their stream.
    pub chat: Option<ChatFault>,
    /// Which `/api/chat` requests (0-based, in arrival order) get `chat`; empty means all.
    pub chat_on: Vec<usize>,
    /// Close connections with a TCP reset (SO_LINGER 0) instead of a FIN.
    pub reset: bool,
}

impl Faults {
    /// Every request to `path` gets `fault`.
    pub fn on_path(path: &str, fault: PathFault) -> Self {
        Faults { paths: vec![(path.to_string(), fault)], ..Faults::default() }
    }

    /// The chat requests numbered in `on` (all when empty) get `fault`.
    pub fn on_chat(fault: ChatFault, on: &[usize]) -> Self {
        Faults { chat: Some(fault), chat_on: on.to_vec(), ..Faults::default() }
    }

    pub(super) fn path_fault(&self, path: &str) -> Option<&PathFault> {
        self.paths.iter().find(|(p, _)| p == path).map(|(_, f)| f)
    }

    pub(super) fn chat_fault(&self, nth: usize) -> Option<&ChatFault> {
        self.chat.as_ref().filter(|_| self.chat_on.is_empty() || self.chat_on.contains(&nth))
    }
}

#[derive(Clone, Debug)]
pub enum PathFault {
    /// Read the request, never answer (no headers).
    Hang,
    /// Send `200` headers, then nothing.
    HeadersThenNothing,
    /// Answer with this status, content type and body.
    Reply(u16, &'static str, String),
}

#[derive(Clone, Debug)]
pub enum ChatFault {
    /// Never send the headers.
    StallBeforeHeaders,
    /// Send `200` headers, then nothing.
    HeadersThenNothing,
    /// Two pieces, then nothing.
    StallMidStream,
    /// Two pieces, then the connection breaks (a reset with `Faults::reset`).
    ResetMidStream,
    /// Two pieces, then half a JSON line, then the end of the body.
    TruncatedJson,
    /// Every piece, then the end of the body without a `done` line.
    NoDone,
    /// Two pieces, then this many bytes without a newline, then nothing.
    HugeLine(usize),
    /// Pieces with bytes that are not UTF-8 inside the JSON strings, then `done`.
    InvalidUtf8,
    /// The normal answer after a piece of [`HOSTILE`] and [`MULTI_BYTE`] text, sent one byte
    /// per HTTP chunk so every multi-byte character is cut.
    Hostile,
    /// A short solution whose final answer is this text, then `done`.
    Answer(String),
    /// Two pieces, then an `{"error": …}` line with this text.
    ErrorLine(String),
    /// This status, content type and body instead of a stream.
    Status(u16, &'static str, String),
}

fn status_of(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A body that yields `frames`, then either ends, stalls forever, or breaks.
fn streamed(frames: Vec<Bytes>, then: Tail, guard: Option<StreamGuard>) -> Response<Body> {
    let state = (frames.into_iter(), Some(then), guard);
    let stream = futures::stream::unfold(state, |(mut frames, mut then, guard)| async move {
        if let Some(f) = frames.next() {
            return Some((Ok::<_, BoxError>(Frame::data(f)), (frames, then, guard)));
        }
        match then.take()? {
            Tail::Done => None,
            Tail::Stall => {
                std::future::pending::<()>().await;
                None
            }
            Tail::Abort => {
                // Let hyper flush what was sent, then break the body.
                tokio::time::sleep(Duration::from_millis(20)).await;
                let err: BoxError = Box::new(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "fault: connection reset mid-stream",
                ));
                Some((Err(err), (frames, None, guard)))
            }
        }
    });
    let mut resp = Response::new(StreamBody::new(stream).boxed_unsync());
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    resp
}

pub(super) async fn path_reply(st: &Arc<State>, fault: &PathFault) -> Response<Body> {
    match fault {
        PathFault::Hang => {
            let _guard = StreamGuard::new(st);
            std::future::pending::<()>().await;
            unreachable!()
        }
        PathFault::HeadersThenNothing => streamed(Vec::new(), Tail::Stall, Some(StreamGuard::new(st))),
        PathFault::Reply(code, ct, body) => full(status_of(*code), ct, body.clone()),
    }
}

fn piece_line(prefix: &[u8], text: &str) -> Bytes {
    let mut buf = Vec::new();
    write_piece_line(&mut buf, prefix, &Piece { text: text.to_string(), lp: None });
    Bytes::from(buf)
}

pub(super) async fn chat_reply(
    fault: &ChatFault,
    req: &ChatReq,
    gen: Generation,
    guard: StreamGuard,
) -> Response<Body> {
    let prefix = line_prefix(&req.model);
    let lines: Vec<Bytes> = gen
        .pieces
        .iter()
        .map(|p| {
            let mut buf = Vec::new();
            write_piece_line(&mut buf, &prefix, p);
            Bytes::from(buf)
        })
        .collect();
    let done = final_line(req, gen.pieces.len(), gen.done_reason, Duration::ZERO);
    let two: Vec<Bytes> = lines.iter().take(2).cloned().collect();
    let guard = Some(guard);
    match fault {
        ChatFault::StallBeforeHeaders => {
            let _guard = guard;
            std::future::pending::<()>().await;
            unreachable!()
        }
        ChatFault::HeadersThenNothing => streamed(Vec::new(), Tail::Stall, guard),
        ChatFault::StallMidStream => streamed(two, Tail::Stall, guard),
        ChatFault::ResetMidStream => streamed(two, Tail::Abort, guard),
        ChatFault::TruncatedJson => {
            let mut frames = two;
            frames.push(Bytes::from_static(
                b"{\"model\":\"x\",\"message\":{\"role\":\"assistant\",\"content\":\"ab",
            ));
            streamed(frames, Tail::Done, guard)
        }
        ChatFault::NoDone => streamed(lines, Tail::Done, guard),
        ChatFault::HugeLine(n) => {
            let mut frames = two;
            let block = Bytes::from(vec![b'a'; 64 * 1024]);
            let mut left = *n;
            while left > 0 {
                let k = left.min(block.len());
                frames.push(block.slice(..k));
                left -= k;
            }
            streamed(frames, Tail::Stall, guard)
        }
        ChatFault::InvalidUtf8 => {
            let mut frames = vec![];
            let mut bad = prefix.clone();
            bad.extend_from_slice(b"\"bad \xff\xfe bytes \xc3\"},\"done\":false}\n");
            frames.push(Bytes::from(bad));
            frames.extend(lines);
            frames.push(done);
            streamed(frames, Tail::Done, guard)
        }
        ChatFault::Hostile => {
            let mut body = piece_line(&prefix, &format!("{HOSTILE} {MULTI_BYTE} ")).to_vec();
            for l in &lines {
                body.extend_from_slice(l);
            }
            body.extend_from_slice(&done);
            let frames = body.iter().map(|b| Bytes::copy_from_slice(&[*b])).collect();
            streamed(frames, Tail::Done, guard)
        }
        ChatFault::ErrorLine(msg) => {
            let mut frames = two;
            let mut line = serde_json::to_vec(&json!({ "error": msg })).expect("serialise");
            line.push(b'\n');
            frames.push(Bytes::from(line));
            streamed(frames, Tail::Done, guard)
        }
        ChatFault::Answer(answer) => {
            let text = format!("We compute it.\n\nThe answer is \\boxed{{{answer}}}.");
            let mut frames: Vec<Bytes> = split_pieces(&text).iter().map(|p| piece_line(&prefix, p)).collect();
            frames.push(done);
            streamed(frames, Tail::Done, guard)
        }
        ChatFault::Status(code, ct, body) => full(status_of(*code), ct, body.clone()),
    }
}

/// Accepts TCP connections and never reads from them or answers.
pub struct SilentServer {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    task: JoinHandle<()>,
}

impl SilentServer {
    pub async fn start() -> SilentServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        SilentServer { url: format!("http://{addr}"), task }
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
