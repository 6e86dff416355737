//! `pisubmit hosts` end to end: the list a host spec expands to (ranges,
//! files, PISUBMIT_HOSTS), read back by pisubmit as a hosts file that
//! reaches the same real workers, its --json, the Ansible inventory of
//! --ansible and the packaged inventory script that prints it (parsed by
//! ansible-inventory itself where Ansible is installed), and the mistakes
//! it refuses with the item named.

mod common;

use common::{temp_dir, Worker, PISUBMIT};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn hosts_cmd(spec: Option<&str>, env_hosts: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(PISUBMIT);
    if let Some(spec) = spec {
        cmd.args(["--hosts", spec]);
    }
    cmd.env_remove("PISUBMIT_HOSTS");
    if let Some(env) = env_hosts {
        cmd.env("PISUBMIT_HOSTS", env);
    }
    cmd.arg("hosts").args(args).output().expect("run pisubmit hosts")
}

fn printed(out: &Output) -> String {
    assert!(out.status.success(), "pisubmit hosts failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout.clone()).expect("UTF-8")
}

#[test]
fn a_range_expands_to_one_host_per_line() {
    let out = printed(&hosts_cmd(Some("192.168.{4..5}.{1..3},pi[08-10]:31416/2,192.168.4.1"), None, &[]));
    let want = "192.168.4.1:31415\n192.168.4.2:31415\n192.168.4.3:31415\n192.168.5.1:31415\n192.168.5.2:31415\n\
                192.168.5.3:31415\npi08:31416/2\npi09:31416/2\npi10:31416/2\n";
    assert_eq!(out, want);
    // PISUBMIT_HOSTS when --hosts is not given, as for every command.
    assert_eq!(printed(&hosts_cmd(None, Some("10.0.0.{1..2}"), &[])), "10.0.0.1:31415\n10.0.0.2:31415\n");
}

#[test]
fn the_printed_list_reaches_the_same_workers() {
    let (a, b) = (Worker::start(&["--threads", "1"]), Worker::start(&["--threads", "1"]));
    let dir = temp_dir("hosts-command");
    // A pi_list.txt with a range and a comment, expanded by `hosts`...
    let list = dir.join("pi_list.txt");
    std::fs::write(&list, format!("# two workers\n127.0.0.{{1..1}}:{}\n127.0.0.1:{}\n", a.port, b.port)).unwrap();
    let spec = format!("@{}", list.display());
    let printed_list = printed(&hosts_cmd(Some(&spec), None, &[]));
    assert_eq!(printed_list, format!("{}\n{}\n", a.addr(), b.addr()));
    // ...is a hosts file pisubmit reads back: a job over it runs on both.
    let again = dir.join("expanded.txt");
    std::fs::write(&again, &printed_list).unwrap();
    let run = common::pisubmit(&format!("@{}", again.display()), &["--json", "ping"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let answered: Vec<&str> = v["hosts"].as_array().unwrap().iter().map(|h| h["address"].as_str().unwrap()).collect();
    assert_eq!(answered, [a.addr(), b.addr()]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn json_and_ansible_inventory() {
    let v: Value = serde_json::from_str(&printed(&hosts_cmd(Some("pi[1-2]/3"), None, &["--json"]))).unwrap();
    assert_eq!(v["hosts"][1], serde_json::json!({"host": "pi2", "port": 31415, "threads": 3}));
    let out = printed(&hosts_cmd(Some("192.168.{4..5}.1,pi7:31416"), None, &["--ansible"]));
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["piworkers"]["hosts"], serde_json::json!(["192.168.4.1", "192.168.5.1", "pi7"]));
    assert_eq!(v["_meta"]["hostvars"]["pi7"], serde_json::json!({"piworker_port": 31416}));
    assert_eq!(v["_meta"]["hostvars"]["192.168.4.1"], serde_json::json!({"piworker_port": 31415}));
}

#[test]
fn mistakes_are_refused_naming_the_item() {
    let out = hosts_cmd(Some("pi1,192.168.{4..x}.1"), None, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--hosts") && err.contains("192.168.{4..x}.1"), "{err}");
    let out = hosts_cmd(Some("pi1:31415,pi1:31416"), None, &["--ansible"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pi1 is listed with port 31415 and port 31416"), "{err}");
    let out = hosts_cmd(None, None, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PISUBMIT_HOSTS"));
}

/// packaging/ansible/inventory.sh, as Ansible runs it, with this pisubmit.
fn inventory_script(env_hosts: Option<&str>, args: &[&str]) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/ansible/inventory.sh");
    let mut cmd = Command::new(script);
    cmd.args(args).env("PISUBMIT", PISUBMIT).env_remove("PISUBMIT_HOSTS");
    if let Some(env) = env_hosts {
        cmd.env("PISUBMIT_HOSTS", env);
    }
    cmd.output().expect("run inventory.sh")
}

#[test]
fn the_inventory_script_prints_what_pisubmit_hosts_does() {
    let spec = "198.18.4.{11..13}";
    let direct = printed(&hosts_cmd(Some(spec), None, &["--ansible"]));
    assert_eq!(printed(&inventory_script(Some(spec), &["--list"])), direct);
    assert_eq!(printed(&inventory_script(Some(spec), &["--host", "198.18.4.11"])).trim(), "{}");
    let out = inventory_script(Some(spec), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage"));
    // No PISUBMIT_HOSTS and no pi_list.txt beside it (the repository ships
    // only pi_list.txt.example): it says what to do.
    let out = inventory_script(None, &["--list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("set PISUBMIT_HOSTS"));

    // With a pi_list.txt beside it (as in a copy of the shipped directory),
    // that file is the list when PISUBMIT_HOSTS is not set.
    let dir = temp_dir("inventory-script");
    let copy = dir.join("inventory.sh");
    std::fs::copy(Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/ansible/inventory.sh"), &copy).unwrap();
    std::fs::write(dir.join("pi_list.txt"), "# the lab\n198.18.4.{11..12}\n198.18.4.13\n").unwrap();
    let out =
        Command::new(&copy).arg("--list").env("PISUBMIT", PISUBMIT).env_remove("PISUBMIT_HOSTS").output().unwrap();
    assert_eq!(printed(&out), direct);
    std::fs::remove_dir_all(dir).unwrap();

    // Ansible's own reading of it, where Ansible is installed (CI has it).
    let ansible = Command::new("ansible-inventory")
        .arg("-i")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/ansible/inventory.sh"))
        .args(["--list"])
        .env("PISUBMIT", PISUBMIT)
        .env("PISUBMIT_HOSTS", spec)
        .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true")
        .output();
    match ansible {
        Ok(out) => {
            assert!(out.status.success(), "ansible-inventory: {}", String::from_utf8_lossy(&out.stderr));
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(v["piworkers"]["hosts"], serde_json::json!(["198.18.4.11", "198.18.4.12", "198.18.4.13"]));
            assert_eq!(v["_meta"]["hostvars"]["198.18.4.12"]["piworker_port"], 31415);
        }
        Err(_) if std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED: ansible-inventory is not installed: Ansible's reading of inventory.sh was not checked (make build-deps)");
        }
        Err(e) => panic!("ansible-inventory could not run in CI: {e}"),
    }
}
