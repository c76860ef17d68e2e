//! `stats()` as nested dicts: the library's counters as it serializes them
//! (so that every counter it adds shows up here unasked). Numbers become
//! `int`, booleans `bool`, nested structs `dict`.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3::IntoPyObjectExt;
use serde_json::Value;

/// The fields of `stats` as a dict.
pub(crate) fn to_dict<'py>(
    py: Python<'py>,
    stats: &eventcast::NodeStats,
) -> PyResult<Bound<'py, PyDict>> {
    let value = serde_json::to_value(stats)
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
    match value {
        Value::Object(map) => object(py, map),
        _ => Ok(PyDict::new(py)),
    }
}

fn object<'py>(
    py: Python<'py>,
    map: serde_json::Map<String, Value>,
) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (key, value) in map {
        dict.set_item(key, self::value(py, value)?)?;
    }
    Ok(dict)
}

fn value<'py>(py: Python<'py>, value: Value) -> PyResult<Bound<'py, PyAny>> {
    match value {
        Value::Object(map) => Ok(object(py, map)?.into_any()),
        Value::Bool(b) => b.into_bound_py_any(py),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => u.into_bound_py_any(py),
            (None, Some(i)) => i.into_bound_py_any(py),
            _ => n.as_f64().unwrap_or(f64::NAN).into_bound_py_any(py),
        },
        Value::String(s) => s.into_bound_py_any(py),
        Value::Null => Ok(py.None().into_bound(py)),
        Value::Array(items) => {
            let items = items
                .into_iter()
                .map(|v| self::value(py, v))
                .collect::<PyResult<Vec<_>>>()?;
            items.into_bound_py_any(py)
        }
    }
}
