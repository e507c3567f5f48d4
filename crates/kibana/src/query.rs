//! Lucene queries (`query_string` syntax) as data, written out as Kibana
//! runs them.

use std::fmt;

use crate::fields::field;

/// A query over catalogue fields; `to_string()` gives its Lucene text.
#[derive(Debug)]
pub(crate) enum Query {
    /// `field:value`.
    Is(&'static str, &'static str),
    /// `field:(a OR b OR ...)`.
    AnyOf(&'static str, &'static [&'static str]),
    /// `_exists_:field`.
    Exists(&'static str),
    /// `field:<value`: before a time (`now-2h`, date math).
    Before(&'static str, &'static str),
    /// `NOT query`.
    Not(&'static Query),
    /// `a AND b AND ...`.
    And(&'static [Query]),
    /// `a OR b OR ...`.
    Or(&'static [Query]),
}

impl Query {
    /// The fields the query names, for checking them against the catalogue.
    #[cfg(test)]
    pub(crate) fn fields(&self) -> Vec<&'static str> {
        match self {
            Query::Is(path, _) | Query::AnyOf(path, _) | Query::Exists(path) | Query::Before(path, _) => {
                vec![*path]
            }
            Query::Not(query) => query.fields(),
            Query::And(queries) | Query::Or(queries) => queries.iter().flat_map(Query::fields).collect(),
        }
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Query::Is(path, value) => write!(f, "{}:{value}", field(path)),
            Query::AnyOf(path, values) => write!(f, "{}:({})", field(path), values.join(" OR ")),
            Query::Exists(path) => write!(f, "_exists_:{}", field(path)),
            Query::Before(path, time) => write!(f, "{}:<{time}", field(path)),
            Query::Not(query) => write!(f, "NOT {}", Operand(query)),
            Query::And(queries) => join(f, queries, " AND "),
            Query::Or(queries) => join(f, queries, " OR "),
        }
    }
}

fn join(f: &mut fmt::Formatter<'_>, queries: &[Query], operator: &str) -> fmt::Result {
    for (i, query) in queries.iter().enumerate() {
        if i > 0 {
            f.write_str(operator)?;
        }
        write!(f, "{}", Operand(query))?;
    }
    Ok(())
}

/// A query inside another: a compound one in parentheses, so that
/// `a AND (b OR c)` keeps its meaning.
struct Operand<'a>(&'a Query);

impl fmt::Display for Operand<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Query::And(_) | Query::Or(_) => write!(f, "({})", self.0),
            query => write!(f, "{query}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Query::*;

    #[test]
    fn queries_render_as_lucene() {
        assert_eq!(
            And(&[
                Is("eventType", "AwsConsoleSignIn"),
                Or(&[
                    Is("event.outcome", "failure"),
                    Is("trailsearch.console_login", "Failure")
                ]),
            ])
            .to_string(),
            "eventType:AwsConsoleSignIn AND (event.outcome:failure OR trailsearch.console_login:Failure)"
        );
        assert_eq!(
            And(&[
                Is("userIdentity.type", "Root"),
                Not(&Exists("userIdentity.invokedBy")),
                Not(&Is("eventType", "AwsServiceEvent")),
            ])
            .to_string(),
            "userIdentity.type:Root AND NOT _exists_:userIdentity.invokedBy AND NOT eventType:AwsServiceEvent"
        );
        assert_eq!(
            Not(&AnyOf("eventName", &["Get*", "List*"])).to_string(),
            "NOT eventName:(Get* OR List*)"
        );
        assert_eq!(
            Not(&And(&[Exists("errorCode"), Is("readOnly", "true")])).to_string(),
            "NOT (_exists_:errorCode AND readOnly:true)"
        );
    }
}
