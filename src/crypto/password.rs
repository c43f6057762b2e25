//! Password hashing and verification: argon2id (what Tessera writes) and bcrypt (what Dex
//! wrote), and the pool of threads that does this work for the server.
//!
//! A verification at the shipped parameters takes ~11 ms of CPU and 19 MiB of memory, so
//! the server never runs one on its async workers. It hands them to a small pool of its own
//! threads (one per core) which
//! - run at the kernel's idle priority (Linux `SCHED_IDLE`): a token or JWKS request that
//!   wakes up preempts a hash at once instead of queueing behind it, and logins use the CPU
//!   the API leaves (idle-priority threads still get a small share when the core is full,
//!   so logins slow down under an API flood but do not stop);
//! - keep one argon2 memory buffer each and reuse it, so a burst of logins does not leave
//!   the allocator holding a 19 MiB block per thread that ever hashed.

use super::constant_time_eq;
use argon2::password_hash::phc::PasswordHash;
use std::sync::{Arc, Mutex, mpsc};
use tokio::sync::oneshot;

/// Why a password hash could not be made or checked.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("unsupported password hash format")]
    UnsupportedHash,
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error("password hashing task failed")]
    Task,
}

/// OWASP's argon2id recommendation (Password Storage Cheat Sheet): m=19 MiB, t=2, p=1.
fn argon2() -> Result<argon2::Argon2<'static>, PasswordError> {
    let params =
        argon2::Params::new(19 * 1024, 2, 1, None).map_err(|e| PasswordError::Hashing(e.to_string()))?;
    Ok(argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params))
}

/// Hashes a password as an argon2id PHC string. CPU-heavy: call from a blocking thread.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    use argon2::password_hash::PasswordHasher;
    argon2()?
        .hash_password_with_salt(password.as_bytes(), &super::random_bytes(16))
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hashing(e.to_string()))
}

/// Checks a password against a bcrypt (`$2a$`, `$2b$`, `$2y$`, as Dex writes them) or
/// argon2 PHC hash. CPU-heavy: call from a blocking thread.
pub fn verify_password(password: &str, hash: &str) -> Result<bool, PasswordError> {
    verify_with_memory(password, hash, &mut Vec::new())
}

/// Buffers above this many argon2 blocks (64 MiB) are not kept between verifications: a
/// hash with unusual parameters should not pin that much memory for good.
const MAX_KEPT_BLOCKS: usize = 64 * 1024;

/// argon2's working memory, kept between verifications (one per hashing thread).
#[derive(Default)]
pub struct PasswordMemory(Vec<argon2::Block>);

/// [`verify_password`] with argon2's working memory taken from (and grown in) `memory`:
/// what the server's hashing threads do.
pub fn verify_password_in(
    password: &str,
    hash: &str,
    memory: &mut PasswordMemory,
) -> Result<bool, PasswordError> {
    verify_with_memory(password, hash, &mut memory.0)
}

#[expect(
    clippy::indexing_slicing,
    reason = "the working memory is allocated for the largest block count first"
)]
fn verify_with_memory(
    password: &str,
    hash: &str,
    memory: &mut Vec<argon2::Block>,
) -> Result<bool, PasswordError> {
    if hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$") {
        return bcrypt::verify(password, hash).map_err(|_| PasswordError::UnsupportedHash);
    }
    if !hash.starts_with("$argon2") {
        return Err(PasswordError::UnsupportedHash);
    }
    // Verification uses the parameters recorded in the hash itself, as the argon2 crate's
    // own verifier does; only the memory is ours.
    let parsed = PasswordHash::new(hash).map_err(|_| PasswordError::UnsupportedHash)?;
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Err(PasswordError::UnsupportedHash);
    };
    let algorithm =
        argon2::Algorithm::try_from(parsed.algorithm.as_str()).map_err(|_| PasswordError::UnsupportedHash)?;
    let version = parsed
        .version
        .map(argon2::Version::try_from)
        .transpose()
        .map_err(|_| PasswordError::UnsupportedHash)?
        .unwrap_or_default();
    let params = argon2::Params::try_from(&parsed).map_err(|_| PasswordError::UnsupportedHash)?;
    let blocks = params.block_count();
    let argon2 = argon2::Argon2::new(algorithm, version, params);
    let mut computed = vec![0u8; expected.len()];
    let hashed = if blocks <= MAX_KEPT_BLOCKS {
        if memory.len() < blocks {
            memory.resize(blocks, argon2::Block::default());
        }
        argon2.hash_password_into_with_memory(
            password.as_bytes(),
            salt.as_ref(),
            &mut computed,
            &mut memory[..blocks],
        )
    } else {
        argon2.hash_password_into(password.as_bytes(), salt.as_ref(), &mut computed)
    };
    hashed.map_err(|e| PasswordError::Hashing(e.to_string()))?;
    Ok(constant_time_eq(&computed, expected.as_bytes()))
}

enum Job {
    Verify { password: String, hash: String, reply: oneshot::Sender<Result<bool, PasswordError>> },
    Hash { password: String, reply: oneshot::Sender<Result<String, PasswordError>> },
}

/// The server's password hashing: a pool of idle-priority threads (see the module notes).
#[derive(Clone)]
pub struct PasswordHasher {
    jobs: mpsc::Sender<Job>,
}

/// Verified against when the user does not exist, so that an unknown user takes as long as
/// a wrong password (no user enumeration by timing). A hash at the shipped parameters of a
/// random password that was thrown away; a constant, so start-up does not pay for a hash.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$YYGkRSGnJYdoM8BO914EZg$vl8BF+JTielBgJ93dyUEEa/g1AGkNL1hac1YFiRg7Gk";

impl PasswordHasher {
    /// Starts `threads` hashing threads; they end when the last clone of the hasher is dropped.
    pub fn new(threads: usize) -> Result<Self, PasswordError> {
        let (jobs, queue) = mpsc::channel();
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("tessera-hash-{i}"))
                .spawn(move || work(&queue))
                .map_err(|e| PasswordError::Hashing(format!("starting a hashing thread: {e}")))?;
        }
        Ok(Self { jobs })
    }

    /// Verifies `password` against `hash`; with `hash = None` (unknown user) it does the
    /// same work against a dummy hash and returns `false`.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, PasswordError> {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_string());
        let (reply, answer) = oneshot::channel();
        self.jobs.send(Job::Verify { password, hash, reply }).map_err(|_| PasswordError::Task)?;
        let ok = answer.await.map_err(|_| PasswordError::Task)??;
        Ok(ok && known)
    }

    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(Job::Hash { password, reply }).map_err(|_| PasswordError::Task)?;
        answer.await.map_err(|_| PasswordError::Task)?
    }
}

/// One hashing thread: lowers its own priority, then takes jobs until the hasher is gone.
fn work(queue: &Mutex<mpsc::Receiver<Job>>) {
    lower_priority();
    let mut memory = PasswordMemory::default();
    loop {
        // The lock is held only while waiting for the next job, never while hashing.
        let job = {
            let queue = queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            queue.recv()
        };
        match job {
            // A caller that gave up (request cancelled) no longer wants the answer.
            Ok(Job::Verify { password, hash, reply }) => {
                let _ = reply.send(verify_password_in(&password, &hash, &mut memory));
            }
            Ok(Job::Hash { password, reply }) => {
                let _ = reply.send(hash_password(&password));
            }
            Err(mpsc::RecvError) => return,
        }
    }
}

#[cfg(target_os = "linux")]
fn lower_priority() {
    use thread_priority::ThreadPriority;
    use thread_priority::unix::{
        NormalThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy, thread_native_id,
    };
    let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
    // SCHED_IDLE has a single priority value, which `Min` names.
    if let Err(e) = set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, idle) {
        tracing::warn!(error = ?e, "password hashing threads could not lower their priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority() {
    if let Err(e) = thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min) {
        tracing::warn!(error = ?e, "password hashing threads could not lower their priority");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_has_the_shipped_parameters() {
        // An unknown user must cost what a known one does: same algorithm and parameters.
        let shipped = hash_password("x").unwrap();
        let params = |h: &str| h.split('$').take(4).collect::<Vec<_>>().join("$");
        assert_eq!(params(DUMMY_HASH), params(&shipped));
        assert!(!verify_password("tessera-dummy", DUMMY_HASH).unwrap());
    }

    #[test]
    fn argon2id_round_trip() {
        let hash = hash_password("hunter2").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password("hunter2", &hash).unwrap());
        assert!(!verify_password("hunter3", &hash).unwrap());
    }

    #[test]
    fn reused_memory_gives_the_same_answers() {
        let mut memory = Vec::new();
        let hash = hash_password("hunter2").unwrap();
        for _ in 0..2 {
            assert!(verify_with_memory("hunter2", &hash, &mut memory).unwrap());
            assert!(!verify_with_memory("hunter3", &hash, &mut memory).unwrap());
        }
        assert_eq!(memory.len(), 19 * 1024);
        // A hash with other parameters, checked with the larger buffer already there.
        let other = {
            use argon2::password_hash::PasswordHasher;
            let params = argon2::Params::new(64, 1, 1, None).unwrap();
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
                .hash_password_with_salt(b"pw", b"somesalt123")
                .unwrap()
                .to_string()
        };
        assert!(other.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(verify_with_memory("pw", &other, &mut memory).unwrap());
        assert!(!verify_with_memory("pW", &other, &mut memory).unwrap());
        assert_eq!(memory.len(), 19 * 1024, "the buffer is kept, not shrunk");
    }

    #[test]
    fn verifies_argon2i_and_argon2d_reference_hashes() {
        // PHC strings name the variant; the verifier must follow it, not assume argon2id.
        for algorithm in [argon2::Algorithm::Argon2i, argon2::Algorithm::Argon2d] {
            use argon2::password_hash::PasswordHasher;
            let params = argon2::Params::new(256, 2, 1, None).unwrap();
            let hash = argon2::Argon2::new(algorithm, argon2::Version::V0x13, params)
                .hash_password_with_salt(b"password", b"somesalt")
                .unwrap()
                .to_string();
            assert!(verify_password("password", &hash).unwrap(), "{hash}");
            assert!(!verify_password("passwore", &hash).unwrap(), "{hash}");
        }
    }

    #[test]
    fn verifies_dex_bcrypt_hashes() {
        // Dex's documented example hash of "password".
        let hash = "$2a$10$2b2cU8CPhOTaGrs1HRQuAueS7JTT5ZHsHSzYiFPm1leZck7Mc8T4W";
        assert!(verify_password("password", hash).unwrap());
        assert!(!verify_password("Password", hash).unwrap());
        let y = hash.replacen("$2a$", "$2y$", 1);
        assert!(verify_password("password", &y).unwrap());
    }

    #[test]
    fn rejects_unknown_hash_formats() {
        assert!(verify_password("x", "plaintext").is_err());
        assert!(verify_password("x", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ").is_err());
    }

    /// The point of the pool: its threads run at idle priority (SCHED_IDLE is policy 5).
    #[cfg(target_os = "linux")]
    #[test]
    fn hashing_threads_run_at_idle_priority() {
        let _hasher = PasswordHasher::new(1).unwrap();
        let found = (0..100).find_map(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            let tasks = std::fs::read_dir("/proc/self/task").unwrap();
            tasks.filter_map(Result::ok).find_map(|task| {
                let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
                let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
                // Field 41 of /proc/[tid]/stat is the scheduling policy (after "(comm)").
                let policy = stat.rsplit_once(") ")?.1.split(' ').nth(38)?.to_string();
                (comm.trim() == "tessera-hash-0" && policy == "5").then_some(())
            })
        });
        assert!(found.is_some(), "no idle-priority hashing thread");
    }

    #[tokio::test]
    async fn the_pool_verifies_and_hashes() {
        let hasher = PasswordHasher::new(2).unwrap();
        assert!(!hasher.verify("tessera-dummy".into(), None).await.unwrap(), "unknown user");
        let hash = hasher.hash("s3cret".into()).await.unwrap();
        let checks = (0..6).map(|i| {
            let hasher = hasher.clone();
            let hash = hash.clone();
            async move { hasher.verify(if i % 2 == 0 { "s3cret" } else { "wrong" }.into(), Some(hash)).await }
        });
        let answers: Vec<bool> =
            futures_util_join_all(checks).await.into_iter().map(Result::unwrap).collect();
        assert_eq!(answers, [true, false, true, false, true, false]);
    }

    /// Runs the futures concurrently on the test's runtime.
    async fn futures_util_join_all<F: std::future::Future + Send + 'static>(
        futures: impl Iterator<Item = F>,
    ) -> Vec<F::Output>
    where
        F::Output: Send + 'static,
    {
        let handles: Vec<_> = futures.map(tokio::spawn).collect();
        let mut out = Vec::new();
        for h in handles {
            out.push(h.await.unwrap());
        }
        out
    }
}
