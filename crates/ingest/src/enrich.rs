//! The GeoIP/ASN lookup the settings name, loaded once per process: local
//! MaxMind database files, or S3 objects fetched once into a temporary file
//! (the Lambda's cold start), then memory-mapped.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use trailsearch_geoip::GeoIp;
use trailsearch_mapping::Locate;

use crate::error::IngestError;
use crate::source::ObjectRef;
use crate::store::{parse_s3_url, ObjectStore};

/// Database files the Lambda finds beside its `bootstrap` when no variable
/// names one (package them into the deployment zip or a layer).
pub const CITY_DB_NAME: &str = "GeoLite2-City.mmdb";
/// See [`CITY_DB_NAME`].
pub const ASN_DB_NAME: &str = "GeoLite2-ASN.mmdb";

/// Loads the lookup for `city` and `asn` (each a path or an `s3://` URL);
/// `None` when neither is set.
pub async fn load_locator(
    city: Option<&str>,
    asn: Option<&str>,
    store: &ObjectStore,
) -> Result<Option<Arc<dyn Locate>>, IngestError> {
    if city.is_none() && asn.is_none() {
        return Ok(None);
    }
    let city = match city {
        Some(location) => Some(local_copy(location, store).await?),
        None => None,
    };
    let asn = match asn {
        Some(location) => Some(local_copy(location, store).await?),
        None => None,
    };
    let geoip =
        GeoIp::open(city.as_deref(), asn.as_deref()).map_err(|e| IngestError::GeoIp(e.to_string()))?;
    Ok(Some(Arc::new(geoip)))
}

/// The file itself, or an S3 object copied once into the temporary directory.
async fn local_copy(location: &str, store: &ObjectStore) -> Result<PathBuf, IngestError> {
    if !location.starts_with("s3://") {
        return Ok(PathBuf::from(location));
    }
    let (bucket, key) = parse_s3_url(location)?;
    let name = Path::new(&key)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "geoip.mmdb".into());
    let target = std::env::temp_dir().join(format!("trailsearch-{bucket}-{name}"));
    let object = ObjectRef::S3 { bucket, key };
    let store = store.clone();
    let path = target.clone();
    let fetched = tokio::task::spawn_blocking(move || -> Result<(), String> {
        let mut input = store.open_blocking(&object).map_err(|f| f.message)?;
        // Written aside, then renamed: a half-written file is never opened.
        let partial = path.with_extension("partial");
        let mut file = std::fs::File::create(&partial).map_err(|e| e.to_string())?;
        std::io::copy(&mut input, &mut file).map_err(|e| e.to_string())?;
        file.flush().map_err(|e| e.to_string())?;
        std::fs::rename(&partial, &path).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r);
    fetched.map_err(|reason| IngestError::GeoIp(format!("cannot fetch {location}: {reason}")))?;
    Ok(target)
}

/// `dir/name` when that file exists: the Lambda's default databases.
pub fn beside(dir: &Path, name: &str) -> Option<String> {
    let path = dir.join(name);
    path.is_file().then(|| path.display().to_string())
}
