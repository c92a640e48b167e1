//! The `idr` binary: wires command-line configuration into the server and front ends.
#![allow(clippy::print_stdout, reason = "a command-line program prints its results")]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Args, Parser, Subcommand};
use idr_client::{ClientConfig, HttpConfig, HttpUpstream, IdrClient, RecordingUpstream, IDR_BASE};
use idr_graphql::{build_schema, SchemaLimits};
use idr_server::{
    app, build_client, AppState, ConnectionLimits, Limits, RateLimit, UpstreamChoice,
};
use url::Url;

/// GraphQL and IDR-QL in front of the Image Data Resource.
#[derive(Parser)]
#[command(name = "idr", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve GraphQL at /graphql (GraphiQL in a browser), /healthz and /thumbnails/{id}.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "IDR_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        upstream: UpstreamArgs,
        /// Requests per second allowed per client address (bursts up to 6× this).
        #[arg(long, env = "IDR_RATE_LIMIT", default_value_t = 10.0)]
        rate_limit: f64,
        /// Open connections at once.
        #[arg(long, env = "IDR_MAX_CONNECTIONS", default_value_t = 1024)]
        max_connections: usize,
        /// Seconds a client has to send a request's headers.
        #[arg(long, env = "IDR_HEADER_TIMEOUT", default_value_t = 10)]
        header_timeout: u64,
    },
    /// Print the GraphQL schema (SDL), the same text as schema/idr.graphql.
    Schema,
    /// Run a GraphQL query against a live IDR and save every upstream exchange as a recording.
    Record {
        /// The GraphQL query, or a path to a .graphql file.
        query: String,
        /// Directory to write recordings into.
        #[arg(long, default_value = "tests/fixtures/upstream")]
        out: PathBuf,
        /// The IDR to record from.
        #[arg(long, env = "IDR_UPSTREAM", default_value = IDR_BASE)]
        upstream: Url,
    },
}

#[derive(Args)]
struct UpstreamArgs {
    /// Base URL of IDR (or any server speaking its API). Ignored with --offline.
    #[arg(long, env = "IDR_UPSTREAM", default_value = IDR_BASE)]
    upstream: Url,
    /// Serve recorded responses, never touching the network: the bundled recordings, or
    /// those in DIR.
    #[arg(long, value_name = "DIR", num_args = 0..=1)]
    offline: Option<Option<PathBuf>>,
    /// Upstream calls in flight at once.
    #[arg(long, env = "IDR_MAX_CONCURRENCY", default_value_t = 8)]
    max_concurrency: usize,
    /// Deadline for one upstream call, in seconds.
    #[arg(long, env = "IDR_UPSTREAM_TIMEOUT", default_value_t = 30)]
    upstream_timeout: u64,
}

impl UpstreamArgs {
    fn choice(&self) -> UpstreamChoice {
        match &self.offline {
            Some(Some(dir)) => UpstreamChoice::Dir(dir.clone()),
            Some(None) => UpstreamChoice::Bundled,
            None => UpstreamChoice::Http {
                base: self.upstream.clone(),
                timeout: Duration::from_secs(self.upstream_timeout.max(1)),
                max_concurrency: self.max_concurrency.max(1),
            },
        }
    }
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Schema => {
            print!("{}", idr_graphql::sdl());
            Ok(())
        }
        Command::Serve { listen, upstream, rate_limit, max_connections, header_timeout } => {
            let rate =
                RateLimit { per_second: rate_limit.max(0.01), burst: (rate_limit * 6.0).max(1.0) };
            let limits = Limits { rate, ..Limits::default() };
            let connections = ConnectionLimits {
                max_connections,
                header_timeout: Duration::from_secs(header_timeout.max(1)),
            };
            runtime()?.block_on(serve(listen, upstream.choice(), limits, connections))
        }
        Command::Record { query, out, upstream } => {
            runtime()?.block_on(record(query, out, upstream))
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

async fn serve(
    listen: SocketAddr,
    choice: UpstreamChoice,
    limits: Limits,
    connections: ConnectionLimits,
) -> anyhow::Result<()> {
    let (client, described) = build_client(&choice).map_err(anyhow::Error::msg)?;
    let schema = build_schema(client.clone(), SchemaLimits::default());
    let state = AppState { schema, client, upstream: Arc::from(described.as_str()), limits };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    println!("idr listening on http://{addr}/graphql ({described})");
    idr_server::serve(listener, app(state), connections, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
}

async fn record(query: String, out: PathBuf, upstream: Url) -> anyhow::Result<()> {
    let text = if query.ends_with(".graphql") { std::fs::read_to_string(&query)? } else { query };
    std::fs::create_dir_all(&out)?;
    let http = HttpUpstream::new(HttpConfig::new(upstream.clone())).map_err(anyhow::Error::msg)?;
    let recorder = Arc::new(RecordingUpstream::new(http, out.clone()));
    let config = ClientConfig { public_base: upstream, ..ClientConfig::default() };
    let client = IdrClient::new(SharedUpstream(recorder.clone()), config);
    let schema = build_schema(client, SchemaLimits::default());
    let response = idr_graphql::execute(&schema, text.as_str()).await;
    println!("{}", serde_json::to_string_pretty(&response)?);
    eprintln!("wrote {} recordings to {}", recorder.written(), out.display());
    if !response.errors.is_empty() {
        bail!("the query had errors; recordings of the calls that succeeded were written");
    }
    Ok(())
}

/// Lets the recorder be both the client's upstream and readable afterwards.
struct SharedUpstream<U>(Arc<U>);

impl<U: idr_client::Upstream> idr_client::Upstream for SharedUpstream<U> {
    fn send<'a>(
        &'a self,
        req: &'a idr_client::Request,
    ) -> idr_client::upstream::BoxFuture<'a, Result<idr_client::Response, idr_client::Error>> {
        self.0.send(req)
    }
}
