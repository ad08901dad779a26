//! Pure rules and types of the domain, free of the database and HTTP.

pub mod boundary;
pub mod calendar;
pub mod credit_code;
pub mod duration;
pub mod mine;
pub mod password;
pub mod risk_grade;
pub mod role;
