//! Notices as JavaScript sees them: objects with a `type` (`'error'`,
//! `'loss'`, `'replConnected'`, `'replDisconnected'`) that the JS layer
//! turns into events. Problems carry a `code`:
//!
//! | code | problem |
//! | --- | --- |
//! | `EPRVERSION` | a node speaks another protocol or version |
//! | `EAUTH` | a sealed datagram failed authentication (wrong key with the same id, or tampering) |
//! | `ENOKEY` | datagrams sealed with a key this node does not have |
//! | `EUNENCRYPTED` | plaintext datagrams while this node requires encryption |
//! | `EDECRYPT` | legacy protocol: a message this node cannot decrypt, or the wrong kind (encrypted or not) |
//! | `EKEYLIMIT` | the key that seals nears its limit of datagrams: rotate |

use eventcast::legacy::LegacyProblem;
use eventcast::{Notice, ProtocolError, Unreadable};
use napi::sys::{napi_env, napi_value};
use napi::Result;

use crate::raw;

/// Whether JavaScript hears of this notice (the lifecycle ones it knows
/// already).
pub(crate) fn wanted(notice: &Notice) -> bool {
    !matches!(notice, Notice::Started { .. } | Notice::Stopped { .. })
}

pub(crate) fn to_js(env: napi_env, notice: &Notice) -> Result<napi_value> {
    let object = raw::object(env)?;
    let set_str = |key: &str, value: &str| raw::set(env, object, key, raw::string(env, value)?);
    let set_num = |key: &str, value: f64| raw::set(env, object, key, raw::double(env, value)?);
    let error = |code: &str, message: String| -> Result<()> {
        set_str("type", "error")?;
        set_str("code", code)?;
        set_str("message", &message)
    };
    match notice {
        Notice::ProtocolError(e) => match e {
            ProtocolError::UnsupportedVersion { from, version } => {
                error("EPRVERSION", e.to_string())?;
                set_num("version", f64::from(*version))?;
                set_str("from", &from.to_string())?;
            }
            ProtocolError::Unreadable {
                from,
                sender,
                reason,
            } => {
                let code = match reason {
                    Unreadable::Unencrypted => "EUNENCRYPTED",
                    Unreadable::UnknownKey => "ENOKEY",
                    Unreadable::BadTag => "EAUTH",
                    _ => "EUNREADABLE",
                };
                error(code, e.to_string())?;
                set_str("from", &from.to_string())?;
                if let Some(sender) = sender {
                    set_str("sender", &sender.to_string())?;
                }
            }
            _ => error("EPROTOCOL", e.to_string())?,
        },
        Notice::LegacyProtocolError(problem) => {
            let (code, from) = match problem {
                LegacyProblem::NativeProtocol { from } => ("EPRVERSION", from),
                LegacyProblem::UnsupportedVersion { from, .. } => ("EPRVERSION", from),
                LegacyProblem::Encryption { from, .. } => ("EDECRYPT", from),
                _ => return unknown(env, object, &problem.to_string()),
            };
            error(code, problem.to_string())?;
            set_str("from", &from.to_string())?;
        }
        Notice::Loss(loss) => {
            set_str("type", "loss")?;
            set_str("message", &loss.to_string())?;
            set_str("sender", &loss.sender.to_string())?;
            set_num("first", loss.first.get() as f64)?;
            set_num("count", loss.count as f64)?;
            set_str("reason", &loss.reason.to_string())?;
        }
        Notice::ReplClientConnected { addr, clients } => {
            set_str("type", "replConnected")?;
            set_str("address", &addr.to_string())?;
            set_num("clients", *clients as f64)?;
        }
        Notice::ReplClientDisconnected { addr, clients } => {
            set_str("type", "replDisconnected")?;
            set_str("address", &addr.to_string())?;
            set_num("clients", *clients as f64)?;
        }
        Notice::KeyLimit(limit) => {
            error(
                "EKEYLIMIT",
                format!(
                    "key {} sealed {} of the {} datagrams it may seal: make another key primary",
                    limit.fingerprint, limit.sealed, limit.refuse_at
                ),
            )?;
            set_str("fingerprint", &limit.fingerprint.to_string())?;
            set_num("sealed", limit.sealed as f64)?;
            set_num("refuseAt", limit.refuse_at as f64)?;
        }
        other => return unknown(env, object, &format!("{other:?}")),
    }
    Ok(object)
}

/// A notice this version does not know: an `'error'` with code `EUNKNOWN`.
fn unknown(env: napi_env, object: napi_value, message: &str) -> Result<napi_value> {
    raw::set(env, object, "type", raw::string(env, "error")?)?;
    raw::set(env, object, "code", raw::string(env, "EUNKNOWN")?)?;
    raw::set(env, object, "message", raw::string(env, message)?)?;
    Ok(object)
}
