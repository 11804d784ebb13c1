//! Server-sent events (the `text/event-stream` of OpenAI-compatible servers), decoded
//! incrementally from network reads in linear time with bounded memory.
//!
//! Lines are cut by [`LineDecoder`] (so a multi-byte character split across two reads is whole
//! in its line, and a line longer than [`MAX_LINE_BYTES`] is an error); a blank line dispatches
//! the event built from the lines before it. `data:` lines of one event are joined with `\n`;
//! `event:` names it; comments (`:`) and `id:`/`retry:` are ignored. llama.cpp's server reports
//! an error as an `error:` line (not a standard field): it becomes an event named `error`.

use super::ndjson::{LineDecoder, LineTooLong, MAX_LINE_BYTES};

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The event name: `message` unless an `event:` line named another.
    pub event: String,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
}

impl SseEvent {
    /// Whether the server named this event an error (`event: error`, or an `error:` line).
    pub fn is_error(&self) -> bool {
        self.event == "error"
    }
}

/// Cuts bytes into events.
#[derive(Debug)]
pub struct SseDecoder {
    lines: LineDecoder,
    event: Option<String>,
    data: Option<String>,
    limit: usize,
}

impl Default for SseDecoder {
    fn default() -> Self {
        Self::new(MAX_LINE_BYTES)
    }
}

impl SseDecoder {
    /// A decoder that rejects a line, or the data of one event, longer than `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self { lines: LineDecoder::new(limit), event: None, data: None, limit }
    }

    /// Adds bytes read from the network.
    pub fn push(&mut self, bytes: &[u8]) {
        self.lines.push(bytes);
    }

    /// The next complete event, `Ok(None)` when more bytes are needed, or an error when a
    /// line (or an event's data) is longer than the limit.
    pub fn next_event(&mut self) -> Result<Option<SseEvent>, LineTooLong> {
        loop {
            let line = match self.lines.next_line()? {
                Some(l) => l,
                None => return Ok(None),
            };
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let dispatch = line.is_empty() || field(line, &mut self.event, &mut self.data, self.limit)?;
            // A blank line ends an event; an `error:` line stands alone.
            if dispatch {
                if let Some(ev) = self.dispatch() {
                    return Ok(Some(ev));
                }
            }
        }
    }

    /// What is left when the stream ends: an event whose blank line never came.
    pub fn finish(&mut self) -> Result<Option<SseEvent>, LineTooLong> {
        let rest = self.lines.take_rest();
        let rest = rest.strip_suffix(b"\r").unwrap_or(&rest);
        if !rest.is_empty() {
            field(rest, &mut self.event, &mut self.data, self.limit)?;
        }
        Ok(self.dispatch())
    }

    fn dispatch(&mut self) -> Option<SseEvent> {
        let event = self.event.take();
        let data = self.data.take()?;
        Some(SseEvent { event: event.filter(|e| !e.is_empty()).unwrap_or_else(|| "message".into()), data })
    }
}

/// Apply one line (bytes, split before any decoding: a field name is ASCII); true when it was
/// an `error:` line, dispatched at once. Invalid UTF-8 in a value becomes U+FFFD.
fn field(
    line: &[u8],
    event: &mut Option<String>,
    data: &mut Option<String>,
    limit: usize,
) -> Result<bool, LineTooLong> {
    if line.first() == Some(&b':') {
        return Ok(false);
    }
    let (name, value) = match line.iter().position(|&b| b == b':') {
        Some(i) => (&line[..i], line[i + 1..].strip_prefix(b" ").unwrap_or(&line[i + 1..])),
        None => (line, &b""[..]),
    };
    let value = String::from_utf8_lossy(value);
    match name {
        b"data" => {
            let held = data.as_ref().map_or(0, |d| d.len() + 1);
            if held + value.len() > limit {
                *data = None;
                *event = None;
                return Err(LineTooLong { limit });
            }
            match data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(&value);
                }
                None => *data = Some(value.into_owned()),
            }
            Ok(false)
        }
        b"event" => {
            *event = Some(value.into_owned());
            Ok(false)
        }
        b"error" => {
            *event = Some("error".into());
            *data = Some(value.into_owned());
            Ok(true)
        }
        _ => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all(d: &mut SseDecoder, bytes: &[u8]) -> Vec<SseEvent> {
        d.push(bytes);
        let mut out = Vec::new();
        while let Some(e) = d.next_event().unwrap() {
            out.push(e);
        }
        out
    }

    fn msg(data: &str) -> SseEvent {
        SseEvent { event: "message".into(), data: data.into() }
    }

    #[test]
    fn data_lines_become_events_at_blank_lines() {
        let mut d = SseDecoder::default();
        let got = all(
            &mut d,
            b": keep-alive\n\ndata: {\"a\":1}\n\ndata:x\r\ndata: y\r\n\r\nevent: error\ndata: boom\n\n",
        );
        assert_eq!(
            got,
            [msg("{\"a\":1}"), msg("x\ny"), SseEvent { event: "error".into(), data: "boom".into() }]
        );
        assert!(got[2].is_error());
    }

    #[test]
    fn an_error_line_is_an_error_event_at_once() {
        let mut d = SseDecoder::default();
        let got = all(&mut d, b"error: {\"message\":\"bad\"}\n");
        assert_eq!(got.len(), 1);
        assert!(got[0].is_error() && got[0].data.contains("bad"));
    }

    #[test]
    fn an_event_without_its_blank_line_is_kept_at_the_end() {
        let mut d = SseDecoder::default();
        assert!(all(&mut d, b"data: [DONE]").is_empty());
        assert_eq!(d.finish().unwrap(), Some(msg("[DONE]")));
        assert_eq!(d.finish().unwrap(), None);
    }

    #[test]
    fn an_enormous_line_or_event_fails() {
        let mut d = SseDecoder::new(16);
        d.push(b"data: 0123456789abcdefghij");
        assert!(d.next_event().is_err());
        let mut d = SseDecoder::new(16);
        d.push(b"data: 0123456789\ndata: 0123456789\n");
        assert!(d.next_event().is_err());
    }

    #[test]
    fn a_multi_byte_character_split_anywhere_is_whole() {
        let stream = "data: {\"c\":\"é中😀\"}\n\n".as_bytes();
        for cut in 0..stream.len() {
            let mut d = SseDecoder::default();
            let mut got = all(&mut d, &stream[..cut]);
            got.extend(all(&mut d, &stream[cut..]));
            assert_eq!(got, [msg("{\"c\":\"é中😀\"}")], "cut at {cut}");
        }
    }

    fn event_text() -> impl Strategy<Value = (Option<String>, Vec<String>)> {
        (proptest::option::of("[a-z]{1,8}"), proptest::collection::vec("[^\r\n]{0,12}", 1..4))
    }

    proptest! {
        #[test]
        fn any_split_of_a_stream_decodes_to_the_same_events(
            events in proptest::collection::vec(event_text(), 0..6),
            cuts in proptest::collection::vec(0usize..400, 0..8),
            crlf in any::<bool>(),
        ) {
            let nl = if crlf { "\r\n" } else { "\n" };
            let mut text = String::new();
            for (name, lines) in &events {
                if let Some(n) = name {
                    text.push_str(&format!("event: {n}{nl}"));
                }
                for l in lines {
                    text.push_str(&format!("data: {l}{nl}"));
                }
                text.push_str(nl);
            }
            let bytes = text.as_bytes();
            let mut whole = SseDecoder::default();
            let expected = all(&mut whole, bytes);
            prop_assert_eq!(expected.len(), events.len());
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            cuts.sort_unstable();
            let mut d = SseDecoder::default();
            let mut got = Vec::new();
            let mut from = 0;
            for c in cuts.into_iter().chain([bytes.len()]) {
                got.extend(all(&mut d, &bytes[from..c]));
                from = c;
            }
            prop_assert_eq!(got, expected);
        }
    }
}
