use clap::Parser;

#[tokio::main]
async fn main() {
    minecoord::platform::db::init_tls();
    let cli = minecoord::app::cli::Cli::parse();
    let code = minecoord::app::cli::run(cli).await;
    std::process::exit(code);
}
