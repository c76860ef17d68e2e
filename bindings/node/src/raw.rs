//! Thin wrappers over the Node-API calls the conversions make: each checks
//! the status and gives a `napi::Result`.
//!
//! Every function takes the `napi_env` of the current call on the main
//! thread; the values it takes and gives live in that call's handle scope.

use std::ffi::c_void;
use std::ptr;

use napi::sys::{self, napi_env, napi_value};
use napi::{check_status, Result};

/// Calls a Node-API function and checks its status.
macro_rules! napi_call {
    ($f:ident($($arg:expr),* $(,)?)) => {
        // SAFETY: every function of this module runs on the main thread,
        // inside a Node-API callback, with that callback's env; the values
        // passed are handles of its scope and the out-pointers point at
        // live locals.
        check_status!(unsafe { sys::$f($($arg),*) })
    };
}

/// A JS value's type, as `typeof` sees it.
pub(crate) fn type_of(env: napi_env, value: napi_value) -> Result<sys::napi_valuetype> {
    let mut kind = 0;
    napi_call!(napi_typeof(env, value, &mut kind))?;
    Ok(kind)
}

/// Runs one predicate such as `napi_is_array`.
pub(crate) fn is(
    env: napi_env,
    value: napi_value,
    predicate: unsafe extern "C" fn(napi_env, napi_value, *mut bool) -> sys::napi_status,
) -> Result<bool> {
    let mut result = false;
    // SAFETY: as for `napi_call!`: `predicate` is one of Node-API's
    // `napi_is_*` functions.
    check_status!(unsafe { predicate(env, value, &mut result) })?;
    Ok(result)
}

pub(crate) fn instance_of(env: napi_env, value: napi_value, ctor: napi_value) -> Result<bool> {
    let mut result = false;
    napi_call!(napi_instanceof(env, value, ctor, &mut result))?;
    Ok(result)
}

pub(crate) fn strict_equals(env: napi_env, a: napi_value, b: napi_value) -> Result<bool> {
    let mut result = false;
    napi_call!(napi_strict_equals(env, a, b, &mut result))?;
    Ok(result)
}

pub(crate) fn global(env: napi_env, name: &str) -> Result<napi_value> {
    let mut global = ptr::null_mut();
    napi_call!(napi_get_global(env, &mut global))?;
    named(env, global, name)
}

pub(crate) fn named(env: napi_env, object: napi_value, name: &str) -> Result<napi_value> {
    let key = string(env, name)?;
    let mut value = ptr::null_mut();
    napi_call!(napi_get_property(env, object, key, &mut value))?;
    Ok(value)
}

pub(crate) fn element(env: napi_env, array: napi_value, index: u32) -> Result<napi_value> {
    let mut value = ptr::null_mut();
    napi_call!(napi_get_element(env, array, index, &mut value))?;
    Ok(value)
}

pub(crate) fn array_len(env: napi_env, array: napi_value) -> Result<u32> {
    let mut len = 0;
    napi_call!(napi_get_array_length(env, array, &mut len))?;
    Ok(len)
}

/// The own enumerable string keys of an object, in property order.
pub(crate) fn own_keys(env: napi_env, object: napi_value) -> Result<napi_value> {
    let mut keys = ptr::null_mut();
    napi_call!(napi_get_all_property_names(
        env,
        object,
        sys::KeyCollectionMode::own_only,
        sys::KeyFilter::enumerable | sys::KeyFilter::skip_symbols,
        sys::KeyConversion::numbers_to_strings,
        &mut keys,
    ))?;
    Ok(keys)
}

pub(crate) fn get(env: napi_env, object: napi_value, key: napi_value) -> Result<napi_value> {
    let mut value = ptr::null_mut();
    napi_call!(napi_get_property(env, object, key, &mut value))?;
    Ok(value)
}

pub(crate) fn to_string(env: napi_env, value: napi_value) -> Result<String> {
    let mut len = 0;
    napi_call!(napi_get_value_string_utf8(
        env,
        value,
        ptr::null_mut(),
        0,
        &mut len
    ))?;
    let mut buf = vec![0u8; len + 1];
    let mut written = 0;
    napi_call!(napi_get_value_string_utf8(
        env,
        value,
        buf.as_mut_ptr().cast(),
        len + 1,
        &mut written
    ))?;
    buf.truncate(written);
    // Node-API writes UTF-8 (lone surrogates become U+FFFD).
    Ok(String::from_utf8(buf)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

pub(crate) fn to_f64(env: napi_env, value: napi_value) -> Result<f64> {
    let mut n = 0.0;
    napi_call!(napi_get_value_double(env, value, &mut n))?;
    Ok(n)
}

pub(crate) fn to_bool(env: napi_env, value: napi_value) -> Result<bool> {
    let mut b = false;
    napi_call!(napi_get_value_bool(env, value, &mut b))?;
    Ok(b)
}

/// A BigInt's value, if it fits an i64.
pub(crate) fn to_i64_lossless(env: napi_env, value: napi_value) -> Result<Option<i64>> {
    let mut n = 0;
    let mut lossless = false;
    napi_call!(napi_get_value_bigint_int64(
        env,
        value,
        &mut n,
        &mut lossless
    ))?;
    Ok(lossless.then_some(n))
}

pub(crate) fn date_millis(env: napi_env, value: napi_value) -> Result<f64> {
    let mut ms = 0.0;
    napi_call!(napi_get_date_value(env, value, &mut ms))?;
    Ok(ms)
}

/// The bytes a `Buffer` or `Uint8Array` views, or `None` for another
/// typed array.
pub(crate) fn uint8_bytes(env: napi_env, value: napi_value) -> Result<Option<Vec<u8>>> {
    let mut kind = 0;
    let mut len = 0;
    let mut data: *mut c_void = ptr::null_mut();
    let mut buffer = ptr::null_mut();
    let mut offset = 0;
    napi_call!(napi_get_typedarray_info(
        env,
        value,
        &mut kind,
        &mut len,
        &mut data,
        &mut buffer,
        &mut offset,
    ))?;
    if kind != sys::TypedarrayType::uint8_array {
        return Ok(None);
    }
    if len == 0 || data.is_null() {
        return Ok(Some(Vec::new()));
    }
    // SAFETY: Node-API says `data` points at the `len` bytes the array
    // views, valid during this call.
    Ok(Some(
        unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) }.to_vec(),
    ))
}

pub(crate) fn string(env: napi_env, text: &str) -> Result<napi_value> {
    let mut value = ptr::null_mut();
    napi_call!(napi_create_string_utf8(
        env,
        text.as_ptr().cast(),
        text.len() as isize,
        &mut value
    ))?;
    Ok(value)
}

pub(crate) fn double(env: napi_env, n: f64) -> Result<napi_value> {
    let mut value = ptr::null_mut();
    napi_call!(napi_create_double(env, n, &mut value))?;
    Ok(value)
}

pub(crate) fn int32(env: napi_env, n: i32) -> Result<napi_value> {
    let mut value = ptr::null_mut();
    napi_call!(napi_create_int32(env, n, &mut value))?;
    Ok(value)
}

pub(crate) fn bigint(env: napi_env, n: i64) -> Result<napi_value> {
    let mut value = ptr::null_mut();
    napi_call!(napi_create_bigint_int64(env, n, &mut value))?;
    Ok(value)
}

pub(crate) fn boolean(env: napi_env, b: bool) -> Result<napi_value> {
    let mut value = ptr::null_mut();
    napi_call!(napi_get_boolean(env, b, &mut value))?;
    Ok(value)
}

pub(crate) fn null(env: napi_env) -> Result<napi_value> {
    let mut value = ptr::null_mut();
    napi_call!(napi_get_null(env, &mut value))?;
    Ok(value)
}

pub(crate) fn undefined(env: napi_env) -> Result<napi_value> {
    let mut value = ptr::null_mut();
    napi_call!(napi_get_undefined(env, &mut value))?;
    Ok(value)
}

pub(crate) fn date(env: napi_env, millis: f64) -> Result<napi_value> {
    let mut value = ptr::null_mut();
    napi_call!(napi_create_date(env, millis, &mut value))?;
    Ok(value)
}

pub(crate) fn buffer(env: napi_env, bytes: &[u8]) -> Result<napi_value> {
    let mut value = ptr::null_mut();
    let mut data = ptr::null_mut();
    napi_call!(napi_create_buffer_copy(
        env,
        bytes.len(),
        bytes.as_ptr().cast(),
        &mut data,
        &mut value,
    ))?;
    Ok(value)
}

pub(crate) fn object(env: napi_env) -> Result<napi_value> {
    let mut value = ptr::null_mut();
    napi_call!(napi_create_object(env, &mut value))?;
    Ok(value)
}

pub(crate) fn array(env: napi_env, len: usize) -> Result<napi_value> {
    let mut value = ptr::null_mut();
    napi_call!(napi_create_array_with_length(env, len, &mut value))?;
    Ok(value)
}

pub(crate) fn set(env: napi_env, object: napi_value, key: &str, value: napi_value) -> Result<()> {
    let key = string(env, key)?;
    napi_call!(napi_set_property(env, object, key, value))
}

pub(crate) fn set_element(
    env: napi_env,
    array: napi_value,
    index: u32,
    value: napi_value,
) -> Result<()> {
    napi_call!(napi_set_element(env, array, index, value))
}

/// `new ctor(...args)`.
pub(crate) fn construct(
    env: napi_env,
    ctor: napi_value,
    args: &[napi_value],
) -> Result<napi_value> {
    let mut value = ptr::null_mut();
    napi_call!(napi_new_instance(
        env,
        ctor,
        args.len(),
        args.as_ptr(),
        &mut value
    ))?;
    Ok(value)
}

/// Clears the pending exception (a call that failed with one).
pub(crate) fn clear_exception(env: napi_env) -> Result<()> {
    let mut exception = ptr::null_mut();
    napi_call!(napi_get_and_clear_last_exception(env, &mut exception))
}
