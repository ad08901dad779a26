//! Email intake throughput: messages taken in per second over HTTP (a mail server's pipe)
//! and over SMTP (lettre, pooled connections), each raising a lead; refusals of strangers;
//! the parser alone. SQLite by default, PostgreSQL with BENCH_DB=postgres.
//!
//!     cargo bench --bench intake
//!     BENCH_DB=postgres BENCH_MESSAGES=2000 cargo bench --bench intake

mod common;

use std::sync::Arc;
use std::time::Instant;

use base64::Engine;
use diesel::prelude::*;
use minecoord::app::startup::Application;
use minecoord::platform::clock::SystemClock;
use minecoord::platform::config::Settings;

use common::{env_usize, load_requests, row, rss_kib, Figures};

const PASSWORD: &str = "Bench-Shoujian-2026";
const TOKEN: &str = "bench-intake-token-0123456789";
const SENDERS: usize = 50;

/// A new-lead message from sender `s`, numbered `n`, with a photo of `photo` bytes.
fn message(s: usize, n: usize, photo: usize) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let subject = b64.encode(format!("[扬尘] 压测矿{s} 扬尘严重 {n}"));
    let body = b64
        .encode("矿区运输道路未洒水，车辆经过时尘土飞扬，村民反映强烈，请尽快核查。\n".repeat(5));
    let mut m = format!(
        "From: sender{s}@bench.example.cn\r\nTo: shaozi@bench.example.cn\r\nSubject: =?UTF-8?B?{subject}?=\r\nMessage-ID: <bench-{s}-{n}-{photo}@bench>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{body}\r\n"
    );
    if photo > 0 {
        let mut jpeg = vec![0xff, 0xd8, 0xff, 0xe0];
        jpeg.extend((0..photo).map(|i| (i * 31 % 251) as u8));
        let encoded = b64.encode(jpeg);
        m.push_str("--b\r\nContent-Type: image/jpeg; name=\"p.jpg\"\r\nContent-Transfer-Encoding: base64\r\n\r\n");
        for chunk in encoded.as_bytes().chunks(76) {
            m.push_str(std::str::from_utf8(chunk).unwrap());
            m.push_str("\r\n");
        }
    }
    m.push_str("--b--\r\n");
    m.into_bytes()
}

/// Writes `command` (nothing for the greeting) and reads the whole reply.
async fn smtp_exchange(
    smtp: &mut tokio::io::BufReader<tokio::net::TcpStream>,
    command: &[u8],
) -> String {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    if !command.is_empty() {
        smtp.get_mut().write_all(command).await.unwrap();
    }
    let mut reply = String::new();
    loop {
        let mut line = String::new();
        smtp.read_line(&mut line).await.unwrap();
        reply.push_str(&line);
        // The last line of a reply has a space after the code.
        if line.len() < 4 || line.as_bytes()[3] == b' ' {
            return reply;
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let db = common::BenchDb::from_env();
    let backend = db.backend.clone();
    let messages = env_usize("BENCH_MESSAGES", 2_000);
    let mut settings = Settings::load(None).unwrap();
    settings.auth.key_file = db.key_file();
    settings.database.url = db.url.clone();
    settings.http.addr = "127.0.0.1:0".into();
    settings.http.workers = 1;
    settings.bootstrap.admin_password = Some(PASSWORD.into());
    settings.auth.jwt_secret = Some("bench-secret-bench-secret-bench-secret-0".into());
    settings.log.level = "warn".into();
    settings.outbox.worker = false;
    settings.scheduler.enabled = false;
    settings.intake.smtp_addr = Some("127.0.0.1:0".into());
    settings.intake.domain = "bench.example.cn".into();
    settings.intake.token = Some(TOKEN.into());
    // Many messages from few senders: the hourly limit per sender is not what is measured.
    settings.intake.max_per_sender_per_hour = i64::MAX;
    // What is measured is reading, storing and routing mail; proving the sender (a reply
    // address or a header read) is not, so the From header is trusted here.
    settings.intake.require_authenticated_sender = false;
    // The 8 SMTP connections below come from one address (in service, a relay's many),
    // and each holds a message at once: room for eight of the largest (four by default,
    // beyond which a DATA is answered 452 and a real relay retries later).
    settings.intake.max_connections_per_address = 8;
    settings.intake.max_data_in_flight = Some(8 * settings.intake.max_message_bytes);
    minecoord::platform::telemetry::init(&settings.log);
    let app = Application::build(settings, Arc::new(SystemClock))
        .await
        .expect("build");
    let state = app.state.clone();
    let base = format!("http://127.0.0.1:{}", app.port());
    let smtp_port = app.intake_port().expect("listener");
    let serving = common::Serving::app(app);

    // Township senders with addresses.
    let db2 = state.db.clone();
    tokio::task::spawn_blocking(move || {
        db2.transaction(|conn| {
            for i in 0..SENDERS {
                common::insert_user(
                    conn,
                    &format!("sender.{i}"),
                    &format!("Sender{i}@bench.example.cn"),
                    "township",
                    (None, Some("BEHT")),
                )?;
            }
            Ok(())
        })
    })
    .await
    .unwrap()
    .unwrap();

    let client = reqwest::Client::new();
    println!("email intake on {backend}: {messages} messages per row, each raising a lead");
    println!("| what | messages/s | p50 ms | p99 ms |");
    println!("|---|---|---|---|");
    for (name, photo, offset) in [
        ("HTTP, text only, 16 clients", 0usize, 0usize),
        ("HTTP, 200 KB photo, 16 clients", 200_000, 1_000_000),
    ] {
        let (client, url) = (client.clone(), format!("{base}/api/v1/intake/email"));
        let make: Arc<dyn Fn(usize) -> reqwest::RequestBuilder + Send + Sync> =
            Arc::new(move |i| {
                client
                    .post(&url)
                    .bearer_auth(TOKEN)
                    .header("content-type", "message/rfc822")
                    .body(message(i % SENDERS, offset + i, photo))
            });
        let f = load_requests(messages, 16, make).await;
        row(name, &f);
    }

    // SMTP: 8 connections, each sending one message after another as a relaying mail
    // server does (each command, and the message with its final dot, in one write).
    // lettre is not used here: it writes the final dot on its own and leaves Nagle on, so
    // each of its messages waits ~40 ms for a delayed ACK, which measures the client.
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..8usize {
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(("127.0.0.1", smtp_port))
                .await
                .unwrap();
            stream.set_nodelay(true).unwrap();
            let mut smtp = tokio::io::BufReader::new(stream);
            smtp_exchange(&mut smtp, b"").await;
            smtp_exchange(&mut smtp, b"EHLO bench.example.cn\r\n").await;
            let mut lat = Vec::new();
            let mut i = w;
            while i < messages {
                let s = i % SENDERS;
                let t = Instant::now();
                smtp_exchange(
                    &mut smtp,
                    format!("MAIL FROM:<sender{s}@bench.example.cn>\r\n").as_bytes(),
                )
                .await;
                smtp_exchange(&mut smtp, b"RCPT TO:<shaozi@bench.example.cn>\r\n").await;
                let go = smtp_exchange(&mut smtp, b"DATA\r\n").await;
                assert!(go.starts_with("354"), "{go}");
                let mut data = message(s, 2_000_000 + i, 0);
                data.extend_from_slice(b".\r\n");
                let reply = smtp_exchange(&mut smtp, &data).await;
                assert!(reply.starts_with("250"), "{reply}");
                lat.push(t.elapsed());
                i += 8;
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.unwrap());
    }
    row(
        "SMTP, text only, 8 connections",
        &Figures::of(lat, started.elapsed()),
    );

    // Strangers are refused before anything is written.
    let (client2, url) = (client.clone(), format!("{base}/api/v1/intake/email"));
    let stranger: Arc<dyn Fn(usize) -> reqwest::RequestBuilder + Send + Sync> =
        Arc::new(move |i| {
            let m = String::from_utf8(message(0, 3_000_000 + i, 0))
                .unwrap()
                .replace("sender0@bench.example.cn", "stranger@elsewhere.cn");
            client2
                .post(&url)
                .bearer_auth(TOKEN)
                .header("content-type", "message/rfc822")
                .body(m)
        });
    let started = Instant::now();
    let mut refused = Vec::new();
    for i in 0..messages {
        let t = Instant::now();
        let r = stranger(i).send().await.unwrap();
        assert_eq!(r.status(), 422);
        refused.push(t.elapsed());
    }
    row(
        "HTTP, unknown sender refused, 1 client",
        &Figures::of(refused, started.elapsed()),
    );

    // The parser alone, on a message with a 200 KB photo.
    let m = message(1, 1, 200_000);
    let started = Instant::now();
    let rounds = 2_000;
    for _ in 0..rounds {
        std::hint::black_box(minecoord::intake::parse::parse(&m).unwrap());
    }
    println!(
        "parser alone: {:.0} messages/s ({} KB each)",
        rounds as f64 / started.elapsed().as_secs_f64(),
        m.len() / 1024
    );

    let leads: i64 = {
        let db = state.db.clone();
        tokio::task::spawn_blocking(move || {
            db.read(|c| {
                Ok(minecoord::platform::db::schema::leads::table
                    .count()
                    .get_result::<i64>(c)?)
            })
        })
        .await
        .unwrap()
        .unwrap()
    };
    assert_eq!(
        leads as usize,
        messages * 3,
        "every message raised one lead"
    );
    let (rss, peak) = rss_kib();
    println!(
        "{leads} leads raised; RSS {} MiB, peak {} MiB",
        rss / 1024,
        peak / 1024
    );
    serving.stop().await;
    drop(state);
}
