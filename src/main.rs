use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = minecoord::cli::Cli::parse();
    let code = minecoord::cli::run(cli).await;
    std::process::exit(code);
}
