//! `tessera admin passwords`: users of the password database (Dex's `ListPasswords`,
//! `CreatePassword`, `UpdatePassword`, `DeletePassword`, `VerifyPassword`).
//!
//! A password is never an argument: it is read from standard input (its first line) or,
//! on a terminal, typed without echo. Dex's API takes a ready bcrypt hash, so `create` and
//! `update` hash it here (cost 12); `--hash` sends a hash made elsewhere instead. `verify`
//! sends the password itself, which the server checks against the stored hash.

use super::exit::{CliError, Exit};
use super::input;
use super::output::{Human, emit};
use super::{Session, done};
use crate::grpc::api;
use crate::types::Secret;
use serde::Serialize;

const PASSWORD_SOURCE: &str = "The password is read from standard input (its first line) or, when standard input is a \
terminal, typed without echo; never from the command line.";

#[derive(Debug, Clone, clap::Subcommand)]
pub enum PasswordsCommand {
    /// List the password database (entries of the config file first); hashes are not shown.
    List,
    /// Add a user; the password is hashed here with bcrypt (cost 12).
    #[command(after_help = PASSWORD_SOURCE)]
    Create {
        /// The user's email (case does not matter).
        #[arg(long)]
        email: String,
        /// The username: the `name` claim of the user's tokens (users log in with the email).
        #[arg(long)]
        username: String,
        /// The user id, part of the token subject (default: a random id).
        #[arg(long)]
        user_id: Option<String>,
        /// Read a ready bcrypt hash (cost 10-16) instead of a password.
        #[arg(long)]
        hash: bool,
    },
    /// Change a user's password and/or username; the email cannot change.
    #[command(after_help = PASSWORD_SOURCE)]
    #[command(group(clap::ArgGroup::new("change").required(true).multiple(true).args(["username", "password", "hash"])))]
    Update {
        /// The user's email (case does not matter).
        #[arg(long)]
        email: String,
        /// The new username.
        #[arg(long)]
        username: Option<String>,
        /// Set a new password (read as below).
        #[arg(long, conflicts_with = "hash")]
        password: bool,
        /// Set a ready bcrypt hash (cost 10-16), read as a password would be.
        #[arg(long)]
        hash: bool,
    },
    /// Delete a user.
    Delete {
        /// The user's email (case does not matter).
        #[arg(long)]
        email: String,
    },
    /// Check a password: exit 0 when it matches, 7 when not, 4 when there is no such user.
    #[command(after_help = PASSWORD_SOURCE)]
    Verify {
        /// The user's email (case does not matter).
        #[arg(long)]
        email: String,
    },
}

/// A password database entry as printed; the hash is never listed.
#[derive(Debug, Clone, Serialize)]
struct PasswordView {
    email: String,
    username: String,
    user_id: String,
}

#[derive(Debug, Clone, Serialize)]
struct Verified {
    email: String,
    verified: bool,
}

pub async fn run(session: &Session, command: PasswordsCommand) -> Result<(), CliError> {
    let format = session.format;
    match command {
        PasswordsCommand::List => {
            let mut conn = session.connect().await?;
            let response = conn.client.list_passwords(api::ListPasswordReq {}).await;
            let passwords = response.map_err(|s| conn.error(&s))?.into_inner().passwords;
            let views: Vec<PasswordView> = passwords
                .into_iter()
                .map(|p| PasswordView { email: p.email, username: p.username, user_id: p.user_id })
                .collect();
            let rows = views.iter().map(|p| vec![p.email.clone(), p.username.clone(), p.user_id.clone()]);
            emit(
                format,
                &views,
                Human::Table { header: vec!["EMAIL", "USERNAME", "USER ID"], rows: rows.collect() },
            )
        }
        PasswordsCommand::Create { email, username, user_id, hash } => {
            let hash = new_hash(hash).await?;
            let user_id = user_id.unwrap_or_else(crate::crypto::random_id);
            let mut conn = session.connect().await?;
            let password = api::Password {
                email: email.clone(),
                hash: hash.expose().as_bytes().to_vec(),
                username: username.clone(),
                user_id: user_id.clone(),
            };
            let response =
                conn.client.create_password(api::CreatePasswordReq { password: Some(password) }).await;
            if response.map_err(|s| conn.error(&s))?.into_inner().already_exists {
                return Err(CliError::already_exists(format!("password {email:?} already exists")));
            }
            let view = PasswordView { email, username, user_id };
            let fields = vec![
                ("email", view.email.clone()),
                ("username", view.username.clone()),
                ("user_id", view.user_id.clone()),
            ];
            emit(format, &view, Human::Fields(fields))
        }
        PasswordsCommand::Update { email, username, password, hash } => {
            let new_hash = if password || hash { Some(new_hash(hash).await?) } else { None };
            let mut conn = session.connect().await?;
            let request = api::UpdatePasswordReq {
                email: email.clone(),
                new_hash: new_hash.map(|h| h.expose().as_bytes().to_vec()).unwrap_or_default(),
                new_username: username.unwrap_or_default(),
            };
            let response = conn.client.update_password(request).await;
            if response.map_err(|s| conn.error(&s))?.into_inner().not_found {
                return Err(CliError::not_found(format!("password {email:?} not found")));
            }
            done(format, "password", &email, "updated")
        }
        PasswordsCommand::Delete { email } => {
            let mut conn = session.connect().await?;
            let response = conn.client.delete_password(api::DeletePasswordReq { email: email.clone() }).await;
            if response.map_err(|s| conn.error(&s))?.into_inner().not_found {
                return Err(CliError::not_found(format!("password {email:?} not found")));
            }
            done(format, "password", &email, "deleted")
        }
        PasswordsCommand::Verify { email } => {
            let password = input::password("Password: ", false)?;
            let mut conn = session.connect().await?;
            let request =
                api::VerifyPasswordReq { email: email.clone(), password: password.expose().to_string() };
            let response = conn.client.verify_password(request).await;
            let response = response.map_err(|s| conn.error(&s))?.into_inner();
            if response.not_found {
                return Err(CliError::not_found(format!("password {email:?} not found")));
            }
            let verified = Verified { email, verified: response.verified };
            let message =
                if verified.verified { "the password matches" } else { "the password does not match" };
            emit(format, &verified, Human::Message(message.to_string()))?;
            if verified.verified {
                Ok(())
            } else {
                // Said on standard output already.
                Err(CliError::new(Exit::Mismatch, ""))
            }
        }
    }
}

/// The hash to send: a ready one (`--hash`) or bcrypt of a password read now.
async fn new_hash(ready: bool) -> Result<Secret, CliError> {
    if ready { input::hash() } else { input::bcrypt(input::password("Password: ", true)?).await }
}
