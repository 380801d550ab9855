//! Protection of personal data and of the audit trail, with 国密 algorithms.
//!
//! * Names and phone numbers of citizens (and private contacts of deputies and staff) are
//!   encrypted field by field with SM4-GCM before they reach the database.
//! * Exact-match look-ups on an encrypted phone go through a blind index: HMAC-SM3 of the value.
//! * Audit records are chained: each record's HMAC-SM3 covers the previous record's HMAC, so a
//!   deleted or edited record breaks the chain.
//! * Passwords are hashed with Argon2id.
//!
//! All keys derive from one 32-byte master key that the deployment keeps outside the database
//! (a file in the data directory with mode 0600, or an environment variable).

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{AesGcm, Nonce};
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Mac, SimpleHmac};
use rand::RngCore;
use sm3::Sm3;
use sm4::Sm4;

type Sm4Gcm = AesGcm<Sm4, U12>;
type HmacSm3 = SimpleHmac<Sm3>;

/// Errors of the protection layer. None of them carries key material or plaintext.
#[derive(Debug, thiserror::Error)]
pub enum ProtectError {
    /// The master key is not 32 bytes of hex.
    #[error("主密钥格式错误：须为64位十六进制字符（32字节）")]
    BadMasterKey,
    /// A ciphertext could not be decrypted (wrong key or altered data).
    #[error("加密数据无法解密：密钥不匹配或数据被篡改")]
    Decrypt,
    /// Password hashing failed.
    #[error("密码处理失败")]
    Password,
}

/// The keys of one deployment, derived from its master key.
#[derive(Clone)]
pub struct Keys {
    field: [u8; 16],
    index: [u8; 32],
    audit: [u8; 32],
    session: [u8; 32],
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(<redacted>)")
    }
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <HmacSm3 as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    for p in parts {
        mac.update(&(p.len() as u64).to_be_bytes());
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

impl Keys {
    /// Derives the keys from a 32-byte master key given as 64 hex characters.
    pub fn from_master_hex(hex_key: &str) -> Result<Self, ProtectError> {
        let bytes = hex::decode(hex_key.trim()).map_err(|_| ProtectError::BadMasterKey)?;
        let master: [u8; 32] = bytes.try_into().map_err(|_| ProtectError::BadMasterKey)?;
        Ok(Self::from_master(&master))
    }

    /// Derives the keys from a master key; each purpose gets its own key so that one leaked
    /// derived key does not expose the others.
    pub fn from_master(master: &[u8; 32]) -> Self {
        let field_full = hmac(master, &[b"liaison/field-encryption/v1"]);
        let mut field = [0u8; 16];
        field.copy_from_slice(&field_full[..16]);
        Self {
            field,
            index: hmac(master, &[b"liaison/blind-index/v1"]),
            audit: hmac(master, &[b"liaison/audit-chain/v1"]),
            session: hmac(master, &[b"liaison/session/v1"]),
        }
    }

    /// A new random master key as hex, for first start.
    pub fn generate_master_hex() -> String {
        let mut k = [0u8; 32];
        rand::rng().fill_bytes(&mut k);
        hex::encode(k)
    }

    /// Encrypts a field value. Empty stays empty, so "not given" needs no ciphertext.
    pub fn encrypt(&self, plaintext: &str) -> String {
        if plaintext.is_empty() {
            return String::new();
        }
        let cipher = Sm4Gcm::new_from_slice(&self.field).expect("SM4 key is 16 bytes");
        let mut nonce_bytes = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce_bytes);
        let nonce: Nonce<U12> = nonce_bytes.into();
        let ct = cipher
            .encrypt(&nonce, plaintext.as_bytes())
            .expect("SM4-GCM encryption of a short field cannot fail");
        let mut out = Vec::with_capacity(12 + ct.len());
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&ct);
        format!("sm4gcm:{}", B64.encode(out))
    }

    /// Decrypts a value written by [`Keys::encrypt`].
    pub fn decrypt(&self, stored: &str) -> Result<String, ProtectError> {
        if stored.is_empty() {
            return Ok(String::new());
        }
        let b64 = stored
            .strip_prefix("sm4gcm:")
            .ok_or(ProtectError::Decrypt)?;
        let raw = B64.decode(b64).map_err(|_| ProtectError::Decrypt)?;
        if raw.len() < 12 + 16 {
            return Err(ProtectError::Decrypt);
        }
        let nonce_bytes: [u8; 12] = raw[..12].try_into().map_err(|_| ProtectError::Decrypt)?;
        let nonce: Nonce<U12> = nonce_bytes.into();
        let cipher = Sm4Gcm::new_from_slice(&self.field).expect("SM4 key is 16 bytes");
        let pt = cipher
            .decrypt(&nonce, &raw[12..])
            .map_err(|_| ProtectError::Decrypt)?;
        String::from_utf8(pt).map_err(|_| ProtectError::Decrypt)
    }

    /// A keyed, deterministic index of a value (e.g. a phone number) for exact-match look-ups
    /// without storing the value in clear.
    pub fn blind_index(&self, value: &str) -> String {
        if value.is_empty() {
            return String::new();
        }
        hex::encode(&hmac(&self.index, &[value.as_bytes()])[..16])
    }

    /// The chained HMAC of an audit record: covers the previous record's HMAC and this record's
    /// canonical content.
    pub fn audit_mac(&self, previous_mac: &str, record: &str) -> String {
        hex::encode(hmac(
            &self.audit,
            &[previous_mac.as_bytes(), record.as_bytes()],
        ))
    }

    /// An HMAC over a token, used to store session and API tokens as digests only.
    pub fn token_digest(&self, token: &str) -> String {
        hex::encode(hmac(&self.session, &[token.as_bytes()]))
    }
}

/// A new random URL-safe token (sessions, API tokens, CSRF, idempotency).
pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// A readable random password for generated accounts: no look-alike characters, and always
/// meets [`crate::validate::new_password`].
pub fn random_password() -> String {
    const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGIT: &[u8] = b"23456789";
    let mut rng = rand::rng();
    let mut pick = |set: &[u8]| set[(rng.next_u32() as usize) % set.len()] as char;
    let mut s = String::new();
    for i in 0..12 {
        let set = match i % 4 {
            0 => UPPER,
            3 => DIGIT,
            _ => LOWER,
        };
        s.push(pick(set));
        if i == 5 {
            s.push('-');
        }
    }
    s
}

/// Hashes a password with Argon2id and a random salt (PHC string). CPU-heavy: call it off the
/// async threads.
pub fn hash_password(password: &str) -> Result<String, ProtectError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| ProtectError::Password)
}

/// Checks a password against a stored hash. CPU-heavy: call it off the async threads.
pub fn verify_password(password: &str, stored_hash: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), stored_hash)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::from_master(&[7u8; 32])
    }

    #[test]
    fn fields_round_trip_and_ciphertexts_differ_each_time() {
        let k = keys();
        let a = k.encrypt("13812345678");
        let b = k.encrypt("13812345678");
        assert_ne!(a, b, "random nonce");
        assert!(!a.contains("1381234"));
        assert_eq!(k.decrypt(&a).unwrap(), "13812345678");
        assert_eq!(k.encrypt(""), "");
    }

    #[test]
    fn a_tampered_or_foreign_ciphertext_is_refused() {
        let k = keys();
        let mut c = k.encrypt("张三");
        c.pop();
        c.push('A');
        assert!(k.decrypt(&c).is_err());
        let other = Keys::from_master(&[8u8; 32]);
        assert!(other.decrypt(&k.encrypt("张三")).is_err());
    }

    #[test]
    fn blind_index_is_deterministic_and_keyed() {
        let k = keys();
        assert_eq!(k.blind_index("13812345678"), k.blind_index("13812345678"));
        assert_ne!(
            k.blind_index("13812345678"),
            Keys::from_master(&[9u8; 32]).blind_index("13812345678")
        );
    }

    #[test]
    fn audit_mac_depends_on_previous_link() {
        let k = keys();
        assert_ne!(k.audit_mac("", "x"), k.audit_mac("a", "x"));
    }

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("Correct-horse-9").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("Correct-horse-9", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn generated_passwords_meet_the_policy() {
        for _ in 0..50 {
            let p = random_password();
            assert!(crate::validate::new_password("p", &p).is_ok(), "{p}");
        }
    }

    #[test]
    fn master_key_must_be_32_bytes_hex() {
        assert!(Keys::from_master_hex(&Keys::generate_master_hex()).is_ok());
        assert!(Keys::from_master_hex("abcd").is_err());
    }
}
