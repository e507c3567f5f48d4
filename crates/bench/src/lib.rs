//! Benchmark tools for trailsearch: a deterministic generator of realistic
//! CloudTrail log objects (typical or as varied as a real trail), and the parsing behind the null bulk
//! endpoint that counts what loaders send it.

pub mod bulk;
pub mod gen;
mod json;
pub mod rng;
pub mod variety;
