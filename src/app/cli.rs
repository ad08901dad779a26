//! The command line: `minecoord serve | migrate | user … | audit verify`.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::accounts::{self, NewUser};
use crate::app::startup::{open_db, Application};
use crate::platform::audit::{Actor, Verdict};
use crate::platform::clock::{Clock, SystemClock};
use crate::platform::config::Settings;

#[derive(Parser)]
#[command(name = "minecoord", version, about = "非煤矿山行业管理协调平台")]
pub struct Cli {
    /// Configuration file (TOML), layered over config/default.toml.
    #[arg(long, global = true, env = "MINECOORD_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Start the service (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage accounts.
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        action: AuditCommand,
    },
    /// Take in one email (raw RFC 5322, from standard input or a file), as a mail server's
    /// pipe does: raises a lead or adds a comment, with the same checks as the SMTP
    /// listener. Exit status as sendmail's: 0 taken in, 65 malformed, 67 unknown sender,
    /// 77 refused otherwise, 75 try again later.
    Intake {
        /// The message file; standard input when absent.
        file: Option<PathBuf>,
        /// The envelope sender, for the record.
        #[arg(long)]
        from: Option<String>,
        /// The envelope recipient (Postfix pipe: `--to ${original_recipient}`); a reply
        /// address in it names the notice answered.
        #[arg(long)]
        to: Vec<String>,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create an account. The password is read from MINECOORD_NEW_PASSWORD or generated.
    Add {
        username: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        department: Option<String>,
        #[arg(long)]
        township: Option<String>,
        #[arg(long)]
        email: Option<String>,
    },
    /// Disable an account; its sessions end at once.
    Disable { username: String },
    /// Set a new password (from MINECOORD_NEW_PASSWORD, or generated and printed).
    ResetPassword { username: String },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain and name the first entry altered or removed; with checkpoints,
    /// also prove the database still holds every checkpointed prefix unchanged.
    Verify {
        /// The checkpoint file (default: `audit.checkpoint_file`, when it exists).
        #[arg(long)]
        checkpoints: Option<PathBuf>,
    },
    /// Append a signed checkpoint of the chain's head to the checkpoint file now.
    Checkpoint {
        /// The checkpoint file (default: `audit.checkpoint_file`).
        #[arg(long)]
        file: Option<PathBuf>,
    },
}

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("错误：{msg}");
    std::process::exit(2)
}

/// Runs the parsed command; returns the process exit code.
pub async fn run(cli: Cli) -> i32 {
    let settings = Settings::load(cli.config.as_deref()).unwrap_or_else(|e| fail(e));
    crate::platform::telemetry::init(&settings.log);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate => {
            let db = open_db(&settings, 0).unwrap_or_else(|e| fail(e));
            let n = tokio::task::spawn_blocking(move || db.run_migrations())
                .await
                .unwrap_or_else(|e| fail(e))
                .unwrap_or_else(|e| fail(e));
            println!("已应用 {n} 个数据库迁移。");
            0
        }
        Command::User { action } => {
            tokio::task::spawn_blocking(move || user_command(&settings, action))
                .await
                .unwrap_or_else(|e| fail(e))
        }
        Command::Intake { file, from, to } => intake(settings, file, from, to).await,
        Command::Audit {
            action: AuditCommand::Checkpoint { file },
        } => {
            let Some(file) = file.or_else(|| settings.audit.checkpoint_file().map(PathBuf::from))
            else {
                fail("未指定检查点文件：请用 --file，或在配置中设置 audit.checkpoint_file")
            };
            let state = crate::app::startup::prepare(settings, Arc::new(SystemClock))
                .await
                .unwrap_or_else(|e| fail(e));
            match crate::app::jobs::checkpoint_audit(&state, file.clone()).await {
                Ok(Some(c)) => println!(
                    "已写入检查点：第 {} 条，哈希 {}，{}（{}）",
                    c.seq,
                    c.hash,
                    c.at,
                    file.display()
                ),
                Ok(None) => println!(
                    "操作记录自上一个检查点以来没有增加，未重复写入（{}）",
                    file.display()
                ),
                Err(e) => fail(e),
            }
            0
        }
        Command::Audit {
            action: AuditCommand::Verify { checkpoints },
        } => {
            let db = open_db(&settings, 0).unwrap_or_else(|e| fail(e));
            let configured = settings
                .audit
                .checkpoint_file()
                .map(PathBuf::from)
                .filter(|f| f.exists());
            let checkpoints = match checkpoints.or(configured) {
                None => None,
                Some(path) => {
                    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                        fail(format!("无法读取检查点文件 {}：{e}", path.display()))
                    });
                    let list = crate::platform::audit::read_checkpoints(&text)
                        .unwrap_or_else(|e| fail(format!("{}：{e}", path.display())));
                    let key = crate::platform::keys::ServiceKey::load(std::path::Path::new(
                        &settings.auth.key_file,
                    ))
                    .unwrap_or_else(|e| fail(e))
                    .derive(crate::platform::keys::Purpose::AuditCheckpoint);
                    Some((path, list, key))
                }
            };
            let shown = checkpoints
                .as_ref()
                .map(|(path, list, _)| (path.display().to_string(), list.len()));
            let alarm = settings
                .durations()
                .map(|d| d.audit_unsealed_alarm)
                .unwrap_or_else(|e| fail(e));
            let alarm = chrono::Duration::from_std(alarm).unwrap_or(chrono::Duration::MAX);
            let waited_since = SystemClock
                .now_naive()
                .checked_sub_signed(alarm)
                .unwrap_or(chrono::NaiveDateTime::MIN);
            let verdict = tokio::task::spawn_blocking(move || {
                db.run_migrations()
                    .map_err(crate::platform::error::AppError::Internal)?;
                db.read(|conn| {
                    let verdict = match crate::platform::audit::verify(conn)? {
                        Verdict::Intact { .. } if checkpoints.is_some() => {
                            let (_, list, key) = checkpoints.as_ref().expect("checked");
                            crate::platform::audit::verify_checkpoints(conn, key, list)?
                        }
                        other => other,
                    };
                    let late = crate::platform::audit::unsealed(conn, waited_since)?;
                    Ok((verdict, late))
                })
            })
            .await
            .unwrap_or_else(|e| fail(e));
            let verdict = match verdict {
                Ok((Verdict::Intact { .. }, (late, Some(oldest)))) if late > 0 => {
                    println!(
                        "有 {late} 条操作记录写入已超过 {}仍未封存进哈希链（最早一条写于 {}）：请检查封存任务（audit.sealer）是否在运行。",
                        settings.audit.unsealed_alarm,
                        crate::platform::clock::local_time(oldest)
                    );
                    return 1;
                }
                other => other.map(|(v, _)| v),
            };
            match verdict {
                Ok(Verdict::Intact { entries }) => {
                    match shown {
                        Some((path, n)) => println!(
                            "操作记录完整：共 {entries} 条，哈希链校验通过，并与 {n} 个检查点（{path}）一致。"
                        ),
                        None => println!(
                            "操作记录完整：共 {entries} 条，哈希链校验通过。（未核对检查点：末尾记录被删除时只有检查点能发现，请用 --checkpoints 指定检查点文件）"
                        ),
                    }
                    0
                }
                Ok(Verdict::Broken { seq, reason }) => {
                    println!("操作记录已被篡改：从第 {seq} 条起校验失败。{reason}");
                    1
                }
                Err(e) => fail(e),
            }
        }
    }
}

/// sysexits.h codes a mail server's pipe transport understands.
const EX_DATAERR: i32 = 65;
const EX_NOUSER: i32 = 67;
const EX_TEMPFAIL: i32 = 75;
const EX_NOPERM: i32 = 77;

async fn intake(
    settings: Settings,
    file: Option<PathBuf>,
    from: Option<String>,
    to: Vec<String>,
) -> i32 {
    use crate::intake::Refusal;
    use std::io::Read;
    // Read off the executor: standard input may be a slow pipe.
    let raw = tokio::task::spawn_blocking(move || match &file {
        Some(path) => std::fs::read(path).map_err(|e| format!("无法读取 {}：{e}", path.display())),
        None => {
            let mut raw = Vec::new();
            std::io::stdin()
                .read_to_end(&mut raw)
                .map(|_| raw)
                .map_err(|e| format!("无法读取标准输入：{e}"))
        }
    })
    .await
    .unwrap_or_else(|e| fail(e))
    .unwrap_or_else(|e| fail(e));
    let state = match crate::app::startup::prepare(settings, Arc::new(SystemClock)).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("暂时无法受理：{e}");
            return EX_TEMPFAIL;
        }
    };
    let envelope = crate::intake::Envelope {
        channel: "pipe",
        mail_from: from,
        recipients: to,
        peer: None,
    };
    match crate::intake::accept(&state, raw, envelope).await {
        Ok(Ok(a)) => {
            println!(
                "已受理：{} {}{}",
                if a.outcome == "raised" {
                    "登记为线索"
                } else {
                    "记入线索"
                },
                a.lead_number,
                if a.duplicate {
                    "（重复邮件，未重复登记）"
                } else {
                    ""
                }
            );
            0
        }
        Ok(Err(r)) => {
            println!("{}", r.reason());
            match r {
                Refusal::Unreadable(_) | Refusal::TooLarge { .. } => EX_DATAERR,
                Refusal::UnknownSender(_) | Refusal::DisabledSender(_) => EX_NOUSER,
                _ => EX_NOPERM,
            }
        }
        Err(e) => {
            eprintln!("暂时无法受理，请稍后重试：{e}");
            EX_TEMPFAIL
        }
    }
}

async fn serve(settings: Settings) -> i32 {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let app = Application::build(settings, clock)
        .await
        .unwrap_or_else(|e| fail(e));
    let base = app.state.settings.http.public_base_url.clone();
    tracing::info!(
        http.port = app.port(),
        "minecoord 已启动，监听端口 {}；访问地址 {base}，用 admin 账号登录",
        app.port()
    );
    match app.run_until_stopped().await {
        Ok(()) => 0,
        Err(e) => fail(e),
    }
}

fn password_from_env_or_generated() -> (String, bool) {
    match std::env::var("MINECOORD_NEW_PASSWORD") {
        Ok(p) if !p.is_empty() => (p, false),
        _ => (crate::platform::auth::random_password(), true),
    }
}

fn user_command(settings: &Settings, action: UserCommand) -> i32 {
    let db = open_db(settings, 0).unwrap_or_else(|e| fail(e));
    db.run_migrations().unwrap_or_else(|e| fail(e));
    let now = SystemClock.now_naive();
    let actor = Actor::system("命令行");
    let min = settings.auth.password_min_length;
    let result = match action {
        UserCommand::Add {
            username,
            name,
            role,
            department,
            township,
            email,
        } => {
            let (password, generated) = password_from_env_or_generated();
            let input = NewUser {
                username,
                password: password.clone(),
                display_name: name,
                email,
                role,
                department,
                township,
                mine_id: None,
                must_change_password: Some(true),
                certificate_number: None,
            };
            accounts::validate_new(&input, min)
                .map_err(crate::platform::error::AppError::Validation)
                .and_then(|()| crate::platform::auth::hash_password(&password))
                .and_then(|hash| {
                    db.transaction(|conn| accounts::create(conn, &actor, now, input, hash))
                })
                .map(|u| {
                    println!("已创建用户 {}（{}）。", u.username, u.id);
                    if generated {
                        println!("初始密码：{password}　（请通过安全渠道告知本人）");
                    }
                })
        }
        UserCommand::Disable { username } => db.transaction(|conn| {
            let u = accounts::find_by_username(conn, &username)?.ok_or_else(|| {
                crate::platform::error::AppError::NotFound(format!("用户 {username} 不存在"))
            })?;
            accounts::set_active(conn, &actor, now, &u.id, false)?;
            println!("已停用用户 {username}，其登录已全部失效。");
            Ok(())
        }),
        UserCommand::ResetPassword { username } => {
            let (password, generated) = password_from_env_or_generated();
            crate::platform::rules::password::check(
                &password,
                &accounts::normalise_username(&username),
                min,
            )
            .map_err(|m| crate::platform::error::AppError::field("password", m))
            .and_then(|()| crate::platform::auth::hash_password(&password))
            .and_then(|hash| {
                db.transaction(|conn| {
                    let u = accounts::find_by_username(conn, &username)?.ok_or_else(|| {
                        crate::platform::error::AppError::NotFound(format!(
                            "用户 {username} 不存在"
                        ))
                    })?;
                    accounts::reset_password(conn, &actor, now, &u.id, hash, true)
                })
            })
            .map(|_| {
                println!("已重置用户 {username} 的密码，原有登录已失效。");
                if generated {
                    println!("新密码：{password}");
                }
            })
        }
    };
    match result {
        Ok(()) => 0,
        Err(crate::platform::error::AppError::Validation(errs)) => {
            for e in errs {
                eprintln!("错误：{}：{}", e.field, e.message);
            }
            2
        }
        Err(e) => {
            let p = e.problem();
            eprintln!("错误：{}。{}", p.title, p.detail);
            2
        }
    }
}
