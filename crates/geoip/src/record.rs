//! The parts of MaxMind's records that trailsearch keeps. Strings borrow from
//! the mapped file and unknown keys are skipped without being decoded, so a
//! lookup copies only what ends up in the document.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;
use trailsearch_mapping::Location;

/// A City or Country record (GeoLite2/GeoIP2 layout).
#[derive(Deserialize)]
pub(crate) struct LocationRecord<'a> {
    #[serde(borrow, default)]
    continent: Option<Place<'a>>,
    #[serde(borrow, default)]
    country: Option<Place<'a>>,
    /// Largest first (`ENG` England, then `CAM` Cambridgeshire): the first is
    /// the region.
    #[serde(borrow, default, deserialize_with = "first")]
    subdivisions: Option<Place<'a>>,
    #[serde(borrow, default)]
    city: Option<Place<'a>>,
    #[serde(default)]
    location: Option<Coordinates>,
}

/// A continent, country, subdivision or city: its code and English name.
#[derive(Deserialize)]
struct Place<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
    #[serde(borrow, default)]
    names: Option<Names<'a>>,
}

impl Place<'_> {
    fn name(&self) -> Option<String> {
        self.names.as_ref()?.en.map(str::to_owned)
    }
}

#[derive(Deserialize)]
struct Names<'a> {
    #[serde(borrow, default)]
    en: Option<&'a str>,
}

#[derive(Deserialize)]
struct Coordinates {
    #[serde(default, deserialize_with = "number")]
    latitude: Option<f64>,
    #[serde(default, deserialize_with = "number")]
    longitude: Option<f64>,
}

impl LocationRecord<'_> {
    pub(crate) fn fill(self, location: &mut Location) {
        location.continent_name = self.continent.and_then(|continent| continent.name());
        let country_code = self.country.as_ref().and_then(|country| country.iso_code);
        location.country_iso_code = country_code.map(str::to_owned);
        location.country_name = self.country.and_then(|country| country.name());
        if let Some(region) = self.subdivisions {
            // ISO 3166-2 (`GB-ENG`), as Elastic's geoip processor writes it;
            // the databases hold only the part after the country's code.
            location.region_iso_code = match (country_code, region.iso_code) {
                (Some(country), Some(region)) => Some(format!("{country}-{region}")),
                _ => None,
            };
            location.region_name = region.name();
        }
        location.city_name = self.city.and_then(|city| city.name());
        location.coordinates = self.location.and_then(|at| {
            let (lat, lon) = (at.latitude?, at.longitude?);
            // A geo_point out of range would get the whole document rejected.
            ((-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)).then_some((lat, lon))
        });
    }
}

/// A GeoLite2-ASN or GeoIP2-ISP record.
#[derive(Deserialize)]
pub(crate) struct AsnRecord<'a> {
    #[serde(default, deserialize_with = "number")]
    autonomous_system_number: Option<u32>,
    #[serde(borrow, default)]
    autonomous_system_organization: Option<&'a str>,
}

impl AsnRecord<'_> {
    pub(crate) fn fill(self, location: &mut Location) {
        location.as_number = self.autonomous_system_number;
        location.as_organization = self.autonomous_system_organization.map(str::to_owned);
    }
}

/// The first element of an array, skipping the rest without decoding them.
fn first<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct First<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for First<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<T>, A::Error> {
            let first = seq.next_element()?;
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(first)
        }
    }

    deserializer.deserialize_seq(First(PhantomData))
}

/// A number stored as any of the format's numeric types. MaxMind's files use
/// uint32 for AS numbers and doubles for coordinates, but other writers pick
/// the smallest type that fits (uint16 for AS 15169, float for coordinates).
fn number<'de, D, N>(deserializer: D) -> Result<Option<N>, D::Error>
where
    D: Deserializer<'de>,
    N: FromNumber,
{
    struct Number<N>(PhantomData<N>);

    impl<N: FromNumber> Visitor<'_> for Number<N> {
        type Value = Option<N>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(N::EXPECTING)
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<Option<N>, E> {
            N::from_u64(value)
                .map(Some)
                .ok_or_else(|| E::custom(N::EXPECTING))
        }

        fn visit_u128<E: de::Error>(self, value: u128) -> Result<Option<N>, E> {
            let value = u64::try_from(value).map_err(|_| E::custom(N::EXPECTING))?;
            self.visit_u64(value)
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<Option<N>, E> {
            N::from_i64(value)
                .map(Some)
                .ok_or_else(|| E::custom(N::EXPECTING))
        }

        fn visit_f64<E: de::Error>(self, value: f64) -> Result<Option<N>, E> {
            N::from_f64(value)
                .map(Some)
                .ok_or_else(|| E::custom(N::EXPECTING))
        }
    }

    deserializer.deserialize_any(Number(PhantomData))
}

trait FromNumber: Sized {
    const EXPECTING: &'static str;
    fn from_u64(value: u64) -> Option<Self>;
    fn from_i64(value: i64) -> Option<Self>;
    fn from_f64(value: f64) -> Option<Self>;
}

impl FromNumber for u32 {
    const EXPECTING: &'static str = "an unsigned 32-bit integer";

    fn from_u64(value: u64) -> Option<u32> {
        u32::try_from(value).ok()
    }

    fn from_i64(value: i64) -> Option<u32> {
        u32::try_from(value).ok()
    }

    fn from_f64(_: f64) -> Option<u32> {
        None
    }
}

impl FromNumber for f64 {
    const EXPECTING: &'static str = "a finite number";

    fn from_u64(value: u64) -> Option<f64> {
        // Coordinates are small; a huge integer is out of range anyway.
        Some(value as f64)
    }

    fn from_i64(value: i64) -> Option<f64> {
        Some(value as f64)
    }

    fn from_f64(value: f64) -> Option<f64> {
        value.is_finite().then_some(value)
    }
}
