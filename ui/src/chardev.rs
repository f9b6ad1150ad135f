//! Character-device backends: where serial ports and the monitor read and write.
//!
//! Every backend has a writer thread fed by a channel (`Port`), so a slow or
//! absent reader on the host side never stalls the VM thread, and a reader
//! thread that hands input bytes to a callback.

use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::cli::CliError;

/// A backend as written on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChardevSpec {
    Stdio,
    /// `mon:stdio`: stdio shared with the monitor through the Ctrl-A mux.
    MonStdio,
    Null,
    /// No device at all (`-monitor none`, `-serial none`).
    None,
    File(PathBuf),
    /// `unix:PATH,server[,nowait]`; `wait` blocks startup until a client connects.
    UnixServer {
        path: PathBuf,
        wait: bool,
    },
    Pty,
}

impl ChardevSpec {
    pub fn parse(text: &str, flag: &str) -> Result<ChardevSpec, CliError> {
        let inv = |m: String| CliError::Invalid(m);
        Ok(match text {
            "stdio" => ChardevSpec::Stdio,
            "mon:stdio" => ChardevSpec::MonStdio,
            "null" => ChardevSpec::Null,
            "none" => ChardevSpec::None,
            "pty" => ChardevSpec::Pty,
            _ if text.starts_with("file:") => {
                let p = &text[5..];
                if p.is_empty() {
                    return Err(inv(format!("{flag} file: needs a path")));
                }
                ChardevSpec::File(p.into())
            }
            _ if text.starts_with("unix:") => {
                let mut parts = text[5..].split(',');
                let path = parts.next().unwrap_or("");
                if path.is_empty() {
                    return Err(inv(format!("{flag} unix: needs a socket path")));
                }
                let mut server = false;
                let mut wait = true;
                for opt in parts {
                    match opt {
                        "server" | "server=on" => server = true,
                        "nowait" | "wait=off" => wait = false,
                        "wait" | "wait=on" => wait = true,
                        "server=off" => server = false,
                        _ => {
                            return Err(inv(format!(
                                "{flag} {text}: unknown option '{opt}' (known: server, nowait)"
                            )))
                        }
                    }
                }
                if !server {
                    return Err(inv(format!(
                        "{flag} {text}: only server sockets are supported: add ,server,nowait"
                    )));
                }
                ChardevSpec::UnixServer {
                    path: path.into(),
                    wait,
                }
            }
            _ if text == "vc" || text.starts_with("vc:") => {
                return Err(inv(format!(
                    "{flag} {text}: the window has no text console yet; use stdio, pty or unix:"
                )))
            }
            _ => {
                let kind = text.split(':').next().unwrap_or(text);
                return Err(inv(format!(
                    "{flag} {text}: backend '{kind}' is not supported \
                     (use stdio, mon:stdio, null, none, file:PATH, unix:PATH,server,nowait or pty)"
                )));
            }
        })
    }

    pub fn uses_stdio(&self) -> bool {
        matches!(self, ChardevSpec::Stdio | ChardevSpec::MonStdio)
    }
}

/// A message to a writer thread.
#[derive(Debug)]
pub enum OutMsg {
    Data(Vec<u8>),
    /// Answered once everything before it is written.
    Flush(Sender<()>),
}

/// The sending end of a backend: cheap to clone, never blocks.
#[derive(Debug, Clone)]
pub struct Port {
    tx: Sender<OutMsg>,
}

impl Port {
    pub fn write(&self, bytes: &[u8]) {
        if !bytes.is_empty() {
            let _ = self.tx.send(OutMsg::Data(bytes.to_vec()));
        }
    }

    /// Wait (up to `timeout`) until everything sent so far has been written.
    pub fn flush(&self, timeout: Duration) {
        let (tx, rx) = mpsc::channel();
        if self.tx.send(OutMsg::Flush(tx)).is_ok() {
            let _ = rx.recv_timeout(timeout);
        }
    }

    /// A port whose messages are received by the caller (tests).
    pub fn channel() -> (Port, Receiver<OutMsg>) {
        let (tx, rx) = mpsc::channel();
        (Port { tx }, rx)
    }
}

/// A writer thread over any `Write`; write errors drop the data (a closed
/// terminal must not take the VM down).
pub fn spawn_writer(name: &str, mut w: Box<dyn Write + Send>) -> Port {
    let (port, rx) = Port::channel();
    let _ = thread::Builder::new()
        .name(format!("out-{name}"))
        .spawn(move || {
            for msg in rx {
                match msg {
                    OutMsg::Data(d) => {
                        let _ = w.write_all(&d).and_then(|_| w.flush());
                    }
                    OutMsg::Flush(ack) => {
                        let _ = w.flush();
                        let _ = ack.send(());
                    }
                }
            }
        });
    port
}

/// Input callback: bytes from the host side of a backend.
pub type InputFn = Box<dyn FnMut(&[u8]) + Send>;

/// Called when a client connects to a socket backend, with the port to greet it on.
pub type ConnectFn = Box<dyn FnMut(&Port) + Send>;

/// A reader thread: calls `on_input` with each chunk until EOF or error.
pub fn spawn_reader(name: &str, mut r: Box<dyn Read + Send>, mut on_input: InputFn) {
    let _ = thread::Builder::new()
        .name(format!("in-{name}"))
        .spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match r.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => on_input(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                }
            }
        });
}

/// A running non-stdio backend.
#[derive(Debug)]
pub struct Opened {
    pub port: Option<Port>,
    /// For a pty: the slave path to tell the user.
    pub pty_path: Option<PathBuf>,
}

/// Open a non-stdio backend. `on_connect` runs for each new unix-socket client
/// (the monitor sends its banner then), with the port to answer on.
pub fn open(
    spec: &ChardevSpec,
    label: &str,
    on_input: InputFn,
    on_connect: Option<ConnectFn>,
) -> io::Result<Opened> {
    match spec {
        ChardevSpec::None | ChardevSpec::Null => Ok(Opened {
            port: None,
            pty_path: None,
        }),
        ChardevSpec::File(p) => {
            let f = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(p)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))?;
            Ok(Opened {
                port: Some(spawn_writer(label, Box::new(f))),
                pty_path: None,
            })
        }
        ChardevSpec::UnixServer { path, wait } => {
            let _ = std::fs::remove_file(path); // a stale socket from an earlier run
            let listener = UnixListener::bind(path)
                .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
            let conn: Arc<Mutex<Option<UnixStream>>> = Arc::new(Mutex::new(None));
            let port = spawn_writer(label, Box::new(SharedConn(conn.clone())));
            let first = if *wait {
                eprintln!(
                    "beige: waiting for connection on: unix:{},server=on",
                    path.display()
                );
                Some(listener.accept()?.0)
            } else {
                None
            };
            let p2 = port.clone();
            let mut on_input = on_input;
            let mut on_connect = on_connect;
            let _ = thread::Builder::new()
                .name(format!("accept-{label}"))
                .spawn(move || {
                    let mut next = first;
                    loop {
                        let stream = match next.take() {
                            Some(s) => s,
                            None => match listener.accept() {
                                Ok((s, _)) => s,
                                Err(_) => return,
                            },
                        };
                        if let Ok(w) = stream.try_clone() {
                            *lock(&conn) = Some(w);
                        }
                        if let Some(cb) = on_connect.as_mut() {
                            cb(&p2);
                        }
                        let mut s = stream;
                        let mut buf = [0u8; 4096];
                        loop {
                            match s.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => on_input(&buf[..n]),
                            }
                        }
                        *lock(&conn) = None;
                    }
                });
            Ok(Opened {
                port: Some(port),
                pty_path: None,
            })
        }
        ChardevSpec::Pty => {
            let (master, path) = crate::term::open_pty()?;
            let reader = master.try_clone()?;
            spawn_reader(label, Box::new(reader), on_input);
            Ok(Opened {
                port: Some(spawn_writer(label, Box::new(master))),
                pty_path: Some(path),
            })
        }
        ChardevSpec::Stdio | ChardevSpec::MonStdio => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "stdio backends are opened by the session",
        )),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Writes go to the current unix-socket client, or nowhere.
struct SharedConn(Arc<Mutex<Option<UnixStream>>>);

impl Write for SharedConn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut g = lock(&self.0);
        if let Some(s) = g.as_mut() {
            if s.write_all(buf).is_err() {
                *g = None;
            }
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;

    #[test]
    fn parses_every_supported_backend() {
        let p = |s| ChardevSpec::parse(s, "-serial");
        assert_eq!(p("stdio"), Ok(ChardevSpec::Stdio));
        assert_eq!(p("mon:stdio"), Ok(ChardevSpec::MonStdio));
        assert_eq!(p("null"), Ok(ChardevSpec::Null));
        assert_eq!(p("pty"), Ok(ChardevSpec::Pty));
        assert_eq!(p("file:/tmp/x"), Ok(ChardevSpec::File("/tmp/x".into())));
        assert_eq!(
            p("unix:/tmp/s,server,nowait"),
            Ok(ChardevSpec::UnixServer {
                path: "/tmp/s".into(),
                wait: false
            })
        );
        assert_eq!(
            p("unix:/tmp/s,server=on,wait=on"),
            Ok(ChardevSpec::UnixServer {
                path: "/tmp/s".into(),
                wait: true
            })
        );
    }

    #[test]
    fn refuses_unsupported_backends_clearly() {
        let e = ChardevSpec::parse("tcp:localhost:4444", "-serial")
            .unwrap_err()
            .to_string();
        assert!(e.contains("'tcp' is not supported"), "{e}");
        let e = ChardevSpec::parse("unix:/tmp/s", "-monitor")
            .unwrap_err()
            .to_string();
        assert!(e.contains("server"), "{e}");
        assert!(ChardevSpec::parse("unix:/tmp/s,server,bogus", "-serial").is_err());
        assert!(ChardevSpec::parse("file:", "-serial").is_err());
    }

    #[test]
    fn file_backend_receives_output() {
        let d = TempDir::new("chr");
        let path = d.path().join("out.txt");
        let o = open(
            &ChardevSpec::File(path.clone()),
            "t",
            Box::new(|_| {}),
            None,
        )
        .unwrap();
        let port = o.port.unwrap();
        port.write(b"hello");
        port.flush(Duration::from_secs(5));
        assert_eq!(std::fs::read(&path).unwrap(), b"hello");
    }

    #[test]
    fn unix_server_nowait_echoes_through_callbacks() {
        let d = TempDir::new("chr");
        let sock = d.path().join("s");
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        let o = open(
            &ChardevSpec::UnixServer {
                path: sock.clone(),
                wait: false,
            },
            "t",
            Box::new(move |b| {
                let _ = tx.send(b.to_vec());
            }),
            Some(Box::new(|p: &Port| p.write(b"hi\n"))),
        )
        .unwrap();
        let mut c = UnixStream::connect(&sock).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 3];
        c.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hi\n");
        c.write_all(b"abc").unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), b"abc");
        o.port.unwrap().write(b"xyz");
        let mut buf = [0u8; 3];
        c.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"xyz");
    }

    #[test]
    fn pty_backend_reports_its_slave_path() {
        let o = open(&ChardevSpec::Pty, "t", Box::new(|_| {}), None).unwrap();
        let p = o.pty_path.unwrap();
        assert!(p.starts_with("/dev/pts"), "{}", p.display());
    }
}
