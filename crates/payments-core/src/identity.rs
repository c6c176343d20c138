//! Who a request acts for: the organisation named by a claim of the JWT authorizer, or, in
//! local development only, a fixed one (DESIGN.md section 5).

use crate::domain::OrganisationId;

/// Where the caller's organisation comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// From this claim of the API Gateway JWT authorizer (`requestContext.authorizer.jwt.claims`).
    Jwt { claim: String },
    /// Local development only (`AUTH_MODE=none`): the claim when an event carries one,
    /// otherwise this organisation.
    Development {
        claim: String,
        organisation_id: OrganisationId,
    },
}

impl Identity {
    /// The claim that names the organisation.
    pub fn claim(&self) -> &str {
        match self {
            Identity::Jwt { claim } | Identity::Development { claim, .. } => claim,
        }
    }

    /// The organisation of a request whose [`Identity::claim`] is `claimed`; `None` when it
    /// has none. A claim that is present but not an organisation id is no identity at all,
    /// even in development.
    pub fn organisation(&self, claimed: Option<&str>) -> Option<OrganisationId> {
        match (claimed, self) {
            (Some(text), _) => text.parse().ok(),
            (
                None,
                Identity::Development {
                    organisation_id, ..
                },
            ) => Some(*organisation_id),
            (None, Identity::Jwt { .. }) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORGANISATION: &str = "00000000-0000-4000-8000-000000000001";

    fn development() -> Identity {
        Identity::Development {
            claim: "organisation_id".to_owned(),
            organisation_id: ORGANISATION.parse().unwrap(),
        }
    }

    #[test]
    fn a_jwt_identity_is_the_claim_or_nothing() {
        let jwt = Identity::Jwt {
            claim: "organisation_id".to_owned(),
        };
        let other = "5e1f0d7a-3c2b-4e8f-a6d9-1b2c3d4e5f60";
        assert_eq!(jwt.organisation(Some(other)), Some(other.parse().unwrap()));
        assert_eq!(jwt.organisation(None), None);
        assert_eq!(jwt.organisation(Some("acme")), None);
    }

    #[test]
    fn development_falls_back_to_its_organisation_only_without_a_claim() {
        let other = "5e1f0d7a-3c2b-4e8f-a6d9-1b2c3d4e5f60";
        assert_eq!(
            development().organisation(None),
            Some(ORGANISATION.parse().unwrap())
        );
        assert_eq!(
            development().organisation(Some(other)),
            Some(other.parse().unwrap())
        );
        assert_eq!(development().organisation(Some("acme")), None);
    }
}
