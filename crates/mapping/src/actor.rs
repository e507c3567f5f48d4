//! Who acted, as one searchable name whatever the identity type
//! (`trailsearch.actor`, aliased as ECS `user.name`): so "everything bob did"
//! is one query, whether bob signed in as an IAM user, assumed a role or came
//! federated.

use std::borrow::Cow;

/// The parts of `userIdentity` the actor is made of (filled by the strict
/// walk over the record, see `strict.rs`).
#[derive(Debug, Default)]
pub struct Identity<'a> {
    kind: Option<Cow<'a, str>>,
    user_name: Option<Cow<'a, str>>,
    arn: Option<Cow<'a, str>>,
    principal_id: Option<Cow<'a, str>>,
    invoked_by: Option<Cow<'a, str>>,
    account_id: Option<Cow<'a, str>>,
    issuer_user_name: Option<Cow<'a, str>>,
    mfa_authenticated: Option<Cow<'a, str>>,
}

/// Where a walk is inside `userIdentity`, as far as the actor cares.
#[derive(Debug, Clone, Copy)]
pub(crate) enum IdentityPath {
    Root,
    SessionContext,
    SessionIssuer,
    Attributes,
    Field(IdentityField),
}

/// A string the actor is made of.
#[derive(Debug, Clone, Copy)]
pub(crate) enum IdentityField {
    Kind,
    UserName,
    Arn,
    PrincipalId,
    InvokedBy,
    AccountId,
    IssuerUserName,
    MfaAuthenticated,
}

impl IdentityPath {
    /// Where `key` under this object leads, if anywhere the actor needs.
    pub(crate) fn child(self, key: &str) -> Option<IdentityPath> {
        use IdentityField::*;
        let field = match (self, key) {
            (IdentityPath::Root, "sessionContext") => return Some(IdentityPath::SessionContext),
            (IdentityPath::SessionContext, "sessionIssuer") => return Some(IdentityPath::SessionIssuer),
            (IdentityPath::SessionContext, "attributes") => return Some(IdentityPath::Attributes),
            (IdentityPath::Root, "type") => Kind,
            (IdentityPath::Root, "userName") => UserName,
            (IdentityPath::Root, "arn") => Arn,
            (IdentityPath::Root, "principalId") => PrincipalId,
            (IdentityPath::Root, "invokedBy") => InvokedBy,
            (IdentityPath::Root, "accountId") => AccountId,
            (IdentityPath::SessionIssuer, "userName") => IssuerUserName,
            (IdentityPath::Attributes, "mfaAuthenticated") => MfaAuthenticated,
            _ => return None,
        };
        Some(IdentityPath::Field(field))
    }
}

impl<'a> Identity<'a> {
    pub(crate) fn field(&mut self, field: IdentityField) -> &mut Option<Cow<'a, str>> {
        match field {
            IdentityField::Kind => &mut self.kind,
            IdentityField::UserName => &mut self.user_name,
            IdentityField::Arn => &mut self.arn,
            IdentityField::PrincipalId => &mut self.principal_id,
            IdentityField::InvokedBy => &mut self.invoked_by,
            IdentityField::AccountId => &mut self.account_id,
            IdentityField::IssuerUserName => &mut self.issuer_user_name,
            IdentityField::MfaAuthenticated => &mut self.mfa_authenticated,
        }
    }
}

impl Identity<'_> {
    /// `sessionContext.attributes.mfaAuthenticated`, as a boolean.
    pub(crate) fn mfa_authenticated(&self) -> Option<bool> {
        yes_or_no(self.mfa_authenticated.as_deref()?)
    }

    /// The actor's name, if the identity names anyone:
    /// - IAM user: its user name (`bob`);
    /// - assumed role: `role/session` (`Admin/bob@example.com`);
    /// - root: `root`;
    /// - federated user: the federated name;
    /// - AWS service: the service principal (`lambda.amazonaws.com`);
    /// - otherwise the user name, ARN's last part or principal ID.
    pub fn actor(&self) -> Option<String> {
        let arn_tail = |marker: &str| {
            let arn = self.arn.as_deref()?;
            let at = arn.find(marker)? + marker.len();
            Some(arn[at..].to_string()).filter(|s| !s.is_empty())
        };
        let named = |s: &Option<Cow<'_, str>>| s.as_deref().filter(|s| !s.is_empty()).map(str::to_string);
        match self.kind.as_deref() {
            Some("Root") => Some("root".to_string()),
            Some("AssumedRole") => arn_tail(":assumed-role/").or_else(|| {
                let role = self.issuer_user_name.as_deref()?;
                let session = self.principal_id.as_deref()?.split_once(':')?.1;
                Some(format!("{role}/{session}"))
            }),
            Some("FederatedUser") => arn_tail(":federated-user/").or_else(|| named(&self.user_name)),
            Some("AWSService") => named(&self.invoked_by),
            Some("AWSAccount") => named(&self.account_id).or_else(|| named(&self.principal_id)),
            _ => named(&self.user_name)
                .or_else(|| {
                    let arn = self.arn.as_deref()?;
                    arn.rsplit(['/', ':'])
                        .next()
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                })
                .or_else(|| named(&self.principal_id))
                .or_else(|| named(&self.invoked_by)),
        }
    }
}

/// How many of an ARN's last `/` parts [`Identity::user_names`] combines:
/// IAM paths are rarely deeper, and all runs of n parts are n(n+1)/2 terms.
const USER_NAME_PARTS: usize = 8;

impl Identity<'_> {
    /// `trailsearch.user_names`: every name `search --user` accepts for
    /// this identity short of the whole ARN, user name, principal ID or
    /// access key, so that it is a term lookup rather than a wildcard each
    /// shard expands:
    /// - each run of `/` parts after the ARN's first `/` (`ops-admin/bob`,
    ///   `bob` and `ops-admin` in `...:assumed-role/ops-admin/bob`; `alice`
    ///   and `division/alice` in `...:user/division/alice`);
    /// - what follows each `:` of the principal ID (`bob` in `AROA...:bob`).
    pub fn user_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        if let Some(arn) = self.arn.as_deref() {
            let parts: Vec<&str> = arn.split('/').skip(1).collect();
            let parts = &parts[parts.len().saturating_sub(USER_NAME_PARTS)..];
            for start in 0..parts.len() {
                for end in start + 1..=parts.len() {
                    names.push(parts[start..end].join("/"));
                }
            }
        }
        if let Some(principal) = self.principal_id.as_deref() {
            names.extend(
                principal
                    .match_indices(':')
                    .map(|(at, _)| principal[at + 1..].to_string()),
            );
        }
        names.retain(|name| !name.is_empty());
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// CloudTrail's spellings of yes and no (`"true"`, `"Yes"`, ...).
pub(crate) fn yes_or_no(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" => Some(true),
        "false" | "no" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    /// `read` of the identity the strict walk gathers from `userIdentity`.
    fn of_identity<T>(
        identity: serde_json::Value,
        read: impl FnOnce(&super::Identity<'_>) -> T,
    ) -> Option<T> {
        let record = serde_json::json!({ "userIdentity": identity });
        let record = record.as_object().unwrap();
        crate::strict::gathered_of(record).identity.as_ref().map(read)
    }

    fn actor(identity: serde_json::Value) -> Option<String> {
        of_identity(identity, |i| i.actor()).flatten()
    }

    fn user_names(identity: serde_json::Value) -> Vec<String> {
        of_identity(identity, |i| i.user_names()).unwrap_or_default()
    }

    #[test]
    fn user_names_are_the_names_user_finds_inside_arns_and_principals() {
        use serde_json::json;
        assert_eq!(
            user_names(json!({"type": "AssumedRole", "principalId": "AROAEXAMPLE:bob",
                "arn": "arn:aws:sts::111122223333:assumed-role/ops-admin/bob"})),
            ["bob", "ops-admin", "ops-admin/bob"]
        );
        assert_eq!(
            user_names(
                json!({"type": "IAMUser", "userName": "alice", "principalId": "AIDAEXAMPLE",
                "arn": "arn:aws:iam::111122223333:user/division/alice"})
            ),
            ["alice", "division", "division/alice"]
        );
        // Each colon starts a name; the part before the first never does.
        assert_eq!(
            user_names(json!({"principalId": "AROAEXAMPLE:web:carol@example.com"})),
            ["carol@example.com", "web:carol@example.com"]
        );
        assert_eq!(
            user_names(json!({"type": "Root", "arn": "arn:aws:iam::111122223333:root"})),
            Vec::<String>::new()
        );
        // A deep path: runs of its last parts only, so the count stays bounded.
        let deep = format!(
            "arn:aws:iam::1:user/{}",
            (0..20).map(|n| format!("p{n}")).collect::<Vec<_>>().join("/")
        );
        let names = user_names(json!({"arn": deep}));
        assert_eq!(
            names.len(),
            super::USER_NAME_PARTS * (super::USER_NAME_PARTS + 1) / 2
        );
        assert!(names.contains(&"p19".to_string()) && names.contains(&"p12/p13".to_string()));
        assert!(!names.iter().any(|n| n.contains("p11")));
    }

    #[test]
    fn every_identity_type_names_its_actor() {
        use serde_json::json;
        assert_eq!(
            actor(json!({"type": "IAMUser", "userName": "bob", "arn": "arn:aws:iam::111122223333:user/bob"})),
            Some("bob".into())
        );
        assert_eq!(
            actor(
                json!({"type": "AssumedRole", "principalId": "AROAEXAMPLE:bob@example.com",
                "arn": "arn:aws:sts::111122223333:assumed-role/Admin/bob@example.com",
                "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "Admin"}}})
            ),
            Some("Admin/bob@example.com".into())
        );
        assert_eq!(
            actor(json!({"type": "AssumedRole", "principalId": "AROAEXAMPLE:i-0abc",
                "sessionContext": {"sessionIssuer": {"userName": "ec2-role"}}})),
            Some("ec2-role/i-0abc".into())
        );
        assert_eq!(
            actor(json!({"type": "Root", "arn": "arn:aws:iam::111122223333:root"})),
            Some("root".into())
        );
        assert_eq!(
            actor(json!({"type": "FederatedUser", "arn": "arn:aws:sts::111122223333:federated-user/carol"})),
            Some("carol".into())
        );
        assert_eq!(
            actor(json!({"type": "AWSService", "invokedBy": "lambda.amazonaws.com"})),
            Some("lambda.amazonaws.com".into())
        );
        assert_eq!(
            actor(json!({"type": "IdentityCenterUser", "userName": "dave"})),
            Some("dave".into())
        );
        assert_eq!(
            actor(json!({"type": "AWSAccount", "accountId": "444455556666", "principalId": "AIDA:x"})),
            Some("444455556666".into())
        );
        assert_eq!(actor(json!({})), None);
        assert_eq!(actor(json!("bob")), None);
        // Only strings name anyone.
        assert_eq!(
            actor(json!({"type": "IAMUser", "userName": 7, "arn": "arn:aws:iam::1:user/bob"})),
            Some("bob".into())
        );
    }
}
