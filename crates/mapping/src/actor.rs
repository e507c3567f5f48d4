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
    fn actor(identity: serde_json::Value) -> Option<String> {
        let record = serde_json::json!({ "userIdentity": identity });
        let record = record.as_object().unwrap();
        crate::strict::gathered_of(record)
            .identity
            .and_then(|i| i.actor())
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
