//! Leader election of the real `albatross controller` binary against the Kubernetes API
//! emulator: only the leader writes, a standby takes over when the leader dies, and a leader
//! whose lease renewals fail steps down and writes nothing until it renews again.

use std::sync::Arc;
use std::time::Duration;

use albatross_tests::apiserver::{ApiServer, Fault, FaultAnswer};
use albatross_tests::cluster::{
    ACTION, ControllerProcess, Kubelet, annotations, load_example, set_image, wait_action,
    wait_for, wait_healthy,
};
use albatross_tests::scratch_dir;

/// A lease of 3 s renewed 1 s before it lapses.
const LEASE: [&str; 4] = [
    "--lease-duration-seconds",
    "3",
    "--lease-grace-seconds",
    "1",
];

fn lease_holder(server: &ApiServer) -> String {
    server
        .object(
            "coordination.k8s.io/v1",
            "leases",
            "default",
            "albatross-controller-albatross",
        )
        .and_then(|l| l["spec"]["holderIdentity"].as_str().map(str::to_string))
        .unwrap_or_default()
}

#[test]
fn two_controllers_only_the_leader_writes_and_killing_it_hands_over() {
    let server = Arc::new(ApiServer::start());
    load_example(&server, "guestbook.yaml", "shop", Some("albatross"));
    let _kubelet = Kubelet::start(server.clone(), "shop");
    let dir = scratch_dir("controller-leader");
    let mut a = ControllerProcess::start(
        &server,
        &dir,
        &[
            &["--identity", "ctl-a", "--aws-verify-target-group=false"][..],
            &LEASE[..],
        ]
        .concat(),
    );
    let mut b = ControllerProcess::start(
        &server,
        &dir,
        &[
            &["--identity", "ctl-b", "--aws-verify-target-group=false"][..],
            &LEASE[..],
        ]
        .concat(),
    );
    wait_healthy(&server);
    let leader = lease_holder(&server);
    assert!(
        leader == "ctl-a" || leader == "ctl-b",
        "lease held by {leader:?}"
    );
    let (leading, standby) = if leader == "ctl-a" {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    let standby_log = std::fs::read_to_string(&standby.log).unwrap_or_default();
    assert!(
        !standby_log.contains("reconciled"),
        "the standby reconciled:\n{standby_log}"
    );
    // The leader dies without releasing the lease; the standby takes over once it lapses.
    leading.kill();
    let next = if leader == "ctl-a" { "ctl-b" } else { "ctl-a" };
    wait_for(60, "the standby to take the lease", || {
        let holder = lease_holder(&server);
        if holder == next { Ok(()) } else { Err(holder) }
    });
    set_image(&server, "argoproj/rollouts-demo:green");
    wait_action(&server, "the new leader to set 20%", r#""Weight":20"#);
    let log = std::fs::read_to_string(&standby.log).unwrap_or_default();
    assert!(log.contains("leading"), "{log}");
}

#[test]
fn a_leader_whose_renewals_fail_steps_down_and_writes_nothing_until_it_renews() {
    let server = Arc::new(ApiServer::start());
    load_example(&server, "guestbook.yaml", "shop", Some("albatross"));
    let _kubelet = Kubelet::start(server.clone(), "shop");
    let controller = ControllerProcess::start(
        &server,
        &scratch_dir("leader-renewals"),
        &[
            &["--identity", "ctl-a", "--aws-verify-target-group=false"][..],
            &LEASE[..],
        ]
        .concat(),
    );
    wait_healthy(&server);
    assert_eq!(lease_holder(&server), "ctl-a");
    // From now on every write to the Lease fails: the lease manager keeps saying "leader".
    server.inject(Fault::writes("/leases/", 1, FaultAnswer::Status(500)));
    wait_for(60, "the leader to step down", || {
        let log = std::fs::read_to_string(&controller.log).unwrap_or_default();
        if log.contains("stepping down") {
            Ok(())
        } else {
            Err(log.lines().last().unwrap_or_default().to_string())
        }
    });
    // A standby could hold the lease now: this replica writes nothing, whatever changes.
    let before = annotations(&server)[ACTION].clone();
    let writes = |server: &ApiServer| {
        server
            .requests()
            .iter()
            .filter(|q| q.is_write() && q.path.contains("/namespaces/shop/"))
            .count()
    };
    let written = writes(&server);
    set_image(&server, "argoproj/rollouts-demo:green");
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        writes(&server),
        written,
        "a replica without a valid lease wrote"
    );
    assert_eq!(annotations(&server)[ACTION], before);
    // Renewals work again: it leads again and takes the new revision.
    server.clear_faults();
    wait_action(&server, "the leader back to set 20%", r#""Weight":20"#);
}
