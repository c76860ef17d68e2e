//! Writing to stdout when its reader may go away: a closed stdout (EPIPE,
//! as after `| head -1`) ends a command quietly, as a finished one; any
//! other failure is an error.

use std::io;

/// A write to stdout failed for another reason than its reader leaving.
#[derive(Debug)]
pub(crate) struct StdoutError(io::Error);

impl std::fmt::Display for StdoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cannot write to stdout")
    }
}

impl std::error::Error for StdoutError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Whether stdout is still open after `written`, a write to it: `false`
/// when its reader went away (whoever read it has what it wanted, so the
/// command ends with success); any other failure is a [`StdoutError`].
pub(crate) fn still_open(written: io::Result<()>) -> Result<bool, StdoutError> {
    match written {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(StdoutError(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_stdout_is_not_an_error_and_others_are() {
        assert!(still_open(Ok(())).unwrap());
        assert!(!still_open(Err(io::ErrorKind::BrokenPipe.into())).unwrap());
        let err = still_open(Err(io::Error::other("disk full"))).unwrap_err();
        let err = anyhow::Error::new(err);
        assert_eq!(
            crate::common::describe(&err),
            "cannot write to stdout: disk full"
        );
    }
}
