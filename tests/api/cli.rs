//! The command line, run as a real process against the test's database.

use std::process::Command;

use crate::on_both;

fn minecoord(app: &TestApp, args: &[&str], password: Option<&str>) -> (i32, String) {
    run_minecoord(app, args, password, None)
}

/// Runs the binary against the test's database; `stdin` is written to its standard input.
pub fn run_minecoord(
    app: &TestApp,
    args: &[&str],
    password: Option<&str>,
    stdin: Option<&[u8]>,
) -> (i32, String) {
    run_minecoord_with(app, args, password, stdin, &[])
}

/// As [`run_minecoord`], with more settings given as environment variables.
pub fn run_minecoord_with(
    app: &TestApp,
    args: &[&str],
    password: Option<&str>,
    stdin: Option<&[u8]>,
    envs: &[(&str, &str)],
) -> (i32, String) {
    use std::io::Write;
    use std::process::Stdio;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_minecoord"));
    cmd.args(args)
        .env("MINECOORD_DATABASE__URL", &app.db.url)
        .env("MINECOORD_AUTH__KEY_FILE", &app.db.key_file)
        .env("MINECOORD_AUDIT__CHECKPOINT_FILE", app.db.checkpoint_file())
        .env("MINECOORD_LOG__LEVEL", "warn")
        .env_remove("MINECOORD_NEW_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(p) = password {
        cmd.env("MINECOORD_NEW_PASSWORD", p);
    }
    cmd.envs(envs.iter().copied());
    let mut child = cmd.spawn().expect("run minecoord");
    let mut input = child.stdin.take().expect("stdin");
    input
        .write_all(stdin.unwrap_or_default())
        .expect("write stdin");
    drop(input);
    let out = child.wait_with_output().expect("run minecoord");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

on_both! {
    /// `minecoord user add|disable|reset-password`, `migrate` and `audit verify` work on
    /// the same database as the service, and their changes are audited.
    async fn the_command_line_manages_users_and_verifies_the_audit_trail(app) {
        let (code, out) = minecoord(&app, &["migrate"], None);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("已应用 0 个数据库迁移"), "{out}");

        let (code, out) = minecoord(&app, &["user", "add", "cli.user", "--name", "命令行用户", "--role", "officer", "--department", "EE"], Some("Cli-pass-2026"));
        assert_eq!(code, 0, "{out}");
        assert_eq!(app.login("cli.user", "Cli-pass-2026").await.status(), 200);

        let (code, out) = minecoord(&app, &["user", "add", "cli.bad", "--name", "x", "--role", "officer"], Some("Cli-pass-2026"));
        assert_eq!(code, 2);
        assert!(out.contains("department"), "{out}");

        let (code, out) = minecoord(&app, &["user", "reset-password", "cli.user"], None);
        assert_eq!(code, 0, "{out}");
        let generated = out.split("新密码：").nth(1).unwrap().trim().to_owned();
        assert_eq!(app.login("cli.user", &generated).await.status(), 200);

        let (code, out) = minecoord(&app, &["user", "disable", "cli.user"], None);
        assert_eq!(code, 0, "{out}");
        assert_eq!(app.login("cli.user", &generated).await.status(), 401);

        // On PostgreSQL the command line's entries wait for the service's sealer.
        app.seal().await;
        let (code, out) = minecoord(&app, &["audit", "verify"], None);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("校验通过"), "{out}");

        use diesel::RunQueryDsl;
        app.with_db(|c| Ok(diesel::sql_query("UPDATE audit_log SET after_json = '{}' WHERE seq = 5").execute(c)?)).await;
        let (code, out) = minecoord(&app, &["audit", "verify"], None);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("第 5 条"), "{out}");
    }
}

use crate::helpers::*;

on_both! {
    /// Deleting the last entries of the audit trail and rewinding its head passes the
    /// chain check, but not the signed checkpoints kept outside the database; a rewritten
    /// chain and an altered checkpoint file are found too.
    async fn checkpoints_outside_the_database_catch_a_rewound_chain(app) {
        use diesel::RunQueryDsl;
        app.create_user("ck.one", "officer", Some("EM"), None).await;
        app.seal().await;
        let (code, out) = minecoord(&app, &["audit", "checkpoint"], None);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("已写入检查点"), "{out}");
        let (code, out) = minecoord(&app, &["audit", "checkpoint"], None);
        assert!(code == 0 && out.contains("未重复写入"), "{out}");
        // The job the service runs on a schedule writes the same kind of line.
        app.create_user("ck.two", "officer", Some("EE"), None).await;
        app.seal().await;
        let written = minecoord::app::jobs::checkpoint_audit(&app.state, app.db.checkpoint_file().into()).await.unwrap();
        let c = written.expect("the chain grew");
        let file = std::fs::read_to_string(app.db.checkpoint_file()).unwrap();
        assert_eq!(file.lines().count(), 2, "{file}");
        let (code, out) = minecoord(&app, &["audit", "verify"], None);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("与 2 个检查点"), "{out}");

        // Someone with database access removes the last entry and rewinds the head.
        let last = c.seq;
        app.with_db(move |conn| {
            let prev: String = diesel::sql_query(format!("SELECT hash FROM audit_log WHERE seq = {}", last - 1))
                .load::<HashRow>(conn)?.remove(0).hash;
            diesel::sql_query(format!("DELETE FROM audit_log WHERE seq = {last}")).execute(conn)?;
            diesel::sql_query(format!("UPDATE audit_head SET last_seq = {}, last_hash = '{prev}' WHERE id = 1", last - 1)).execute(conn)?;
            Ok(())
        }).await;
        assert!(matches!(app.with_db(minecoord::platform::audit::verify).await, minecoord::platform::audit::Verdict::Intact { .. }),
            "the chain alone cannot tell");
        let (code, out) = minecoord(&app, &["audit", "verify"], None);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("末尾记录已被删除"), "{out}");
        let elsewhere = app.db.checkpoint_file() + ".copy";
        std::fs::copy(app.db.checkpoint_file(), &elsewhere).unwrap();
        let (code, out) = minecoord(&app, &["audit", "verify", "--checkpoints", &elsewhere], None);
        assert_eq!(code, 1, "{out}");

        // A checkpoint file edited to match is found by its signature.
        let edited = file.replace(&format!("\"seq\":{last}"), &format!("\"seq\":{}", last - 1));
        std::fs::write(&elsewhere, edited).unwrap();
        let (code, out) = minecoord(&app, &["audit", "verify", "--checkpoints", &elsewhere], None);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("签名不符"), "{out}");
    }
}

on_both! {
    /// `audit verify` fails when an entry has waited unsealed longer than
    /// `audit.unsealed_alarm` (the sealer is not running), and passes once it is sealed.
    async fn entries_left_unsealed_are_reported(app) {
        app.seal().await;
        app.create_user("late.seal", "officer", Some("EM"), None).await;
        // The test's clock is months behind the command line's: the entry looks old to it.
        let (code, out) = minecoord(&app, &["audit", "verify"], None);
        if app.db.url.starts_with("postgres") {
            assert_eq!(code, 1, "{out}");
            assert!(out.contains("未封存"), "{out}");
        } else {
            assert_eq!(code, 0, "SQLite seals as it writes: {out}");
        }
        app.seal().await;
        let (code, out) = minecoord(&app, &["audit", "verify"], None);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("校验通过"), "{out}");
    }
}

#[derive(diesel::QueryableByName)]
struct HashRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    hash: String,
}
