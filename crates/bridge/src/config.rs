//! How a bridge reaches its NATS servers and what it carries.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr as _;
use std::time::Duration;

use crate::payload::Encoding;
use crate::subject::{check_prefix, PrefixError};

/// A bridge's settings: [`BridgeConfig::new`] with the server URLs, then
/// the builder methods.
///
/// ```
/// use eventcast_bridge::{Auth, BridgeConfig};
///
/// let config = BridgeConfig::new(["nats://hub.example:4222"])
///     .site("lab-1")
///     .events(["sensor.**"])
///     .auth(Auth::Token("s3cret".into()));
/// config.validate()?;
/// # Ok::<(), eventcast_bridge::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BridgeConfig {
    /// NATS server URLs (`nats://host:4222`, `tls://host:4222`, `host:4222`);
    /// the client picks one and fails over to the others.
    pub servers: Vec<String>,
    /// This site's name, sent with every event (`Eventcast-Site`). Default:
    /// the host name.
    pub site: String,
    /// The subject prefix: events travel on `PREFIX.NAME`. Default
    /// `eventcast`.
    pub prefix: String,
    /// Names or patterns of the LAN events to publish; empty: every event.
    pub events: Vec<String>,
    /// How published events are written. Default JSON.
    pub encoding: Encoding,
    /// The outage buffer: bytes of LAN events kept while the server cannot
    /// be reached (or has not confirmed them). Default 64 MiB.
    pub buffer_bytes: usize,
    /// Bytes all partly received chunked events may take at once. Default
    /// 64 MiB.
    pub reassembly_bytes: usize,
    /// How long after its first chunk a chunked event may take to
    /// complete. Default 10 s.
    pub reassembly_timeout: Duration,
    /// The most bytes of payload in one NATS message; larger events are
    /// chunked. Default (`None`): the server's `max_payload` less 8 KiB
    /// for the headers.
    pub chunk_size: Option<usize>,
    /// After a reconnection, how long the bridge waits before it sends
    /// what it buffered: time for the other clients of a restarted server
    /// to subscribe again (core NATS delivers only to current
    /// subscribers). Default 1 s.
    pub resume_delay: Duration,
    /// How often the bridge announces itself to the other bridges of its
    /// prefix (to find another one on the same LAN). Default 2 s.
    pub announce_interval: Duration,
    /// How often the counters are logged at info level; `None`: never.
    /// Default 60 s.
    pub stats_interval: Option<Duration>,
    /// How the bridge authenticates. Default: not at all.
    pub auth: Auth,
    /// TLS settings.
    pub tls: TlsConfig,
}

/// How a bridge authenticates to the server.
#[derive(Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Auth {
    /// No credentials.
    #[default]
    None,
    /// A token (`authorization { token: ... }` in the server's config).
    Token(String),
    /// A user name and password.
    UserPassword {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
    /// An NKey seed (`SU...`).
    Nkey(String),
    /// A credentials file (JWT and NKey seed, as `nsc` writes them).
    CredsFile(PathBuf),
}

impl Auth {
    /// Checks what can be checked without a server: that an NKey seed is
    /// one (the client would otherwise fail to sign the server's nonce at
    /// each attempt). A credentials file is read by
    /// [`BridgeConfig::check_files`].
    pub fn check(&self) -> Result<(), ConfigError> {
        if let Auth::Nkey(seed) = self {
            // The kind only: the error's text may quote the seed.
            nkeys::KeyPair::from_seed(seed.trim())
                .map_err(|e| ConfigError::NkeySeed(e.kind().to_string()))?;
        }
        Ok(())
    }
}

impl fmt::Debug for Auth {
    // Never prints a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::None => f.write_str("None"),
            Auth::Token(_) => f.write_str("Token(..)"),
            Auth::UserPassword { user, .. } => write!(f, "UserPassword {{ user: {user:?}, .. }}"),
            Auth::Nkey(_) => f.write_str("Nkey(..)"),
            Auth::CredsFile(path) => write!(f, "CredsFile({path:?})"),
        }
    }
}

/// TLS towards the server. A `tls://` URL, a server that requires it,
/// `required`, or any file here (`ca`, `client_cert`) turns TLS on: with
/// these files, the connection is TLS even to a `nats://` URL, never plain
/// text. Without `ca` the system's roots are trusted.
///
/// The server's certificate must be signed by a certificate of `ca`, or be
/// one of them itself with `CA:FALSE` (rustls refuses a `CA:TRUE`
/// certificate, such as the one `openssl req -x509` makes by default, as
/// the server's own), and name the URL's host in its subjectAltName.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TlsConfig {
    /// A PEM file of root certificates to trust (a private CA, or a
    /// self-signed server certificate with `CA:FALSE`).
    pub ca: Option<PathBuf>,
    /// The client certificate (PEM), for servers that verify clients.
    pub client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    pub client_key: Option<PathBuf>,
    /// Refuse a connection without TLS.
    pub required: bool,
}

impl TlsConfig {
    /// Trusts the root certificates of this PEM file.
    pub fn ca(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca = Some(path.into());
        self
    }

    /// Presents this client certificate and key (PEM files).
    pub fn client_cert(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.client_cert = Some(cert.into());
        self.client_key = Some(key.into());
        self
    }

    /// Refuses a connection without TLS.
    pub fn required(mut self, required: bool) -> Self {
        self.required = required;
        self
    }

    /// Whether every connection must be TLS: `required`, or a CA or client
    /// certificate given (they would be ignored on a plain connection).
    pub fn tls_only(&self) -> bool {
        self.required || self.ca.is_some() || self.client_cert.is_some()
    }
}

/// A setting that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No server URL.
    #[error("no NATS server given")]
    NoServer,
    /// A server URL that cannot be read.
    #[error("`{url}` is not a NATS server URL: {reason}")]
    BadServer {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A prefix NATS cannot subscribe under.
    #[error(transparent)]
    Prefix(#[from] PrefixError),
    /// A site name that is empty or has control characters.
    #[error("site name `{0}` must be non-empty text without control characters")]
    Site(String),
    /// A limit of zero.
    #[error("{0} must be more than 0")]
    Zero(&'static str),
    /// A duration longer than [`eventcast_proto::MAX_DURATION`] (a week).
    #[error("{name} must be at most a week ({max:?}), got {value:?}", max = eventcast_proto::MAX_DURATION)]
    TooLong {
        /// The setting's name.
        name: &'static str,
        /// Its value.
        value: Duration,
    },
    /// A client certificate without its key, or the reverse.
    #[error("a client certificate needs its key, and a key its certificate")]
    ClientCertificate,
    /// An event name or pattern of [`BridgeConfig::events`] that cannot work.
    #[error(transparent)]
    Pattern(#[from] eventcast::PatternError),
    /// An [`Auth::Nkey`] that is not an NKey seed (never shows the seed).
    #[error("not an NKey seed ({0}): expected a user seed, one line starting SU")]
    NkeySeed(String),
}

impl BridgeConfig {
    /// The defaults, with these server URLs.
    pub fn new<I, S>(servers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        BridgeConfig {
            servers: servers.into_iter().map(Into::into).collect(),
            site: default_site(),
            prefix: "eventcast".to_owned(),
            events: Vec::new(),
            encoding: Encoding::Json,
            buffer_bytes: 64 * 1024 * 1024,
            reassembly_bytes: 64 * 1024 * 1024,
            reassembly_timeout: Duration::from_secs(10),
            chunk_size: None,
            resume_delay: Duration::from_secs(1),
            announce_interval: Duration::from_secs(2),
            stats_interval: Some(Duration::from_secs(60)),
            auth: Auth::None,
            tls: TlsConfig::default(),
        }
    }

    /// Sets [`site`](Self::site).
    pub fn site(mut self, site: impl Into<String>) -> Self {
        self.site = site.into();
        self
    }

    /// Sets [`prefix`](Self::prefix).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets [`events`](Self::events).
    pub fn events<I, S>(mut self, events: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.events = events.into_iter().map(Into::into).collect();
        self
    }

    /// Sets [`encoding`](Self::encoding).
    pub fn encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = encoding;
        self
    }

    /// Sets [`buffer_bytes`](Self::buffer_bytes).
    pub fn buffer_bytes(mut self, bytes: usize) -> Self {
        self.buffer_bytes = bytes;
        self
    }

    /// Sets [`chunk_size`](Self::chunk_size).
    pub fn chunk_size(mut self, bytes: usize) -> Self {
        self.chunk_size = Some(bytes);
        self
    }

    /// Sets [`resume_delay`](Self::resume_delay).
    pub fn resume_delay(mut self, delay: Duration) -> Self {
        self.resume_delay = delay;
        self
    }

    /// Sets [`auth`](Self::auth).
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Sets [`tls`](Self::tls).
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = tls;
        self
    }

    /// Checks every setting, event patterns and an NKey seed included,
    /// without reading a file ([`check_files`](Self::check_files) does).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.servers.is_empty() {
            return Err(ConfigError::NoServer);
        }
        for url in &self.servers {
            let bad = |reason: &str| ConfigError::BadServer {
                url: url.clone(),
                reason: reason.to_owned(),
            };
            // An empty URL parses as `nats://` (no host): the client would
            // then look up "" for ever.
            if url.trim().is_empty() {
                return Err(bad("it is empty"));
            }
            let addr = async_nats::ServerAddr::from_str(url).map_err(|e| bad(&e.to_string()))?;
            if addr.host().is_empty() {
                return Err(bad("it names no host"));
            }
        }
        if !self.events.is_empty() {
            eventcast::EventFilter::new(self.events.clone())?;
        }
        self.auth.check()?;
        check_prefix(&self.prefix)?;
        if self.site.is_empty() || self.site.chars().any(char::is_control) {
            return Err(ConfigError::Site(self.site.clone()));
        }
        for (value, what) in [
            (self.buffer_bytes, "buffer_bytes"),
            (self.reassembly_bytes, "reassembly_bytes"),
            (self.chunk_size.unwrap_or(1), "chunk_size"),
        ] {
            if value == 0 {
                return Err(ConfigError::Zero(what));
            }
        }
        // Timers are the time now plus these (tokio's `interval` panics on
        // zero); a resume_delay of zero sends at once.
        let stats = self.stats_interval.unwrap_or(Duration::from_secs(1));
        for (value, name, zero_ok) in [
            (self.reassembly_timeout, "reassembly_timeout", false),
            (self.resume_delay, "resume_delay", true),
            (self.announce_interval, "announce_interval", false),
            (stats, "stats_interval", false),
        ] {
            if value.is_zero() && !zero_ok {
                return Err(ConfigError::Zero(name));
            }
            if value > eventcast_proto::MAX_DURATION {
                return Err(ConfigError::TooLong { name, value });
            }
        }
        if self.tls.client_cert.is_some() != self.tls.client_key.is_some() {
            return Err(ConfigError::ClientCertificate);
        }
        Ok(())
    }
}

/// The host name, or `site` when it cannot be read.
fn default_site() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "site".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        let config = BridgeConfig::new(["nats://127.0.0.1:4222", "tls://hub:4222"]);
        config.validate().unwrap();
        assert_eq!(config.prefix, "eventcast");
        assert_eq!(config.buffer_bytes, 64 << 20);
        assert!(!config.site.is_empty());
    }

    #[test]
    fn bad_settings_say_what_is_wrong() {
        let ok = BridgeConfig::new(["nats://127.0.0.1:4222"]);
        let cases = [
            (BridgeConfig::new(Vec::<String>::new()), "no NATS server"),
            (BridgeConfig::new(["http://x:1:2:3"]), "http://x:1:2:3"),
            (ok.clone().prefix("a..b"), "empty token"),
            (ok.clone().site(""), "site name"),
            (ok.clone().buffer_bytes(0), "buffer_bytes"),
            (ok.clone().chunk_size(0), "chunk_size"),
            (ok.clone().resume_delay(Duration::MAX), "resume_delay"),
        ];
        for (config, needle) in cases {
            let err = config.validate().unwrap_err().to_string();
            assert!(err.contains(needle), "{err}");
        }
        let week = eventcast_proto::MAX_DURATION;
        let mut fields = ok.clone();
        fields.announce_interval = Duration::ZERO;
        assert_eq!(
            fields.validate(),
            Err(ConfigError::Zero("announce_interval"))
        );
        fields.announce_interval = week + Duration::from_nanos(1);
        assert!(matches!(
            fields.validate(),
            Err(ConfigError::TooLong {
                name: "announce_interval",
                ..
            })
        ));
        let mut fields = ok.clone();
        fields.stats_interval = Some(Duration::ZERO);
        assert_eq!(fields.validate(), Err(ConfigError::Zero("stats_interval")));
        fields.stats_interval = None;
        fields.reassembly_timeout = week;
        fields.resume_delay = Duration::ZERO;
        fields.validate().unwrap();
        fields.reassembly_timeout = Duration::ZERO;
        assert_eq!(
            fields.validate(),
            Err(ConfigError::Zero("reassembly_timeout"))
        );
        let mut tls = TlsConfig::default().client_cert("c.pem", "k.pem");
        tls.client_key = None;
        assert_eq!(ok.tls(tls).validate(), Err(ConfigError::ClientCertificate));
    }

    #[test]
    fn empty_urls_and_urls_without_a_host_are_refused() {
        // `--nats ''` and `--nats nats://a:4222,` (a trailing comma).
        for servers in [
            vec![""],
            vec!["nats://127.0.0.1:4222", ""],
            vec!["nats://127.0.0.1:4222", "  "],
            vec!["nats://"],
            vec!["tls://:4222"],
        ] {
            let err = BridgeConfig::new(servers.clone()).validate();
            assert!(
                matches!(&err, Err(ConfigError::BadServer { .. })),
                "{servers:?}: {err:?}"
            );
        }
        let err = BridgeConfig::new(["nats://a:4222", ""])
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("``") && err.contains("empty"), "{err}");
    }

    #[test]
    fn bad_event_patterns_are_refused_by_validate() {
        let ok = BridgeConfig::new(["nats://127.0.0.1:4222"]);
        ok.clone()
            .events(["sensor.*", "a.**", "plain"])
            .validate()
            .unwrap();
        let err = ok.events(["sensor.*", "bad*"]).validate().unwrap_err();
        assert!(err.to_string().contains("bad*"), "{err}");
    }

    #[test]
    fn an_nkey_that_is_not_a_seed_is_refused_without_saying_it() {
        let ok = BridgeConfig::new(["nats://127.0.0.1:4222"]);
        let seed = nkeys::KeyPair::new_user().seed().unwrap();
        ok.clone()
            .auth(Auth::Nkey(format!("{seed}\n")))
            .validate()
            .unwrap();
        for bad in ["hunter2-not-a-seed", "", "-----BEGIN CERTIFICATE-----"] {
            let err = ok
                .clone()
                .auth(Auth::Nkey(bad.into()))
                .validate()
                .unwrap_err()
                .to_string();
            assert!(err.contains("not an NKey seed"), "{err}");
            assert!(bad.is_empty() || !err.contains(bad), "{err}");
        }
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let auth = Auth::UserPassword {
            user: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{auth:?}").contains("hunter2"));
        assert!(!format!("{:?}", Auth::Token("tok".into())).contains("tok"));
    }
}
