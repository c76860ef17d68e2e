//! `on NAME`, `once NAME` and `off [NAME]`: stream events into this session
//! as JSON lines through listeners on the node, and stop. NAME may be a
//! pattern (`sensor.*`, `sensor.**`, `**`), as for `Eventcast::on`.

use crate::repl::cmd::context::{name_of, optional_name, Context, Spec};
use crate::repl::tokens::Token;

pub(super) const ON: Spec = Spec {
    name: "on",
    usage: "on NAME",
    about: "stream NAME events into this session, one JSON line each \
            ({\"event\", \"args\", \"sender\", \"from\"}), until `off NAME`; \
            NAME may be a pattern: `sensor.*`, `sensor.**`, `**` (see `Eventcast::on`); \
            an event several of this session's streams match is written once",
};

pub(super) const ONCE: Spec = Spec {
    name: "once",
    usage: "once NAME",
    about: "stream the next NAME event only (NAME may be a pattern, as for `on`)",
};

pub(super) const OFF: Spec = Spec {
    name: "off",
    usage: "off [NAME]",
    about: "stop streaming NAME (without NAME: everything this session streams)",
};

/// A parsed `on` or `once`.
#[derive(Debug)]
pub(crate) struct On {
    name: String,
    pub(super) once: bool,
}

impl On {
    pub(super) fn parse(words: &[Token], once: bool) -> Option<Self> {
        match words {
            [name] => Some(Self {
                name: name_of(name)?,
                once,
            }),
            _ => None,
        }
    }

    /// Fails on a bad pattern, saying what is wrong.
    pub(super) fn run(self, cx: &mut Context<'_>) -> Result<String, String> {
        let already = cx
            .session
            .streams
            .get(&self.name)
            .is_some_and(|streams| streams.iter().any(|s| s.once == self.once));
        if already && !self.once {
            return Ok(format!("ok: already streaming {}", self.name));
        }
        cx.session
            .add_stream(cx.node, &self.name, self.once)
            .map_err(|e| e.to_string())?;
        Ok(if self.once {
            format!("ok: the next {} event will be streamed here", self.name)
        } else {
            format!(
                "ok: streaming {} events here (`off {}` stops)",
                self.name, self.name
            )
        })
    }
}

/// A parsed `off`.
#[derive(Debug)]
pub(crate) struct Off {
    name: Option<String>,
}

impl Off {
    pub(super) fn parse(words: &[Token]) -> Option<Self> {
        optional_name(words).map(|name| Self { name })
    }

    pub(super) fn run(self, cx: &mut Context<'_>) -> String {
        let removed = cx.session.remove_streams(cx.node, self.name.as_deref());
        match (self.name, removed) {
            (Some(name), 0) => format!("ok: {name} was not streamed here"),
            (Some(name), _) => format!("ok: stopped streaming {name}"),
            (None, 0) => "ok: nothing was streamed here".to_owned(),
            (None, n) => format!("ok: stopped {n} stream(s)"),
        }
    }
}
