//! Running the real `albatross` binary the way a user's shell does, for the CLI tests: with
//! dummy AWS credentials and no instance metadata, and the example files they pass it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::cluster::albatross_binary;

/// Runs `albatross ARGS` to the end, with dummy AWS credentials and IMDS off.
pub fn albatross(args: &[&str]) -> Output {
    Command::new(albatross_binary())
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap_or_else(|e| panic!("running albatross: {e}"))
}

/// A finished command's stdout and stderr, as text.
pub fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Writes `content` to `dir/name`; its path.
pub fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// A file of the repository's `examples/`, by its path below it.
pub fn example(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(path)
}

/// The path of `examples/manifests/guestbook.yaml`, as an argument.
pub fn guestbook() -> String {
    example("manifests/guestbook.yaml").display().to_string()
}
