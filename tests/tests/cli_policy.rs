//! The real `albatross policy` on what a new user gives it: YAML as well as JSON, a bare
//! Rollout, a type error located in the user's own file, an empty input, a terminal on stdin
//! (it says what it expects instead of waiting), and a closed stdout (it ends quietly).

use albatross_tests::cli::{albatross, example, guestbook, text, write};
use albatross_tests::cluster::albatross_binary;
use albatross_tests::scratch_dir;

#[test]
fn policy_reads_yaml_and_a_bare_rollout_and_locates_a_type_error_in_the_users_file() {
    let dir = scratch_dir("cli-trust-policy");
    let manifests = std::fs::read_to_string(guestbook()).unwrap_or_else(|e| panic!("{e}"));
    let rollout_yaml = manifests
        .split("\n---\n")
        .find(|d| d.contains("kind: Rollout"))
        .unwrap_or_else(|| panic!("no Rollout in {manifests}"))
        .to_string();
    let bare = write(&dir, "rollout.yaml", &rollout_yaml);
    let out = albatross(&["policy", "validate", "--input", &bare.display().to_string()]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(stdout, "null\n");

    let bad = write(
        &dir,
        "bad.yaml",
        &rollout_yaml.replace("replicas: 5", "replicas: five"),
    );
    let out = albatross(&[
        "policy",
        "plan-steps",
        "--input",
        &bad.display().to_string(),
    ]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let line = rollout_yaml
        .lines()
        .position(|l| l.contains("replicas: 5"))
        .map(|i| i + 1)
        .unwrap_or_default();
    assert!(
        stderr.contains(&format!(
            "{}: spec.replicas: invalid type: string \"five\", expected i64 at line {line}",
            bad.display()
        )),
        "{stderr}"
    );

    let empty = write(&dir, "empty.json", "");
    let out = albatross(&[
        "policy",
        "validate",
        "--input",
        &empty.display().to_string(),
    ]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("is empty: the input is a JSON or YAML object"),
        "{stderr}"
    );
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let input = example("policy/plan-steps.json");
    let mut child = std::process::Command::new(albatross_binary())
        .args([
            "policy",
            "plan-steps",
            "--input",
            &input.display().to_string(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // The reader goes away before the first line is written, as `| head -0` does.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
        "{stderr}"
    );
}

/// A pseudo-terminal: (controller, the terminal side a child gets as its stdin).
fn pty() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    use std::os::fd::FromRawFd;
    let (mut controller, mut terminal) = (-1, -1);
    // SAFETY: openpty writes two descriptors it opened; the null pointers ask for no name
    // and the default terminal settings.
    let rc = unsafe {
        libc::openpty(
            &mut controller,
            &mut terminal,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors are open and owned by nothing else.
    unsafe {
        (
            std::os::fd::OwnedFd::from_raw_fd(controller),
            std::os::fd::OwnedFd::from_raw_fd(terminal),
        )
    }
}

#[test]
fn policy_with_a_terminal_on_stdin_says_what_it_expects_instead_of_waiting() {
    let (_controller, terminal) = pty();
    let mut child = std::process::Command::new(albatross_binary())
        .args(["policy", "validate"])
        .stdin(std::process::Stdio::from(terminal))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    // A hang guard, not a timing assertion: a command that waits on the terminal never ends.
    let started = std::time::Instant::now();
    while child.try_wait().ok().flatten().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(120) {
            let _ = child.kill();
            panic!("`albatross policy validate` waited on the terminal");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("nothing is piped in"), "{stderr}");
    assert!(stderr.contains("--input FILE"), "{stderr}");
}
