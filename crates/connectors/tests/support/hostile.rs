//! Endpoints that fail below HTTP, for the faults partner-sim cannot inject: a TLS listener
//! with a self-signed or an expired certificate, a listener that resets every connection
//! (SO_LINGER 0), a closed port and a host name that never resolves (RFC 6761 `.invalid`).

#![allow(dead_code)]

use std::sync::Arc;

use rcgen::{date_time_ymd, CertificateParams, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// Which certificate a TLS listener presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cert {
    /// Signed by itself: no trusted root vouches for it.
    SelfSigned,
    /// Self-signed and valid only during 2020.
    Expired,
}

/// Starts a TLS listener on loopback presenting `cert`; returns its `https://` URL. Each
/// connection gets a handshake (which the client aborts) and nothing else.
pub async fn tls_listener(cert: Cert) -> String {
    let key = KeyPair::generate().expect("generate a key pair");
    let mut params = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .expect("certificate parameters");
    if cert == Cert::Expired {
        params.not_before = date_time_ymd(2020, 1, 1);
        params.not_after = date_time_ymd(2020, 12, 31);
    }
    let certificate = params.self_signed(&key).expect("self-sign");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_no_client_auth()
    .with_single_cert(
        vec![certificate.der().clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
    .expect("server certificate");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let url = format!("https://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(stream).await {
                    let _ = tls.read(&mut [0u8; 1024]).await;
                }
            });
        }
    });
    url
}

/// Starts a listener that reads the start of each request, then resets the connection (an
/// RST, not a clean close); returns its `http://` URL.
pub async fn resetting_listener() -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let _ = stream.read(&mut [0u8; 1024]).await;
            let _ = stream.set_zero_linger();
            drop(stream);
        }
    });
    url
}

/// A loopback URL on which nothing listens (the port was bound, then released).
pub async fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    format!("http://{addr}")
}

/// A URL whose host never resolves: RFC 6761 reserves `.invalid`.
pub fn unresolvable() -> String {
    "http://partner.ecosystem.invalid".to_string()
}
