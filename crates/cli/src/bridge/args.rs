//! The options of `eventcast bridge` and the [`BridgeConfig`] they make.

use std::path::PathBuf;

use anyhow::Context as _;
use eventcast_bridge::{Auth, BridgeConfig, Encoding, TlsConfig};

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

    /// A file holding an NKey seed (SU...)
    #[arg(long, value_name = "FILE", group = "nats_auth")]
    pub(crate) nats_nkey: Option<PathBuf>,

    /// Trust the root certificates of this PEM file (a private CA, or a
    /// self-signed server certificate)
    #[arg(long, value_name = "FILE")]
    pub(crate) nats_tls_ca: Option<PathBuf>,

    /// A client certificate (PEM), with --nats-tls-key
    #[arg(long, value_name = "FILE", requires = "nats_tls_key")]
    pub(crate) nats_tls_cert: Option<PathBuf>,

    /// The client certificate's key (PEM)
    #[arg(long, value_name = "FILE", requires = "nats_tls_cert")]
    pub(crate) nats_tls_key: Option<PathBuf>,

    /// Refuse a connection without TLS
    #[arg(long)]
    pub(crate) nats_tls_required: bool,
}

impl Args {
    /// The bridge's settings; a file that cannot be read is an error, a
    /// setting that cannot work a [`UsageError`].
    pub(crate) fn bridge_config(&self) -> anyhow::Result<BridgeConfig> {
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
        config.validate().map_err(|e| UsageError(e.to_string()))?;
        Ok(config)
    }
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
            Auth::Nkey(seed.trim().to_owned())
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
}
