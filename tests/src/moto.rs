//! A real ELBv2 API emulator for the tests: `moto_server` (PyPI `moto[server]`) started on a
//! free loopback port, stopped when dropped, and the VPC with two subnets in two zones that
//! moto's CreateLoadBalancer needs. Credentials are dummies; each test uses its own server.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running moto_server.
pub struct Moto {
    child: Child,
    /// Its base URL, `http://127.0.0.1:<port>`.
    pub url: String,
    /// Its port.
    pub port: u16,
}

/// A free loopback port (bound and released; good enough for a test).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("binding: {e}"));
    listener
        .local_addr()
        .unwrap_or_else(|e| panic!("local addr: {e}"))
        .port()
}

/// Sets the dummy credentials the SDK's default chain reads.
pub fn dummy_credentials() {
    // SAFETY: the variables are set to the same values by every test before any client is
    // built, so a concurrent reader sees either nothing or these values.
    unsafe {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    }
}

impl Moto {
    /// Starts moto_server and waits until it answers. Panics with how to install it when the
    /// executable is missing.
    pub fn start() -> Moto {
        dummy_credentials();
        let port = free_port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start moto_server ({e}): install it with pip install 'moto[server]'")
            });
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
            port,
        }
    }

    /// Sends one EC2 Query API request and returns the response body. moto picks the service
    /// and the region from the credential scope of the Authorization header; it does not
    /// check the signature.
    pub fn ec2(&self, region: &str, params: &[(&str, &str)]) -> String {
        let body: String = params
            .iter()
            .chain([("Version", "2016-11-15")].iter())
            .map(|(k, v)| format!("{k}={}", v.replace('/', "%2F")))
            .collect::<Vec<_>>()
            .join("&");
        let request = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/ec2/aws4_request, SignedHeaders=host, Signature=0\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len(),
            port = self.port
        );
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))
            .unwrap_or_else(|e| panic!("connecting to moto: {e}"));
        stream
            .write_all(request.as_bytes())
            .unwrap_or_else(|e| panic!("writing to moto: {e}"));
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .unwrap_or_else(|e| panic!("reading from moto: {e}"));
        assert!(
            response.starts_with("HTTP/1.1 200") || response.starts_with("HTTP/1.0 200"),
            "EC2 {params:?} failed: {response}"
        );
        response
    }

    /// A VPC and two subnets in two zones of `region`: (vpc id, subnet ids).
    pub fn network(&self, region: &str) -> (String, Vec<String>) {
        let vpc = xml_value(
            &self.ec2(
                region,
                &[("Action", "CreateVpc"), ("CidrBlock", "10.0.0.0/16")],
            ),
            "vpcId",
        );
        let subnets = ["a", "b"]
            .iter()
            .enumerate()
            .map(|(i, zone)| {
                let cidr = format!("10.0.{}.0/24", i + 1);
                let az = format!("{region}{zone}");
                xml_value(
                    &self.ec2(
                        region,
                        &[
                            ("Action", "CreateSubnet"),
                            ("VpcId", &vpc),
                            ("CidrBlock", &cidr),
                            ("AvailabilityZone", &az),
                        ],
                    ),
                    "subnetId",
                )
            })
            .collect();
        (vpc, subnets)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text of the first `<tag>` element in an XML body.
pub fn xml_value(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let start = xml
        .find(&open)
        .map(|i| i + open.len())
        .unwrap_or_else(|| panic!("no <{tag}> in {xml}"));
    let end = xml[start..]
        .find('<')
        .map(|i| start + i)
        .unwrap_or_else(|| panic!("unterminated <{tag}> in {xml}"));
    xml[start..end].to_string()
}
