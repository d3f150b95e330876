//! A small HTTP/1.1 server that misbehaves on demand (status codes, Retry-After, hangs,
//! malformed or endless bodies, slow answers), recording when each request arrived and how
//! many were in flight at once. One connection per request (`Connection: close`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Behaviour {
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Answers after a pause.
    Slow(Duration, Box<Behaviour>),
    /// Reads the request and never answers.
    Hang,
    /// A 200 with a chunked body that never ends (until the client hangs up).
    Endless,
}

impl Behaviour {
    pub fn status(status: u16, body: &str) -> Self {
        Behaviour::Respond {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let Behaviour::Respond { headers, .. } = &mut self {
            headers.push((name.into(), value.into()));
        }
        self
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
}

type Script = dyn Fn(usize, &str) -> Behaviour + Send + Sync;

pub struct Misbehaving {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub max_in_flight: Arc<AtomicUsize>,
    /// Bytes of endless bodies written before the client hung up.
    pub endless_written: Arc<AtomicUsize>,
}

impl Misbehaving {
    /// Starts a server; `script(n, request_head)` decides the answer to the n-th request (0-based).
    pub async fn start(script: impl Fn(usize, &str) -> Behaviour + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("local address"));
        let script: Arc<Script> = Arc::new(script);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let endless_written = Arc::new(AtomicUsize::new(0));
        let counter = Arc::new(AtomicUsize::new(0));
        {
            let (seen, max_in_flight, endless_written) =
                (seen.clone(), max_in_flight.clone(), endless_written.clone());
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let (script, seen, in_flight, max_in_flight, endless_written, counter) = (
                        script.clone(),
                        seen.clone(),
                        in_flight.clone(),
                        max_in_flight.clone(),
                        endless_written.clone(),
                        counter.clone(),
                    );
                    tokio::spawn(async move {
                        let Some(head) = read_request(&stream).await else {
                            return;
                        };
                        let n = counter.fetch_add(1, Ordering::SeqCst);
                        seen.lock().unwrap().push(Seen { at: Instant::now() });
                        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                        max_in_flight.fetch_max(now, Ordering::SeqCst);
                        let behaviour = script(n, &head);
                        serve(stream, behaviour, &endless_written).await;
                        in_flight.fetch_sub(1, Ordering::SeqCst);
                    });
                }
            });
        }
        Misbehaving {
            url,
            seen,
            max_in_flight,
            endless_written,
        }
    }

    pub fn requests(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    pub fn arrivals(&self) -> Vec<Instant> {
        self.seen.lock().unwrap().iter().map(|s| s.at).collect()
    }
}

/// Reads a request head and its Content-Length body; returns the head.
async fn read_request(stream: &TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        stream.readable().await.ok()?;
        match stream.try_read(&mut chunk) {
            Ok(0) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return None,
        }
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let length = head
                .lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                stream.readable().await.ok()?;
                match stream.try_read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                    Err(_) => return None,
                }
            }
            return Some(head);
        }
    }
}

async fn serve(mut stream: TcpStream, behaviour: Behaviour, endless_written: &AtomicUsize) {
    match behaviour {
        Behaviour::Respond {
            status,
            headers,
            body,
        } => {
            let mut out = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in headers {
                out.push_str(&format!("{name}: {value}\r\n"));
            }
            out.push_str("\r\n");
            let _ = stream.write_all(out.as_bytes()).await;
            let _ = stream.write_all(&body).await;
            let _ = stream.shutdown().await;
        }
        Behaviour::Slow(pause, then) => {
            tokio::time::sleep(pause).await;
            Box::pin(serve(stream, *then, endless_written)).await;
            return;
        }
        Behaviour::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Behaviour::Endless => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let piece = vec![b'x'; 64 * 1024];
            let frame = [
                format!("{:x}\r\n", piece.len()).into_bytes(),
                piece,
                b"\r\n".to_vec(),
            ]
            .concat();
            while stream.write_all(&frame).await.is_ok() {
                endless_written.fetch_add(64 * 1024, Ordering::SeqCst);
                if endless_written.load(Ordering::SeqCst) > 1024 * 1024 * 1024 {
                    break;
                }
            }
        }
    }
    let _ = stream.read(&mut [0u8; 1]).await;
}
