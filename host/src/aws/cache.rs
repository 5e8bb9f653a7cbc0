//! A shared, short-lived cache in front of the ELBv2 describe calls. Every Rollout behind one
//! ALB asks the same questions (the load balancer by name, its listeners, their rules, its
//! target groups and their tags, a target group's health); the first asker pays for one round
//! of requests and the others within `ttl` get the same answer. Concurrent askers of a question
//! not yet answered wait for the one request in flight (single flight). Failures are not
//! cached: the next asker tries again.
//!
//! Staleness is safe for the gates: a cached answer older than a weight change cannot show the
//! new weight, and a cached target list can only show a pod as still registered, which holds a
//! scale-down back. It delays a verdict by at most `ttl`.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use albatross_policy::HostError;
use albatross_policy::elb::{
    Listener, LoadBalancer, ResourceTags, Rule, TargetGroup, TargetHealth,
};
use tokio::sync::OnceCell;

use super::describe::Elbv2Api;
use super::metrics::Elbv2Metrics;

/// How long an answer is reused by default.
pub const DEFAULT_TTL: Duration = Duration::from_secs(5);

/// One question, with its arguments in a canonical order.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
enum Question {
    LoadBalancers(Vec<String>, Vec<String>),
    Listeners(String),
    Rules(String),
    TargetGroups(Option<String>, Vec<String>),
    Tags(Vec<String>),
    TargetHealth(String),
}

type Answer = Arc<dyn Any + Send + Sync>;

struct Entry {
    asked: Instant,
    answer: OnceCell<Answer>,
}

/// The describe calls behind a shared cache.
pub struct Elbv2Cache {
    api: Elbv2Api,
    ttl: Duration,
    entries: Mutex<HashMap<Question, Arc<Entry>>>,
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v.dedup();
    v
}

impl Elbv2Cache {
    /// A cache over `api` whose answers live `ttl`; a zero `ttl` turns caching off (every
    /// question is a request, the per-rollout pattern).
    pub fn new(api: Elbv2Api, ttl: Duration) -> Self {
        Elbv2Cache {
            api,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The request and cache counters.
    pub fn metrics(&self) -> &Arc<Elbv2Metrics> {
        self.api.metrics()
    }

    /// Forgets every answer (a new poll round starts now).
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    async fn ask<T, F>(&self, question: Question, operation: &str, fetch: F) -> Result<T, HostError>
    where
        T: Clone + Send + Sync + 'static,
        F: Future<Output = Result<T, HostError>>,
    {
        if self.ttl.is_zero() {
            self.metrics().cache(operation, false);
            return fetch.await;
        }
        let entry = {
            let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
            entries.retain(|_, e| e.asked.elapsed() < self.ttl);
            entries
                .entry(question)
                .or_insert_with(|| {
                    Arc::new(Entry {
                        asked: Instant::now(),
                        answer: OnceCell::new(),
                    })
                })
                .clone()
        };
        let mut fetched = false;
        let answer = entry
            .answer
            .get_or_try_init(|| async {
                fetched = true;
                fetch.await.map(|v| Arc::new(v) as Answer)
            })
            .await?;
        self.metrics().cache(operation, !fetched);
        answer
            .downcast_ref::<T>()
            .cloned()
            .ok_or_else(|| HostError::Invalid(format!("{operation}: the cache holds another type")))
    }

    /// DescribeLoadBalancers, cached.
    pub async fn describe_load_balancers(
        &self,
        names: &[String],
        arns: &[String],
    ) -> Result<Vec<LoadBalancer>, HostError> {
        let q = Question::LoadBalancers(sorted(names), sorted(arns));
        self.ask(
            q,
            "DescribeLoadBalancers",
            self.api.describe_load_balancers(names, arns),
        )
        .await
    }

    /// DescribeListeners, cached.
    pub async fn describe_listeners(&self, lb: &str) -> Result<Vec<Listener>, HostError> {
        let q = Question::Listeners(lb.to_string());
        self.ask(q, "DescribeListeners", self.api.describe_listeners(lb))
            .await
    }

    /// DescribeRules, cached.
    pub async fn describe_rules(&self, listener: &str) -> Result<Vec<Rule>, HostError> {
        let q = Question::Rules(listener.to_string());
        self.ask(q, "DescribeRules", self.api.describe_rules(listener))
            .await
    }

    /// DescribeTargetGroups, cached.
    pub async fn describe_target_groups(
        &self,
        lb: Option<&str>,
        arns: &[String],
    ) -> Result<Vec<TargetGroup>, HostError> {
        let q = Question::TargetGroups(lb.map(str::to_string), sorted(arns));
        self.ask(
            q,
            "DescribeTargetGroups",
            self.api.describe_target_groups(lb, arns),
        )
        .await
    }

    /// DescribeTags, cached.
    pub async fn describe_tags(&self, arns: &[String]) -> Result<Vec<ResourceTags>, HostError> {
        let q = Question::Tags(sorted(arns));
        self.ask(q, "DescribeTags", self.api.describe_tags(arns))
            .await
    }

    /// DescribeTargetHealth, cached.
    pub async fn describe_target_health(&self, tg: &str) -> Result<Vec<TargetHealth>, HostError> {
        let q = Question::TargetHealth(tg.to_string());
        self.ask(
            q,
            "DescribeTargetHealth",
            self.api.describe_target_health(tg),
        )
        .await
    }
}
