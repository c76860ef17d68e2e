//! The original's encryption: AES-128-CBC with PKCS#7 padding, key and IV
//! derived from a passphrase as OpenSSL's `EVP_BytesToKey` does with MD5,
//! no salt and one iteration (what Node's deprecated
//! `crypto.createCipher('aes128', passphrase)` does):
//!
//! ```text
//! key = MD5(passphrase)
//! iv  = MD5(key || passphrase)
//! ```
//!
//! The IV is the same for every message and nothing authenticates the
//! ciphertext: anyone can flip bits of a plaintext they can guess, and equal
//! message prefixes encrypt to equal ciphertext prefixes. Use it only to
//! talk with eventcast 0.1.2 nodes.

use std::fmt;

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use md5::{Digest, Md5};

use super::error::LegacyError;

type Encryptor = cbc::Encryptor<aes::Aes128>;
type Decryptor = cbc::Decryptor<aes::Aes128>;

/// The legacy cipher. **Insecure**: a fixed IV per passphrase, no
/// authentication, a fast unsalted key derivation. It exists only for
/// interoperability with eventcast 0.1.2 and is never a default.
#[derive(Clone)]
pub struct InsecureLegacyCipher {
    key: [u8; 16],
    iv: [u8; 16],
}

impl InsecureLegacyCipher {
    /// Derives key and IV from a passphrase (its bytes as the Node node
    /// hands them to OpenSSL: for an ASCII passphrase, its ASCII bytes; for
    /// others, UTF-8 on current Node releases, while Node 0.10 used each
    /// UTF-16 unit's low byte).
    pub fn from_passphrase(passphrase: impl AsRef<[u8]>) -> Self {
        let pass = passphrase.as_ref();
        let key: [u8; 16] = Md5::digest(pass).into();
        let iv: [u8; 16] = Md5::new()
            .chain_update(key)
            .chain_update(pass)
            .finalize()
            .into();
        Self { key, iv }
    }

    /// Encrypts `plaintext`, padded with PKCS#7 (1 to 16 bytes added).
    pub fn encrypt(&self, plaintext: &[u8]) -> Vec<u8> {
        Encryptor::new(&self.key.into(), &self.iv.into()).encrypt_padded_vec::<Pkcs7>(plaintext)
    }

    /// Decrypts `ciphertext` and removes its padding. Fails if the length is
    /// not a positive multiple of 16 or the padding is wrong (a wrong key
    /// usually shows as wrong padding, but not always: the caller must
    /// still parse the plaintext as untrusted).
    pub fn decrypt(&self, ciphertext: &[u8]) -> Result<Vec<u8>, LegacyError> {
        if ciphertext.is_empty() {
            return Err(LegacyError::Decrypt);
        }
        Decryptor::new(&self.key.into(), &self.iv.into())
            .decrypt_padded_vec::<Pkcs7>(ciphertext)
            .map_err(|_| LegacyError::Decrypt)
    }
}

impl fmt::Debug for InsecureLegacyCipher {
    /// Never shows the key or the IV.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InsecureLegacyCipher { .. }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn evp_bytes_to_key_md5() {
        // `openssl enc -aes-128-cbc -md md5 -nosalt -pass pass:NSA-KEY -P`
        let c = InsecureLegacyCipher::from_passphrase("NSA-KEY");
        assert_eq!(hex(&c.key), "2d75aba87495b7c68d669048c4ebb9ea");
        assert_eq!(hex(&c.iv), "7b7a355acbc4612f19a6da80da437858");
    }

    #[test]
    fn same_ciphertext_as_node_and_openssl() {
        // node: crypto.createCipher("aes128", "NSA-KEY") on "hello";
        // printf hello | openssl enc -aes-128-cbc -md md5 -nosalt -pass pass:NSA-KEY
        let c = InsecureLegacyCipher::from_passphrase("NSA-KEY");
        assert_eq!(
            hex(&c.encrypt(b"hello")),
            "abf3a26830e7aaf73e3497384ab1813b"
        );
    }

    #[test]
    fn round_trip_and_padding() {
        let c = InsecureLegacyCipher::from_passphrase("NSA-KEY");
        for len in [0usize, 1, 15, 16, 17, 300] {
            let pt = vec![0xa5; len];
            let ct = c.encrypt(&pt);
            assert_eq!(ct.len(), (len / 16 + 1) * 16);
            assert_eq!(c.decrypt(&ct).unwrap(), pt);
        }
    }

    #[test]
    fn bad_ciphertext() {
        let c = InsecureLegacyCipher::from_passphrase("NSA-KEY");
        assert_eq!(c.decrypt(&[]), Err(LegacyError::Decrypt));
        assert_eq!(c.decrypt(&[0; 15]), Err(LegacyError::Decrypt));
        assert_eq!(c.decrypt(&[0; 17]), Err(LegacyError::Decrypt));
        let other = InsecureLegacyCipher::from_passphrase("other");
        // wrong key: almost always bad padding; either way, never a panic
        let _ = other.decrypt(&c.encrypt(b"hello"));
    }

    #[test]
    fn debug_hides_the_key() {
        let c = InsecureLegacyCipher::from_passphrase("NSA-KEY");
        assert_eq!(format!("{c:?}"), "InsecureLegacyCipher { .. }");
    }
}
