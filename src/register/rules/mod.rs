//! Pure rules of the register, free of the database and HTTP.

pub mod boundary;
pub mod credit_code;
pub mod mine;
pub mod risk_grade;
