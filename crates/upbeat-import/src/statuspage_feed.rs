//! Statuspage history feeds (`history.rss`, `history.atom`).

use upbeat_core::import::ImportSet;

use crate::xml::Element;
use crate::{ImportError, Options};

pub fn parse(root: &Element, _options: &Options) -> Result<ImportSet, ImportError> {
    Err(ImportError::at(root.line, &root.name, "Statuspage history feeds cannot be imported yet"))
}
