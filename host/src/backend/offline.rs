//! The offline host: answers a module's imports when no cluster and no AWS account are
//! attached (`albatross policy`). The pure functions never call an import; a call that does
//! is refused with a typed `forbidden` error that says why. The clock is the system clock and
//! log lines go to tracing.

use albatross_policy::HostError;
use albatross_policy::elb::{
    Listener, LoadBalancer, ResourceTags, Rule, TargetGroup, TargetHealth,
};
use albatross_policy::host::{Event, Host, Level, ObjectKind, PatchType};

use crate::backend::{log_to_tracing, system_millis};

/// Refuses all I/O; see the module docs.
#[derive(Debug, Default, Clone, Copy)]
pub struct OfflineHost;

fn refuse<T>(call: &str) -> Result<T, HostError> {
    Err(HostError::Forbidden(format!(
        "{call}: this host is offline (albatross policy runs pure functions; no cluster or AWS is attached)"
    )))
}

impl Host for OfflineHost {
    fn get(&mut self, kind: &ObjectKind, ns: &str, name: &str) -> Result<String, HostError> {
        refuse(&format!("get {} {ns}/{name}", kind.kind))
    }

    fn list(
        &mut self,
        kind: &ObjectKind,
        ns: &str,
        _selector: &str,
    ) -> Result<Vec<String>, HostError> {
        refuse(&format!("list {} in {ns}", kind.kind))
    }

    fn create(&mut self, kind: &ObjectKind, ns: &str, _json: &str) -> Result<String, HostError> {
        refuse(&format!("create {} in {ns}", kind.kind))
    }

    fn patch(
        &mut self,
        kind: &ObjectKind,
        ns: &str,
        name: &str,
        _patch_type: PatchType,
        _patch_json: &str,
        _subresource: Option<&str>,
    ) -> Result<String, HostError> {
        refuse(&format!("patch {} {ns}/{name}", kind.kind))
    }

    fn delete(&mut self, kind: &ObjectKind, ns: &str, name: &str) -> Result<(), HostError> {
        refuse(&format!("delete {} {ns}/{name}", kind.kind))
    }

    fn record_event(&mut self, event: &Event) -> Result<(), HostError> {
        refuse(&format!("record event {}", event.reason))
    }

    fn describe_load_balancers(
        &mut self,
        _n: &[String],
        _a: &[String],
    ) -> Result<Vec<LoadBalancer>, HostError> {
        refuse("DescribeLoadBalancers")
    }

    fn describe_listeners(&mut self, _lb: &str) -> Result<Vec<Listener>, HostError> {
        refuse("DescribeListeners")
    }

    fn describe_rules(&mut self, _listener: &str) -> Result<Vec<Rule>, HostError> {
        refuse("DescribeRules")
    }

    fn describe_target_groups(
        &mut self,
        _lb: Option<&str>,
        _a: &[String],
    ) -> Result<Vec<TargetGroup>, HostError> {
        refuse("DescribeTargetGroups")
    }

    fn describe_tags(&mut self, _a: &[String]) -> Result<Vec<ResourceTags>, HostError> {
        refuse("DescribeTags")
    }

    fn describe_target_health(&mut self, _tg: &str) -> Result<Vec<TargetHealth>, HostError> {
        refuse("DescribeTargetHealth")
    }

    fn now_millis(&mut self) -> u64 {
        system_millis()
    }

    fn log(&mut self, level: Level, message: &str, fields: &[(&str, &str)]) {
        log_to_tracing(level, message, fields);
    }
}
