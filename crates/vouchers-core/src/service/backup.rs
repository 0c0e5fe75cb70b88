//! An online backup of the embedded database: a consistent copy while the service keeps taking
//! writes.

use std::path::Path;

use crate::domain::InvalidInput;
use crate::store::Store;
use crate::VoucherError;

/// Copies the database to `path`, a file that must not exist yet (its folder must); the copy is
/// readable by its owner only (0600).
#[tracing::instrument(level = "debug", skip_all)]
pub async fn backup(store: &dyn Store, path: &Path) -> Result<(), VoucherError> {
    // `symlink_metadata`: a dangling symbolic link exists too.
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(InvalidInput::new("file", format!("{} exists; name a new file", path.display())).into());
    }
    let text = path.to_str().ok_or_else(|| InvalidInput::new("file", "the backup's path must be UTF-8"))?;
    Ok(store.backup_into(text).await?)
}
