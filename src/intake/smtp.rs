//! The SMTP listener of the intake (RFC 5321, no authentication: the district's mail server
//! relays to it, or it is reached on the internal network). It takes mail for any address
//! at `intake.domain`, and answers the end of DATA only after the message is stored and
//! processed, so `250` means the lead or comment exists, and a refusal carries its reason.

use std::sync::Arc;
use std::time::Duration;

use actix_web::web;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::{accept, Envelope};
use crate::web::AppState;

/// Longest command line accepted (RFC 5321 says 512; some clients send longer).
const MAX_LINE: usize = 4096;
/// The largest piece of a DATA line read at once.
const DATA_CHUNK: usize = 64 * 1024;
/// Recipients in one transaction.
const MAX_RECIPIENTS: usize = 100;
/// Unknown or out-of-order commands before the connection is closed.
const MAX_ERRORS: usize = 10;

/// Binds the listener (at start, so a taken port stops the service with a clear message).
pub async fn bind(addr: &str) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("收件服务无法监听 intake.smtp_addr {addr}：{e}"))
}

/// Serves connections until the task is aborted. A connection beyond `max_connections`
/// in all, or beyond `max_connections_per_address` from one address, is answered 421 at
/// once and closed (a sending server retries later), rather than left waiting in silence;
/// every session ends after `smtp_session_timeout` however busy it keeps.
pub fn spawn(listener: TcpListener, state: web::Data<AppState>) -> tokio::task::JoinHandle<()> {
    let slots = Arc::new(Semaphore::new(state.settings.intake.max_connections));
    let memory = Arc::new(Semaphore::new(
        (state.settings.intake.max_data_in_flight_bytes() / 1024).min(Semaphore::MAX_PERMITS),
    ));
    let per_address = Arc::new(std::sync::Mutex::new(std::collections::HashMap::<
        std::net::IpAddr,
        usize,
    >::new()));
    tokio::spawn(async move {
        loop {
            let (mut stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "smtp accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let slot = slots.clone().try_acquire_owned().ok();
            let address = AddressSlot::take(
                &per_address,
                peer.ip(),
                state.settings.intake.max_connections_per_address,
            );
            let (Some(slot), Some(address)) = (slot, address) else {
                tracing::warn!(%peer, "smtp connection refused: listener busy");
                metrics::counter!("intake_refused_total", "reason" => "busy").increment(1);
                tokio::spawn(async move {
                    let _ = stream
                        .write_all(
                            "421 4.3.2 Too busy, try again later / 收件服务繁忙，请稍后重试\r\n"
                                .as_bytes(),
                        )
                        .await;
                    let _ = stream.shutdown().await;
                });
                continue;
            };
            let state = state.clone();
            let memory = memory.clone();
            tokio::spawn(async move {
                let deadline = state.durations.intake_session_timeout;
                match tokio::time::timeout(deadline, session(stream, &state, &memory)).await {
                    Ok(Err(e)) => tracing::debug!(%peer, error = %e, "smtp session ended"),
                    Err(_) => tracing::info!(%peer, "smtp session closed at its deadline"),
                    Ok(Ok(())) => {}
                }
                drop((slot, address));
            });
        }
    })
}

/// One connection's place in the per-address count; given back when dropped.
struct AddressSlot {
    counts: Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
    ip: std::net::IpAddr,
}

impl AddressSlot {
    fn take(
        counts: &Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
        ip: std::net::IpAddr,
        max: usize,
    ) -> Option<Self> {
        let mut map = counts.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Self {
            counts: counts.clone(),
            ip,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut map = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// One mail transaction's envelope.
#[derive(Default)]
struct Transaction {
    /// The size declared with MAIL FROM … SIZE=, if any.
    size: Option<usize>,
    from: Option<String>,
    to: Vec<String>,
}

/// `memory` holds the bytes all sessions may buffer at once, in KiB: a message's DATA is
/// read only after its size (declared with SIZE, else the largest allowed) is reserved.
async fn session(
    stream: TcpStream,
    state: &web::Data<AppState>,
    memory: &Arc<Semaphore>,
) -> std::io::Result<()> {
    let _ = stream.set_nodelay(true);
    let peer = stream.peer_addr().ok().map(|a| a.ip().to_canonical());
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let settings = &state.settings.intake;
    let domain = settings.domain.trim().to_ascii_lowercase();
    let max = settings.max_message_bytes;
    let timeout = state.durations.intake_timeout;
    write
        .write_all(format!("220 {domain} ESMTP minecoord 非煤矿山协调平台收件服务\r\n").as_bytes())
        .await?;
    let mut tx: Option<Transaction> = None;
    let mut greeted = false;
    let mut errors = 0;
    loop {
        let line = match tokio::time::timeout(timeout, read_line(&mut reader, MAX_LINE)).await {
            Err(_) => {
                write
                    .write_all(b"421 4.4.2 Timeout / \xe8\xb6\x85\xe6\x97\xb6\r\n")
                    .await?;
                return Ok(());
            }
            Ok(Ok(Some(l))) => l,
            Ok(Ok(None)) => return Ok(()),
            Ok(Err(e)) => return Err(e),
        };
        let line = String::from_utf8_lossy(&line);
        let (verb, arg) = match line.split_once(' ') {
            Some((v, a)) => (v.to_ascii_uppercase(), a.trim().to_owned()),
            None => (line.trim().to_ascii_uppercase(), String::new()),
        };
        let reply: String = match verb.as_str() {
            "EHLO" => {
                greeted = true;
                tx = None;
                format!(
                    "250-{domain}\r\n250-SIZE {max}\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 ENHANCEDSTATUSCODES\r\n"
                )
            }
            "HELO" => {
                greeted = true;
                tx = None;
                format!("250 {domain}\r\n")
            }
            "MAIL" if !greeted => "503 5.5.1 Say EHLO first\r\n".into(),
            "MAIL" if tx.is_some() => "503 5.5.1 Nested MAIL command\r\n".into(),
            "MAIL" => match path_arg(&arg, "FROM:") {
                None => "501 5.5.4 Syntax: MAIL FROM:<address>\r\n".into(),
                Some((from, params)) => {
                    let declared = params
                        .split_whitespace()
                        .find_map(|p| {
                            p.to_ascii_uppercase()
                                .strip_prefix("SIZE=")
                                .map(str::to_owned)
                        })
                        .and_then(|s| s.parse::<usize>().ok());
                    if declared.is_some_and(|s| s > max) {
                        format!("552 5.3.4 Message too large (limit {max} bytes) / 邮件超过大小限制\r\n")
                    } else {
                        tx = Some(Transaction {
                            size: declared,
                            from: Some(from).filter(|f| !f.is_empty()),
                            to: Vec::new(),
                        });
                        "250 2.1.0 OK\r\n".into()
                    }
                }
            },
            "RCPT" => match (&mut tx, path_arg(&arg, "TO:")) {
                (None, _) => "503 5.5.1 Need MAIL first\r\n".into(),
                (Some(_), None) => "501 5.5.4 Syntax: RCPT TO:<address>\r\n".into(),
                (Some(t), Some((to, _))) => {
                    let at_domain = to
                        .rsplit_once('@')
                        .is_some_and(|(_, d)| d.eq_ignore_ascii_case(&domain));
                    if !at_domain {
                        format!("550 5.1.1 <{to}> not handled here; only @{domain} / 只接收发往 @{domain} 的邮件\r\n")
                    } else if t.to.len() >= MAX_RECIPIENTS {
                        "452 4.5.3 Too many recipients\r\n".into()
                    } else {
                        t.to.push(to);
                        "250 2.1.5 OK\r\n".into()
                    }
                }
            },
            "DATA" => match tx.take() {
                None => "503 5.5.1 Need MAIL first\r\n".into(),
                Some(t) if t.to.is_empty() => {
                    tx = Some(t);
                    "503 5.5.1 Need RCPT first\r\n".into()
                }
                Some(t) => {
                    // What it declared, with a tenth and 4 KiB to spare (SIZE is the
                    // client's estimate); a message larger still is refused as too large.
                    let limit = t
                        .size
                        .map_or(max, |s| s.saturating_add(s / 10 + 4096).min(max));
                    let Ok(_reserved) = memory
                        .clone()
                        .try_acquire_many_owned(limit.div_ceil(1024) as u32)
                    else {
                        metrics::counter!("intake_refused_total", "reason" => "busy").increment(1);
                        write
                            .write_all(
                                "452 4.3.1 Insufficient system storage, try again later / 收件服务繁忙，请稍后重试\r\n"
                                    .as_bytes(),
                            )
                            .await?;
                        continue;
                    };
                    write
                        .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                        .await?;
                    let data =
                        match tokio::time::timeout(timeout, read_data(&mut reader, limit)).await {
                            Err(_) => {
                                write.write_all(b"421 4.4.2 Timeout\r\n").await?;
                                return Ok(());
                            }
                            Ok(r) => r?,
                        };
                    match data {
                        Data::Closed => return Ok(()),
                        Data::TooLarge => format!(
                            "552 5.3.4 Message too large (limit {max} bytes) / 邮件超过 {} MB，未受理\r\n",
                            max / 1024 / 1024
                        ),
                        Data::Message(raw) => {
                            let envelope = Envelope {
                                channel: "smtp",
                                mail_from: t.from,
                                recipients: t.to,
                                peer,
                            };
                            match accept(state, raw, envelope).await {
                                Ok(Ok(a)) => format!(
                                    "250 2.0.0 {} {} / 已受理{}\r\n",
                                    a.outcome,
                                    a.consultation_number.as_deref().unwrap_or(&a.lead_number),
                                    if a.duplicate { "（重复邮件）" } else { "" }
                                ),
                                Ok(Err(r)) => {
                                    let (code, enhanced) = r.smtp_code();
                                    format!("{code} {enhanced} {} / {}\r\n", r.code(), one_line(&r.reason()))
                                }
                                Err(e) => {
                                    tracing::warn!(error = %e, "mail not stored");
                                    "451 4.3.0 Temporary failure, try again later / 暂时无法受理，请稍后重试\r\n".into()
                                }
                            }
                        }
                    }
                }
            },
            "RSET" => {
                tx = None;
                "250 2.0.0 OK\r\n".into()
            }
            "NOOP" => "250 2.0.0 OK\r\n".into(),
            "VRFY" => "252 2.1.5 Cannot verify\r\n".into(),
            "QUIT" => {
                write.write_all(b"221 2.0.0 Bye\r\n").await?;
                return Ok(());
            }
            _ => {
                errors += 1;
                if errors >= MAX_ERRORS {
                    write.write_all(b"421 4.7.0 Too many errors\r\n").await?;
                    return Ok(());
                }
                "500 5.5.2 Command not recognized\r\n".into()
            }
        };
        write.write_all(reply.as_bytes()).await?;
    }
}

fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

/// `FROM:<a@b> SIZE=10` → ("a@b", "SIZE=10"). Accepts a space after the colon.
fn path_arg(arg: &str, keyword: &str) -> Option<(String, String)> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    let (path, params) = if let Some(inner) = rest.strip_prefix('<') {
        let end = inner.find('>')?;
        (&inner[..end], inner[end + 1..].trim())
    } else {
        let mut parts = rest.splitn(2, ' ');
        (parts.next()?, parts.next().unwrap_or("").trim())
    };
    // A source route (@a,@b:user@c) names the mailbox after the colon.
    let path = path.rsplit(':').next().unwrap_or(path).trim();
    Some((path.to_owned(), params.to_owned()))
}

/// One line without its CRLF; `None` at the end of the stream. A line longer than `max`
/// is cut (the rest is read and dropped).
async fn read_line<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    max: usize,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            return Ok(if line.is_empty() { None } else { Some(line) });
        }
        let (chunk, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..=i], true),
            None => (buf, false),
        };
        let take = chunk.len();
        if line.len() < max {
            let room = max - line.len();
            line.extend_from_slice(&chunk[..take.min(room)]);
        }
        reader.consume(take);
        if done {
            while line.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
                line.pop();
            }
            return Ok(Some(line));
        }
    }
}

enum Data {
    Message(Vec<u8>),
    TooLarge,
    Closed,
}

/// The message after `354`, up to the line with a single dot, with dot-stuffing undone.
/// Beyond `max` bytes the rest is read and dropped, so the reply can say why.
async fn read_data<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    max: usize,
) -> std::io::Result<Data> {
    let mut data = Vec::new();
    let mut too_large = false;
    // A line is read in pieces of at most DATA_CHUNK bytes: a message that is one long
    // line costs its own size once, not twice.
    let mut chunk = Vec::with_capacity(DATA_CHUNK);
    let mut at_line_start = true;
    loop {
        chunk.clear();
        let n = (&mut *reader)
            .take(DATA_CHUNK as u64)
            .read_until(b'\n', &mut chunk)
            .await?;
        if n == 0 {
            return Ok(Data::Closed);
        }
        let ends_line = chunk.ends_with(b"\n");
        let mut piece: &[u8] = &chunk;
        if ends_line {
            piece = piece
                .strip_suffix(b"\r\n")
                .or_else(|| piece.strip_suffix(b"\n"))
                .unwrap_or(piece);
        }
        if at_line_start && ends_line && piece == b"." {
            return Ok(if too_large {
                Data::TooLarge
            } else {
                Data::Message(data)
            });
        }
        if at_line_start {
            piece = piece.strip_prefix(b".").unwrap_or(piece);
        }
        if !too_large && data.len() + piece.len() + 2 > max {
            too_large = true;
            data = Vec::new();
        }
        if !too_large {
            data.extend_from_slice(piece);
            if ends_line {
                // A CR cut off from its LF by the piece boundary ended the previous piece.
                if data.last() == Some(&b'\r') && piece.is_empty() {
                    data.pop();
                }
                data.extend_from_slice(b"\r\n");
            }
        }
        at_line_start = ends_line;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_read() {
        assert_eq!(
            path_arg("FROM:<A@b.cn> SIZE=100", "FROM:"),
            Some(("A@b.cn".into(), "SIZE=100".into()))
        );
        assert_eq!(path_arg("from: <>", "FROM:"), Some(("".into(), "".into())));
        assert_eq!(
            path_arg("TO:<@relay:x@y.cn>", "TO:"),
            Some(("x@y.cn".into(), "".into()))
        );
        assert_eq!(path_arg("TO x@y", "TO:"), None);
    }

    #[tokio::test]
    async fn data_is_unstuffed_and_limited() {
        let input: &[u8] = b"a\r\n..b\r\n.\r\n";
        let mut r = BufReader::new(input);
        match read_data(&mut r, 1000).await.unwrap() {
            Data::Message(m) => assert_eq!(m, b"a\r\n.b\r\n"),
            _ => panic!("expected a message"),
        }
        let input: &[u8] = b"aaaaaaaaaa\r\nbbbbbbbbbb\r\n.\r\nQUIT\r\n";
        let mut r = BufReader::new(input);
        assert!(matches!(
            read_data(&mut r, 15).await.unwrap(),
            Data::TooLarge
        ));
        assert_eq!(read_line(&mut r, 100).await.unwrap().unwrap(), b"QUIT");
    }

    #[tokio::test]
    async fn a_long_line_is_read_in_pieces_without_changing_it() {
        // One line of 200 KB whose CRLF straddles a piece boundary, a line starting with
        // a dot right after it, and a line that is a dot only in the middle of a long line.
        let mut long = vec![b'x'; DATA_CHUNK - 1];
        long.push(b'\r');
        let mut input = long.clone();
        input.extend_from_slice(b"\n..dot\r\n");
        input.extend(vec![b'y'; 3 * DATA_CHUNK]);
        input.extend_from_slice(b"\r\n.\r\n");
        let mut r = BufReader::new(&input[..]);
        let Data::Message(m) = read_data(&mut r, 1 << 20).await.unwrap() else {
            panic!("expected a message");
        };
        let mut expected = vec![b'x'; DATA_CHUNK - 1];
        expected.extend_from_slice(b"\r\n.dot\r\n");
        expected.extend(vec![b'y'; 3 * DATA_CHUNK]);
        expected.extend_from_slice(b"\r\n");
        assert_eq!(m.len(), expected.len());
        assert!(m == expected);
        // Too large as one line, and the session can go on.
        let mut input = vec![b'z'; 5 * DATA_CHUNK];
        input.extend_from_slice(b"\r\n.\r\nQUIT\r\n");
        let mut r = BufReader::new(&input[..]);
        assert!(matches!(
            read_data(&mut r, DATA_CHUNK).await.unwrap(),
            Data::TooLarge
        ));
        assert_eq!(read_line(&mut r, 100).await.unwrap().unwrap(), b"QUIT");
    }
}
