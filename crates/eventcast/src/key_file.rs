//! Reading a key file: a few bytes, a passphrase or `raw:` and 32 hex
//! digits, kept in one buffer that is wiped when dropped. The command
//! line's `--key-file` and the REPL's `keys add-file` read them so.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

/// The longest key file read: a passphrase, or `raw:` and 32 hex digits,
/// is far shorter.
pub const MAX_KEY_FILE: u64 = 4096;

/// Why [`read_key_file`] read no key. The message names the file and never
/// shows its contents.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The file could not be opened or read.
    #[error("cannot read the key file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Not a regular file (a pipe, a device or a directory), when only
    /// regular files are read.
    #[error("key file {}: not a regular file (a pipe, a device or a directory)", path.display())]
    NotRegular {
        /// The file.
        path: PathBuf,
    },
    /// More than [`MAX_KEY_FILE`] bytes: not a key file (`/dev/zero`).
    #[error("key file {}: more than {MAX_KEY_FILE} bytes, not a key file", path.display())]
    TooLong {
        /// The file.
        path: PathBuf,
    },
}

/// Which files [`read_key_file`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyFileKinds {
    /// Any file that can be read, a pipe included, as from
    /// `--key-file <(pass show key)`, waiting for its writer.
    Any,
    /// Only a regular file: anything else is refused, and the file is
    /// opened without waiting (`O_NONBLOCK`) and checked on the open handle,
    /// not the path, so that nothing can hold the caller. A FIFO with no
    /// writer (opening it would wait for one), a path swapped for another
    /// after a check, or a file whose reads wait for data (`/proc/kmsg`)
    /// gives an error instead.
    RegularOnly,
}

/// The bytes of the key file at `path`, at most [`MAX_KEY_FILE`], in a
/// buffer sized once (never moved, so no copy of the key is left behind)
/// and wiped when dropped; `kinds` says which files are read.
pub fn read_key_file(path: &Path, kinds: KeyFileKinds) -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
    let regular_only = kinds == KeyFileKinds::RegularOnly;
    let cannot = |source| KeyFileError::Io {
        path: path.to_owned(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    if regular_only {
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(cannot)?;
    if regular_only && !file.metadata().map_err(cannot)?.is_file() {
        return Err(KeyFileError::NotRegular {
            path: path.to_owned(),
        });
    }
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_KEY_FILE as usize + 1));
    file.take(MAX_KEY_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_KEY_FILE {
        return Err(KeyFileError::TooLong {
            path: path.to_owned(),
        });
    }
    Ok(bytes)
}
