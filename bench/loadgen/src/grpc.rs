//! The gRPC scenarios: Dex's API (`proto/api.proto`) as an operator's tooling calls it.
//! Each worker holds its own connection (one HTTP/2 channel), as separate admin tools would.

use crate::Args;
use crate::scenario::Outcome;

pub mod api {
    tonic::include_proto!("api");
}

use api::dex_client::DexClient;
use tonic::transport::Channel;

pub type Client = DexClient<Channel>;

pub async fn connect(args: &Args) -> Result<Client, String> {
    let addr = args.grpc_target.as_deref().ok_or("the gRPC scenarios need --grpc-target")?;
    DexClient::connect(addr.to_string()).await.map_err(|e| format!("grpc connect {addr}: {e}"))
}

fn client(id: String) -> api::Client {
    api::Client {
        id,
        name: "bench client".into(),
        redirect_uris: vec!["http://127.0.0.1:5555/callback".into()],
        ..Default::default()
    }
}

fn failed(status: tonic::Status) -> Outcome {
    Outcome::Failed(format!("grpc {:?}", status.code()))
}

/// Creates `count` clients named `{prefix}-{i}` (an id already taken counts as made): the
/// rows the list scenario reads.
pub async fn seed_clients(grpc: &mut Client, prefix: &str, count: u64) -> Result<(), String> {
    for i in 0..count {
        let request = api::CreateClientReq { client: Some(client(format!("{prefix}-{i}"))) };
        grpc.create_client(request).await.map_err(|e| format!("grpc seed: {e}"))?;
    }
    Ok(())
}

/// CreateClient with a fresh id; the server generates the secret and must return it once.
pub async fn create_client(grpc: &mut Client, id: String) -> Outcome {
    match grpc.create_client(api::CreateClientReq { client: Some(client(id)) }).await {
        Ok(r) => {
            let r = r.into_inner();
            match r.client {
                _ if r.already_exists => Outcome::Failed("already_exists".into()),
                Some(c) if !c.secret.is_empty() => Outcome::Ok,
                _ => Outcome::Failed("no generated secret".into()),
            }
        }
        Err(status) => failed(status),
    }
}

/// ListClients; fewer than `at_least` clients is a failure (the seeded rows must all be there).
pub async fn list_clients(grpc: &mut Client, at_least: u64) -> Outcome {
    match grpc.list_clients(api::ListClientReq {}).await {
        Ok(r) if r.get_ref().clients.len() as u64 >= at_least => Outcome::Ok,
        Ok(r) => Outcome::Failed(format!("listed {} clients", r.get_ref().clients.len())),
        Err(status) => failed(status),
    }
}

/// VerifyPassword of the password database user: must be verified.
pub async fn verify_password(grpc: &mut Client, args: &Args) -> Outcome {
    let request = api::VerifyPasswordReq { email: args.user.clone(), password: args.password.clone() };
    match grpc.verify_password(request).await {
        Ok(r) if r.get_ref().verified => Outcome::Ok,
        Ok(r) if r.get_ref().not_found => Outcome::Failed("not_found".into()),
        Ok(_) => Outcome::Failed("not verified".into()),
        Err(status) => failed(status),
    }
}
