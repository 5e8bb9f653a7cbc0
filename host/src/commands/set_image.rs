//! `albatross set image NAME CONTAINER=IMAGE`: a new image in the pod template, a new
//! revision. A full update of the Rollout, retried on a conflict, as Argo's plugin does.

use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use kube::api::PostParams;
use serde_json::json;

use crate::commands::target::{Place, block};

/// Change a Rollout's pod template.
#[derive(Args, Debug)]
pub struct SetArgs {
    #[command(subcommand)]
    pub what: SetCommand,
}

/// What `set` changes.
#[derive(Subcommand, Debug)]
pub enum SetCommand {
    /// A container's image (a new revision: the Rollout's steps start).
    ///
    /// Example:
    ///   albatross set image guestbook guestbook=argoproj/rollouts-demo:green -n shop
    #[command(verbatim_doc_comment)]
    Image {
        /// The Rollout.
        name: String,
        /// CONTAINER=IMAGE, repeat for several (`*=IMAGE` sets every container).
        #[arg(required = true, value_name = "CONTAINER=IMAGE")]
        images: Vec<String>,
        #[command(flatten)]
        place: Place,
    },
}

impl SetArgs {
    /// Writes the new template.
    pub fn execute(self) -> Result<ExitCode> {
        let SetCommand::Image {
            name,
            images,
            place,
        } = self.what;
        let mut pairs = Vec::new();
        for spec in &images {
            let (c, i) = spec
                .split_once('=')
                .filter(|(c, i)| !c.is_empty() && !i.is_empty())
                .with_context(|| format!("{spec:?}: expected CONTAINER=IMAGE"))?;
            pairs.push((c.to_string(), i.to_string()));
        }
        block(async move {
            let (api, ns) = place.rollouts().await?;
            for attempt in 1..=5 {
                let mut rollout = api
                    .get(&name)
                    .await
                    .with_context(|| format!("reading Rollout {ns}/{name}"))?;
                let containers = rollout.data["spec"]["template"]["spec"]["containers"]
                    .as_array_mut()
                    .with_context(|| {
                        format!("Rollout {ns}/{name}: spec.template.spec.containers is missing")
                    })?;
                for (container, image) in &pairs {
                    let mut found = false;
                    for c in containers.iter_mut() {
                        if container == "*" || c["name"] == json!(container) {
                            c["image"] = json!(image);
                            found = true;
                        }
                    }
                    if !found {
                        bail!(
                            "Rollout {ns}/{name}: spec.template.spec.containers has no container {container:?}"
                        );
                    }
                }
                match api.replace(&name, &PostParams::default(), &rollout).await {
                    Ok(_) => {
                        println!("rollout '{name}' image updated");
                        return Ok(ExitCode::SUCCESS);
                    }
                    Err(kube::Error::Api(s)) if s.code == 409 && attempt < 5 => continue,
                    Err(e) => {
                        return Err(e).with_context(|| format!("updating Rollout {ns}/{name}"));
                    }
                }
            }
            bail!("Rollout {ns}/{name} kept changing; try again")
        })
    }
}
