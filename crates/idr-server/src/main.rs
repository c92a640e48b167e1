//! The `idr` binary: wires command-line configuration into the server and front ends.
#![allow(clippy::print_stdout, reason = "a command-line program prints its results")]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Args, Parser, Subcommand};
use idr_client::{ClientConfig, HttpConfig, HttpUpstream, IdrClient, RecordingUpstream, IDR_BASE};
use idr_graphql::{build_schema, SchemaLimits};
use idr_ql::Catalog;
use idr_server::ql::{self, Source};
use idr_server::rows::Format;
use idr_server::{
    app, build_client, AppState, ConnectionLimits, CorsOrigins, Limits, RateLimit, UpstreamChoice,
};
use url::Url;

/// mimalloc instead of glibc's allocator: a request allocates and frees thousands of small
/// values (async-graphql's futures and values), and `idr bench`'s small cached query runs
/// measurably faster on it (ARCHITECTURE.md, "Performance").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// GraphQL and IDR-QL in front of the Image Data Resource.
#[derive(Parser)]
#[command(name = "idr", version, about)]
struct Cli {
    /// How log lines (on stderr) are written: `text` for people, `json` (one object a
    /// line) for log shippers.
    #[arg(long, global = true, env = "IDR_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
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
        #[arg(long, env = "IDR_RATE_LIMIT", default_value_t = 10.0, value_parser = positive_rate)]
        rate_limit: f64,
        /// Seconds a GraphQL request may take; fields still waiting for IDR then give up
        /// and the answer goes out with what is there.
        #[arg(long, env = "IDR_REQUEST_TIMEOUT", default_value_t = 60, value_parser = seconds)]
        request_timeout: u64,
        /// Upstream calls one GraphQL request may start; fields needing more fail with
        /// QUERY_TOO_EXPENSIVE and the rest of the answer is kept (0: no limit).
        #[arg(long, env = "IDR_QUERY_BUDGET", default_value_t = 5_000)]
        query_budget: u64,
        /// Origins whose web pages may call the API, comma-separated
        /// (`https://a.org,http://localhost:3000`); by default any page may, as the API is
        /// public, read-only and takes no credentials.
        #[arg(long, env = "IDR_CORS_ORIGINS", value_delimiter = ',')]
        cors_origins: Vec<String>,
        /// Serve Prometheus metrics at /metrics on this address instead of the main one
        /// (which then has no /metrics), e.g. an address only the monitoring can reach.
        #[arg(long, env = "IDR_METRICS_LISTEN")]
        metrics_listen: Option<SocketAddr>,
        /// Share the answer cache, the rate limit and the upstream concurrency cap with
        /// every replica using this Redis (`redis://[:password@]host[:port][/db]`, or
        /// `rediss://` for TLS); without it each replica has its own. Redis down
        /// degrades to that, it never fails requests.
        #[arg(long, env = "IDR_REDIS", value_name = "URL")]
        redis: Option<String>,
        /// The CA certificates (a PEM file) that vouch for a `rediss://` Redis, trusted
        /// instead of the system's: a private Redis's own CA, or a managed one's.
        #[arg(long, env = "IDR_REDIS_CA", value_name = "PEM")]
        redis_ca: Option<std::path::PathBuf>,
        #[command(flatten)]
        connections: ConnectionArgs,
    },
    /// Print the GraphQL schema (SDL), the same text as schema/idr.graphql.
    Schema,
    /// Compile IDR-QL to GraphQL and print it; diagnostics go to stderr.
    Compile {
        /// The IDR-QL text, a .idrql file, or `-` for standard input.
        query: String,
    },
    /// Check IDR-QL files and print their diagnostics.
    Check {
        /// Files to check (`-` for standard input).
        #[arg(required = true)]
        files: Vec<String>,
    },
    /// Format IDR-QL files in place (canonical layout); `-` formats standard input to
    /// standard output.
    Fmt {
        /// Files to format (`-` for standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Only report files whose formatting would change; exit 1 if any.
        #[arg(long)]
        check: bool,
    },
    /// Run IDR-QL and print the rows.
    Query {
        /// The IDR-QL text, a .idrql file, or `-` for standard input.
        query: String,
        #[command(flatten)]
        upstream: UpstreamArgs,
        /// How to print the rows.
        #[arg(long, value_enum, default_value = "table")]
        format: OutputFormat,
        /// Most rows per query when it has no `limit`.
        #[arg(long, default_value_t = 10_000, value_parser = count)]
        max_rows: usize,
    },
    /// The IDR-QL language server, speaking LSP on stdin/stdout.
    Lsp {
        /// Also complete and describe keys and values (with their image counts) from
        /// this IDR's search engine, learned as they are needed; without it, only the
        /// bundled catalog, and no network.
        #[arg(long, value_name = "URL")]
        upstream: Option<Url>,
    },
    /// A Model Context Protocol server for agents, speaking MCP on stdin/stdout: the tools
    /// run_idr_ql, describe, get_plate and graphql, and the schema and IDR-QL docs as
    /// resources.
    Mcp {
        #[command(flatten)]
        upstream: UpstreamArgs,
        /// Upstream calls one tool call may start (0: no limit).
        #[arg(long, env = "IDR_QUERY_BUDGET", default_value_t = 5_000)]
        query_budget: u64,
    },
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

/// A number of `1..=max`: 0 would stop the server working, and is refused rather than
/// read as 1; past `max`, a number is a mistake (and would overflow a deadline or a
/// semaphore).
fn within<T>(text: &str, min: T, max: T) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    T::Err: std::fmt::Display,
{
    let n: T = text.trim().parse().map_err(|e| format!("{e}"))?;
    if n < min {
        return Err(format!("must be {min} or more"));
    }
    if n > max {
        return Err(format!("must be {max} or less"));
    }
    Ok(n)
}

/// Seconds of a deadline: 1 to a day.
fn seconds(text: &str) -> Result<u64, String> {
    within(text, 1, 86_400)
}

/// Seconds of a wait that may be none: 0 to a day.
fn seconds_or_none(text: &str) -> Result<u64, String> {
    within(text, 0, 86_400)
}

/// A count of connections, calls or rows: 1 to a million (more is no real setting).
fn count(text: &str) -> Result<usize, String> {
    within(text, 1, 1_000_000)
}

/// A rate of requests per second: more than 0 (a rate of 0 would refuse every request but
/// the first), and at most a million.
fn positive_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text.trim().parse().map_err(|e| format!("{e}"))?;
    if !(rate.is_finite() && rate > 0.0 && rate <= 1e6) {
        return Err(
            "must be a number of requests per second more than 0 and at most 1000000 (like 0.5 or 10)"
                .to_owned(),
        );
    }
    Ok(rate)
}

#[derive(Args)]
struct ConnectionArgs {
    /// Open connections at once.
    #[arg(long, env = "IDR_MAX_CONNECTIONS", default_value_t = 1024, value_parser = count)]
    max_connections: usize,
    /// Open connections at once from one client address (IPv6: one /64).
    #[arg(long, env = "IDR_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 64, value_parser = count)]
    max_connections_per_address: usize,
    /// Seconds from accepting a connection until its request headers are complete.
    #[arg(long, env = "IDR_HEADER_TIMEOUT", default_value_t = 10, value_parser = seconds)]
    header_timeout: u64,
    /// Seconds a kept-alive connection may sit idle between requests.
    #[arg(long, env = "IDR_IDLE_TIMEOUT", default_value_t = 30, value_parser = seconds)]
    idle_timeout: u64,
    /// Seconds requests in flight get to finish after SIGTERM or SIGINT (0: none).
    #[arg(long, env = "IDR_DRAIN_TIMEOUT", default_value_t = 30, value_parser = seconds_or_none)]
    drain_timeout: u64,
    /// Addresses or CIDR ranges of the proxies in front of the server, comma-separated
    /// (`127.0.0.1,10.0.0.0/8`): their `X-Forwarded-For` names each request's client
    /// (for the rate limit), and they are not held to the per-address connection cap.
    #[arg(long, env = "IDR_TRUSTED_PROXIES", value_delimiter = ',', value_name = "CIDRS")]
    trusted_proxies: Vec<String>,
}

impl ConnectionArgs {
    fn limits(&self, request_timeout: Duration) -> anyhow::Result<ConnectionLimits> {
        let trusted_proxies = idr_server::TrustedProxies::parse(&self.trusted_proxies)
            .map_err(|e| anyhow::anyhow!("--trusted-proxies: {e}"))?;
        Ok(ConnectionLimits {
            max_connections: self.max_connections.max(1),
            max_per_address: self.max_connections_per_address.max(1),
            header_timeout: Duration::from_secs(self.header_timeout.max(1)),
            // The handler's own deadline and its backstop, then as long again to write
            // the answer.
            request_timeout: request_timeout * 2 + Duration::from_secs(10),
            idle_timeout: Duration::from_secs(self.idle_timeout.max(1)),
            drain_timeout: Duration::from_secs(self.drain_timeout),
            trusted_proxies,
        })
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum OutputFormat {
    Table,
    Json,
    Csv,
}

#[derive(Args)]
struct UpstreamArgs {
    /// Base URL of IDR (or any server speaking its API). Ignored with --offline.
    #[arg(long, env = "IDR_UPSTREAM", default_value = IDR_BASE)]
    upstream: Url,
    /// Serve recorded responses, never touching the network: the bundled recordings, or
    /// those in DIR (`--offline=DIR`: with `=`, so `idr query --offline "image 1"` reads
    /// the query as the query).
    #[arg(long, value_name = "DIR", num_args = 0..=1, require_equals = true)]
    offline: Option<Option<PathBuf>>,
    /// Upstream calls in flight at once.
    #[arg(long, env = "IDR_MAX_CONCURRENCY", default_value_t = 8, value_parser = count)]
    max_concurrency: usize,
    /// Deadline for one upstream call, in seconds.
    #[arg(long, env = "IDR_UPSTREAM_TIMEOUT", default_value_t = 30, value_parser = seconds)]
    upstream_timeout: u64,
    /// Size of the cache of upstream answers, in MiB (0 turns it off).
    #[arg(long, env = "IDR_CACHE_MIB", default_value_t = 64)]
    cache_mib: usize,
}

impl UpstreamArgs {
    fn choice(&self) -> UpstreamChoice {
        let cache_bytes = self.cache_mib.saturating_mul(1024 * 1024);
        match &self.offline {
            Some(Some(dir)) => UpstreamChoice::Dir { dir: dir.clone(), cache_bytes },
            Some(None) => UpstreamChoice::Bundled { cache_bytes },
            None => UpstreamChoice::Http {
                base: self.upstream.clone(),
                timeout: Duration::from_secs(self.upstream_timeout.max(1)),
                max_concurrency: self.max_concurrency.max(1),
                cache_bytes,
            },
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The server logs its work; the one-shot commands only their failures.
    let default_filter = if matches!(cli.command, Command::Serve { .. } | Command::Record { .. }) {
        "info"
    } else {
        "error"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| default_filter.into());
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => {
            logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init()
        }
        // Each line one JSON object, with the request span's id among its fields.
        LogFormat::Json => {
            logs.json().flatten_event(true).with_current_span(true).with_span_list(false).init()
        }
    }
    match run(cli.command) {
        Ok(code) => code,
        Err(error) if error.is::<StdoutClosed>() => ExitCode::SUCCESS,
        Err(error) => {
            // The chain on one line, without a backtrace even when RUST_BACKTRACE is set:
            // this is a message for the user, not a crash.
            eprintln!("Error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    let ok = |()| ExitCode::SUCCESS;
    match command {
        Command::Schema => emit(&idr_graphql::sdl()).map(ok),
        Command::Serve {
            listen,
            upstream,
            rate_limit,
            request_timeout,
            query_budget,
            cors_origins,
            metrics_listen,
            redis,
            redis_ca,
            connections,
        } => {
            let cors = CorsOrigins::parse(&cors_origins)
                .map_err(|e| anyhow::anyhow!("--cors-origins: {e}"))?;
            let rate = RateLimit { per_second: rate_limit, burst: (rate_limit * 6.0).max(1.0) };
            let request_timeout = Duration::from_secs(request_timeout.max(1));
            let limits = Limits { rate, request_timeout, ..Limits::default() };
            let connections = connections.limits(limits.request_timeout)?;
            let schema_limits = SchemaLimits {
                deadline: limits.request_timeout,
                query_budget: (query_budget > 0).then_some(query_budget),
                ..SchemaLimits::default()
            };
            let config = ServeConfig {
                listen,
                choice: upstream.choice(),
                limits,
                schema_limits,
                connections,
                cors,
                metrics_listen,
                redis,
                redis_ca,
            };
            runtime()?.block_on(serve(config)).map(ok)
        }
        Command::Compile { query } => compile(&query),
        Command::Check { files } => check(&files),
        Command::Fmt { files, check } => fmt(&files, check),
        Command::Query { query, upstream, format, max_rows } => {
            let format = match format {
                OutputFormat::Table => Format::Table,
                OutputFormat::Json => Format::Json,
                OutputFormat::Csv => Format::Csv,
            };
            runtime()?.block_on(query_command(&query, upstream.choice(), format, max_rows))
        }
        Command::Lsp { upstream: None } => idr_server::lsp::run(Catalog::bundled()).map(ok),
        Command::Lsp { upstream: Some(base) } => {
            let choice = UpstreamChoice::Http {
                base,
                timeout: Duration::from_secs(10),
                max_concurrency: 2,
                cache_bytes: 16 * 1024 * 1024,
            };
            let (client, _) = build_client(&choice)?;
            let live = idr_server::lsp::Live::new(client)?;
            idr_server::lsp::run_live(Catalog::bundled(), Some(live)).map(ok)
        }
        Command::Record { query, out, upstream } => {
            runtime()?.block_on(record(query, out, upstream)).map(ok)
        }
        Command::Mcp { upstream, query_budget } => {
            let (client, described) = build_client(&upstream.choice())?;
            tracing::info!(upstream = %described, "MCP on stdio");
            let limits = SchemaLimits {
                query_budget: (query_budget > 0).then_some(query_budget),
                ..SchemaLimits::default()
            };
            let schema = build_schema(client, limits);
            runtime()?.block_on(idr_server::mcp::serve(schema)).map(ok)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Everything `idr serve` is configured with.
struct ServeConfig {
    listen: SocketAddr,
    choice: UpstreamChoice,
    limits: Limits,
    schema_limits: SchemaLimits,
    connections: ConnectionLimits,
    cors: CorsOrigins,
    metrics_listen: Option<SocketAddr>,
    redis: Option<String>,
    redis_ca: Option<std::path::PathBuf>,
}

/// `--redis` (with `--redis-ca`): the shared tier, connecting in the background; `None`
/// without a URL.
fn redis_tier(
    url: Option<&str>,
    ca: Option<&std::path::Path>,
) -> anyhow::Result<Option<Arc<idr_server::shared::RedisTier>>> {
    let ca = match ca {
        Some(path) => Some(
            std::fs::read(path)
                .map_err(|e| anyhow::anyhow!("--redis-ca: cannot read {}: {e}", path.display()))?,
        ),
        None => None,
    };
    match url.map(str::trim).filter(|u| !u.is_empty()) {
        Some(url) => Ok(Some(
            idr_server::shared::RedisTier::start(url, ca)
                .map_err(|e| anyhow::anyhow!("--redis: {e:#}"))?,
        )),
        None if ca.is_some() => anyhow::bail!("--redis-ca needs --redis with a rediss:// URL"),
        None => Ok(None),
    }
}

async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let metrics = idr_server::Metrics::install().map_err(|e| anyhow::anyhow!("metrics: {e}"))?;
    let redis = redis_tier(config.redis.as_deref(), config.redis_ca.as_deref())?;
    let shared = redis.clone().map(|r| r as Arc<dyn idr_client::SharedTier>);
    let (client, described) = idr_server::build_shared_client(&config.choice, shared)?;
    let schema = build_schema(client.clone(), config.schema_limits);
    let online = matches!(config.choice, UpstreamChoice::Http { .. });
    let catalog = Arc::new(idr_server::LiveCatalog::new(online));
    let state = AppState {
        schema,
        client,
        upstream: Arc::from(described.as_str()),
        offline: !online,
        limits: config.limits,
        catalog,
        readiness: Arc::default(),
        identical: Arc::default(),
        cors: config.cors,
        metrics: config.metrics_listen.is_none().then(|| metrics.clone()),
        redis,
    };
    let metrics_listener = match config.metrics_listen {
        Some(at) => Some(
            tokio::net::TcpListener::bind(at)
                .await
                .with_context(|| format!("cannot listen on {at} (--metrics-listen)"))?,
        ),
        None => None,
    };
    let listen = config.listen;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    println!("idr listening on http://{addr}/graphql ({described})");
    if let Some(listener) = metrics_listener {
        println!("idr metrics on http://{}/metrics", listener.local_addr()?);
        let app = idr_server::metrics_app(metrics, state.client.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
    }
    let redis = state.redis.clone();
    idr_server::serve(listener, app(state), config.connections, shutdown_signal()).await;
    // Drained: the permits of calls cut at the drain deadline go back now, not when their
    // leases end, so the other replicas get the whole cap at once.
    if let Some(redis) = redis {
        redis.forget_replica().await;
    }
    Ok(())
}

/// Completes on SIGTERM (how process managers and Kubernetes stop a service) or SIGINT
/// (Ctrl-C). If the handlers cannot be installed, it never completes, and the default
/// signal behaviour stays.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) =
            (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
        else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received"),
            _ = int.recv() => tracing::info!("SIGINT received"),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn record(query: String, out: PathBuf, upstream: Url) -> anyhow::Result<()> {
    let text = if query.ends_with(".graphql") { std::fs::read_to_string(&query)? } else { query };
    std::fs::create_dir_all(&out)?;
    let http = HttpUpstream::new(HttpConfig::new(upstream.clone())).map_err(anyhow::Error::msg)?;
    let recorder = Arc::new(RecordingUpstream::new(http, out.clone()));
    let config = ClientConfig { public_base: upstream, ..ClientConfig::default() };
    let client = IdrClient::new(recorder.clone(), config);
    let schema = build_schema(client, SchemaLimits::default());
    let response = idr_graphql::execute(&schema, text.as_str()).await;
    emit(&(serde_json::to_string_pretty(&response)? + "\n"))?;
    eprintln!("wrote {} recordings to {}", recorder.written(), out.display());
    if !response.errors.is_empty() {
        bail!("the query had errors; recordings of the calls that succeeded were written");
    }
    Ok(())
}

/// Stdout's reader went away (`idr query … | head`): `main` ends quietly and successfully.
#[derive(Debug)]
struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stdout was closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// Writes to stdout.
fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(StdoutClosed.into()),
        Err(e) => Err(anyhow::Error::new(e).context("cannot write to stdout")),
    }
}

/// A command that reported its failure on stderr already (diagnostics, errors of a
/// query) ends with status 1.
fn failed(reported: bool) -> ExitCode {
    if reported {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn compile(query: &str) -> anyhow::Result<ExitCode> {
    let source = Source::from_arg(query)?;
    let compilation = ql::compile(&source, &Catalog::bundled());
    // Bad input: diagnostics on stderr, nothing on stdout.
    if compilation.has_errors {
        eprintln!("{}", compilation.rendered.trim_end());
        return Ok(ExitCode::FAILURE);
    }
    eprint!("{}", compilation.rendered);
    let texts: Vec<&str> = compilation.queries.iter().map(|(_, q)| q.graphql.as_str()).collect();
    emit(&(texts.join("\n") + "\n"))?;
    Ok(ExitCode::SUCCESS)
}

fn check(files: &[String]) -> anyhow::Result<ExitCode> {
    let catalog = Catalog::bundled();
    let (mut errors, mut warnings) = (0, 0);
    for file in files {
        let source = Source::from_arg(file)?;
        let analysis = idr_ql::analyze(&source.text, &catalog);
        let diagnostics: Vec<_> = analysis.diagnostics().cloned().collect();
        errors += diagnostics.iter().filter(|d| d.is_error()).count();
        warnings += diagnostics.iter().filter(|d| !d.is_error()).count();
        eprint!("{}", source.render(&diagnostics));
    }
    eprintln!("{} file(s) checked: {errors} error(s), {warnings} warning(s)", files.len());
    Ok(failed(errors > 0))
}

fn fmt(files: &[PathBuf], check_only: bool) -> anyhow::Result<ExitCode> {
    let mut unformatted = false;
    for path in files {
        if path.as_os_str() == "-" {
            unformatted |= fmt_stdin(check_only)?;
            continue;
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let Some(formatted) = idr_ql::format(&text) else {
            let source = Source { name: path.display().to_string(), text };
            let diagnostics: Vec<_> = idr_ql::parse(&source.text).diagnostics().cloned().collect();
            eprint!("{}", source.render(&diagnostics));
            unformatted = true;
            continue;
        };
        if formatted == text {
            continue;
        }
        if check_only {
            eprintln!("{} is not formatted", path.display());
            unformatted = true;
        } else {
            std::fs::write(path, formatted)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("formatted {}", path.display());
        }
    }
    Ok(failed(unformatted))
}

/// `idr fmt -`: standard input formatted to standard output (as editors' format-on-save
/// pipes expect), or with `--check` only whether it would change. Whether it failed.
fn fmt_stdin(check_only: bool) -> anyhow::Result<bool> {
    let source = Source::from_arg("-")?;
    let Some(formatted) = idr_ql::format(&source.text) else {
        let diagnostics: Vec<_> = idr_ql::parse(&source.text).diagnostics().cloned().collect();
        eprint!("{}", source.render(&diagnostics));
        return Ok(true);
    };
    if check_only {
        let changed = formatted != source.text;
        if changed {
            eprintln!("<stdin> is not formatted");
        }
        return Ok(changed);
    }
    emit(&formatted)?;
    Ok(false)
}

async fn query_command(
    query: &str,
    choice: UpstreamChoice,
    format: Format,
    max_rows: usize,
) -> anyhow::Result<ExitCode> {
    let source = Source::from_arg(query)?;
    let compilation = ql::compile(&source, &Catalog::bundled());
    // Queries with errors are reported and skipped; the others still run.
    eprint!("{}", compilation.rendered);
    let queries = compilation.queries;
    let mut had_errors = compilation.has_errors;
    if format == Format::Csv && queries.len() > 1 {
        bail!(
            "CSV holds one table with one header, and this text has {} queries: run one query per call, or use --format json (a list of {{\"query\", \"rows\"}})",
            queries.len()
        );
    }
    let (client, _) = build_client(&choice)?;
    let schema = build_schema(client, SchemaLimits::default());
    let show_progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    // A table is cut to a terminal's width only when a terminal reads it.
    let fit = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let mut json_outputs = Vec::new();
    for (query_text, compiled) in &queries {
        let rows = ql::run(&schema, compiled, max_rows, None, |n| {
            if show_progress {
                eprint!("\r{n} rows…");
            }
        })
        .await;
        if show_progress {
            eprint!("\r\x1b[K");
        }
        // A query that met errors prints no rows (they could be partial): its errors go to
        // stderr and the exit status says it failed. A lookup's entries are the one
        // exception: an id that names no object, or one IDR could not give, fails its own
        // entry; the rows of the others are whole, so they are printed too.
        if !rows.errors.is_empty() {
            had_errors = true;
            // The same failure of many fields is said once, with how many.
            for error in idr_server::rows::dedup_errors(&rows.errors) {
                let code = error["extensions"]["code"].as_str().unwrap_or("ERROR");
                let times = match error["times"].as_u64() {
                    Some(n) => format!(" ({n} fields)"),
                    None => String::new(),
                };
                eprintln!(
                    "error[{code}]: {}{times}",
                    error["message"].as_str().unwrap_or_default()
                );
            }
            let path: Vec<&str> = compiled.rows.iter().map(String::as_str).collect();
            let only_missing_ids = !compiled.ids.is_empty()
                && idr_server::rows::only_entry_errors(&rows.errors, &path);
            if !only_missing_ids || rows.rows.is_empty() {
                continue;
            }
        }
        if format == Format::Json {
            // One shape whatever the number of queries: a list of {query, rows}, with
            // `errors` where some ids named no object.
            let list: Vec<serde_json::Value> =
                rows.rows.iter().cloned().map(serde_json::Value::Object).collect();
            let mut answer = serde_json::json!({"query": query_text, "rows": list});
            if !rows.errors.is_empty() {
                answer["errors"] = serde_json::json!(rows.errors);
            }
            json_outputs.push(answer);
        } else {
            emit(&ql::print(compiled, &rows.rows, format, fit))?;
        }
        // Reaching the query's own `limit` is what was asked; reaching --max-rows is not.
        if rows.truncated && compiled.limit.is_none_or(|l| l as usize > max_rows) {
            eprintln!(
                "(stopped at {} rows: --max-rows; add `limit` or raise --max-rows for more)",
                rows.rows.len()
            );
        }
    }
    if !json_outputs.is_empty() {
        emit(&(serde_json::to_string_pretty(&json_outputs)? + "\n"))?;
    }
    Ok(failed(had_errors))
}
