//! Building the ELBv2 client: the AWS default credential chain (environment, shared profile,
//! IRSA web identity, container and instance metadata), a region and an endpoint URL that a
//! user can override (for other partitions, and for tests against an emulator), the SDK's
//! adaptive retry for throttling and 5xx, timeouts, and rustls over ring as the only TLS stack.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_elasticloadbalancingv2::Client;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

/// How to reach ELBv2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsOptions {
    /// The region; None takes it from the environment or profile.
    pub region: Option<String>,
    /// Another endpoint (an emulator, a VPC endpoint, another partition); None for the
    /// region's public endpoint.
    pub endpoint_url: Option<String>,
    /// Attempts per call, the first included, before a throttled or failing call is given up.
    pub max_attempts: u32,
    /// The SDK's adaptive retry (a client-side rate limiter that slows down after throttling,
    /// on top of backoff); false for standard retry (backoff only).
    pub adaptive: bool,
    /// The first retry's backoff; later ones grow exponentially with jitter.
    pub initial_backoff: Duration,
    /// How long one attempt may take.
    pub attempt_timeout: Duration,
    /// Items per page for the paged describe calls; None for the API's default.
    pub page_size: Option<i32>,
}

impl Default for AwsOptions {
    fn default() -> Self {
        AwsOptions {
            region: None,
            endpoint_url: None,
            max_attempts: 3,
            adaptive: true,
            initial_backoff: Duration::from_millis(500),
            attempt_timeout: Duration::from_secs(10),
            page_size: None,
        }
    }
}

/// Installs rustls's ring provider as the process default (once; later calls are no-ops), so
/// that no other crypto provider is ever picked implicitly.
pub fn install_crypto_provider() {
    // An error means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The ELBv2 client for `options`, with credentials from the default chain.
pub async fn elbv2_client(options: &AwsOptions) -> Client {
    install_crypto_provider();
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let retry = if options.adaptive {
        RetryConfig::adaptive()
    } else {
        RetryConfig::standard()
    };
    let retry = retry
        .with_max_attempts(options.max_attempts.max(1))
        .with_initial_backoff(options.initial_backoff);
    let timeouts = TimeoutConfig::builder()
        .operation_attempt_timeout(options.attempt_timeout)
        .connect_timeout(Duration::from_secs(3))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(retry)
        .timeout_config(timeouts);
    if let Some(region) = &options.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    Client::new(&loader.load().await)
}
