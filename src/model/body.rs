//! What the server clients share about reading a response: error causes as a person reads
//! them, and one read of a streamed body bounded by the stall timeout and the cancel token.

use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;

use super::GenError;

/// A streamed response body.
pub type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// The full chain of an error's causes, for messages that say what happened.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let s_text = s.to_string();
        if !out.contains(&s_text) {
            out.push_str(": ");
            out.push_str(&s_text);
        }
        src = s.source();
    }
    out
}

/// The innermost cause ("Connection refused (os error 111)"): what a person needs to read.
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// What one read of a streamed body brought.
#[derive(Debug)]
pub enum BodyRead {
    /// More bytes.
    Bytes(Bytes),
    /// The body ended.
    End,
    /// The connection broke while reading.
    Broken(reqwest::Error),
    /// Nothing arrived within the stall timeout ([`GenError::Stalled`] naming `url`), or the
    /// request was cancelled ([`GenError::Cancelled`]).
    Failed(GenError),
}

/// Wait for the next piece of `bytes` from `url`, at most `stall`, unless `cancel` fires first.
pub async fn read_body(
    bytes: &mut ByteStream,
    stall: Duration,
    cancel: &CancellationToken,
    url: &str,
) -> BodyRead {
    tokio::select! {
        _ = cancel.cancelled() => BodyRead::Failed(GenError::Cancelled),
        n = tokio::time::timeout(stall, bytes.next()) => match n {
            Err(_) => BodyRead::Failed(GenError::Stalled { url: url.to_string(), secs: stall.as_secs_f64() }),
            Ok(Some(Ok(b))) => BodyRead::Bytes(b),
            Ok(Some(Err(e))) => BodyRead::Broken(e),
            Ok(None) => BodyRead::End,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(Inner);
    #[derive(Debug)]
    struct Inner;
    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("error sending request")
        }
    }
    impl std::fmt::Display for Inner {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("Connection refused (os error 111)")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    impl std::error::Error for Inner {}

    #[test]
    fn the_chain_names_every_cause_once_and_the_root_the_innermost() {
        let e = Outer(Inner);
        assert_eq!(error_chain(&e), "error sending request: Connection refused (os error 111)");
        assert_eq!(root_cause(&e), "Connection refused (os error 111)");
    }

    #[tokio::test]
    async fn a_read_ends_stalls_or_is_cancelled() {
        let mut body: ByteStream = Box::pin(futures::stream::iter(vec![Ok(Bytes::from_static(b"x"))]));
        let cancel = CancellationToken::new();
        assert!(
            matches!(read_body(&mut body, Duration::from_secs(5), &cancel, "u").await, BodyRead::Bytes(b) if &b[..] == b"x")
        );
        assert!(matches!(read_body(&mut body, Duration::from_secs(5), &cancel, "u").await, BodyRead::End));
        let mut silent: ByteStream = Box::pin(futures::stream::pending());
        assert!(matches!(
            read_body(&mut silent, Duration::from_millis(20), &cancel, "u").await,
            BodyRead::Failed(GenError::Stalled { .. })
        ));
        cancel.cancel();
        assert!(matches!(
            read_body(&mut silent, Duration::from_secs(5), &cancel, "u").await,
            BodyRead::Failed(GenError::Cancelled)
        ));
    }
}
