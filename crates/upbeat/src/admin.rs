//! The commands that work on the database directly, without a server: `token list`, `token revoke`
//! and `backup`. `cli.rs` parses their arguments; this module does them and says what happened.

use std::path::Path;

use anyhow::bail;
use upbeat_store::{Revoked, Store, TokenRecord, TokenRef};
use upbeat_web::tokens::TokenJson;

/// How `token list` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// `token list`: the table for people, or the API's JSON (`{"tokens": [...]}`).
pub fn render_tokens(tokens: Vec<TokenRecord>, format: Format) -> anyhow::Result<String> {
    Ok(match format {
        Format::Json => {
            let tokens: Vec<TokenJson> = tokens.into_iter().map(TokenJson::from).collect();
            format!("{}\n", serde_json::to_string_pretty(&serde_json::json!({ "tokens": tokens }))?)
        }
        Format::Table => token_table(&tokens),
    })
}

/// `id, name, scope, prefix, created, last used` in aligned columns under a header, times in UTC
/// to the minute (which is all "last used" knows).
pub fn token_table(tokens: &[TokenRecord]) -> String {
    let mut rows = vec![[
        "ID".to_owned(),
        "NAME".into(),
        "SCOPE".into(),
        "PREFIX".into(),
        "CREATED (UTC)".into(),
        "LAST USED (UTC)".into(),
    ]];
    let minute = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M").to_string();
    for t in tokens {
        rows.push([
            t.id.to_string(),
            t.name.clone(),
            t.scope.as_str().to_owned(),
            t.prefix.clone().unwrap_or_else(|| "-".into()),
            minute(t.created_at),
            t.last_used_at.map_or_else(|| "never".into(), minute),
        ]);
    }
    crate::cli::columns(&rows)
}

/// `token revoke`: exactly one token, or an error that says why none was revoked.
pub async fn revoke_token(store: &dyn Store, which: TokenRef<'_>) -> anyhow::Result<String> {
    match store.revoke_token(which).await? {
        Revoked::Token(t) => Ok(format!("revoked token {} `{}` ({}, {})\n", t.id, t.name, t.scope.as_str(), shown(&t))),
        Revoked::Unknown => match which {
            TokenRef::Id(id) => bail!("no token has id {id}; `upbeat token list` shows them"),
            TokenRef::NameOrPrefix(label) => {
                bail!("no token is named or prefixed `{label}`; `upbeat token list` shows them")
            }
        },
        Revoked::Ambiguous(matched) => {
            let label = match which {
                TokenRef::NameOrPrefix(label) => label.to_owned(),
                TokenRef::Id(id) => id.to_string(),
            };
            let each: Vec<String> = matched.iter().map(|t| format!("id {} {}", t.id, shown(t))).collect();
            bail!(
                "{} tokens match `{label}` ({}); nothing was revoked: name one by its prefix, or by --id",
                matched.len(),
                each.join(", ")
            )
        }
    }
}

fn shown(t: &TokenRecord) -> String {
    t.prefix.clone().unwrap_or_else(|| "no prefix".into())
}

/// `backup`: a consistent copy of the live database in a new file; what was written, as a line.
pub async fn backup(db: &str, to: &Path) -> anyhow::Result<String> {
    let bytes = upbeat_store::backup(db, to).await?;
    Ok(format!("wrote {} ({bytes} bytes)\n", to.display()))
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use upbeat_core::Scope;

    use super::*;

    #[test]
    fn the_token_table_aligns_and_hides_nothing_it_knows() {
        let at = |h| Utc.with_ymd_and_hms(2026, 3, 1, h, 30, 59).single().unwrap_or_default();
        let tokens = [
            TokenRecord {
                id: 1,
                name: "legacy".into(),
                scope: Scope::Admin,
                prefix: None,
                created_at: at(9),
                last_used_at: None,
            },
            TokenRecord {
                id: 12,
                name: "ci".into(),
                scope: Scope::Write,
                prefix: Some("upb_0123abcd".into()),
                created_at: at(10),
                last_used_at: Some(at(11)),
            },
        ];
        assert_eq!(
            token_table(&tokens),
            "ID  NAME    SCOPE  PREFIX        CREATED (UTC)     LAST USED (UTC)\n\
             1   legacy  admin  -             2026-03-01 09:30  never\n\
             12  ci      write  upb_0123abcd  2026-03-01 10:30  2026-03-01 11:30\n"
        );
    }
}
