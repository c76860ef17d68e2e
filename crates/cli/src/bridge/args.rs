//! The options of `eventcast bridge` and the [`BridgeConfig`] they make.

use std::path::PathBuf;

use anyhow::Context as _;
use eventcast_bridge::{Auth, BridgeConfig, ConfigError, Encoding, TlsConfig};

use crate::common::{NodeArgs, UsageError};
use crate::parse;

/// Options of `eventcast bridge`.
#[derive(clap::Args, Debug)]
pub(crate) struct Args {
    /// Bridge only LAN events of these names or patterns (sensor.*,
    /// sensor.**) [default: every event]. Events from NATS all come in
    #[arg(value_name = "EVENT|PATTERN")]
    pub(crate) events: Vec<String>,

    /// NATS server URLs, comma-separated: nats://HOST:4222, tls://HOST:4222
    /// (the client fails over between them)
    #[arg(
        long,
        required = true,
        value_delimiter = ',',
        env = "EVENTCAST_NATS",
        value_name = "URL[,URL...]"
    )]
    pub(crate) nats: Vec<String>,

    /// This site's name, sent with every event (Eventcast-Site) [default:
    /// the host name]
    #[arg(long, value_name = "NAME")]
    pub(crate) site: Option<String>,

    /// Events travel on PREFIX.NAME
    #[arg(long, default_value = "eventcast", value_name = "PREFIX")]
    pub(crate) subject_prefix: String,

    /// Payload of published events: json (the arguments as a JSON array,
    /// relaxed Extended JSON) or bson (eventcast's BSON body)
    #[arg(long, value_enum, default_value = "json", value_name = "ENCODING")]
    pub(crate) encoding: EncodingArg,

    /// While the server cannot be reached, keep up to this many bytes of
    /// LAN events (K, M, G suffixes: powers of 1024); beyond, events are
    /// dropped and counted
    #[arg(long, default_value = "64M", value_name = "BYTES", value_parser = parse::parse_bytes::<usize>)]
    pub(crate) buffer_bytes: usize,

    #[command(flatten)]
    pub(crate) auth: AuthArgs,

    #[command(flatten)]
    pub(crate) node: NodeArgs,
}

/// `--encoding`.
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub(crate) enum EncodingArg {
    /// A JSON array of arguments, relaxed Extended JSON (application/json)
    Json,
    /// eventcast's BSON body {name, args} (application/bson)
    Bson,
}

/// How the bridge authenticates to NATS and what TLS it uses.
#[derive(clap::Args, Debug)]
#[command(next_help_heading = "NATS authentication and TLS")]
pub(crate) struct AuthArgs {
    /// A credentials file (JWT and NKey seed, as nsc writes them)
    #[arg(long, value_name = "FILE", group = "nats_auth")]
    pub(crate) nats_creds: Option<PathBuf>,

    /// A token (visible to other users of this machine on the command
    /// line: prefer EVENTCAST_NATS_TOKEN)
    #[arg(
        long,
        env = "EVENTCAST_NATS_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        group = "nats_auth"
    )]
    pub(crate) nats_token: Option<String>,

    /// A user name, with --nats-password
    #[arg(
        long,
        env = "EVENTCAST_NATS_USER",
        value_name = "USER",
        requires = "nats_password",
        group = "nats_auth"
    )]
    pub(crate) nats_user: Option<String>,

    /// The password of --nats-user (prefer EVENTCAST_NATS_PASSWORD)
    #[arg(
        long,
        env = "EVENTCAST_NATS_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD",
        requires = "nats_user"
    )]
    pub(crate) nats_password: Option<String>,

    /// A file holding an NKey seed (SU...), checked at start
    #[arg(long, value_name = "FILE", group = "nats_auth")]
    pub(crate) nats_nkey: Option<PathBuf>,

    /// Trust the certificates of this PEM file (read at start). The
    /// server's certificate must be signed by one of them (a private CA),
    /// or be one of them, self-signed with CA:FALSE: the CA:TRUE one of a
    /// plain `openssl req -x509` is refused (add `-addext
    /// basicConstraints=critical,CA:FALSE`). It must name the URL's host
    /// in its subjectAltName. Implies --nats-tls-required
    #[arg(long, value_name = "FILE")]
    pub(crate) nats_tls_ca: Option<PathBuf>,

    /// A client certificate (PEM), with --nats-tls-key (read at start).
    /// Implies --nats-tls-required
    #[arg(long, value_name = "FILE", requires = "nats_tls_key")]
    pub(crate) nats_tls_cert: Option<PathBuf>,

    /// The client certificate's key (PEM)
    #[arg(long, value_name = "FILE", requires = "nats_tls_cert")]
    pub(crate) nats_tls_key: Option<PathBuf>,

    /// Refuse a connection without TLS: with nats:// URLs too, TLS is
    /// started after the server's greeting (a server without TLS is
    /// refused)
    #[arg(long)]
    pub(crate) nats_tls_required: bool,
}

impl Args {
    /// The bridge's settings; a file that cannot be read is an error, a
    /// setting that cannot work (event patterns included) a [`UsageError`].
    /// The TLS and credentials files are read by [`check_files`].
    pub(crate) fn bridge_config(&self) -> anyhow::Result<BridgeConfig> {
        // clap splits `a,` into `a` and ``: the empty one would be looked
        // up as a host name for ever.
        if let Some(i) = self.nats.iter().position(|url| url.trim().is_empty()) {
            return Err(UsageError(format!(
                "--nats: URL number {} of {} is empty (a stray comma?)",
                i + 1,
                self.nats.len()
            ))
            .into());
        }
        let mut config = BridgeConfig::new(self.nats.iter().map(|url| url.trim().to_owned()))
            .prefix(self.subject_prefix.clone())
            .events(self.events.iter().cloned())
            .encoding(match self.encoding {
                EncodingArg::Json => Encoding::Json,
                EncodingArg::Bson => Encoding::Bson,
            })
            .buffer_bytes(self.buffer_bytes)
            .auth(self.auth.auth()?)
            .tls(self.auth.tls());
        if let Some(site) = &self.site {
            config = config.site(site.clone());
        }
        config.validate().map_err(|e| match e {
            ConfigError::NoServer | ConfigError::BadServer { .. } => {
                UsageError(format!("--nats: {e}"))
            }
            e => UsageError(e.to_string()),
        })?;
        Ok(config)
    }
}

/// Reads the files `config` names (credentials, TLS CA, client certificate
/// and key): one that cannot be read is an error, one that holds the wrong
/// thing a [`UsageError`].
pub(crate) async fn check_files(config: &BridgeConfig) -> anyhow::Result<()> {
    config.check_files().await.map_err(|e| match e {
        eventcast_bridge::Error::File { .. } => UsageError(e.to_string()).into(),
        e => anyhow::Error::new(e),
    })
}

impl AuthArgs {
    fn auth(&self) -> anyhow::Result<Auth> {
        Ok(if let Some(path) = &self.nats_creds {
            Auth::CredsFile(path.clone())
        } else if let Some(token) = &self.nats_token {
            Auth::Token(token.clone())
        } else if let (Some(user), Some(password)) = (&self.nats_user, &self.nats_password) {
            Auth::UserPassword {
                user: user.clone(),
                password: password.clone(),
            }
        } else if let Some(path) = &self.nats_nkey {
            let seed = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the NKey seed file {}", path.display()))?;
            let auth = Auth::Nkey(seed.trim().to_owned());
            // Checked here to name the file (the seed itself is never said).
            auth.check()
                .map_err(|e| UsageError(format!("--nats-nkey {}: {e}", path.display())))?;
            auth
        } else {
            Auth::None
        })
    }

    fn tls(&self) -> TlsConfig {
        let mut tls = TlsConfig::default().required(self.nats_tls_required);
        if let Some(ca) = &self.nats_tls_ca {
            tls = tls.ca(ca);
        }
        if let (Some(cert), Some(key)) = (&self.nats_tls_cert, &self.nats_tls_key) {
            tls = tls.client_cert(cert, key);
        }
        tls
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Try {
        #[command(flatten)]
        args: Args,
    }

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Try::try_parse_from(std::iter::once("bridge").chain(args.iter().copied())).map(|t| t.args)
    }

    #[test]
    fn options_reach_the_bridge_config() {
        let args = parse(&[
            "--nats",
            "nats://a:4222,tls://b:4222",
            "--site",
            "lab",
            "--subject-prefix",
            "fleet.one",
            "--encoding",
            "bson",
            "--buffer-bytes",
            "1M",
            "--nats-token",
            "tok",
            "--nats-tls-ca",
            "ca.pem",
            "--nats-tls-required",
            "sensor.*",
        ])
        .unwrap();
        let config = args.bridge_config().unwrap();
        assert_eq!(config.servers, ["nats://a:4222", "tls://b:4222"]);
        assert_eq!(config.site, "lab");
        assert_eq!(config.prefix, "fleet.one");
        assert_eq!(config.encoding, Encoding::Bson);
        assert_eq!(config.buffer_bytes, 1 << 20);
        assert_eq!(config.events, ["sensor.*"]);
        assert_eq!(config.auth, Auth::Token("tok".into()));
        assert_eq!(config.tls, TlsConfig::default().ca("ca.pem").required(true));
    }

    #[test]
    fn bad_combinations_are_refused() {
        // one kind of credentials
        assert!(parse(&["--nats", "n:1", "--nats-token", "t", "--nats-creds", "c"]).is_err());
        // a user needs a password, a certificate its key
        assert!(parse(&["--nats", "n:1", "--nats-user", "u"]).is_err());
        assert!(parse(&["--nats", "n:1", "--nats-tls-cert", "c.pem"]).is_err());
        // a prefix NATS cannot use
        let args = parse(&["--nats", "n:1", "--subject-prefix", "a..b"]).unwrap();
        let err = args.bridge_config().unwrap_err();
        assert!(err.downcast_ref::<UsageError>().is_some(), "{err}");
        assert!(err.to_string().contains("a..b"), "{err}");
    }

    /// The `UsageError` text of `args`' config.
    fn usage_error(args: &[&str]) -> String {
        let err = parse(args).unwrap().bridge_config().unwrap_err();
        assert!(err.downcast_ref::<UsageError>().is_some(), "{err}");
        err.to_string()
    }

    #[test]
    fn empty_nats_urls_are_refused_naming_nats() {
        for nats in [
            "",
            "nats://127.0.0.1:4222,",
            ",nats://127.0.0.1:4222",
            "a:1,,b:2",
        ] {
            let err = usage_error(&["--nats", nats]);
            assert!(
                err.starts_with("--nats: ") && err.contains("empty"),
                "{nats:?}: {err}"
            );
        }
        let err = usage_error(&["--nats", "nats://"]);
        assert!(err.contains("--nats") && err.contains("nats://"), "{err}");
    }

    #[test]
    fn bad_event_patterns_are_refused_before_anything_starts() {
        // `run` checks the config before it makes the node.
        let err = usage_error(&["--nats", "n:1", "sensor.*", "bad*"]);
        assert!(err.contains("bad*"), "{err}");
    }

    #[test]
    fn a_file_that_is_not_an_nkey_seed_is_named() {
        let dir = std::env::temp_dir().join(format!("eventcast-cli-nkey-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("not-a-seed");
        std::fs::write(&file, "secret-looking text\n").unwrap();
        let path = file.to_str().unwrap();
        let err = usage_error(&["--nats", "n:1", "--nats-nkey", path]);
        assert!(err.contains("--nats-nkey") && err.contains(path), "{err}");
        assert!(!err.contains("secret-looking"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn tls_files_are_read_before_anything_starts() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let check = |args: &[&str]| {
            let config = parse(args).unwrap().bridge_config().unwrap();
            runtime.block_on(check_files(&config))
        };
        let err = check(&[
            "--nats",
            "tls://n:1",
            "--nats-tls-ca",
            "/nonexistent/ca.pem",
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("/nonexistent/ca.pem"), "{err}");
        // Not PEM: a usage error naming the file.
        let dir = std::env::temp_dir().join(format!("eventcast-cli-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("ca.pem");
        std::fs::write(&file, "no certificate here\n").unwrap();
        let err = check(&["--nats", "n:1", "--nats-tls-ca", file.to_str().unwrap()]).unwrap_err();
        assert!(err.downcast_ref::<UsageError>().is_some(), "{err}");
        assert!(err.to_string().contains("ca.pem"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
        check(&["--nats", "n:1"]).unwrap();
    }
}
