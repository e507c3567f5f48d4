//! Where a source address is: what shaping asks of a GeoIP/ASN lookup. The
//! lookup itself (database files, caching) lives with whoever provides one;
//! shaping only writes what it answers into `source.geo.*` and `source.as.*`.

use std::net::IpAddr;

/// What a lookup knows of one address; any part may be missing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Location {
    /// `source.geo.continent_name`, e.g. `Europe`.
    pub continent_name: Option<String>,
    /// `source.geo.country_iso_code`, e.g. `DE`.
    pub country_iso_code: Option<String>,
    /// `source.geo.country_name`, e.g. `Germany`.
    pub country_name: Option<String>,
    /// `source.geo.region_iso_code`, e.g. `DE-BE`.
    pub region_iso_code: Option<String>,
    /// `source.geo.region_name`, e.g. `Berlin`.
    pub region_name: Option<String>,
    /// `source.geo.city_name`, e.g. `Berlin`.
    pub city_name: Option<String>,
    /// `source.geo.location` as (latitude, longitude).
    pub coordinates: Option<(f64, f64)>,
    /// `source.as.number`.
    pub as_number: Option<u32>,
    /// `source.as.organization.name`.
    pub as_organization: Option<String>,
}

impl Location {
    /// Whether the lookup knew nothing.
    pub fn is_empty(&self) -> bool {
        self == &Location::default()
    }
}

/// A GeoIP/ASN lookup. Called for public addresses only (see
/// [`is_public`]); `None` when the address is not in the databases.
pub trait Locate: Send + Sync + std::fmt::Debug {
    /// Looks an address up.
    fn locate(&self, ip: IpAddr) -> Option<std::sync::Arc<Location>>;
}

/// Whether an address is on the public internet: not private, loopback,
/// link-local, shared (CGNAT), documentation, multicast or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_unspecified()
                || v4.is_documentation()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (18..20).contains(&b)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first == 0x2001 && v6.segments()[1] == 0x0db8))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_looked_up() {
        for public in ["81.2.69.142", "8.8.8.8", "2a02:8108::1", "::ffff:81.2.69.142"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
        for private in [
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "203.0.113.7",
            "198.51.100.1",
            "192.0.2.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "fd00::1",
            "fe80::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
    }
}
