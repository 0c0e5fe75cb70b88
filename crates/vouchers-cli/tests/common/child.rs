//! The one guard for the processes the tests and the load benchmark start (`vouchers serve`, an
//! SMTP sink, chromedriver and its Chromium): whoever owns a [`KillOnDrop`] cannot leave its
//! process running, even when a test panics or a benchmark returns early with an error.
//!
//! One file, included with `#[path = "…"] mod child;` by the `cli` and `browser` test binaries
//! of vouchers-cli and by vouchers-bench's load module; each uses part of it.
#![allow(dead_code)]

use std::io;
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Output, Stdio};

/// A child process, killed (SIGKILL) and reaped when dropped, unless it was waited for or taken
/// out first. Made with [`KillOnDrop::group`] for a process started as the leader of its own
/// process group (`CommandExt::process_group(0)`): then the whole group is killed, the processes
/// it started too.
#[derive(Debug)]
pub struct KillOnDrop {
    /// `None` once taken out ([`KillOnDrop::into_inner`], [`KillOnDrop::wait_with_output`]).
    child: Option<Child>,
    group: bool,
    /// Whether it was waited for (reaped): its pid, and so its group id, may then be another
    /// process's, and no signal is sent to it any more.
    reaped: bool,
}

impl KillOnDrop {
    /// Guards `child`.
    pub fn new(child: Child) -> Self {
        Self { child: Some(child), group: false, reaped: false }
    }

    /// Guards `child`, the leader of its own process group: signals go to the whole group.
    pub fn group(child: Child) -> Self {
        Self { child: Some(child), group: true, reaped: false }
    }

    /// Spawns `command` and guards the child.
    pub fn spawn(command: &mut Command) -> io::Result<Self> {
        command.spawn().map(Self::new)
    }

    // The child is only taken out by the methods that consume the guard.
    fn child(&mut self) -> &mut Child {
        self.child.as_mut().expect("the child is taken out only when the guard is consumed")
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.as_ref().expect("the child is taken out only when the guard is consumed").id()
    }

    /// Its standard input, when it was piped and not yet taken (dropping it closes it).
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.child().stdin.take()
    }

    /// Its standard output, when it was piped and not yet taken.
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child().stdout.take()
    }

    /// Its exit status if it has exited (it is then reaped), `None` while it runs.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        let status = self.child().try_wait()?;
        self.reaped |= status.is_some();
        Ok(status)
    }

    /// Waits for it to exit.
    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        let status = self.child().wait()?;
        self.reaped = true;
        Ok(status)
    }

    /// SIGKILL (to its group too, for [`KillOnDrop::group`]), then waits for it.
    pub fn kill(&mut self) -> io::Result<ExitStatus> {
        if self.group && !self.reaped {
            // Not reaped yet, so the group id is still ours. The leader may be gone already:
            // whether `kill` finds the group does not matter.
            let _ = self.signal("-KILL");
        }
        // Reaped even when the signal could not be sent (the process was gone already).
        let killed = self.child().kill();
        let status = self.wait();
        killed.and(status)
    }

    /// SIGTERM (to its group too, for [`KillOnDrop::group`]), then waits for it: the clean
    /// shutdown a service manager asks for.
    pub fn terminate(&mut self) -> io::Result<ExitStatus> {
        if !self.reaped {
            let status = self.signal("-TERM")?;
            if !status.success() {
                return Err(io::Error::other(format!("kill -TERM {} failed: {status}", self.id())));
            }
        }
        self.wait()
    }

    /// Sends `signal` with kill(1): to the process, or to its group.
    fn signal(&self, signal: &str) -> io::Result<ExitStatus> {
        let target = if self.group { format!("-{}", self.id()) } else { self.id().to_string() };
        Command::new("kill").args([signal, "--", &target]).stderr(Stdio::null()).status()
    }

    /// Waits for it to exit and collects its piped output; the guard ends (as
    /// [`Child::wait_with_output`]).
    pub fn wait_with_output(mut self) -> io::Result<Output> {
        self.child.take().expect("the child is taken out only when the guard is consumed").wait_with_output()
    }

    /// Takes the child out: nothing kills it any more.
    pub fn into_inner(mut self) -> Child {
        self.child.take().expect("the child is taken out only when the guard is consumed")
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if self.child.is_some() && !self.reaped {
            // A drop cannot report an error.
            let _ = self.kill();
        }
    }
}
