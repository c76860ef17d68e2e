//! `stats()` as nested dicts, read from the counters' `Debug` form
//! (`NodeStats { protocol: Stats { messages_sent: 3, .. }, running: true,
//! .. }`), so that every counter the library adds shows up here unasked.
//! Numbers become `int`, `true`/`false` `bool`, nested structs `dict`;
//! anything else stays text.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3::IntoPyObjectExt;

/// Parses `Name { field: value, ... }` into a dict of the fields.
pub(crate) fn to_dict<'py>(py: Python<'py>, debug: &str) -> PyResult<Bound<'py, PyDict>> {
    let mut parser = Parser { rest: debug };
    parser.ident();
    parser.object(py)
}

struct Parser<'a> {
    rest: &'a str,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        self.rest = self.rest.trim_start();
    }

    fn eat(&mut self, token: &str) -> bool {
        self.skip_space();
        match self.rest.strip_prefix(token) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn ident(&mut self) -> &str {
        self.skip_space();
        let end = self
            .rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(self.rest.len());
        let (ident, rest) = self.rest.split_at(end);
        self.rest = rest;
        ident
    }

    /// `{ field: value, ... }` (the name before it already read).
    fn object<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        if !self.eat("{") {
            return Ok(dict);
        }
        loop {
            if self.eat("}") || self.rest.is_empty() {
                return Ok(dict);
            }
            let key = self.ident().to_owned();
            if key.is_empty() || !self.eat(":") {
                // Not the shape expected: stop rather than guess.
                return Ok(dict);
            }
            dict.set_item(key, self.value(py)?)?;
            self.eat(",");
        }
    }

    fn value<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.skip_space();
        let end = self.rest.find([',', '}', '{']).unwrap_or(self.rest.len());
        let word = self.rest[..end].trim();
        if self.rest[end..].starts_with('{') {
            self.rest = &self.rest[end..];
            return Ok(self.object(py)?.into_any());
        }
        self.rest = &self.rest[end..];
        if let Ok(n) = word.parse::<u64>() {
            return n.into_bound_py_any(py);
        }
        if let Ok(n) = word.parse::<i64>() {
            return n.into_bound_py_any(py);
        }
        match word {
            "true" => true.into_bound_py_any(py),
            "false" => false.into_bound_py_any(py),
            other => other.into_bound_py_any(py),
        }
    }
}
