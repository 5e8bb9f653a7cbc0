//! Header routes: the `actions.<route>` and `conditions.<route>` annotations a setHeaderRoute
//! step writes (requests whose headers match go to the canary only), and the parser of a
//! `conditions.<name>` value.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::action::{Annotation, Destinations, action_value};
use crate::error::{Result, StrategyError};
use crate::gojson::{self, get_ci};
use crate::pingpong::service_roles;
use crate::spec::{Rollout, SetHeaderRoute};

/// One http-header condition (the WIT `header-condition`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderCondition {
    /// The HTTP header name.
    pub header_name: String,
    /// The values it may have; ALB wildcards `*` and `?` allowed.
    pub values: Vec<String>,
}

/// A condition as Argo Rollouts writes it: camelCase keys (the action JSON is PascalCase).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArgoCondition<'a> {
    field: &'static str,
    http_header_config: ArgoHeaderConfig<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArgoHeaderConfig<'a> {
    http_header_name: &'a str,
    values: Vec<String>,
}

fn find_route<'a>(rollout: &'a Rollout, name: &str) -> Result<&'a SetHeaderRoute> {
    rollout
        .canary()?
        .steps
        .iter()
        .filter_map(|s| s.set_header_route.as_ref())
        .find(|r| r.name == name)
        .ok_or_else(|| {
            StrategyError::field(
                &rollout.display_name(),
                "spec.strategy.canary.steps",
                format!("no setHeaderRoute step is named {name:?}"),
            )
        })
}

/// The annotations of the setHeaderRoute step named `route_name`: `actions.<route>` forwards
/// to the canary at weight 100 (with the Rollout's stickiness), `conditions.<route>` holds one
/// http-header condition per distinct header name, in the order first seen, with the values of
/// every match on that header (an exact value as is, a prefix as `prefix*`): the ALB ANDs
/// conditions and ORs the values inside one, so two matches on one header mean either value.
/// A step with no matches removes the route, so it yields no annotations.
pub fn build_header_route(rollout: &Rollout, route_name: &str) -> Result<Vec<Annotation>> {
    let route = find_route(rollout, route_name)?;
    if route.matches.is_empty() {
        return Ok(Vec::new());
    }
    let alb = rollout.alb()?;
    let roles = service_roles(rollout)?;
    let mut conditions: Vec<ArgoCondition<'_>> = Vec::new();
    for (i, m) in route.matches.iter().enumerate() {
        let value = match (&m.header_value.exact, &m.header_value.prefix) {
            (Some(exact), None) => exact.clone(),
            (None, Some(prefix)) => format!("{prefix}*"),
            _ => {
                return Err(StrategyError::field(
                    &rollout.display_name(),
                    format!("setHeaderRoute[{route_name}].match[{i}].headerValue"),
                    "set exactly one of exact or prefix (an ALB cannot match by regex)",
                ));
            }
        };
        match conditions
            .iter_mut()
            .find(|c| c.http_header_config.http_header_name == m.header_name)
        {
            Some(c) => c.http_header_config.values.push(value),
            None => conditions.push(ArgoCondition {
                field: "http-header",
                http_header_config: ArgoHeaderConfig {
                    http_header_name: &m.header_name,
                    values: vec![value],
                },
            }),
        }
    }
    let prefix = alb.prefix();
    Ok(vec![
        Annotation {
            key: format!("{prefix}/actions.{route_name}"),
            value: action_value(&Destinations {
                services: &[(roles.canary_service.as_str(), 100)],
                port: alb.service_port,
                stickiness: alb.stickiness_config.as_ref(),
            }),
        },
        Annotation {
            key: format!("{prefix}/conditions.{route_name}"),
            value: serde_json::to_string(&conditions).unwrap_or_default(),
        },
    ])
}

fn malformed(msg: String) -> StrategyError {
    StrategyError::Malformed(msg)
}

/// Parses a `conditions.<name>` value into its http-header conditions, reading keys in any
/// case as the AWS Load Balancer Controller does (the last of keys equal but for case wins).
/// Other condition fields are refused, as is a header condition with both `values` and
/// `regexValues` (the controller refuses it): a header route holds header conditions only.
pub fn parse_conditions(value: &str) -> Result<Vec<HeaderCondition>> {
    let root: Value = gojson::parse(value)
        .map_err(|e| malformed(format!("conditions annotation is not JSON: {e}")))?;
    let list = root
        .as_array()
        .ok_or_else(|| malformed("conditions annotation must be a JSON list".to_string()))?;
    list.iter()
        .enumerate()
        .map(|(i, c)| {
            let at = format!("conditions[{i}]");
            let c = c
                .as_object()
                .ok_or_else(|| malformed(format!("{at} must be an object")))?;
            let field = get_ci(c, "Field").and_then(Value::as_str).unwrap_or("");
            if field != "http-header" {
                return Err(malformed(format!(
                    "{at}.Field is {field:?}; a header route holds http-header conditions only"
                )));
            }
            let cfg = get_ci(c, "HttpHeaderConfig")
                .and_then(Value::as_object)
                .ok_or_else(|| malformed(format!("{at} has no HttpHeaderConfig object")))?;
            let header_name = get_ci(cfg, "HttpHeaderName")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| malformed(format!("{at}.HttpHeaderConfig has no HttpHeaderName")))?
                .to_string();
            let non_empty = |k: &str| {
                get_ci(cfg, k)
                    .and_then(Value::as_array)
                    .is_some_and(|a| !a.is_empty())
            };
            if non_empty("RegexValues") && non_empty("Values") {
                return Err(malformed(format!(
                    "{at}.HttpHeaderConfig sets both Values and RegexValues; precisely one of \
                     them can be set"
                )));
            }
            let values = get_ci(cfg, "Values")
                .and_then(Value::as_array)
                .ok_or_else(|| malformed(format!("{at}.HttpHeaderConfig.Values must be a list")))?
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_string).ok_or_else(|| {
                        malformed(format!("{at}.HttpHeaderConfig.Values must hold strings"))
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(HeaderCondition {
                header_name,
                values,
            })
        })
        .collect()
}
