//! `bertlens serve`: a static file server for `www/` on the loopback
//! interface. It needs nothing a static host lacks: plain files with their
//! content types (`.wasm` as `application/wasm`), no special headers. Each
//! connection has its own thread, so a model download never holds up the
//! page's small files. A connection that stays quiet is closed after a few
//! seconds, and past a limit of open connections the next one waits for a
//! slot (the kernel holds it) instead of being dropped: a browser with many
//! tabs and workers, each keeping its connections alive, is slowed, never
//! refused.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

pub fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "wasm" => "application/wasm",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "txt" | "md" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The file a request path names under `root`, refusing anything that
/// would step outside it.
pub fn resolve(root: &Path, url: &str) -> Option<PathBuf> {
    let path = url.split(['?', '#']).next().unwrap_or("/");
    let decoded = percent_decode(path)?;
    let mut out = root.to_path_buf();
    for c in Path::new(decoded.trim_start_matches('/')).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    if out.is_dir() {
        out.push("index.html");
    }
    Some(out)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

pub fn run(dir: &Path, host: &str, port: u16) -> Result<ExitCode, String> {
    let ip: IpAddr = host
        .parse()
        .map_err(|_| format!("--host {host:?} is not an IP address (use 127.0.0.1)"))?;
    if !ip.is_loopback() {
        return Err(format!(
            "--host {host} is not a loopback address: bertlens serves only this machine (127.0.0.1, ::1)"
        ));
    }
    if !dir.join("index.html").is_file() {
        return Err(format!(
            "{} has no index.html: is this the www/ folder?",
            dir.display()
        ));
    }
    let listener = TcpListener::bind((ip, port))
        .map_err(|e| format!("cannot listen on {host}:{port}: {e}"))?;
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
    let shown = if ip.is_ipv6() {
        format!("[{ip}]")
    } else {
        ip.to_string()
    };
    eprintln!(
        "bertlens: serving {} on http://{shown}:{port}/ (Ctrl-C stops)",
        dir.display()
    );
    serve(listener, dir, Limits::default());
    Ok(ExitCode::SUCCESS)
}

/// How many connections are served at once, and how long one may stay quiet.
#[derive(Clone, Copy, Debug)]
struct Limits {
    connections: usize,
    idle: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        // Chromium keeps up to 6 connections a host per profile, and a page's
        // workers share them; idle ones are given back after `idle`.
        Limits {
            connections: 256,
            idle: Duration::from_secs(10),
        }
    }
}

/// Counts the connections being served; `enter` waits while all slots are taken.
struct Slots {
    open: Mutex<usize>,
    freed: Condvar,
    max: usize,
}

impl Slots {
    fn enter(&self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if *open >= self.max {
            eprintln!(
                "bertlens: {} connections are open; the next waits until one closes",
                self.max
            );
        }
        while *open >= self.max {
            open = self.freed.wait(open).unwrap_or_else(|e| e.into_inner());
        }
        *open += 1;
    }

    fn leave(&self) {
        *self.open.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        self.freed.notify_one();
    }
}

const MAX_HEADER_BYTES: u64 = 16 << 10;

fn serve(listener: TcpListener, dir: &Path, limits: Limits) {
    let slots = Arc::new(Slots {
        open: Mutex::new(0),
        freed: Condvar::new(),
        max: limits.connections,
    });
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        // A flood waits its turn (in the kernel's queue) rather than spawning a thread each.
        slots.enter();
        let (dir, slots) = (dir.to_path_buf(), slots.clone());
        std::thread::spawn(move || {
            let _ = serve_connection(&dir, stream, limits.idle);
            slots.leave();
        });
    }
}

/// Answers the requests of one connection, keeping it open between them
/// (HTTP/1.1 keep-alive) until the client closes it or goes quiet.
fn serve_connection(dir: &Path, stream: TcpStream, idle: Duration) -> std::io::Result<()> {
    stream.set_read_timeout(Some(idle))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let mut head = Vec::new();
        // The request line and headers, up to the blank line.
        loop {
            let n = (&mut reader)
                .take(MAX_HEADER_BYTES)
                .read_until(b'\n', &mut head)?;
            if n == 0 {
                return Ok(()); // closed
            }
            if head.ends_with(b"\r\n\r\n") || head.ends_with(b"\n\n") {
                break;
            }
            if head.len() as u64 > MAX_HEADER_BYTES {
                return write_status(&mut out, 431, "Request Header Fields Too Large");
            }
        }
        let head = String::from_utf8_lossy(&head);
        let mut lines = head.lines();
        let mut request = lines.next().unwrap_or("").split_whitespace();
        let (method, target, version) = (request.next(), request.next(), request.next());
        let mut keep_alive = version == Some("HTTP/1.1");
        for line in lines {
            if let Some((k, v)) = line.split_once(':') {
                if k.trim().eq_ignore_ascii_case("connection") {
                    match v.trim().to_ascii_lowercase().as_str() {
                        "close" => keep_alive = false,
                        "keep-alive" => keep_alive = true,
                        _ => {}
                    }
                }
            }
        }
        let (Some(method), Some(target)) = (method, target) else {
            return write_status(&mut out, 400, "Bad Request");
        };
        if method != "GET" && method != "HEAD" {
            // A body may follow that is not read: answer and close.
            return write_status(&mut out, 405, "Method Not Allowed");
        }
        let file = resolve(dir, target).and_then(|p| {
            let f = std::fs::File::open(&p).ok()?;
            let len = f.metadata().ok().filter(|m| m.is_file())?.len();
            Some((p, f, len))
        });
        let connection = if keep_alive { "keep-alive" } else { "close" };
        match file {
            Some((path, mut f, len)) => {
                write!(
                    out,
                    "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {len}\r\n\
                     Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n\
                     Connection: {connection}\r\n\r\n",
                    content_type(&path)
                )?;
                if method == "GET" {
                    std::io::copy(&mut f, &mut out)?;
                }
            }
            None => {
                let body = "not found";
                write!(
                    out,
                    "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\n\
                     Content-Length: {}\r\nConnection: {connection}\r\n\r\n",
                    body.len()
                )?;
                if method == "GET" {
                    out.write_all(body.as_bytes())?;
                }
            }
        }
        out.flush()?;
        if !keep_alive {
            return Ok(());
        }
    }
}

fn write_status(out: &mut TcpStream, code: u16, reason: &str) -> std::io::Result<()> {
    write!(
        out,
        "HTTP/1.1 {code} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_root() {
        let root = Path::new("/srv/www");
        assert_eq!(
            resolve(root, "/pkg/a.wasm?v=1"),
            Some(PathBuf::from("/srv/www/pkg/a.wasm"))
        );
        assert_eq!(resolve(root, "/../etc/passwd"), None);
        assert_eq!(resolve(root, "/%2e%2e/etc/passwd"), None);
        assert_eq!(
            resolve(root, "/a%20b.json"),
            Some(PathBuf::from("/srv/www/a b.json"))
        );
        assert_eq!(content_type(Path::new("x.wasm")), "application/wasm");
        assert_eq!(
            content_type(Path::new("x.js")),
            "text/javascript; charset=utf-8"
        );
    }

    fn get(url: std::net::SocketAddr) -> String {
        let mut c = TcpStream::connect(url).unwrap();
        c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut got = String::new();
        c.read_to_string(&mut got).unwrap();
        got
    }

    /// Past the limit a connection waits for a quiet one to be closed; it is never dropped.
    #[test]
    fn a_connection_past_the_limit_waits_for_a_slot() {
        let dir = std::env::temp_dir().join(format!("bertlens-serve-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.html"), "<p>hi</p>").unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let limits = Limits {
            connections: 2,
            idle: Duration::from_millis(300),
        };
        let root = dir.clone();
        std::thread::spawn(move || serve(listener, &root, limits));
        // Two kept-alive connections that go quiet take both slots…
        let quiet: Vec<TcpStream> = (0..2)
            .map(|_| {
                let mut c = TcpStream::connect(addr).unwrap();
                c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
                // The whole answer, and the connection stays open.
                let mut got = Vec::new();
                let mut buf = [0u8; 256];
                while !got.ends_with(b"<p>hi</p>") {
                    let n = c.read(&mut buf).unwrap();
                    assert!(n > 0, "closed early");
                    got.extend_from_slice(&buf[..n]);
                }
                assert!(got.starts_with(b"HTTP/1.1 200 OK"));
                c
            })
            .collect();
        // …and a third is answered once the server closes one of them.
        let got = get(addr);
        assert!(got.starts_with("HTTP/1.1 200 OK"), "{got}");
        assert!(got.ends_with("<p>hi</p>"), "{got}");
        // The quiet ones were closed by the server.
        for mut c in quiet {
            let mut rest = Vec::new();
            assert_eq!(c.read_to_end(&mut rest).unwrap(), 0);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
