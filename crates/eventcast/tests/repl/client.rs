//! A REPL client for the tests: talks to a node's REPL over real TCP as
//! telnet or nc would, and reads its answers up to the next prompt.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::common::guard;

/// What every prompt starts with.
pub(crate) const PROMPT_START: &str = "eventcast@";

/// A connected REPL client.
pub(crate) struct Client {
    stream: TcpStream,
    /// Bytes read and not yet consumed.
    buf: Vec<u8>,
    /// The prompt, learnt from the greeting.
    pub(crate) prompt: String,
    /// The greeting, up to the first prompt.
    pub(crate) greeting: String,
}

impl Client {
    /// Connects and reads the greeting up to the first prompt.
    pub(crate) async fn connect(addr: SocketAddr) -> Self {
        let stream = guard("a REPL connection", TcpStream::connect(addr))
            .await
            .expect("connect to the REPL");
        let mut client = Self {
            stream,
            buf: Vec::new(),
            prompt: String::new(),
            greeting: String::new(),
        };
        let greeting = client.read_until(b"> ").await;
        let text = String::from_utf8_lossy(&greeting).into_owned();
        let start = text
            .rfind(PROMPT_START)
            .expect("a prompt after the greeting");
        client.prompt = text[start..].to_owned();
        client.greeting = text[..start].to_owned();
        client
    }

    /// Sends raw bytes.
    pub(crate) async fn send(&mut self, bytes: &[u8]) {
        self.stream
            .write_all(bytes)
            .await
            .expect("write to the REPL");
    }

    /// Sends `line` with a LF and returns the answer, up to the next prompt.
    pub(crate) async fn command(&mut self, line: &str) -> String {
        self.send(format!("{line}\n").as_bytes()).await;
        self.answer().await
    }

    /// The text up to the next prompt (consumed with it), CRLF turned into
    /// LF, the last line end removed.
    pub(crate) async fn answer(&mut self) -> String {
        let prompt = self.prompt.clone().into_bytes();
        let bytes = self.read_until(&prompt).await;
        let text = String::from_utf8_lossy(&bytes[..bytes.len() - prompt.len()]).into_owned();
        text.replace("\r\n", "\n").trim_end_matches('\n').to_owned()
    }

    /// The raw bytes up to and including `pattern`.
    pub(crate) async fn read_until(&mut self, pattern: &[u8]) -> Vec<u8> {
        let what = format!("{:?} from the REPL", String::from_utf8_lossy(pattern));
        guard(&what, async {
            loop {
                if let Some(at) = find(&self.buf, pattern) {
                    let rest = self.buf.split_off(at + pattern.len());
                    return std::mem::replace(&mut self.buf, rest);
                }
                let mut chunk = [0u8; 8192];
                let n = self
                    .stream
                    .read(&mut chunk)
                    .await
                    .expect("read from the REPL");
                assert!(
                    n > 0,
                    "the REPL closed the connection; unread: {:?}",
                    String::from_utf8_lossy(&self.buf)
                );
                self.buf.extend_from_slice(&chunk[..n]);
            }
        })
        .await
    }

    /// Reads to the end of the connection; returns what came before it.
    pub(crate) async fn read_to_end(&mut self) -> String {
        let mut rest = std::mem::take(&mut self.buf);
        guard(
            "the REPL to close the connection",
            self.stream.read_to_end(&mut rest),
        )
        .await
        .expect("read to the end");
        String::from_utf8_lossy(&rest).replace("\r\n", "\n")
    }

    /// The next line of streamed output (a prompt before it is skipped).
    pub(crate) async fn streamed_line(&mut self) -> String {
        loop {
            let line = self.read_until(b"\r\n").await;
            let text = String::from_utf8_lossy(&line[..line.len() - 2]).into_owned();
            let text = text
                .strip_prefix(self.prompt.as_str())
                .unwrap_or(&text)
                .to_owned();
            if !text.is_empty() {
                return text;
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
