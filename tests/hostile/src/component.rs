//! The misbehaving exports (see the crate docs).

wit_bindgen::generate!({
    world: "strategy",
    path: "../../wit",
});

use albatross::strategy::{cluster, elbv2 as we, types as wt};
use exports::albatross::strategy::{policy as wp, reconciler as wr};

struct Hostile;

export!(Hostile);

fn answer<T>(r: Result<T, wt::HostError>) -> String {
    match r {
        Ok(_) => "allowed".into(),
        Err(wt::HostError::Forbidden(m)) => format!("forbidden: {m}"),
        Err(_) => "failed".into(),
    }
}

/// Tries what a module must never do and reports the host's answers as Events.
fn snoop() -> Vec<wt::Event> {
    let kind = |api: &str, kind: &str| wt::ObjectKind {
        api_version: api.into(),
        kind: kind.into(),
    };
    let tries = [
        (
            "read a Secret",
            answer(cluster::get(&kind("v1", "Secret"), "shop", "db-password")),
        ),
        (
            "patch a Service in another namespace",
            answer(cluster::patch(
                &kind("v1", "Service"),
                "kube-system",
                "kube-dns",
                wt::PatchType::Merge,
                "{}",
                None,
            )),
        ),
        (
            "write a foreign Ingress annotation",
            answer(cluster::patch(
                &kind("networking.k8s.io/v1", "Ingress"),
                "shop",
                "web",
                wt::PatchType::Merge,
                r#"{"metadata":{"annotations":{"nginx.ingress.kubernetes.io/rewrite-target":"/"}}}"#,
                None,
            )),
        ),
    ];
    tries
        .into_iter()
        .map(|(what, result)| wt::Event {
            event_type: wt::EventType::Warning,
            reason: "Snooped".into(),
            message: format!("{what}: {result}"),
        })
        .collect()
}

/// The number after `"busyIterations":` in the Rollout JSON, 0 without one.
fn busy_iterations(rollout_json: &str) -> u64 {
    let key = "\"busyIterations\":";
    rollout_json
        .find(key)
        .map(|at| &rollout_json[at + key.len()..])
        .map(|rest| {
            rest.trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
        })
        .and_then(|digits| digits.parse().ok())
        .unwrap_or(0)
}

fn refuse<T>() -> Result<T, wt::StrategyError> {
    Err(wt::StrategyError::Malformed(
        "this test module only misbehaves in reconcile".into(),
    ))
}

impl wr::Guest for Hostile {
    fn info() -> wr::ModuleInfo {
        wr::ModuleInfo {
            name: "hostile".into(),
            version: if cfg!(feature = "calm2") {
                "calm-2".into()
            } else if cfg!(feature = "calm") {
                "calm-1".into()
            } else {
                env!("CARGO_PKG_VERSION").into()
            },
        }
    }

    fn reconcile(
        rollout_json: String,
        _settings: wr::Settings,
    ) -> Result<wr::Outcome, wt::StrategyError> {
        if cfg!(feature = "spin") {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(rollout_json.len() as u64));
            }
        }
        if cfg!(feature = "hog") {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                hoard.push(vec![1u8; 8 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        if cfg!(feature = "busy") {
            let mut n: u64 = 0;
            for i in 0..busy_iterations(&rollout_json) {
                n = std::hint::black_box(n.wrapping_mul(31).wrapping_add(i));
            }
            return Ok(wr::Outcome {
                status_json: None,
                requeue_after_ms: Some(1_000),
                events: vec![wt::Event {
                    event_type: wt::EventType::Normal,
                    reason: "Busy".into(),
                    message: format!("worked {n}"),
                }],
            });
        }
        if cfg!(feature = "trap") {
            panic!("the hostile module panics on purpose");
        }
        if cfg!(feature = "calm") {
            return Ok(wr::Outcome {
                status_json: None,
                requeue_after_ms: Some(1_000),
                events: Vec::new(),
            });
        }
        if cfg!(feature = "snoop") {
            return Ok(wr::Outcome {
                status_json: None,
                requeue_after_ms: Some(1_000),
                events: snoop(),
            });
        }
        Ok(wr::Outcome {
            status_json: Some("{this is not json".into()),
            requeue_after_ms: Some(u64::MAX),
            events: vec![wt::Event {
                event_type: wt::EventType::Normal,
                reason: String::new(),
                message: String::new(),
            }],
        })
    }

    fn verify(
        _: String,
        _: wr::Settings,
        _: Option<u32>,
    ) -> Result<wr::Verification, wt::StrategyError> {
        refuse()
    }
}

impl wp::Guest for Hostile {
    fn validate(_: String) -> Result<(), wt::StrategyError> {
        refuse()
    }
    fn plan_step(_: String, _: u32, _: Option<u32>) -> Result<wp::StepPlan, wt::StrategyError> {
        refuse()
    }
    fn plan_steps(_: String) -> Result<Vec<wp::StepPlan>, wt::StrategyError> {
        refuse()
    }
    fn build_action(_: String, _: u32) -> Result<wt::Annotation, wt::StrategyError> {
        refuse()
    }
    fn parse_action(_: String) -> Result<wp::ForwardAction, wt::StrategyError> {
        refuse()
    }
    fn build_header_route(_: String, _: String) -> Result<Vec<wt::Annotation>, wt::StrategyError> {
        refuse()
    }
    fn parse_conditions(_: String) -> Result<Vec<wp::HeaderCondition>, wt::StrategyError> {
        refuse()
    }
    fn read_managed(_: String) -> Result<Vec<wp::ManagedEntry>, wt::StrategyError> {
        refuse()
    }
    fn update_managed(
        _: String,
        _: String,
        _: Vec<String>,
    ) -> Result<Vec<wt::Annotation>, wt::StrategyError> {
        refuse()
    }
    fn ingress_class_matches(_: String, _: Vec<String>) -> Result<bool, wt::StrategyError> {
        refuse()
    }
    fn ping_pong_roles(_: String) -> Result<Option<wp::PingPongState>, wt::StrategyError> {
        refuse()
    }
    fn decide_ping_pong_swap(
        _: String,
        _: Option<u32>,
    ) -> Result<wp::PingPongSwap, wt::StrategyError> {
        refuse()
    }
    fn verify_weights(_: wp::WeightCheck) -> Result<wp::WeightVerdict, wt::StrategyError> {
        refuse()
    }
    fn verify_ips(_: Vec<String>, port: u32, _: Vec<we::TargetHealth>) -> wp::IpVerdict {
        wp::IpVerdict {
            verified: false,
            port,
            ips: Vec::new(),
            missing: Vec::new(),
        }
    }
}
