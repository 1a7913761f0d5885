//! An upstream HTTP/1.1 server that answers every request with what it received, as JSON:
//! `{"method": "...", "path": "...", "headers": [["name", "value"], ...], "body": "..."}`.
//!
//! It also records every request, so a test can assert that a denied request never reached the
//! upstream, or inspect a HEAD request (whose response has no body). A request carrying
//! `x-test-delay-ms: N` is answered N milliseconds late (at most 5 s), so that several streams are
//! in flight in one Envoy worker at once and their responses come back out of order. It binds `127.0.0.1:0`, serves
//! keep-alive connections (Envoy pools them) on one thread each, and stops on drop.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::json;

/// One request as the upstream received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Echoed {
    /// The method.
    pub method: String,
    /// The request target (path and query) as received.
    pub path: String,
    /// The headers, names lower-cased (HTTP/1.1 from Envoy), in order.
    pub headers: Vec<(String, String)>,
    /// The body (lossy UTF-8).
    pub body: String,
}

impl Echoed {
    /// The first value of a header (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::http::first_header(&self.headers, name)
    }

    /// Every value of a header (case-insensitive).
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        crate::http::all_headers(&self.headers, name)
    }

    /// The `x-ace-*` headers received, in order.
    pub fn ace_headers(&self) -> Vec<(String, String)> {
        self.headers
            .iter()
            .filter(|(n, _)| n.to_ascii_lowercase().starts_with("x-ace-"))
            .cloned()
            .collect()
    }

    /// The JSON this upstream sends back.
    pub fn to_json(&self) -> serde_json::Value {
        let headers: Vec<serde_json::Value> = self.headers.iter().map(|(n, v)| json!([n, v])).collect();
        json!({ "method": self.method, "path": self.path, "headers": headers, "body": self.body })
    }

    /// Parses the JSON this upstream sends back (a response body that went through Envoy).
    pub fn from_json(v: &serde_json::Value) -> Option<Echoed> {
        let headers = v
            .get("headers")?
            .as_array()?
            .iter()
            .map(|h| Some((h.get(0)?.as_str()?.to_string(), h.get(1)?.as_str()?.to_string())))
            .collect::<Option<Vec<_>>>()?;
        Some(Echoed {
            method: v.get("method")?.as_str()?.to_string(),
            path: v.get("path")?.as_str()?.to_string(),
            headers,
            body: v.get("body")?.as_str()?.to_string(),
        })
    }
}

/// The echo server. Stops accepting and serving on drop.
#[derive(Debug)]
pub struct EchoUpstream {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Echoed>>>,
    accept: Option<JoinHandle<()>>,
}

impl EchoUpstream {
    /// Binds `127.0.0.1:0` and starts serving.
    ///
    /// # Panics
    /// When the socket cannot be bound.
    pub fn start() -> EchoUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind echo upstream on 127.0.0.1:0");
        let addr = listener.local_addr().expect("echo upstream address");
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (stop2, log2) = (stop.clone(), log.clone());
        let accept = std::thread::Builder::new()
            .name("echo-accept".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if stop2.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let (stop3, log3) = (stop2.clone(), log2.clone());
                    let _ = std::thread::Builder::new()
                        .name("echo-conn".into())
                        .spawn(move || serve(conn, &stop3, &log3));
                }
            })
            .expect("spawn echo upstream");
        EchoUpstream {
            addr,
            stop,
            log,
            accept: Some(accept),
        }
    }

    /// The listening address (127.0.0.1:port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every request received so far.
    pub fn received(&self) -> Vec<Echoed> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// How many requests were received so far.
    pub fn count(&self) -> usize {
        self.log.lock().map(|l| l.len()).unwrap_or(0)
    }

    /// The last request received, if any.
    pub fn last(&self) -> Option<Echoed> {
        self.log.lock().ok().and_then(|l| l.last().cloned())
    }
}

impl Drop for EchoUpstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

/// Serves one keep-alive connection until EOF, an error or stop.
fn serve(conn: TcpStream, stop: &AtomicBool, log: &Mutex<Vec<Echoed>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_millis(200)));
    let Ok(write_half) = conn.try_clone() else {
        return;
    };
    let mut writer = write_half;
    let mut reader = BufReader::new(conn);
    loop {
        match read_request(&mut reader, stop) {
            Ok(Some(req)) => {
                if let Some(ms) = req.header("x-test-delay-ms").and_then(|v| v.parse::<u64>().ok()) {
                    std::thread::sleep(Duration::from_millis(ms.min(5_000)));
                }
                let body = req.to_json().to_string();
                if let Ok(mut l) = log.lock() {
                    l.push(req.clone());
                }
                let close = req
                    .header("connection")
                    .is_some_and(|v| v.eq_ignore_ascii_case("close"));
                let mut resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-echo: 1\r\n",
                    body.len()
                );
                if close {
                    resp.push_str("connection: close\r\n");
                }
                resp.push_str("\r\n");
                if req.method != "HEAD" {
                    resp.push_str(&body);
                }
                if writer.write_all(resp.as_bytes()).is_err() || close {
                    return;
                }
            }
            Ok(None) | Err(_) => return,
        }
    }
}

/// A read that found nothing yet (its timeout passed) or was interrupted by a signal (a socket
/// with a receive timeout is not restarted after one): read again.
fn retryable(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// Reads one line, retrying on read timeouts until `stop`. `Ok(None)` at a clean EOF.
fn read_line(reader: &mut BufReader<TcpStream>, stop: &AtomicBool) -> io::Result<Option<String>> {
    let mut line = Vec::new();
    loop {
        if stop.load(Ordering::SeqCst) {
            return Ok(None);
        }
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => return Ok(None),
            Ok(_) if line.ends_with(b"\n") => {
                while matches!(line.last(), Some(b'\n' | b'\r')) {
                    line.pop();
                }
                return Ok(Some(String::from_utf8_lossy(&line).into_owned()));
            }
            Ok(_) => continue,
            Err(e) if retryable(&e) => continue,
            Err(e) => return Err(e),
        }
    }
}

fn read_request(reader: &mut BufReader<TcpStream>, stop: &AtomicBool) -> io::Result<Option<Echoed>> {
    let Some(request_line) = read_line(reader, stop)? else {
        return Ok(None);
    };
    let mut parts = request_line.splitn(3, ' ');
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let Some(line) = read_line(reader, stop)? else {
            return Ok(None);
        };
        if line.is_empty() {
            break;
        }
        if let Some((n, v)) = line.split_once(':') {
            headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let len = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let mut body = Vec::new();
    if chunked {
        loop {
            let Some(size_line) = read_line(reader, stop)? else {
                return Ok(None);
            };
            let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("0").trim(), 16).unwrap_or(0);
            if size == 0 {
                // Trailers until the empty line.
                while let Some(l) = read_line(reader, stop)? {
                    if l.is_empty() {
                        break;
                    }
                }
                break;
            }
            let mut chunk = vec![0u8; size.min(1 << 20)];
            read_exact_retry(reader, &mut chunk, stop)?;
            body.extend_from_slice(&chunk);
            let _ = read_line(reader, stop)?;
        }
    } else if len > 0 {
        body = vec![0u8; len.min(1 << 20)];
        read_exact_retry(reader, &mut body, stop)?;
    }
    Ok(Some(Echoed {
        method,
        path,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }))
}

fn read_exact_retry(reader: &mut BufReader<TcpStream>, buf: &mut [u8], stop: &AtomicBool) -> io::Result<()> {
    let mut done = 0;
    while done < buf.len() {
        if stop.load(Ordering::SeqCst) {
            return Err(io::Error::other("stopped"));
        }
        match reader.read(&mut buf[done..]) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => done += n,
            Err(e) if retryable(&e) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
