//! A local SMTP sink for the email scenarios: it listens on loopback, accepts what Django's SMTP
//! backend sends (EHLO, AUTH PLAIN or LOGIN, MAIL, RCPT, DATA, QUIT) and keeps every message with
//! the credentials it was sent with, so a test can check that a mail InvenTree sent arrived and
//! that the password came from the module's credential ([`check_test_mail`], both tiers).
//!
//! Hand-written (about a hundred lines of protocol) rather than a crate: what a test needs is this
//! exact subset with the AUTH exchange recorded, and no SMTP server crate on crates.io exposes
//! that without a handler framework larger than the sink.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crate::probe::{api::ApiRoot, client::ApiClient};
use anyhow::Context as _;
use base64::Engine as _;
use tokio::{
    io::{AsyncBufReadExt, AsyncWriteExt, BufReader},
    net::{TcpListener, TcpStream},
};

/// One message as the sink received it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mail {
    /// The (username, password) of AUTH, when the client authenticated.
    pub auth: Option<(String, String)>,
    pub from: String,
    pub to: Vec<String>,
    /// Headers and body, dot-unstuffed, lines joined with `\n`.
    pub data: String,
}

impl Mail {
    /// The value of a header (first line only).
    pub fn header(&self, name: &str) -> Option<&str> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.data
            .lines()
            .take_while(|l| !l.is_empty())
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim())
    }
}

/// A running sink; it stops when dropped.
pub struct SmtpSink {
    pub port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SmtpSink {
    /// Listens on 127.0.0.1, on a free port.
    pub async fn start() -> anyhow::Result<SmtpSink> {
        Self::start_on(0).await
    }

    /// Listens on 127.0.0.1:`port` (0: a free one), where a configuration expects its server.
    pub async fn start_on(port: u16) -> anyhow::Result<SmtpSink> {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| format!("binding the SMTP sink to 127.0.0.1:{port}"))?;
        let port = listener.local_addr()?.port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let kept = mails.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    if let Ok(mail) = session(stream).await {
                        kept.lock().unwrap_or_else(|e| e.into_inner()).extend(mail);
                    }
                });
            }
        });
        Ok(SmtpSink { port, mails, task })
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The first message `wanted` accepts, waiting up to `budget`.
    pub async fn wait_for(
        &self,
        budget: Duration,
        wanted: impl Fn(&Mail) -> bool,
    ) -> anyhow::Result<Mail> {
        let started = Instant::now();
        loop {
            if let Some(mail) = self.mails().into_iter().find(|m| wanted(m)) {
                return Ok(mail);
            }
            anyhow::ensure!(
                started.elapsed() < budget,
                "no such mail reached the SMTP sink on port {} within {budget:?}; it received {:?}",
                self.port,
                self.mails()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Who the test mail goes to.
pub const TEST_RECIPIENT: &str = "storekeeper@example.org";

/// The e-mail scenarios' check, through the API of an InvenTree whose SMTP server is `sink`:
/// `/api/` (as staff) says `email_configured` and `system_health` true (no INVE-W7); a test mail
/// sent through the API (`POST /api/admin/email/test/`, what the admin UI sends) is handed to the
/// worker and reaches the sink, logged in as `username` with `password`, with InvenTree's test
/// subject. Returns the mail and the time from the API call to its arrival.
pub async fn check_test_mail(
    client: &ApiClient,
    sink: &SmtpSink,
    username: &str,
    password: &str,
) -> anyhow::Result<(Mail, Duration)> {
    let root: ApiRoot = client.get("/api/").await?;
    anyhow::ensure!(
        root.email_configured == Some(true) && root.system_health == Some(true),
        "with email configured /api/ says email_configured {:?}, system_health {:?}",
        root.email_configured,
        root.system_health
    );
    let sent = Instant::now();
    client
        .post::<serde_json::Value, _>(
            "/api/admin/email/test/",
            &serde_json::json!({ "email": TEST_RECIPIENT }),
        )
        .await
        .context("sending a test mail through the API")?;
    let mail = sink
        .wait_for(Duration::from_secs(120), |m| {
            m.to.iter().any(|to| to == TEST_RECIPIENT)
        })
        .await?;
    let elapsed = sent.elapsed();
    anyhow::ensure!(
        mail.auth == Some((username.to_string(), password.to_string())),
        "the mail was sent with AUTH user {:?}, expected {username} with the credential's content",
        mail.auth.as_ref().map(|(user, _)| user)
    );
    let subject = mail.header("subject").unwrap_or_default();
    anyhow::ensure!(
        subject.contains("Test email from InvenTree"),
        "unexpected mail: from {:?}, subject {subject:?}",
        mail.from
    );
    Ok((mail, elapsed))
}

fn decode(text: &str) -> String {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

/// One SMTP session; the messages it carried.
async fn session(stream: TcpStream) -> anyhow::Result<Vec<Mail>> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    let mut mails = Vec::new();
    let mut mail = Mail::default();
    write.write_all(b"220 harness-smtp-sink ESMTP\r\n").await?;
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-harness-smtp-sink\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("HELO")
            || upper.starts_with("RSET")
            || upper.starts_with("NOOP")
        {
            b"250 OK\r\n"
        } else if let Some(initial) = upper.strip_prefix("AUTH PLAIN") {
            let encoded = if initial.trim().is_empty() {
                write.write_all(b"334 \r\n").await?;
                lines.next_line().await?.unwrap_or_default()
            } else {
                line[10..].to_string()
            };
            let plain = decode(&encoded);
            let mut parts = plain.split('\0').skip(1);
            mail.auth = Some((
                parts.next().unwrap_or_default().to_string(),
                parts.next().unwrap_or_default().to_string(),
            ));
            b"235 2.7.0 Authentication successful\r\n"
        } else if upper.starts_with("AUTH LOGIN") {
            write.write_all(b"334 VXNlcm5hbWU6\r\n").await?;
            let user = decode(&lines.next_line().await?.unwrap_or_default());
            write.write_all(b"334 UGFzc3dvcmQ6\r\n").await?;
            let password = decode(&lines.next_line().await?.unwrap_or_default());
            mail.auth = Some((user, password));
            b"235 2.7.0 Authentication successful\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            mail.from = line[10..].trim().trim_matches(['<', '>']).to_string();
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            mail.to
                .push(line[8..].trim().trim_matches(['<', '>']).to_string());
            b"250 OK\r\n"
        } else if upper == "DATA" {
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut data = Vec::new();
            while let Some(line) = lines.next_line().await? {
                if line == "." {
                    break;
                }
                data.push(line.strip_prefix('.').map(str::to_string).unwrap_or(line));
            }
            mail.data = data.join("\n");
            let auth = mail.auth.clone();
            mails.push(std::mem::take(&mut mail));
            mail.auth = auth;
            b"250 OK: queued\r\n"
        } else if upper.starts_with("QUIT") {
            write.write_all(b"221 Bye\r\n").await?;
            break;
        } else {
            b"502 Command not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
    Ok(mails)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    async fn say(stream: &mut TcpStream, line: &str) -> String {
        stream
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
        let mut buf = vec![0u8; 512];
        let n = stream.read(&mut buf).await.unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    #[tokio::test]
    async fn keeps_a_message_with_the_auth_plain_credentials_it_came_with() {
        let sink = SmtpSink::start().await.unwrap();
        let mut stream = TcpStream::connect(("127.0.0.1", sink.port)).await.unwrap();
        let mut greeting = vec![0u8; 64];
        let n = stream.read(&mut greeting).await.unwrap();
        assert!(String::from_utf8_lossy(&greeting[..n]).starts_with("220"));
        assert!(say(&mut stream, "EHLO test")
            .await
            .contains("AUTH PLAIN LOGIN"));
        let plain = base64::engine::general_purpose::STANDARD.encode("\0mailer\0s3cret");
        assert!(say(&mut stream, &format!("AUTH PLAIN {plain}"))
            .await
            .starts_with("235"));
        say(&mut stream, "MAIL FROM:<inventree@example.org>").await;
        say(&mut stream, "RCPT TO:<admin@example.org>").await;
        assert!(say(&mut stream, "DATA").await.starts_with("354"));
        let reply = say(&mut stream, "Subject: Test email\r\n\r\n..dotted line\r\n.").await;
        assert!(reply.starts_with("250"), "{reply}");
        say(&mut stream, "QUIT").await;
        let mail = sink
            .wait_for(Duration::from_secs(5), |m| m.to == ["admin@example.org"])
            .await
            .unwrap();
        assert_eq!(mail.auth, Some(("mailer".into(), "s3cret".into())));
        assert_eq!(mail.from, "inventree@example.org");
        assert_eq!(mail.header("subject"), Some("Test email"));
        assert!(mail.data.ends_with("\n.dotted line"), "{:?}", mail.data);
    }
}
