//! Prints the OpenAPI document.
fn main() {
    println!("{}", vouchers_http::openapi().to_pretty_json().unwrap_or_default());
}
