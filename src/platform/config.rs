//! Layered configuration: built-in defaults, `config/default.toml`, an optional file
//! (`--config` / `MINECOORD_CONFIG`), then `MINECOORD_<SECTION>__<KEY>` variables.

use std::path::Path;
use std::time::Duration;

use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;

use crate::platform::rules::duration::parse_duration;

const BUILTIN_DEFAULTS: &str =
    include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/config/default.toml"));

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub http: HttpSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    #[serde(default)]
    pub bootstrap: BootstrapSettings,
    #[serde(default)]
    pub smtp: SmtpSettings,
    #[serde(default)]
    pub calendar: CalendarSettings,
    #[serde(default)]
    pub log: LogSettings,
    #[serde(default)]
    pub inspection: InspectionSettings,
    #[serde(default)]
    pub public: PublicSettings,
    #[serde(default)]
    pub geo: GeoSettings,
    #[serde(default)]
    pub map: MapSettings,
    #[serde(default)]
    pub outbox: OutboxSettings,
    #[serde(default)]
    pub leads: LeadSettings,
    #[serde(default)]
    pub scheduler: SchedulerSettings,
    #[serde(default)]
    pub intake: IntakeSettings,
    #[serde(default)]
    pub import: ImportSettings,
    #[serde(default)]
    pub audit: AuditSettings,
    #[serde(default)]
    pub reports: crate::consultations::rules::ReportSettings,
    #[serde(default)]
    pub closures: crate::closures::rules::ClosureSettings,
}

/// Signed checkpoints of the audit chain, written outside the database.
#[derive(Debug, Clone, Deserialize)]
pub struct AuditSettings {
    /// The append-only file checkpoints go to; empty = none are written. Put it where
    /// those who can write to the database cannot (another disk, a log host).
    #[serde(default = "default_checkpoint_file")]
    pub checkpoint_file: String,
    /// How often a checkpoint is written (when the chain has grown since the last one).
    #[serde(default = "default_checkpoint_interval")]
    pub checkpoint_interval: String,
    /// Whether this instance seals the entries writers append (PostgreSQL; on SQLite each
    /// entry is sealed as it is written). Every instance may: one seals at a time.
    #[serde(default = "yes")]
    pub sealer: bool,
    /// How often the sealer looks for entries waiting to join the chain.
    #[serde(default = "default_seal_interval")]
    pub seal_interval: String,
    /// Entries sealed in one transaction at most.
    #[serde(default = "default_seal_batch")]
    pub seal_batch: i64,
    /// `minecoord audit verify` fails when an entry has waited longer than this unsealed.
    #[serde(default = "default_unsealed_alarm")]
    pub unsealed_alarm: String,
}

fn default_seal_interval() -> String {
    "200ms".into()
}

fn default_seal_batch() -> i64 {
    1000
}

fn default_unsealed_alarm() -> String {
    "1m".into()
}

fn default_checkpoint_file() -> String {
    "data/audit-checkpoints.jsonl".into()
}

fn default_checkpoint_interval() -> String {
    "1h".into()
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            checkpoint_file: default_checkpoint_file(),
            checkpoint_interval: default_checkpoint_interval(),
            sealer: true,
            seal_interval: default_seal_interval(),
            seal_batch: default_seal_batch(),
            unsealed_alarm: default_unsealed_alarm(),
        }
    }
}

impl AuditSettings {
    pub fn checkpoint_file(&self) -> Option<&str> {
        Some(self.checkpoint_file.trim()).filter(|f| !f.is_empty())
    }
}

/// How much of an uploaded workbook is read before it is refused: an .xlsx is a zip of
/// XML, so a file of a few kilobytes can declare a million rows or inflate to gigabytes.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(default)]
pub struct ImportSettings {
    /// Rows of the sheet, the header row included.
    pub max_rows: u32,
    pub max_columns: u32,
    /// The workbook's parts inflated, all together.
    pub max_unzipped_bytes: u64,
}

impl Default for ImportSettings {
    fn default() -> Self {
        Self {
            max_rows: 20_000,
            max_columns: 60,
            max_unzipped_bytes: 100 * 1024 * 1024,
        }
    }
}

/// Leads raised and answered by email: the SMTP listener, the HTTP route for a mail
/// server's pipe, and the checks every message passes before it is taken in.
#[derive(Debug, Clone, Deserialize)]
pub struct IntakeSettings {
    /// Where the SMTP listener binds (e.g. "0.0.0.0:2525"); unset or empty = no listener.
    #[serde(default)]
    pub smtp_addr: Option<String>,
    /// Mail to any address at this domain is taken in.
    #[serde(default)]
    pub domain: String,
    /// The address shown to people (and set as Reply-To on lead notices); default
    /// `shaozi@<domain>`.
    #[serde(default)]
    pub address: Option<String>,
    /// Bearer token of `POST /api/v1/intake/email`; unset or empty = the route is off.
    #[serde(default)]
    pub token: Option<String>,
    /// Largest message taken in, in bytes (SMTP SIZE and the HTTP route alike).
    pub max_message_bytes: usize,
    /// SMTP connections served at once; one more is answered 421 and closed.
    pub max_connections: usize,
    /// Bytes of message data all SMTP sessions may hold at once (default: four of the
    /// largest messages); a DATA beyond it is answered 452 and the sender retries later.
    #[serde(default)]
    pub max_data_in_flight: Option<usize>,
    /// SMTP connections served at once from one address; one more is answered 421.
    #[serde(default = "default_connections_per_address")]
    pub max_connections_per_address: usize,
    /// How long the listener waits for the next command or line of data (idle).
    pub smtp_timeout: String,
    /// How long one SMTP session may last in all, however busy (a NOOP every few minutes
    /// does not hold a slot for ever).
    #[serde(default = "default_session_timeout")]
    pub smtp_session_timeout: String,
    /// Messages taken in from one sender within an hour; more are refused (a mail loop, a
    /// misconfigured forward), with the reason.
    pub max_per_sender_per_hour: i64,
    /// DKIM: when set, mail whose sender is at `dkim.domain` must carry a valid signature
    /// by that domain with one of the listed selectors' keys.
    #[serde(default)]
    pub dkim: Option<DkimSettings>,
    /// More domains checked the same way (`[[intake.dkim_domains]]`): one entry for every
    /// domain the users' addresses are at.
    #[serde(default)]
    pub dkim_domains: Vec<DkimSettings>,
    /// Mail servers in front of the intake whose `Authentication-Results` header is
    /// believed (`authserv_id` and the addresses they connect from).
    #[serde(default)]
    pub trusted_relays: Vec<TrustedRelay>,
    /// Every accepted message must prove its origin: a reply through its per-recipient
    /// reply address, or a sender authenticated by DKIM or by a trusted relay. Turning it
    /// off (trusting the From header) is logged at start and shown on /readyz.
    #[serde(default = "default_true")]
    pub require_authenticated_sender: bool,
    /// Days after a lead is closed that the reply addresses of its notices keep working.
    #[serde(default = "default_reply_days")]
    pub reply_address_days: i64,
}

/// A mail server whose `Authentication-Results` header (RFC 8601) the intake believes.
#[derive(Debug, Clone, Deserialize)]
pub struct TrustedRelay {
    /// The authserv-id it writes first in its header, e.g. "mx.qs.gov.cn".
    pub authserv_id: String,
    /// The addresses it connects to the SMTP listener from. Over the HTTP route (bearer
    /// token) and the pipe, the mail server handing the message over is the relay.
    #[serde(default)]
    pub addresses: Vec<std::net::IpAddr>,
}

/// Characters of the key in a reply address (`shaozi+<key>@…`): the outbox message's id
/// (32 hex digits) and 80 bits of its MAC (20).
pub const REPLY_TOKEN_LEN: usize = 52;

fn default_true() -> bool {
    true
}

fn default_reply_days() -> i64 {
    60
}

#[derive(Debug, Clone, Deserialize)]
pub struct DkimSettings {
    /// The district's mail domain, e.g. "qs.gov.cn": senders at it must be signed.
    pub domain: String,
    /// Selector → public key, the `p=` value of `<selector>._domainkey.<domain>` (base64).
    pub keys: std::collections::BTreeMap<String, String>,
}

impl Default for IntakeSettings {
    fn default() -> Self {
        Self {
            smtp_addr: None,
            domain: String::new(),
            address: None,
            token: None,
            max_message_bytes: 26_214_400,
            max_connections: 32,
            max_data_in_flight: None,
            max_connections_per_address: default_connections_per_address(),
            smtp_timeout: "5m".into(),
            smtp_session_timeout: default_session_timeout(),
            max_per_sender_per_hour: 60,
            dkim: None,
            dkim_domains: Vec::new(),
            trusted_relays: Vec::new(),
            require_authenticated_sender: true,
            reply_address_days: default_reply_days(),
        }
    }
}

impl IntakeSettings {
    pub fn max_data_in_flight_bytes(&self) -> usize {
        self.max_data_in_flight
            .unwrap_or(self.max_message_bytes.saturating_mul(4))
    }

    /// Every domain whose mail must carry its DKIM signature, with its keys.
    pub fn dkim_domains(&self) -> impl Iterator<Item = &DkimSettings> {
        self.dkim.iter().chain(self.dkim_domains.iter())
    }

    pub fn smtp_addr(&self) -> Option<&str> {
        self.smtp_addr
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref().filter(|s| !s.is_empty())
    }

    /// Whether mail is taken in at all (listener or HTTP route).
    pub fn enabled(&self) -> bool {
        self.smtp_addr().is_some() || self.token().is_some()
    }

    /// The address people write to.
    pub fn address(&self) -> String {
        match self
            .address
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(a) => a.to_owned(),
            None => format!("shaozi@{}", self.domain.trim()),
        }
    }
}

/// Time limits of leads per urgency and stage: "30m", "24h", "1wd" (working days), "30d".
#[derive(Debug, Clone, Deserialize)]
pub struct LeadSettings {
    pub time_limits: LeadTimeLimits,
    /// How long before a deadline the primary department is reminded, per urgency.
    #[serde(default)]
    pub remind_before: RemindBefore,
    /// Open leads of the same category within this distance are shown as possible
    /// duplicates before a lead is raised.
    #[serde(default = "default_duplicate_radius")]
    pub duplicate_radius_m: f64,
    /// The district's targets for the departments' rates, drawn on the statistics.
    #[serde(default)]
    pub targets: RateTargets,
}

/// Targets for the rates of the statistics, in percent (0 = none drawn).
#[derive(Debug, Clone, Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct RateTargets {
    pub response_rate: f64,
    pub on_time_rate: f64,
    pub closure_rate: f64,
    pub satisfaction_rate: f64,
}

impl Default for RateTargets {
    fn default() -> Self {
        Self {
            response_rate: 100.0,
            on_time_rate: 95.0,
            closure_rate: 95.0,
            satisfaction_rate: 90.0,
        }
    }
}

fn default_duplicate_radius() -> f64 {
    300.0
}

#[derive(Debug, Clone, Deserialize)]
pub struct RemindBefore {
    pub urgent: String,
    pub normal: String,
}

impl Default for RemindBefore {
    fn default() -> Self {
        Self {
            urgent: "10m".into(),
            normal: "4h".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct LeadTimeLimits {
    pub urgent: StageLimits,
    pub normal: StageLimits,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StageLimits {
    pub acknowledge: String,
    pub verify: String,
    pub close: String,
}

impl Default for LeadSettings {
    fn default() -> Self {
        Self {
            time_limits: LeadTimeLimits {
                urgent: StageLimits {
                    acknowledge: "30m".into(),
                    verify: "24h".into(),
                    close: "15d".into(),
                },
                normal: StageLimits {
                    acknowledge: "1wd".into(),
                    verify: "5wd".into(),
                    close: "30d".into(),
                },
            },
            remind_before: RemindBefore::default(),
            duplicate_radius_m: default_duplicate_radius(),
            targets: RateTargets::default(),
        }
    }
}

impl LeadSettings {
    /// The limits of one urgency, parsed.
    pub fn limits(
        &self,
        urgency: crate::leads::rules::Urgency,
    ) -> Result<crate::leads::rules::Limits, String> {
        use crate::leads::rules::Urgency;
        use crate::platform::rules::duration::parse_span;
        let (name, l) = match urgency {
            Urgency::Urgent => ("urgent", &self.time_limits.urgent),
            Urgency::Normal => ("normal", &self.time_limits.normal),
        };
        let p = |stage: &str, v: &str| {
            parse_span(v).map_err(|e| format!("配置项 leads.time_limits.{name}.{stage} 有误：{e}"))
        };
        Ok(crate::leads::rules::Limits {
            acknowledge: p("acknowledge", &l.acknowledge)?,
            verify: p("verify", &l.verify)?,
            close: p("close", &l.close)?,
        })
    }
}

/// The deadline checker inside the service.
#[derive(Debug, Clone, Deserialize)]
pub struct SchedulerSettings {
    /// Run the deadline checker in this instance (several may: each deadline is escalated once).
    #[serde(default = "yes")]
    pub enabled: bool,
    pub tick: String,
    /// How often the days whose lead statistics changed are counted again (the rollup; a
    /// request counts the days not yet rolled up itself, so this is about speed only).
    #[serde(default = "default_stats_rollup")]
    pub stats_rollup: String,
}

fn default_stats_rollup() -> String {
    "2s".into()
}

fn yes() -> bool {
    true
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            tick: "1m".into(),
            stats_rollup: default_stats_rollup(),
        }
    }
}

/// Delivery of the email outbox by the worker inside the service.
#[derive(Debug, Clone, Deserialize)]
pub struct OutboxSettings {
    /// Run the delivery worker in this instance (several instances may, on PostgreSQL).
    pub worker: bool,
    /// How often the worker looks for due messages and reminders.
    pub poll_interval: String,
    /// How long a claimed message stays with the instance that claimed it.
    pub lease: String,
    /// Attempts before a message is dead-lettered.
    pub max_attempts: i32,
    /// Messages claimed at a time.
    pub batch: i64,
    /// Days before a permit expires on which its reminder is sent, once each.
    pub permit_reminder_days: Vec<i64>,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            worker: true,
            poll_interval: "5s".into(),
            lease: "5m".into(),
            max_attempts: 8,
            batch: 20,
            permit_reminder_days: vec![90, 30, 7],
        }
    }
}

/// The district's projected coordinate system and boundary rules.
#[derive(Debug, Clone, Deserialize)]
pub struct GeoSettings {
    /// 3-degree Gauss-Krüger zone of the district (37 for Baotou, central meridian 111°E).
    pub zone: u32,
    /// Minimum distance between the boundaries of adjacent mines, in metres.
    pub min_distance_m: f64,
}

/// The web map's base layer. Without `tile_url` the map shows the boundaries, zones and
/// leads on a plain background with a scale bar, and works without any tile server.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MapSettings {
    /// A tile address with `{z}`, `{x}` and `{y}` (Web Mercator, e.g. the province's
    /// 天地图 service or an intranet tile server); empty = no base tiles.
    #[serde(default)]
    pub tile_url: String,
    /// Shown in the map's corner when tiles are used (the tile provider's notice).
    #[serde(default)]
    pub tile_attribution: String,
}

impl Default for GeoSettings {
    fn default() -> Self {
        Self {
            zone: 37,
            min_distance_m: 300.0,
        }
    }
}

fn default_connections_per_address() -> usize {
    4
}

fn default_session_timeout() -> String {
    "30m".into()
}

fn default_password_queue() -> usize {
    64
}

fn default_trusted_proxies() -> Vec<std::net::IpAddr> {
    vec![
        std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::Ipv6Addr::LOCALHOST.into(),
    ]
}

fn default_upload() -> usize {
    10 * 1024 * 1024
}

/// Inspection interval by risk grade, in months.
#[derive(Debug, Clone, Deserialize)]
pub struct InspectionSettings {
    pub major_months: u32,
    pub significant_months: u32,
    pub general_months: u32,
    pub low_months: u32,
    /// No second task on a mine within this many days of the last, unless a listed reason
    /// is given (避免重复检查).
    #[serde(default = "default_repeat_window_days")]
    pub repeat_window_days: i64,
    /// Inspection tasks per enterprise and year, published with the plans (国办发〔2024〕54号);
    /// 0 = no cap.
    #[serde(default = "default_annual_cap")]
    pub annual_cap: u32,
    /// The city's 2026 targets (seed 002), in percent: joint-inspection rate ≥ 60,
    /// planned joint inspections carried out > 85, enterprise satisfaction ≥ 95.
    #[serde(default = "default_joint_rate_target")]
    pub joint_rate_target: f64,
    #[serde(default = "default_plan_done_target")]
    pub plan_done_target: f64,
    #[serde(default = "default_satisfaction_target")]
    pub satisfaction_target: f64,
}

fn default_joint_rate_target() -> f64 {
    60.0
}

fn default_plan_done_target() -> f64 {
    85.0
}

fn default_satisfaction_target() -> f64 {
    95.0
}

fn default_repeat_window_days() -> i64 {
    90
}

fn default_annual_cap() -> u32 {
    4
}

impl Default for InspectionSettings {
    fn default() -> Self {
        Self {
            major_months: 1,
            significant_months: 3,
            general_months: 6,
            low_months: 12,
            repeat_window_days: default_repeat_window_days(),
            annual_cap: default_annual_cap(),
            joint_rate_target: default_joint_rate_target(),
            plan_done_target: default_plan_done_target(),
            satisfaction_target: default_satisfaction_target(),
        }
    }
}

impl InspectionSettings {
    pub fn months(&self, grade: crate::register::rules::risk_grade::RiskGrade) -> u32 {
        use crate::register::rules::risk_grade::RiskGrade::*;
        match grade {
            Major => self.major_months,
            Significant => self.significant_months,
            General => self.general_months,
            Low => self.low_months,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct PublicSettings {
    pub district_name: String,
    pub complaint_phone: String,
    /// Reports (群众反映) from one address on the public pages per hour.
    #[serde(default = "default_reports_per_address")]
    pub reports_per_address_per_hour: u32,
    /// Reports from the public pages per hour in all (bounds what strangers can write).
    #[serde(default = "default_reports_per_hour")]
    pub reports_per_hour: u32,
}

fn default_reports_per_address() -> u32 {
    3
}

fn default_reports_per_hour() -> u32 {
    60
}

impl Default for PublicSettings {
    fn default() -> Self {
        Self {
            district_name: "本区".into(),
            complaint_phone: "12345".into(),
            reports_per_address_per_hour: default_reports_per_address(),
            reports_per_hour: default_reports_per_hour(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct HttpSettings {
    pub addr: String,
    pub public_base_url: String,
    pub max_body_bytes: usize,
    #[serde(default)]
    pub cookie_secure: bool,
    /// Behind a reverse proxy: for connections from `trusted_proxies`, the client address
    /// is the last X-Forwarded-For entry (the one the proxy itself wrote). `Forwarded` and
    /// everything a client writes before that entry are ignored.
    #[serde(default)]
    pub behind_proxy: bool,
    /// The proxies' own addresses (default: this host, 127.0.0.1 and ::1).
    #[serde(default = "default_trusted_proxies")]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Largest uploaded file (e.g. an Excel ledger), in bytes.
    #[serde(default = "default_upload")]
    pub max_upload_bytes: usize,
    /// HTTP worker threads; 0 = one per core.
    #[serde(default)]
    pub workers: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub url: String,
    /// A hot standby of `url` (PostgreSQL streaming replication) for the reads that
    /// tolerate lag: statistics, exports, public pages and the register's lists.
    #[serde(default)]
    pub replica_url: Option<String>,
    pub pool_size: u32,
    pub connect_timeout: String,
    pub sqlite_busy_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    /// The service's secret (sign-in tokens, reply addresses, audit checkpoints): a file
    /// of hex text, created with a random key on first start when missing. Never kept in
    /// the database. Several instances on one database share one file.
    #[serde(default = "default_key_file")]
    pub key_file: String,
    /// Sets the sign-in token secret explicitly instead of deriving it from the key file.
    pub jwt_secret: Option<String>,
    pub token_ttl: String,
    pub max_failed_logins: u32,
    pub lockout: String,
    pub source_max_failures: u32,
    pub source_window: String,
    pub password_min_length: usize,
    /// Password checks waiting or running at once; one more is answered 503 with
    /// Retry-After instead of making every sign-in wait behind a flood.
    #[serde(default = "default_password_queue")]
    pub password_queue: usize,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct BootstrapSettings {
    pub admin_password: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SmtpSettings {
    pub url: Option<String>,
    #[serde(default)]
    pub from: String,
    /// Connections kept open to the server and reused.
    #[serde(default = "default_smtp_pool")]
    pub pool_size: u32,
    #[serde(default = "default_smtp_timeout")]
    pub timeout: String,
}

fn default_key_file() -> String {
    "data/minecoord.key".into()
}

fn default_smtp_pool() -> u32 {
    4
}

fn default_smtp_timeout() -> String {
    "30s".into()
}

#[derive(Debug, Clone, Deserialize)]
pub struct CalendarSettings {
    pub dir: String,
}

impl Default for CalendarSettings {
    fn default() -> Self {
        Self {
            dir: "config/calendar".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub format: String,
    pub level: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: "plain".into(),
            level: "info".into(),
        }
    }
}

/// Durations checked once at start, so a typo stops the service instead of a request.
#[derive(Debug, Clone)]
pub struct Durations {
    pub audit_checkpoint: Duration,
    pub audit_seal: Duration,
    pub stats_rollup: Duration,
    pub audit_unsealed_alarm: Duration,
    pub token_ttl: Duration,
    pub lockout: Duration,
    pub source_window: Duration,
    pub db_connect_timeout: Duration,
    pub outbox_poll: Duration,
    pub outbox_lease: Duration,
    pub smtp_timeout: Duration,
    pub intake_timeout: Duration,
    pub intake_session_timeout: Duration,
}

impl Settings {
    /// Loads the layers. `extra_file` is `--config` or `MINECOORD_CONFIG`.
    pub fn load(extra_file: Option<&Path>) -> Result<Self, String> {
        let mut builder =
            Config::builder().add_source(File::from_str(BUILTIN_DEFAULTS, FileFormat::Toml));
        if Path::new("config/default.toml").exists() {
            builder =
                builder.add_source(File::with_name("config/default.toml").format(FileFormat::Toml));
        }
        if let Some(path) = extra_file {
            if !path.exists() {
                return Err(format!("找不到配置文件 {}", path.display()));
            }
            builder = builder.add_source(File::from(path).format(FileFormat::Toml));
        }
        builder = builder.add_source(
            Environment::with_prefix("MINECOORD")
                .prefix_separator("_")
                .separator("__")
                .try_parsing(true),
        );
        let settings: Settings = builder
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| format!("配置有误：{e}"))?;
        settings.durations()?;
        settings.check()?;
        Ok(settings)
    }

    pub fn durations(&self) -> Result<Durations, String> {
        let d =
            |key: &str, v: &str| parse_duration(v).map_err(|e| format!("配置项 {key} 有误：{e}"));
        Ok(Durations {
            audit_checkpoint: d("audit.checkpoint_interval", &self.audit.checkpoint_interval)?,
            audit_seal: d("audit.seal_interval", &self.audit.seal_interval)?,
            stats_rollup: d("scheduler.stats_rollup", &self.scheduler.stats_rollup)?,
            audit_unsealed_alarm: d("audit.unsealed_alarm", &self.audit.unsealed_alarm)?,
            token_ttl: d("auth.token_ttl", &self.auth.token_ttl)?,
            lockout: d("auth.lockout", &self.auth.lockout)?,
            source_window: d("auth.source_window", &self.auth.source_window)?,
            db_connect_timeout: d("database.connect_timeout", &self.database.connect_timeout)?,
            outbox_poll: d("outbox.poll_interval", &self.outbox.poll_interval)?,
            outbox_lease: d("outbox.lease", &self.outbox.lease)?,
            smtp_timeout: d("smtp.timeout", &self.smtp.timeout)?,
            intake_timeout: d("intake.smtp_timeout", &self.intake.smtp_timeout)?,
            intake_session_timeout: d(
                "intake.smtp_session_timeout",
                &self.intake.smtp_session_timeout,
            )?,
        })
    }

    /// Refuses settings the service cannot run safely with (e.g. a short signing secret).
    /// The mail transport's and the intake's own checks run beside it at start
    /// (`app::startup::check_settings`).
    pub fn check(&self) -> Result<(), String> {
        if let Some(secret) = self.auth.jwt_secret.as_deref().filter(|s| !s.is_empty()) {
            if secret.len() < 32 {
                return Err(format!(
                    "auth.jwt_secret 太短（{} 字节）：至少需要 32 字节。可删除该配置，由系统自动生成。",
                    secret.len()
                ));
            }
        }
        if self.database.pool_size == 0 {
            return Err("database.pool_size 不能为 0".into());
        }
        if !matches!(self.log.format.as_str(), "plain" | "json") {
            return Err(format!(
                "log.format 只能是 plain 或 json，而不是 {:?}",
                self.log.format
            ));
        }
        crate::platform::db::DbUrl::parse(&self.database.url)?;
        for urgency in crate::leads::rules::Urgency::ALL {
            self.leads.limits(*urgency)?;
        }
        parse_duration(&self.scheduler.tick)
            .map_err(|e| format!("配置项 scheduler.tick 有误：{e}"))?;
        for (k, v) in [
            ("urgent", &self.leads.remind_before.urgent),
            ("normal", &self.leads.remind_before.normal),
        ] {
            parse_duration(v).map_err(|e| format!("配置项 leads.remind_before.{k} 有误：{e}"))?;
        }
        let tiles = self.map.tile_url.trim();
        if !tiles.is_empty()
            && (!(tiles.starts_with("https://")
                || tiles.starts_with("http://")
                || tiles.starts_with('/'))
                || !["{z}", "{x}", "{y}"].iter().all(|p| tiles.contains(p))
                || tiles.contains(['"', '<', '>', ' ']))
        {
            return Err(format!(
                "map.tile_url 有误：应以 https:// 开头并含有 {{z}}、{{x}}、{{y}}，如 \"https://tiles.example.gov.cn/{{z}}/{{x}}/{{y}}.png\"，而不是 {tiles:?}"
            ));
        }
        let t = &self.leads.targets;
        for (k, v) in [
            ("response_rate", t.response_rate),
            ("on_time_rate", t.on_time_rate),
            ("closure_rate", t.closure_rate),
            ("satisfaction_rate", t.satisfaction_rate),
        ] {
            if !(0.0..=100.0).contains(&v) {
                return Err(format!(
                    "leads.targets.{k} 应在 0 到 100 之间（百分比），而不是 {v}"
                ));
            }
        }
        if self.import.max_rows < 2
            || self.import.max_columns < 1
            || self.import.max_unzipped_bytes < 1024
        {
            return Err("import.max_rows 至少 2，import.max_columns 至少 1，import.max_unzipped_bytes 至少 1024".into());
        }
        if self.outbox.max_attempts < 1 || self.outbox.batch < 1 {
            return Err("outbox.max_attempts 和 outbox.batch 至少为 1".into());
        }
        if self.outbox.permit_reminder_days.iter().any(|d| *d < 0) {
            return Err("outbox.permit_reminder_days 不能有负数".into());
        }
        if self.intake.enabled() {
            let domain = self.intake.domain.trim();
            if domain.is_empty() || domain.contains('@') || domain.contains(char::is_whitespace) {
                return Err("收件已开启（intake.smtp_addr 或 intake.token），请把 intake.domain 设为收件域名，如 \"qs.gov.cn\"".into());
            }
            let local = self.intake.address();
            let local = local.rsplit_once('@').map_or("", |(l, _)| l);
            let local = local.rsplit(['<', ' ']).next().unwrap_or(local);
            if local.chars().count() > 64 - 1 - REPLY_TOKEN_LEN {
                return Err(format!(
                    "intake.address 的 @ 前部分太长：回复地址要在其后加上 + 和 {REPLY_TOKEN_LEN} 位编码，邮箱地址 @ 前最多 64 个字符"
                ));
            }
            if self.intake.max_data_in_flight_bytes() < self.intake.max_message_bytes {
                return Err("intake.max_data_in_flight 不能小于 intake.max_message_bytes（否则大邮件永远无法收下）".into());
            }
            if self.intake.reply_address_days < 0 {
                return Err("intake.reply_address_days 不能为负数".into());
            }
            if self.intake.token().is_some_and(|t| t.len() < 24) {
                return Err("intake.token 太短：至少需要 24 个字符".into());
            }
            if self.intake.max_message_bytes < 1024
                || self.intake.max_connections == 0
                || self.intake.max_connections_per_address == 0
            {
                return Err(
                    "intake.max_message_bytes 至少 1024，intake.max_connections 和 intake.max_connections_per_address 至少 1".into(),
                );
            }
        }
        Ok(())
    }

    pub fn jwt_secret(&self) -> Option<&str> {
        self.auth.jwt_secret.as_deref().filter(|s| !s.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tile_address_must_name_its_tiles() {
        let mut s = Settings::load(None).expect("the defaults load");
        assert!(s.map.tile_url.is_empty(), "no base tiles by default");
        s.check().expect("the defaults are fine");
        for good in [
            "https://t0.tianditu.gov.cn/vec_w/wmts?T=vec_w&x={x}&y={y}&l={z}&tk=key",
            "/tiles/{z}/{x}/{y}.png",
        ] {
            s.map.tile_url = good.into();
            assert!(s.check().is_ok(), "{good}");
        }
        for bad in [
            "https://tiles.example/{z}/{x}.png",
            "javascript:alert(1)//{z}{x}{y}",
            "https://x/{z}/{x}/{y}.png\" onload=\"",
        ] {
            s.map.tile_url = bad.into();
            let e = s.check().expect_err(bad);
            assert!(e.starts_with("map.tile_url 有误"), "{e}");
        }
    }
}
