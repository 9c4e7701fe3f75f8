//! Statuspage's v2 JSON API (`incidents.json`, `summary.json`, `scheduled-maintenances.json`).

use upbeat_core::import::ImportSet;

use crate::{ImportError, Options};

pub fn parse(_value: &serde_json::Value, _options: &Options) -> Result<ImportSet, ImportError> {
    Err(ImportError::new("Statuspage JSON cannot be imported yet"))
}
