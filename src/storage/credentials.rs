//! Storage tokens and their verifiers.
//!
//! A token is `{project}-{token_id}-{secret}`: the Postgres user name is `{project}-{token_id}`,
//! the password the whole token. The secret is 32 random bytes (64 hex digits). The catalog keeps
//! only verifiers: SHA-256 of the secret (bearer checks) and a SCRAM-SHA-256 verifier (logins).

use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::{Digest, Sha256};

use crate::catalog::ScramVerifier;

/// PBKDF2 rounds for SCRAM verifiers: PostgreSQL's default.
pub const SCRAM_ITERATIONS: u32 = 4096;
const TOKEN_ID_LEN: usize = 12;
const SECRET_BYTES: usize = 32;

/// Who a login names: the admin, or a project token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserName {
    Admin,
    Token { project_id: i64, token_id: String },
}

impl UserName {
    pub fn parse(user: &str) -> Option<UserName> {
        if user == "admin" {
            return Some(UserName::Admin);
        }
        let (project, token_id) = user.split_once('-')?;
        let project_id = parse_project_id(project)?;
        valid_token_id(token_id).then(|| UserName::Token { project_id, token_id: token_id.to_owned() })
    }
}

/// A whole token as a client presents it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedToken<'a> {
    pub project_id: i64,
    pub token_id: &'a str,
    pub secret: &'a str,
}

impl<'a> PresentedToken<'a> {
    pub fn parse(token: &'a str) -> Option<PresentedToken<'a>> {
        let mut parts = token.splitn(3, '-');
        let project_id = parse_project_id(parts.next()?)?;
        let token_id = parts.next()?;
        let secret = parts.next()?;
        (valid_token_id(token_id) && !secret.is_empty()).then_some(PresentedToken { project_id, token_id, secret })
    }
}

fn parse_project_id(s: &str) -> Option<i64> {
    if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) || s.starts_with('0') {
        return None;
    }
    s.parse().ok().filter(|id: &i64| *id > 0)
}

fn valid_token_id(s: &str) -> bool {
    (1..=32).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

pub fn new_token_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..TOKEN_ID_LEN).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect()
}

pub fn new_secret() -> String {
    let bytes: [u8; SECRET_BYTES] = rand::random();
    hex(&bytes)
}

pub fn format_token(project_id: i64, token_id: &str, secret: &str) -> String {
    format!("{project_id}-{token_id}-{secret}")
}

pub fn secret_digest(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Compares two digests in constant time.
pub fn digests_equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The SCRAM-SHA-256 verifier of `password` with a fresh random salt.
pub fn scram_verifier(password: &str) -> ScramVerifier {
    let salt: [u8; 16] = rand::random();
    scram_verifier_with_salt(password, &salt, SCRAM_ITERATIONS)
}

pub fn scram_verifier_with_salt(password: &str, salt: &[u8], iterations: u32) -> ScramVerifier {
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut salted);
    let client_key = hmac_sha256(&salted, b"Client Key");
    let server_key = hmac_sha256(&salted, b"Server Key");
    ScramVerifier { salt: salt.to_vec(), iterations, stored_key: Sha256::digest(client_key).to_vec(), server_key }
}

pub fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_parse_strictly() {
        assert_eq!(UserName::parse("admin"), Some(UserName::Admin));
        assert_eq!(UserName::parse("12-abc123"), Some(UserName::Token { project_id: 12, token_id: "abc123".into() }));
        for bad in ["", "12", "12-", "-abc", "012-abc", "0-abc", "x-abc", "12-ABC", "12-a/b", "12-a-b", "1;-a"] {
            assert_eq!(UserName::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn tokens_round_trip() {
        let id = new_token_id();
        let secret = new_secret();
        assert_eq!(secret.len(), 64);
        let token = format_token(7, &id, &secret);
        let parsed = PresentedToken::parse(&token).unwrap();
        assert_eq!((parsed.project_id, parsed.token_id, parsed.secret), (7, id.as_str(), secret.as_str()));
        assert!(PresentedToken::parse("7-abc").is_none());
        assert!(PresentedToken::parse("garbage").is_none());
    }

    #[test]
    fn scram_verifier_matches_rfc7677_example() {
        // RFC 7677 §3: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 rounds.
        use base64::Engine as _;
        let salt = base64::engine::general_purpose::STANDARD.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let v = scram_verifier_with_salt("pencil", &salt, 4096);
        let server_key = base64::engine::general_purpose::STANDARD.encode(&v.server_key);
        // ServerSignature in the RFC is HMAC(ServerKey, AuthMessage); check the key via it.
        let auth_message = "n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let signature = hmac_sha256(&v.server_key, auth_message.as_bytes());
        assert_eq!(
            base64::engine::general_purpose::STANDARD.encode(signature),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
            "server key {server_key}"
        );
    }
}
