//! Passwords (argon2id), signed session tokens (JWT) and login throttling.
//!
//! A token carries the user's `token_version`; logging out, disabling the user or
//! resetting the password bumps the version, which revokes every token at once.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::platform::error::{AppError, AppResult};

pub fn hash_password(password: &str) -> AppResult<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(AppError::internal)
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash of a random password, verified against when the username is unknown so that
/// a wrong username takes as long as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&random_token(16)).unwrap_or_default())
}

pub fn random_token(bytes: usize) -> String {
    let buf: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    hex::encode(buf)
}

/// A readable one-time password for bootstrap and resets: letters and digits, no look-alikes.
pub fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut s: String = (0..16)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect();
    // Guarantee the policy's two kinds of character.
    s.push('7');
    s.push('K');
    s
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    /// The user's token version when the token was issued.
    pub ver: i32,
    pub role: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    secret: Vec<u8>,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            secret: secret.to_vec(),
        }
    }

    pub fn issue(
        &self,
        user_id: &str,
        role: &str,
        version: i32,
        now: DateTime<Utc>,
        ttl: std::time::Duration,
    ) -> AppResult<(String, Claims)> {
        let claims = Claims {
            sub: user_id.to_owned(),
            ver: version,
            role: role.to_owned(),
            iat: now.timestamp(),
            exp: now.timestamp() + ttl.as_secs() as i64,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(AppError::internal)?;
        Ok((token, claims))
    }

    /// Checks the signature, then the expiry against the service's clock.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> AppResult<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked below against the injectable clock, not the system time.
        validation.validate_exp = false;
        let data = decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|_| AppError::Unauthorized("登录凭证无效，请重新登录。".into()))?;
        if data.claims.exp <= now.timestamp() {
            return Err(AppError::Unauthorized("登录已过期，请重新登录。".into()));
        }
        Ok(data.claims)
    }

    /// The CSRF token of a page session: bound to the session's token id, so it cannot be
    /// reused with another session and needs no storage.
    pub fn csrf_for(&self, jti: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(b"csrf:");
        mac.update(jti.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }
}

/// Removes the sign-in secret earlier versions generated into the database: the secret now
/// comes from the key file, so whoever can read the database cannot sign tokens with it.
/// Tokens signed with the old secret stop working (everyone signs in once more).
pub fn forget_stored_secret(conn: &mut crate::platform::db::DbConnection) -> AppResult<bool> {
    use crate::platform::db::schema::system_settings;
    use diesel::prelude::*;
    let removed =
        diesel::delete(system_settings::table.filter(system_settings::key.eq("jwt_secret")))
            .execute(conn)?;
    Ok(removed > 0)
}

/// The most keys (addresses, unknown usernames) a limiter tracks at once.
const MAX_TRACKED: usize = 100_000;

/// Counts failed logins per source address within a window (in memory, per instance).
/// The per-account lock lives in the database and is visible to admins.
pub struct SourceLimiter<K = IpAddr> {
    max_failures: u32,
    window: chrono::Duration,
    failures: Mutex<HashMap<K, (u32, DateTime<Utc>)>>,
    /// Attempts being checked right now, per key: they count towards the limit before
    /// their outcome is known, so a burst in parallel is refused like one in a row.
    in_flight: Mutex<HashMap<K, u32>>,
}

/// One attempt in flight; given back when dropped.
pub struct Attempt<'a, K: std::hash::Hash + Eq + Clone> {
    limiter: &'a SourceLimiter<K>,
    key: K,
}

impl<K: std::hash::Hash + Eq + Clone> Drop for Attempt<'_, K> {
    fn drop(&mut self) {
        let mut map = self
            .limiter
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

/// Failed sign-ins under usernames that do not exist, counted like a real account's so
/// that both answer alike (no way to tell which usernames exist).
pub type UnknownNames = SourceLimiter<String>;

impl<K: std::hash::Hash + Eq + Clone> SourceLimiter<K> {
    pub fn new(max_failures: u32, window: std::time::Duration) -> Self {
        Self {
            max_failures,
            window: chrono::Duration::from_std(window).unwrap_or(chrono::Duration::minutes(15)),
            failures: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    /// Starts an attempt for `key`: refused when its failures in the window and the
    /// attempts still in flight reach the limit. Hold the answer while the attempt runs.
    pub fn begin(&self, key: K, now: DateTime<Utc>) -> AppResult<Attempt<'_, K>> {
        self.check(key.clone(), now)?;
        let failures = {
            let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
            map.get(&key)
                .filter(|(_, start)| *start + self.window > now)
                .map_or(0, |(count, _)| *count)
        };
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let n = in_flight.entry(key.clone()).or_insert(0);
        if *n + failures >= self.max_failures {
            if *n == 0 {
                in_flight.remove(&key);
            }
            return Err(AppError::RateLimited {
                detail: "登录尝试过多，请稍后再试。".into(),
                retry_after_secs: 2,
            });
        }
        *n += 1;
        Ok(Attempt { limiter: self, key })
    }

    /// Refuses a source that has failed too often in the current window.
    pub fn check(&self, ip: K, now: DateTime<Utc>) -> AppResult<()> {
        match self.blocked_until(&ip, now) {
            Some(until) => Err(AppError::RateLimited {
                detail: "该地址登录失败次数过多，请稍后再试。".into(),
                retry_after_secs: (until - now).num_seconds().max(1) as u64,
            }),
            None => Ok(()),
        }
    }

    /// Until when the key is refused, if it has failed too often in the current window.
    pub fn blocked_until(&self, key: &K, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let (count, start) = map.get(key)?;
        let until = *start + self.window;
        (*count >= self.max_failures && now < until).then_some(until)
    }

    /// Whether the key has failed at all in the current window.
    pub fn has_failed(&self, key: &K, now: DateTime<Utc>) -> bool {
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .is_some_and(|(count, start)| *count > 0 && *start + self.window > now)
    }

    pub fn record_failure(&self, ip: K, now: DateTime<Utc>) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        // Bound memory: forget windows that have ended once the map grows, and past
        // MAX_TRACKED keys (a spray of fresh names or addresses within one window) the
        // oldest tenth, so the map never holds more than that.
        // Both run now and then (every 1024th new key, or when full), so their cost is
        // spread over the inserts.
        if map.len() > 10_000 && map.len() % 1024 == 0 && !map.contains_key(&ip) {
            let window = self.window;
            map.retain(|_, (_, start)| *start + window > now);
        }
        if map.len() >= MAX_TRACKED && !map.contains_key(&ip) {
            let mut by_age: Vec<(DateTime<Utc>, K)> = map
                .iter()
                .map(|(k, (_, start))| (*start, k.clone()))
                .collect();
            by_age.sort_unstable_by_key(|(start, _)| *start);
            for (_, k) in by_age.into_iter().take(MAX_TRACKED / 10) {
                map.remove(&k);
            }
        }
        let entry = map.entry(ip).or_insert((0, now));
        if entry.1 + self.window <= now {
            *entry = (0, now);
        }
        entry.0 += 1;
    }

    pub fn record_success(&self, ip: K) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&ip);
    }
}

/// A small, dedicated pool of threads for password hashing. Each argon2 run allocates
/// about 19 MiB; run on the general blocking pool, every thread that ever hashed kept its
/// share in its allocator arena (630 MiB after 64 logins in the benchmark). A fixed set of
/// threads bounds both the work in flight and the memory kept.
pub struct HashPool {
    jobs: std::sync::mpsc::Sender<Box<dyn FnOnce() + Send>>,
    /// Jobs queued or running; beyond `max_queued` a new one is refused (503) instead of
    /// making every sign-in wait behind a flood.
    queued: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    max_queued: usize,
}

impl HashPool {
    /// A pool that refuses work once `max_queued` jobs wait or run.
    pub fn bounded(threads: usize, max_queued: usize) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<Box<dyn FnOnce() + Send>>();
        let rx = std::sync::Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-{i}"))
                .spawn(move || loop {
                    let job = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    match job {
                        Ok(job) => job(),
                        // The service is gone: its sender was dropped.
                        Err(_) => break,
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password thread");
            }
        }
        Self {
            jobs: tx,
            queued: Default::default(),
            max_queued: max_queued.max(1),
        }
    }

    /// Runs `f` on the pool and waits for it without blocking the async executor.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> AppResult<T> + Send + 'static,
    ) -> AppResult<T> {
        use std::sync::atomic::Ordering;
        if self.queued.fetch_add(1, Ordering::AcqRel) >= self.max_queued {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return Err(AppError::Busy {
                detail: "登录的人太多，请稍后几秒再试。".into(),
                retry_after_secs: 2,
            });
        }
        let (done, result) = tokio::sync::oneshot::channel();
        let span = tracing::Span::current();
        let queued = self.queued.clone();
        self.jobs
            .send(Box::new(move || {
                let result = span.in_scope(f);
                // Given back before the answer, so the caller finds the slot free.
                queued.fetch_sub(1, Ordering::AcqRel);
                let _ = done.send(result);
            }))
            .map_err(|_| {
                self.queued.fetch_sub(1, Ordering::AcqRel);
                AppError::internal("password pool stopped")
            })?;
        result
            .await
            .map_err(|_| AppError::internal("password job lost"))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_password_queue_answers_busy_at_once() {
        let pool = std::sync::Arc::new(HashPool::bounded(1, 1));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let (started_tx, started) = tokio::sync::oneshot::channel::<()>();
        let p = pool.clone();
        let first = tokio::spawn(async move {
            p.run(move || {
                let _ = started_tx.send(());
                let _ = wait.recv();
                Ok(1)
            })
            .await
        });
        started.await.unwrap();
        let second = pool.run(|| Ok(2)).await;
        assert!(matches!(second, Err(AppError::Busy { .. })), "{second:?}");
        release.send(()).unwrap();
        assert_eq!(first.await.unwrap().unwrap(), 1);
        assert_eq!(
            pool.run(|| Ok(3)).await.unwrap(),
            3,
            "a slot given back is used"
        );
    }

    #[test]
    fn a_spray_of_fresh_keys_is_bounded() {
        let limiter: SourceLimiter<String> =
            SourceLimiter::new(5, std::time::Duration::from_secs(900));
        let now = Utc::now();
        for i in 0..(MAX_TRACKED + 500) {
            limiter.record_failure(
                format!("name{i}"),
                now + chrono::Duration::milliseconds(i as i64),
            );
        }
        let len = limiter.failures.lock().unwrap().len();
        assert!(len <= MAX_TRACKED, "{len} keys tracked");
        assert!(limiter.has_failed(
            &format!("name{}", MAX_TRACKED + 499),
            now + chrono::Duration::seconds(200)
        ));
        assert!(
            !limiter.has_failed(&"name0".to_owned(), now + chrono::Duration::seconds(200)),
            "the oldest went first"
        );
    }

    #[test]
    fn attempts_in_flight_count_towards_the_limit_and_are_given_back() {
        let limiter: SourceLimiter<String> =
            SourceLimiter::new(3, std::time::Duration::from_secs(900));
        let now = Utc::now();
        let key = || "li.si".to_owned();
        let held: Vec<_> = (0..3).map(|_| limiter.begin(key(), now).unwrap()).collect();
        assert!(
            limiter.begin(key(), now).is_err(),
            "a fourth at once is refused"
        );
        assert!(
            limiter.begin("other".into(), now).is_ok(),
            "other keys are not"
        );
        drop(held);
        limiter.record_failure(key(), now);
        limiter.record_failure(key(), now);
        let one = limiter.begin(key(), now).unwrap();
        assert!(
            limiter.begin(key(), now).is_err(),
            "two failures and one in flight"
        );
        drop(one);
        assert!(limiter.begin(key(), now).is_ok());
    }

    #[test]
    fn password_round_trip() {
        let h = hash_password("Kuangshan2026").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("Kuangshan2026", &h));
        assert!(!verify_password("kuangshan2026", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn token_expires_by_the_given_clock() {
        let keys = TokenKeys::new(&[7u8; 32]);
        let t0 = Utc::now();
        let (token, _) = keys
            .issue("u1", "admin", 0, t0, std::time::Duration::from_secs(60))
            .unwrap();
        assert_eq!(keys.verify(&token, t0).unwrap().sub, "u1");
        assert!(keys
            .verify(&token, t0 + chrono::Duration::seconds(61))
            .is_err());
        assert!(TokenKeys::new(&[8u8; 32]).verify(&token, t0).is_err());
    }

    #[test]
    fn generated_passwords_meet_the_policy() {
        for _ in 0..20 {
            assert!(
                crate::platform::rules::password::check(&random_password(), "admin", 10).is_ok()
            );
        }
    }

    #[test]
    fn source_limiter_opens_after_the_window() {
        let l = SourceLimiter::new(2, std::time::Duration::from_secs(60));
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t0 = Utc::now();
        l.record_failure(ip, t0);
        assert!(l.check(ip, t0).is_ok());
        l.record_failure(ip, t0);
        assert!(l.check(ip, t0).is_err());
        assert!(l.check(ip, t0 + chrono::Duration::seconds(61)).is_ok());
    }
}
