//! The `vouchers` command: parse arguments, set up logging, run one command, map the outcome to
//! an exit status (0 success, 2 invalid input, 3 not found, 4 refused, 1 anything else).

mod cli;
mod commands;
mod error;
mod output;

use std::process::ExitCode;

use tracing_subscriber::fmt::format::FmtSpan;

/// mimalloc instead of the system allocator: under load `serve` spent about a tenth of its CPU
/// in glibc's malloc and free (measured with `perf`, see the README's load benchmark).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::parse();
    // The server logs each request (with its id) by default; the other commands only warnings.
    let (default_filter, json) = match &cli.command {
        cli::Command::Serve(args) => ("info", args.log_format == commands::serve::LogFormat::Json),
        _ => ("warn", false),
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("VOUCHERS_LOG").unwrap_or_else(|_| default_filter.into());
    // At debug level each use case's span is logged when it ends, with its time: busy (running)
    // and idle (awaiting, mostly the database).
    let detailed = filter.max_level_hint() >= Some(tracing_subscriber::filter::LevelFilter::DEBUG);
    let span_events = if detailed { FmtSpan::CLOSE } else { FmtSpan::NONE };
    let logs = tracing_subscriber::fmt()
        .with_span_events(span_events)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()) && !no_color())
        .with_env_filter(filter);
    if json {
        logs.json().init();
    } else {
        logs.init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    // With --format json a failure is also the API's JSON error object on stdout, for scripts.
    let json_errors = cli.format == Some(cli::Format::Json);
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if json_errors {
                if let Ok(body) = serde_json::to_string(&e.body()) {
                    println!("{body}");
                }
            }
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// `NO_COLOR` set to anything but the empty string turns colours off (https://no-color.org;
/// clap's own help and errors honour it too).
fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}
