//! A node run from the command line until it is done or told to stop,
//! shared by `listen` and `node`: Ctrl-C and SIGTERM are caught before the
//! node starts, its first line goes to stderr, and then it runs until its
//! work ends or a signal comes, its notices written to stderr meanwhile.

use std::future::Future;
use std::pin::Pin;

use anyhow::Context as _;
use eventcast::{Eventcast, Notice};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;

use crate::common;
use crate::logging;

/// A started node's way to its end: the signals that stop it.
pub(crate) struct Running {
    /// Resolves on Ctrl-C (SIGINT) or SIGTERM.
    shutdown: Pin<Box<dyn Future<Output = ()>>>,
}

impl Running {
    /// Catches Ctrl-C and SIGTERM, starts `node` and writes its first line
    /// to stderr: `WHAT on GROUP (bound to LOCAL, sender ID` and, when
    /// `port_given` is false, the port the others need, then `more` and a
    /// closing parenthesis. The signals are caught first, so that one sent
    /// as soon as the line is read is not missed.
    pub(crate) async fn start(
        node: &Eventcast,
        port_given: bool,
        what: &str,
        more: &str,
    ) -> anyhow::Result<Running> {
        let (running, ()) = Self::start_then(node, port_given, what, more, || Ok(())).await?;
        Ok(running)
    }

    /// As [`start`](Self::start), running `then` once the node has started
    /// and before the line is written: for what must not begin when the
    /// node cannot start (a file replaced), yet must be ready when the
    /// line is read.
    pub(crate) async fn start_then<T>(
        node: &Eventcast,
        port_given: bool,
        what: &str,
        more: &str,
        then: impl FnOnce() -> anyhow::Result<T>,
    ) -> anyhow::Result<(Running, T)> {
        let shutdown = Box::pin(shutdown_signal()?);
        common::start(node).await?;
        let done = then()?;
        let at = common::where_it_runs(node, port_given)?;
        say!("{what} on {at}{more})");
        Ok((Running { shutdown }, done))
    }

    /// Waits for Ctrl-C or SIGTERM.
    pub(crate) async fn wait(self) {
        self.shutdown.await;
    }

    /// Runs `work` to its end (`Some` of its output), or until Ctrl-C or
    /// SIGTERM (`None`). Meanwhile each of `notices` that says something
    /// went wrong is written to stderr as one line.
    pub(crate) async fn until<T>(
        self,
        notices: &mut Receiver<Notice>,
        work: impl Future<Output = T>,
    ) -> Option<T> {
        let mut shutdown = self.shutdown;
        tokio::pin!(work);
        let mut notices_open = true;
        loop {
            tokio::select! {
                done = &mut work => return Some(done),
                notice = notices.recv(), if notices_open => match notice {
                    Ok(notice) => report(&notice),
                    Err(RecvError::Lagged(n)) => say!("eventcast: {n} notices missed"),
                    Err(RecvError::Closed) => notices_open = false,
                },
                () = &mut shutdown => return None,
            }
        }
    }
}

/// Writes a notice of something gone wrong to stderr; the others (started,
/// stopped, REPL clients) say nothing a user of the command needs. When
/// `--log` shows the library's warnings, the log has said it already (in
/// the log's format), and it is not said again.
fn report(notice: &Notice) {
    if logging::library_warnings_shown() {
        return;
    }
    match notice {
        Notice::ProtocolError(error) => say!("eventcast: {error}"),
        Notice::Loss(loss) => say!("eventcast: {loss}"),
        Notice::Conflict(conflict) => say!("eventcast: {conflict}"),
        Notice::LegacyProtocolError(error) => say!("eventcast: {error}"),
        Notice::KeyLimit(limit) => say!(
            "eventcast: key {} sealed {} datagrams (limit {}): rotate it",
            limit.fingerprint,
            limit.sealed,
            limit.refuse_at
        ),
        _ => {}
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM. The handlers are installed now.
fn shutdown_signal() -> anyhow::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt =
            signal(SignalKind::interrupt()).context("cannot install a SIGINT handler")?;
        let mut terminate =
            signal(SignalKind::terminate()).context("cannot install a SIGTERM handler")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
