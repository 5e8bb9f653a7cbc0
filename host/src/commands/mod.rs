//! The command line, one verb a file: each an `Args` struct (its `--help` in its doc comment)
//! with an `execute`. The option groups several verbs share live in [`options`].

pub mod abort;
pub mod controller;
pub mod crd;
pub mod get;
pub mod lint;
pub mod list;
pub mod module;
pub mod options;
pub mod pause;
pub mod policy;
pub mod promote;
pub mod retry;
pub mod set_image;
pub mod simulate;
pub mod status;
pub mod target;
pub mod undo;
pub mod verify;

use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

/// The verbs.
#[derive(Subcommand, Debug)]
pub enum Command {
    Simulate(simulate::SimulateArgs),
    Lint(lint::LintArgs),
    Verify(Box<verify::VerifyArgs>),
    Module(module::ModuleArgs),
    Policy(policy::PolicyArgs),
    Controller(Box<controller::ControllerArgs>),
    Crd(crd::CrdArgs),
    Get(get::GetArgs),
    List(list::ListArgs),
    Promote(promote::PromoteArgs),
    Pause(pause::PauseArgs),
    Abort(abort::AbortArgs),
    Retry(retry::RetryArgs),
    Set(set_image::SetArgs),
    Status(status::StatusArgs),
    Undo(undo::UndoArgs),
}

impl Command {
    /// Runs the verb; its exit code.
    pub fn execute(self) -> Result<ExitCode> {
        match self {
            Command::Simulate(args) => args.execute(),
            Command::Lint(args) => args.execute(),
            Command::Verify(args) => args.execute(),
            Command::Module(args) => args.execute(),
            Command::Policy(args) => args.execute(),
            Command::Controller(args) => args.execute(),
            Command::Crd(args) => args.execute(),
            Command::Get(args) => args.execute(),
            Command::List(args) => args.execute(),
            Command::Promote(args) => args.execute(),
            Command::Pause(args) => args.execute(),
            Command::Abort(args) => args.execute(),
            Command::Retry(args) => args.execute(),
            Command::Set(args) => args.execute(),
            Command::Status(args) => args.execute(),
            Command::Undo(args) => args.execute(),
        }
    }
}
