//! Python values to BSON and back, directly (no JSON text in between).
//!
//! | Python | BSON |
//! | --- | --- |
//! | `dict` (str keys, order kept) | document |
//! | `list`, `tuple` | array (comes back as `list`) |
//! | `str` | string |
//! | `int` | int32 if it fits, else int64; larger: `OverflowError` |
//! | `float` | double |
//! | `bool` | boolean |
//! | `None` | null |
//! | `datetime` | date (aware: converted to UTC; naive: taken as UTC) |
//! | `re.Pattern` | regex, with its flags |
//! | `bytes`, `bytearray`, `memoryview` | binary |
//!
//! Anything else is a `TypeError` naming where it was (`args[1]['a']`).
//! Received BSON types with no Python counterpart (ObjectId, Decimal128,
//! ...), dates outside `datetime`'s range and regexes Python cannot
//! compile come as their relaxed Extended JSON dict (`{"$oid": ...}`), as
//! `eventcast listen` prints them: receiving never raises.

use bson::{spec::BinarySubtype, Binary, Bson, DateTime, Document, RawArray, RawBsonRef, Regex};
use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple,
};
use pyo3::IntoPyObjectExt;

use eventcast::Event;

/// Deeper than this is refused (a container that holds itself would
/// otherwise recurse until the stack runs out).
const MAX_DEPTH: usize = 100;

/// Python's `re` flags and the BSON regex options they stand for, in the
/// order BSON wants options (alphabetical). `u` is Python's default for
/// `str` patterns, so it is neither sent nor needed back.
const REGEX_FLAGS: [(char, &str); 4] = [
    ('i', "IGNORECASE"),
    ('m', "MULTILINE"),
    ('s', "DOTALL"),
    ('x', "VERBOSE"),
];

/// The Python objects the conversion needs, looked up once.
struct Types {
    datetime: Py<PyAny>,
    memoryview: Py<PyAny>,
    pattern: Py<PyAny>,
    compile: Py<PyAny>,
    timedelta: Py<PyAny>,
    utc: Py<PyAny>,
    epoch: Py<PyAny>,
    flags: Vec<(char, i64)>,
}

static TYPES: PyOnceLock<Types> = PyOnceLock::new();

fn types(py: Python<'_>) -> PyResult<&Types> {
    TYPES.get_or_try_init(py, || {
        let datetime_mod = py.import("datetime")?;
        let re = py.import("re")?;
        let utc = datetime_mod.getattr("timezone")?.getattr("utc")?;
        let datetime = datetime_mod.getattr("datetime")?;
        let epoch = datetime.call1((1970, 1, 1, 0, 0, 0, 0, &utc))?;
        let flags = REGEX_FLAGS
            .iter()
            .map(|(c, name)| Ok((*c, re.getattr(*name)?.extract::<i64>()?)))
            .collect::<PyResult<_>>()?;
        Ok(Types {
            datetime: datetime.unbind(),
            memoryview: py.import("builtins")?.getattr("memoryview")?.unbind(),
            pattern: re.getattr("Pattern")?.unbind(),
            compile: re.getattr("compile")?.unbind(),
            timedelta: datetime_mod.getattr("timedelta")?.unbind(),
            utc: utc.unbind(),
            epoch: epoch.unbind(),
            flags,
        })
    })
}

/// Converts the arguments of an `emit` (a tuple) to BSON.
pub(crate) fn args_to_bson(args: &Bound<'_, PyTuple>) -> PyResult<Vec<Bson>> {
    let mut conv = ToBson {
        types: types(args.py())?,
        path: Vec::new(),
    };
    args.iter()
        .enumerate()
        .map(|(i, arg)| {
            conv.path.push(Seg::Index(i));
            let value = conv.value(&arg)?;
            conv.path.pop();
            Ok(value)
        })
        .collect()
}

/// One step of the path to a value, for error messages.
enum Seg {
    Index(usize),
    Key(String),
}

struct ToBson<'a> {
    types: &'a Types,
    path: Vec<Seg>,
}

impl ToBson<'_> {
    fn at(&self) -> String {
        let mut s = String::from("args");
        for seg in &self.path {
            match seg {
                Seg::Index(i) => s.push_str(&format!("[{i}]")),
                Seg::Key(k) => s.push_str(&format!("[{k:?}]")),
            }
        }
        s
    }

    fn value(&mut self, obj: &Bound<'_, PyAny>) -> PyResult<Bson> {
        let py = obj.py();
        if obj.is_none() {
            return Ok(Bson::Null);
        }
        if let Ok(b) = obj.cast::<PyBool>() {
            return Ok(Bson::Boolean(b.is_true()));
        }
        if obj.is_instance_of::<PyInt>() {
            return match obj.extract::<i64>() {
                Ok(v) => Ok(i32::try_from(v).map_or(Bson::Int64(v), Bson::Int32)),
                Err(_) => Err(PyOverflowError::new_err(format!(
                    "{}: int {} does not fit in 64 bits (BSON int64)",
                    self.at(),
                    obj.str()?
                ))),
            };
        }
        if let Ok(f) = obj.cast::<PyFloat>() {
            return Ok(Bson::Double(f.value()));
        }
        if obj.is_instance_of::<PyString>() {
            return Ok(Bson::String(obj.extract()?));
        }
        if self.path.len() > MAX_DEPTH {
            return Err(PyTypeError::new_err(format!(
                "{}: nested more than {MAX_DEPTH} levels deep (does a container hold itself?)",
                self.at()
            )));
        }
        if let Ok(dict) = obj.cast::<PyDict>() {
            let mut doc = Document::new();
            for (key, value) in dict.iter() {
                let Ok(key) = key.extract::<String>() else {
                    return Err(PyTypeError::new_err(format!(
                        "{}: dict keys must be str, not {}",
                        self.at(),
                        key.get_type().name()?
                    )));
                };
                self.path.push(Seg::Key(key.clone()));
                if key.contains('\0') {
                    return Err(pyo3::exceptions::PyValueError::new_err(format!(
                        "{}: a dict key cannot hold a NUL character (BSON keys are C strings)",
                        self.at()
                    )));
                }
                let converted = self.value(&value)?;
                self.path.pop();
                doc.insert(key, converted);
            }
            return Ok(Bson::Document(doc));
        }
        if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
            let mut array = Vec::with_capacity(obj.len()?);
            for (i, item) in obj.try_iter()?.enumerate() {
                self.path.push(Seg::Index(i));
                array.push(self.value(&item?)?);
                self.path.pop();
            }
            return Ok(Bson::Array(array));
        }
        if let Ok(bytes) = obj.cast::<PyBytes>() {
            return Ok(binary(bytes.as_bytes().to_vec()));
        }
        if let Ok(bytes) = obj.cast::<PyByteArray>() {
            return Ok(binary(bytes.to_vec()));
        }
        let t = self.types;
        if obj.is_instance(t.memoryview.bind(py))? {
            let bytes = obj.call_method0("tobytes")?;
            return Ok(binary(bytes.cast::<PyBytes>()?.as_bytes().to_vec()));
        }
        if obj.is_instance(t.datetime.bind(py))? {
            return self.date(obj);
        }
        if obj.is_instance(t.pattern.bind(py))? {
            return self.regex(obj);
        }
        Err(PyTypeError::new_err(format!(
            "{}: cannot send a {} as an event argument (supported: dict, list, tuple, str, \
             int, float, bool, None, datetime, re.Pattern, bytes, bytearray, memoryview)",
            self.at(),
            obj.get_type().name()?
        )))
    }

    /// Milliseconds since the epoch, counted exactly (no float): naive
    /// datetimes are taken as UTC.
    fn date(&self, obj: &Bound<'_, PyAny>) -> PyResult<Bson> {
        let py = obj.py();
        let aware = if obj.call_method0("utcoffset")?.is_none() {
            let kwargs = PyDict::new(py);
            kwargs.set_item("tzinfo", self.types.utc.bind(py))?;
            obj.call_method("replace", (), Some(&kwargs))?
        } else {
            obj.clone()
        };
        let delta = aware.sub(self.types.epoch.bind(py))?;
        let days: i64 = delta.getattr("days")?.extract()?;
        let seconds: i64 = delta.getattr("seconds")?.extract()?;
        let micros: i64 = delta.getattr("microseconds")?.extract()?;
        let millis = days * 86_400_000 + seconds * 1000 + micros.div_euclid(1000);
        Ok(Bson::DateTime(DateTime::from_millis(millis)))
    }

    fn regex(&self, obj: &Bound<'_, PyAny>) -> PyResult<Bson> {
        let pattern = obj.getattr("pattern")?;
        let Ok(pattern) = pattern.extract::<String>() else {
            return Err(PyTypeError::new_err(format!(
                "{}: only str regex patterns can be sent, not bytes patterns",
                self.at()
            )));
        };
        let flags: i64 = obj.getattr("flags")?.extract()?;
        let options: String = self
            .types
            .flags
            .iter()
            .filter(|(_, bit)| flags & bit != 0)
            .map(|(c, _)| *c)
            .collect();
        Ok(Bson::RegularExpression(Regex {
            pattern: cstr(pattern, self)?,
            options: cstr(options, self)?,
        }))
    }
}

fn cstr(text: String, conv: &ToBson<'_>) -> PyResult<bson::raw::CString> {
    bson::raw::CString::try_from(text)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("{}: {e}", conv.at())))
}

fn binary(bytes: Vec<u8>) -> Bson {
    Bson::Binary(Binary {
        subtype: BinarySubtype::Generic,
        bytes,
    })
}

/// Converts a received argument to Python. Never fails on what the
/// network sent: what has no Python form comes as Extended JSON.
fn to_py<'py>(py: Python<'py>, value: &Bson) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Bson::Null | Bson::Undefined => py.None().into_bound(py),
        Bson::Boolean(b) => PyBool::new(py, *b).to_owned().into_any(),
        Bson::Int32(v) => v.into_bound_py_any(py)?,
        Bson::Int64(v) => v.into_bound_py_any(py)?,
        Bson::Double(v) => v.into_bound_py_any(py)?,
        Bson::String(s) => PyString::new(py, s).into_any(),
        Bson::Binary(b) => PyBytes::new(py, &b.bytes).into_any(),
        Bson::Array(items) => list(py, items, to_py)?,
        Bson::Document(doc) => dict(py, doc, to_py)?,
        Bson::DateTime(date) => match date_to_py(py, date.timestamp_millis()) {
            Ok(date) => date,
            Err(_) => extjson(py, value)?,
        },
        Bson::RegularExpression(regex) => match regex_to_py(py, regex) {
            Ok(regex) => regex,
            Err(_) => extjson(py, value)?,
        },
        _ => extjson(py, value)?,
    })
}

fn date_to_py(py: Python<'_>, millis: i64) -> PyResult<Bound<'_, PyAny>> {
    let t = types(py)?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("milliseconds", millis)?;
    let delta = t.timedelta.bind(py).call((), Some(&kwargs))?;
    t.epoch.bind(py).add(delta)
}

fn regex_to_py<'py>(py: Python<'py>, regex: &Regex) -> PyResult<Bound<'py, PyAny>> {
    let t = types(py)?;
    let options = regex.options.as_str();
    let flags: i64 = t
        .flags
        .iter()
        .filter(|(c, _)| options.contains(*c))
        .map(|(_, bit)| bit)
        .sum();
    t.compile.bind(py).call1((regex.pattern.as_str(), flags))
}

/// The relaxed Extended JSON form, as `eventcast listen` prints it.
fn extjson<'py>(py: Python<'py>, value: &Bson) -> PyResult<Bound<'py, PyAny>> {
    json_to_py(py, &value.clone().into_relaxed_extjson())
}

fn json_to_py<'py>(py: Python<'py>, value: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value;
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(v), _) => v.into_bound_py_any(py)?,
            (None, Some(v)) => v.into_bound_py_any(py)?,
            _ => n.as_f64().unwrap_or(f64::NAN).into_bound_py_any(py)?,
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => list(py, items, json_to_py)?,
        Value::Object(map) => dict(py, map, json_to_py)?,
    })
}

type ToPy<'py, T> = fn(Python<'py>, &T) -> PyResult<Bound<'py, PyAny>>;

fn list<'py, 'a, T: 'a>(
    py: Python<'py>,
    items: impl IntoIterator<Item = &'a T>,
    convert: ToPy<'py, T>,
) -> PyResult<Bound<'py, PyAny>> {
    let list = PyList::empty(py);
    for item in items {
        list.append(convert(py, item)?)?;
    }
    Ok(list.into_any())
}

fn dict<'py, 'a, T: 'a>(
    py: Python<'py>,
    items: impl IntoIterator<Item = (&'a String, &'a T)>,
    convert: ToPy<'py, T>,
) -> PyResult<Bound<'py, PyAny>> {
    let dict = PyDict::new(py);
    for (key, item) in items {
        dict.set_item(key, convert(py, item)?)?;
    }
    Ok(dict.into_any())
}

/// The arguments of an event kept as it arrived, converted from the bytes
/// that arrived: strings and binaries straight from them (one copy, into
/// Python, not a decode into `Bson` first), anything else through its
/// `Bson` value; the same values `to_py` gives from the decoded list.
/// `None` if an element does not read (the check on arrival rules that
/// out): the caller decodes the list then.
fn kept_args<'py>(py: Python<'py>, list: &RawArray) -> PyResult<Option<Bound<'py, PyList>>> {
    let args = PyList::empty(py);
    for item in list {
        let Ok(value) = item else {
            return Ok(None);
        };
        let converted = match value {
            RawBsonRef::String(s) => PyString::new(py, s).into_any(),
            RawBsonRef::Binary(b) => PyBytes::new(py, b.bytes).into_any(),
            other => match Bson::try_from(other) {
                Ok(value) => to_py(py, &value)?,
                Err(_) => return Ok(None),
            },
        };
        args.append(converted)?;
    }
    Ok(Some(args))
}

/// `(token, name, args, sender, source, seq)`: what the Python layer makes
/// an `Event` of.
pub(crate) fn event_tuple<'py>(
    py: Python<'py>,
    token: u64,
    event: &Event,
) -> PyResult<Bound<'py, PyTuple>> {
    let kept = event.raw_list().map(|list| kept_args(py, list));
    let args = match kept.transpose()?.flatten() {
        Some(args) => args,
        None => {
            let args = PyList::empty(py);
            for arg in event.raw_args() {
                args.append(to_py(py, arg)?)?;
            }
            args
        }
    };
    (
        token,
        event.name(),
        args,
        event.sender().to_string(),
        event.from().map(|a| a.to_string()),
        event.seq().map(|s| s.get()),
    )
        .into_pyobject(py)
}
