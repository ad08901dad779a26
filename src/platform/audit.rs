//! The append-only, hash-chained audit trail (检查全过程记录、可追溯).
//!
//! Every change appends one entry in the same transaction as the change, under an `id`
//! that shares no row with other writers. Entries join the hash chain when they are
//! sealed: the sealer gives each its chain position (`seq`, without gaps), the hash of the
//! entry before it and its own hash, and moves `audit_head` on. On PostgreSQL one sealer at
//! a time does that in batches a fraction of a second later ([`seal`], run by
//! `app::jobs::spawn_sealer` in every instance: whoever holds `audit_head`'s row seals, the
//! others skip the round, and when an instance dies its transaction and the row go with
//! it). On SQLite, where writers take turns anyway, each entry is sealed as it is written.
//! A removed sealed entry shows as a gap in `seq`, an altered one as a hash that no longer
//! matches; an entry left unsealed too long is reported by [`unsealed`].

use chrono::{DurationRound, NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::platform::db::schema::{audit_head, audit_log};
use crate::platform::db::{kept_sql, DbConnection};
use crate::platform::error::AppResult;

/// Who made a change: a signed-in user, or the system itself (start-up, scheduler, CLI).
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Option<String>,
    pub name: String,
}

impl Actor {
    pub fn system(name: &str) -> Self {
        Self {
            id: None,
            name: name.to_owned(),
        }
    }
}

/// An entry as stored. `seq`, `prev_hash` and `hash` are empty until it is sealed.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
    pub id: i64,
    pub seq: Option<i64>,
    #[schema(value_type = String)]
    pub occurred_at: NaiveDateTime,
    pub actor_id: Option<String>,
    pub actor_name: String,
    pub entity_type: String,
    pub entity_id: String,
    pub action: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub prev_hash: Option<String>,
    pub hash: Option<String>,
}

/// An entry being appended (the database gives its `id`). Absent chain fields are written
/// as NULL (they have no default), so the insert keeps one text and stays prepared.
#[derive(Insertable)]
#[diesel(table_name = audit_log, treat_none_as_default_value = false)]
struct NewEntry {
    seq: Option<i64>,
    occurred_at: NaiveDateTime,
    actor_id: Option<String>,
    actor_name: String,
    entity_type: String,
    entity_id: String,
    action: String,
    before_json: Option<String>,
    after_json: Option<String>,
    prev_hash: Option<String>,
    hash: Option<String>,
}

/// One change to record.
pub struct Change<'a> {
    pub entity_type: &'a str,
    pub entity_id: &'a str,
    pub action: &'a str,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// What an entry's hash covers: its place in the chain, the hash before it and its content.
struct Linked<'a> {
    seq: i64,
    prev_hash: &'a str,
    occurred_at: NaiveDateTime,
    actor_id: Option<&'a str>,
    actor_name: &'a str,
    entity_type: &'a str,
    entity_id: &'a str,
    action: &'a str,
    before_json: Option<&'a str>,
    after_json: Option<&'a str>,
}

impl Linked<'_> {
    fn hash(&self) -> String {
        let canonical = serde_json::json!([
            self.prev_hash,
            self.seq,
            self.occurred_at.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
            self.actor_id,
            self.actor_name,
            self.entity_type,
            self.entity_id,
            self.action,
            self.before_json,
            self.after_json,
        ]);
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }
}

/// An entry's content linked at `seq` after `prev_hash` (stored and new entries alike).
macro_rules! linked {
    ($($t:ty),+) => {$(
        impl $t {
            fn linked<'a>(&'a self, seq: i64, prev_hash: &'a str) -> Linked<'a> {
                Linked {
                    seq,
                    prev_hash,
                    occurred_at: self.occurred_at,
                    actor_id: self.actor_id.as_deref(),
                    actor_name: &self.actor_name,
                    entity_type: &self.entity_type,
                    entity_id: &self.entity_id,
                    action: &self.action,
                    before_json: self.before_json.as_deref(),
                    after_json: self.after_json.as_deref(),
                }
            }
        }
    )+};
}

linked!(AuditEntry, NewEntry);

/// An entry built before it is written, for a PostgreSQL statement that writes a change
/// with its entry at once (`platform::db::Chained`): [`Pending::insert`] is its part.
pub struct Pending(NewEntry);

/// The entry of `change`, not yet written.
pub fn pending(actor: &Actor, now: NaiveDateTime, change: Change<'_>) -> Pending {
    // Microseconds are what PostgreSQL keeps; truncating here keeps the hash stable.
    let occurred_at = now
        .duration_trunc(TimeDelta::microseconds(1))
        .unwrap_or(now);
    Pending(NewEntry {
        seq: None,
        occurred_at,
        actor_id: actor.id.clone(),
        actor_name: actor.name.clone(),
        entity_type: change.entity_type.to_owned(),
        entity_id: change.entity_id.to_owned(),
        action: change.action.to_owned(),
        before_json: change.before.map(|v| v.to_string()),
        after_json: change.after.map(|v| v.to_string()),
        prev_hash: None,
        hash: None,
    })
}

impl Pending {
    /// The entry's insert on PostgreSQL, where the sealer links it into the chain later
    /// (on SQLite an entry is sealed as it is written: [`record`]).
    pub fn insert(
        self,
    ) -> impl diesel::query_builder::QueryFragment<diesel::pg::Pg> + diesel::query_builder::QueryId
    {
        diesel::insert_into(audit_log::table).values(self.0)
    }
}

/// Appends one entry and returns its id. Call inside the transaction that makes the change.
/// On PostgreSQL this is one insert that no other writer waits for; the entry is sealed
/// later. On SQLite the entry is sealed here, the writers taking turns already.
pub fn record(
    conn: &mut DbConnection,
    actor: &Actor,
    now: NaiveDateTime,
    change: Change<'_>,
) -> AppResult<i64> {
    pending(actor, now, change).write(conn)
}

impl Pending {
    /// Appends the entry as [`record`] does.
    pub fn write(self, conn: &mut DbConnection) -> AppResult<i64> {
        write(conn, self.0)
    }
}

fn write(conn: &mut DbConnection, mut entry: NewEntry) -> AppResult<i64> {
    if let DbConnection::Pg(c) = conn {
        return Ok(diesel::insert_into(audit_log::table)
            .values(&entry)
            .returning(audit_log::id)
            .get_result(c)?);
    }
    let (last_seq, last_hash) = head(conn)?;
    let seq = last_seq + 1;
    let hash = entry.linked(seq, &last_hash).hash();
    entry.seq = Some(seq);
    entry.prev_hash = Some(last_hash);
    entry.hash = Some(hash.clone());
    // On SQLite an entry's id is its place in the chain (as the migration to ids left the
    // entries before it), so it need not be read back.
    diesel::insert_into(audit_log::table)
        .values((&entry, audit_log::id.eq(seq)))
        .execute(conn)?;
    move_head(conn, seq, &hash)?;
    Ok(seq)
}

fn move_head(conn: &mut DbConnection, seq: i64, hash: &str) -> AppResult<()> {
    MoveHead {
        seq,
        hash: hash.to_owned(),
    }
    .execute(conn)?;
    Ok(())
}

/// What one round of sealing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealed {
    /// Another sealer holds the head this moment; it seals what is waiting.
    Busy,
    /// This many entries joined the chain.
    Entries(usize),
}

/// Seals up to `batch` waiting entries, oldest id first. Run inside a transaction: the
/// head's row is held (skipped, not waited for, when another sealer has it) until the
/// transaction ends, so one sealer at a time extends the chain and a sealer that dies
/// mid-batch leaves nothing half-linked.
pub fn seal(conn: &mut DbConnection, batch: i64) -> AppResult<Sealed> {
    let head: Option<(i64, String)> = match conn {
        DbConnection::Pg(c) => audit_head::table
            .find(1)
            .select((audit_head::last_seq, audit_head::last_hash))
            .for_update()
            .skip_locked()
            .first(c)
            .optional()?,
        DbConnection::Sqlite(_) => Some(head(conn)?),
    };
    let Some((mut last_seq, mut last_hash)) = head else {
        return Ok(Sealed::Busy);
    };
    let waiting: Vec<AuditEntry> = audit_log::table
        .filter(audit_log::seq.is_null())
        .order(audit_log::id.asc())
        .limit(batch)
        .select(AuditEntry::as_select())
        .load(conn)?;
    let mut links = LinkAll::default();
    for e in &waiting {
        let seq = last_seq + 1;
        let hash = e.linked(seq, &last_hash).hash();
        links.ids.push(e.id);
        links.seqs.push(seq);
        links
            .prev_hashes
            .push(std::mem::replace(&mut last_hash, hash.clone()));
        links.hashes.push(hash);
        last_seq = seq;
    }
    link(conn, links)?;
    if !waiting.is_empty() {
        move_head(conn, last_seq, &last_hash)?;
    }
    Ok(Sealed::Entries(waiting.len()))
}

/// Writes a round's chain positions. On PostgreSQL one statement for the whole round, its
/// text the same whatever the round's size, so it stays prepared; on SQLite (in process, no
/// round trips) one kept update per entry.
fn link(conn: &mut DbConnection, links: LinkAll) -> AppResult<()> {
    match conn {
        DbConnection::Pg(c) => {
            if !links.ids.is_empty() {
                links.execute(c)?;
            }
        }
        DbConnection::Sqlite(c) => {
            let entries = links.ids.into_iter().zip(links.seqs);
            for ((id, seq), (prev_hash, hash)) in
                entries.zip(links.prev_hashes.into_iter().zip(links.hashes))
            {
                LinkOne {
                    seq,
                    prev_hash,
                    hash,
                    id,
                }
                .execute(c)?;
            }
        }
    }
    Ok(())
}

kept_sql! {
    /// Moves the chain's head to its last entry.
    struct MoveHead { seq: i64 as BigInt, hash: String as Text }
    "UPDATE audit_head SET last_seq = {}, last_hash = {} WHERE id = 1"
}

kept_sql! {
    /// A round's chain positions (one entry per index); on PostgreSQL one statement
    /// whatever the round's size.
    #[derive(Default)]
    struct LinkAll {
        ids: Vec<i64> as Array<BigInt>,
        seqs: Vec<i64> as Array<BigInt>,
        prev_hashes: Vec<String> as Array<Text>,
        hashes: Vec<String> as Array<Text>,
    }
    "UPDATE audit_log AS a SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash \
     FROM unnest({}, {}, {}, {}) AS v (id, seq, prev_hash, hash) WHERE a.id = v.id"
}

kept_sql! {
    /// One entry's chain position.
    struct LinkOne { seq: i64 as BigInt, prev_hash: String as Text, hash: String as Text, id: i64 as BigInt }
    "UPDATE audit_log SET seq = {}, prev_hash = {}, hash = {} WHERE id = {}"
}

/// Entries written before `before` and still not sealed: how many, and the oldest's time.
pub fn unsealed(
    conn: &mut DbConnection,
    before: NaiveDateTime,
) -> AppResult<(i64, Option<NaiveDateTime>)> {
    let waiting = audit_log::table
        .filter(audit_log::seq.is_null())
        .filter(audit_log::occurred_at.lt(before));
    let n: i64 = waiting.count().get_result(conn)?;
    let oldest: Option<NaiveDateTime> = waiting
        .select(diesel::dsl::min(audit_log::occurred_at))
        .first(conn)?;
    Ok((n, oldest))
}

/// What `verify` found.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Intact { entries: i64 },
    Broken { seq: i64, reason: String },
}

/// Walks the sealed chain from its first entry and names the first one altered or removed.
/// Entries not sealed yet are not in the chain; [`unsealed`] counts those left too long.
pub fn verify(conn: &mut DbConnection) -> AppResult<Verdict> {
    const BATCH: i64 = 2000;
    let mut expected_seq = 1i64;
    let mut prev_hash = "0".repeat(64);
    loop {
        let batch: Vec<AuditEntry> = audit_log::table
            .filter(audit_log::seq.ge(expected_seq))
            .order(audit_log::seq.asc())
            .limit(BATCH)
            .select(AuditEntry::as_select())
            .load(conn)?;
        let done = (batch.len() as i64) < BATCH;
        for e in batch {
            if e.seq != Some(expected_seq) {
                return Ok(Verdict::Broken {
                    seq: expected_seq,
                    reason: format!("第 {expected_seq} 条记录缺失（已被删除）"),
                });
            }
            if e.prev_hash.as_deref() != Some(prev_hash.as_str()) {
                return Ok(Verdict::Broken {
                    seq: expected_seq,
                    reason: format!("第 {expected_seq} 条记录的前序哈希与链不符"),
                });
            }
            let hash = e.linked(expected_seq, &prev_hash).hash();
            if e.hash.as_deref() != Some(hash.as_str()) {
                return Ok(Verdict::Broken {
                    seq: expected_seq,
                    reason: format!("第 {expected_seq} 条记录的内容已被修改"),
                });
            }
            prev_hash = hash;
            expected_seq += 1;
        }
        if done {
            break;
        }
    }
    let (last_seq, last_hash) = head(conn)?;
    if last_seq != expected_seq - 1 || last_hash != prev_hash {
        return Ok(Verdict::Broken {
            seq: expected_seq,
            reason: format!(
                "链尾应为第 {last_seq} 条，实际只到第 {} 条：末尾记录已被删除",
                expected_seq - 1
            ),
        });
    }
    Ok(Verdict::Intact {
        entries: expected_seq - 1,
    })
}

#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Entity type, e.g. `user`, `department`.
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub actor_id: Option<String>,
    pub limit: Option<i64>,
    /// `id` of the last entry of the previous page (entries come newest first).
    pub cursor: Option<String>,
}

/// Newest first (sealed or not), keyset-paginated on `id`.
pub fn list(
    conn: &mut DbConnection,
    q: &AuditQuery,
) -> AppResult<(Vec<AuditEntry>, Option<String>)> {
    let limit = crate::platform::pagination::limit(q.limit)?;
    let mut query = audit_log::table
        .select(AuditEntry::as_select())
        .into_boxed();
    if let Some(t) = q.entity.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(audit_log::entity_type.eq(t.to_owned()));
    }
    if let Some(id) = q.entity_id.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(audit_log::entity_id.eq(id.to_owned()));
    }
    if let Some(a) = q.actor_id.as_deref().filter(|s| !s.is_empty()) {
        query = query.filter(audit_log::actor_id.eq(a.to_owned()));
    }
    if let Some(c) = q.cursor.as_deref().filter(|s| !s.is_empty()) {
        let before: i64 = c
            .parse()
            .map_err(|_| crate::platform::error::AppError::field("cursor", "翻页标记无效"))?;
        query = query.filter(audit_log::id.lt(before));
    }
    let mut rows: Vec<AuditEntry> = query
        .order(audit_log::id.desc())
        .limit(limit + 1)
        .load(conn)?;
    let next = crate::platform::pagination::next_cursor(&mut rows, limit, |e| e.id.to_string());
    Ok((rows, next))
}

/// A checkpoint of the chain (as Certificate Transparency's signed tree heads): the last
/// entry's number and hash at a time, with a MAC by a key that is not in the database.
/// Appended to a file outside the database, it proves later that the database still holds
/// that prefix of the chain unchanged: deleting the last entries and rewinding
/// `audit_head`, or rewriting the chain, no longer passes `minecoord audit verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    /// When it was written (RFC 3339).
    pub at: String,
    /// hex HMAC-SHA256 over seq, hash and at.
    pub mac: String,
}

impl Checkpoint {
    pub fn sign(key: &[u8], seq: i64, hash: &str, at: &str) -> Self {
        Self {
            seq,
            hash: hash.to_owned(),
            at: at.to_owned(),
            mac: hex::encode(Self::tag(key, seq, hash, at)),
        }
    }

    fn tag(key: &[u8], seq: i64, hash: &str, at: &str) -> [u8; 32] {
        crate::platform::keys::mac(key, &[&seq.to_be_bytes(), hash.as_bytes(), at.as_bytes()])
    }

    pub fn authentic(&self, key: &[u8]) -> bool {
        hex::decode(&self.mac).is_ok_and(|given| {
            crate::platform::keys::mac_matches(
                &Self::tag(key, self.seq, &self.hash, &self.at),
                &given,
            )
        })
    }
}

/// The chain's head: the last sealed entry's number and hash (0 and zeros when empty).
pub fn head(conn: &mut DbConnection) -> AppResult<(i64, String)> {
    Ok(audit_head::table
        .find(1)
        .select((audit_head::last_seq, audit_head::last_hash))
        .first(conn)?)
}

/// The checkpoints of a file, one JSON object a line; a line that cannot be read is an
/// error naming it (the file was altered).
pub fn read_checkpoints(text: &str) -> Result<Vec<Checkpoint>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|_| format!("检查点文件第 {} 行无法读取", i + 1))
        })
        .collect()
}

/// Appends a checkpoint line to `path` (created when missing) and syncs it to disk.
pub fn append_checkpoint(path: &std::path::Path, c: &Checkpoint) -> Result<(), String> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("无法创建目录 {}：{e}", dir.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("无法写入检查点文件 {}：{e}", path.display()))?;
    let line = serde_json::to_string(c).map_err(|e| e.to_string())? + "\n";
    file.write_all(line.as_bytes())
        .and_then(|_| file.sync_all())
        .map_err(|e| format!("无法写入检查点文件 {}：{e}", path.display()))
}

/// The last checkpoint of a file, if it has one that can be read.
pub fn last_checkpoint(path: &std::path::Path) -> Option<Checkpoint> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
}

/// Checks the database against checkpoints: each must be authentic (made with `key`) and
/// the entry it names must still be in the database with the hash it had. Run after
/// [`verify`] found the chain itself intact, so an unchanged entry at `seq` means the whole
/// prefix up to it is unchanged.
pub fn verify_checkpoints(
    conn: &mut DbConnection,
    key: &[u8],
    checkpoints: &[Checkpoint],
) -> AppResult<Verdict> {
    let (last_seq, _) = head(conn)?;
    for (i, c) in checkpoints.iter().enumerate() {
        if !c.authentic(key) {
            return Ok(Verdict::Broken {
                seq: c.seq,
                reason: format!(
                    "检查点文件第 {} 条的签名不符：文件被改动，或所用密钥文件不是生成它的那一个",
                    i + 1
                ),
            });
        }
        if c.seq == 0 {
            continue;
        }
        if c.seq > last_seq {
            return Ok(Verdict::Broken {
                seq: last_seq + 1,
                reason: format!(
                    "{} 的检查点记录到第 {} 条，数据库现在只到第 {last_seq} 条：末尾记录已被删除",
                    c.at, c.seq
                ),
            });
        }
        let hash: Option<String> = audit_log::table
            .filter(audit_log::seq.eq(c.seq))
            .select(audit_log::hash)
            .first::<Option<String>>(conn)
            .optional()?
            .flatten();
        if hash.as_deref() != Some(c.hash.as_str()) {
            return Ok(Verdict::Broken {
                seq: c.seq,
                reason: format!(
                    "第 {} 条记录与 {} 的检查点不符：此前的记录已被改写",
                    c.seq, c.at
                ),
            });
        }
    }
    Ok(Verdict::Intact { entries: last_seq })
}
