//! Thread-pool sizing: `SHOTPACK_NUM_THREADS` caps rayon's global pool.

use std::sync::Once;

static INIT: Once = Once::new();

/// Builds rayon's global pool once, honouring `SHOTPACK_NUM_THREADS` when it is a positive integer.
pub fn init_pool() {
    INIT.call_once(|| {
        if let Some(n) = std::env::var("SHOTPACK_NUM_THREADS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
        {
            // An error means a pool already exists (someone else built it); keep that one.
            let _ = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build_global();
        }
    });
}
