//! Startup and SCRAM-SHA-256 authentication (RFC 5802 / 7677) against stored verifiers.
//! The server keeps StoredKey and ServerKey only, so a stolen catalog cannot log anyone in.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use futures::{Sink, SinkExt};
use pgwire::api::auth::{
    ServerParameterProvider, StartupHandler, finish_authentication, protocol_negotiation,
    save_startup_parameters_to_metadata,
};
use pgwire::api::{ClientInfo, METADATA_DATABASE, METADATA_USER, PgWireConnectionState};
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::startup::{Authentication, SecretKey};
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage, ProtocolVersion};
use sha2::{Digest, Sha256};
use tokio::sync::Mutex;

use super::errors::fatal;
use super::{Connection, SCRAM_METHOD};
use crate::catalog::ScramVerifier;
use crate::error::{Error, Result, SqlState};
use crate::exec::Session;
use crate::storage::LoginPlan;
use crate::storage::credentials::{digests_equal, hmac_sha256};

enum AuthState {
    Initial,
    AwaitingClientFirst { user: String, database: String },
    AwaitingClientFinal(Box<ScramExchange>),
    Done,
}

struct ScramExchange {
    user: String,
    database: String,
    plan: LoginPlan,
    gs2_header: String,
    client_first_bare: String,
    server_first: String,
    nonce: String,
}

pub(super) struct AuthHandler {
    connection: Connection,
    state: Mutex<AuthState>,
}

impl AuthHandler {
    pub(super) fn new(connection: Connection) -> AuthHandler {
        AuthHandler { connection, state: Mutex::new(AuthState::Initial) }
    }
}

fn auth_failed(user: &str) -> Error {
    Error::unauthenticated(format!("password authentication failed for user \"{user}\""))
        .with_sqlstate(SqlState::InvalidPassword)
}

fn protocol_violation(what: &str) -> Error {
    Error::invalid(format!("invalid SCRAM exchange: {what}")).with_sqlstate(SqlState::ProtocolViolation)
}

/// Splits `a=1,b=2` into attributes.
fn attributes(message: &str) -> HashMap<char, &str> {
    message
        .split(',')
        .filter_map(|part| {
            let mut chars = part.chars();
            let key = chars.next()?;
            part.get(1..)?.strip_prefix('=').map(|value| (key, value))
        })
        .collect()
}

/// Parses client-first-message into (gs2 header, client-first-message-bare, client nonce).
fn parse_client_first(message: &str) -> Result<(String, String, String)> {
    let mut parts = message.splitn(3, ',');
    let cbind = parts.next().unwrap_or("");
    let authzid = parts.next().ok_or_else(|| protocol_violation("malformed client-first-message"))?;
    let bare = parts.next().ok_or_else(|| protocol_violation("malformed client-first-message"))?;
    match cbind {
        "n" | "y" => {}
        c if c.starts_with("p=") => {
            return Err(protocol_violation("channel binding was not offered (use SCRAM-SHA-256)"));
        }
        _ => return Err(protocol_violation("bad channel binding flag")),
    }
    if !authzid.is_empty() {
        return Err(protocol_violation("authorization identities are not supported"));
    }
    let nonce = attributes(bare).get(&'r').map(|s| s.to_string()).ok_or_else(|| protocol_violation("missing nonce"))?;
    if nonce.is_empty() || !nonce.bytes().all(|b| (0x21..=0x7e).contains(&b) && b != b',') {
        return Err(protocol_violation("bad nonce"));
    }
    Ok((format!("{cbind},{authzid},"), bare.to_owned(), nonce))
}

/// Checks client-final-message; answers the server signature when the proof is right.
fn verify_client_final(exchange: &ScramExchange, message: &str) -> Result<String> {
    let (without_proof, proof) =
        message.rsplit_once(",p=").ok_or_else(|| protocol_violation("missing proof in client-final-message"))?;
    let attrs = attributes(without_proof);
    let expected_binding = B64.encode(exchange.gs2_header.as_bytes());
    if attrs.get(&'c') != Some(&expected_binding.as_str()) {
        return Err(protocol_violation("channel binding mismatch"));
    }
    if attrs.get(&'r') != Some(&exchange.nonce.as_str()) {
        return Err(protocol_violation("nonce mismatch"));
    }
    let proof = B64.decode(proof).map_err(|_| protocol_violation("proof is not base64"))?;
    let auth_message = format!("{},{},{}", exchange.client_first_bare, exchange.server_first, without_proof);
    let verifier: &ScramVerifier = &exchange.plan.verifier;
    let client_signature = hmac_sha256(&verifier.stored_key, auth_message.as_bytes());
    if proof.len() != client_signature.len() {
        return Err(auth_failed(&exchange.user));
    }
    let client_key: Vec<u8> = proof.iter().zip(&client_signature).map(|(p, s)| p ^ s).collect();
    if !digests_equal(&Sha256::digest(&client_key), &verifier.stored_key) {
        return Err(auth_failed(&exchange.user));
    }
    let server_signature = hmac_sha256(&verifier.server_key, auth_message.as_bytes());
    Ok(format!("v={}", B64.encode(server_signature)))
}

/// Reports the session's parameters (server_version "15.0 (duckstore …)", UTF8, ISO dates …).
struct SessionParameters(Arc<Session>);

impl ServerParameterProvider for SessionParameters {
    fn server_parameters<C>(&self, _client: &C) -> Option<HashMap<String, String>>
    where
        C: ClientInfo,
    {
        Some(self.0.settings().reported().into_iter().collect())
    }
}

fn send_error<T>(e: Error) -> PgWireResult<T> {
    Err(fatal(&e))
}

#[async_trait]
impl StartupHandler for AuthHandler {
    async fn on_startup<C>(&self, client: &mut C, message: PgWireFrontendMessage) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut state = self.state.lock().await;
        match (message, &*state) {
            (PgWireFrontendMessage::Startup(startup), AuthState::Initial) => {
                protocol_negotiation(client, &startup).await?;
                save_startup_parameters_to_metadata(client, &startup);
                if self.connection.shared.tls_required && !client.is_secure() {
                    return send_error(
                        Error::permission_denied("this server requires an SSL connection (sslmode=require)")
                            .with_sqlstate(SqlState::InvalidAuthorizationSpecification),
                    );
                }
                if self.connection.shared.is_shutting_down() {
                    return send_error(
                        Error::new(crate::error::ErrorKind::Unavailable, "the server is shutting down")
                            .with_sqlstate(SqlState::CannotConnectNow),
                    );
                }
                let Some(user) = client.metadata().get(METADATA_USER).cloned() else {
                    return send_error(
                        Error::invalid("no user name given").with_sqlstate(SqlState::InvalidAuthorizationSpecification),
                    );
                };
                let database = client.metadata().get(METADATA_DATABASE).cloned().unwrap_or_default();
                client.set_state(PgWireConnectionState::AuthenticationInProgress);
                client
                    .send(PgWireBackendMessage::Authentication(Authentication::SASL(vec![SCRAM_METHOD.to_owned()])))
                    .await?;
                *state = AuthState::AwaitingClientFirst { user, database };
            }
            (PgWireFrontendMessage::PasswordMessageFamily(msg), AuthState::AwaitingClientFirst { user, database }) => {
                let initial = msg.into_sasl_initial_response()?;
                if initial.auth_method != SCRAM_METHOD {
                    return send_error(protocol_violation(&format!(
                        "unsupported mechanism {}; use SCRAM-SHA-256",
                        initial.auth_method
                    )));
                }
                let data = initial.data.ok_or_else(|| fatal(&protocol_violation("empty client-first-message")))?;
                let text = std::str::from_utf8(&data).map_err(|_| fatal(&protocol_violation("not UTF-8")))?;
                let (gs2_header, client_first_bare, client_nonce) = parse_client_first(text).map_err(|e| fatal(&e))?;
                let plan = self.connection.shared.storage.plan_login(user.clone(), database.clone()).await;
                let nonce = format!("{client_nonce}{}", B64.encode(rand::random::<[u8; 18]>()));
                let server_first =
                    format!("r={nonce},s={},i={}", B64.encode(&plan.verifier.salt), plan.verifier.iterations);
                client
                    .send(PgWireBackendMessage::Authentication(Authentication::SASLContinue(
                        server_first.clone().into_bytes().into(),
                    )))
                    .await?;
                *state = AuthState::AwaitingClientFinal(Box::new(ScramExchange {
                    user: user.clone(),
                    database: database.clone(),
                    plan,
                    gs2_header,
                    client_first_bare,
                    server_first,
                    nonce,
                }));
            }
            (PgWireFrontendMessage::PasswordMessageFamily(msg), AuthState::AwaitingClientFinal(_)) => {
                let AuthState::AwaitingClientFinal(exchange) = std::mem::replace(&mut *state, AuthState::Done) else {
                    unreachable!("matched above")
                };
                let response = msg.into_sasl_response()?;
                let text = std::str::from_utf8(&response.data).map_err(|_| fatal(&protocol_violation("not UTF-8")))?;
                let outcome = verify_client_final(&exchange, text);
                let server_final = match outcome {
                    Ok(server_final) => server_final,
                    Err(e) => {
                        metrics::counter!("duckstore_logins_total", "outcome" => "failed").increment(1);
                        tracing::info!(user = %exchange.user, "login failed");
                        return send_error(e);
                    }
                };
                let ctx = match exchange.plan.session {
                    Ok(ctx) => ctx,
                    Err(e) => {
                        metrics::counter!("duckstore_logins_total", "outcome" => "refused").increment(1);
                        tracing::info!(user = %exchange.user, reason = %e, "login refused");
                        return send_error(e);
                    }
                };
                // A workspace login opens its sandbox (within the session limits) before it is in.
                let pid = self.connection.next_pid();
                let startup: BTreeMap<String, String> =
                    client.metadata().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                let workspace = if matches!(ctx.principal, crate::storage::Principal::Workspace { .. }) {
                    let expander = crate::exec::workspace_view_expander(
                        ctx.user.clone(),
                        exchange.database.clone(),
                        pid,
                        &startup,
                    );
                    match self.connection.shared.storage.start_workspace_session(&ctx, expander).await {
                        Ok(ws) => {
                            self.connection.shared.exec.prepare_workspace_session(&ws, &ctx.user, &startup).await;
                            Some(ws)
                        }
                        Err(e) => {
                            metrics::counter!("duckstore_logins_total", "outcome" => "refused").increment(1);
                            return send_error(e);
                        }
                    }
                } else {
                    None
                };
                client
                    .send(PgWireBackendMessage::Authentication(Authentication::SASLFinal(
                        server_final.into_bytes().into(),
                    )))
                    .await?;
                let secret: Vec<u8> = match client.protocol_version() {
                    ProtocolVersion::PROTOCOL3_0 => rand::random::<[u8; 4]>().to_vec(),
                    _ => rand::random::<[u8; 32]>().to_vec(),
                };
                let session = self.connection.open_session(
                    pid,
                    ctx,
                    exchange.database.clone(),
                    &startup,
                    secret.clone(),
                    workspace,
                );
                let secret = match <[u8; 4]>::try_from(secret.as_slice()) {
                    Ok(four) => SecretKey::I32(i32::from_be_bytes(four)),
                    Err(_) => SecretKey::Bytes(secret.into()),
                };
                client.set_pid_and_secret_key(session.pid, secret);
                metrics::counter!("duckstore_logins_total", "outcome" => "ok").increment(1);
                tracing::info!(session = session.id, user = %session.ctx.user, database = %exchange.database, "login");
                finish_authentication(client, &SessionParameters(session)).await?;
            }
            _ => {
                return send_error(protocol_violation("unexpected message during authentication"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_first_messages_parse_strictly() {
        let (gs2, bare, nonce) = parse_client_first("n,,n=,r=abc").unwrap();
        assert_eq!((gs2.as_str(), bare.as_str(), nonce.as_str()), ("n,,", "n=,r=abc", "abc"));
        assert!(parse_client_first("p=tls-server-end-point,,n=,r=abc").is_err());
        assert!(parse_client_first("n,a=admin,n=,r=abc").is_err());
        assert!(parse_client_first("n,,n=").is_err());
        assert!(parse_client_first("garbage").is_err());
    }
}
