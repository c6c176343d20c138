//! The payments domain: types that cannot hold a bad value, and the parsing that builds them.
//! Nothing here knows about HTTP, Lambda or DynamoDB.

mod idempotency;
mod listing;
mod money;
mod payment;
mod validation;
mod values;

#[cfg(test)]
mod payment_tests;

pub use idempotency::{IdempotencyKey, hex_sha256};
pub use listing::PageSize;
pub use money::{Currency, Money, PositiveDecimal};
pub use payment::{
    ChargesInformation, Fx, MAX_SENDER_CHARGES, Party, PartyDetails, Payment, PaymentAttributes,
    SponsorParty, StoredAttributes, StoredPayment,
};
pub use validation::{
    FieldError, Fields, FromJson, FromJsonStr, FromMembers, List, ValidationErrors,
};
pub use values::{
    AccountNumber, AccountNumberCode, AccountType, BearerCode, ExpectedVersion, Name,
    NumericReference, OrganisationId, PaymentId, PaymentScheme, PaymentType, ProcessingDate,
    Reference, Text, Timestamp, Version,
};
