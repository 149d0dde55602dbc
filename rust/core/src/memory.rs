//! (being written; see docs/DEVPLAN.md)
