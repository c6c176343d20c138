//! The payment resource (after the Form3 payments API): what it is made of, each member
//! declared once, for reading requests and stored attributes and for writing them back.

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::money::{Money, PositiveDecimal};
use super::validation::{Fields, FromJson, List, Path, ValidationErrors, json_object};
use super::values::{
    AccountNumber, AccountNumberCode, AccountType, BearerCode, Name, NumericReference,
    OrganisationId, PaymentId, PaymentScheme, PaymentType, ProcessingDate, Reference, Timestamp,
    Version,
};

/// A payment as returned to clients: `A` is its attributes, [`PaymentAttributes`] when this
/// process parsed them from a request, [`StoredAttributes`] when they were read back from
/// storage ([`StoredPayment`]).
///
/// The fields are private: `id`, `organisation_id`, `version` and `created_at` are set by
/// [`Payment::new`] (or [`Payment::create`]) and only [`Payment::revise`] and
/// [`Payment::revision`] make a new version, so no code path can change them by accident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payment<A = PaymentAttributes> {
    #[serde(rename = "type")]
    resource_type: ResourceType,
    id: PaymentId,
    version: Version,
    organisation_id: OrganisationId,
    created_at: Timestamp,
    updated_at: Timestamp,
    attributes: A,
}

/// A payment read back from storage, its attributes as they were stored.
pub type StoredPayment = Payment<StoredAttributes>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
enum ResourceType {
    Payment,
}

impl Payment {
    /// A new payment at version 1, created `now`, under a new id that records that moment
    /// ([`PaymentId::generate`]).
    pub fn new(
        organisation_id: OrganisationId,
        attributes: PaymentAttributes,
        now: Timestamp,
    ) -> Self {
        Self::create(PaymentId::generate(now), organisation_id, attributes, now)
    }

    /// A new payment at version 1 under a given id.
    pub fn create(
        id: PaymentId,
        organisation_id: OrganisationId,
        attributes: PaymentAttributes,
        now: Timestamp,
    ) -> Self {
        Self::restore(id, organisation_id, Version::FIRST, now, now, attributes)
    }

    /// The version after `expected` of the payment `id`, made without reading it: what
    /// [`Payment::revise`] makes of the payment if it is still at `expected`, of
    /// `organisation_id`, created when its id says and updated no later than `now`. Writing
    /// it is correct only on that condition, which the repository's write checks.
    /// `None` when the id does not say when its payment was created.
    pub fn revision(
        id: PaymentId,
        organisation_id: OrganisationId,
        expected: Version,
        attributes: PaymentAttributes,
        now: Timestamp,
    ) -> Option<Self> {
        let created_at = id.created_at()?;
        Some(Self::restore(
            id,
            organisation_id,
            expected.next(),
            created_at,
            now,
            attributes,
        ))
    }
}

impl<A: Serialize> Payment<A> {
    /// This payment as storage will give it back: its attributes serialized once, then
    /// written to storage and to the client as that text.
    pub fn stored(&self) -> StoredPayment {
        self.with_attributes(StoredAttributes::of(&self.attributes))
    }
}

impl<A> Payment<A> {
    /// Restores a payment read back from storage.
    pub(crate) fn restore(
        id: PaymentId,
        organisation_id: OrganisationId,
        version: Version,
        created_at: Timestamp,
        updated_at: Timestamp,
        attributes: A,
    ) -> Self {
        Self {
            resource_type: ResourceType::Payment,
            id,
            version,
            organisation_id,
            created_at,
            updated_at,
            attributes,
        }
    }

    /// The next version of this payment, with `attributes` replacing the current ones.
    pub fn revise(&self, attributes: PaymentAttributes, now: Timestamp) -> Payment {
        self.next_version(attributes, now)
    }

    /// This payment as it was when deleted: the next version, with the same attributes.
    pub fn deleted(&self, now: Timestamp) -> Self
    where
        A: Clone,
    {
        self.next_version(self.attributes.clone(), now)
    }

    fn next_version<B>(&self, attributes: B, now: Timestamp) -> Payment<B> {
        // Lambda hosts' clocks can disagree by a little: time never runs backwards here.
        Payment {
            version: self.version.next(),
            updated_at: now.max(self.updated_at),
            ..self.with_attributes(attributes)
        }
    }

    /// The same payment with other attributes: the same version of it, held another way.
    fn with_attributes<B>(&self, attributes: B) -> Payment<B> {
        Payment::restore(
            self.id,
            self.organisation_id,
            self.version,
            self.created_at,
            self.updated_at,
            attributes,
        )
    }

    pub fn id(&self) -> PaymentId {
        self.id
    }

    pub fn version(&self) -> Version {
        self.version
    }

    pub fn organisation_id(&self) -> OrganisationId {
        self.organisation_id
    }

    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }

    pub fn updated_at(&self) -> Timestamp {
        self.updated_at
    }

    pub fn attributes(&self) -> &A {
        &self.attributes
    }
}

impl StoredPayment {
    /// This payment with its attributes parsed, through every rule a request passes.
    pub fn parse(&self) -> Result<Payment, ValidationErrors> {
        Ok(self.with_attributes(self.attributes.parse()?))
    }
}

/// A payment's attributes as they were stored: the JSON that [`PaymentAttributes`] were written
/// as, given back without being parsed again.
///
/// Only this service writes them, from attributes that passed every rule, so reading them back
/// checks only that they are one JSON object. Parsing them again would cost every read the
/// rules' time for nothing, a list page most of all (measured in docs/benchmarks.md, "Stored
/// attributes are not parsed again"). [`StoredAttributes::parse`] applies the rules, for code
/// that needs the values.
#[derive(Debug, Clone, Serialize)]
#[serde(transparent)]
pub struct StoredAttributes(Box<RawValue>);

impl StoredAttributes {
    /// `json` as stored attributes: `None` unless it is one JSON object.
    pub fn from_json(json: String) -> Option<Self> {
        if !json.trim_start().starts_with('{') {
            return None;
        }
        RawValue::from_string(json).ok().map(Self)
    }

    /// The stored form of `attributes` (parsed ones, or stored ones again).
    pub fn of(attributes: &impl Serialize) -> Self {
        Self(serde_json::value::to_raw_value(attributes).expect("attributes always serialize"))
    }

    /// The JSON text, exactly as stored.
    pub fn json(&self) -> &str {
        self.0.get()
    }

    /// The attributes, parsed through every rule a request passes.
    pub fn parse(&self) -> Result<PaymentAttributes, ValidationErrors> {
        let value: Value = serde_json::from_str(self.json()).map_err(|error| {
            let mut errors = ValidationErrors::new();
            errors.add("", format!("is not JSON: {error}"));
            errors
        })?;
        PaymentAttributes::parse(&value)
    }
}

impl PartialEq for StoredAttributes {
    fn eq(&self, other: &Self) -> bool {
        self.json() == other.json()
    }
}

impl Eq for StoredAttributes {}

json_object! {
    /// What a client says about a payment: the body of POST and PUT is `{"attributes": {...}}`.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct PaymentAttributes {
        #[json(flatten("amount", "currency"))]
        pub money: Money,
        pub beneficiary_party: Party,
        pub debtor_party: Party,
        pub sponsor_party: Option<SponsorParty>,
        pub charges_information: Option<ChargesInformation>,
        pub fx: Option<Fx>,
        pub end_to_end_reference: Option<Reference>,
        pub numeric_reference: Option<NumericReference>,
        pub payment_id: Option<Reference>,
        pub payment_purpose: Option<Name>,
        pub payment_scheme: PaymentScheme,
        pub payment_type: PaymentType,
        pub processing_date: ProcessingDate,
        pub reference: Option<Reference>,
        pub scheme_payment_sub_type: Option<Reference>,
        pub scheme_payment_type: Option<Reference>,
    }
}

impl PaymentAttributes {
    /// Parses a POST or PUT body, `{"attributes": {...}}`, reporting every failing field.
    pub fn parse_request(body: &Value) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let attributes = Fields::open(body, &Path::Root, &mut errors).and_then(|request| {
            let attributes = request.member("attributes", &mut errors);
            request.close(&mut errors);
            attributes
        });
        errors.finish(attributes)
    }

    /// Parses the attributes themselves (`{"amount": ...}`), reporting every failing field.
    pub fn parse(value: &Value) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let attributes = Self::from_json(value, &Path::Root, &mut errors);
        errors.finish(attributes)
    }
}

json_object! {
    /// The beneficiary or the debtor of a payment: the account is required.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Party {
        pub account_name: Name,
        pub account_number: AccountNumber,
        #[json(flatten)]
        pub details: PartyDetails,
    }
}

json_object! {
    /// The sponsor of a payment: every member is optional.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct SponsorParty {
        pub account_name: Option<Name>,
        pub account_number: Option<AccountNumber>,
        #[json(flatten)]
        pub details: PartyDetails,
    }
}

json_object! {
    /// The optional members a party may carry beside its account.
    #[derive(Debug, Clone, PartialEq, Eq, Default)]
    pub struct PartyDetails {
        pub account_number_code: Option<AccountNumberCode>,
        pub account_type: Option<AccountType>,
        pub address: Option<Name>,
        pub bank_id: Option<Reference>,
        pub bank_id_code: Option<Reference>,
        pub name: Option<Name>,
    }
}

/// A payment carries a handful of charges; the cap keeps items far below DynamoDB's 400 KB.
pub const MAX_SENDER_CHARGES: usize = 20;

json_object! {
    /// Who pays the charges, and what they are.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct ChargesInformation {
        pub bearer_code: BearerCode,
        pub sender_charges: List<Money, MAX_SENDER_CHARGES>,
        #[json(flatten("receiver_charges_amount", "receiver_charges_currency"))]
        pub receiver_charges: Option<Money>,
    }
}

json_object! {
    /// The foreign exchange behind a payment.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Fx {
        pub contract_reference: Option<Reference>,
        pub exchange_rate: PositiveDecimal,
        #[json(flatten("original_amount", "original_currency"))]
        pub original: Option<Money>,
    }
}
