//! Integration tests: the real service over HTTP, on SQLite and on PostgreSQL.

mod helpers;

mod audit;
mod auth;
mod authz_matrix;
mod bad_input;
mod boundaries;
mod browser;
mod calendar;
mod cli;
mod desk;
mod idempotency;
mod inspections;
mod intake;
mod intake_auth;
mod lead_deadlines;
mod lead_duplicates;
mod lead_files;
mod lead_pages;
mod lead_stats;
mod lead_transfers;
mod leads;
mod ledgers;
mod mine_pages;
mod mines;
mod notifications;
mod operations;
mod outbox;
mod pages;
mod permit_pages;
mod permits;
mod plain_words;
mod public_reports;
mod reference;
mod smtp_sink;
mod users;
