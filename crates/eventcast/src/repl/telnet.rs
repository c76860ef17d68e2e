//! Client bytes to lines: telnet option negotiation stripped (and politely
//! refused), CRLF, LF, CR NUL or a lone CR as line ends, backspace applied,
//! and a bounded line length.
//!
//! It keeps its state between reads, so a sequence cut between two TCP
//! segments is read as if it had come whole; it never holds more than the
//! longest line allowed.

/// Interpret As Command: starts every telnet command.
const IAC: u8 = 255;
/// Negotiation verbs: WILL, WONT, DO, DONT (each followed by an option).
const WILL: u8 = 251;
const WONT: u8 = 252;
const DO: u8 = 253;
const DONT: u8 = 254;
/// Subnegotiation begin and end.
const SB: u8 = 250;
const SE: u8 = 240;
/// Interrupt Process (telnet's Ctrl-C), Abort Output, Erase Line.
const IP: u8 = 244;
const AO: u8 = 245;
const EL: u8 = 248;
/// Erase Character.
const EC: u8 = 247;

const CR: u8 = b'\r';
const LF: u8 = b'\n';
const NUL: u8 = 0;
const BS: u8 = 0x08;
const DEL: u8 = 0x7f;

/// One complete input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Line {
    /// A line (without its end), invalid UTF-8 replaced.
    Text(String),
    /// A line longer than allowed; its bytes were dropped.
    TooLong,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Data,
    /// After IAC.
    Command,
    /// After IAC and a negotiation verb: the next byte is the option.
    Option(u8),
    /// Inside a subnegotiation, skipped.
    Sub,
    /// IAC inside a subnegotiation.
    SubIac,
}

/// Turns the bytes a client sends into lines.
#[derive(Debug)]
pub(super) struct LineReader {
    state: State,
    line: Vec<u8>,
    max: usize,
    overflow: bool,
    /// The previous byte ended a line with CR: a LF or NUL right after it
    /// belongs to that line end.
    after_cr: bool,
}

impl LineReader {
    /// A reader of lines of at most `max` bytes.
    pub(super) fn new(max: usize) -> Self {
        Self {
            state: State::Data,
            line: Vec::new(),
            max,
            overflow: false,
            after_cr: false,
        }
    }

    /// Reads `bytes`; pushes each line they complete to `lines`, and the
    /// telnet answers owed to the client (refusals of every option it
    /// offers or asks for) to `replies`.
    pub(super) fn feed(&mut self, bytes: &[u8], lines: &mut Vec<Line>, replies: &mut Vec<u8>) {
        for &byte in bytes {
            self.byte(byte, lines, replies);
        }
    }

    /// Whether part of a line is waiting for its end.
    pub(super) fn is_mid_line(&self) -> bool {
        !self.line.is_empty() || self.overflow
    }

    fn byte(&mut self, byte: u8, lines: &mut Vec<Line>, replies: &mut Vec<u8>) {
        match self.state {
            State::Data => self.data(byte, lines),
            State::Command => {
                self.state = State::Data;
                match byte {
                    // IAC IAC is a literal 255.
                    IAC => self.push(IAC),
                    WILL | WONT | DO | DONT => self.state = State::Option(byte),
                    SB => self.state = State::Sub,
                    IP | AO | EL => self.discard_line(),
                    EC => self.erase_char(),
                    // NOP, data mark, break, are-you-there, go-ahead...
                    _ => {}
                }
            }
            State::Option(verb) => {
                self.state = State::Data;
                // Refuse what is offered or asked; never answer a refusal
                // (RFC 1143: that is how negotiation loops are avoided).
                match verb {
                    WILL => replies.extend_from_slice(&[IAC, DONT, byte]),
                    DO => replies.extend_from_slice(&[IAC, WONT, byte]),
                    _ => {}
                }
            }
            State::Sub => {
                if byte == IAC {
                    self.state = State::SubIac;
                }
            }
            State::SubIac => {
                self.state = if byte == SE { State::Data } else { State::Sub };
            }
        }
    }

    fn data(&mut self, byte: u8, lines: &mut Vec<Line>) {
        let after_cr = std::mem::take(&mut self.after_cr);
        match byte {
            IAC => self.state = State::Command,
            CR => {
                self.end_line(lines);
                self.after_cr = true;
            }
            LF if after_cr => {}
            LF => self.end_line(lines),
            NUL => {}
            BS | DEL => self.erase_char(),
            _ => self.push(byte),
        }
    }

    fn push(&mut self, byte: u8) {
        if self.overflow {
            return;
        }
        if self.line.len() < self.max {
            self.line.push(byte);
        } else {
            self.overflow = true;
            self.line.clear();
        }
    }

    /// Removes the last character (all the bytes of a UTF-8 one).
    fn erase_char(&mut self) {
        while let Some(byte) = self.line.pop() {
            if byte & 0b1100_0000 != 0b1000_0000 {
                break;
            }
        }
    }

    fn discard_line(&mut self) {
        self.line.clear();
        self.overflow = false;
    }

    fn end_line(&mut self, lines: &mut Vec<Line>) {
        if std::mem::take(&mut self.overflow) {
            lines.push(Line::TooLong);
        } else {
            lines.push(Line::Text(String::from_utf8_lossy(&self.line).into_owned()));
        }
        self.line.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(reader: &mut LineReader, bytes: &[u8]) -> (Vec<Line>, Vec<u8>) {
        let mut lines = Vec::new();
        let mut replies = Vec::new();
        reader.feed(bytes, &mut lines, &mut replies);
        (lines, replies)
    }

    fn text(s: &str) -> Line {
        Line::Text(s.to_owned())
    }

    #[test]
    fn every_line_end() {
        let mut r = LineReader::new(100);
        let (lines, _) = read(&mut r, b"a\r\nb\nc\r\0d\re\n\n");
        assert_eq!(
            lines,
            [
                text("a"),
                text("b"),
                text("c"),
                text("d"),
                text("e"),
                text("")
            ]
        );
        assert!(!r.is_mid_line());
    }

    #[test]
    fn a_line_end_split_between_reads() {
        let mut r = LineReader::new(100);
        assert_eq!(read(&mut r, b"status\r").0, [text("status")]);
        // The LF of that CRLF arrives alone: no empty line.
        assert_eq!(read(&mut r, b"\nid\n").0, [text("id")]);
    }

    #[test]
    fn negotiation_is_stripped_and_refused() {
        let mut r = LineReader::new(100);
        // What a telnet client in character mode sends first, then a line.
        let mut input = vec![IAC, DO, 1, IAC, WILL, 24, IAC, WONT, 34, IAC, DONT, 3];
        input.extend_from_slice(&[IAC, SB, 24, 0, b'x', b't', b'e', b'r', b'm', IAC, SE]);
        input.extend_from_slice(b"st");
        input.extend_from_slice(&[IAC, 241]); // NOP in the middle of a word
        input.extend_from_slice(b"atus\r\n");
        let (lines, replies) = read(&mut r, &input);
        assert_eq!(lines, [text("status")]);
        assert_eq!(replies, [IAC, WONT, 1, IAC, DONT, 24]);
    }

    #[test]
    fn a_command_split_between_reads() {
        let mut r = LineReader::new(100);
        let mut lines = Vec::new();
        let mut replies = Vec::new();
        for byte in [
            IAC, SB, 31, IAC, IAC, 0, IAC, SE, b'i', b'd', IAC, DO, 1, b'\n',
        ] {
            r.feed(&[byte], &mut lines, &mut replies);
        }
        assert_eq!(lines, [text("id")]);
        assert_eq!(replies, [IAC, WONT, 1]);
    }

    #[test]
    fn escaped_iac_and_invalid_utf8() {
        let mut r = LineReader::new(100);
        let (lines, _) = read(&mut r, &[b'a', IAC, IAC, b'b', 0xc3, b'\n']);
        assert_eq!(lines, [text("a\u{fffd}b\u{fffd}")]);
    }

    #[test]
    fn interrupt_and_erase() {
        let mut r = LineReader::new(100);
        let (lines, _) = read(
            &mut r,
            &[b'o', b'o', b'p', b's', IAC, IP, b'i', b'd', b'\n'],
        );
        assert_eq!(lines, [text("id")]);
        let (lines, _) = read(&mut r, "idé\x08\x08\x7fstatus\n".as_bytes());
        assert_eq!(lines, [text("status")]);
        let (lines, _) = read(&mut r, &[b'x', IAC, EC, b'i', b'd', b'\n']);
        assert_eq!(lines, [text("id")]);
    }

    proptest::proptest! {
        /// Any bytes, cut anywhere: no panic, lines never over the limit,
        /// never a telnet command byte in a line, and the same lines
        /// whatever the cuts.
        #[test]
        fn any_input_in_any_pieces(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
            cuts in proptest::collection::vec(0usize..2048, 0..16),
        ) {
            let mut whole = LineReader::new(64);
            let (expected, expected_replies) = read(&mut whole, &bytes);
            let mut pieces = LineReader::new(64);
            let mut lines = Vec::new();
            let mut replies = Vec::new();
            let mut cuts: Vec<usize> = cuts.into_iter().filter(|&c| c <= bytes.len()).collect();
            cuts.sort_unstable();
            let mut start = 0;
            for cut in cuts.into_iter().chain([bytes.len()]) {
                pieces.feed(&bytes[start..cut], &mut lines, &mut replies);
                start = cut;
            }
            proptest::prop_assert_eq!(&lines, &expected);
            proptest::prop_assert_eq!(&replies, &expected_replies);
            for line in &lines {
                if let Line::Text(text) = line {
                    // Replacement characters may make the text longer than
                    // the bytes, 3 for 1 at most.
                    proptest::prop_assert!(text.len() <= 64 * 3);
                    proptest::prop_assert!(!text.contains(['\r', '\n', '\0']));
                }
            }
        }
    }

    #[test]
    fn long_lines_are_refused_whole_and_memory_stays_bounded() {
        let mut r = LineReader::new(8);
        let (lines, _) = read(&mut r, b"12345678\n123456789\n");
        assert_eq!(lines, [text("12345678"), Line::TooLong]);
        // A flood without a line end holds at most `max` bytes.
        let (lines, _) = read(&mut r, &vec![b'x'; 100_000]);
        assert!(lines.is_empty());
        assert!(r.line.len() <= 8);
        assert!(r.is_mid_line());
        let (lines, _) = read(&mut r, b"\nid\n");
        assert_eq!(lines, [Line::TooLong, text("id")]);
    }
}
