//! Counters of the ELBv2 requests sent and of the cache's answers, registered in a Prometheus
//! registry: `albatross_elbv2_requests_total{operation}` (every HTTP request, each page
//! counted) and `albatross_elbv2_cache_total{operation,result="hit|miss"}`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// The label of a request counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabel {
    /// The ELBv2 operation, e.g. `DescribeRules`.
    pub operation: String,
}

/// The labels of a cache counter.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    /// The ELBv2 operation.
    pub operation: String,
    /// `hit` or `miss`.
    pub result: String,
}

/// The ELBv2 counters.
#[derive(Debug, Default)]
pub struct Elbv2Metrics {
    requests: Family<OperationLabel, Counter>,
    cache: Family<CacheLabels, Counter>,
}

impl Elbv2Metrics {
    /// Fresh counters, not yet registered anywhere.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the counters in `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "albatross_elbv2_requests",
            "ELBv2 API requests sent, each page counted",
            self.requests.clone(),
        );
        registry.register(
            "albatross_elbv2_cache",
            "ELBv2 describe calls answered from the shared cache (hit) or by AWS (miss)",
            self.cache.clone(),
        );
    }

    /// Counts one request of `operation`.
    pub fn call(&self, operation: &str) {
        self.requests
            .get_or_create(&OperationLabel {
                operation: operation.to_string(),
            })
            .inc();
    }

    /// Counts one cache answer.
    pub fn cache(&self, operation: &str, hit: bool) {
        self.cache
            .get_or_create(&CacheLabels {
                operation: operation.to_string(),
                result: if hit { "hit" } else { "miss" }.to_string(),
            })
            .inc();
    }

    /// Requests of `operation` sent so far.
    pub fn requests(&self, operation: &str) -> u64 {
        self.requests
            .get_or_create(&OperationLabel {
                operation: operation.to_string(),
            })
            .get()
    }

    /// Requests of every operation sent so far.
    pub fn total_requests(&self) -> u64 {
        OPERATIONS.iter().map(|op| self.requests(op)).sum()
    }
}

/// The operations counted.
pub const OPERATIONS: [&str; 6] = [
    "DescribeLoadBalancers",
    "DescribeListeners",
    "DescribeRules",
    "DescribeTargetGroups",
    "DescribeTags",
    "DescribeTargetHealth",
];
