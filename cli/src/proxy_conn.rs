//! The proxy's client connections: the listening socket, the connection cap, the header-read
//! and keep-alive idle timeouts, and throttled log lines for errors that come in floods.
//!
//! A connection is always under one of two clocks, or none while a request is being answered:
//! the *header* clock from the moment a request head is due (the connection opened, or the first
//! byte after an idle pause) until the head is complete, and the *idle* clock from the end of an
//! answer until the next request's first byte. [`Timed`] reads through them; the proxy's service
//! moves a connection between them through its [`Watch`].

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use http_body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpSocket};
use tokio::time::{Instant, Sleep};

/// Connections the kernel keeps waiting to be accepted (it caps this at `somaxconn`): where new
/// connections wait while the proxy is at its connection cap.
const BACKLOG: u32 = 4096;

/// The largest request head (request line and headers) a client may send, and the largest
/// trailers of a chunked body; beyond it the answer is `431` and the connection closes. hyper's
/// own bound is its read buffer's, about 400 KiB: a connection holding a head that large, unfinished
/// until the header timeout, cost twenty times what an idle one does, and `--max-connections` of
/// them gigabytes. 16 KiB is Node.js's default.
pub const MAX_HEAD: usize = 16 * 1024;

/// Listens on `addr` with a deep backlog.
pub fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// Raises the soft limit on open files to the hard limit (as Go's runtime does at start); the
/// limit then in force, when it can be read.
pub fn open_files_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given, which we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads the struct it is given; failing leaves the limit as it was.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit.rlim_cur = limit.rlim_max;
        }
    }
    #[allow(clippy::useless_conversion)] // `rlim_t` is not `u64` on every target
    u64::try_from(limit.rlim_cur).ok()
}

/// The two timeouts of a client connection.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// For a complete request head, from the moment it is due.
    pub header: Duration,
    /// Between the end of an answer and the next request's first byte.
    pub idle: Duration,
}

/// Which clock a connection's reads are under.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// A request head is due since then.
    Head(Instant),
    /// Idle since then, between requests.
    Idle(Instant),
    /// A request is being answered: no clock.
    Busy,
}

/// Where one connection is between requests, shared by its reader and its requests.
#[derive(Debug)]
pub struct Watch {
    timeouts: Timeouts,
    state: Mutex<WatchState>,
}

#[derive(Debug)]
struct WatchState {
    phase: Phase,
    /// The connection's task, woken when an answer ends (so the idle clock starts).
    reader: Option<Waker>,
    /// Set when the header clock ran out.
    head_expired: bool,
    /// The deadline of the answer being written (`--max-time` from the request's arrival):
    /// past it, a write the client does not take fails and the connection closes.
    answer_by: Option<Instant>,
}

impl Watch {
    /// A new connection: its first request head is due now.
    pub fn new(timeouts: Timeouts) -> Arc<Self> {
        Arc::new(Self {
            timeouts,
            state: Mutex::new(WatchState {
                phase: Phase::Head(Instant::now()),
                reader: None,
                head_expired: false,
                answer_by: None,
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WatchState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A request head is complete: no read clock until its answer ends; its answer must be
    /// taken by the client before `answer_by` (`--max-time`), when there is one.
    pub fn busy(&self, answer_by: Option<Instant>) {
        let mut state = self.lock();
        state.phase = Phase::Busy;
        state.answer_by = answer_by;
    }

    /// An answer ended: the idle clock starts.
    fn idle(&self) {
        let mut state = self.lock();
        state.phase = Phase::Idle(Instant::now());
        state.answer_by = None;
        if let Some(reader) = state.reader.take() {
            reader.wake();
        }
    }

    /// Whether the connection was closed because a request head did not arrive in time.
    pub fn head_expired(&self) -> bool {
        self.lock().head_expired
    }
}

/// What ran out.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expiry {
    Head,
    Idle,
}

/// A client connection's I/O, read under its [`Watch`]'s clocks: a request head that does not
/// arrive in time fails the read (`TimedOut`), an idle connection reads as closed. Written
/// under two clocks: a client that stops reading its answer fails the write that is still
/// waiting at `--max-time` (hyper polls an answer's body only when the client takes what came
/// before, so the body's own timer never fires then), or once it has taken nothing for the
/// idle timeout (nginx's `send_timeout`: with no `--max-time`, a client that never reads held
/// its connection and the upstream exchange behind it for ever); the connection closes, with
/// the upstream exchange behind it.
pub struct Timed<I> {
    io: I,
    watch: Arc<Watch>,
    sleep: Pin<Box<Sleep>>,
    armed: Option<Instant>,
    write_sleep: Pin<Box<Sleep>>,
    write_armed: Option<Instant>,
    /// Since when a write has been waiting for the client, with nothing taken since.
    stalled_since: Option<Instant>,
}

impl<I> Timed<I> {
    pub fn new(io: I, watch: Arc<Watch>) -> Self {
        let now = Instant::now();
        Self {
            io,
            watch,
            sleep: Box::pin(tokio::time::sleep_until(now)),
            armed: None,
            write_sleep: Box::pin(tokio::time::sleep_until(now)),
            write_armed: None,
            stalled_since: None,
        }
    }

    /// A write is waiting for the client: whether its answer's deadline passed, or the client
    /// has taken nothing for the idle timeout; else it is armed to wake this task then.
    fn overdue(&mut self, cx: &mut Context<'_>) -> Option<&'static str> {
        let stalled_since = *self.stalled_since.get_or_insert_with(Instant::now);
        let stall = stalled_since + self.watch.timeouts.idle;
        let (deadline, why) = match self.watch.lock().answer_by {
            Some(by) if by <= stall => (by, "the client did not take its answer within --max-time"),
            _ => (
                stall,
                "the client took nothing of its answer for --idle-timeout",
            ),
        };
        if self.write_armed != Some(deadline) {
            self.write_sleep.as_mut().reset(deadline);
            self.write_armed = Some(deadline);
        }
        self.write_sleep.as_mut().poll(cx).is_ready().then_some(why)
    }

    /// `written`, or the error that ends the connection when it waits past a deadline.
    fn unless_overdue<T>(
        &mut self,
        cx: &mut Context<'_>,
        written: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match written {
            Poll::Pending => match self.overdue(cx) {
                Some(why) => Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, why))),
                None => Poll::Pending,
            },
            other => {
                // The client took something (or the write failed): no stall.
                self.stalled_since = None;
                other
            }
        }
    }

    /// Under the current clock: whether it ran out; else it is armed to wake this task.
    fn expired(&mut self, cx: &mut Context<'_>) -> Option<Expiry> {
        let (deadline, kind) = {
            let mut state = self.watch.lock();
            state.reader = Some(cx.waker().clone());
            match state.phase {
                Phase::Head(since) => (since + self.watch.timeouts.header, Expiry::Head),
                Phase::Idle(since) => (since + self.watch.timeouts.idle, Expiry::Idle),
                Phase::Busy => return None,
            }
        };
        if self.armed != Some(deadline) {
            self.sleep.as_mut().reset(deadline);
            self.armed = Some(deadline);
        }
        self.sleep.as_mut().poll(cx).is_ready().then_some(kind)
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Timed<I> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    let mut state = this.watch.lock();
                    if let Phase::Idle(_) = state.phase {
                        // The next request's first byte: its head is due from now.
                        state.phase = Phase::Head(Instant::now());
                    }
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => match this.expired(cx) {
                None => Poll::Pending,
                // An idle connection reads as closed: hyper ends it quietly.
                Some(Expiry::Idle) => Poll::Ready(Ok(())),
                Some(Expiry::Head) => {
                    this.watch.lock().head_expired = true;
                    Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "no complete request head in time",
                    )))
                }
            },
        }
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Timed<I> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.io).poll_write(cx, buf);
        this.unless_overdue(cx, written)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.unless_overdue(cx, written)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let flushed = Pin::new(&mut this.io).poll_flush(cx);
        this.unless_overdue(cx, flushed)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// An answer's body that starts its connection's idle clock when it is done with (sent, or
/// dropped).
pub struct Tracked<B> {
    inner: B,
    watch: Arc<Watch>,
}

impl<B> Tracked<B> {
    pub fn new(inner: B, watch: Arc<Watch>) -> Self {
        Self { inner, watch }
    }
}

impl<B> Drop for Tracked<B> {
    fn drop(&mut self) {
        self.watch.idle();
    }
}

impl<B: Body + Unpin> Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Admits at most one log line per second for a kind of event that can come in floods (failed
/// accepts, connections closed for a late head), counting the lines it held back.
#[derive(Debug, Default)]
pub struct Throttle {
    state: Mutex<(Option<Instant>, u64)>,
}

impl Throttle {
    /// The line of an event at `now` may be printed: `Some(n)`, `n` lines having been held
    /// back since the last one printed; `None` when it is held back.
    pub fn admit(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (last, held) = &mut *state;
        match last {
            Some(at) if now.saturating_duration_since(*at) < Duration::from_secs(1) => {
                *held += 1;
                None
            }
            _ => {
                *last = Some(now);
                Some(std::mem::take(held))
            }
        }
    }
}

/// ` (12 more like it not shown)`, or nothing.
pub fn held_back(n: u64) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(" ({n} more like it not shown)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_admits_one_line_a_second_and_counts_the_rest() {
        let throttle = Throttle::default();
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        assert_eq!(throttle.admit(ms(0)), Some(0));
        for n in 1..=900 {
            assert_eq!(throttle.admit(ms(n)), None);
        }
        assert_eq!(throttle.admit(ms(1000)), Some(900));
        assert_eq!(throttle.admit(ms(1500)), None);
        assert_eq!(throttle.admit(ms(5000)), Some(1));
        assert_eq!(held_back(0), "");
        assert_eq!(held_back(3), " (3 more like it not shown)");
    }
}
