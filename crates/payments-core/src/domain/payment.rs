//! The payment resource (after the Form3 payments API) and the parsing of client requests into it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::money::{Currency, Money, PositiveDecimal};
use super::validation::{Fields, FromJson, ValidationErrors};
use super::values::{
    AccountNumber, AccountNumberCode, AccountType, BearerCode, Name, NumericReference,
    OrganisationId, PaymentId, PaymentScheme, PaymentType, ProcessingDate, Reference, Timestamp,
    Version,
};

/// A payment as stored and as returned to clients.
///
/// The fields are private: `id`, `organisation_id`, `version` and `created_at` are set by
/// [`Payment::new`] (or [`Payment::create`]) and only [`Payment::revise`] and
/// [`Payment::revision`] make a new version, so no code path can change them by accident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payment {
    #[serde(rename = "type")]
    resource_type: ResourceType,
    id: PaymentId,
    version: Version,
    organisation_id: OrganisationId,
    created_at: Timestamp,
    updated_at: Timestamp,
    attributes: PaymentAttributes,
}

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
        Self {
            resource_type: ResourceType::Payment,
            id,
            version: Version::FIRST,
            organisation_id,
            created_at: now,
            updated_at: now,
            attributes,
        }
    }

    /// The next version of this payment, with `attributes` replacing the current ones.
    pub fn revise(&self, attributes: PaymentAttributes, now: Timestamp) -> Self {
        Self {
            version: self.version.next(),
            // Lambda hosts' clocks can disagree by a little: time never runs backwards here.
            updated_at: now.max(self.updated_at),
            attributes,
            ..self.clone()
        }
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
        Some(Self {
            resource_type: ResourceType::Payment,
            id,
            version: expected.next(),
            organisation_id,
            created_at,
            updated_at: now,
            attributes,
        })
    }

    /// Restores a payment read back from storage.
    pub(crate) fn restore(
        id: PaymentId,
        organisation_id: OrganisationId,
        version: Version,
        created_at: Timestamp,
        updated_at: Timestamp,
        attributes: PaymentAttributes,
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

    /// This payment as it was when deleted: the next version, with the same attributes.
    pub fn deleted(&self, now: Timestamp) -> Self {
        self.revise(self.attributes.clone(), now)
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

    pub fn attributes(&self) -> &PaymentAttributes {
        &self.attributes
    }
}

/// What a client says about a payment: the body of POST and PUT is `{"attributes": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentAttributes {
    #[serde(flatten)]
    pub money: Money,
    pub beneficiary_party: Party,
    pub debtor_party: Party,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sponsor_party: Option<SponsorParty>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charges_information: Option<ChargesInformation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fx: Option<Fx>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_to_end_reference: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numeric_reference: Option<NumericReference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_id: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_purpose: Option<Name>,
    pub payment_scheme: PaymentScheme,
    pub payment_type: PaymentType,
    pub processing_date: ProcessingDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme_payment_sub_type: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme_payment_type: Option<Reference>,
}

impl PaymentAttributes {
    /// Parses a POST or PUT body, `{"attributes": {...}}`, reporting every failing field.
    pub fn parse_request(body: &Value) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let attributes = Fields::open(body, "", &["attributes"], &mut errors)
            .and_then(|request| request.required::<PaymentAttributes>("attributes", &mut errors));
        errors.finish(attributes)
    }
}

impl FromJson for PaymentAttributes {
    fn from_json(value: &Value, path: &str, errors: &mut ValidationErrors) -> Option<Self> {
        let fields = Fields::open(
            value,
            path,
            &[
                "amount",
                "currency",
                "beneficiary_party",
                "debtor_party",
                "sponsor_party",
                "charges_information",
                "fx",
                "end_to_end_reference",
                "numeric_reference",
                "payment_id",
                "payment_purpose",
                "payment_scheme",
                "payment_type",
                "processing_date",
                "reference",
                "scheme_payment_sub_type",
                "scheme_payment_type",
            ],
            errors,
        )?;
        // Every member is read before any `?`, so each failing one is reported.
        let money = money(&fields, "amount", "currency", true, errors);
        let beneficiary_party = fields.required("beneficiary_party", errors);
        let debtor_party = fields.required("debtor_party", errors);
        let sponsor_party = fields.optional("sponsor_party", errors);
        let charges_information = fields.optional("charges_information", errors);
        let fx = fields.optional("fx", errors);
        let end_to_end_reference = fields.optional("end_to_end_reference", errors);
        let numeric_reference = fields.optional("numeric_reference", errors);
        let payment_id = fields.optional("payment_id", errors);
        let payment_purpose = fields.optional("payment_purpose", errors);
        let payment_scheme = fields.required("payment_scheme", errors);
        let payment_type = fields.required("payment_type", errors);
        let processing_date = fields.required("processing_date", errors);
        let reference = fields.optional("reference", errors);
        let scheme_payment_sub_type = fields.optional("scheme_payment_sub_type", errors);
        let scheme_payment_type = fields.optional("scheme_payment_type", errors);
        Some(Self {
            money: money??,
            beneficiary_party: beneficiary_party?,
            debtor_party: debtor_party?,
            sponsor_party: sponsor_party?,
            charges_information: charges_information?,
            fx: fx?,
            end_to_end_reference: end_to_end_reference?,
            numeric_reference: numeric_reference?,
            payment_id: payment_id?,
            payment_purpose: payment_purpose?,
            payment_scheme: payment_scheme?,
            payment_type: payment_type?,
            processing_date: processing_date?,
            reference: reference?,
            scheme_payment_sub_type: scheme_payment_sub_type?,
            scheme_payment_type: scheme_payment_type?,
        })
    }
}

/// Reads an amount and its currency from two sibling members. With `required`, both must be
/// present; otherwise both or neither. Like [`Fields::optional`]: `Some(None)` when absent,
/// `None` when invalid (already reported).
fn money(
    fields: &Fields<'_>,
    amount_name: &str,
    currency_name: &str,
    required: bool,
    errors: &mut ValidationErrors,
) -> Option<Option<Money>> {
    if !required && !fields.has(amount_name) && !fields.has(currency_name) {
        return Some(None);
    }
    let amount = fields.required::<PositiveDecimal>(amount_name, errors);
    let currency = fields.required::<Currency>(currency_name, errors);
    let (amount, currency) = (amount?, currency?);
    match Money::new(amount, currency) {
        Ok(money) => Some(Some(money)),
        Err(message) => {
            errors.add(fields.path_of(amount_name), message);
            None
        }
    }
}

impl FromJson for Money {
    fn from_json(value: &Value, path: &str, errors: &mut ValidationErrors) -> Option<Self> {
        let fields = Fields::open(value, path, &["amount", "currency"], errors)?;
        money(&fields, "amount", "currency", true, errors)?
    }
}

/// How [`Money`] is written on its own: `{"amount": "2.50", "currency": "GBP"}`.
#[derive(Serialize, Deserialize)]
struct MoneyRepr {
    amount: PositiveDecimal,
    currency: Currency,
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        MoneyRepr {
            amount: self.amount(),
            currency: self.currency(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let repr = MoneyRepr::deserialize(deserializer)?;
        Money::new(repr.amount, repr.currency).map_err(serde::de::Error::custom)
    }
}

const PARTY_FIELDS: &[&str] = &[
    "account_name",
    "account_number",
    "account_number_code",
    "account_type",
    "address",
    "bank_id",
    "bank_id_code",
    "name",
];

/// The beneficiary or the debtor of a payment: the account is required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub account_name: Name,
    pub account_number: AccountNumber,
    #[serde(flatten)]
    pub details: PartyDetails,
}

/// The optional members a party may carry beside its account.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PartyDetails {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_number_code: Option<AccountNumberCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_type: Option<AccountType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_id: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_id_code: Option<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
}

impl PartyDetails {
    fn read(fields: &Fields<'_>, errors: &mut ValidationErrors) -> Option<Self> {
        let account_number_code = fields.optional("account_number_code", errors);
        let account_type = fields.optional("account_type", errors);
        let address = fields.optional("address", errors);
        let bank_id = fields.optional("bank_id", errors);
        let bank_id_code = fields.optional("bank_id_code", errors);
        let name = fields.optional("name", errors);
        Some(Self {
            account_number_code: account_number_code?,
            account_type: account_type?,
            address: address?,
            bank_id: bank_id?,
            bank_id_code: bank_id_code?,
            name: name?,
        })
    }
}

impl FromJson for Party {
    fn from_json(value: &Value, path: &str, errors: &mut ValidationErrors) -> Option<Self> {
        let fields = Fields::open(value, path, PARTY_FIELDS, errors)?;
        let account_name = fields.required("account_name", errors);
        let account_number = fields.required("account_number", errors);
        let details = PartyDetails::read(&fields, errors);
        Some(Self {
            account_name: account_name?,
            account_number: account_number?,
            details: details?,
        })
    }
}

/// The sponsor of a payment: every member is optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SponsorParty {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_number: Option<AccountNumber>,
    #[serde(flatten)]
    pub details: PartyDetails,
}

impl FromJson for SponsorParty {
    fn from_json(value: &Value, path: &str, errors: &mut ValidationErrors) -> Option<Self> {
        let fields = Fields::open(value, path, PARTY_FIELDS, errors)?;
        let account_name = fields.optional("account_name", errors);
        let account_number = fields.optional("account_number", errors);
        let details = PartyDetails::read(&fields, errors);
        Some(Self {
            account_name: account_name?,
            account_number: account_number?,
            details: details?,
        })
    }
}

/// Who pays the charges, and what they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ChargesInformationRepr", into = "ChargesInformationRepr")]
pub struct ChargesInformation {
    pub bearer_code: BearerCode,
    pub sender_charges: Vec<Money>,
    pub receiver_charges: Option<Money>,
}

/// A payment carries a handful of charges; the cap keeps items far below DynamoDB's 400 KB.
const MAX_SENDER_CHARGES: usize = 20;

impl FromJson for ChargesInformation {
    fn from_json(value: &Value, path: &str, errors: &mut ValidationErrors) -> Option<Self> {
        let fields = Fields::open(
            value,
            path,
            &[
                "bearer_code",
                "sender_charges",
                "receiver_charges_amount",
                "receiver_charges_currency",
            ],
            errors,
        )?;
        let bearer_code = fields.required("bearer_code", errors);
        // Counted before the entries are parsed: a 32 KiB body of thousands of bad entries
        // would otherwise answer a problem listing each, over a megabyte.
        let too_many = fields
            .raw("sender_charges")
            .and_then(Value::as_array)
            .is_some_and(|charges| charges.len() > MAX_SENDER_CHARGES);
        let sender_charges = if too_many {
            errors.add(
                fields.path_of("sender_charges"),
                format!("must have at most {MAX_SENDER_CHARGES} entries"),
            );
            None
        } else {
            fields.optional::<Vec<Money>>("sender_charges", errors)
        };
        let receiver_charges = money(
            &fields,
            "receiver_charges_amount",
            "receiver_charges_currency",
            false,
            errors,
        );
        Some(Self {
            bearer_code: bearer_code?,
            sender_charges: sender_charges?.unwrap_or_default(),
            receiver_charges: receiver_charges?,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct ChargesInformationRepr {
    bearer_code: BearerCode,
    #[serde(default)]
    sender_charges: Vec<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    receiver_charges_amount: Option<PositiveDecimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    receiver_charges_currency: Option<Currency>,
}

impl TryFrom<ChargesInformationRepr> for ChargesInformation {
    type Error = String;

    fn try_from(repr: ChargesInformationRepr) -> Result<Self, Self::Error> {
        Ok(Self {
            bearer_code: repr.bearer_code,
            sender_charges: repr.sender_charges,
            receiver_charges: optional_money(
                repr.receiver_charges_amount,
                repr.receiver_charges_currency,
            )?,
        })
    }
}

impl From<ChargesInformation> for ChargesInformationRepr {
    fn from(charges: ChargesInformation) -> Self {
        Self {
            bearer_code: charges.bearer_code,
            sender_charges: charges.sender_charges,
            receiver_charges_amount: charges.receiver_charges.map(|m| m.amount()),
            receiver_charges_currency: charges.receiver_charges.map(|m| m.currency()),
        }
    }
}

/// The foreign exchange behind a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "FxRepr", into = "FxRepr")]
pub struct Fx {
    pub contract_reference: Option<Reference>,
    pub exchange_rate: PositiveDecimal,
    pub original: Option<Money>,
}

impl FromJson for Fx {
    fn from_json(value: &Value, path: &str, errors: &mut ValidationErrors) -> Option<Self> {
        let fields = Fields::open(
            value,
            path,
            &[
                "contract_reference",
                "exchange_rate",
                "original_amount",
                "original_currency",
            ],
            errors,
        )?;
        let contract_reference = fields.optional("contract_reference", errors);
        let exchange_rate = fields.required("exchange_rate", errors);
        let original = money(
            &fields,
            "original_amount",
            "original_currency",
            false,
            errors,
        );
        Some(Self {
            contract_reference: contract_reference?,
            exchange_rate: exchange_rate?,
            original: original?,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct FxRepr {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    contract_reference: Option<Reference>,
    exchange_rate: PositiveDecimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    original_amount: Option<PositiveDecimal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    original_currency: Option<Currency>,
}

impl TryFrom<FxRepr> for Fx {
    type Error = String;

    fn try_from(repr: FxRepr) -> Result<Self, Self::Error> {
        Ok(Self {
            contract_reference: repr.contract_reference,
            exchange_rate: repr.exchange_rate,
            original: optional_money(repr.original_amount, repr.original_currency)?,
        })
    }
}

impl From<Fx> for FxRepr {
    fn from(fx: Fx) -> Self {
        Self {
            contract_reference: fx.contract_reference,
            exchange_rate: fx.exchange_rate,
            original_amount: fx.original.map(|m| m.amount()),
            original_currency: fx.original.map(|m| m.currency()),
        }
    }
}

fn optional_money(
    amount: Option<PositiveDecimal>,
    currency: Option<Currency>,
) -> Result<Option<Money>, String> {
    match (amount, currency) {
        (Some(amount), Some(currency)) => Money::new(amount, currency).map(Some),
        (None, None) => Ok(None),
        _ => Err("an amount and its currency must come together".to_owned()),
    }
}
