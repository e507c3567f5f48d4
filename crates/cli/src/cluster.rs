//! Settings -> transport, flavour, sink.

use anyhow::{bail, Context};
use trailsearch_mapping::{Flavour, Granularity, IndexNaming, Shaper};
use trailsearch_sink::{
    Auth, ClusterInfo, RetryPolicy, Secret, SigV4, SigV4Service, Sink, Transport, TransportConfig,
};

use crate::args::{ClusterArgs, FlavourArg, GranularityArg, SigV4Arg};

/// Index naming from the flags.
pub fn naming(args: &ClusterArgs) -> anyhow::Result<IndexNaming> {
    let granularity = match args.granularity {
        GranularityArg::Day => Granularity::Day,
        GranularityArg::Month => Granularity::Month,
    };
    Ok(IndexNaming::new(&args.index_prefix, granularity)?)
}

/// The flavour given by flag, if any.
pub fn flavour_flag(args: &ClusterArgs) -> Option<Flavour> {
    args.flavour.map(|f| match f {
        FlavourArg::Elasticsearch => Flavour::Elasticsearch,
        FlavourArg::Opensearch => Flavour::OpenSearch,
        FlavourArg::Compatible => Flavour::Compatible,
    })
}

async fn auth(args: &ClusterArgs) -> anyhow::Result<Auth> {
    let chosen = [
        args.es_user.is_some(),
        args.es_api_key.is_some(),
        args.aws_sigv4.is_some(),
    ];
    if chosen.iter().filter(|c| **c).count() > 1 {
        bail!("choose one of --es-user/--es-password, --es-api-key and --aws-sigv4");
    }
    if args.es_password.is_some() && args.es_user.is_none() {
        bail!("--es-password needs --es-user");
    }
    Ok(if let Some(user) = &args.es_user {
        Auth::Basic {
            user: user.clone(),
            password: Secret::new(args.es_password.clone().unwrap_or_default()),
        }
    } else if let Some(key) = &args.es_api_key {
        Auth::ApiKey(Secret::new(key.clone()))
    } else if let Some(service) = args.aws_sigv4 {
        let service = match service {
            SigV4Arg::Es => SigV4Service::Es,
            SigV4Arg::Aoss => SigV4Service::Aoss,
        };
        Auth::SigV4(SigV4::from_environment(service, None).await?)
    } else {
        Auth::None
    })
}

/// The transport for the flags.
pub async fn transport(args: &ClusterArgs) -> anyhow::Result<Transport> {
    let ca_cert = match &args.ca_cert {
        Some(path) => Some(std::fs::read(path).with_context(|| format!("--ca-cert {}", path.display()))?),
        None => None,
    };
    if args.insecure {
        eprintln!("warning: --insecure: the cluster's TLS certificate is not verified");
    }
    Ok(Transport::new(TransportConfig {
        url: args.es_url.clone(),
        auth: auth(args).await?,
        ca_cert,
        insecure: args.insecure,
        timeout: args.timeout,
        gzip_above: 1024,
    })?)
}

/// A connected cluster: its transport, what it is and the flavour to use.
pub struct Cluster {
    pub transport: Transport,
    pub info: ClusterInfo,
    pub flavour: Flavour,
}

/// Connects and detects the cluster (`GET /`).
pub async fn connect(args: &ClusterArgs) -> anyhow::Result<Cluster> {
    let transport = transport(args).await?;
    let info = Sink::cluster_info(&transport)
        .await
        .with_context(|| format!("cannot reach the cluster at {} (--es-url)", transport.base_url()))?;
    let flavour = match flavour_flag(args) {
        Some(flavour) => flavour,
        None => info.flavour()?,
    };
    Ok(Cluster {
        transport,
        info,
        flavour,
    })
}

/// The sink for a connected cluster.
pub fn sink(args: &ClusterArgs, cluster: &Cluster, naming: IndexNaming) -> Sink {
    Sink::new(
        cluster.transport.clone(),
        Shaper::new(naming, cluster.flavour),
        RetryPolicy::default(),
        args.max_retry_time,
    )
}
