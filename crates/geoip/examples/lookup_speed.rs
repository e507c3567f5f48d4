//! What one lookup costs, cached and not. Meaningful in a release build only:
//!
//! ```sh
//! cargo run --release -p trailsearch-geoip --example lookup_speed [-- CITY.mmdb ASN.mmdb]
//! ```
//!
//! Without arguments it uses the test databases that `scripts/bootstrap`
//! installs in `.venv/geoip/`. It prints nanoseconds per lookup for:
//! uncached lookups of random IPv4 addresses (the databases' own cost),
//! cached lookups of a few repeated addresses (CloudTrail's usual traffic),
//! and a mix of 95% repeated, 5% new addresses through the cache.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Instant;

use trailsearch_geoip::GeoIp;
use trailsearch_mapping::{is_public, Locate};

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let (city, asn) = match args.as_slice() {
        [] => {
            let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/geoip"));
            (dir.join("GeoLite2-City.mmdb"), dir.join("GeoLite2-ASN-test.mmdb"))
        }
        [city, asn] => (city.clone(), asn.clone()),
        _ => {
            eprintln!("usage: lookup_speed [CITY.mmdb ASN.mmdb]");
            std::process::exit(2);
        }
    };
    let started = Instant::now();
    let geoip = match GeoIp::open(Some(&city), Some(&asn)) {
        Ok(geoip) => geoip,
        Err(error) => {
            eprintln!("{error} (run scripts/bootstrap for the test databases)");
            std::process::exit(1);
        }
    };
    println!("open: {:?} ({geoip:?})", started.elapsed());

    let mut random = XorShift(0x2545_f491_4f6c_dd1d);
    let fresh: Vec<IpAddr> =
        std::iter::from_fn(|| Some(IpAddr::V4(Ipv4Addr::from_bits(random.next() as u32))))
            .filter(|ip| is_public(*ip))
            .take(200_000)
            .collect();
    let hot: Vec<IpAddr> = [
        "81.2.69.142",
        "8.8.8.8",
        "52.94.76.1",
        "2a02:8108::1",
        "1.1.1.1",
        "2a10:50c0::ad1:ff",
        "54.239.28.85",
        "3.5.140.1",
    ]
    .iter()
    .map(|text| text.parse().expect("a literal address"))
    .chain(fresh[..24].iter().copied())
    .collect();

    // Uncached: every lookup walks both trees and decodes the records.
    let found = fresh
        .iter()
        .filter(|ip| geoip.locate_uncached(**ip).is_some())
        .count();
    let per = time(&fresh, |ip| black_box(geoip.locate_uncached(ip)).is_some());
    println!(
        "uncached: {per:.0} ns/lookup ({} random public IPv4 addresses, {found} found)",
        fresh.len()
    );

    // Cached: the same few addresses again and again.
    for ip in &hot {
        geoip.locate(*ip);
    }
    let repeated: Vec<IpAddr> = hot.iter().copied().cycle().take(1_000_000).collect();
    let per = time(&repeated, |ip| black_box(geoip.locate(ip)).is_some());
    println!("cached: {per:.0} ns/lookup ({} addresses repeated)", hot.len());

    // A mix: 19 of 20 lookups repeat a hot address, 1 in 20 is new.
    let fresh_geoip = GeoIp::open(Some(&city), Some(&asn)).expect("opened once already");
    let mut fresh_iter = fresh.iter().copied().cycle();
    let mixed: Vec<IpAddr> = (0..1_000_000)
        .map(|i| {
            if i % 20 == 19 {
                fresh_iter.next().unwrap_or(hot[0])
            } else {
                hot[i % hot.len()]
            }
        })
        .collect();
    let per = time(&mixed, |ip| black_box(fresh_geoip.locate(ip)).is_some());
    println!("mixed 95/5: {per:.0} ns/lookup ({:?})", fresh_geoip.cache_stats());
}

/// Nanoseconds per call of `lookup` over `addresses`.
fn time(addresses: &[IpAddr], lookup: impl Fn(IpAddr) -> bool) -> f64 {
    let started = Instant::now();
    let mut found = 0usize;
    for ip in addresses {
        found += usize::from(lookup(*ip));
    }
    black_box(found);
    started.elapsed().as_nanos() as f64 / addresses.len() as f64
}

/// A fixed-seed generator, so every run looks the same addresses up.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
