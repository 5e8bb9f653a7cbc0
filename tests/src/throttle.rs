//! A fault-injecting HTTP proxy in front of moto_server: in `Pass` mode it forwards each
//! request, in `Throttle` mode it answers as ELBv2 answers a throttled caller (HTTP 400,
//! code `Throttling`), in `Drop` mode it closes the connection without an answer. It serves
//! one request per connection and counts the requests it saw.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

/// What the proxy does with the next requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// Forward to moto.
    Pass = 0,
    /// Answer `Throttling`.
    Throttle = 1,
    /// Close the connection unanswered.
    Drop = 2,
}

/// A running proxy.
pub struct Proxy {
    /// Its base URL.
    pub url: String,
    mode: Arc<AtomicU8>,
    seen: Arc<AtomicU64>,
}

const THROTTLED: &str = "<ErrorResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\">\
<Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>\
<RequestId>5eed0000-0000-0000-0000-000000000000</RequestId></ErrorResponse>";

fn read_request(stream: &TcpStream) -> Option<Vec<u8>> {
    let mut reader = BufReader::new(stream);
    let mut head = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().ok()?;
        }
        head.extend_from_slice(line.as_bytes());
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    head.extend(body);
    Some(head)
}

fn serve(mut client: TcpStream, upstream: u16, mode: Mode) {
    let Some(request) = read_request(&client) else {
        return;
    };
    match mode {
        Mode::Drop => {}
        Mode::Throttle => {
            let _ = write!(
                client,
                "HTTP/1.1 400 Bad Request\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{THROTTLED}",
                THROTTLED.len()
            );
        }
        Mode::Pass => {
            let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                return;
            };
            let mut response = Vec::new();
            if server.write_all(&request).is_ok() && server.read_to_end(&mut response).is_ok() {
                let _ = client.write_all(&response);
            }
        }
    }
}

impl Proxy {
    /// A proxy on a free loopback port in front of `upstream` (a port on 127.0.0.1).
    pub fn start(upstream: u16) -> Proxy {
        let listener =
            TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("binding the proxy: {e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("proxy address: {e}"))
            .port();
        let mode = Arc::new(AtomicU8::new(Mode::Pass as u8));
        let seen = Arc::new(AtomicU64::new(0));
        let (m, n) = (mode.clone(), seen.clone());
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                n.fetch_add(1, Ordering::SeqCst);
                let mode = match m.load(Ordering::SeqCst) {
                    1 => Mode::Throttle,
                    2 => Mode::Drop,
                    _ => Mode::Pass,
                };
                std::thread::spawn(move || serve(client, upstream, mode));
            }
        });
        Proxy {
            url: format!("http://127.0.0.1:{port}"),
            mode,
            seen,
        }
    }

    /// Sets what the proxy does from now on.
    pub fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::SeqCst);
    }

    /// Connections (one request each) seen so far.
    pub fn seen(&self) -> u64 {
        self.seen.load(Ordering::SeqCst)
    }
}
