//! The real `albatross` binary on inputs a new user gets wrong: nothing it checked nothing on
//! passes as "no findings" or VERIFIED, and every refusal names the file, object or flag, with
//! the exit code a pipeline can act on.

use std::path::Path;
use std::process::Command;

use albatross_tests::alb;
use albatross_tests::cli::{albatross, example, guestbook, text, write};
use albatross_tests::cluster::albatross_binary;
use albatross_tests::scratch_dir;
use albatross_tests::verify_env::{Env, REGION, ingress};
use serde_json::Value;

#[test]
fn lint_that_checked_nothing_says_so_and_fails() {
    let dir = scratch_dir("cli-trust-lint");
    let empty = write(&dir, "empty.yaml", "");
    let out = albatross(&["lint", &empty.display().to_string()]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("warning: {}: : holds no objects", empty.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains("error: the files: : no Rollout (kind: Rollout, apiVersion: argoproj.io/v1alpha1) among 0 objects: nothing was checked"),
        "{stdout}"
    );
    assert!(!stdout.contains("no findings"), "{stdout}");

    let typo = write(
        &dir,
        "typo.yaml",
        "apiVersion: argoproj.io/v1alpha1\nkind: Rolout\nmetadata: {name: guestbook}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: other}\n",
    );
    let out = albatross(&["lint", &typo.display().to_string()]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("warning: Rolout guestbook: kind: kind Rolout is not one lint knows, so it is not checked (did you mean Rollout?)"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("Deployment"),
        "a Deployment is not lint's to check: {stdout}"
    );
    assert!(stdout.contains("among 2 objects"), "{stdout}");

    let out = albatross(&["lint", &guestbook()]);
    let (stdout, _) = text(&out);
    assert!(out.status.success(), "{stdout}");
    assert_eq!(stdout, "5 objects checked (1 Rollout): no findings\n");
}

#[test]
fn verify_refuses_a_weight_past_100() {
    let out = albatross(&["verify", &guestbook(), "--weight", "150"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--weight") && stderr.contains("150") && stderr.contains("0..=100"),
        "{stderr}"
    );
}

/// The guestbook manifests with the Ingress `web` as `ingress` gives it, written as one JSON
/// file per object.
fn manifests(dir: &Path, ingress: Value) -> Vec<String> {
    let mut objects = albatross::backend::manifests::read_manifests(Path::new(&guestbook()))
        .unwrap_or_else(|e| panic!("{e:#}"));
    objects.push(ingress);
    objects
        .iter()
        .enumerate()
        .map(|(i, o)| {
            write(dir, &format!("{i}.json"), &o.to_string())
                .display()
                .to_string()
        })
        .collect()
}

fn verify_args<'a>(files: &'a [String], env: &'a Env, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["verify"];
    args.extend(files.iter().map(String::as_str));
    args.extend([
        "--aws-endpoint-url",
        env.moto.url.as_str(),
        "--region",
        REGION,
        "--log",
        "info",
    ]);
    args.extend(extra);
    args
}

#[test]
fn verify_never_says_verified_for_ips_it_did_not_see_nor_for_an_ingress_without_hostname() {
    let env = Env::start();
    let lb = env.run(alb::build(
        &env.admin,
        (&env.vpc, &env.subnets),
        ("shop", "web"),
        ("canary-svc", "stable-svc"),
        (0, 100),
    ));
    let dir = scratch_dir("cli-trust-verify");
    let files = manifests(&dir, ingress("web", "root-svc", &lb.dns_name));
    // No Endpoints in the files and no --endpoints: the weights match, the IPs were never seen.
    let out = albatross(&verify_args(&files, &env, &["--weight", "0"]));
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("    ! not checked: Service shop/canary-svc has no ready endpoint IPs: the IP check was not done\n"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("NOT VERIFIED: see the ✗ and ! lines above\n"),
        "{stdout}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "colour codes in logs that are not a terminal: {stderr:?}"
    );

    let mut no_hostname = ingress("web", "root-svc", "");
    no_hostname["status"] = serde_json::json!({});
    let dir = scratch_dir("cli-trust-verify-no-hostname");
    let files = manifests(&dir, no_hostname);
    let out = albatross(&verify_args(&files, &env, &[]));
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stderr.contains(
            "error: Ingress web has no status.loadBalancer.ingress[].hostname, so no load balancer could be looked at"
        ),
        "{stderr}"
    );
}

fn basic_canary() -> String {
    scenario_text("basic-canary.yaml")
}

#[test]
fn simulate_refuses_a_misspelt_scenario_instead_of_running_on_defaults() {
    let dir = scratch_dir("cli-trust-simulate");
    let typo = write(
        &dir,
        "typo.yaml",
        &basic_canary()
            .replace("durationSeconds:", "durationSecond:")
            .replacen("canaryService:", "canaryServce:", 1),
    );
    let out = albatross(&["simulate", &typo.display().to_string(), "--native"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stdout.is_empty(), "it ran: {stdout}");
    assert!(
        stderr.contains("unknown field durationSecond (did you mean durationSeconds?)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("spec.strategy.canary.canaryServce: Argo Rollouts has no such field, so it is ignored (did you mean canaryService?)"),
        "{stderr}"
    );
}

#[test]
fn lint_names_a_rollout_typo_and_validate_names_an_unsupported_step() {
    let dir = scratch_dir("cli-trust-fields");
    let manifests = std::fs::read_to_string(guestbook()).unwrap_or_else(|e| panic!("{e}"));
    let typo = write(
        &dir,
        "typo.yaml",
        &manifests.replacen(
            "replicas: 5",
            "replicas: 5\n  revisionHistoryLimit: 3\n  progresDeadlineSeconds: 60",
            1,
        ),
    );
    let out = albatross(&["lint", &typo.display().to_string()]);
    let (stdout, _) = text(&out);
    assert!(
        out.status.success(),
        "a typo is a warning in manifests: {stdout}"
    );
    assert!(
        stdout.contains("warning: Rollout shop/guestbook: spec.progresDeadlineSeconds: Argo Rollouts has no such field, so it is ignored (did you mean progressDeadlineSeconds?)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("warning: Rollout shop/guestbook: spec.revisionHistoryLimit: Albatross does not implement this Argo Rollouts field yet: it has no effect"),
        "{stdout}"
    );

    let rollout = albatross::backend::manifests::read_manifests(Path::new(&guestbook()))
        .unwrap_or_else(|e| panic!("{e:#}"))
        .remove(0);
    let mut mirrored = rollout.clone();
    mirrored["spec"]["strategy"]["canary"]["steps"][0] =
        serde_json::json!({"setMirrorRoute": {"name": "mirror", "percentage": 10}});
    let input = write(
        &dir,
        "validate.json",
        &serde_json::json!({ "rollout": mirrored }).to_string(),
    );
    let out = albatross(&[
        "policy",
        "validate",
        "--input",
        &input.display().to_string(),
    ]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("spec.strategy.canary.steps[0].setMirrorRoute: is an Argo Rollouts feature Albatross does not implement"),
        "{stderr}"
    );
    assert!(!stderr.contains("exactly one of"), "{stderr}");
}

#[test]
fn module_list_and_compile_say_what_they_refused_in_one_line() {
    let dir = scratch_dir("cli-trust-modules");
    let out = albatross(&["module", "list", "--modules", "/no/such/dir"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the module directory /no/such/dir does not exist"),
        "{stderr}"
    );

    let modules = dir.join("modules");
    std::fs::create_dir_all(&modules).unwrap_or_else(|e| panic!("{e}"));
    write(&modules, "garbage.wasm", "not wasm at all");
    std::fs::copy(
        albatross_tests::built_component("calm-1.wasm"),
        modules.join("calm.wasm"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = albatross(&[
        "module",
        "list",
        "--modules",
        &modules.display().to_string(),
    ]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.lines().any(|l| l.starts_with("calm ")), "{stdout}");
    let refused = stdout
        .lines()
        .find(|l| l.starts_with("garbage "))
        .unwrap_or_else(|| panic!("the refused module is not listed: {stdout}"));
    assert!(
        refused.contains("(refused: strategy module \"garbage\" is not a WebAssembly file"),
        "{refused}"
    );
    assert!(
        !stderr.contains("0x61") && stderr.lines().count() <= 2,
        "{stderr}"
    );

    let config = write(
        &dir,
        "registry.yaml",
        &format!(
            "moduleDir: {}\nclusterDefault: garbage\n",
            modules.display()
        ),
    );
    let out = albatross(&["module", "list", "--config", &config.display().to_string()]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("clusterDefault names the strategy module \"garbage\", which is neither built in nor a loaded file of the module directory (it was refused: "),
        "{stderr}"
    );

    let cache = dir.join("cache");
    let out = albatross(&[
        "module",
        "compile",
        &modules.join("garbage.wasm").display().to_string(),
        "--cache-dir",
        &cache.display().to_string(),
    ]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let cached = |dir: &Path| {
        std::fs::read_dir(dir)
            .map(|d| d.count())
            .unwrap_or_default()
    };
    assert_eq!(cached(&cache), 0, "a refused module was cached");
    let out = albatross(&[
        "module",
        "compile",
        &modules.join("calm.wasm").display().to_string(),
        "--cache-dir",
        &cache.display().to_string(),
    ]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        cached(&cache),
        1,
        "only the module asked for is cached, not the built-in"
    );
}

#[test]
fn a_huge_or_deeply_nested_input_is_refused_at_once() {
    let dir = scratch_dir("cli-trust-limits");
    let deep = write(
        &dir,
        "deep.yaml",
        &format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000)),
    );
    for args in [
        vec!["lint".to_string(), deep.display().to_string()],
        vec!["simulate".to_string(), deep.display().to_string()],
        vec![
            "policy".to_string(),
            "validate".to_string(),
            "--input".to_string(),
            deep.display().to_string(),
        ],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = albatross(&args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("nests 100001 levels deep, more than 128: refused"),
            "{args:?}: {stderr}"
        );
    }
    let out = Command::new(albatross_binary())
        .args(["lint", &guestbook()])
        .env("ALBATROSS_MAX_INPUT_BYTES", "100")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "is larger than 100 bytes: refused (ALBATROSS_MAX_INPUT_BYTES raises the limit)"
        ),
        "{stderr}"
    );
}

#[test]
fn the_cli_keeps_compiled_code_in_its_cache_and_no_cache_reads_none() {
    let dir = scratch_dir("cli-trust-cache");
    let cache = dir.join("cache");
    let run = |extra: &[&str]| {
        let mut args = vec!["policy", "info", "--log", "albatross=debug"];
        args.extend(extra);
        let out = Command::new(albatross_binary())
            .args(&args)
            .env("ALBATROSS_CACHE_DIR", &cache)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let first = run(&[]);
    assert!(first.contains("from_cache=false"), "{first}");
    let entries = std::fs::read_dir(&cache)
        .map(|d| d.count())
        .unwrap_or_default();
    assert_eq!(entries, 1, "the built-in's compiled code is cached");
    let second = run(&[]);
    assert!(second.contains("from_cache=true"), "{second}");
    let uncached = run(&["--no-cache"]);
    assert!(uncached.contains("from_cache=false"), "{uncached}");
}

fn scenario_text(name: &str) -> String {
    std::fs::read_to_string(example("scenarios").join(name)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn simulate_checks_the_scenarios_expectations_and_gates_on_them() {
    let basic = example("scenarios/basic-canary.yaml");
    let out = albatross(&["simulate", &basic.display().to_string(), "--native"]);
    let (stdout, _) = text(&out);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("  ✓ expect.finalPhase: Healthy (Rollout shop/guestbook)\n"),
        "{stdout}"
    );
    assert!(stdout.ends_with("all 4 expectations met\n"), "{stdout}");

    let outage = example("scenarios/lb-controller-outage.yaml");
    let out = albatross(&[
        "simulate",
        &outage.display().to_string(),
        "--native",
        "--verify=false",
    ]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("  ✗ expect.requestsLostAtMost: 0: 6500 requests were lost\n"),
        "{stdout}"
    );
    assert!(stdout.ends_with("(see the ✗ lines above)\n"), "{stdout}");

    let dir = scratch_dir("cli-trust-expect");
    let text_without = scenario_text("lb-controller-outage.yaml");
    let cut = text_without
        .find("\nexpect:")
        .unwrap_or_else(|| panic!("no expect block"));
    let bare = write(&dir, "no-expect.yaml", &text_without[..cut + 1]);
    let out = albatross(&[
        "simulate",
        &bare.display().to_string(),
        "--native",
        "--verify=false",
    ]);
    let (stdout, _) = text(&out);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.ends_with("NOTE (no expectations set): 6500 requests were lost\n"),
        "{stdout}"
    );
}

#[test]
fn a_long_simulation_reports_its_progress_on_stderr() {
    let dir = scratch_dir("cli-trust-progress");
    let long = write(
        &dir,
        "long.yaml",
        &basic_canary().replace("durationSeconds: 360", "durationSeconds: 3600"),
    );
    let out = albatross(&["simulate", &long.display().to_string(), "--native"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains("simulated 360 of 3600 s\n"), "{stderr}");
    assert!(stderr.contains("simulated 3240 of 3600 s\n"), "{stderr}");
    let short = albatross(&[
        "simulate",
        &example("scenarios/basic-canary.yaml").display().to_string(),
        "--native",
    ]);
    assert!(
        !text(&short).1.contains("simulated "),
        "a short run stays quiet"
    );
}
