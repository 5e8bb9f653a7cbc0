//! Answering a strategy's import calls given by name with JSON arguments, for hosts that reach
//! the simulated world across a component boundary (`simulation.host-call`): `cluster.get`,
//! `elbv2.describe-rules`, `clock.now`, ... with the arguments as a JSON array in the order of
//! the WIT function, and the result as the JSON of its return value.

use albatross_policy::HostError;
use albatross_policy::host::{Event, Host, Level, ObjectKind, PatchType};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn arg<T: DeserializeOwned>(args: &[Value], i: usize, call: &str) -> Result<T, HostError> {
    let v = args.get(i).cloned().unwrap_or(Value::Null);
    serde_json::from_value(v).map_err(|e| HostError::Invalid(format!("{call}: argument {i}: {e}")))
}

fn out<T: Serialize>(v: &T) -> Result<String, HostError> {
    serde_json::to_string(v).map_err(|e| HostError::Invalid(format!("result: {e}")))
}

/// Calls the import `name` on `host` with `args_json` (a JSON array).
pub fn host_call<H: Host>(host: &mut H, name: &str, args_json: &str) -> Result<String, HostError> {
    let args: Vec<Value> = serde_json::from_str(args_json)
        .map_err(|e| HostError::Invalid(format!("{name}: arguments are not a JSON array: {e}")))?;
    let a = |i| arg::<String>(&args, i, name);
    let kind = || arg::<ObjectKind>(&args, 0, name);
    match name {
        "cluster.get" => out(&host.get(&kind()?, &a(1)?, &a(2)?)?),
        "cluster.list" => out(&host.list(&kind()?, &a(1)?, &a(2)?)?),
        "cluster.create" => out(&host.create(&kind()?, &a(1)?, &a(2)?)?),
        "cluster.patch" => {
            let pt: PatchType = arg(&args, 3, name)?;
            let sub: Option<String> = arg(&args, 5, name)?;
            out(&host.patch(&kind()?, &a(1)?, &a(2)?, pt, &a(4)?, sub.as_deref())?)
        }
        "cluster.delete" => out(&host.delete(&kind()?, &a(1)?, &a(2)?)?),
        "cluster.record-event" => out(&host.record_event(&arg::<Event>(&args, 0, name)?)?),
        "elbv2.describe-load-balancers" => out(&host.describe_load_balancers(
            &arg::<Vec<String>>(&args, 0, name)?,
            &arg::<Vec<String>>(&args, 1, name)?,
        )?),
        "elbv2.describe-listeners" => out(&host.describe_listeners(&a(0)?)?),
        "elbv2.describe-rules" => out(&host.describe_rules(&a(0)?)?),
        "elbv2.describe-target-groups" => {
            let lb: Option<String> = arg(&args, 0, name)?;
            out(&host
                .describe_target_groups(lb.as_deref(), &arg::<Vec<String>>(&args, 1, name)?)?)
        }
        "elbv2.describe-tags" => out(&host.describe_tags(&arg::<Vec<String>>(&args, 0, name)?)?),
        "elbv2.describe-target-health" => out(&host.describe_target_health(&a(0)?)?),
        "clock.now" => out(&host.now_millis()),
        "log.write" => {
            let level: Level = arg(&args, 0, name)?;
            let fields: Vec<(String, String)> = arg(&args, 2, name)?;
            let fields: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            host.log(level, &a(1)?, &fields);
            out(&())
        }
        other => Err(HostError::Invalid(format!("unknown import {other:?}"))),
    }
}
