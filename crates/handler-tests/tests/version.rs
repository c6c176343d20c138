//! One version for the release: the workspace's (which every function logs when it starts),
//! the stack's `version` tag (the template's and samconfig.toml's), the OpenAPI document's
//! `info.version`, and the newest entry of CHANGELOG.md.

use std::path::{Path, PathBuf};

fn repo_file(path: &str) -> String {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_stack_the_functions_the_openapi_document_and_the_changelog_name_one_version() {
    let version = payments_core::VERSION;
    assert!(version.split('.').count() == 3, "{version}");

    let template: serde_norway::Value =
        serde_norway::from_str(&repo_file("template.yaml")).unwrap();
    assert_eq!(
        template["Globals"]["Function"]["Tags"]["version"].as_str(),
        Some(version),
        "template.yaml's Globals tag"
    );
    let samconfig = repo_file("samconfig.toml");
    let tags: Vec<&str> = samconfig
        .lines()
        .filter(|line| line.starts_with("tags = "))
        .collect();
    assert_eq!(tags.len(), 2, "dev and prod");
    for line in tags {
        assert!(
            line.contains(&format!("version={version}")),
            "samconfig.toml: {line}"
        );
    }
    let openapi: serde_norway::Value =
        serde_norway::from_str(&repo_file("docs/openapi.yaml")).unwrap();
    assert_eq!(
        openapi["info"]["version"].as_str(),
        Some(version),
        "docs/openapi.yaml"
    );

    let changelog = repo_file("CHANGELOG.md");
    let newest = changelog
        .lines()
        .find(|line| line.starts_with("## ["))
        .expect("CHANGELOG.md has a release");
    assert!(
        newest.starts_with(&format!("## [{version}]")),
        "CHANGELOG.md's newest release is {newest}, the workspace's {version}"
    );
}

/// rust-toolchain.toml pins the release the workspace declares as its `rust-version`: the
/// compiler CI and a laptop build with is the one the manifests promise.
#[test]
fn the_pinned_toolchain_is_the_declared_rust_version() {
    let value = |file: &str, key: &str| -> String {
        let text = repo_file(file);
        let line = text
            .lines()
            .find(|line| line.starts_with(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("{file} has no {key}"));
        line.split('"').nth(1).unwrap().to_owned()
    };
    let rust_version = value("Cargo.toml", "rust-version");
    assert_eq!(value("rust-toolchain.toml", "channel"), rust_version);
    assert!(
        repo_file("rust-toolchain.toml").contains("\"aarch64-unknown-linux-gnu\""),
        "the arm64 Lambda target"
    );
}
