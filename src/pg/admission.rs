//! What a connection must pass before the protocol handler gets it: dead peers detected by
//! TCP keepalive, no bytes smuggled behind an SSLRequest, and a login finished in time.

use std::os::fd::AsRawFd;
use std::time::Duration;

use tokio::net::TcpStream;

/// PostgreSQL's SSLRequest: length 8, code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// Turns TCP keepalive on, so a peer that vanished without a FIN (a half-open connection) is
/// found and its connection closed within a few minutes instead of never.
pub(super) fn keep_alive(socket: &TcpStream) {
    let fd = socket.as_raw_fd();
    let set = |level: libc::c_int, name: libc::c_int, value: libc::c_int| {
        // SAFETY: `fd` is an open TCP socket; the option value is a c_int that outlives the call.
        unsafe {
            libc::setsockopt(
                fd,
                level,
                name,
                (&value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        }
    };
    set(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1);
    set(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, 60);
    set(libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, 10);
    set(libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 6);
}

/// Whether the client sent bytes right behind an SSLRequest, before the TLS handshake could
/// begin (the pattern of CVE-2021-23214): those bytes were never encrypted, yet the protocol
/// handler would read them as the first message of the TLS session. Such a connection is
/// closed. Looks at the first bytes without consuming them; gives up after `wait`.
pub(super) async fn smuggles_after_ssl_request(socket: &TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 16];
    let peeked = tokio::time::timeout(wait, async {
        loop {
            match socket.peek(&mut buf).await {
                // The whole request may arrive in pieces: wait for its eight bytes.
                Ok(n) if n > 0 && n < SSL_REQUEST.len() && buf[..n] == SSL_REQUEST[..n] => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Ok(n) => return n,
                Err(_) => return 0,
            }
        }
    })
    .await;
    matches!(peeked, Ok(n) if n > SSL_REQUEST.len() && buf[..SSL_REQUEST.len()] == SSL_REQUEST)
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpListener;

    use super::*;

    #[tokio::test]
    async fn bytes_behind_an_ssl_request_are_told_apart() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        for (sent, smuggled) in [
            (SSL_REQUEST.to_vec(), false),
            ([&SSL_REQUEST[..], b"\x00\x00\x00\x08Q"].concat(), true),
            (b"\x00\x00\x00\x28\x00\x03\x00\x00user".to_vec(), false),
        ] {
            let mut client = TcpStream::connect(addr).await.unwrap();
            let (server, _) = listener.accept().await.unwrap();
            client.write_all(&sent).await.unwrap();
            client.flush().await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(smuggles_after_ssl_request(&server, Duration::from_secs(1)).await, smuggled, "{sent:?}");
        }
    }
}
