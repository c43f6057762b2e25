//! The Helm chart, the plain manifests and the mesh examples under `deploy/`, checked by
//! `deploy/check` (Helm's engine renders the chart; every object validates against the
//! Kubernetes JSON schemas; this build's `tessera check-config` accepts every config.yaml the
//! chart renders). See the script for the full list.

use std::path::Path;
use std::process::Command;

/// The Python with helm-python-sdk and kubernetes-validate that `.ci/setup --tests` makes.
fn python() -> String {
    std::env::var("TESSERA_DEPLOY_PYTHON").unwrap_or_else(|_| {
        format!("{}/.cache/tessera-deploy/bin/python", std::env::var("HOME").unwrap_or_default())
    })
}

#[test]
fn the_chart_renders_valid_kubernetes_objects_with_configs_tessera_accepts() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(python())
        .arg(root.join("deploy/check"))
        .args(["--tessera", env!("CARGO_BIN_EXE_tessera")])
        .output()
        .expect("the deploy/check Python (bash .ci/setup --tests) must exist");
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "deploy/check failed:\n{text}");
    assert!(text.contains("objects valid against Kubernetes"), "{text}");
}
