//! The six functions' own handlers, by name, for tests that must exercise exactly what ships:
//! the hostile-input corpus, the OpenAPI contract and the reliability tests in `tests/`.

use payments_core::App;
use payments_core::http::{ApiError, ApiRequest, ApiResponse};
use payments_core::repository::PaymentRepository;
use payments_core::testing::events_dir;
use serde_json::Value;

/// One of the six Lambda functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    CreatePayment,
    ListPayments,
    GetPayment,
    UpdatePayment,
    DeletePayment,
    Health,
}

impl Function {
    pub const ALL: [Function; 6] = [
        Function::CreatePayment,
        Function::ListPayments,
        Function::GetPayment,
        Function::UpdatePayment,
        Function::DeletePayment,
        Function::Health,
    ];

    /// The crate name, which is also its folder in `events/` and its binary.
    pub fn name(self) -> &'static str {
        match self {
            Function::CreatePayment => "create-payment",
            Function::ListPayments => "list-payments",
            Function::GetPayment => "get-payment",
            Function::UpdatePayment => "update-payment",
            Function::DeletePayment => "delete-payment",
            Function::Health => "health",
        }
    }

    /// Runs the function's handler, on whatever repository `app` has.
    pub async fn handle<R: PaymentRepository>(
        self,
        app: &App<R>,
        request: ApiRequest<'_>,
    ) -> Result<ApiResponse, ApiError> {
        match self {
            Function::CreatePayment => create_payment::handle(app, request).await,
            Function::ListPayments => list_payments::handle(app, request).await,
            Function::GetPayment => get_payment::handle(app, request).await,
            Function::UpdatePayment => update_payment::handle(app, request).await,
            Function::DeletePayment => delete_payment::handle(app, request).await,
            Function::Health => health::handle(app, request).await,
        }
    }

    /// The event in `events/` that this function answers with success.
    pub fn base_event(self) -> Value {
        let case = match self {
            Function::CreatePayment => "created",
            Function::ListPayments => "first-page",
            Function::GetPayment => "found",
            Function::UpdatePayment => "updated",
            Function::DeletePayment => "deleted",
            Function::Health => "ready",
        };
        let path = events_dir(self.name()).join(format!("{case}.json"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }
}
