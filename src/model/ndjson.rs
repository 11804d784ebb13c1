//! Splitting a byte stream into NDJSON lines in linear time with bounded memory.
//!
//! Every byte is scanned for `\n` once: the decoder remembers how far it looked. Consumed lines are
//! dropped from the front of the buffer once per [`LineDecoder::push`], not once per line. A line
//! longer than the limit is an error, so a server that never sends a newline cannot make the
//! client buffer without bound.

/// The longest NDJSON line accepted from a server (1 MiB). A chat chunk with 20 top
/// log-probabilities is a few KB.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// A line longer than the decoder's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineTooLong {
    /// The limit that was exceeded.
    pub limit: usize,
}

impl std::fmt::Display for LineTooLong {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a stream line exceeded {} bytes without a newline", self.limit)
    }
}

/// Cuts bytes into lines (without the `\n`).
#[derive(Debug)]
pub struct LineDecoder {
    buf: Vec<u8>,
    /// Where the next line starts in `buf`.
    start: usize,
    /// Bytes of `buf` already searched for `\n`.
    scanned: usize,
    limit: usize,
}

impl Default for LineDecoder {
    fn default() -> Self {
        Self::new(MAX_LINE_BYTES)
    }
}

impl LineDecoder {
    /// A decoder that rejects lines longer than `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self { buf: Vec::new(), start: 0, scanned: 0, limit }
    }

    /// Adds bytes read from the network.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 {
            // Drop consumed lines once per read; what is left is at most one partial line.
            self.buf.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete line, `Ok(None)` when more bytes are needed, or an error when the
    /// line in progress is longer than the limit.
    pub fn next_line(&mut self) -> Result<Option<&[u8]>, LineTooLong> {
        match self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
            Some(rel) => {
                let end = self.scanned + rel;
                let begin = self.start;
                self.start = end + 1;
                self.scanned = self.start;
                if end - begin > self.limit {
                    return Err(LineTooLong { limit: self.limit });
                }
                Ok(Some(&self.buf[begin..end]))
            }
            None => {
                self.scanned = self.buf.len();
                if self.buf.len() - self.start > self.limit {
                    return Err(LineTooLong { limit: self.limit });
                }
                Ok(None)
            }
        }
    }

    /// What is left after the last newline (a last line without one), emptying the decoder.
    pub fn take_rest(&mut self) -> Vec<u8> {
        let rest = self.buf.split_off(self.start);
        self.buf.clear();
        self.start = 0;
        self.scanned = 0;
        rest
    }

    /// Bytes held (consumed lines not yet dropped included).
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(d: &mut LineDecoder) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(l) = d.next_line().unwrap() {
            out.push(String::from_utf8(l.to_vec()).unwrap());
        }
        out
    }

    #[test]
    fn splits_lines_across_reads() {
        let mut d = LineDecoder::new(100);
        d.push(b"ab");
        assert!(lines(&mut d).is_empty());
        d.push(b"c\nde\n\nf");
        assert_eq!(lines(&mut d), ["abc", "de", ""]);
        d.push(b"g\n");
        assert_eq!(lines(&mut d), ["fg"]);
        d.push(b"tail");
        assert!(lines(&mut d).is_empty());
        assert_eq!(d.take_rest(), b"tail");
    }

    #[test]
    fn a_multi_byte_character_split_across_reads_is_whole_in_its_line() {
        let text = "é中😀\n".as_bytes();
        for cut in 0..text.len() {
            let mut d = LineDecoder::new(100);
            d.push(&text[..cut]);
            assert!(d.next_line().unwrap().is_none() || cut == text.len());
            d.push(&text[cut..]);
            assert_eq!(d.next_line().unwrap(), Some("é中😀".as_bytes()), "cut at {cut}");
        }
    }

    #[test]
    fn an_endless_line_fails_once_it_passes_the_limit() {
        let mut d = LineDecoder::new(10);
        d.push(b"0123456789");
        assert_eq!(d.next_line(), Ok(None));
        d.push(b"x");
        assert_eq!(d.next_line(), Err(LineTooLong { limit: 10 }));
        assert!(LineTooLong { limit: 10 }.to_string().contains("a stream line exceeded 10 bytes"));
        // A complete line over the limit fails too.
        let mut d = LineDecoder::new(3);
        d.push(b"abcd\nok\n");
        assert!(d.next_line().is_err());
        assert_eq!(d.next_line(), Ok(Some(&b"ok"[..])));
    }

    #[test]
    fn memory_stays_bounded_by_one_line_and_one_read() {
        let mut d = LineDecoder::new(1 << 20);
        let read = b"{\"x\":1}\n".repeat(1000);
        for _ in 0..1000 {
            d.push(&read);
            while d.next_line().unwrap().is_some() {}
            assert!(d.buffered() <= read.len());
        }
    }

    #[test]
    fn scanning_is_linear_in_the_bytes_received() {
        // 16 MiB without a newline in 4 KiB reads: re-scanning the buffer after every read
        // (quadratic) takes minutes here; one scan takes well under a second.
        let mut d = LineDecoder::new(usize::MAX);
        let read = vec![b'a'; 4096];
        let started = std::time::Instant::now();
        for _ in 0..(16 << 20) / read.len() {
            d.push(&read);
            assert_eq!(d.next_line(), Ok(None));
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    }
}
