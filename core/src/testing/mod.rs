//! Test scaffolding of the core, in one place: a simulated world on a
//! virtual clock ([`sim`]), a scripted SMB2 client ([`smb_client`]), the
//! randomized multi-client simulation (`simulation`) and the cross-protocol
//! scenarios (`cross`). Public with the `sim` feature, for the integration
//! tests, fuzz targets and benchmarks; unit tests of a module live beside it
//! in that module's `tests` folder.

#[cfg(test)]
mod cross;
#[cfg(feature = "sim")]
pub mod sim;
#[cfg(test)]
mod simulation;
// Message builders named after the MS-SMB2 structures they build; the
// crate's missing_docs (on without `sim`) would want each one described
// again.
#[allow(missing_docs)]
pub mod smb_client;
