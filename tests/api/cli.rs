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
