//! A throwaway PostgreSQL 15 server (Debian's) for baselines: initdb in a temp dir, SCRAM
//! passwords like duckstore's, a free port, stopped on drop.

use std::path::PathBuf;
use std::process::{Command, Stdio};

pub struct Postgres {
    pub port: u16,
    pub user: String,
    pub password: String,
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
}

fn find_bin() -> PathBuf {
    for dir in ["/usr/lib/postgresql/15/bin", "/usr/local/pgsql/bin"] {
        let p = PathBuf::from(dir);
        if p.join("initdb").exists() {
            return p;
        }
    }
    panic!(
        "PostgreSQL 15 server binaries not found; install Debian's postgresql-15 (.ci/run does not; `apt-get install postgresql-15`)"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Postgres {
    pub fn start() -> Postgres {
        let bin = find_bin();
        let as_postgres = unsafe { libc::geteuid() } == 0;
        let dir = std::env::temp_dir().join(format!("duckstore-bench-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        if as_postgres {
            Command::new("chown").arg("-R").arg("postgres:postgres").arg(&dir).status().unwrap();
        }
        let port = free_port();
        let password = "bench-password-0123456789".to_owned();
        let pwfile = dir.join("pw");
        std::fs::write(&pwfile, &password).unwrap();
        let data = dir.join("data");
        let run = |program: &str, args: Vec<String>| {
            let mut cmd = if as_postgres {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(bin.join(program));
                c
            } else {
                Command::new(bin.join(program))
            };
            let status = cmd.args(args).stdout(Stdio::null()).stderr(Stdio::null()).status().unwrap();
            assert!(status.success(), "{program} failed");
        };
        if as_postgres {
            Command::new("chown").arg("postgres:postgres").arg(&pwfile).status().unwrap();
        }
        run(
            "initdb",
            vec![
                "-D".into(),
                data.display().to_string(),
                "-U".into(),
                "bench".into(),
                "--pwfile".into(),
                pwfile.display().to_string(),
                "--auth=scram-sha-256".into(),
                "-E".into(),
                "UTF8".into(),
                "--no-sync".into(),
            ],
        );
        run(
            "pg_ctl",
            vec![
                "-D".into(),
                data.display().to_string(),
                "-o".into(),
                format!(
                    "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c max_connections=200 -c fsync=off",
                    dir.display()
                ),
                "-w".into(),
                "-l".into(),
                dir.join("log").display().to_string(),
                "start".into(),
            ],
        );
        Postgres { port, user: "bench".into(), password, dir, bin, as_postgres }
    }

    pub fn conn_string(&self) -> String {
        format!("host=127.0.0.1 port={} user={} password={} dbname=postgres", self.port, self.user, self.password)
    }

    pub fn version(&self) -> String {
        String::from_utf8_lossy(&Command::new(self.bin.join("postgres")).arg("--version").output().unwrap().stdout)
            .trim()
            .to_owned()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(self.bin.join("pg_ctl"));
            c
        } else {
            Command::new(self.bin.join("pg_ctl"))
        };
        let _ = cmd.arg("-D").arg(&data).args(["-m", "fast", "stop"]).stdout(Stdio::null()).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
