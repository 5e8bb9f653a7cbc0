//! The Kubernetes API emulator (`tests/src/apiserver`) checked with the real kube-rs client and
//! watcher: the semantics the controller tests rely on, each on its own.

use std::time::Duration;

use albatross_tests::apiserver::{ApiServer, Fault, FaultAnswer};
use futures_util::StreamExt;
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, PostParams,
};
use kube::runtime::watcher::{self, Event};
use kube::{Client, Config};
use serde_json::{Value, json};

fn client(server: &ApiServer) -> Client {
    let url = server.url().parse().unwrap_or_else(|e| panic!("{e}"));
    let mut config = Config::new(url);
    config.default_retry = false;
    Client::try_from(config).unwrap_or_else(|e| panic!("{e}"))
}

fn rollouts(client: &Client) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Rollout"),
        "rollouts",
    );
    Api::namespaced_with(client.clone(), "shop", &ar)
}

fn rollout(name: &str, labels: Value) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name, "labels": labels},
        "spec": {"replicas": 1},
    }))
    .unwrap_or_else(|e| panic!("{e}"))
}

fn rv(o: &DynamicObject) -> u64 {
    o.metadata
        .resource_version
        .as_deref()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

fn api_code(r: kube::Result<impl std::fmt::Debug>) -> (u16, String) {
    match r {
        Err(kube::Error::Api(s)) => (s.code, s.reason.clone()),
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn objects_get_identity_versions_and_generations() {
    let server = ApiServer::start();
    let api = rollouts(&client(&server));
    let pp = PostParams::default();
    let a = api
        .create(&pp, &rollout("a", json!({"team": "x"})))
        .await
        .unwrap();
    assert!(a.metadata.uid.is_some());
    assert_eq!(a.metadata.namespace.as_deref(), Some("shop"));
    assert_eq!(a.metadata.generation, Some(1));
    let (code, reason) = api_code(api.create(&pp, &rollout("a", json!({}))).await);
    assert_eq!((code, reason.as_str()), (409, "AlreadyExists"));
    api.create(&pp, &rollout("b", json!({"team": "y"})))
        .await
        .unwrap();

    let listed = api
        .list(&ListParams::default().labels("team=x"))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    let listed = api
        .list(&ListParams::default().labels("team in (x,y)"))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 2);
    let listed = api
        .list(&ListParams::default().labels("!team"))
        .await
        .unwrap();
    assert!(listed.items.is_empty());

    // A spec change bumps the generation; a status or label change does not.
    let pp = PatchParams::default();
    let spec = api
        .patch("a", &pp, &Patch::Merge(json!({"spec": {"replicas": 3}})))
        .await
        .unwrap();
    assert_eq!(spec.metadata.generation, Some(2));
    assert!(rv(&spec) > rv(&a));
    let status = api
        .patch_status(
            "a",
            &pp,
            &Patch::Merge(json!({"status": {"phase": "Healthy"}})),
        )
        .await
        .unwrap();
    assert_eq!(status.metadata.generation, Some(2));
    assert_eq!(status.data["status"]["phase"], "Healthy");
    let labels = api
        .patch(
            "a",
            &pp,
            &Patch::Merge(json!({"metadata": {"labels": {"k": "v"}}})),
        )
        .await
        .unwrap();
    assert_eq!(labels.metadata.generation, Some(2));

    // A write that changes nothing is not a write.
    let same = api
        .patch("a", &pp, &Patch::Merge(json!({"spec": {"replicas": 3}})))
        .await
        .unwrap();
    assert_eq!(rv(&same), rv(&labels));
}

#[tokio::test]
async fn status_and_spec_writes_leave_each_other_alone() {
    let server = ApiServer::start();
    let api = rollouts(&client(&server));
    api.create(&PostParams::default(), &rollout("a", json!({})))
        .await
        .unwrap();
    let pp = PatchParams::default();
    // A status write cannot change the spec...
    let out = api
        .patch_status(
            "a",
            &pp,
            &Patch::Merge(json!({"spec": {"replicas": 9}, "status": {"phase": "Progressing"}})),
        )
        .await
        .unwrap();
    assert_eq!(out.data["spec"]["replicas"], 1);
    assert_eq!(out.data["status"]["phase"], "Progressing");
    // ...and a write of the object cannot change the status.
    let out = api
        .patch(
            "a",
            &pp,
            &Patch::Merge(json!({"spec": {"replicas": 2}, "status": {"phase": "Degraded"}})),
        )
        .await
        .unwrap();
    assert_eq!(out.data["spec"]["replicas"], 2);
    assert_eq!(out.data["status"]["phase"], "Progressing");
    // JSON patches, with the lenient null test the finalizer helper uses.
    let jp: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/finalizers", "value": null},
        {"op": "add", "path": "/metadata/finalizers", "value": ["albatross.io/traffic"]},
    ]))
    .unwrap();
    let out = api.patch("a", &pp, &Patch::Json::<()>(jp)).await.unwrap();
    assert_eq!(
        out.metadata.finalizers,
        Some(vec!["albatross.io/traffic".to_string()])
    );
    // A failed test is refused and changes nothing.
    let jp: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/spec/replicas", "value": 7},
        {"op": "replace", "path": "/spec/replicas", "value": 8},
    ]))
    .unwrap();
    let (code, _) = api_code(api.patch("a", &pp, &Patch::Json::<()>(jp)).await);
    assert_eq!(code, 422);
    assert_eq!(api.get("a").await.unwrap().data["spec"]["replicas"], 2);
}

#[tokio::test]
async fn a_stale_resource_version_is_a_conflict() {
    let server = ApiServer::start();
    let api = rollouts(&client(&server));
    let old = api
        .create(&PostParams::default(), &rollout("a", json!({})))
        .await
        .unwrap();
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 2}})),
    )
    .await
    .unwrap();
    let mut stale = old.clone();
    stale.data["spec"]["replicas"] = json!(5);
    let (code, reason) = api_code(api.replace("a", &PostParams::default(), &stale).await);
    assert_eq!((code, reason.as_str()), (409, "Conflict"));
    let (code, _) = api_code(
        api.patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"resourceVersion": old.metadata.resource_version},
                                 "spec": {"replicas": 6}}),
            ),
        )
        .await,
    );
    assert_eq!(code, 409);
    assert_eq!(api.get("a").await.unwrap().data["spec"]["replicas"], 2);
}

#[tokio::test]
async fn the_scale_subresource_sets_replicas() {
    let server = ApiServer::start();
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("apps", "v1", "ReplicaSet"),
        "replicasets",
    );
    let api: Api<DynamicObject> = Api::namespaced_with(client(&server), "shop", &ar);
    let rs: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": "web-1"}, "spec": {"replicas": 5}
    }))
    .unwrap();
    api.create(&PostParams::default(), &rs).await.unwrap();
    api.patch_subresource(
        "scale",
        "web-1",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"replicas": 2}})),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let stored = server
        .object("apps/v1", "replicasets", "shop", "web-1")
        .unwrap();
    assert_eq!(stored["spec"]["replicas"], 2);
}

#[tokio::test]
async fn deletion_waits_for_finalizers() {
    let server = ApiServer::start();
    let api = rollouts(&client(&server));
    let mut r = rollout("a", json!({}));
    r.metadata.finalizers = Some(vec!["albatross.io/traffic".into()]);
    api.create(&PostParams::default(), &r).await.unwrap();
    api.delete("a", &DeleteParams::default()).await.unwrap();
    let marked = api.get("a").await.unwrap();
    assert!(marked.metadata.deletion_timestamp.is_some());
    api.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    let (code, reason) = api_code(api.get("a").await);
    assert_eq!((code, reason.as_str()), (404, "NotFound"));
}

/// Collects watcher events until `pred` holds of them (or 10 s pass).
async fn watch_until(
    stream: &mut (
             impl futures_util::Stream<Item = Result<Event<DynamicObject>, watcher::Error>> + Unpin
         ),
    seen: &mut Vec<String>,
    pred: impl Fn(&[String]) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !pred(seen) {
        let next = tokio::time::timeout_at(deadline, stream.next()).await;
        let Ok(Some(event)) = next else {
            panic!("watch ended or stalled; saw {seen:?}");
        };
        let text = match event {
            Ok(Event::Init) => "init".to_string(),
            Ok(Event::InitApply(o)) => {
                format!("init-apply {}", o.metadata.name.unwrap_or_default())
            }
            Ok(Event::InitDone) => "init-done".to_string(),
            Ok(Event::Apply(o)) => format!(
                "apply {} {}",
                o.metadata.name.unwrap_or_default(),
                o.data["spec"]["replicas"]
            ),
            Ok(Event::Delete(o)) => format!("delete {}", o.metadata.name.unwrap_or_default()),
            Err(e) => format!("error {e}"),
        };
        seen.push(text);
    }
}

#[tokio::test]
async fn the_watcher_sees_changes_selector_moves_and_relists_after_compaction() {
    let server = ApiServer::start();
    let api = rollouts(&client(&server));
    let pp = PostParams::default();
    api.create(&pp, &rollout("a", json!({"ctl": "albatross"})))
        .await
        .unwrap();
    let config = watcher::Config::default().labels("ctl=albatross");
    let mut stream = Box::pin(watcher::watcher(api.clone(), config));
    let mut seen = Vec::new();
    watch_until(&mut stream, &mut seen, |s| {
        s.contains(&"init-done".to_string())
    })
    .await;
    assert!(seen.contains(&"init-apply a".to_string()), "{seen:?}");

    let patch = PatchParams::default();
    api.patch("a", &patch, &Patch::Merge(json!({"spec": {"replicas": 4}})))
        .await
        .unwrap();
    api.create(&pp, &rollout("b", json!({}))).await.unwrap();
    // b starts matching: the watch sees it arrive.
    api.patch(
        "b",
        &patch,
        &Patch::Merge(json!({"metadata": {"labels": {"ctl": "albatross"}}})),
    )
    .await
    .unwrap();
    // a stops matching: the watch sees it leave.
    api.patch(
        "a",
        &patch,
        &Patch::Merge(json!({"metadata": {"labels": {"ctl": null}}})),
    )
    .await
    .unwrap();
    watch_until(&mut stream, &mut seen, |s| {
        s.contains(&"delete a".to_string())
    })
    .await;
    let tail: Vec<&String> = seen
        .iter()
        .skip_while(|e| *e != "init-done")
        .skip(1)
        .collect();
    assert_eq!(tail, ["apply a 4", "apply b 1", "delete a"], "{seen:?}");

    // After a compaction, a watch that resumes from an old version gets 410 and relists.
    server.compact();
    api.create(&pp, &rollout("c", json!({"ctl": "albatross"})))
        .await
        .unwrap();
    let err = kube::api::WatchParams::default().labels("ctl=albatross");
    let mut raw = api.watch(&err, "1").await.unwrap().boxed();
    match tokio::time::timeout(Duration::from_secs(10), raw.next()).await {
        Ok(Some(Ok(kube::api::WatchEvent::Error(status)))) => assert_eq!(status.code, 410),
        other => panic!("expected an in-stream 410, got {other:?}"),
    }
    watch_until(&mut stream, &mut seen, |s| {
        s.iter()
            .any(|e| e.starts_with("apply c") || e == "init-apply c")
    })
    .await;
}

#[tokio::test]
async fn injected_faults_reach_the_client() {
    let server = ApiServer::start();
    let api = rollouts(&client(&server));
    server.inject(Fault::writes("/rollouts", 2, FaultAnswer::Status(409)));
    let pp = PostParams::default();
    api.create(&pp, &rollout("a", json!({}))).await.unwrap();
    let (code, reason) = api_code(api.create(&pp, &rollout("b", json!({}))).await);
    assert_eq!((code, reason.as_str()), (409, "Conflict"));
    api.create(&pp, &rollout("b", json!({}))).await.unwrap();
    server.clear_faults();
    server.inject(Fault {
        methods: vec!["GET".into()],
        path_contains: "/rollouts/a".into(),
        every: 1,
        times: Some(1),
        answer: FaultAnswer::Drop,
    });
    match api.get("a").await {
        Err(kube::Error::Api(s)) => panic!("a dropped connection came back as a status: {s:?}"),
        Err(_) => {}
        Ok(o) => panic!("a dropped connection answered {o:?}"),
    }
    api.get("a").await.unwrap();
    let writes = server.requests().iter().filter(|r| r.is_write()).count();
    assert_eq!(writes, 3);
}

#[tokio::test]
async fn a_lost_answer_leaves_the_write_applied() {
    let server = ApiServer::start();
    let api = rollouts(&client(&server));
    api.create(&PostParams::default(), &rollout("a", json!({})))
        .await
        .unwrap();
    server.inject(Fault {
        times: Some(1),
        ..Fault::writes("/rollouts/a", 1, FaultAnswer::DropAnswer)
    });
    let patch = json!({"spec": {"replicas": 2}});
    match api
        .patch("a", &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Err(kube::Error::Api(s)) => panic!("a lost answer came back as a status: {s:?}"),
        Err(_) => {}
        Ok(o) => panic!("a lost answer answered {o:?}"),
    }
    let stored = server.object("argoproj.io/v1alpha1", "rollouts", "shop", "a");
    assert_eq!(stored.unwrap()["spec"]["replicas"], json!(2));
}
