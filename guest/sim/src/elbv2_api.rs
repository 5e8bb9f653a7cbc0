//! The simulated ELBv2 describe API one request at a time, with AWS's limits: DescribeLoadBalancers,
//! DescribeTargetGroups and DescribeRules return at most [`PAGE_SIZE`] items a page and a
//! marker to the rest; DescribeLoadBalancers and DescribeTargetGroups take at most [`MAX_IDS`]
//! names or ARNs and DescribeTags at most [`MAX_IDS`] ARNs in one request, and refuse more with
//! a `ValidationError`; a name or ARN that does not exist fails the request, as AWS fails it.
//! The strategy's imports in `host.rs` page and batch over these as the real host does, so a
//! simulation exercises both.

use albatross_policy::HostError;
use albatross_policy::elb::{LoadBalancer, ResourceTags, Rule, TargetGroup};

use crate::lbc::Elb;

/// The most items one page holds (AWS's maximum PageSize, and its default).
pub const PAGE_SIZE: usize = 400;
/// The most names or ARNs one request may carry.
pub const MAX_IDS: usize = 20;

/// One page of a describe call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Where the next page starts, when there is one (`NextMarker`).
    pub next_marker: Option<String>,
}

/// Cuts the page that starts at `marker` out of `all`.
fn page<T>(api: &str, all: Vec<T>, marker: Option<&str>) -> Result<Page<T>, HostError> {
    let start = match marker {
        None => 0,
        Some(m) => m
            .strip_prefix("sim-page-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= all.len())
            .ok_or_else(|| {
                HostError::Invalid(format!("{api}: ValidationError: invalid marker {m:?}"))
            })?,
    };
    let end = (start + PAGE_SIZE).min(all.len());
    let next_marker = (end < all.len()).then(|| format!("sim-page-{end}"));
    Ok(Page {
        items: all.into_iter().skip(start).take(end - start).collect(),
        next_marker,
    })
}

/// Refuses a request with more than [`MAX_IDS`] values in `field`.
fn check_ids(api: &str, field: &str, ids: &[String]) -> Result<(), HostError> {
    if ids.len() > MAX_IDS {
        return Err(HostError::Invalid(format!(
            "{api}: ValidationError: 1 validation error detected: value at '{field}' failed to \
             satisfy constraint: member must have length less than or equal to {MAX_IDS} ({} given)",
            ids.len()
        )));
    }
    Ok(())
}

/// Fails a request naming something that does not exist, with AWS's error code.
fn check_found(code: &str, asked: &[String], found: &[&str]) -> Result<(), HostError> {
    let missing: Vec<&str> = asked
        .iter()
        .map(String::as_str)
        .filter(|a| !found.contains(a))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(HostError::NotFound(format!(
        "{code}: {}",
        missing.join(", ")
    )))
}

impl Elb {
    /// One DescribeLoadBalancers request: by names, by ARNs, or every load balancer.
    pub fn describe_load_balancers_page(
        &self,
        names: &[String],
        arns: &[String],
        marker: Option<&str>,
    ) -> Result<Page<LoadBalancer>, HostError> {
        const API: &str = "DescribeLoadBalancers";
        check_ids(API, "names", names)?;
        check_ids(API, "loadBalancerArns", arns)?;
        let all = names.is_empty() && arns.is_empty();
        let found: Vec<LoadBalancer> = self
            .albs
            .values()
            .filter(|a| all || names.contains(&a.lb.name) || arns.contains(&a.lb.arn))
            .map(|a| a.lb.clone())
            .collect();
        let found_names: Vec<&str> = found.iter().map(|l| l.name.as_str()).collect();
        check_found("LoadBalancerNotFound", names, &found_names)?;
        let found_arns: Vec<&str> = found.iter().map(|l| l.arn.as_str()).collect();
        check_found("LoadBalancerNotFound", arns, &found_arns)?;
        page(API, found, marker)
    }

    /// One DescribeTargetGroups request: of one load balancer, by ARNs, or every one.
    pub fn describe_target_groups_page(
        &self,
        lb: Option<&str>,
        arns: &[String],
        marker: Option<&str>,
    ) -> Result<Page<TargetGroup>, HostError> {
        const API: &str = "DescribeTargetGroups";
        check_ids(API, "targetGroupArns", arns)?;
        let found: Vec<TargetGroup> = self
            .target_groups
            .values()
            .filter(|t| lb.is_none_or(|lb| t.tg.load_balancer_arns.iter().any(|a| a == lb)))
            .filter(|t| arns.is_empty() || arns.contains(&t.tg.arn))
            .map(|t| t.tg.clone())
            .collect();
        let found_arns: Vec<&str> = found.iter().map(|t| t.arn.as_str()).collect();
        check_found("TargetGroupNotFound", arns, &found_arns)?;
        page(API, found, marker)
    }

    /// One DescribeRules request of a listener.
    pub fn describe_rules_page(
        &self,
        listener: &str,
        marker: Option<&str>,
    ) -> Result<Page<Rule>, HostError> {
        let rules = self
            .albs
            .values()
            .find(|a| a.listener.arn == listener)
            .map(|a| a.rules.clone())
            .ok_or_else(|| HostError::NotFound(format!("ListenerNotFound: {listener}")))?;
        page("DescribeRules", rules, marker)
    }

    /// One DescribeTags request: the tags of each load balancer or target group named (one
    /// that does not exist is left out).
    pub fn describe_tags_request(&self, arns: &[String]) -> Result<Vec<ResourceTags>, HostError> {
        check_ids("DescribeTags", "resourceArns", arns)?;
        Ok(arns
            .iter()
            .filter_map(|a| {
                let tags = self
                    .target_groups
                    .get(a)
                    .map(|t| t.tags.clone())
                    .or_else(|| {
                        self.albs
                            .values()
                            .find(|x| &x.lb.arn == a)
                            .map(|_| Vec::new())
                    })?;
                Some(ResourceTags {
                    resource_arn: a.clone(),
                    tags,
                })
            })
            .collect())
    }
}
