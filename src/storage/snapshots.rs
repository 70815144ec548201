//! Snapshots: kept table versions. (Automatic snapshots arrive with the snapshots issue; the
//! destruction hook already calls here.)

use super::schema::Destruction;
use super::{Inner, SessionContext};
use crate::catalog::TableRecord;
use crate::engine::TableFile;
use crate::error::Result;

impl Inner {
    /// Takes an automatic snapshot of `file` when the table's settings ask for one before `why`.
    pub(crate) fn auto_snapshot(
        &self,
        _ctx: &SessionContext,
        _table: &TableRecord,
        _file: &TableFile,
        _why: Destruction,
    ) -> Result<()> {
        Ok(())
    }
}
