//! JS values to BSON, directly (no JSON text in between).
//!
//! | JS | BSON |
//! | --- | --- |
//! | number, integer in int32 range | int32 |
//! | other number | double |
//! | BigInt in int64 range | int64 |
//! | string, boolean, null | string, boolean, null |
//! | undefined (an argument or an array element) | undefined |
//! | Date | UTC datetime |
//! | RegExp | regular expression (source and flags) |
//! | Buffer, Uint8Array | binary (generic subtype) |
//! | Array | array |
//! | any other object | document: own enumerable string keys, in order; keys whose value is undefined are left out, as JSON does |
//!
//! Functions, symbols, other typed arrays, BigInts beyond int64, cyclic
//! structures and nesting beyond [`MAX_DEPTH`] cannot be sent: the
//! conversion fails with an error naming where the value was.

use eventcast::bson::{Binary, Bson, DateTime, Document, Regex};
use napi::sys::{self, napi_env, napi_value, ValueType};
use napi::{Error, Result, Status};

use crate::raw;

/// How deep arrays and objects may nest in an argument.
pub(crate) const MAX_DEPTH: usize = 100;

/// Converts the elements of the JS array `args` into an argument list.
pub(crate) fn args(env: napi_env, args: napi_value) -> Result<Vec<Bson>> {
    let mut conv = Converter::new(env)?;
    let len = raw::array_len(env, args)?;
    let mut out = Vec::with_capacity(len as usize);
    for i in 0..len {
        let value = raw::element(env, args, i)?;
        let mut path = format!("argument {}", i + 1);
        out.push(conv.value(value, &mut path)?);
    }
    Ok(out)
}

/// A value that cannot be sent: a `TypeError` for the caller, naming
/// where it was.
pub(crate) fn type_error(message: impl Into<String>) -> Error {
    Error::new(Status::InvalidArg, message.into())
}

struct Converter {
    env: napi_env,
    regexp: napi_value,
    /// The arrays and objects being converted, outermost first: a value
    /// equal to one of them is a cycle.
    ancestors: Vec<napi_value>,
}

impl Converter {
    fn new(env: napi_env) -> Result<Self> {
        Ok(Self {
            env,
            regexp: raw::global(env, "RegExp")?,
            ancestors: Vec::new(),
        })
    }

    fn value(&mut self, value: napi_value, path: &mut String) -> Result<Bson> {
        let env = self.env;
        Ok(match raw::type_of(env, value)? {
            ValueType::napi_undefined => Bson::Undefined,
            ValueType::napi_null => Bson::Null,
            ValueType::napi_boolean => Bson::Boolean(raw::to_bool(env, value)?),
            ValueType::napi_number => number(raw::to_f64(env, value)?),
            ValueType::napi_string => Bson::String(raw::to_string(env, value)?),
            ValueType::napi_bigint => match raw::to_i64_lossless(env, value)? {
                Some(n) => Bson::Int64(n),
                None => {
                    return Err(type_error(format!(
                        "{path}: a BigInt beyond int64 cannot be sent"
                    )))
                }
            },
            ValueType::napi_object => self.object(value, path)?,
            ValueType::napi_function => {
                return Err(type_error(format!("{path}: a function cannot be sent")))
            }
            ValueType::napi_symbol => {
                return Err(type_error(format!("{path}: a symbol cannot be sent")))
            }
            _ => return Err(type_error(format!("{path}: this value cannot be sent"))),
        })
    }

    fn object(&mut self, value: napi_value, path: &mut String) -> Result<Bson> {
        let env = self.env;
        if raw::is(env, value, sys::napi_is_date)? {
            let ms = raw::date_millis(env, value)?;
            if !ms.is_finite() {
                return Err(type_error(format!(
                    "{path}: an invalid Date cannot be sent"
                )));
            }
            return Ok(Bson::DateTime(DateTime::from_millis(ms as i64)));
        }
        if raw::is(env, value, sys::napi_is_typedarray)? {
            return match raw::uint8_bytes(env, value)? {
                Some(bytes) => Ok(Bson::Binary(Binary {
                    subtype: eventcast::bson::spec::BinarySubtype::Generic,
                    bytes,
                })),
                None => Err(type_error(format!(
                    "{path}: only a Buffer or Uint8Array among typed arrays can be sent"
                ))),
            };
        }
        if raw::instance_of(env, value, self.regexp)? {
            let source = raw::to_string(env, raw::named(env, value, "source")?)?;
            let flags = raw::to_string(env, raw::named(env, value, "flags")?)?;
            return regex(source, flags)
                .map(Bson::RegularExpression)
                .map_err(|e| type_error(format!("{path}: this RegExp cannot be sent: {e}")));
        }
        for ancestor in &self.ancestors {
            if raw::strict_equals(env, value, *ancestor)? {
                return Err(type_error(format!(
                    "{path}: a cyclic structure cannot be sent (the value contains itself)"
                )));
            }
        }
        if self.ancestors.len() >= MAX_DEPTH {
            return Err(type_error(format!(
                "{path}: nested deeper than {MAX_DEPTH} levels"
            )));
        }
        self.ancestors.push(value);
        let result = if raw::is(env, value, sys::napi_is_array)? {
            self.array(value, path)
        } else {
            self.document(value, path)
        };
        self.ancestors.pop();
        result
    }

    fn array(&mut self, value: napi_value, path: &mut String) -> Result<Bson> {
        let len = raw::array_len(self.env, value)?;
        let mut out = Vec::with_capacity(len as usize);
        let at = path.len();
        for i in 0..len {
            path.push_str(&format!("[{i}]"));
            out.push(self.value(raw::element(self.env, value, i)?, path)?);
            path.truncate(at);
        }
        Ok(Bson::Array(out))
    }

    fn document(&mut self, value: napi_value, path: &mut String) -> Result<Bson> {
        let env = self.env;
        let keys = raw::own_keys(env, value)?;
        let len = raw::array_len(env, keys)?;
        let mut doc = Document::new();
        let at = path.len();
        for i in 0..len {
            let key_value = raw::element(env, keys, i)?;
            let key = raw::to_string(env, key_value)?;
            let item = raw::get(env, value, key_value)?;
            if raw::type_of(env, item)? == ValueType::napi_undefined {
                continue;
            }
            path.push('.');
            path.push_str(&key);
            if key.contains('\0') {
                return Err(type_error(format!(
                    "{path}: a key with a NUL character cannot be sent"
                )));
            }
            let converted = self.value(item, path)?;
            path.truncate(at);
            doc.insert(key, converted);
        }
        Ok(Bson::Document(doc))
    }
}

/// A BSON regular expression: its options are the flags, sorted.
fn regex(
    source: String,
    flags: String,
) -> std::result::Result<Regex, eventcast::bson::error::Error> {
    let mut flags: Vec<char> = flags.chars().collect();
    flags.sort_unstable();
    Ok(Regex {
        pattern: source.try_into()?,
        options: flags.into_iter().collect::<String>().try_into()?,
    })
}

/// An integer in int32 range travels as int32, anything else as a double.
fn number(n: f64) -> Bson {
    if n.fract() == 0.0
        && n >= f64::from(i32::MIN)
        && n <= f64::from(i32::MAX)
        && !(n == 0.0 && n.is_sign_negative())
    {
        Bson::Int32(n as i32)
    } else {
        Bson::Double(n)
    }
}
