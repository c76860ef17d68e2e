//! BSON to JS values, the inverse of [`to_bson`](crate::to_bson): int32
//! and double become numbers, int64 a BigInt, binary a `Buffer`, datetime
//! a `Date`, a regular expression a `RegExp` (with the flags JS knows),
//! undefined `undefined`. Types JS has no counterpart for become what
//! their relaxed Extended JSON form says: an ObjectId, symbol, code or
//! decimal its text, a timestamp `{t, i}`, MinKey/MaxKey `{$minKey: 1}` /
//! `{$maxKey: 1}`.

use eventcast::bson::Bson;
use napi::sys::{napi_env, napi_value};
use napi::Result;

use crate::raw;

/// Flags a JS RegExp accepts; BSON options it does not (`l`, `x`) are left
/// out.
const JS_FLAGS: &str = "dgimsuvy";

/// Converts BSON values, holding what every conversion reuses.
pub(crate) struct ToJs {
    env: napi_env,
    regexp: Option<napi_value>,
}

impl ToJs {
    pub(crate) fn new(env: napi_env) -> Self {
        Self { env, regexp: None }
    }

    pub(crate) fn value(&mut self, value: &Bson) -> Result<napi_value> {
        let env = self.env;
        match value {
            Bson::Double(n) => raw::double(env, *n),
            Bson::Int32(n) => raw::int32(env, *n),
            Bson::Int64(n) => raw::bigint(env, *n),
            Bson::String(s) => raw::string(env, s),
            Bson::Boolean(b) => raw::boolean(env, *b),
            Bson::Null => raw::null(env),
            Bson::Undefined => raw::undefined(env),
            Bson::Array(items) => {
                let array = raw::array(env, items.len())?;
                for (i, item) in items.iter().enumerate() {
                    let item = self.value(item)?;
                    raw::set_element(env, array, i as u32, item)?;
                }
                Ok(array)
            }
            Bson::Document(doc) => {
                let object = raw::object(env)?;
                for (key, item) in doc {
                    let item = self.value(item)?;
                    raw::set(env, object, key, item)?;
                }
                Ok(object)
            }
            Bson::DateTime(date) => raw::date(env, date.timestamp_millis() as f64),
            Bson::Binary(binary) => raw::buffer(env, &binary.bytes),
            Bson::RegularExpression(regex) => {
                let flags: String = regex
                    .options
                    .as_str()
                    .chars()
                    .filter(|c| JS_FLAGS.contains(*c))
                    .collect();
                let ctor = match self.regexp {
                    Some(ctor) => ctor,
                    None => *self.regexp.insert(raw::global(env, "RegExp")?),
                };
                let pattern = raw::string(env, regex.pattern.as_str())?;
                let flags = raw::string(env, &flags)?;
                // A pattern JS cannot compile (from another language's
                // regex dialect) arrives as its text.
                raw::construct(env, ctor, &[pattern, flags]).or_else(|_| {
                    raw::clear_exception(env).and_then(|()| raw::string(env, &regex.to_string()))
                })
            }
            Bson::Timestamp(ts) => {
                let object = raw::object(env)?;
                raw::set(env, object, "t", raw::double(env, f64::from(ts.time))?)?;
                raw::set(env, object, "i", raw::double(env, f64::from(ts.increment))?)?;
                Ok(object)
            }
            Bson::MinKey | Bson::MaxKey => {
                let object = raw::object(env)?;
                let key = if matches!(value, Bson::MinKey) {
                    "$minKey"
                } else {
                    "$maxKey"
                };
                raw::set(env, object, key, raw::int32(env, 1)?)?;
                Ok(object)
            }
            Bson::ObjectId(id) => raw::string(env, &id.to_hex()),
            Bson::Symbol(s) | Bson::JavaScriptCode(s) => raw::string(env, s),
            Bson::JavaScriptCodeWithScope(code) => raw::string(env, &code.code),
            Bson::Decimal128(d) => raw::string(env, &d.to_string()),
            Bson::DbPointer(_) => raw::null(env),
        }
    }
}
