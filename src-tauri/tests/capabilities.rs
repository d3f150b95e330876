//! Least privilege in the window, checked on the files Tauri builds from: the default
//! capability grants exactly the app's commands (those of the generated bindings) and the two
//! event permissions the page uses, and the security settings of tauri.conf.json stay strict.
//! (tauri-build already refuses a capability that names a command missing from build.rs.)

use std::collections::BTreeSet;
use std::path::Path;

fn json(path: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// The command names the generated TypeScript bindings invoke.
fn commands_of_the_bindings() -> BTreeSet<String> {
    let bindings = ecosystem_desktop::typescript_bindings().expect("bindings export");
    bindings
        .split("__TAURI_INVOKE")
        .skip(1)
        .filter_map(|rest| {
            let start = rest.find("(\"")? + 2;
            let len = rest[start..].find('"')?;
            Some(rest[start..start + len].to_string())
        })
        .collect()
}

#[test]
fn the_window_is_granted_the_apps_commands_and_event_listening_only() {
    let capability = json("src-tauri/capabilities/default.json");
    assert_eq!(capability["windows"], serde_json::json!(["main"]));
    let granted: BTreeSet<String> = capability["permissions"]
        .as_array()
        .expect("a list of permissions")
        .iter()
        .map(|p| {
            p.as_str()
                .expect("permissions are plain identifiers, without scopes")
                .to_string()
        })
        .collect();
    let commands = commands_of_the_bindings();
    assert!(commands.len() > 30, "the bindings were read: {commands:?}");
    let mut expected: BTreeSet<String> = commands
        .iter()
        .map(|c| format!("allow-{}", c.replace('_', "-")))
        .collect();
    expected.insert("core:event:allow-listen".into());
    expected.insert("core:event:allow-unlisten".into());
    let missing: Vec<_> = expected.difference(&granted).collect();
    let extra: Vec<_> = granted.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "not granted (add to build.rs and the capability): {missing:?}; granted beyond need: {extra:?}"
    );
}

#[test]
fn the_content_security_policy_allows_no_inline_eval_or_remote_code() {
    let conf = json("tauri.conf.json");
    let security = &conf["app"]["security"];
    let csp = security["csp"].as_object().expect("the CSP as directives");
    let directive = |name: &str| {
        csp.get(name)
            .and_then(|v| v.as_str())
            .unwrap_or_else(|| panic!("the CSP sets {name}"))
            .to_string()
    };
    for (name, value) in csp {
        let value = value.as_str().expect("a directive is a string");
        for unsafe_source in [
            "'unsafe-inline'",
            "'unsafe-eval'",
            "'unsafe-hashes'",
            "*",
            "http:",
            "https:",
        ] {
            assert!(
                !value.split_whitespace().any(|s| s == unsafe_source),
                "{name} allows {unsafe_source}: {value}"
            );
        }
        let remote: Vec<_> = value
            .split_whitespace()
            .filter(|s| s.contains("://") && *s != "http://ipc.localhost")
            .collect();
        assert!(remote.is_empty(), "{name} allows remote origins {remote:?}");
    }
    assert_eq!(directive("default-src"), "'none'");
    assert_eq!(directive("script-src"), "'self'");
    for name in [
        "object-src",
        "base-uri",
        "form-action",
        "frame-ancestors",
        "frame-src",
    ] {
        assert_eq!(directive(name), "'none'", "{name}");
    }
    assert_eq!(security["freezePrototype"], true);
    assert_eq!(security["dangerousDisableAssetCspModification"], false);
    assert_eq!(security["assetProtocol"]["enable"], false);
    assert_eq!(conf["app"]["withGlobalTauri"], false);
}
