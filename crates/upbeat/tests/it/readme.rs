//! The README's shell examples run as written: every ```sh block, in order and in one shell (so
//! `TOKEN=...` in one is there for the next), from a directory laid out like the repository,
//! against the example served as the Quick start serves it. A command that exits non-zero, or a
//! `curl` answered 4xx or 5xx, fails the test and names the block's line; so does a link to the
//! served example in the README's text that does not answer 2xx.
//!
//! What the check changes, and only this: `cargo run [-q] -p upbeat --` runs the built binary;
//! `127.0.0.1:8080` and the demo sinks' ports become free ones (so it runs beside other tests);
//! the webhook subscriber's `https://example.com/...` goes to the demo sink (tests reach loopback
//! only); `backup.sh` is a stand-in job on `PATH`. A block right after
//! `<!-- readme-check: skip (why) -->` is not run: the Quick start's `serve` (this test serves
//! the example itself) and `scripts/test` (which runs this test).

use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use crate::helpers::{Example, eventually, http_client};

const BIN: &str = env!("CARGO_BIN_EXE_upbeat");
const SKIP: &str = "<!-- readme-check: skip";

/// The README's ```sh blocks that are to run, each with the line its first command is on.
fn shell_blocks(readme: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut lines = readme.lines().enumerate().peekable();
    let mut previous = "";
    while let Some((n, line)) = lines.next() {
        if line.trim_end() == "```sh" {
            let mut block = String::new();
            for (_, line) in lines.by_ref() {
                if line.trim_end() == "```" {
                    break;
                }
                block.push_str(line);
                block.push('\n');
            }
            if !previous.starts_with(SKIP) {
                blocks.push((n + 2, block));
            } else {
                assert!(previous.contains('(') && previous.contains(')'), "a skip says why, at README line {}", n);
            }
        }
        if !line.trim().is_empty() {
            previous = line;
        }
    }
    blocks
}

/// The example's URLs the README names in its text (not in shell blocks, which run as commands).
fn page_links(readme: &str) -> Vec<String> {
    let mut links = std::collections::BTreeSet::new();
    let mut in_block = false;
    for line in readme.lines() {
        if line.starts_with("```") {
            in_block = !in_block;
            continue;
        }
        if in_block {
            continue;
        }
        for (at, _) in line.match_indices("http://127.0.0.1:8080/") {
            let link: String = line[at..].chars().take_while(|c| !" )`,\"'".contains(*c)).collect();
            links.insert(link);
        }
    }
    links.into_iter().collect()
}

/// What the shell has before the first block: the stand-ins named in the module doc.
const PRELUDE: &str = r#"set -eEo pipefail
trap 'echo "README block at line $BLOCK failed (exit $?)" >&2' ERR
cargo() {
    [ "$1" = run ] || { echo "readme-check: only \`cargo run\` is understood: cargo $*" >&2; return 1; }
    while [ "$#" -gt 0 ] && [ "$1" != "--" ]; do shift; done
    shift
    "$UPBEAT_BIN" "$@"
}
curl() {
    local body status
    body=$(mktemp)
    status=$(command curl --silent --show-error --output "$body" --write-out '%{http_code}' "$@") || {
        local exit=$?
        cat "$body"
        rm -f "$body"
        return "$exit"
    }
    cat "$body"
    echo
    rm -f "$body"
    if [ "$status" -ge 400 ]; then
        echo "curl $*: answered HTTP $status" >&2
        return 22
    fi
}
"#;

#[tokio::test]
async fn every_shell_example_in_the_readme_runs_as_written() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let blocks = shell_blocks(&readme);
    assert!(blocks.len() >= 8, "the README's examples were found: {blocks:?}");

    // The repository as a reader has it, with the example's ports moved.
    let dir = tempfile::tempdir().expect("tempdir");
    let examples = dir.path().join("examples");
    std::fs::create_dir(&examples).expect("examples/");
    let example = Example::write_into(&examples);
    std::os::unix::fs::symlink(root.join("crates").canonicalize().expect("crates/"), dir.path().join("crates"))
        .expect("link crates/");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("bin/");
    let job = bin.join("backup.sh");
    std::fs::write(&job, "#!/bin/sh\necho 'backed up 3 databases'\n").expect("backup.sh");
    std::fs::set_permissions(&job, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod backup.sh");

    // The Quick start's first line, as its skip comment says.
    let log = std::fs::File::create(dir.path().join("serve.log")).expect("serve.log");
    let mut server = Command::new(BIN)
        .args(["serve", "--config", "examples/upbeat.toml", "--demo-sinks"])
        .current_dir(dir.path())
        .env_remove("UPBEAT_CONFIG")
        .env_remove("UPBEAT_DATABASE_URL")
        .env_remove("UPBEAT_LISTEN")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("upbeat serve");
    let client = http_client();
    let health = format!("http://{}/health", example.listen);
    eventually("the example to serve", Duration::from_secs(20), || async {
        client.get(&health).send().await.ok().filter(|r| r.status() == 200).map(|_| ())
    })
    .await;

    let mut script = String::from(PRELUDE);
    for (line, block) in &blocks {
        let block = block
            .replace("127.0.0.1:8080", &example.listen.to_string())
            .replace("https://example.com/hooks/status", &format!("http://{}/hooks/status", example.channels));
        script.push_str(&format!("BLOCK={line}\necho '### README line {line}'\n{block}\n"));
    }
    script.push_str("echo '### every block ran'\n");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let run = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("PATH", path)
        .env("UPBEAT_BIN", BIN)
        .env_remove("UPBEAT_CONFIG")
        .env_remove("UPBEAT_DATABASE_URL")
        .env_remove("UPBEAT_SERVER")
        .env_remove("UPBEAT_TOKEN")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output();
    let out =
        tokio::time::timeout(Duration::from_secs(120), run).await.expect("the README's examples finish").expect("bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("### every block ran"),
        "a README example failed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
    );
    // What the examples promise they print.
    assert!(stdout.contains("ops-webhook: delivered"), "{stdout}");
    assert!(stdout.contains("MTBF") && stdout.contains("MAINTENANCE"), "{stdout}");

    // Every page the README sends a reader to, outside its shell blocks, answers.
    let links = page_links(&readme);
    assert!(links.len() >= 10 && links.iter().any(|l| l.ends_with("/feed.json")), "{links:?}");
    for url in links {
        let url = url.replace("127.0.0.1:8080", &example.listen.to_string());
        let response = client.get(&url).send().await.expect("a README link");
        assert!(response.status().is_success(), "{url}: {}", response.status());
    }

    // The served example took all that without an error, and stops cleanly.
    let pid = server.id().expect("a pid").to_string();
    let status = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill");
    assert!(status.success());
    let exit =
        tokio::time::timeout(Duration::from_secs(15), server.wait()).await.expect("exits on SIGTERM").expect("wait");
    assert!(exit.success(), "{exit:?}");
    let log = std::fs::read_to_string(dir.path().join("serve.log")).expect("serve.log");
    let errors: Vec<&str> = log.lines().filter(|l| l.contains("ERROR")).collect();
    assert!(errors.is_empty(), "the example logged errors:\n{}", errors.join("\n"));
}

#[test]
fn the_quick_start_is_skipped_and_says_why_and_the_rest_runs() {
    let readme = std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
        .expect("README.md");
    let skipped = readme.lines().filter(|l| l.starts_with(SKIP)).count();
    assert!(skipped >= 1, "the Quick start's serve-and-test block is skipped");
    let blocks = readme.lines().filter(|l| l.trim_end() == "```sh").count();
    assert_eq!(shell_blocks(&readme).len(), blocks - skipped, "a skip comment skips one block");
    let runs = shell_blocks(&readme).into_iter().map(|(_, b)| b).collect::<String>();
    assert!(
        !runs.contains("scripts/test") && !runs.contains("-- serve"),
        "nothing that runs the tests or a second server"
    );
}
