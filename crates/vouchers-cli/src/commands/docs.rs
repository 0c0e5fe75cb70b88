//! `vouchers completions SHELL` and `vouchers man`: generated from the same clap definitions as
//! the parser, so they cannot drift from it. Neither opens the database.

use crate::error::CliError;

/// Prints the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Result<(), CliError> {
    let mut command = crate::cli::command();
    clap_complete::generate(shell, &mut command, "vouchers", &mut std::io::stdout());
    Ok(())
}

/// Prints the manual page, the top command and every subcommand, as roff.
pub fn man() -> Result<(), CliError> {
    let command = crate::cli::command();
    let mut out = std::io::stdout().lock();
    clap_mangen::Man::new(command.clone()).render(&mut out)?;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("vouchers-{}", sub.get_name());
        clap_mangen::Man::new(sub.clone()).title(name).render(&mut out)?;
    }
    Ok(())
}
