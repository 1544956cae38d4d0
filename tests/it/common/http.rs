//! A tiny HTTP/1.1 server on 127.0.0.1 for tests: it serves what a test maps paths to, honours
//! `Range`, can cut a body short the first time (a broken download), and records every request.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// One request the server saw: its method, path and `Range` header, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub range: Option<String>,
}

/// What a path serves.
#[derive(Clone)]
pub struct Route {
    pub body: Vec<u8>,
    pub content_type: &'static str,
    /// Serve only this many bytes, then close, the first time the path is fetched (GET).
    pub cut_first_at: Option<usize>,
}

pub struct Server {
    pub base: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

fn parse_range(range: &str, len: usize) -> Option<usize> {
    range
        .strip_prefix("bytes=")?
        .split('-')
        .next()?
        .parse()
        .ok()
        .filter(|&s| s < len)
}

fn handle(stream: std::net::TcpStream, routes: &HashMap<String, Route>, seen: &Mutex<Vec<Seen>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or("").to_string(),
    );
    let mut range = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("range") {
                range = Some(v.trim().to_string());
            }
        }
    }
    let first = {
        let mut s = seen.lock().unwrap();
        // A HEAD request does not use up the broken first transfer.
        let first = !s.iter().any(|x| x.path == path && x.method == "GET");
        s.push(Seen {
            method: method.to_string(),
            path: path.clone(),
            range: range.clone(),
        });
        first
    };
    let mut out = stream;
    let Some(route) = routes.get(&path) else {
        let _ = out
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    };
    let start = range
        .as_deref()
        .and_then(|r| parse_range(r, route.body.len()))
        .unwrap_or(0);
    let status = if start > 0 {
        "206 Partial Content"
    } else {
        "200 OK"
    };
    let body = &route.body[start..];
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {}\r\nContent-Length: {}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n",
        route.content_type,
        body.len()
    );
    let _ = out.write_all(head.as_bytes());
    if method == "HEAD" {
        return;
    }
    let send = match route.cut_first_at {
        Some(n) if first => &body[..n.min(body.len())],
        _ => body,
    };
    let _ = out.write_all(send);
}

impl Server {
    /// Serves `routes` (path → route) until the test ends.
    pub fn start(routes: HashMap<String, Route>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (routes, log) = (Arc::new(routes), seen.clone());
        std::thread::Builder::new()
            .name("test-http".into())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    let (routes, log) = (routes.clone(), log.clone());
                    let _ = std::thread::Builder::new()
                        .name("test-http-conn".into())
                        .spawn(move || handle(stream, &routes, &log));
                }
            })
            .unwrap();
        Server { base, seen }
    }
}
