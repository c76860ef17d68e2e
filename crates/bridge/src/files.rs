//! The files a bridge's settings name, read and checked at start: a file
//! that is missing or holds the wrong thing is said at once, with its
//! name, rather than as a vague connection error retried for ever.

use std::path::Path;

use async_nats::rustls::pki_types::pem::PemObject as _;
use async_nats::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use async_nats::rustls::{ClientConfig, RootCertStore};

use crate::config::{Auth, BridgeConfig};
use crate::error::Error;

impl BridgeConfig {
    /// Reads the files the settings name and checks what they hold: the
    /// credentials file (a JWT and an NKey seed), the TLS CA file (PEM
    /// certificates rustls can trust), the client certificate and its key
    /// (PEM, the key matching the certificate).
    /// [`Bridge::start`](crate::Bridge::start) calls it; call it earlier
    /// to refuse bad files before anything starts.
    ///
    /// The client reads them again at each connection: a file changed
    /// later is read then.
    pub async fn check_files(&self) -> Result<(), Error> {
        if let Auth::CredsFile(path) = &self.auth {
            async_nats::ConnectOptions::new()
                .credentials_file(path)
                .await
                .map_err(|source| Error::Io {
                    what: format!("credentials file {}", path.display()),
                    source,
                })?;
        }
        let tls = &self.tls;
        let mut roots = RootCertStore::empty();
        if let Some(ca) = &tls.ca {
            let what = || format!("TLS CA file {}", ca.display());
            for (i, cert) in certificates(ca, what)?.into_iter().enumerate() {
                roots.add(cert).map_err(|e| Error::File {
                    what: what(),
                    reason: format!("certificate number {} cannot be trusted: {e}", i + 1),
                })?;
            }
        }
        if let (Some(cert), Some(key)) = (&tls.client_cert, &tls.client_key) {
            let chain = certificates(cert, || {
                format!("TLS client certificate {}", cert.display())
            })?;
            let key_what = || format!("TLS client key {}", key.display());
            let bytes = read(key, key_what)?;
            let key_der = PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| Error::File {
                what: key_what(),
                reason: format!("no PEM private key in it ({e})"),
            })?;
            ClientConfig::builder()
                .with_root_certificates(roots)
                .with_client_auth_cert(chain, key_der)
                .map_err(|e| Error::File {
                    what: format!(
                        "TLS client certificate {} with key {}",
                        cert.display(),
                        key.display()
                    ),
                    reason: e.to_string(),
                })?;
        }
        Ok(())
    }
}

fn read(path: &Path, what: impl Fn() -> String) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::Io {
        what: what(),
        source,
    })
}

/// The PEM certificates of `path`: at least one.
fn certificates(
    path: &Path,
    what: impl Fn() -> String,
) -> Result<Vec<CertificateDer<'static>>, Error> {
    let bytes = read(path, &what)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::File {
            what: what(),
            reason: format!("not PEM ({e})"),
        })?;
    if certs.is_empty() {
        return Err(Error::File {
            what: what(),
            reason: "holds no certificate (-----BEGIN CERTIFICATE-----)".to_owned(),
        });
    }
    Ok(certs)
}
