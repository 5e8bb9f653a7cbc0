//! A scenario with two Rollouts behind two ALBs: each timeline row shows its own Rollout's ALB
//! split and losses, the printed timeline gets a Rollout column, and losses before the first
//! pods served are shown apart from the counted ones.

use albatross::commands::simulate::format_timeline;
use albatross_sim::runner::Scenario;
use albatross_tests::{Way, scenario, simulate};
use serde_json::Value;

/// basic-canary with a second, renamed copy of its Rollout, Services and Ingress that gets no
/// new image: it stays at stable 100 while the first one shifts.
fn two_rollouts() -> Scenario {
    let mut s = scenario("basic-canary");
    let copy = serde_json::to_string(&s.manifests)
        .unwrap_or_else(|e| panic!("{e}"))
        .replace("guestbook", "shopfront")
        .replace("canary-svc", "canary-two")
        .replace("stable-svc", "stable-two")
        .replace("root-svc", "root-two")
        .replace("\"web\"", "\"web-two\"");
    let copy: Vec<Value> = serde_json::from_str(&copy).unwrap_or_else(|e| panic!("{e}"));
    s.manifests.extend(copy);
    s.expect = None;
    s
}

#[test]
fn each_row_shows_its_own_rollouts_alb() {
    let trace = simulate(&two_rollouts(), Way::Native, true);
    let rows = |name: &'static str| trace.timeline.iter().filter(move |r| r.rollout == name);
    assert!(
        rows("shop/guestbook").any(|r| r.alb_share.get("canary-svc").is_some_and(|w| *w > 0.0)),
        "the first Rollout shifted"
    );
    for r in rows("shop/shopfront") {
        assert!(
            r.alb_share.keys().all(|k| k.ends_with("-two")),
            "shopfront's row at {} shows another ALB: {:?}",
            r.t,
            r.alb_share
        );
        assert_eq!(r.alb_share.get("canary-two").copied().unwrap_or(0.0), 0.0);
    }
    let text = format_timeline(&trace, "native");
    let header = text.lines().nth(1).unwrap_or_default();
    assert!(header.contains("rollout"), "{header}");
    assert!(text.lines().any(|l| l.contains("shop/shopfront")), "{text}");
    assert!(trace.requests_lost_before_serving > 0.0);
    assert_eq!(trace.requests_lost, 0.0);
    assert!(
        text.contains("requests lost before the first pods served, not counted: "),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("(100)") || l.contains("(200)")),
        "{text}"
    );
}
