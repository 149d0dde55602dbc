//! Python objects to core inputs: nested lists of bits, and samples / counts keys.

pub mod lists;
pub mod samples;
