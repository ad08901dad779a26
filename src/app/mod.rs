//! The application on top: configuration checks, start-up, the command line, the route
//! table, the OpenAPI document and the background jobs. Only this folder knows every
//! capability; nothing else names it.

pub mod cli;
pub mod jobs;
pub mod openapi;
pub mod routes;
pub mod startup;
