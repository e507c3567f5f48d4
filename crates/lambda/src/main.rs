//! `bootstrap`: policy only. Logging per Lambda's log controls, clients once
//! (no network until the first invocation), then the runtime loop.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;
use trailsearch_lambda::{handle, report_init_error, Deps};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let deps = match Deps::from_environment().await {
        Ok(deps) => deps,
        Err(error) => {
            report_init_error(&error);
            return Err(error.into());
        }
    };
    let deps = &deps;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        handle(event, deps).await
    }))
    .await
}
