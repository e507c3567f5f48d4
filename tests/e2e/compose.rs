//! docker-compose.yml, checked statically: no Docker engine runs here.

use serde_json::Value;
use trailsearch_e2e::*;

fn compose() -> Value {
    let mut command = std::process::Command::new(repo_root().join(".venv/bin/python"));
    command.args([
        "-c",
        "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        repo_root().join("docker-compose.yml").to_str().unwrap(),
    ]);
    let run = run(command).expect_code(0);
    serde_json::from_str(&run.stdout).unwrap()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn compose_services_are_pinned_healthy_and_ordered() {
    let compose = compose();
    let services = compose["services"].as_object().expect("services");
    let mut names: Vec<&str> = services.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "elasticsearch",
            "ingest",
            "kibana",
            "load-samples",
            "minio",
            "setup"
        ]
    );

    for (name, service) in services {
        let image = service["image"]
            .as_str()
            .unwrap_or_else(|| panic!("{name} has no image"));
        let (_, tag) = image
            .rsplit_once(':')
            .unwrap_or_else(|| panic!("{name}: {image} has no tag"));
        assert!(
            !tag.is_empty() && tag != "latest",
            "{name}: {image} is not pinned"
        );
        for port in strings(&service["ports"]) {
            assert!(
                port.starts_with("127.0.0.1:"),
                "{name} publishes {port} beyond this machine"
            );
        }
        for (dependency, condition) in service["depends_on"].as_object().into_iter().flatten() {
            assert!(
                services.contains_key(dependency),
                "{name} depends on unknown {dependency}"
            );
            let condition = condition["condition"].as_str().unwrap_or("");
            assert!(
                ["service_healthy", "service_completed_successfully"].contains(&condition),
                "{name} -> {dependency}: {condition:?}"
            );
            if condition == "service_healthy" {
                assert!(
                    services[dependency].get("healthcheck").is_some(),
                    "{dependency} has no healthcheck"
                );
            }
        }
    }
    for long_running in ["elasticsearch", "kibana", "minio"] {
        assert!(
            services[long_running].get("healthcheck").is_some(),
            "{long_running}"
        );
    }
    assert!(services["elasticsearch"]["image"]
        .as_str()
        .unwrap()
        .contains("elasticsearch:8."));
    assert!(services["kibana"]["image"]
        .as_str()
        .unwrap()
        .contains("kibana:8."));
    assert_eq!(
        services["kibana"]["image"].as_str().unwrap().rsplit(':').next(),
        services["elasticsearch"]["image"]
            .as_str()
            .unwrap()
            .rsplit(':')
            .next(),
        "Kibana and Elasticsearch versions match"
    );
    let samples = strings(&services["load-samples"]["volumes"]);
    let host = samples[0].split(':').next().unwrap();
    assert!(repo_root().join(host).join("AWSLogs").is_dir(), "{host}");
}

#[test]
fn compose_commands_are_real_trailsearch_invocations() {
    let compose = compose();
    for name in ["setup", "ingest"] {
        let args = strings(&compose["services"][name]["command"]);
        assert!(!args.is_empty(), "{name}");
        // clap validates every argument before it prints help: exit 0 means
        // the command line parses, 2 that it would not.
        let mut command = std::process::Command::new(trailsearch_bin());
        command.args(&args).arg("--help");
        run(command).expect_code(0);
    }
    let mut bogus = std::process::Command::new(trailsearch_bin());
    bogus.args(["setup", "--no-such-flag", "--help"]);
    run(bogus).expect_code(2);
    let dockerfile = std::fs::read_to_string(repo_root().join("Dockerfile")).unwrap();
    assert!(dockerfile.contains("-p trailsearch-cli") && dockerfile.contains("ENTRYPOINT [\"trailsearch\"]"));
}
