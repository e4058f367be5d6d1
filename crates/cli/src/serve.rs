//! `bertlens serve`: a static file server for `www/` on the loopback
//! interface. It needs nothing a static host lacks: plain files with their
//! content types (`.wasm` as `application/wasm`), no special headers.

use std::net::IpAddr;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use tiny_http::{Header, Method, Response, Server, StatusCode};

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
    let listener = std::net::TcpListener::bind((ip, port))
        .map_err(|e| format!("cannot listen on {host}:{port}: {e}"))?;
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(port);
    let server = Server::from_listener(listener, None).map_err(|e| format!("cannot serve: {e}"))?;
    let shown = if ip.is_ipv6() {
        format!("[{ip}]")
    } else {
        ip.to_string()
    };
    eprintln!(
        "bertlens: serving {} on http://{shown}:{port}/ (Ctrl-C stops)",
        dir.display()
    );
    for request in server.incoming_requests() {
        let method = request.method().clone();
        if method != Method::Get && method != Method::Head {
            let _ = request.respond(Response::empty(StatusCode(405)));
            continue;
        }
        let file =
            resolve(dir, request.url()).and_then(|p| std::fs::File::open(&p).ok().map(|f| (p, f)));
        let result = match file {
            Some((path, f)) => {
                let ct =
                    Header::from_bytes("Content-Type", content_type(&path)).expect("valid header");
                let cache = Header::from_bytes("Cache-Control", "no-cache").expect("valid header");
                request.respond(Response::from_file(f).with_header(ct).with_header(cache))
            }
            None => request.respond(Response::from_string("not found").with_status_code(404)),
        };
        if let Err(e) = result {
            eprintln!("bertlens: {e}");
        }
    }
    Ok(ExitCode::SUCCESS)
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
}
