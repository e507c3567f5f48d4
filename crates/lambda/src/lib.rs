/*!
The Lambda: each invocation's trigger becomes object references, the
`ingest` pipeline streams those objects into the cluster, and the reply says
what failed so that only that is delivered again.

[`handle`] is a plain async function over a [`LambdaEvent`] and [`Deps`]
(built once per cold start, with no network call); tests call it directly.
`trailsearch-cloudtrail` decodes every trigger shape ([`Trigger`]): S3 event
notifications, SNS (S3 or CloudTrail's own notification), SQS carrying any of
those, EventBridge "Object Created" and scheduled events, and S3 Batch
Operations. The reply is `{"batchItemFailures":[...]}` for SQS, the result
list for Batch Operations, and `{}` otherwise (a direct invocation with a
failed object returns an error, so Lambda's own retry delivers it again;
`_id`s make that harmless). A scheduled event runs retention.

This crate knows nothing of terminals.

```
use trailsearch_lambda::LambdaSettings;
let settings = LambdaSettings::from_lookup(|name| (name == "TRAILSEARCH_RETENTION").then(|| "90d".to_string())).unwrap();
assert_eq!(settings.retention, Some(std::time::Duration::from_secs(90 * 86_400)));
```

[`LambdaEvent`]: lambda_runtime::LambdaEvent
[`Trigger`]: trailsearch_cloudtrail::Trigger
*/
#![deny(missing_docs)]

mod handler;
mod init;
mod metrics;

pub use crate::{
    handler::{handle, Deps, HandlerError, LambdaSettings},
    init::report_init_error,
    metrics::{emf_line, emf_path_lines, InvocationMetrics},
};
