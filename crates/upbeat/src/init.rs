//! `upbeat init`: a commented starter configuration, so the first step from the demo to a server
//! of one's own is one command. What it writes is checked with [`Config::parse`] before it is
//! written, so it is valid or nothing is written; it never overwrites a file.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, bail};
use upbeat_core::Config;

/// What the starter configuration says; the three values the user chooses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Starter {
    pub title: String,
    pub base_url: String,
    /// Watched by an HTTP monitor; without one the monitor is written commented out.
    pub url: Option<String>,
}

/// Runs the command: asks for what was not given when stdin is a terminal, writes
/// `<dir>/upbeat.toml`, prints the next steps.
pub fn run(dir: &Path, title: Option<String>, base_url: Option<String>, url: Option<String>) -> anyhow::Result<()> {
    let path = dir.join("upbeat.toml");
    if path.exists() {
        bail!("{} already exists; upbeat init writes a new file only", path.display());
    }
    let interactive = std::io::stdin().is_terminal();
    let ask = |question: &str, default: &str| -> anyhow::Result<String> {
        if !interactive {
            return Ok(default.to_owned());
        }
        eprint!("{question} [{default}]: ");
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        let answer = answer.trim();
        Ok(if answer.is_empty() { default.to_owned() } else { answer.to_owned() })
    };
    let title = match title {
        Some(t) => t,
        None => ask("The status page's title", "Status")?,
    };
    let base_url = match base_url {
        Some(u) => u,
        None => ask("Its public address", "http://127.0.0.1:8080/")?,
    };
    let url = match url {
        Some(u) => Some(u),
        None => Some(ask("A URL to watch (- for none)", "-")?).filter(|u| u != "-"),
    };
    let text = render(&Starter { title, base_url, url });
    Config::parse(&path.display().to_string(), &text).map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // `create_new`: a file that appeared meanwhile is not overwritten either.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
    println!("wrote {}", path.display());
    let config_arg = if dir == Path::new(".") {
        String::new()
    } else {
        format!(" --config {}", shell_word(&path.display().to_string()))
    };
    println!("next: upbeat config check{config_arg}");
    println!("      upbeat serve{config_arg}");
    println!("then open http://127.0.0.1:8080/ (docs/DEPLOY.md says how to run it as a service)");
    Ok(())
}

/// `text` as one shell word, quoted only when it must be.
fn shell_word(text: &str) -> String {
    if text.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+:=@".contains(c)) {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// A TOML basic string holding `text`.
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The starter configuration's text.
pub fn render(starter: &Starter) -> String {
    let monitor = match &starter.url {
        Some(url) => format!(
            "[[monitor]]\n\
             id = \"website\"\n\
             name = \"Website\"\n\
             kind = \"http\"\n\
             url = {}\n\
             interval = \"60s\"\n\
             component = \"website\"\n",
            toml_string(url)
        ),
        None => "# [[monitor]]\n\
                 # id = \"website\"\n\
                 # name = \"Website\"\n\
                 # kind = \"http\"\n\
                 # url = \"https://www.example.com/\"\n\
                 # interval = \"60s\"\n\
                 # component = \"website\"\n"
            .to_owned(),
    };
    format!(
        "# upbeat's configuration: what belongs in version control (the page, components, monitors,\n\
         # channels). Incidents, subscribers and history live in the database.\n\
         # Check it with `upbeat config check`; examples/upbeat.toml in upbeat's repository shows every\n\
         # field, and the README describes each.\n\
         \n\
         [page]\n\
         title = {title}\n\
         # The address the public reaches the page at. Feed links and guids derive from it, so choose\n\
         # it before publishing; behind a reverse proxy it is the proxy's https:// address.\n\
         base_url = {base_url}\n\
         time_zone = \"UTC\"\n\
         \n\
         [server]\n\
         # Keep 127.0.0.1 behind a reverse proxy; 0.0.0.0:8080 to be reached directly.\n\
         listen = \"127.0.0.1:8080\"\n\
         \n\
         # What the public sees; monitors decide its status.\n\
         [[component]]\n\
         id = \"website\"\n\
         name = \"Website\"\n\
         \n\
         # Checked every minute; two failed checks in a row open an outage, one success closes it.\n\
         {monitor}\
         \n\
         # A cron job's heartbeat: it pings <base_url>ping/<uuid> when it succeeds (the uuid is\n\
         # generated once; see `ping_url` in GET /api/v1/monitors).\n\
         # [[monitor]]\n\
         # id = \"nightly-backup\"\n\
         # name = \"Nightly backup\"\n\
         # kind = \"heartbeat\"\n\
         # cron = \"30 3 * * *\"\n\
         # grace = \"1h\"\n\
         \n\
         # Where the team is alerted: webhook, slack, discord, teams, ntfy, pagerduty, opsgenie,\n\
         # telegram or email (with [smtp]). Credentials may be written \"env:NAME\".\n\
         # [[channel]]\n\
         # id = \"team-slack\"\n\
         # kind = \"slack\"\n\
         # url = \"env:SLACK_WEBHOOK_URL\"\n",
        title = toml_string(&starter.title),
        base_url = toml_string(&starter.base_url),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(starter: &Starter) -> Config {
        Config::parse("upbeat.toml", &render(starter)).unwrap_or_else(|e| panic!("{e}\n{}", render(starter)))
    }

    #[test]
    fn the_starter_is_valid_with_and_without_a_monitor() {
        let with = Starter {
            title: "Acme \"status\" \\ page".into(),
            base_url: "https://status.acme.test/".into(),
            url: Some("https://acme.test/health".into()),
        };
        let config = parse(&with);
        assert_eq!(config.page.title, "Acme \"status\" \\ page");
        assert_eq!(config.page.base_url.as_str(), "https://status.acme.test/");
        assert_eq!(config.monitors.len(), 1);
        assert_eq!(config.monitors[0].kind.name(), "http");
        assert!(config.channels.is_empty());
        let without = parse(&Starter { url: None, ..with });
        assert!(without.monitors.is_empty());
    }

    #[test]
    fn a_bad_url_is_a_config_error() {
        let starter =
            Starter { title: "t".into(), base_url: "http://127.0.0.1:8080/".into(), url: Some("ftp://x".into()) };
        assert!(Config::parse("upbeat.toml", &render(&starter)).is_err());
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("/srv/upbeat/upbeat.toml"), "/srv/upbeat/upbeat.toml");
        assert_eq!(shell_word("my dir/upbeat.toml"), "'my dir/upbeat.toml'");
    }
}
