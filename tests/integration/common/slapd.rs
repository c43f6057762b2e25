//! A private OpenLDAP `slapd` for one test: its own temp dir, config (`-f slapd.conf`, mdb
//! backend, the core/cosine/inetorgperson/nis schemas), free ports for `ldap://` and
//! `ldaps://`, a test CA and server certificate (rcgen) for LDAPS and StartTLS, and the
//! directory in [`LDIF`] loaded with `slapadd` before start. Dropping it kills slapd.
//!
//! Needs Debian's `slapd` and `ldap-utils` (`.ci/run` installs them).

use ldap3::{LdapConnAsync, Mod};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SUFFIX: &str = "dc=example,dc=org";
pub const ADMIN_DN: &str = "cn=admin,dc=example,dc=org";
pub const ADMIN_PW: &str = "admin";
pub const PEOPLE: &str = "ou=People,dc=example,dc=org";
pub const GROUPS: &str = "ou=Groups,dc=example,dc=org";

/// Users: jane (groups nested three levels, with a cycle at the top, and a posixGroup),
/// john (one group), and a user whose uid holds filter metacharacters.
pub const LDIF: &str = "\
dn: dc=example,dc=org
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=People,dc=example,dc=org
objectClass: organizationalUnit
ou: People

dn: ou=Groups,dc=example,dc=org
objectClass: organizationalUnit
ou: Groups

dn: uid=jane,ou=People,dc=example,dc=org
objectClass: inetOrgPerson
uid: jane
cn: Jane Doe
sn: Doe
displayName: jdoe
mail: jane@example.org
userPassword: foo

dn: uid=john,ou=People,dc=example,dc=org
objectClass: inetOrgPerson
uid: john
cn: John Roe
sn: Roe
displayName: jroe
mail: john@example.org
userPassword: bar

dn: uid=o(brien)*,ou=People,dc=example,dc=org
objectClass: inetOrgPerson
uid: o(brien)*
cn: Pat O'Brien
sn: O'Brien
displayName: pob
mail: obrien@example.org
userPassword: baz

dn: cn=developers,ou=Groups,dc=example,dc=org
objectClass: groupOfNames
cn: developers
member: uid=jane,ou=People,dc=example,dc=org

dn: cn=admins,ou=Groups,dc=example,dc=org
objectClass: groupOfNames
cn: admins
member: uid=john,ou=People,dc=example,dc=org

dn: cn=engineering,ou=Groups,dc=example,dc=org
objectClass: groupOfNames
cn: engineering
member: cn=developers,ou=Groups,dc=example,dc=org

dn: cn=staff,ou=Groups,dc=example,dc=org
objectClass: groupOfNames
cn: staff
member: cn=engineering,ou=Groups,dc=example,dc=org

dn: cn=loop-a,ou=Groups,dc=example,dc=org
objectClass: groupOfNames
cn: loop-a
member: cn=staff,ou=Groups,dc=example,dc=org
member: cn=loop-b,ou=Groups,dc=example,dc=org

dn: cn=loop-b,ou=Groups,dc=example,dc=org
objectClass: groupOfNames
cn: loop-b
member: cn=loop-a,ou=Groups,dc=example,dc=org

dn: cn=ops,ou=Groups,dc=example,dc=org
objectClass: posixGroup
cn: ops
gidNumber: 1000
memberUid: jane
";

/// A test CA: its PEM certificate, and its issuer to sign server certificates with.
pub struct TestCa {
    pub pem: String,
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Self { pem: issuer.pem(), issuer }
    }

    /// A server certificate for `127.0.0.1` and `localhost`: (certificate PEM, key PEM).
    pub fn server_cert(&self) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, "localhost");
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// A running slapd.
pub struct Slapd {
    /// `127.0.0.1:port` of plain LDAP (and StartTLS).
    pub ldap_host: String,
    /// `127.0.0.1:port` of LDAPS.
    pub ldaps_host: String,
    pub ca: TestCa,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

fn free_port(taken: &mut HashSet<u16>) -> u16 {
    loop {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        if taken.insert(port) {
            return port;
        }
    }
}

impl Slapd {
    pub async fn start() -> Self {
        let mut dir = tempfile::tempdir().unwrap();
        let mut ca = TestCa::new("Tessera test CA");
        let (cert, key) = ca.server_cert();
        std::fs::write(dir.path().join("ca.pem"), &ca.pem).unwrap();
        std::fs::write(dir.path().join("server.pem"), cert).unwrap();
        std::fs::write(dir.path().join("server.key"), key).unwrap();
        std::fs::create_dir(dir.path().join("db")).unwrap();
        std::fs::write(dir.path().join("data.ldif"), LDIF).unwrap();
        let conf = dir.path().join("slapd.conf");
        std::fs::write(&conf, slapd_conf(dir.path())).unwrap();
        let out = Command::new("slapadd")
            .arg("-f")
            .arg(&conf)
            .arg("-l")
            .arg(dir.path().join("data.ldif"))
            .output()
            .unwrap_or_else(|e| panic!("slapadd: {e} (install Debian's slapd and ldap-utils)"));
        assert!(out.status.success(), "slapadd failed: {}", String::from_utf8_lossy(&out.stderr));

        // Ports are picked free then handed to slapd; a port taken in between makes slapd
        // exit, and we try again with new ones.
        let mut taken = HashSet::new();
        for _ in 0..5 {
            let (ldap_port, ldaps_port) = (free_port(&mut taken), free_port(&mut taken));
            let mut slapd = Slapd {
                ldap_host: format!("127.0.0.1:{ldap_port}"),
                ldaps_host: format!("127.0.0.1:{ldaps_port}"),
                ca,
                dir,
                child: None,
            };
            if slapd.spawn().await {
                return slapd;
            }
            (ca, dir) = slapd.take_parts();
        }
        panic!("slapd did not start");
    }

    fn take_parts(mut self) -> (TestCa, tempfile::TempDir) {
        self.kill();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        let ca = std::mem::replace(&mut self.ca, TestCa::new("unused"));
        (ca, dir)
    }

    /// Starts slapd in the foreground (`-d 0`) and waits until both ports answer.
    async fn spawn(&mut self) -> bool {
        let log = std::fs::File::create(self.dir.path().join("slapd.log")).unwrap();
        let urls = format!("ldap://{}/ ldaps://{}/", self.ldap_host, self.ldaps_host);
        let child = Command::new("slapd")
            .arg("-f")
            .arg(self.dir.path().join("slapd.conf"))
            .arg("-h")
            .arg(urls)
            .arg("-d")
            .arg("0")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("slapd: {e} (install Debian's slapd)"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Some(Ok(Some(_))) = self.child.as_mut().map(Child::try_wait) {
                eprintln!("slapd exited:\n{}", self.log());
                return false;
            }
            let up = tokio::net::TcpStream::connect(&self.ldap_host).await.is_ok()
                && tokio::net::TcpStream::connect(&self.ldaps_host).await.is_ok();
            if up {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        eprintln!("slapd did not listen in time:\n{}", self.log());
        false
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("slapd.log")).unwrap_or_default()
    }

    /// The test CA's certificate file.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Stops slapd now (the directory is "down"); the ports stay unused.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops slapd and starts it again on the same ports and data: every open connection to
    /// it is cut, as when a directory restarts.
    pub async fn restart(&mut self) {
        self.kill();
        assert!(self.spawn().await, "slapd restarts on its ports");
    }

    /// A connection bound as the directory's admin, to change it during a test.
    pub async fn admin(&self) -> ldap3::Ldap {
        let (conn, mut ldap) = LdapConnAsync::new(&format!("ldap://{}", self.ldap_host)).await.unwrap();
        tokio::spawn(async move {
            let _ = conn.drive().await;
        });
        ldap.simple_bind(ADMIN_DN, ADMIN_PW).await.unwrap().success().unwrap();
        ldap
    }

    pub async fn delete(&self, dn: &str) {
        self.admin().await.delete(dn).await.unwrap().success().unwrap();
    }

    /// Adds `member_dn` to the `member` values of the group `group_dn`.
    pub async fn add_member(&self, group_dn: &str, member_dn: &str) {
        let mods = vec![Mod::Add("member", HashSet::from([member_dn]))];
        self.admin().await.modify(group_dn, mods).await.unwrap().success().unwrap();
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        self.kill();
    }
}

fn slapd_conf(dir: &Path) -> String {
    let d = dir.display();
    format!(
        r#"include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {d}/slapd.pid
argsfile {d}/slapd.args
TLSCACertificateFile {d}/ca.pem
TLSCertificateFile {d}/server.pem
TLSCertificateKeyFile {d}/server.key

database mdb
maxsize 16777216
suffix "{SUFFIX}"
rootdn "{ADMIN_DN}"
rootpw {ADMIN_PW}
directory {d}/db
access to attrs=userPassword by self write by anonymous auth by * none
access to * by * read
"#
    )
}
