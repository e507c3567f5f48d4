//! Benchmark tools for trailsearch (issue 7): a deterministic generator of
//! realistic CloudTrail log objects, and the parsing behind the null bulk
//! endpoint that counts what loaders send it.

pub mod bulk;
pub mod gen;
mod json;
pub mod rng;
